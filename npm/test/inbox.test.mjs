// Inbox mode in Node (issue 23): every inbox vector through the Node middleware and through
// createHandler, the same answers and states as the Rust reference; memoryInbox's worker pass,
// replay and purge; inbox options checked at creation.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as telhook from "telhook";
import { loadInboxVectors } from "./load-vectors.mjs";
import { runInboxVector } from "./inbox-vectors.mjs";
import { nodeMiddlewareAdapter } from "./node-adapter.mjs";
import { fetchHandlerAdapter } from "./handler-vectors.mjs";

const vectors = loadInboxVectors();

export function assertInboxRun(name, run, where) {
  for (const step of run.steps) assert.deepStrictEqual(step.actual, step.expect, `${name} step ${step.index} (${where})`);
  assert.equal(run.handler_calls, run.expect_handler_calls, `${name}: handler calls (${where})`);
}

test("every inbox vector: the Node middleware and createHandler answer and store as the Rust reference", async () => {
  assert.ok(vectors.length >= 35, `only ${vectors.length} inbox vectors`);
  for (const { name, vector } of vectors) {
    const node = await runInboxVector(telhook, vector, nodeMiddlewareAdapter(telhook));
    assertInboxRun(name, node, "Node middleware");
    const fetchRun = await runInboxVector(telhook, vector, fetchHandlerAdapter(telhook));
    assertInboxRun(name, fetchRun, "createHandler in Node");
  }
});

test("memoryInbox: work, backoff, dead after max_attempts, replay, purge after the retention", async () => {
  let now = 1_769_000_000;
  const inbox = telhook.memoryInbox({ clock: () => now, policy: { max_attempts: 2, backoff_secs: 10, retention_secs: 60 } });
  assert.equal(inbox.enqueue("k1", { id: "k1" }, 30), "new");
  assert.equal(inbox.enqueue("k1", { id: "k1" }, 30), "duplicate");
  assert.equal(inbox.enqueue("k2", { id: "k2" }, 30), "new");
  const seen = [];
  const failing = new Set(["k1"]);
  const handler = async (event) => {
    seen.push(event.id);
    if (failing.has(event.id)) throw new TypeError("no such customer");
  };
  assert.equal(await inbox.work(handler), 2);
  let [first, second] = inbox.entries();
  assert.deepStrictEqual([first.state, first.attempts, first.run_at - now], ["failed", 1, 10]);
  assert.deepStrictEqual([first.last_error_code, first.last_error_message], ["TypeError", "no such customer"]);
  assert.equal(second.state, "done");
  now += 9;
  assert.equal(await inbox.work(handler), 0);
  assert.equal(inbox.retryNow(second.id), false); // done: replay it instead
  assert.equal(inbox.retryNow(first.id), true); // backing off: due now, attempts kept
  assert.deepStrictEqual([inbox.entries()[0].run_at, inbox.entries()[0].attempts], [now, 1]);
  assert.equal(await inbox.work(handler), 1);
  assert.equal(inbox.entries()[0].state, "dead");
  // The key outlives nothing but its window: the same key 30 s later is a new event.
  now += 21;
  assert.equal(inbox.enqueue("k1", { id: "k1" }, 30), "new");
  failing.clear();
  assert.equal(inbox.replay(first.id), true);
  assert.equal(await inbox.work(handler), 2);
  [first, second] = inbox.entries();
  assert.deepStrictEqual(inbox.entries().map((e) => e.state), ["done", "done", "done"]);
  assert.deepStrictEqual(seen, ["k1", "k2", "k1", "k1", "k1"]);
  now += 60;
  assert.equal(inbox.purge(), 3);
  assert.deepStrictEqual(inbox.entries(), []);
});

