// Header shapes users hand over: Node's flat req.rawHeaders works; a malformed shape is a typed
// error instead of silently dropped headers (which would read as a missing signature).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as telhook from "telhook";
import { loadVectors } from "./load-vectors.mjs";

const { vector } = loadVectors().find((v) => v.name === "limephone/doc_sms_sent.json");
const normalize = (headers) =>
  telhook.normalizeEvent("limephone", { headers, body: vector.request.body }, vector.credentials, { now: vector.now });

test("a flat rawHeaders array gives the same event as the headers object", () => {
  const rawHeaders = Object.entries(vector.request.headers).flat();
  assert.equal(rawHeaders.length, 6);
  assert.deepStrictEqual(normalize(rawHeaders), vector.expect.event);
});

test("malformed header shapes are RequestError invalid_request, naming the field", () => {
  const flat = Object.entries(vector.request.headers).flat();
  for (const headers of [flat.slice(0, -1), [["X-LimePhone-Signature"]], ["Authorization", ["Bearer", "x"]]]) {
    assert.throws(
      () => normalize(headers),
      (error) =>
        error instanceof telhook.RequestError && error.code === "invalid_request" && error.message.startsWith("headers:"),
    );
  }
});
