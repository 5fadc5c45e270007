// Inbox mode inside workerd (miniflare), issue 23: every inbox vector through createHandler in
// workerd, identical to the Node middleware's run; and the Cloudflare Queue inbox end to end:
// queueInbox as the producer (dedupe in the Durable Object store), consumeInbox as the Worker's
// queue() — the handler runs once per event, a failing one is retried after the core's backoff
// and then dead-lettered by the Queue, a duplicate delivery is not enqueued twice.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import * as telhook from "telhook";
import { signedRequest } from "telhook/testing";
import { bundleWorker } from "./bundle-worker.mjs";
import { loadInboxVectors, loadVectors } from "./load-vectors.mjs";
import { deliveryBody, deliveryHeaders } from "./handler-vectors.mjs";
import { runInboxVector } from "./inbox-vectors.mjs";
import { nodeMiddlewareAdapter } from "./node-adapter.mjs";
import { retryOnReset } from "./miniflare-retry.mjs";

const MAX_ATTEMPTS = 3; // inbox-worker.mjs POLICY.max_attempts
let mf;
const dispatch = (url, init) => retryOnReset(() => mf.dispatchFetch(url, init));

before(async () => {
  const worker = await bundleWorker(fileURLToPath(new URL("./inbox-worker.mjs", import.meta.url)));
  mf = new Miniflare({
    ...worker,
    durableObjects: { TELHOOK_DEDUPE: "TelhookDedupeObject" },
    queueProducers: { INBOX: "telhook-inbox" },
    r2Buckets: ["INBOX_OVERFLOW"],
    queueConsumers: {
      // max_retries = max_attempts - 1: the Queue dead-letters what the core calls dead.
      "telhook-inbox": { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: MAX_ATTEMPTS - 1, deadLetterQueue: "telhook-dead" },
      "telhook-dead": { maxBatchSize: 10, maxBatchTimeout: 1 },
    },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

test("every inbox vector inside workerd gives the Rust reference's answers and states, as the Node middleware does", async () => {
  const vectors = loadInboxVectors();
  assert.ok(vectors.length >= 35);
  for (const { name, vector } of vectors) {
    const response = await dispatch("https://worker.test/inbox-vector", { method: "POST", body: JSON.stringify(vector) });
    assert.equal(response.status, 200, name);
    const inWorkerd = await response.json();
    for (const step of inWorkerd.steps) assert.deepStrictEqual(step.actual, step.expect, `${name} step ${step.index} (workerd)`);
    assert.equal(inWorkerd.handler_calls, vector.expect_handler_calls, `${name}: handler calls (workerd)`);
    const inNode = await runInboxVector(telhook, vector, nodeMiddlewareAdapter(telhook));
    assert.deepStrictEqual(inNode, inWorkerd, `${name}: the Node middleware and createHandler in workerd differ`);
  }
});

const conformance = loadVectors();
const sample = (name) => conformance.find((v) => v.name === name).vector;

async function deliver(vector, { overflow = false } = {}) {
  const headers = new Headers(deliveryHeaders(vector.request));
  headers.set("x-telhook-test-config", JSON.stringify({ provider: vector.provider, credentials: vector.credentials, now: vector.now, overflow }));
  const started = performance.now();
  const response = await dispatch("https://worker.test/hook", { method: "POST", headers, body: deliveryBody(vector.request) });
  const body = await response.json();
  return { answer: `${response.status} ${body.outcome ?? body.error}`, ms: performance.now() - started };
}

/** A delivery whose event is larger than a Queue message (128,000 B): a Lisoloo SMS with a 200 KB field. */
function largeDelivery(eventId) {
  const credentials = { basic: { username: "hook", password: "liso-pass" } };
  const signed = signedRequest("lisoloo", { eventKind: "sms.delivered", overrides: { event_id: eventId, data: { note: "x".repeat(200_000) } }, credentials });
  return { deliver: (overflow) => retryOnReset(async () => {
    const headers = new Headers(signed.headers);
    headers.set("x-telhook-test-config", JSON.stringify({ provider: "lisoloo", credentials, now: 1_780_000_000, overflow }));
    const response = await mf.dispatchFetch("https://worker.test/hook", { method: "POST", headers, body: signed.body });
    const body = await response.json();
    return `${response.status} ${body.outcome ?? body.error}`;
  }), bodyBytes: signed.body.byteLength };
}

const state = async () => (await dispatch("https://worker.test/calls")).json();

async function until(predicate, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await state();
    if (predicate(seen)) return seen;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("Queue inbox: enqueued and answered at once, the consumer runs the handler once; redeliveries are not enqueued again", async () => {
  const vector = sample("lisoloo/sms_sent.json");
  const id = "lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003";
  const first = await deliver(vector);
  const again = [await deliver(vector), await deliver(vector)];
  assert.deepStrictEqual([first.answer, ...again.map((a) => a.answer)], ["200 queued", "200 duplicate", "200 duplicate"]);
  console.log(`# Queue inbox in workerd: first delivery answered ${first.answer} in ${first.ms.toFixed(0)} ms`);
  await until((seen) => seen.calls[id]?.length === 1, "the consumer");
  await new Promise((resolve) => setTimeout(resolve, 2000)); // a second enqueue would be consumed by now
  const seen = await state();
  assert.equal(seen.calls[id].length, 1, JSON.stringify(seen));
});

test("Queue inbox: concurrent copies of one event are enqueued once", async () => {
  const vector = sample("gatewayapi/messaging_status_delivered.json");
  const answers = (await Promise.all(Array.from({ length: 8 }, () => deliver(vector)))).map((a) => a.answer);
  console.log(`# Queue inbox in workerd, 8 concurrent copies: ${answers.join(", ")}`);
  assert.equal(answers.filter((a) => a === "200 queued").length, 1, answers.join(", "));
  // Others: duplicate, or 503 delivery_in_progress while the first copy was being sent (the
  // provider retries); not dedupe_unavailable, a store failure logged as an error (review).
  for (const answer of answers) assert.ok(["200 queued", "200 duplicate", "503 delivery_in_progress"].includes(answer), answer);
  const seen = await until((s) => Object.keys(s.calls).some((k) => k.startsWith("gatewayapi:")), "the consumer");
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = await state();
  const runs = Object.entries(after.calls).filter(([k]) => k.startsWith("gatewayapi:"));
  assert.equal(runs.length, 1, JSON.stringify(seen));
  assert.equal(runs[0][1].length, 1, JSON.stringify(after));
});

test("Queue inbox: a failing handler is retried after the core's backoff, then dead-lettered after max_attempts", async () => {
  const vector = sample("limephone/doc_sms_received.json");
  const id = "limephone:sms_received:345678";
  await dispatch("https://worker.test/fail", { method: "POST", body: id });
  assert.equal((await deliver(vector)).answer, "200 queued");
  const seen = await until((s) => s.dead.some((d) => d.id === id), "the dead letter");
  const times = seen.calls[id];
  assert.equal(times.length, MAX_ATTEMPTS, JSON.stringify(seen));
  assert.deepStrictEqual(seen.dead.filter((d) => d.id === id), [{ id, attempts: MAX_ATTEMPTS }]);
  // backoff_secs 1: each retry came at least a second after the failure before it.
  for (let i = 1; i < times.length; i += 1) assert.ok(times[i] - times[i - 1] >= 950, `retry ${i} after ${times[i] - times[i - 1]} ms`);
  console.log(`# Queue inbox in workerd: failing handler ran ${times.length}x, gaps ${times.slice(1).map((t, i) => t - times[i]).join("/")} ms, then dead-lettered`);
});

test("consumeInbox with the Durable Object store: a message delivered again after it was handled is acked without a second run", async () => {
  const event = { id: "limephone:redelivered-message", type: "message.received" };
  const response = await dispatch("https://worker.test/consume-again", { method: "POST", body: JSON.stringify({ id: "msg-1", event }) });
  assert.deepStrictEqual(await response.json(), { outcomes: ["ack", "ack", "ack"], calls: 1 });
});

test("Queue inbox: an event larger than a Queue message goes through the R2 overflow bucket, whole, and its object is deleted once handled", async () => {
  const id = "lisoloo:overflow-0001";
  const large = largeDelivery("overflow-0001");
  assert.equal(await large.deliver(true), "200 queued");
  assert.equal(await large.deliver(true), "200 duplicate");
  const seen = await until((s) => s.calls[id]?.length === 1, "the consumer of the overflowed event");
  // The handler got the whole event: its raw holds the 200 KB field.
  assert.ok(seen.rawLengths[id] > 200_000, `raw of ${seen.rawLengths[id]} characters`);
  let objects;
  for (let i = 0; i < 50 && (objects = await (await dispatch("https://worker.test/overflow-objects")).json()).length > 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepStrictEqual(objects, []);
  console.log(`# Queue inbox in workerd: a ${large.bodyBytes} B body's event went through the overflow bucket, handled once, its object deleted`);
});

test("Queue inbox without an overflow bucket: an event larger than a Queue message is answered 503 (retried), its key not held, so the retry is queued once the bucket is given", async () => {
  const id = "lisoloo:overflow-0002";
  const large = largeDelivery("overflow-0002");
  assert.equal(await large.deliver(false), "503 dedupe_unavailable");
  assert.equal(await large.deliver(false), "503 dedupe_unavailable");
  // The provider's retry, after the receiver got its bucket: not turned away by a claim.
  assert.equal(await large.deliver(true), "200 queued");
  await until((s) => s.calls[id]?.length === 1, "the consumer");
});