test("memoryInbox: a handler that outlived its lease records nothing over the attempt that took its event over", async () => {
  // Review: settle stepped the event's current record, so a late failure of the first attempt
  // made the second attempt's event failed (due again while the second still ran: a third run).
  let now = 1_769_000_000;
  const inbox = telhook.memoryInbox({ clock: () => now, policy: { lease_secs: 30 } });
  assert.equal(inbox.enqueue("k", { id: "k" }, 300), "new");
  const first = inbox.claim();
  now += 31; // past the lease: another pass takes the event over
  const second = inbox.claim();
  assert.deepStrictEqual([first.attempts, second.attempts], [1, 2]);
  assert.equal(inbox.fail(first, new Error("late")), "not_processing");
  assert.equal(inbox.succeed(first), "not_processing");
  assert.deepStrictEqual([inbox.entries()[0].state, inbox.entries()[0].attempts], ["processing", 2]);
  assert.equal(inbox.claim(), null); // not due again while the second attempt holds it
  assert.equal(inbox.succeed(second), "done");
});

test("onOutcome: called after each attempt with provider, type and state (counters); a throwing hook changes nothing", async () => {
  let now = 1_769_000_000;
  const outcomes = [];
  const inbox = telhook.memoryInbox({
    clock: () => now,
    policy: { max_attempts: 2, backoff_secs: 5 },
    onOutcome: (...args) => {
      outcomes.push(args);
      throw new Error("a broken counter");
    },
  });
  const event = { id: "lisoloo:e", provider: "lisoloo", type: "message.status" };
  inbox.enqueue(event.id, event, 60);
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args[0]);
  try {
    assert.equal(await inbox.work(() => { throw new RangeError("down"); }), 1);
    now += 5;
    assert.equal(await inbox.work(() => { throw new RangeError("down"); }), 1);
    assert.equal(inbox.replay(1), true);
    assert.equal(await inbox.work(() => {}), 1);
  } finally {
    console.error = original;
  }
  assert.deepStrictEqual(outcomes, [
    ["lisoloo", "message.status", "failed"],
    ["lisoloo", "message.status", "dead"],
    ["lisoloo", "message.status", "done"],
  ]);
  assert.equal(errors.length, 3);
  assert.throws(() => telhook.memoryInbox({ onOutcome: 1 }), /onOutcome must be a function/);
  // BullMQ's processor reports the same states, the last attempt as dead.
  const bull = telhook.bullmqInbox({ add: async () => ({}) }, { policy: { max_attempts: 2 }, onOutcome: (...args) => outcomes.push(args) });
  const processor = bull.processor(async () => { throw new Error("x"); });
  await assert.rejects(processor({ data: { key: "k", event }, attemptsMade: 0 }));
  await assert.rejects(processor({ data: { key: "k", event }, attemptsMade: 1 }));
  await bull.processor(async () => {})({ data: { key: "k", event }, attemptsMade: 0 });
  assert.deepStrictEqual(outcomes.slice(3).map((o) => o[2]), ["failed", "dead", "done"]);
});

test("inbox options are checked at creation", () => {
  const base = { provider: "lisoloo", credentials: { basic: { username: "u", password: "p" } } };
  assert.throws(() => telhook.memoryInbox({ policy: { max_attempts: 0 } }), (e) => e.code === "invalid_option" && e.field === "max_attempts");
  assert.throws(() => telhook.inboxPolicy({ retries: 3 }), (e) => e.code === "invalid_option" && e.field === "retries");
  assert.throws(() => telhook.createHandler({ ...base, inbox: {} }), /inbox must have enqueue/);
  assert.throws(() => telhook.createHandler({ ...base, inbox: telhook.memoryInbox(), onEvent() {} }), /leave out store, onEvent/);
  assert.throws(() => telhook.createNodeMiddleware({ ...base, inbox: telhook.memoryInbox(), store: null }), /leave out store/);
  assert.throws(() => telhook.createHandler(base), /onEvent must be a function/);
  assert.throws(() => telhook.queueInbox({}, {}), /Queue producer binding/);
  assert.throws(() => telhook.queueInbox({ send() {} }, {}), /dedupe must be a store/);
  // The backoff the engines ask of the core: 30 s doubling, at most 3600 s, null when dead.
  const waits = [1, 2, 3, 7, 8].map((attempts) => telhook.inboxRetryDelaySecs({}, attempts));
  assert.deepStrictEqual(waits, [30, 60, 120, 1920, null]);
});

