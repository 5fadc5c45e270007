// Runs the vectors and createHandler inside the real Workers runtime (workerd, via miniflare).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import * as telhook from "telhook";
import { bundleWorker } from "./bundle-worker.mjs";
import { loadHandlerVectors, loadVectors } from "./load-vectors.mjs";
import { bodyOf } from "./vector-reader.mjs";
import { deliveryBody, deliveryHeaders, runHandlerVector } from "./handler-vectors.mjs";
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
    const response = await deliver(vector);
    let expected = { status: 200, body: { outcome: "accepted" } };
    if (vector.expect.error) {
      const provider = vector.expect.error === "unknown_provider" ? null : vector.provider;
      const answer = telhook.ackForError(new telhook.TelhookError(vector.expect.error, "", ""), provider);
      expected = { status: answer.status, body: JSON.parse(answer.body) };
    }
    const body = await response.json();
    // The first delivery of an event is accepted, a later one (same store) a duplicate.
    if (!vector.expect.error && body.outcome === "duplicate") expected.body = { outcome: "duplicate" };
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
