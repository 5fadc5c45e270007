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


def without_huge_pages() -> None:
    """Transparent huge pages off for this process (prctl PR_SET_THP_DISABLE): the extension's
    allocator (mimalloc) asks for them on its arenas where the kernel's THP mode is `madvise`,
    and a first touch then faults in a whole 2 MiB page, so the resident size grows by 2 MiB for
    a 64 KiB request or by none at all, by where the arena's pages fell. Without them the count
    is in 4 KiB pages: the memory the request touched."""
    if sys.platform == "linux":
        import ctypes

        PR_SET_THP_DISABLE = 41
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)


def main() -> None:
    without_huge_pages()
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