test("inbox mode: an enqueue that does not answer within storeDeadlineMs is 503, and onError is told", async () => {
  const { vector } = vectors.find((v) => v.name === "lisoloo_queued_then_processed_once.json");
  const reports = [];
  const handler = telhook.createHandler({
    provider: vector.provider,
    credentials: vector.credentials,
    clock: () => vector.now,
    inbox: { enqueue: () => new Promise(() => {}) },
    storeDeadlineMs: 100,
    onError: (error, info) => reports.push({ message: error?.message, ...info }),
  });
  const deliver = vector.steps[0].deliver;
  const response = await handler(new Request(deliver.url ?? "https://hooks.test/hook", { method: "POST", headers: deliver.headers, body: deliver.body }));
  assert.deepStrictEqual([response.status, await response.json()], [503, { error: "dedupe_unavailable" }]);
  assert.equal(reports.length, 1);
  assert.match(reports[0].message, /inbox\.enqueue did not answer within 100 ms/);
  assert.match(reports[0].note, /did not answer within store_deadline_ms \(the event may be stored all the same/);
});

test("queueInbox: a claim that landed but answered with an error is released, so the provider's retry is queued, not refused for the whole sending lease (review)", async () => {
  const dedupe = telhook.memoryStore({ clock: () => 1_769_000_000 });
  let claims = 0;
  const landsThenFails = {
    claim: (...args) => {
      const state = dedupe.claim(...args);
      if ((claims += 1) === 1) throw new Error("the store recorded it, then its answer was lost");
      return state;
    },
    complete: (...args) => dedupe.complete(...args),
    release: (...args) => dedupe.release(...args),
  };
  const sent = [];
  const inbox = telhook.queueInbox({ send: async (body) => void sent.push(body) }, { dedupe: landsThenFails });
  const alive = setInterval(() => {}, 1000); // the releases' timers are unref'd
  try {
    await assert.rejects(inbox.enqueue("k", { id: "k" }, 30), /answer was lost/);
  } finally {
    clearInterval(alive);
  }
  assert.equal(await inbox.enqueue("k", { id: "k" }, 30), "new");
  assert.equal(sent.length, 1);
});

test("queueInbox: claim, send, done for the dedupe window; a failed send releases the claim; a copy during the send is 503", async () => {
  let now = 1_769_000_000;
  const dedupe = telhook.memoryStore({ clock: () => now });
  const sent = [];
  let failSend = false;
  let hold = null;
  const queue = {
    async send(body) {
      if (failSend) throw new Error("the queue is down");
      if (hold !== null) await hold;
      sent.push(body);
    },
  };
  const inbox = telhook.queueInbox(queue, { dedupe });
  const event = { id: "k" };
  failSend = true;
  await assert.rejects(inbox.enqueue("k", event, 30), /the queue is down/);
  failSend = false;
  assert.equal(await inbox.enqueue("k", event, 30), "new"); // the retry is stored
  assert.equal(await inbox.enqueue("k", event, 30), "duplicate");
  assert.deepStrictEqual(sent, [{ key: "k", event, dedupe_ttl_secs: 30 }]); // the window goes with the event, for consumeInbox
  now += 30; // past the provider's dedupe window: the same key is a new event
  let release;
  hold = new Promise((resolve) => (release = resolve));
  const first = inbox.enqueue("k", event, 30);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await inbox.enqueue("k", event, 30), "in_progress"); // 503 delivery_in_progress, Retry-After
  release();
  assert.equal(await first, "new");
  assert.equal(sent.length, 2);
});

