#!/usr/bin/env python3
"""Collects the Rust (criterion, bench/rust-memory), Node and Python results and the end-to-end
load runs of one `make bench` run into bench/RESULTS.md: a table per runtime, the cost growth
and end-to-end tables, ratios computed from numbers taken in the same run."""

import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
ORDER = ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller", "limephone_64k"]



def provider_first_requests(startup):
    """A row for the slowest of each provider's first request after a cold start (min of 6 each)."""
    by_provider = startup.get("workerd_first_request_added_by_provider_ms")
    if not by_provider:
        return []
    slowest = max(by_provider, key=by_provider.get)
    each = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(by_provider.items()))
    return [f"| workerd first request of each provider's own Worker − the empty Worker's, the slowest ({each} ms) | | "
            f"{slowest} {by_provider[slowest]:.1f} ms | {met(by_provider[slowest] <= 5)} |"]

def criterion_ns(group, bench):
    path = ROOT / "target" / "criterion" / group / bench / "new" / "estimates.json"
    return json.loads(path.read_text())["mean"]["point_estimate"]


def cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"


def cpu():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def fmt_rate(ops):
    return f"{ops:,.0f}"


def goal(ratio, limit, at_most=True):
    """The ratio in bold, with whether its goal (issue 27's) is met."""
    met = ratio <= limit if at_most else ratio >= limit
    return f"**{ratio:.2f}×** {'met' if met else 'missed'}"


GROWTH = ["limephone_1k", "limephone_64k", "limephone_1m"]
GROWTH_LABEL = {"limephone_1k": "1 KiB", "limephone_64k": "64 KiB", "limephone_1m": "1 MiB"}
LINEAR_LIMIT = 1.2  # µs/KB at 1 MiB over µs/KB at 64 KiB: 1.0 is linear; 1.2 leaves room for noise
MEMORY_LIMIT = 3.0  # issue 27: peak memory per request ≤ 3× the body, at 64 KiB and 1 MiB
MEMORY_SIZES = {"limephone_64k", "limephone_1m"}


def met(ok):
    return "met" if ok else "missed"


