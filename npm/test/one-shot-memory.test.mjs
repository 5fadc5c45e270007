// The one-shot entry points build a Receiver per call: its wasm memory must be freed by the call,
// not left to a finalizer that runs only when the event loop gets a turn (wasm memory never
// shrinks, and a Worker has 128 MB).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

// The package instantiates its module with `new WebAssembly.Instance`: keep it to read its memory.
const Instance = WebAssembly.Instance;
let instance;
WebAssembly.Instance = function (module, imports) {
  instance = new Instance(module, imports);
  return instance;
};
const telhook = await import("telhook");
WebAssembly.Instance = Instance;

test("a synchronous loop of one-shot normalizeEvent and verify calls does not grow the wasm memory", () => {
  assert.ok(instance, "the package's WebAssembly instance was not seen");
  const vector = JSON.parse(readFileSync(new URL("../../tests/vectors/limephone/doc_sms_received.json", import.meta.url), "utf8"));
  const call = () => {
    const event = telhook.normalizeEvent(vector.provider, vector.request, vector.credentials, { now: vector.now });
    assert.equal(event.id, vector.expect.event.id);
    assert.equal(telhook.verify(vector.provider, vector.request, vector.credentials, { now: vector.now }), "limephone");
  };
  for (let i = 0; i < 100; i++) call(); // the wasm heap's working size
  const before = instance.exports.memory.buffer.byteLength;
  // Left to the finalizer, each call pair kept ~1 KB: 20,000 of them grew the memory by ~20 MB.
  for (let i = 0; i < 20_000; i++) call();
  const grown = instance.exports.memory.buffer.byteLength - before;
  assert.ok(grown <= 1024 * 1024, `the wasm memory grew by ${grown} bytes over 20,000 one-shot call pairs`);
});
