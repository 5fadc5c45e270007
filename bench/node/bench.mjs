// `make bench`, Node part: telhook (wasm) vs the hand-written native-crypto receiver vs
// standardwebhooks' Webhook.verify, per payload, in one run; then the same telhook call
// inside workerd. Writes target/bench/node.json for bench/report.py.
import { readFileSync, readdirSync, mkdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import { Miniflare } from "miniflare";
import * as telhook from "../../npm/dist/node.mjs";
import { handwritten, secretsOf } from "./handwritten.mjs";
import { onePassSketch, packedHeaders } from "./crossing.mjs";
import { createRequire } from "node:module";
import { bundleWorker, workerOptions } from "./workerd.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const payloads = readdirSync(here("../payloads/"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(here(`../payloads/${f}`), "utf8")));
const order = ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller", "limephone_64k"];
payloads.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));

/**
 * Each contender's ops per second, best of 7 rounds run interleaved (A, B, C, A, B, C, ...;
 * ~100 ms per contender a round): this machine's speed drifts by tens of percent over a
 * minute, and a ratio is only fair between numbers taken under the same drift.
 */
function measureInterleaved(contenders, rounds = 7) {
  const sizes = {};
  for (const [name, fn] of Object.entries(contenders)) {
    const warmEnd = performance.now() + 200;
    while (performance.now() < warmEnd) fn();
    let n = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      if (performance.now() - t0 > 50) break;
      n *= 2;
    }
    sizes[name] = Math.max(1, n * 2);
  }
  const best = Object.fromEntries(Object.keys(contenders).map((name) => [name, Infinity]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const n = sizes[name];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      best[name] = Math.min(best[name], (performance.now() - t0) / n);
    }
  }
  return Object.fromEntries(Object.entries(best).map(([name, ms]) => [name, 1000 / ms]));
}

/** One function's ops per second (the growth table's single contender). */
const measure = (fn) => measureInterleaved({ fn }).fn;

// The floor of any wasm receiver (bench/wasm-floor, built by `make bench`): the body encoded
// into wasm memory (the string handed to the glue, which encodes it there as telhook's does:
// npm/scripts/patch-glue.mjs), its HMAC-SHA256, the body checked as JSON there (less than any reading of its
// fields), and `raw` made by `JSON.parse` of the body here — the cheapest way to hand `raw` to
// JS. Keyed once, as telhook's Receiver is; the same key for every payload, as the Rust floor's.
const floorModule = createRequire(import.meta.url)(here("../../target/bench-wasm-floor/pkg/telhook_bench_wasm_floor.js"));
const wasmFloor = new floorModule.Floor(Buffer.from("a-webhook-secret"));
// The one-pass sketches (bench/wasm-floor/src/one_pass.rs): telhook's work for the LimePhone and
// LisoLoo deliveries done in one pass over the body, with no tree of values, the event written by hand and
// `raw` the body's own text; the headers packed as telhook's glue packs them. It measures what
// rewriting the core that way would give (issue 27); bench.mjs checks its event is telhook's.
const wasmSketches = { limephone: floorModule.OnePassLimephone, lisoloo: floorModule.OnePassLisoloo };
function onePassContender({ name, request, credentials, now }) {
  const sketch = onePassSketch(wasmSketches, name, credentials);
  if (sketch === undefined) return undefined;
  return () => {
    const text = sketch.normalize(...packedHeaders(request.headers), request.body, now);
    if (text === undefined) throw new Error("the one-pass sketch does not build this event");
    return JSON.parse(text);
  };
}
const floorContenders = (name, body) => ({
  wasm_floor: () => wasmFloor.check(body) > 0 && JSON.parse(body),
  // The providers that sign nothing (Basic, a token): their floor has no HMAC.
  ...(["lisoloo", "looplookup"].includes(name)
    ? { wasm_floor_unsigned: () => floorModule.check_unsigned(body) && JSON.parse(body) }
    : {}),
  // The DID reseller's least possible work (its record checked, the SHA-256 key; `raw.data` and
  // `record.data` one object).
  ...(name === "did_reseller"
    ? {
        wasm_minimum: () => {
          const id = floorModule.did_reseller_key(body);
          const raw = JSON.parse(body);
          raw.data = JSON.parse(raw.data);
          return { id, record: { data: raw.data }, raw };
        },
      }
    : {}),
});