test("queueInbox: a send slower than the store deadline is answered 503 but kept alive, lands, and the retry is a duplicate (review)", async () => {
  // In workerd the request's end cancelled the pending send; its claim then turned every Telnyx
  // retry away for 120 s, longer than Telnyx retries: the event was lost.
  const { vector } = vectors.find((v) => v.name === "lisoloo_queued_then_processed_once.json");
  let now = vector.now;
  const dedupe = telhook.memoryStore({ clock: () => now });
  const sent = [];
  const leases = [];
  const recording = { ...dedupe, claim: (key, token, lease) => (leases.push(lease), dedupe.claim(key, token, lease)) };
  let slow = true;
  const queue = {
    async send(body) {
      if (slow) await new Promise((resolve) => setTimeout(resolve, 300));
      sent.push(body);
    },
  };
  const kept = [];
  const handler = telhook.createHandler({
    provider: vector.provider,
    credentials: vector.credentials,
    clock: () => now,
    inbox: telhook.queueInbox(queue, { dedupe: recording }),
    storeDeadlineMs: 100,
    onError: () => {},
  });
  const deliver = vector.steps[0].deliver;
  const request = () => new Request(deliver.url ?? "https://hooks.test/hook", { method: "POST", headers: deliver.headers, body: deliver.body });
  const ctx = { waitUntil: (promise) => kept.push(promise) };
  const first = await handler(request(), {}, ctx);
  assert.deepStrictEqual([first.status, await first.json()], [503, { error: "dedupe_unavailable" }]);
  assert.equal(kept.length, 1);
  await Promise.all(kept);
  assert.equal(sent.length, 1); // the send landed after the answer
  slow = false;
  const retry = await handler(request(), {}, ctx);
  assert.deepStrictEqual([retry.status, await retry.json()], [200, { outcome: "duplicate" }]);
  assert.equal(sent.length, 1);
  // The claim while sending is the provider's in-progress lease (each delivery's), not a fixed 120 s.
  const lease = telhook.retryPolicy(vector.provider).in_progress_lease_secs;
  assert.notEqual(lease, 120);
  assert.deepStrictEqual(leases, [lease, lease]);
  assert.equal(telhook.retryPolicy("telnyx").in_progress_lease_secs, 15);
});

test("consumeInbox with a store: one event sent twice (two messages, two ids) runs its handler once (review)", async () => {
  let now = 1_769_000_000;
  const store = telhook.memoryStore({ clock: () => now });
  const event = { id: "lisoloo:e1", provider: "lisoloo", type: "message.status" };
  const acks = [];
  const message = (id) => ({ id, attempts: 1, body: { key: "lisoloo:e1", event }, ack: () => acks.push(id), retry: () => acks.push(`retry ${id}`) });
  const ran = [];
  const counts = await telhook.consumeInbox({ messages: [message("m1"), message("m2")] }, {}, (e) => ran.push(e.id), {}, { store });
  assert.deepStrictEqual(counts, { acked: 2, retried: 0 });
  assert.deepStrictEqual(ran, ["lisoloo:e1"]);
  assert.deepStrictEqual(acks, ["m1", "m2"]);
});

test("consumeInbox with a store: a done mark that fails (a store outage) is tried again before the batch ends, so the event's second message is a duplicate, not a second run after the lease", async () => {
  let now = 1_769_000_000;
  const inner = telhook.memoryStore({ clock: () => now });
  let outage = 2;
  const completes = [];
  const store = {
    claim: (...args) => inner.claim(...args),
    complete: async (...args) => {
      completes.push(args[0]);
      // The event's own key (a second message of the event has another id).
      if (args[0] === "telhook-inbox:lisoloo:e1" && outage-- > 0) throw new Error("connection reset");
      return inner.complete(...args);
    },
    release: (...args) => inner.release(...args),
  };
  // Received now (the window left is counted on the host's clock), the store on a clock of its own.
  const event = { id: "lisoloo:e1", provider: "lisoloo", type: "message.status", received_at: new Date().toISOString() };
  const message = (id) => ({ id, attempts: 1, timestamp: new Date(), body: { key: "lisoloo:e1", event, dedupe_ttl_secs: 86_400 }, ack() {}, retry() {} });
  const ran = [];
  const alive = setInterval(() => {}, 1000); // the tries' timers are unref'd
  try {
    await telhook.consumeInbox({ messages: [message("m1")] }, {}, (e) => ran.push(e.id), {}, { store });
  } finally {
    clearInterval(alive);
  }
  assert.equal(outage, -1, "the event key's done mark tried until it held");
  now += 400; // past the lease: a claim left bare would be taken again
  await telhook.consumeInbox({ messages: [message("m2")] }, {}, (e) => ran.push(e.id), {}, { store });
  assert.deepStrictEqual(ran, ["lisoloo:e1"]);
});

