#!/usr/bin/env python3
"""Instructions per call of Rust `normalize_event` and of the floor (HMAC-SHA256 + `Value`
parse), counted by callgrind on the release build of core/examples/profile.rs: the machine's
load does not move these counts, where it moves criterion's wall-clock times.

Per call = (instructions for 1,100 calls - instructions for 100 calls) / 1,000, so start-up and
the payload file's parse cancel out. Writes target/bench/callgrind.json. Under valgrind SHA-256
runs its portable code (no SHA extensions), so the floor's HMAC weighs more here than on the
hardware: these ratios read lower than the wall-clock ones for the same code."""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAYLOADS = ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller", "limephone_64k"]
# The providers added after the bench payloads were written, each on a conformance vector taken
# from its SDK's tests or its docs, against its own floor (core/benches/common `newer_floors`).
NEWER = {
    "twilio": "twilio/sdk_00.json",
    "telnyx": "telnyx/doc_message_received.json",
    "vonage": "vonage/inbound_sms.json",
}
FEW, MANY = 100, 1100


def instructions(binary: pathlib.Path, payload: pathlib.Path, calls: int, mode: str) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        out = pathlib.Path(scratch) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(binary), str(payload), str(calls), mode],
            check=True, capture_output=True,
        )
        totals = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            raise SystemExit(f"no instruction total in callgrind's output for {payload.name}")
        return int(totals.group(1))


def main() -> int:
    if shutil.which("valgrind") is None:
        print("callgrind: valgrind is not installed (apt-get install valgrind); skipped", file=sys.stderr)
        return 0
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "telhook-core", "--example", "profile"],
                   check=True, cwd=ROOT)
    binary = ROOT / "target" / "release" / "examples" / "profile"
    results = {}
    for name in PAYLOADS:
        payload = ROOT / "bench" / "payloads" / f"{name}.json"
        per_call = {}
        for mode in ("normalize", "floor"):
            few = instructions(binary, payload, FEW, mode)
            many = instructions(binary, payload, MANY, mode)
            per_call[mode] = (many - few) / (MANY - FEW)
        results[name] = {"normalize_instructions": per_call["normalize"], "floor_instructions": per_call["floor"]}
        if name == "did_reseller":
            # Its least possible work (core/benches/common `did_reseller_minimum`): see report.py.
            few = instructions(binary, payload, FEW, "did_minimum")
            many = instructions(binary, payload, MANY, "did_minimum")
            results[name]["minimum_instructions"] = (many - few) / (MANY - FEW)
            print(f"{name}: its least possible work {results[name]['minimum_instructions'] / 1000:.1f} k")
        print(f"{name}: normalize {per_call['normalize'] / 1000:.1f} k, floor {per_call['floor'] / 1000:.1f} k "
              f"({per_call['normalize'] / per_call['floor']:.2f}x)")
    for provider, vector_path in NEWER.items():
        vector = json.loads((ROOT / "tests" / "vectors" / vector_path).read_text())
        with tempfile.TemporaryDirectory() as scratch:
            payload = pathlib.Path(scratch) / f"{provider}.json"
            payload.write_text(json.dumps({key: vector[key] for key in ("provider", "request", "credentials", "now")}))
            per_call = {}
            for mode in ("normalize", f"floor_{provider}"):
                few = instructions(binary, payload, FEW, mode)
                many = instructions(binary, payload, MANY, mode)
                per_call[mode] = (many - few) / (MANY - FEW)
        normalize, floor = per_call["normalize"], per_call[f"floor_{provider}"]
        results.setdefault("newer", {})[provider] = {
            "vector": vector_path, "source": vector["description"].split(" (tests/fixtures")[0][:110],
            "normalize_instructions": normalize, "floor_instructions": floor,
        }
        print(f"{provider} ({vector_path}): normalize {normalize / 1000:.1f} k, its floor {floor / 1000:.1f} k "
              f"({normalize / floor:.2f}x)")
    target = ROOT / "target" / "bench"
    target.mkdir(parents=True, exist_ok=True)
    (target / "callgrind.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