const results = { payloads: {}, wasm: {} };
// The hand-written receiver maps what telhook maps: each field bench/handwritten-fields.json
// names for the provider equals telhook's, to the letter (times included).
const sameFields = JSON.parse(readFileSync(here("../handwritten-fields.json"), "utf8"));
function assertSameMapping(provider, event, mine) {
  for (const [path, key] of [...sameFields.every, ...sameFields[provider]]) {
    const theirs = path.split(".").reduce((value, step) => value?.[step], event) ?? null;
    const ours = mine[key] ?? null;
    if (!isDeepStrictEqual(theirs, ours)) {
      throw new Error(`${provider} ${path}: the hand-written receiver gives ${JSON.stringify(ours)} where telhook gives ${JSON.stringify(theirs)}`);
    }
  }
}

for (const payload of payloads) {
  const { provider, request, credentials, now } = payload;
  const body = request.body;
  const receiver = new telhook.Receiver(provider, credentials);
  const expected = receiver.normalize(request, { now });
  const mine = handwritten(provider, request, secretsOf(credentials));
  assertSameMapping(provider, expected, mine);

  const swSecret = "whsec_" + Buffer.from("a-standard-webhooks-secret-32by").toString("base64");
  const wh = new Webhook(swSecret);
  const msgId = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
  const timestamp = new Date();
  const swHeaders = {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
    "webhook-signature": wh.sign(msgId, timestamp, body),
  };
  wh.verify(body, swHeaders);
  const floors = floorContenders(payload.name, body);
  const sketch = onePassContender(payload);
  if (sketch !== undefined) {
    if (!isDeepStrictEqual(sketch(), expected)) throw new Error("the one-pass sketch's event is not telhook's");
    floors.one_pass_sketch = sketch;
  }
  for (const [name, run] of Object.entries(floors)) {
    if (typeof run() !== "object") throw new Error(`bad floor setup: ${name}`);
  }
  if (payload.name === "did_reseller" && floors.wasm_minimum().id !== expected.id) {
    throw new Error("the DID floor's key is not telhook's");
  }

  results.payloads[payload.name] = {
    provider,
    body_bytes: Buffer.byteLength(body),
    ...measureInterleaved({
      telhook_receiver: () => receiver.normalize(request, { now }),
      telhook_one_shot: () => telhook.normalizeEvent(provider, request, credentials, { now }),
      handwritten: () => handwritten(provider, request, secretsOf(credentials)),
      standardwebhooks_verify: () => wh.verify(body, swHeaders),
      ...floors,
    }),
  };
  console.error(`node ${payload.name}: done`);
}

// Issue 14's cost growth: one Receiver call per body size (1 KiB, 64 KiB, 1 MiB), and the
// memory one call takes, each size in a fresh process (bench/node/memory.mjs).
// `--no-inline-new`: every JS allocation goes through V8's runtime, so the heap's used size moves
// by exactly what the call allocates; with inline allocation it moved by whole allocation buffers
// too, and one 64 KiB call read 165 KB or 345 KB from one run to the next.
const MEMORY_FLAGS = ["--expose-gc", "--no-inline-new", "--min-semi-space-size=64", "--max-semi-space-size=64"];
results.growth = {};
for (const name of ["limephone_1k", "limephone_64k", "limephone_1m"]) {
  const file = here(`../payloads/growth/${name}.json`);
  const { provider, request, credentials, now } = JSON.parse(readFileSync(file, "utf8"));
  const receiver = new telhook.Receiver(provider, credentials);
  if (!receiver.normalize(request, { now }).id.startsWith(provider)) throw new Error("bad setup");
  const memory = JSON.parse(
    String(execFileSync(process.execPath, [...MEMORY_FLAGS, here("memory.mjs"), file])),
  );
  const floorMemory =
    name === "limephone_1k"
      ? undefined
      : JSON.parse(
          String(execFileSync(process.execPath, [...MEMORY_FLAGS, here("memory.mjs"), file, "floor"])),
        );
  results.growth[name] = {
    body_bytes: Buffer.byteLength(request.body),
    ops: measure(() => receiver.normalize(request, { now })),
    ...memory,
    ...(floorMemory ? { floor_memory: floorMemory } : {}),
  };
  console.error(`node growth ${name}: done`);
}