test("consumeInbox with a store: a done mark whose store never answers is tried again within the core's store deadline, so the batch ends and the mark holds (its tries had no deadline: one hung call hung the consumer)", async () => {
  let now = 1_769_000_000;
  const inner = telhook.memoryStore({ clock: () => now });
  let hangs = 2; // the done mark's own call and its first try never answer
  const store = {
    claim: (...args) => inner.claim(...args),
    complete: (...args) => {
      if (args[0] === "telhook-inbox:lisoloo:e2" && hangs-- > 0) return new Promise(() => {});
      return inner.complete(...args);
    },
    release: (...args) => inner.release(...args),
  };
  const event = { id: "lisoloo:e2", provider: "lisoloo", type: "message.status", received_at: new Date().toISOString() };
  const message = (id) => ({ id, attempts: 1, timestamp: new Date(), body: { key: "lisoloo:e2", event, dedupe_ttl_secs: 86_400 }, ack() {}, retry() {} });
  const ran = [];
  const alive = setInterval(() => {}, 1000); // the tries' timers are unref'd
  const started = Date.now();
  try {
    await telhook.consumeInbox({ messages: [message("m1")] }, {}, (e) => ran.push(e.id), {}, { store });
  } finally {
    clearInterval(alive);
  }
  // The mark (1 s deadline), its try at +0 (1 s), its try at +1 s: about 3 s.
  assert.ok(Date.now() - started < 10_000, "the batch ended");
  assert.equal(hangs, -1, "each hung call abandoned at its deadline, and tried again until one held");
  now += 400;
  await telhook.consumeInbox({ messages: [message("m2")] }, {}, (e) => ran.push(e.id), {}, { store });
  assert.deepStrictEqual(ran, ["lisoloo:e2"]);
});

test("consumeInbox with a store: a message delivered again is acked, one event's second message within its dedupe window too, and the same key after the window is a new event (the DID reseller's change made again) that runs (review)", async () => {
  let now = 1_769_000_000;
  const store = telhook.memoryStore({ clock: () => now });
  const event = { id: "did_reseller:k1", provider: "did_reseller", type: "record.updated" };
  const acks = [];
  // queueInbox sends the event's dedupe window with it: 30 s for the DID reseller.
  const message = (id) => ({ id, attempts: 1, body: { key: "did_reseller:k1", event, dedupe_ttl_secs: 30 }, ack: () => acks.push(id), retry: () => acks.push(`retry ${id}`) });
  const ran = [];
  const consume = (id) => telhook.consumeInbox({ messages: [message(id)] }, {}, (e) => ran.push(e.id), {}, { store });
  await consume("m1");
  now += 10;
  await consume("m1"); // the Queue delivers m1 again: acked, not run
  await consume("m2"); // a second message of the event within its window: acked, not run
  now += 60;
  await consume("m1"); // m1 again, past the event's window: its own id is still done
  await consume("m3"); // the same change made again, a new message: a new event, run
  assert.deepStrictEqual(ran, ["did_reseller:k1", "did_reseller:k1"]);
  assert.deepStrictEqual(acks, ["m1", "m1", "m2", "m1", "m3"]);
  // A message without the window (sent by an older queueInbox) takes its provider's.
  const old = { id: "m4", attempts: 1, body: { key: "did_reseller:k1", event }, ack: () => acks.push("m4"), retry: () => {} };
  now += 60;
  await telhook.consumeInbox({ messages: [old] }, {}, (e) => ran.push(e.id), {}, { store });
  assert.equal(ran.length, 3);
});

test("consumeInbox with a store: the event's window is counted from its receipt, not from its handler's end, so the DID reseller's change made again after a late first run runs (review)", async () => {
  // The first message ran late (its first attempt failed, the retry ran 32 s after receipt): a
  // 30 s mark from the handler's end acked the real repeat received at 33 s without running it.
  const store = telhook.memoryStore();
  const at = (secondsAgo) => new Date(Date.now() - secondsAgo * 1000).toISOString();
  const event = (receivedAt) => ({ id: "did_reseller:k2", provider: "did_reseller", type: "record.updated", received_at: receivedAt });
  const acks = [];
  const message = (id, body) => ({ id, attempts: 1, body, ack: () => acks.push(id), retry: () => acks.push(`retry ${id}`) });
  const ran = [];
  const consume = (id, body) => telhook.consumeInbox({ messages: [message(id, body)] }, {}, (e) => ran.push(e.received_at), {}, { store });
  const late = event(at(32));
  await consume("m1", { key: "did_reseller:k2", event: late, dedupe_ttl_secs: 30 });
  const repeat = event(at(0));
  await consume("m2", { key: "did_reseller:k2", event: repeat, dedupe_ttl_secs: 30 });
  assert.deepStrictEqual(ran, [late.received_at, repeat.received_at]);
  // The repeat ran in time: its key is done for the rest of its window, and a second message of
  // it (a send that failed after the Queue stored it, then the provider's retry) is acked.
  await consume("m3", { key: "did_reseller:k2", event: repeat, dedupe_ttl_secs: 30 });
  assert.equal(ran.length, 2);
  assert.deepStrictEqual(acks, ["m1", "m2", "m3"]);
});

