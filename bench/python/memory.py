"""`make bench`, Python memory of one request (issue 14: peak memory per request ≤ 3× the body),
run by bench.py in a fresh process per body size as `python memory.py PAYLOAD.json`. Prints JSON:

- tracemalloc_peak_bytes: the most bytes Python's allocator held at once during one
  ``Receiver.normalize`` (the event returned included). tracemalloc sees Python's allocations
  only, not the extension's Rust heap;
- rss_peak_growth_bytes: the process's peak resident size during the call above its resident size
  before it (Linux: the peak is reset through /proc/self/clear_refs first). It sees both heaps,
  in pages, and misses memory the allocators reuse from earlier calls' freed blocks."""

from __future__ import annotations

import gc
import json
import pathlib
import sys
import tracemalloc

import telhook

GROWTH = pathlib.Path(__file__).resolve().parents[1] / "payloads" / "growth"


def status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def main() -> None:
    small = json.loads((GROWTH / "limephone_1k.json").read_text())
    payload = json.loads(pathlib.Path(sys.argv[1]).read_text())
    receiver = telhook.Receiver(payload["provider"], payload["credentials"])
    request, now = payload["request"], payload["now"]
    headers, body, url = request["headers"], request["body"].encode(), request.get("url")
    del payload
    for _ in range(200):  # warm-up with the small body: what any first call sets up is not counted
        receiver.normalize(headers=small["request"]["headers"], body=small["request"]["body"].encode(), now=now)
    gc.collect()

    pathlib.Path("/proc/self/clear_refs").write_text("5")  # peak resident size := resident size now
    rss_before = status_kib("VmRSS")
    tracemalloc.start()
    event = receiver.normalize(headers=headers, body=body, now=now, url=url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = status_kib("VmHWM")
    assert event["id"].startswith("limephone")
    print(json.dumps({"tracemalloc_peak_bytes": peak, "rss_peak_growth_bytes": max(0, rss_peak - rss_before) * 1024}))


if __name__ == "__main__":
    main()