// The .wasm: size and what loading costs.
const wasmBytes = readFileSync(here("../../npm/dist/telhook_wasm_bg.wasm"));
results.wasm.raw_bytes = wasmBytes.length;
results.wasm.gzip_bytes = gzipSync(wasmBytes, { level: 9 }).length;
// Every module, as the build prints them: the receiver's and the test kit's (telhook/testing).
results.wasm.modules = {};
for (const name of ["telhook_wasm_bg.wasm", "telhook_wasm_kit_bg.wasm"]) {
  const bytes = readFileSync(here(`../../npm/dist/${name}`));
  results.wasm.modules[name] = { raw_bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
}
results.wasm.budget = JSON.parse(readFileSync(here("../../npm/wasm-budget.json"), "utf8"));
// In a fresh process each time: V8 keeps compiled modules per process, so compiling the same
// bytes again here (this process has loaded the package) costs ~0.1 ms, not what a start pays.
const compileTimes = [];
for (let i = 0; i < 5; i++) {
  const out = execFileSync(process.execPath, [
    "-e",
    `const bytes = require("node:fs").readFileSync(${JSON.stringify(here("../../npm/dist/telhook_wasm_bg.wasm"))});
     const t0 = performance.now(); new WebAssembly.Module(bytes); console.log(performance.now() - t0);`,
  ]);
  compileTimes.push(Number(String(out).trim()));
}
results.wasm.compile_ms = Math.min(...compileTimes);
const importTimes = [];
for (let i = 0; i < 5; i++) {
  const out = execFileSync(process.execPath, [
    "--input-type=module",
    "-e",
    `const t0 = performance.now(); await import(${JSON.stringify(here("../../npm/dist/node.mjs"))}); console.log(performance.now() - t0);`,
  ]);
  importTimes.push(Number(String(out).trim()));
}
results.wasm.import_ms = Math.min(...importTimes);

// Inside workerd: the Worker runs N normalizations per request; the per-call cost is the
// difference between N and 0 divided by N (dispatch overhead cancels out).
const dir = mkdtempSync(join(tmpdir(), "telhook-bench-"));
writeFileSync(
  join(dir, "entry.mjs"),
  `import { Receiver } from "telhook";
   export default { async fetch(request) {
     const { payload, n } = await request.json();
     const receiver = new Receiver(payload.provider, payload.credentials);
     let id;
     for (let i = 0; i < n; i++) id = receiver.normalize(payload.request, { now: payload.now }).id;
     return new Response(String(id));
   } };`,
);
await bundleWorker(dir, "entry.mjs", "worker.mjs");
const mf = new Miniflare(workerOptions(dir, "worker.mjs"));
await mf.ready;
async function timeDispatch(payload, n) {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const response = await mf.dispatchFetch("https://bench.test/", { method: "POST", body: JSON.stringify({ payload, n }) });
    await response.text();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
for (const payload of payloads) {
  const n = payload.name.endsWith("64k") ? 500 : 5000;
  const base = await timeDispatch(payload, 0);
  const total = await timeDispatch(payload, n);
  results.payloads[payload.name].telhook_workerd = (n * 1000) / Math.max(total - base, 1e-6);
}
await mf.dispose();

results.node_version = process.version;
mkdirSync(here("../../target/bench"), { recursive: true });
writeFileSync(here("../../target/bench/node.json"), JSON.stringify(results, null, 2));
console.error("node: written target/bench/node.json");