test("consumeInbox: a handler that calls message.retry() failed: its message is retried with its options and its claims released, so the retry runs it (review)", async () => {
  const store = telhook.memoryStore({ clock: () => 1_769_000_000 });
  const event = { id: "limephone:e9", provider: "limephone", type: "sms.received" };
  const calls = [];
  const message = (attempts) => ({ id: "m1", attempts, body: { key: "limephone:e9", event, dedupe_ttl_secs: 86_400 }, ack: () => calls.push(`ack ${attempts}`), retry: (o) => calls.push(`retry ${attempts} ${JSON.stringify(o)}`) });
  const ran = [];
  const handler = (e, { message }) => {
    ran.push(message.attempts);
    if (message.attempts === 1) message.retry({ delaySeconds: 7 });
    else message.ack();
  };
  const first = await telhook.consumeInbox({ messages: [message(1)] }, {}, handler, {}, { store });
  const second = await telhook.consumeInbox({ messages: [message(2)] }, {}, handler, {}, { store });
  assert.deepStrictEqual([first, second], [{ acked: 0, retried: 1 }, { acked: 1, retried: 0 }]);
  assert.deepStrictEqual(ran, [1, 2]);
  assert.deepStrictEqual(calls, ['retry 1 {"delaySeconds":7}', "ack 2"]);
});

test("bullmqInbox processor: the handler's value never reaches BullMQ, and a non-Error rejection is an Error (review)", async () => {
  const inbox = telhook.bullmqInbox({ add() {} }, { policy: { max_attempts: 3 } });
  const job = { data: { key: "k", event: { id: "k" } }, attemptsMade: 0 };
  const circular = {};
  circular.self = circular;
  for (const returned of [10n, circular, "ok"]) {
    assert.equal(await inbox.processor(async () => returned)(job), undefined);
  }
  for (const thrown of [undefined, null, "text"]) {
    await assert.rejects(inbox.processor(() => Promise.reject(thrown))(job), (error) => error instanceof Error && error.cause === thrown && /non-Error value/.test(error.message));
  }
  const original = new RangeError("no such customer");
  await assert.rejects(inbox.processor(async () => { throw original; })(job), (error) => error === original);
});

test("bullmqInbox: backoffStrategy answers -1 (BullMQ's no retry) past the policy's last attempt, and a Worker without it is told once (review)", async () => {
  const inbox = telhook.bullmqInbox({ add: async () => ({}) }, { policy: { max_attempts: 3, backoff_secs: 1, max_backoff_secs: 4 } });
  assert.deepStrictEqual([1, 2, 3].map((n) => inbox.backoffStrategy(n)), [1000, 2000, -1]);
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args.join(" "));
  try {
    const processor = inbox.processor(async () => {});
    const job = { data: { event: { id: "lisoloo:x", provider: "lisoloo", type: "message.status" } }, attemptsMade: 0, opts: { attempts: 3 }, queue: { opts: { settings: {} } } };
    await processor(job);
    await processor(job);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /no settings\.backoffStrategy/);
    errors.length = 0;
    await inbox.processor(async () => {})({ ...job, queue: { opts: { settings: { backoffStrategy: inbox.backoffStrategy } } } });
    assert.deepStrictEqual(errors, []);
  } finally {
    console.error = original;
  }
});

