// `make bench-native-sketch`: telhook's core as a native Node addon (bench/native-sketch, N-API)
// beside the wasm Receiver, the hand-written receiver and standardwebhooks' verify, on the five
// small payloads, interleaved, best of 9 rounds; on limephone and lisoloo also the one-pass
// sketches (bench/wasm-floor/src/one_pass.rs) in wasm and natively: the two levers alone and
// together. The event crosses as the JSON text the wasm
// binding writes and is parsed by the same rule (the payloads' message texts are short: none
// crosses apart). Also timed alone: the native call and `JSON.parse` of the event's text. Prints
// a table; writes nothing.
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import * as telhook from "../../npm/dist/node.mjs";
import { handwritten, secretsOf } from "./handwritten.mjs";
import { eventFrom, onePassSketch, packedHeaders as packed } from "./crossing.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { NativeReceiver, NativeOnePassLimephone, NativeOnePassLisoloo } = createRequire(import.meta.url)(here("../../target/bench-native-sketch/telhook_native_sketch.node"));

function best(contenders, rounds = 9, calls = 20000) {
  const out = Object.fromEntries(Object.keys(contenders).map((name) => [name, Infinity]));
  for (const fn of Object.values(contenders)) for (let i = 0; i < calls; i++) fn();
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) fn();
      out[name] = Math.min(out[name], ((performance.now() - t0) * 1000) / calls);
    }
  }
  return out;
}

const wasmFloor = createRequire(import.meta.url)(here("../../target/bench-wasm-floor/pkg/telhook_bench_wasm_floor.js"));
const encoder = new TextEncoder();
const wh = new Webhook("whsec_" + Buffer.from("a-standard-webhooks-secret-32by").toString("base64"));
// The ratio columns divide rates (calls per second), as issue 27's goals are written.
console.log("| payload | wasm Receiver µs | native µs | hand-written µs | standardwebhooks µs | native call alone µs | `JSON.parse` of the event µs | hand-written ÷ wasm (rates) | hand-written ÷ native (rates) | wasm ÷ standardwebhooks (rates) | native ÷ standardwebhooks (rates) |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
// The one-pass sketches (bench/wasm-floor/src/one_pass.rs), each built for wasm and natively.
const wasmSketches = { limephone: wasmFloor.OnePassLimephone, lisoloo: wasmFloor.OnePassLisoloo };
const nativeSketches = { limephone: NativeOnePassLimephone, lisoloo: NativeOnePassLisoloo };
const levers = {};
for (const name of ["limephone", "lisoloo", "gatewayapi", "looplookup", "did_reseller"]) {
  const { provider, request, credentials, now } = JSON.parse(readFileSync(here(`../payloads/${name}.json`), "utf8"));
  const body = request.body;
  const receiver = new telhook.Receiver(provider, credentials);
  const native = new NativeReceiver(provider, JSON.stringify(credentials));
  const method = request.method ?? "POST";
  const url = request.url ?? null;
  const nativeCall = () => eventFrom(native.normalize(method, url, ...packed(request.headers), Buffer.from(body), now));
  const expected = receiver.normalize(request, { now });
  if (!isDeepStrictEqual(nativeCall(), expected)) throw new Error(`${name}: the native event is not the wasm one`);
  const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
  const at = new Date();
  const swHeaders = { "webhook-id": id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": wh.sign(id, at, body) };
  const args = [method, url, ...packed(request.headers), Buffer.from(body), now];
  const text = native.normalize(...args);
  const t = best({
    wasm: () => receiver.normalize(request, { now }),
    native: nativeCall,
    handwritten: () => handwritten(provider, request, secretsOf(credentials)),
    standardwebhooks: () => wh.verify(body, swHeaders),
    nativeAlone: () => native.normalize(...args),
    parse: () => eventFrom(text),
  });
  const sketch = { wasm: onePassSketch(wasmSketches, name, credentials), native: onePassSketch(nativeSketches, name, credentials) };
  if (sketch.wasm !== undefined) {
    const sketches = {
      wasm_one_pass: () => JSON.parse(sketch.wasm.normalize(...packed(request.headers), encoder.encode(body), now)),
      native_one_pass: () => JSON.parse(sketch.native.normalize(...packed(request.headers), Buffer.from(body), now)),
    };
    for (const [which, run] of Object.entries(sketches)) {
      if (!isDeepStrictEqual(run(), expected)) throw new Error(`${name} ${which}: not telhook's event`);
    }
    const sketchArgs = [...packed(request.headers), Buffer.from(body), now];
    levers[name] = best({
      wasm: () => receiver.normalize(request, { now }),
      native: nativeCall,
      handwritten: () => handwritten(provider, request, secretsOf(credentials)),
      standardwebhooks: () => wh.verify(body, swHeaders),
      ...sketches,
      native_one_pass_alone: () => sketch.native.normalize(...sketchArgs),
    });
  }
  const f = (us) => us.toFixed(2);
  const r = (a, b) => `${(a / b).toFixed(2)}×`;
  console.log(`| ${name} | ${f(t.wasm)} | ${f(t.native)} | ${f(t.handwritten)} | ${f(t.standardwebhooks)} | ${f(t.nativeAlone)} | ${f(t.parse)} | ${r(t.wasm, t.handwritten)} | ${r(t.native, t.handwritten)} | ${r(t.standardwebhooks, t.wasm)} | ${r(t.standardwebhooks, t.native)} |`);
}

for (const [name, times] of Object.entries(levers)) {
  console.log(`\n${name}, in one set of interleaved rounds:`);
  console.log("| contender | µs | hand-written ÷ it (rates) | it ÷ standardwebhooks (rates) |");
  console.log("|---|---:|---:|---:|");
  for (const contender of ["wasm", "native", "wasm_one_pass", "native_one_pass", "handwritten", "standardwebhooks"]) {
    const us = times[contender];
    console.log(`| ${contender} | ${us.toFixed(2)} | ${(us / times.handwritten).toFixed(2)}× | ${(times.standardwebhooks / us).toFixed(2)}× |`);
  }
  console.log(`| native one-pass call alone (no JSON.parse) | ${times.native_one_pass_alone.toFixed(2)} | | |`);
}
