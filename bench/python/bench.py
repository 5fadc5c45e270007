"""`make bench`, Python part: telhook vs a hand-written receiver vs standardwebhooks'
Webhook.verify, per payload, in one run, plus the extension's per-call overhead.
Writes target/bench/python.json for bench/report.py."""

from __future__ import annotations

import base64
import json
import pathlib
import platform
import subprocess
import sys
import timeit
from datetime import datetime, timezone
from typing import Any, Callable, Dict

from standardwebhooks.webhooks import Webhook

import telhook
from telhook import _core
from telhook_bench_python_floor import Floor

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from handwritten import handwritten, secrets_of  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
ORDER = ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller", "limephone_64k"]


def ops_per_second(fn: Callable[[], Any]) -> float:
    """Best of 5 repeats, each sized to take ~0.2 s."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, number)
    best = min(timer.repeat(repeat=5, number=number)) / number
    return 1.0 / best


def interleaved_ops_per_second(contenders: Dict[str, Callable[[], Any]], rounds: int = 15) -> Dict[str, float]:
    """Each contender's best of `rounds`, the rounds interleaved (A, B, C, A, B, C, ...; each
    round ~0.1 s per contender): this machine's speed drifts by tens of percent over a minute,
    and a ratio is only fair between numbers taken under the same drift. 15, not 7: at 7 two
    runs of the same build read lisoloo's telhook ÷ hand-written 1.14 and 0.97, at 15 two runs
    1.04 and 1.02 (bench/PROFILE.md, 2026-12-04)."""
    timers = {name: timeit.Timer(fn) for name, fn in contenders.items()}
    numbers = {name: max(1, timer.autorange()[0] // 2) for name, timer in timers.items()}
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(numbers[name]) / numbers[name])
    return {name: 1.0 / seconds for name, seconds in best.items()}


PROFILE = ROOT / "target" / "release" / "examples" / "profile"


def interleaved_binding_tax(fn: Callable[[], Any], floor_fn: Callable[[], Any], payload_path: pathlib.Path,
                            rounds: int = 7) -> Dict[str, float]:
    """The binding's time per call, Rust ``api::Receiver::normalize``'s (the core call the binding
    makes: its credentials checked and its redaction values prepared once, as the binding's are)
    on the same payload and the binding
    floor's (bench/python-floor: the same arguments read, the same event built again, nothing
    else), in interleaved rounds (a Python round, a floor round, then a Rust round in
    core/examples/profile, ~0.1 s each), the best of each: the numbers divided are taken under the
    same drift."""
    timer = timeit.Timer(fn)
    number = max(1, timer.autorange()[0] // 2)
    floor_timer = timeit.Timer(floor_fn)
    floor_number = max(1, floor_timer.autorange()[0] // 2)

    def rust_ns(calls: int) -> float:
        out = subprocess.run([str(PROFILE), str(payload_path), str(calls), "receiver_time"], check=True,
                             capture_output=True, text=True).stdout
        return float(out)

    calls = max(1000, int(0.1e9 / rust_ns(1000)))
    python_best = floor_best = rust_best = float("inf")
    for _ in range(rounds):
        python_best = min(python_best, timer.timeit(number) / number * 1e9)
        floor_best = min(floor_best, floor_timer.timeit(floor_number) / floor_number * 1e9)
        rust_best = min(rust_best, rust_ns(calls))
    return {"python_ns": python_best, "rust_ns": rust_best, "floor_ns": floor_best}


SAME_FIELDS = json.loads((ROOT / "bench" / "handwritten-fields.json").read_text())


def assert_same_mapping(provider: str, event: Dict[str, Any], mine: Dict[str, Any]) -> None:
    """The hand-written receiver maps what telhook maps: each field bench/handwritten-fields.json
    names for the provider equals telhook's."""
    for path, key in SAME_FIELDS["every"] + SAME_FIELDS[provider]:
        theirs: Any = event
        for step in path.split("."):
            theirs = theirs.get(step) if isinstance(theirs, dict) else None
        ours = mine.get(key)
        assert theirs == ours, f"{provider} {path}: the hand-written receiver gives {ours!r} where telhook gives {theirs!r}"


def main() -> None:
    results: Dict[str, Any] = {"payloads": {}, "python_version": platform.python_version()}
    for name in ORDER:
        payload = json.loads((ROOT / "bench" / "payloads" / f"{name}.json").read_text())
        provider, request, credentials, now = payload["provider"], payload["request"], payload["credentials"], payload["now"]
        headers: Dict[str, str] = request["headers"]
        body = request["body"].encode()
        url = request.get("url")
        receiver = telhook.Receiver(provider, credentials)
        event = receiver.normalize(headers=headers, body=body, now=now, url=url)
        secrets = secrets_of(credentials)
        mine = handwritten(provider, headers, body, url or "", secrets)
        assert_same_mapping(provider, event, mine)

        secret = "whsec_" + base64.b64encode(b"a-standard-webhooks-secret-32by").decode()
        wh = Webhook(secret)
        msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
        timestamp = datetime.now(tz=timezone.utc)
        sw_headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": wh.sign(msg_id, timestamp, body.decode()),
        }
        wh.verify(body, sw_headers)

        results["payloads"][name] = {
            "provider": provider,
            "body_bytes": len(body),
            **interleaved_ops_per_second({
                "telhook_receiver": lambda: receiver.normalize(headers=headers, body=body, now=now, url=url),
                "telhook_one_shot": lambda: telhook.normalize_event(
                    provider, headers=headers, body=body, credentials=credentials, now=now, url=url),
                "handwritten": lambda: handwritten(provider, headers, body, url or "", secrets),
                "standardwebhooks_verify": lambda: wh.verify(body, sw_headers),
            }),
        }
        floor = Floor(event)
        rebuilt = floor.normalize("POST", url, headers, body, now)
        assert rebuilt == event and rebuilt is not event, f"the binding floor does not build {name}'s event"
        results["payloads"][name]["binding_tax"] = interleaved_binding_tax(
            lambda: receiver.normalize(headers=headers, body=body, now=now, url=url),
            lambda: floor.normalize("POST", url, headers, body, now),
            ROOT / "bench" / "payloads" / f"{name}.json")
        print(f"python {name}: done", file=sys.stderr)
    # Issue 14's cost growth: one Receiver call per body size, and the memory of one call, each
    # size in a fresh process (memory.py).
    results["growth"] = {}
    for name in ["limephone_1k", "limephone_64k", "limephone_1m"]:
        path = ROOT / "bench" / "payloads" / "growth" / f"{name}.json"
        payload = json.loads(path.read_text())
        receiver = telhook.Receiver(payload["provider"], payload["credentials"])
        headers, body, now = payload["request"]["headers"], payload["request"]["body"].encode(), payload["now"]
        assert receiver.normalize(headers=headers, body=body, now=now)["id"].startswith("limephone")
        memory = subprocess.run([sys.executable, str(pathlib.Path(__file__).parent / "memory.py"), str(path)],
                                check=True, capture_output=True, text=True).stdout
        results["growth"][name] = {
            "body_bytes": len(body),
            "ops": ops_per_second(lambda: receiver.normalize(headers=headers, body=body, now=now)),
            **json.loads(memory),
        }
        print(f"python growth {name}: done", file=sys.stderr)
    results["ffi_trivial_call"] = ops_per_second(lambda: _core.call("status_wins", '["sent", "delivered"]'))
    results["python_noop_call"] = ops_per_second(lambda: None)
    out = ROOT / "target" / "bench" / "python.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"python: written {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