test("bullmqInbox: an event BullMQ will not retry (UnrecoverableError, the Worker's maxStartedAttempts) is reported dead, not failed (review)", async () => {
  const outcomes = [];
  const inbox = telhook.bullmqInbox({ add: async () => ({}) }, { policy: { max_attempts: 8 }, onOutcome: (_p, _t, state) => outcomes.push(state) });
  const event = { id: "lisoloo:u", provider: "lisoloo", type: "message.status" };
  const job = (extra) => ({ data: { event }, attemptsMade: 0, attemptsStarted: 1, opts: { attempts: 8 }, queue: { opts: { settings: { backoffStrategy: inbox.backoffStrategy } } }, ...extra });
  class UnrecoverableError extends Error {
    name = "UnrecoverableError";
  }
  await assert.rejects(inbox.processor(async () => { throw new UnrecoverableError("bad input"); })(job({})));
  await assert.rejects(inbox.processor(async () => { throw new Error("down"); })(job({ queue: { opts: { maxStartedAttempts: 1, settings: { backoffStrategy: inbox.backoffStrategy } } } })));
  await assert.rejects(inbox.processor(async () => { throw new Error("down"); })(job({})));
  assert.deepStrictEqual(outcomes, ["dead", "dead", "failed"]);
});

// A Queue and an R2 bucket as Cloudflare's limits make them: a message over 128,000 bytes as
// sent (JSON) is refused.
function limitedQueue() {
  const sent = [];
  return {
    sent,
    async send(body, options) {
      const bytes = Buffer.byteLength(JSON.stringify(body));
      if (options?.contentType !== "json") throw new Error("sent as v8, its size unknown before");
      if (bytes > 128_000) throw new Error(`Queue send failed: message length of ${bytes} bytes exceeds limit of 128000`);
      sent.push(JSON.parse(JSON.stringify(body)));
    },
  };
}
function memoryBucket() {
  const objects = new Map();
  return {
    objects,
    async put(key, value) { objects.set(key, value); },
    async get(key) { return objects.has(key) ? { text: async () => objects.get(key) } : null; },
    async delete(key) { objects.delete(key); },
  };
}

test("queueInbox measures the message as sent: a key of control characters (six bytes each in JSON) near the limit goes to the overflow bucket (review)", async () => {
  const dedupe = telhook.memoryStore({ clock: () => 1_769_000_000 });
  const queue = limitedQueue();
  const bucket = memoryBucket();
  const inbox = telhook.queueInbox(queue, { dedupe, overflow: bucket });
  const key = `limephone:sms_sent:ctl-${"\u0001".repeat(400)}`;
  // The event (which holds the key as its id, escaped) is 125,800 bytes as JSON: with the key
  // counted raw beside it the message looked under the limit, as sent (the key escaped) it is over.
  const bare = JSON.stringify({ id: key, raw: { text: "" } }).length;
  const event = { id: key, raw: { text: "x".repeat(125_800 - bare) } };
  assert.ok(JSON.stringify(event).length + 2 * Buffer.byteLength(key) + 64 < 128_000 - 1_024);
  assert.ok(Buffer.byteLength(JSON.stringify({ key, event, dedupe_ttl_secs: 30 })) > 128_000);
  assert.equal(await inbox.enqueue(key, event, 30), "new");
  assert.equal(queue.sent.length, 1);
  assert.equal(typeof queue.sent[0].event_object, "string", "sent inline, past the limit");
  assert.deepStrictEqual(JSON.parse(bucket.objects.get(queue.sent[0].event_object)), event);
});