def growth_section(rust_ns, node, py, rust_memory):
    """Issue 14's cost growth: µs per KB per body size, and the peak memory of one request."""
    times = {  # seconds per call, per runtime and size
        "Rust `normalize_event`": {n: rust_ns[n] / 1e9 for n in GROWTH},
        "Node `Receiver.normalize` (wasm)": {n: 1 / node["growth"][n]["ops"] for n in GROWTH},
        "Python `Receiver.normalize`": {n: 1 / py["growth"][n]["ops"] for n in GROWTH},
    }
    sizes = {n: node["growth"][n]["body_bytes"] for n in GROWTH}
    lines = [
        "## Cost growth: 1 KiB, 64 KiB, 1 MiB bodies",
        "",
        "The same signed Limephone message, `message_content` padded to a body of exactly 1 KiB, 64 KiB and "
        "1 MiB (the default body cap; bench/payloads/growth/). Time per call ÷ body size in KB (1 KB = 1,024 B). "
        f"Linear = the cost per KB at 1 MiB is at most {LINEAR_LIMIT}× the cost per KB at 64 KiB (where the fixed "
        "per-call cost no longer counts); 1 MiB ÷ 1 KiB below 1 is that fixed cost spread over more bytes.",
        "",
        "| runtime | " + " | ".join(f"{GROWTH_LABEL[n]} µs/KB" for n in GROWTH)
        + f" | 1 MiB ÷ 64 KiB per KB (goal linear, ≤ {LINEAR_LIMIT}×) | 1 MiB ÷ 1 KiB per KB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for runtime, t in times.items():
        per_kb = {n: t[n] * 1e6 / (sizes[n] / 1024) for n in GROWTH}
        big, mid, small = per_kb["limephone_1m"], per_kb["limephone_64k"], per_kb["limephone_1k"]
        lines.append(
            f"| {runtime} | " + " | ".join(f"{per_kb[n]:.2f}" for n in GROWTH)
            + f" | {goal(big / mid, LINEAR_LIMIT)} | {big / small:.2f}× |"
        )
    rust_rows = {r["name"]: r for r in rust_memory}
    lines += [
        "",
        f"Peak memory of one request ÷ body size (goal ≤ {MEMORY_LIMIT:g}× in every runtime at 64 KiB and 1 MiB), measured once per size in a "
        "fresh process after warm-up calls on the 1 KiB body; the body itself, held by the caller before the call, "
        "is not counted:",
        "",
        "- Rust: the most heap bytes live at once during one `normalize_event` above what was live before it, from a "
        "counting global allocator (bench/rust-memory); the returned event included.",
        "- Node: V8 heap bytes allocated during the call (no GC ran inside it, checked; so an upper bound on the JS "
        "side's peak; `--no-inline-new`, so that the count moves by each allocation, not by allocation buffers) + ArrayBuffer bytes allocated outside the wasm memory (none since the nineteenth session: a string body is encoded straight into the wasm memory) + growth of "
        "the wasm linear memory (64 KiB pages: the wasm "
        "heap's peak above what the warm-up had reserved) (bench/node/memory.mjs).",
        "- Python: the larger of tracemalloc's peak (Python objects only) and the growth of the process's peak "
        "resident size during the call (reset through /proc/self/clear_refs; sees the extension's Rust heap too, "
        "in 4 KiB pages: transparent huge pages are off for that process, or one first touch of an arena the "
        "allocator asked huge pages for counts 2 MiB) (bench/python/memory.py).",
        "",
        "| runtime | " + " | ".join(GROWTH_LABEL[n] for n in GROWTH) + " |",
        "|---|---:|---:|---:|",
    ]

    def cell(peak, n, parts=""):
        ratio = peak / sizes[n]
        if n not in MEMORY_SIZES:  # the event's fixed part dominates a 1 KiB body: no goal there
            return f"{peak:,} B{parts}: **{ratio:.2f}×**"
        return f"{peak:,} B{parts}: {goal(ratio, MEMORY_LIMIT)}"

    lines.append("| Rust | " + " | ".join(cell(rust_rows[n]["peak_bytes"], n) for n in GROWTH) + " |")
    row = []
    for n in GROWTH:
        g = node["growth"][n]
        total = g["js_heap_bytes"] + g["external_bytes"] + g["wasm_growth_bytes"]
        row.append(cell(total, n, f" (JS heap {g['js_heap_bytes']:,} + external {g['external_bytes']:,} "
                                  f"+ wasm {g['wasm_growth_bytes']:,})"))
    lines.append("| Node (wasm) | " + " | ".join(row) + " |")
    row = []
    for n in GROWTH:
        g = py["growth"][n]
        peak = max(g["tracemalloc_peak_bytes"], g["rss_peak_growth_bytes"])
        row.append(cell(peak, n, f" (tracemalloc {g['tracemalloc_peak_bytes']:,}, peak RSS "
                                 f"+{g['rss_peak_growth_bytes']:,})"))
    lines.append("| Python | " + " | ".join(row) + " |")
    floors = {n: node["growth"][n]["floor_memory"] for n in GROWTH if "floor_memory" in node["growth"][n]}
    if floors:
        def floor_total(g):
            return g["js_heap_bytes"] + g["external_bytes"] + g["wasm_growth_bytes"]

        lines += [
            "",
            "The same measure for the Node floor (bench/wasm-floor, as in the Node section: the body encoded "
            "into wasm memory, its HMAC, checked as JSON there, `raw` by `JSON.parse` in JS; no telhook code): "
            + "; ".join(
                f"{GROWTH_LABEL[n]} {floor_total(g):,} B (JS heap {g['js_heap_bytes']:,} + external "
                f"{g['external_bytes']:,} + wasm {g['wasm_growth_bytes']:,}) = **{floor_total(g) / sizes[n]:.2f}×**"
                for n, g in floors.items()
            )
            + ". The JS heap part counts every byte allocated during the call and the wasm part whole 64 KiB "
            "pages, so this is an upper bound: it shows how far below telhook's such a design's peak can go, "
            "not that the goal cannot be met.",
        ]
    return lines + [""]


def e2e_section(e2e):
    """Issue 14's end to end: requests/s and p99 of each server under the same load."""
    s = e2e["servers"]

    def rps(name):
        return s[name]["requests_per_second"]

    def cpu(name):
        return s[name].get("least_server_cpu_us_per_request")

    def row(label, name, verdict=""):
        used = f"{cpu(name):.1f} µs" if cpu(name) is not None else "—"
        return f"| {label} | {fmt_rate(rps(name))} | {s[name]['latency_p99_ms']:g} ms | {used} | {verdict} |"

    cpu_ratio = []
    if cpu("node_telhook") is not None and cpu("node_octokit") is not None:
        cpu_ratio = [
            "",
            "Server CPU per request (Node servers: `process.cpuUsage()` in the server from the start of the load to "
            "its end ÷ the requests it answered; Python servers: the user + system time of the server's process tree "
            "in /proc across the load ÷ the requests answered; the least of the rounds) measures the server alone, "
            "where requests/s "
            "also moves with the load generator's share of the two cores. telhook's middleware uses "
            f"**{cpu('node_telhook') / cpu('node_octokit'):.2f}×** octokit's CPU per request and "
            f"**{cpu('node_telhook') / cpu('node_bare'):.2f}×** the bare handler's "
            f"(were the server's CPU the only limit, ≥ 0.9× octokit's requests/s would mean at most {1 / 0.9:.2f}× its "
            "CPU per request).",
        ]
        if cpu("node_normalize_only") is not None:
            cpu_ratio[-1] += (
                " The bare handler with `Receiver.normalize` in place of its hand-written check, and no middleware, "
                f"uses **{cpu('node_normalize_only') / cpu('node_octokit'):.2f}×** octokit's CPU per request: what "
                "today's core call costs in a server, before the middleware's own steps (the receive machine, the "
                f"handler's call, the answer), which add {cpu('node_telhook') - cpu('node_normalize_only'):.1f} µs "
                "to it here.")

    # What @webhook adds per request: by the server's own CPU per request where measured, as the
    # median over the rounds of telhook's ÷ the bare server's, the two run back to back in each
    # round (the load generator shares the two cores and the machine's speed drifts: requests/s
    # moved -4 to +22 % between runs of the same code, each server's least CPU ±8 %); by
    # requests/s otherwise.
    def added(telhook, bare):
        by_rate = rps(bare) / rps(telhook) - 1
        pairs = [t / b for t, b in zip(s[telhook].get("cpu_rounds", []), s[bare].get("cpu_rounds", [])) if t and b]
        if not pairs:
            return by_rate, f"**{by_rate * 100:.1f} %** per request (by requests/s)"
        by_cpu = statistics.median(pairs) - 1
        return by_cpu, (f"**{by_cpu * 100:.1f} %** CPU per request (median of {len(pairs)} rounds: "
                        + ", ".join(f"{(p - 1) * 100:+.1f} %" for p in pairs)
                        + f"; {by_rate * 100:.1f} % by the best requests/s)")

    adds, adds_text = added("django_telhook", "django_bare")
    _, star_text = added("starlette_telhook", "starlette_bare")
    return [
        "## End to end",
        "",
        f"autocannon (in the Node process that runs bench/node/e2e.mjs) against each server on 127.0.0.1, "
        f"{e2e['servers']['node_telhook'].get('rounds', 1)} interleaved runs of every server, the best of each kept: "
        f"{e2e['seconds']} s, {e2e['connections']} connections, the signed limephone request ({e2e['body_bytes']} B) "
        "POSTed over and over; every answer checked 2xx. One worker process per server; the two cores are shared "
        "by the load generator and the server. telhook with no dedupe store (Python: a store that always answers "
        "\"new\"), so every request takes the whole path; the bare handlers do the hand-written check "
        "(bench/*/handwritten.*); @octokit/webhooks verifies its own `x-hub-signature-256` over the same bytes. "
        "Django runs under gunicorn's gthread worker with one thread (keep-alive; the default sync worker closes "
        "each connection after one answer), Starlette under uvicorn. Latency resolution is 1 ms.",
        "",
        "| server | requests/s | p99 | server CPU a request | goal |",
        "|---|---:|---:|---:|---|",
        row("Node: telhook `createNodeMiddleware`", "node_telhook",
            f"telhook ÷ octokit {goal(rps('node_telhook') / rps('node_octokit'), 0.9, at_most=False)} (goal ≥ 0.9×)"),
        row("Node: @octokit/webhooks `createNodeMiddleware`", "node_octokit"),
        row("Node: bare `node:http` handler", "node_bare", f"bare ÷ telhook **{rps('node_bare') / rps('node_telhook'):.2f}×**"),
        *([row("Node: the bare handler calling `Receiver.normalize` (no middleware)", "node_normalize_only",
               f"÷ octokit **{rps('node_normalize_only') / rps('node_octokit'):.2f}×**: the middleware goal's floor "
               "with today's core call")] if "node_normalize_only" in s else []),
        row("Django + gunicorn: `@webhook` view", "django_telhook",
            f"adds {adds_text} over the bare view: {met(adds <= 0.10)} (goal ≤ 10 %)"),
        row("Django + gunicorn: bare view, hand-written check", "django_bare"),
        row("Starlette + uvicorn: `telhook.starlette.webhook`", "starlette_telhook",
            f"adds {star_text} over the bare endpoint"),
        row("Starlette + uvicorn: bare endpoint, hand-written check", "starlette_bare"),
        *cpu_ratio,
        "",
    ]


RUST_WALL_LIMIT = {"limephone": 2.0, "lisoloo": 2.0, "gatewayapi": 2.0, "looplookup": 2.0, "did_reseller": 2.5,
                   "limephone_64k": 1.2}
CALLGRIND_LIMIT = 1.3


def callgrind_section():
    """Issue 27's load-proof Rust goal: instructions per call ÷ the floor's (bench/callgrind.py)."""
    path = ROOT / "target/bench/callgrind.json"
    if not path.exists():
        return ["", "Callgrind: not measured in this run (valgrind missing).", ""]
    counts = json.loads(path.read_text())
    lines = [
        "",
        "Instructions per call under callgrind (bench/callgrind.py; the load does not move them). Under valgrind "
        "SHA-256 runs its portable code, so the HMAC both sides compute weighs more than on the hardware.",
        "",
        f"| payload | normalize_event | floor | ÷ floor (goal ≤ {CALLGRIND_LIMIT}×; 64 KiB: ≤ 1.2×) |",
        "|---|---:|---:|---:|",
    ]
    for name in ORDER:
        c = counts[name]
        n, f = c["normalize_instructions"], c["floor_instructions"]
        limit = 1.2 if name == "limephone_64k" else CALLGRIND_LIMIT
        lines.append(f"| {name} | {n / 1000:,.1f} k | {f / 1000:,.1f} k | {goal(n / f, limit)} |")
    did = counts["did_reseller"]
    if "minimum_instructions" in did:
        m, f = did["minimum_instructions"], did["floor_instructions"]
        lines += [
            "",
            f"did_reseller's least possible work (as above) under callgrind: {m / 1000:,.1f} k, "
            f"**{m / f:.2f}×** the floor; telhook adds {did['normalize_instructions'] / m:.2f}× to it. "
            + (f"Above {CALLGRIND_LIMIT}×: that goal cannot be met by code that gives this event with this key from "
               "the floor's own building blocks (serde_json's `Value`, sha2)."
               if m / f > CALLGRIND_LIMIT else f"Within {CALLGRIND_LIMIT}×: that goal is within reach."),
        ]
    newer = counts.get("newer", {})
    if newer:
        lines += [
            "",
            "The providers added after the bench payloads (no goal of their own in issue 27; measured so that their cost "
            "is tracked), each on a conformance vector from its SDK's tests or its docs, against its own floor: what a "
            "receiver written by hand for that provider alone does at the least with the same crates, its signature "
            "checked as the provider's SDK checks it and the body read into a `Value` (core/benches/common "
            "`newer_floors`: Twilio HMAC-SHA1 over the URL and the sorted form parameters; Telnyx Ed25519 over "
            "`timestamp|body`, the key decoded once; Vonage the HS256 JWT and its `payload_hash`).",
            "",
            "| provider | vector (source) | normalize_event | its floor | ÷ floor |",
            "|---|---|---:|---:|---:|",
        ]
        for provider, c in newer.items():
            n, f = c["normalize_instructions"], c["floor_instructions"]
            lines.append(f"| {provider} | `{c['vector']}` ({c['source']}) | {n / 1000:,.1f} k | {f / 1000:,.1f} k | "
                         f"{n / f:.2f}× |")
    return lines


SMALL_SIGNED = {"limephone", "gatewayapi"}
SMALL = {"limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller"}


def measured_at():
    """When the measurements were written (the newest of target/bench/*.json), not when this
    report ran: the report is rewritten when PROFILE.md changes, from the same run's numbers."""
    newest = max(path.stat().st_mtime for path in (ROOT / "target" / "bench").glob("*.json"))
    return datetime.datetime.fromtimestamp(newest, datetime.timezone.utc)


def one_event_section(node, py):
    """The README's question, answered from this run: what one delivery costs in each runtime."""
    us = lambda ops: f"{1e6 / ops:.1f} µs"  # noqa: E731
    rust = criterion_ns("limephone", "telhook_normalize_event") / 1000
    floor = criterion_ns("limephone", "floor_hmac_plus_value_parse") / 1000
    n, p = node["payloads"]["limephone"], py["payloads"]["limephone"]
    return [
        "## What one event costs",
        "",
        f"One signed LimePhone delivery ({n['body_bytes']} B), from the tables below. A `Receiver` parses its "
        "credentials once; the one-call functions (`normalizeEvent`, `normalize_event`) keep one for each of the last 16 "
        "credentials they were given, and find it again from the credentials' value on every call (the bench calls "
        "them with the same credentials each time). "
        "Hand-written = the provider's check and the same mapping, written for the runtime by hand.",
        "",
        "| runtime | telhook `Receiver.normalize` | one call (`normalize_event` / `normalizeEvent`) | hand-written |",
        "|---|---:|---:|---:|",
        f"| Rust | {rust:.1f} µs (`normalize_event`) | — | floor (HMAC + `Value` parse): {floor:.1f} µs |",
        f"| Python | {us(p['telhook_receiver'])} | {us(p['telhook_one_shot'])} | {us(p['handwritten'])} |",
        f"| Node | {us(n['telhook_receiver'])} | {us(n['telhook_one_shot'])} | {us(n['handwritten'])} |",
        "",
    ]


def main():
    node = json.loads((ROOT / "target/bench/node.json").read_text())
    py = json.loads((ROOT / "target/bench/python.json").read_text())
    e2e = json.loads((ROOT / "target/bench/e2e.json").read_text())
    rust_memory = json.loads((ROOT / "target/bench/rust-memory.json").read_text())
    startup = json.loads((ROOT / "target/bench/startup.json").read_text())
    sizes = {name: node["payloads"][name]["body_bytes"] for name in ORDER}
    lines = [
        "# telhook benchmarks",
        "",
        f"Generated by `make bench` on {measured_at():%Y-%m-%d %H:%M UTC}. "
        "Every ratio compares numbers taken in the same run; absolute numbers on this shared machine are noisy.",
        "",
        f"- Machine: {cpu()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Versions: {cmd(['rustc', '--version'])}; Node {node['node_version']}; Python {py['python_version']}",
        "- Payloads (bench/payloads/, signed like real deliveries): "
        + ", ".join(f"{n} {sizes[n]:,} B" for n in ORDER),
        "",
    ]
    lines += one_event_section(node, py)
    lines += [
        "## Rust (criterion, one core)",
        "",
        "Floor = HMAC-SHA256 of the body + `serde_json::from_slice::<Value>` of it. The ratio (the goal) comes from "
        "core/benches/ratio.rs: the two timed in interleaved rounds, best of each (criterion times one, then the "
        "other, seconds apart, and this machine's speed drifts); the other columns are criterion's.",
        "",
        "| payload | normalize_event | events/s | floor | normalize ÷ floor, interleaved (goal ≤ 2.0×; did_reseller ≤ 2.5×; "
        "64 KiB ≤ 1.2×) | verify only | parse only |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rust_ns = {}
    ratio = json.loads((ROOT / "target" / "bench" / "rust-ratio.json").read_text())
    for name in ORDER:
        n = criterion_ns(name, "telhook_normalize_event")
        rust_ns[name] = n
        f = criterion_ns(name, "floor_hmac_plus_value_parse")
        v = criterion_ns(name, "telhook_verify_only")
        p = criterion_ns(name, "telhook_parse_only")
        interleaved = ratio[name]["normalize_ns"] / ratio[name]["floor_ns"]
        lines.append(
            f"| {name} | {n / 1000:.2f} µs | {fmt_rate(1e9 / n)} | {f / 1000:.2f} µs | "
            f"{goal(interleaved, RUST_WALL_LIMIT[name])} | {v / 1000:.2f} µs | {p / 1000:.2f} µs |"
        )
    did = ratio["did_reseller"]
    minimum = did["minimum_ns"] / did["floor_ns"]
    limit = RUST_WALL_LIMIT["did_reseller"]
    lines += [
        "",
        "did_reseller's least possible work, timed in the same interleaved rounds "
        "(core/benches/common `did_reseller_minimum`: the body parsed, the record inside `data` parsed — a second "
        "JSON document in a string —, and the SHA-256 of the body that is its idempotency key; no HMAC, which the "
        "reseller does not sign with; not the record's second copy, which schema v1's `record.data` beside "
        "`raw.data` costs telhook's owned event but a type sharing one tree would not): "
        f"{did['minimum_ns'] / 1000:.2f} µs, **{minimum:.2f}×** the floor, against telhook's "
        f"{did['normalize_ns'] / did['floor_ns']:.2f}×; telhook adds {did['normalize_ns'] / did['minimum_ns']:.2f}× "
        "to it. "
        + (f"Above {limit}×: the goal cannot be met on this hardware by code that gives this event with this key "
           "from the floor's own building blocks (serde_json's `Value`, sha2)."
           if minimum > limit else f"Within {limit}×: the goal is within reach of code that gives this event "
           "with one copy of the record (see the next paragraph for the event as the Rust API returns it)."),
    ]
    if "minimum_owned_ns" in did:
        owned = did["minimum_owned_ns"] / did["floor_ns"]
        lines += [
            "",
            "The same least work with the record's second copy (core/benches/common `did_reseller_minimum_owned`, "
            "the same rounds): the least that gives the event as the Rust API returns it, an owned "
            "`NormalizedEvent` whose `record.data` holds the record beside `raw.data`: "
            f"{did['minimum_owned_ns'] / 1000:.2f} µs, **{owned:.2f}×** the floor. "
            + "That is before redacting the record in both copies, reading a field or building the event "
            f"(telhook spends {did['normalize_ns'] / did['minimum_owned_ns']:.2f}× this least work); across the "
            "sixteenth session's runs it read 2.48-2.72×, on the goal's line (bench/PROFILE.md). The goal "
            f"leaves {(limit / owned - 1) * 100:+.1f} % of it for all that work: out of reach of code that "
            "returns this type, not ruled out by a floor. A type whose `record.data` and `raw.data` share one "
            "tree would leave room (a change of the public Rust API).",
        ]
    lines += callgrind_section()
    lines += [
        "",
        f"## Node {node['node_version']} (wasm)",
        "",
        "ops/s, the best of 7 rounds interleaved between the contenders of a payload. `Receiver` = credentials parsed "
        "once (what `createHandler` does); one-shot = `normalizeEvent(...)` per call (its Receiver kept, found again "
        "from the credentials' JSON text). Hand-written = `createHmac` + "
        "`timingSafeEqual` + `JSON.parse` + the same mapping (bench/node/handwritten.mjs; each field it gives is checked equal to telhook's before timing). standardwebhooks = "
        "`Webhook.verify` alone, same body size. Floor = the least a receiver that verifies and reads the body in "
        "wasm does (bench/wasm-floor, no telhook code, the same crates and build settings): the body (a string) "
        "encoded into wasm memory as telhook's glue does it, its HMAC-SHA256 (none for Lisoloo and LoopLookup, whose senders sign nothing), the body "
        "checked as JSON there (serde's `IgnoredAny`: less than any reading of its fields; no `Value` built), and "
        "`raw` by `JSON.parse` of the body in JS; for did_reseller also its `data` read, its record checked and the "
        "SHA-256 key. workerd = the Receiver call inside the Workers runtime (miniflare).",
        "",
        "| payload | telhook Receiver | one-shot | hand-written | standardwebhooks | floor | telhook in workerd "
        "| telhook ÷ standardwebhooks (goal ≥ 2×) | hand-written ÷ telhook (goal ≤ 2×, small payloads) "
        "| floor ÷ standardwebhooks | hand-written ÷ floor | telhook's time ÷ the floor's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def floor_of(name):
        r = node["payloads"][name]
        return r.get("wasm_minimum") or r.get("wasm_floor_unsigned") or r["wasm_floor"]

    out_of_reach = []
    for name in ORDER:
        r = node["payloads"][name]
        f = floor_of(name)
        lines.append(
            f"| {name} | {fmt_rate(r['telhook_receiver'])} | {fmt_rate(r['telhook_one_shot'])} | "
            f"{fmt_rate(r['handwritten'])} | {fmt_rate(r['standardwebhooks_verify'])} | {fmt_rate(f)} | "
            f"{fmt_rate(r['telhook_workerd'])} | "
            f"{goal(r['telhook_receiver'] / r['standardwebhooks_verify'], 2.0, at_most=False)} | "
            + (goal(r["handwritten"] / r["telhook_receiver"], 2.0) if name in SMALL
               else f"**{r['handwritten'] / r['telhook_receiver']:.2f}×**")
            + f" | {f / r['standardwebhooks_verify']:.2f}× | {r['handwritten'] / f:.2f}× "
            f"| {f / r['telhook_receiver']:.2f}× |"
        )
        if name in SMALL and f / r["standardwebhooks_verify"] < 2:
            out_of_reach.append(f"{name}'s ≥ 2× standardwebhooks")
        if name in SMALL and r["handwritten"] / f > 2:
            out_of_reach.append(f"{name}'s hand-written ÷ telhook ≤ 2×")
    lines += [
        "",
        "Where the floor itself misses a goal, no receiver that verifies and reads the body in wasm meets it on "
        "this hardware: "
        + ("; ".join(out_of_reach) if out_of_reach else "none in this run")
        + ". Elsewhere the floor does not rule the goal out (it leaves out redaction and the event's fields, so it is "
        "a lower bound, not a design); what telhook costs above it is the core's own work (redaction, the "
        "fields, the event, the replay checks, and building `raw` as a tree) and the event it writes as JSON.",
    ]
    sketched = [(name, node["payloads"][name]) for name in ("limephone", "lisoloo")
                if "one_pass_sketch" in node["payloads"].get(name, {})]
    if sketched:
        lines += [
            "",
            "What a one-pass core would give, in wasm (bench/wasm-floor/src/one_pass.rs, one sketch each for the "
            "LimePhone and the LisoLoo delivery: telhook's work for that delivery done in one pass over the body — "
            "the credentials checked, the body read into its members with keys and strings borrowed from it, every "
            "key and string put to the redaction rules' tests, the fields mapped, the event written by hand with "
            "`raw` the body's own text, then `JSON.parse` in JS; the headers packed as npm packs them; each event "
            "checked equal to telhook's; no other event built). Timed in the same rounds as the table above; "
            "the same sketches built natively, beside telhook's core behind N-API: `make bench-native-sketch` "
            "(bench/PROFILE.md, sixteenth session).",
            "",
            "| payload | one-pass sketch | ÷ telhook Receiver | hand-written ÷ sketch (goal ≤ 2×) | sketch ÷ standardwebhooks (goal ≥ 2×) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, r in sketched:
            sketch = r["one_pass_sketch"]
            lines.append(
                f"| {name} | {fmt_rate(sketch)} | {sketch / r['telhook_receiver']:.2f}× | "
                f"**{r['handwritten'] / sketch:.2f}×** | **{sketch / r['standardwebhooks_verify']:.2f}×** |"
            )
    w = node["wasm"]
    budget = w["budget"]
    modules = w["modules"]
    lines += [
        "",
        "The wasm modules (npm/dist; gzip -9 by Node's zlib). The receiver's is the one every entry point "
        f"loads; the test kit's only `telhook/testing`. Goal: the receiver's ≤ {budget['gzip_goal_bytes'] / 1000:g} KB "
        f"gzipped; `make test` fails past its budget of {budget['gzip_budget_bytes']:,} B (npm/wasm-budget.json).",
        "",
        "| module | raw | gzipped | goal |",
        "|---|---:|---:|---:|",
    ]
    for name, m in modules.items():
        main = name == budget["module"]
        lines.append(
            f"| `{name}`{' (receiver)' if main else ' (test kit)'} | {m['raw_bytes']:,} B | {m['gzip_bytes']:,} B | "
            + (f"{met(m['gzip_bytes'] <= budget['gzip_goal_bytes'])} |" if main else "— |")
        )
    lines += [
        "",
        f"`new WebAssembly.Module` of the receiver's module in a fresh process {w['compile_ms']:.2f} ms (decoded and "
        f"validated whole; its functions are compiled lazily, on their first call), first `import` of "
        f"the package in a fresh process {w['import_ms']:.1f} ms (file read, compile, instantiate, JS parse).",
        "",
        "Start-up (bench/node/startup.mjs, limephone, minimum of 9 fresh Node processes and 16 fresh workerd "
        "instances of each Worker, interleaved; each Worker's modules handed to Miniflare with their contents, as "
        "`wrangler dev` hands them, so that Miniflare's own parse of the script in Node is not counted). Goals: first `import` + first normalize ≤ 25 ms in Node (timed by an "
        "app's own ES module file; the same app's first import of an empty module: "
        f"{startup['node_empty_module_import_ms']:.1f} ms); a cold start ≤ 35 ms over an empty "
        "Worker's; the first request after it ≤ 5 ms over the empty Worker's first request (wall-clock from `ready` to "
        "the answer, a stand-in for the request's CPU time; the Workers and Vercel Edge entries compile the wasm "
        "functions a request runs at start-up, src/warm-up.mjs). Three Workers: one calling `Receiver.normalize`, and "
        "two written as the README's Workers examples are, their `createHandler` built in the first request (the "
        "credentials are in `env`), one with `memoryStore()`, one with `memoryInbox()` (the README's uses "
        "`queueInbox`: the same steps of the receive machine), each sent the signed delivery and measured against an "
        "empty Worker sent the same delivery and reading its body (an empty Worker sent no body answers its first "
        f"request in {startup['workerd_bare_first_request_ms']:.1f} ms, and {startup['workerd_bare_body_first_request_ms']:.1f} ms "
        "when it is sent the delivery: what carrying a body in costs any receiver, not telhook):",
        "",
        "| where | first import | measured | goal |",
        "|---|---:|---:|---:|",
        f"| Node {node['node_version']}, from an app's module file: import + `new Receiver` + first normalize | {startup['node_import_ms']:.1f} ms | "
        f"{startup['node_first_normalize_ms']:.1f} ms | {met(startup['node_first_normalize_ms'] <= 25)} |",
        f"| workerd cold start of the `Receiver` Worker − an empty Worker's "
        f"({startup['workerd_cold_start_ms']:.0f} − {startup['workerd_bare_cold_start_ms']:.0f} ms) | | "
        f"{startup['workerd_added_ms']:.1f} ms | {met(startup['workerd_added_ms'] <= 35)} |",
        f"| workerd cold start of a Worker that only imports the receiver's `.wasm` − an empty Worker's "
        f"({startup['workerd_module_cold_start_ms']:.0f} − {startup['workerd_bare_cold_start_ms']:.0f} ms): workerd "
        f"compiles the module at start-up, the part of each cold start above that grows with its size | | "
        f"{startup['workerd_module_added_ms']:.1f} ms | — |",
        f"| workerd first request of the `Receiver` Worker − an empty Worker's first request "
        f"({startup['workerd_first_request_ms']:.1f} − {startup['workerd_bare_first_request_ms']:.1f} ms; "
        f"second request {startup['workerd_second_request_ms']:.1f} ms) | | "
        f"{startup['workerd_first_request_added_ms']:.1f} ms | {met(startup['workerd_first_request_added_ms'] <= 5)} |",
        f"| workerd cold start of the `createHandler` + store Worker (until its first answer, which builds the handler) − "
        f"the empty Worker's sent the same delivery ({startup['workerd_handler_cold_start_ms']:.0f} − {startup['workerd_bare_body_cold_start_ms']:.0f} ms) | | "
        f"{startup['workerd_handler_added_ms']:.1f} ms | {met(startup['workerd_handler_added_ms'] <= 35)} |",
        f"| workerd first request of the `createHandler` + store Worker − the empty Worker's sent the same delivery "
        f"({startup['workerd_handler_first_request_ms']:.1f} − {startup['workerd_bare_body_first_request_ms']:.1f} ms; "
        f"second request {startup['workerd_handler_second_request_ms']:.1f} ms) | | "
        f"{startup['workerd_handler_first_request_added_ms']:.1f} ms | "
        f"{met(startup['workerd_handler_first_request_added_ms'] <= 5)} |",
        f"| workerd cold start of the `createHandler` + inbox Worker − an empty Worker's "
        f"({startup['workerd_inbox_cold_start_ms']:.0f} − {startup['workerd_bare_cold_start_ms']:.0f} ms) | | "
        f"{startup['workerd_inbox_added_ms']:.1f} ms | {met(startup['workerd_inbox_added_ms'] <= 35)} |",
        f"| workerd first request of the `createHandler` + inbox Worker − the empty Worker's sent the same delivery "
        f"({startup['workerd_inbox_first_request_ms']:.1f} − {startup['workerd_bare_body_first_request_ms']:.1f} ms; "
        f"second request {startup['workerd_inbox_second_request_ms']:.1f} ms) | | "
        f"{startup['workerd_inbox_first_request_added_ms']:.1f} ms | "
        f"{met(startup['workerd_inbox_first_request_added_ms'] <= 5)} |",
        *provider_first_requests(startup),
        "",
        "What those first requests compile, counted (bench/node/workerd-compile.mjs: V8's Liftoff function bodies, in "
        "bytes, which the host's load does not move; npm/dist/workerd.mjs run in Node with the module compiled as "
        "workerd gives it, its start-up warm-up included). A wasm function is compiled on its first call, so what a "
        "first request compiles is CPU inside that request; the warm-up (npm/scripts/warm-up-requests.mjs) moves it "
        "to start-up:",
        "",
        (ROOT / "target/bench/workerd-compile.md").read_text().rstrip(),
        "",
        f"## Python {py['python_version']} (PyO3 extension, built as the x86_64 wheels are: release, profile-guided)",
        "",
        "The extension is the one `pip install telhook` gives on x86_64 Linux: built with `-Cprofile-use` from a "
        "profile of an instrumented build running the conformance vectors and the adapter suites (`make pgo-profile`, "
        "python/release/pgo_train.py; not the bench payloads). The Rust numbers it is divided by are the plain release "
        "build a Rust user compiles, so part of what the binding tax divides is the profile's gain on the core.",
        "",
        "ops/s, the best of 15 timeit rounds interleaved between the four contenders of a payload. Hand-written = `hmac.compare_digest` + `json.loads` + the same mapping "
        "(bench/python/handwritten.py; each field it gives is checked equal to telhook's before timing). Binding tax = the Receiver's time per event ÷ Rust `api::Receiver::normalize`'s "
        "(the core call the binding makes, its credentials checked and its redaction values prepared once, as the binding's are) on the same payload, the two timed in 7 interleaved rounds (a Python round, then a Rust one in "
        "core/examples/profile), best of each (shown in ns). Binding floor = the least any binding that returns "
        "this event as Python objects adds to the Rust call (bench/python-floor, timed in the same rounds): "
        "one call into a bare METH_FASTCALL extension function with the same arguments, read (the headers "
        "borrowed: it is built for this Python's full C API, not the stable ABI of 3.9 that telhook ships), and "
        "the event's objects built again — every dict copied from a template holding its keys and its values "
        "that never change, each string that changes between deliveries made once and shared wherever the event "
        "repeats it, vocabulary words reused; no telhook code. Floor tax = (Rust + binding floor) ÷ Rust: where "
        "it is above the goal, no binding that uses CPython's public C API meets it (writing into CPython 3.11's "
        "private dict layout does less: bench/PROFILE.md).",
        "",
        "| payload | telhook Receiver | one-shot | hand-written | standardwebhooks | binding tax (goal ≤ 1.3×) "
        "| binding floor: its tax | telhook ÷ hand-written (goal ≥ 1.0×; ≥ 1.3× limephone, gatewayapi) "
        "| telhook ÷ standardwebhooks |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ORDER:
        r = py["payloads"][name]
        paired = r["binding_tax"]
        tax = paired["python_ns"] / paired["rust_ns"]
        floor_tax = (paired["rust_ns"] + paired["floor_ns"]) / paired["rust_ns"]
        reach = "cannot be met" if floor_tax > 1.3 else "within reach"
        lines.append(
            f"| {name} | {fmt_rate(r['telhook_receiver'])} | {fmt_rate(r['telhook_one_shot'])} | "
            f"{fmt_rate(r['handwritten'])} | {fmt_rate(r['standardwebhooks_verify'])} | "
            f"{goal(tax, 1.3)} ({paired['python_ns']:,.0f} ÷ {paired['rust_ns']:,.0f} ns) | "
            f"{paired['floor_ns']:,.0f} ns: **{floor_tax:.2f}×**, {reach} | "
            f"{goal(r['telhook_receiver'] / r['handwritten'], 1.3 if name in SMALL_SIGNED else 1.0, at_most=False)} | "
            f"**{r['telhook_receiver'] / r['standardwebhooks_verify']:.2f}×** |"
        )
    lines += [
        "",
        "Extension per-call overhead: a trivial call into the extension (`_core.call(\"status_wins\", …)`) runs at "
        f"{fmt_rate(py['ffi_trivial_call'])} calls/s ({1e9 / py['ffi_trivial_call']:.0f} ns), a Python no-op "
        f"lambda at {fmt_rate(py['python_noop_call'])} calls/s ({1e9 / py['python_noop_call']:.0f} ns).",
        "",
    ]
    lines += growth_section({n: criterion_ns("growth", n) for n in GROWTH}, node, py, rust_memory)
    lines += e2e_section(e2e)
    # What the profiles show for the goals missed: written by hand from callgrind/py-spy runs.
    lines += ["", (ROOT / "bench" / "PROFILE.md").read_text().rstrip(), ""]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
