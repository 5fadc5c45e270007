// Issue 12 item 5: a canary planted in every value of every malformed request (tests/canary,
// generated once for every runtime) never reaches an error's message, String() or inspect().
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import * as telhook from "../dist/node.mjs";
import { loadCanaryVectors } from "./load-vectors.mjs";
import { requestOf } from "./vector-reader.mjs";

test("no error quotes a value of the request", () => {
  const vectors = loadCanaryVectors();
  assert.ok(vectors.length >= 200, `${vectors.length} canary requests`);
  let errors = 0;
  let events = 0;
  for (const { name, vector } of vectors) {
    let event;
    try {
      event = telhook.normalizeEvent(vector.provider, requestOf(vector.request), vector.credentials, { now: vector.now });
    } catch (error) {
      if (!(error instanceof telhook.TelhookError)) throw error;
      errors += 1;
      for (const text of [error.message, String(error), inspect(error), JSON.stringify(error), String(error.field), String(error.expected)]) {
        assert.ok(!text.includes(vector.canary), `${name}: ${text}`);
        assert.ok(!text.includes(vector.canary_number), `${name}: ${text}`);
      }
      continue;
    }
    // A verified body of any shape is an event (issue 26): its unread paths are the provider's
    // own field names, never a planted key or value of the request.
    events += 1;
    assert.ok(!event.unread_fields.join(" ").includes(vector.canary), name);
  }
  // Both kinds must be seen, or the test proves nothing about one of them.
  assert.ok(errors >= 30 && events >= 150, `${errors} errors, ${events} events`);
});

test("inspect() of a Receiver and of the adapters shows no credential", () => {
  const secret = "inspect-SECRET-value-8812";
  const credentials = { url_token: [secret], basic: [{ username: "hook", password: secret }] };
  const objects = [
    new telhook.Receiver("did_reseller", credentials),
    telhook.createHandler({ provider: "did_reseller", credentials, store: null, onEvent() {} }),
    telhook.createNodeMiddleware({ provider: "did_reseller", credentials, store: null, onEvent() {} }),
  ];
  for (const object of objects) {
    const text = inspect(object, { depth: 10, showHidden: true, getters: true });
    assert.ok(!text.includes(secret), text);
  }
});
