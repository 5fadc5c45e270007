// The one-shot entry points keep the Receivers of the last few credentials they were given: a
// Receiver they let go of must have its wasm memory freed then, not left to a finalizer that runs
// only when the event loop gets a turn (wasm memory never shrinks, and a Worker has 128 MB); and a
// kept one must never answer for credentials that changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
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

/** A LimePhone delivery signed with `secret`. */
function signedLimephone(secret, messageId) {
  const body = JSON.stringify({ event: "sms_received", message_id: messageId, virtual_number: "+15551234567", sender_number: "+18887654321", message_content: "hi" });
  const headers = { "X-LimePhone-Signature": createHmac("sha256", secret).update(body).digest("hex") };
  return { method: "POST", url: "https://example.test/hook", headers, body };
}
const now = 1769000000;

test("one-shot calls over more credentials than are kept free the receivers they let go of", () => {
  const requests = Array.from({ length: 40 }, (_, n) => signedLimephone(`secret-${n}`, n));
  const call = (n) => {
    const event = telhook.normalizeEvent("limephone", requests[n], { hmac_sha256: `secret-${n}` }, { now });
    assert.equal(event.raw.message_id, n);
    assert.equal(telhook.verify("limephone", requests[n], { hmac_sha256: [`secret-${n}`] }, { now }), "limephone");
  };
  for (let n = 0; n < 40; n++) call(n);
  const before = instance.exports.memory.buffer.byteLength;
  // Every call a new Receiver (40 credentials, 16 kept): not freed, 20,000 would grow it by ~20 MB.
  for (let i = 0; i < 20_000; i++) call(i % 40);
  const grown = instance.exports.memory.buffer.byteLength - before;
  assert.ok(grown <= 1024 * 1024, `the wasm memory grew by ${grown} bytes over 20,000 one-shot call pairs`);
});

test("a kept receiver never answers for changed credentials, and a refused configuration is refused every time", () => {
  const request = signedLimephone("secret-a", 1);
  const credentials = { hmac_sha256: ["secret-a"] };
  const first = telhook.normalizeEvent("limephone", request, credentials, { now });
  assert.deepEqual(telhook.normalizeEvent("limephone", request, credentials, { now }), first);
  // Rotated: a new object, then the same object edited. The old secret's signature is refused.
  for (const rotated of [{ hmac_sha256: ["secret-b"] }, credentials]) {
    credentials.hmac_sha256 = ["secret-b"];
    assert.throws(() => telhook.normalizeEvent("limephone", request, rotated, { now }), { code: "signature_mismatch" });
    assert.throws(() => telhook.verify("limephone", request, rotated, { now }), { code: "signature_mismatch" });
  }
  const both = { hmac_sha256: ["secret-b", "secret-a"] };
  for (const signed of [request, signedLimephone("secret-b", 1)]) {
    assert.equal(telhook.normalizeEvent("limephone", signed, both, { now }).id, first.id);
  }
  // An unset value is dropped by JSON: the rest's text is a kept receiver's, the call still throws.
  for (let i = 0; i < 2; i++) {
    assert.throws(() => telhook.normalizeEvent("limephone", request, { hmac_sha256: ["secret-a"], bearer: undefined }, { now }), {
      code: "missing_credentials",
      field: "credentials.bearer",
    });
    assert.throws(() => telhook.normalizeEvent("limephone", request, { hmac_sha256: "" }, { now }), { field: "credentials.hmac_sha256" });
    assert.throws(() => telhook.normalizeEvent("limephone", request, credentials, { now, max_body_bytes: -1 }), { code: "invalid_option" });
  }
  // Options other than `now` are the receiver's: a smaller cap is another receiver, not the kept one.
  assert.throws(() => telhook.normalizeEvent("limephone", request, { hmac_sha256: "secret-a" }, { now, max_body_bytes: 10 }), {
    code: "body_too_large",
  });
  assert.equal(telhook.normalizeEvent("limephone", request, { hmac_sha256: "secret-a" }, { now }).id, first.id);
});

test("the provider is part of a kept receiver's key, and one in use is never freed under its call", () => {
  const request = signedLimephone("secret-a", 1);
  const credentials = { limephone: { hmac_sha256: "secret-a" } };
  assert.equal(telhook.verify(null, request, credentials, { now }), "limephone");
  // "" (an unset PROVIDER variable, say) is refused however often detection ran before it.
  for (let i = 0; i < 2; i++) {
    assert.throws(() => telhook.verify("", request, credentials, { now }), { code: "unknown_provider" });
    assert.throws(() => telhook.normalizeEvent("", request, credentials, { now }), { code: "unknown_provider" });
  }
  // The request's own getters run inside the call: one that makes one-call calls with more
  // credentials than are kept lets go of the receiver in use, which must outlive its call.
  const others = Array.from({ length: 20 }, (_, n) => signedLimephone(`other-${n}`, n));
  const reentrant = {
    ...request,
    get headers() {
      others.forEach((other, n) => telhook.verify("limephone", other, { hmac_sha256: `other-${n}` }, { now }));
      return request.headers;
    },
  };
  assert.equal(telhook.normalizeEvent("limephone", reentrant, { hmac_sha256: "secret-a" }, { now }).raw.message_id, 1);
  assert.equal(telhook.normalizeEvent("limephone", request, { hmac_sha256: "secret-a" }, { now }).raw.message_id, 1);
});
