// `make bench`, Node memory of one request (issue 14: peak memory per request ≤ 3× the body),
// run by bench.mjs in a fresh process per body size as
// `node --expose-gc --no-inline-new --min-semi-space-size=64 --max-semi-space-size=64 memory.mjs PAYLOAD.json`.
// Prints JSON:
// - js_heap_bytes: V8 heap bytes allocated during one Receiver.normalize (no GC runs inside
//   the call, checked: the young generation is larger than what one call allocates), so an
//   upper bound on what was live at once on the JS side, the event returned included;
// - external_bytes: ArrayBuffer bytes allocated during the call outside the wasm memory (the
//   body's encoded copy above all), from `process.memoryUsage().arrayBuffers`. Not `external`:
//   it moves with V8's accounting of the wasm memory (it fell by ~675 KB across a 64 KiB call
//   that grew the wasm memory by 320 KB), which hid the body's copy (found by review);
// - wasm_growth_bytes: growth of the module's linear memory during the call, in 64 KiB pages:
//   the wasm heap's peak above what the warm-up calls had already reserved.
// With `floor` after the payload, the same for the wasm floor (bench/wasm-floor: the body
// encoded into wasm memory, its HMAC, checked as JSON there, and `raw` by `JSON.parse` of the
// body in JS) instead of telhook.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { createRequire } from "node:module";

// The package instantiates its module with `new WebAssembly.Instance`: keep the instance to
// read its memory.
const Instance = WebAssembly.Instance;
let instance;
WebAssembly.Instance = function (module, imports) {
  instance = new Instance(module, imports);
  return instance;
};
const floor = process.argv[3] === "floor";
const telhook = floor
  ? createRequire(import.meta.url)("../../target/bench-wasm-floor/pkg/telhook_bench_wasm_floor.js")
  : await import("../../npm/dist/node.mjs");
WebAssembly.Instance = Instance;
if (!instance) throw new Error("the package's WebAssembly instance was not seen");
const wasmBytes = () => instance.exports.memory.buffer.byteLength;

const load = (file) => JSON.parse(readFileSync(file, "utf8"));
const small = load(fileURLToPath(new URL("../payloads/growth/limephone_1k.json", import.meta.url)));
const payload = load(process.argv[2]);
// The floor takes the body as telhook's Receiver does (a string here, encoded by the glue
// straight into wasm memory). Its result is named after the payload's provider, for the check below.
const receiver = floor
  ? (() => {
      const keyed = new telhook.Floor(Buffer.from("a-webhook-secret"));
      return {
        normalize: (request) => {
          if (keyed.check(request.body) === 0) throw new Error("the floor read no JSON object");
          return { id: payload.provider, raw: JSON.parse(request.body) };
        },
      };
    })()
  : new telhook.Receiver(payload.provider, payload.credentials);
for (let i = 0; i < 200; i++) receiver.normalize(small.request, { now: small.now }); // warm-up, JIT

let gcs = 0;
const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
observer.observe({ entryTypes: ["gc"] });
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 50));
gcs = 0;
const heap0 = v8.getHeapStatistics().used_heap_size;
const { arrayBuffers: arrayBuffers0 } = process.memoryUsage();
const wasm0 = wasmBytes();
const event = receiver.normalize(payload.request, { now: payload.now });
const heap1 = v8.getHeapStatistics().used_heap_size;
const { arrayBuffers: arrayBuffers1 } = process.memoryUsage();
const wasm1 = wasmBytes();
await new Promise((resolve) => setTimeout(resolve, 50));
observer.disconnect();
if (gcs !== 0) throw new Error(`a GC ran during the measured call (${gcs}); raise the semi-space size`);
if (!event.id.startsWith(payload.provider)) throw new Error("bad setup");
console.log(
  JSON.stringify({
    js_heap_bytes: heap1 - heap0,
    external_bytes: Math.max(0, arrayBuffers1 - arrayBuffers0),
    wasm_growth_bytes: wasm1 - wasm0,
  }),
);