test("queueInbox sends inline a message of exactly the limit as sent (128,000 less 1,024 bytes of JSON) and overflows one byte more, whatever the text holds", async () => {
  const limit = 128_000 - 1_024;
  for (const pad of ["x", "\u00e9", "\u2028", "\u0001", "\u{1F600}", '"\\']) {
    for (const target of [limit, limit + 1]) {
      const key = `limephone:sms_sent:${pad}`;
      const messageBytes = (event) => Buffer.byteLength(JSON.stringify({ key, event, dedupe_ttl_secs: 30 }));
      const eventWith = (filler) => ({ id: key, n: -0, big: 1e21, list: [null, true, 0.1], raw: { text: pad.repeat(5_000) + "x".repeat(filler) } });
      const event = eventWith(target - messageBytes(eventWith(0)));
      assert.equal(messageBytes(event), target);
      const queue = limitedQueue();
      const bucket = memoryBucket();
      const inbox = telhook.queueInbox(queue, { dedupe: telhook.memoryStore({ clock: () => 1_769_000_000 }), overflow: bucket });
      assert.equal(await inbox.enqueue(key, event, 30), "new");
      const [sent] = queue.sent;
      if (target === limit) {
        assert.deepStrictEqual(sent, JSON.parse(JSON.stringify({ key, event, dedupe_ttl_secs: 30 })), `pad ${JSON.stringify(pad)}: inline`);
      } else {
        assert.equal(typeof sent.event_object, "string", `pad ${JSON.stringify(pad)}: one byte past the limit sent inline`);
        assert.deepStrictEqual(JSON.parse(bucket.objects.get(sent.event_object)), JSON.parse(JSON.stringify(event)));
      }
    }
  }
});

test("consumeInbox deletes an overflowed message's object when its event was handled already (the event sent twice, review)", async () => {
  const store = telhook.memoryStore();
  const bucket = memoryBucket();
  const event = { id: "limephone:sms_sent:twice", provider: "limephone", received_at: new Date().toISOString() };
  bucket.objects.set("telhook-inbox/a", JSON.stringify(event));
  bucket.objects.set("telhook-inbox/b", JSON.stringify(event));
  const runs = [];
  const outcomes = [];
  const message = (id, object) => ({
    id, body: { key: event.id, event_object: object, dedupe_ttl_secs: 30 }, attempts: 1,
    ack: () => outcomes.push(`ack ${id}`), retry: () => outcomes.push(`retry ${id}`),
  });
  const batch = { queue: "q", messages: [message("m1", "telhook-inbox/a"), message("m2", "telhook-inbox/b")] };
  await telhook.consumeInbox(batch, {}, (e) => runs.push(e.id), {}, { store, overflow: bucket });
  assert.deepStrictEqual(runs, [event.id]);
  assert.deepStrictEqual(outcomes, ["ack m1", "ack m2"]);
  assert.deepStrictEqual([...bucket.objects.keys()], []);
});

test("consumeInbox: a handler that calls both message.retry() and message.ack(), in either order, has failed: the message is retried with the handler's options and its key released (README)", async () => {
  const store = telhook.memoryStore({ clock: () => 1_769_000_000 });
  const event = { id: "lisoloo:both", provider: "lisoloo", type: "message.status" };
  const calls = [];
  const message = (id) => ({ id, attempts: 1, body: { key: event.id, event }, ack: () => calls.push(`ack ${id}`), retry: (o) => calls.push(`retry ${id} ${JSON.stringify(o)}`) });
  const handler = (_event, { message: own }) => {
    if (own.id === "m1") { own.retry({ delaySeconds: 7 }); own.ack(); } else { own.ack(); own.retry({ delaySeconds: 9 }); }
  };
  const counts = await telhook.consumeInbox({ messages: [message("m1"), message("m2")] }, {}, handler, {}, { store });
  assert.deepStrictEqual(counts, { acked: 0, retried: 2 });
  assert.deepStrictEqual(calls, ['retry m1 {"delaySeconds":7}', 'retry m2 {"delaySeconds":9}']);
});

test("a store may be a function with the methods (workerd's RPC stub of an RpcTarget is one; a class with static methods): accepted by every constructor (review)", async () => {
  const calls = [];
  const store = Object.assign(function rpcStub() {}, {
    claim: async () => (calls.push("claim"), "new"), complete: async () => void calls.push("complete"), release: async () => void calls.push("release"),
  });
  assert.equal(typeof store, "function");
  const handler = telhook.createHandler({ provider: "lisoloo", credentials: { basic: { username: "u", password: "p" } }, store, onEvent: () => {} });
  assert.equal(typeof handler, "function");
  const inbox = telhook.queueInbox({ send: async () => {} }, { dedupe: store });
  assert.equal(await inbox.enqueue("lisoloo:k", { id: "lisoloo:k" }, 30), "new");
  assert.deepStrictEqual(calls, ["claim", "complete"]);
  await telhook.consumeInbox({ messages: [] }, {}, () => {}, {}, { store });
});
