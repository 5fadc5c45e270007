// Runs the vectors and createHandler inside the real Workers runtime (workerd, via miniflare).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import * as telhook from "telhook";
import { bundleWorker } from "./bundle-worker.mjs";
import { loadHandlerVectors, loadVectors } from "./load-vectors.mjs";
import { bodyOf } from "./vector-reader.mjs";
import { codeOf, deliveryBody, deliveryHeaders, runHandlerVector } from "./handler-vectors.mjs";
import { nodeMiddlewareAdapter } from "./node-adapter.mjs";
import { retryOnReset } from "./miniflare-retry.mjs";

const vectors = loadVectors();
let mf;
const dispatch = (url, init) => retryOnReset(() => mf.dispatchFetch(url, init));

before(async () => {
  // Two Workers of the same script share one Durable Object namespace (defined by "main"):
  // their module memory is separate, as between isolates, so only the object can dedupe.
  const worker = await bundleWorker(fileURLToPath(new URL("./worker.mjs", import.meta.url)));
  mf = new Miniflare({
    workers: [
      { ...worker, name: "main", durableObjects: { TELHOOK_DEDUPE: "TelhookDedupeObject" } },
      { ...worker, name: "second", durableObjects: { TELHOOK_DEDUPE: { className: "TelhookDedupeObject", scriptName: "main" } } },
    ],
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

test("every conformance vector gives the expected output inside workerd", async () => {
  for (const { name, vector } of vectors) {
    const response = await dispatch("https://worker.test/vector", { method: "POST", body: JSON.stringify(vector) });
    assert.equal(response.status, 200, name);
    assert.deepStrictEqual(await response.json(), vector.expect, name);
  }
});

async function deliver(vector) {
  const method = vector.request.method ?? "POST";
  const url = new URL(vector.request.url ?? "/hook", "https://worker.test").href;
  const headers = new Headers();
  const pairs = Array.isArray(vector.request.headers)
    ? vector.request.headers
    : Object.entries(vector.request.headers ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
  // The HTTP client sets Content-Length itself (and refuses a false one); the declared-length
  // check is covered by the vector run above.
  for (const [name, value] of pairs) if (name.toLowerCase() !== "content-length") headers.append(name, value);
  headers.set(
    "x-telhook-test-config",
    JSON.stringify({ provider: vector.provider, credentials: vector.credentials, options: vector.options, now: vector.now }),
  );
  const body = method === "GET" ? undefined : bodyOf(vector.request);
  return dispatch(url, { method, headers, body });
}

test("createHandler answers every conformance vector with the core's answer for its outcome", async () => {
  for (const { name, vector } of vectors) {
    // A false Content-Length cannot be sent through an HTTP client; the vector run covers it.
    if (JSON.stringify(vector.request.headers ?? {}).toLowerCase().includes('"content-length"')) continue;
    // A path-only URL read at its Host header (node:http's req.url): a Fetch Request's URL is
    // always absolute, its host the worker's; the vector run covers it.
    const relative = vector.request.url !== undefined && !vector.request.url.includes("://");
    if (relative && JSON.stringify(vector.request.headers ?? {}).toLowerCase().includes('"host"')) continue;
    // Fetch refuses a URL with credentials (user:pass@host): the vector run covers them.
    if (/^[a-z]+:\/\/[^/?#]*@/i.test(vector.request.url ?? "")) continue;
    const response = await deliver(vector);
    let expected = { status: 200, body: "accepted" };
    if (vector.expect.error) {
      const provider = vector.expect.error === "unknown_provider" ? null : vector.provider;
      const answer = telhook.ackForError(new telhook.TelhookError(vector.expect.error, "", ""), provider);
      expected = { status: answer.status, body: codeOf(answer.body) };
    }
    // The answer's code (JSON, or Twilio's TwiML with it in a comment).
    const body = codeOf(await response.text());
    // The first delivery of an event is accepted, a later one (same store) a duplicate.
    if (!vector.expect.error && body === "duplicate") expected.body = "duplicate";
    // Headers that do not travel through HTTP as written (a repeated name is joined into "a, b",
    // an empty value is dropped): such a vector keeps its status, not its code.
    const pairs = deliveryHeaders(vector.request);
    const names = pairs.map(([n]) => n.toLowerCase());
    if (new Set(names).size !== names.length || pairs.some(([, value]) => value === "")) {
      assert.equal(response.status, expected.status, name);
    } else {
      assert.deepStrictEqual({ status: response.status, body }, expected, name);
    }
  }
});

test("in workerd: a forgery gets 401, a malformed body 400, a duplicate 200 without a second onEvent", async () => {
  const find = (n) => vectors.find((v) => v.name === n).vector;
  const before = await (await dispatch("https://worker.test/events")).json();
  const good = find("lisoloo/sms_sent.json");
  // First delivery may already have happened in the previous test (same dedupe store):
  // either way it is acknowledged, and the event id is recorded exactly once.
  assert.equal((await deliver(good)).status, 200);
  assert.equal((await deliver(good)).status, 200);
  const after = await (await dispatch("https://worker.test/events")).json();
  assert.equal(after.filter((id) => id === "lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003").length, 1);
  assert.ok(after.length >= before.length);
  const forged = await deliver(find("lisoloo/err_wrong_password.json"));
  assert.equal(forged.status, 401);
  assert.deepStrictEqual(await forged.json(), { error: "authorization_mismatch" });
  const malformed = await deliver(find("lisoloo/err_malformed_json.json"));
  assert.equal(malformed.status, 400);
  assert.deepStrictEqual(await malformed.json(), { error: "malformed_json" });
  const misconfigured = await deliver(find("lisoloo/err_missing_credentials.json"));
  assert.equal(misconfigured.status, 500);
});

test("handler vectors: createHandler in workerd and the Node middleware give the expected, identical answers", async () => {
  const handlerVectors = loadHandlerVectors();
  assert.ok(handlerVectors.length >= 30);
  for (const { name, vector } of handlerVectors) {
    const response = await dispatch("https://worker.test/handler-vector", { method: "POST", body: JSON.stringify(vector) });
    assert.equal(response.status, 200, name);
    const inWorkerd = await response.json();
    for (const step of inWorkerd.steps) assert.deepStrictEqual(step.actual, step.expect, `${name} step ${step.index} (workerd)`);
    assert.equal(inWorkerd.handler_calls, vector.expect_handler_calls, `${name}: handler calls (workerd)`);
    const inNode = await runHandlerVector(telhook, vector, nodeMiddlewareAdapter(telhook));
    assert.deepStrictEqual(
      inNode.steps.map((s) => s.answer),
      inWorkerd.steps.map((s) => s.answer),
      `${name}: the Node middleware and createHandler in workerd answer differently`,
    );
  }
});

async function deliverTo(worker, path, vector) {
  const send = worker === mf ? dispatch : (url, init) => retryOnReset(() => worker.fetch(url, init));
  const headers = new Headers(deliveryHeaders(vector.request));
  headers.set("x-telhook-test-config", JSON.stringify({ provider: vector.provider, credentials: vector.credentials, now: vector.now }));
  return send(`https://worker.test${path}`, { method: "POST", headers, body: deliveryBody(vector.request) });
}

test("Durable Object store: 20 concurrent copies over two Workers -> exactly one onEvent", async () => {
  const { vector } = vectors.find((v) => v.name === "limephone/doc_sms_received.json");
  const second = await mf.getWorker("second");
  const copies = Array.from({ length: 20 }, (_, i) => deliverTo(i % 2 === 0 ? mf : second, "/durable", vector));
  const answers = await Promise.all(copies.map(async (p) => {
    const response = await p;
    return `${response.status} ${JSON.parse(await response.text()).outcome ?? ""}`.trim();
  }));
  const calls = [
    await (await dispatch("https://worker.test/durable-calls")).json(),
    await (await retryOnReset(() => second.fetch("https://worker.test/durable-calls"))).json(),
  ];
  const total = calls.reduce((sum, byId) => sum + (byId["limephone:sms_received:345678"] ?? 0), 0);
  assert.equal(total, 1, `onEvent ran ${total} times: ${JSON.stringify(calls)}`);
  const tally = answers.reduce((counts, a) => ({ ...counts, [a]: (counts[a] ?? 0) + 1 }), {});
  console.log(`# Durable Object store, 20 concurrent copies: onEvent ${total}x, answers ${JSON.stringify(tally)}`);
  // (At most one: a copy re-sent after a connection reset may find the event done.)
  assert.ok(answers.filter((a) => a === "200 accepted").length <= 1, answers.join(", "));
  // Every other copy was told to retry later (still in progress) or that it is a duplicate.
  for (const answer of answers) assert.ok(["200 accepted", "503", "200 duplicate"].includes(answer), answer);
  // The next redelivery, after the first completed, is a duplicate.
  const late = await deliverTo(second, "/durable", vector);
  assert.deepStrictEqual([late.status, await late.json()], [200, { outcome: "duplicate" }]);
});

test("createHandler in workerd: onEvent reads the body of the request it was called for (telhook read it first)", async () => {
  const { vector } = vectors.find((v) => v.name === "lisoloo/doc_envelope_delivered.json");
  const response = await deliverTo(mf, "/reads-body", vector);
  assert.deepStrictEqual([response.status, await response.json()], [200, { outcome: "accepted" }]);
  const sent = deliveryBody(vector.request);
  const text = typeof sent === "string" ? sent : new TextDecoder().decode(sent);
  assert.deepStrictEqual(await (await dispatch("https://worker.test/bodies-read")).json(), [text]);
});

test("Durable Object store: claim, complete, release and lease expiry; only the owner's token counts", async () => {
  const op = async (body) => (await (await dispatch("https://worker.test/store", { method: "POST", body: JSON.stringify(body) })).json()).result;
  assert.equal(await op({ op: "claim", key: "a", token: "t1", secs: 300 }), "new");
  assert.equal(await op({ op: "claim", key: "a", token: "t2", secs: 300 }), "in_progress");
  await op({ op: "complete", key: "a", token: "t2", secs: 3600 }); // not t2's claim: no effect
  await op({ op: "release", key: "a", token: "t2" });
  assert.equal(await op({ op: "claim", key: "a", token: "t2", secs: 300 }), "in_progress");
  await op({ op: "complete", key: "a", token: "t1", secs: 3600 });
  assert.equal(await op({ op: "claim", key: "a", token: "t3", secs: 300 }), "done");
  await op({ op: "release", key: "a", token: "t1" }); // a completed key stays done
  assert.equal(await op({ op: "claim", key: "a", token: "t3", secs: 300 }), "done");
  assert.equal(await op({ op: "claim", key: "b", token: "u1", secs: 300 }), "new");
  await op({ op: "release", key: "b", token: "u1" });
  assert.equal(await op({ op: "claim", key: "b", token: "u2", secs: 300 }), "new");
  // A hung worker's claim: after its lease the key is claimed again, and the late owner's
  // release leaves the new claim alone.
  assert.equal(await op({ op: "claim", key: "c", token: "v1", secs: 1 }), "new");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(await op({ op: "claim", key: "c", token: "v2", secs: 300 }), "new");
  await op({ op: "release", key: "c", token: "v1" });
  assert.equal(await op({ op: "claim", key: "c", token: "v3", secs: 300 }), "in_progress");
});

test("in workerd: a store that never answers the claim gets 503 dedupe_unavailable within storeDeadlineMs, and onError fires", async () => {
  const { vector } = vectors.find((v) => v.name === "lisoloo/sms_sent.json");
  const storeDeadlineMs = 300;
  const headers = new Headers(deliveryHeaders(vector.request));
  const config = { provider: vector.provider, credentials: vector.credentials, now: vector.now, storeDeadlineMs };
  headers.set("x-telhook-test-config", JSON.stringify(config));
  // Warm up the Worker's path (bundle evaluated, wasm instantiated) with a request refused early.
  await (await dispatch("https://worker.test/hanging", { method: "GET", headers })).arrayBuffer();
  const started = performance.now();
  const response = await dispatch("https://worker.test/hanging", { method: "POST", headers, body: deliveryBody(vector.request) });
  const answer = [response.status, await response.json()];
  const elapsed = performance.now() - started;
  console.log(`# workerd, hanging store, storeDeadlineMs ${storeDeadlineMs}: ${answer[0]} ${answer[1].error} after ${elapsed.toFixed(0)} ms`);
  assert.deepStrictEqual(answer, [503, { error: "dedupe_unavailable" }]);
  assert.ok(elapsed >= storeDeadlineMs - 5 && elapsed < storeDeadlineMs + 1000, `answered after ${elapsed} ms`);
  const reports = await (await dispatch("https://worker.test/hanging-reports")).json();
  const hung = reports.filter((r) => r.code === "dedupe_unavailable");
  assert.equal(hung.length, 1, JSON.stringify(reports));
  assert.deepStrictEqual([hung[0].status, hung[0].log, hung[0].provider], [503, "error", "lisoloo"]);
  assert.match(hung[0].note, /did not answer the claim within store_deadline_ms/);
  assert.match(hung[0].message, /store.claim did not answer within 300 ms/);
});

/** POSTs through node:http, each Authorization value on a line of its own: [status, code]. */
function postLines(port, authorization, body) {
  return new Promise((resolve, reject) => {
    const headers = { "content-type": "application/json", authorization };
    const request = http.request({ host: "127.0.0.1", port, method: "POST", path: "/hook", headers }, (response) => {
      let text = "";
      response.on("data", (chunk) => {
        text += chunk;
      });
      response.on("end", () => resolve([response.statusCode, Object.values(JSON.parse(text))[0]]));
    });
    request.on("error", reject);
    request.end(body);
  });
}

test("a duplicate Authorization gets the same answer in workerd and in the Node middleware: ambiguous_header", async () => {
  const { vector } = vectors.find((v) => v.name === "lisoloo/sms_sent.json");
  const good = vector.request.headers.Authorization;
  const forged = "Basic Zm9yZ2VkOnZhbHVl";
  const middleware = telhook.createNodeMiddleware({
    provider: vector.provider,
    credentials: vector.credentials,
    clock: () => vector.now,
    store: null,
    onEvent() {},
    onError() {},
  });
  const server = http.createServer((req, res) => middleware(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    for (const values of [[good, forged], [forged, good], [`${good}, ${forged}`]]) {
      const headers = new Headers({ "content-type": "application/json" });
      for (const value of values) headers.append("authorization", value);
      headers.set("x-telhook-test-config", JSON.stringify({ provider: vector.provider, credentials: vector.credentials, now: vector.now }));
      const response = await dispatch("https://worker.test/hook", { method: "POST", headers, body: deliveryBody(vector.request) });
      const inWorkerd = [response.status, Object.values(await response.json())[0]];
      const inNode = await postLines(server.address().port, values, deliveryBody(vector.request));
      assert.deepStrictEqual(inWorkerd, [401, "ambiguous_header"], `workerd: ${values.join(" | ")}`);
      assert.deepStrictEqual(inNode, inWorkerd, `node: ${values.join(" | ")}`);
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
