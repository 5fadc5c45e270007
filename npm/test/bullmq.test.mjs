// The BullMQ inbox on a real redis-server (issue 23). Through the Node middleware behind
// node:http: EVENTS deliveries (TELHOOK_INBOX_EVENTS, default 200; `make soak` runs 1,000), each
// signed by telhook/testing, a tenth of them delivered twice; a 3 s handler (TELHOOK_INBOX_HANDLER_MS;
// `make soak` runs 10 s: every answer is still sent long before any handler ends); 4 BullMQ Workers
// processes (test/bullmq-worker.mjs, concurrency 64 each) in which a tenth of the handler attempts fail.
// Every answer must be 200 within 100 ms (p99, asserted at 1,000 events — `make soak`; in `make
// test` reported, and bounded by 1 s), every event stored once
// and processed (handler returned) exactly once, every failed attempt retried after the core's
// backoff. Then a handler that always fails: dead (BullMQ's failed set) after max_attempts, and
// replayed with job.retry() once fixed; and a worker SIGKILLed mid-handler: another worker
// handles the event once the lock (the lease) runs out.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import * as telhook from "telhook";
import { signedRequest } from "telhook/testing";
import { startRedis } from "./redis-server.mjs";

const EVENTS = Number(process.env.TELHOOK_INBOX_EVENTS ?? 200);
const HANDLER_MS = Number(process.env.TELHOOK_INBOX_HANDLER_MS ?? 3_000);
const WORKERS = 4;
const IN_FLIGHT = Number(process.env.TELHOOK_INBOX_IN_FLIGHT ?? 4); // deliveries sent at once
const POLICY = { max_attempts: 8, backoff_secs: 1, max_backoff_secs: 4 };
const credentials = { basic: { username: "hook", password: "inbox-test-password" } };

let redis;
let connection;
before(async () => {
  redis = await startRedis();
  connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
});
after(async () => {
  await redis?.stop();
});

/**
 * A node:http server around the middleware in inbox mode; resolves to `{origin, answerMs,
 * close}`: `answerMs` holds, per POST, the server's time from the request to its answer sent.
 */
async function serve(inbox) {
  const middleware = telhook.createNodeMiddleware({ provider: "lisoloo", credentials, inbox });
  const answerMs = [];
  const server = http.createServer((req, res) => {
    const started = performance.now();
    if (req.method === "POST") res.once("finish", () => answerMs.push(performance.now() - started));
    middleware(req, res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, answerMs, close: () => new Promise((resolve) => server.close(resolve)) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
/** POSTs one signed request; resolves to `{status, outcome, ms}`. */
function post(origin, request) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${origin}${request.url}`, { method: "POST", headers: request.headers, agent }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => {
        const body = JSON.parse(text);
        resolve({ status: res.statusCode, outcome: body.outcome ?? body.error, ms: performance.now() - started });
      });
    });
    req.on("error", reject);
    req.end(request.body);
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

test(`BullMQ inbox: ${EVENTS} deliveries answered 200 within 100 ms while a ${HANDLER_MS / 1000} s handler runs in ${WORKERS} worker processes; a tenth of attempts fail; each event processed once`, async () => {
  const name = `telhook-load-${process.pid}`;
  const queue = new Queue(name, { connection });
  const inbox = telhook.bullmqInbox(queue, { policy: POLICY });
  const done = new Map(); // event id -> successful handler runs
  const attempts = new Map(); // event id -> attempt numbers seen
  let allDone, warmedUp, warmUpId;
  const finished = new Promise((resolve) => (allDone = resolve));
  const warm = new Promise((resolve) => (warmedUp = resolve));
  const env = { ...process.env, REDIS_PORT: String(redis.port), QUEUE: name, HANDLER_MS: String(HANDLER_MS), POLICY: JSON.stringify(POLICY), CONCURRENCY: "64" };
  const workers = Array.from({ length: WORKERS }, () => fork(fileURLToPath(new URL("./bullmq-worker.mjs", import.meta.url)), { env }));
  const ready = workers.map((child) => new Promise((resolve) => child.on("message", (m) => m.kind === "ready" && resolve())));
  for (const child of workers) {
    child.on("message", ({ kind, id, attempt }) => {
      if (id === warmUpId) {
        if (kind === "done") warmedUp();
      } else if (kind === "attempt") {
        attempts.set(id, [...(attempts.get(id) ?? []), attempt]);
      } else if (kind === "done") {
        done.set(id, (done.get(id) ?? 0) + 1);
        if (done.size === EVENTS) allDone();
      }
    });
  }
  await Promise.all(ready);
  const server = await serve(inbox);
  try {
    // Warm up as a running receiver and its workers are: one delivery received, enqueued and
    // handled (Redis connected, BullMQ's scripts loaded, the receive path's wasm compiled), the
    // keep-alive connections open (a GET each, answered 405).
    const warmUp = signedRequest("lisoloo", { credentials });
    warmUpId = `lisoloo:${JSON.parse(Buffer.from(warmUp.body).toString()).event_id}`;
    assert.equal((await post(server.origin, warmUp)).outcome, "queued");
    await warm;
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => new Promise((resolve, reject) => {
      http.get(`${server.origin}/hook`, { agent }, (res) => res.resume().on("end", resolve)).on("error", reject);
    })));
    const requests = Array.from({ length: EVENTS }, () => signedRequest("lisoloo", { credentials }));
    // A tenth redelivered at once: the provider's retry (not a new event).
    const deliveries = [...requests, ...requests.filter((_, i) => i % 10 === 0)];
    const started = Date.now();
    server.answerMs.length = 0;
    const results = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < deliveries.length) {
          const index = next++;
          results[index] = await post(server.origin, deliveries[index]);
        }
      }),
    );
    const outcomes = results.reduce((counts, r) => ({ ...counts, [`${r.status} ${r.outcome}`]: (counts[`${r.status} ${r.outcome}`] ?? 0) + 1 }), {});
    assert.deepStrictEqual(outcomes, { "200 queued": EVENTS, "200 duplicate": deliveries.length - EVENTS });
    // The answer time at the server (request in, answer sent) and the round trip at the client
    // (which shares this process, and its CPU, with the server).
    const stats = (values) => {
      const sorted = [...values].sort((x, y) => x - y);
      return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
    };
    const answered = stats(server.answerMs);
    const roundTrip = stats(results.map((r) => r.ms));
    const show = ({ p50, p99, max }) => `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`;
    console.log(
      `# BullMQ inbox, ${deliveries.length} deliveries (${EVENTS} events + ${deliveries.length - EVENTS} redeliveries, ${IN_FLIGHT} in flight), ${HANDLER_MS} ms handler: ` +
        `answered in ${show(answered)} (client round trip ${show(roundTrip)})`,
    );
    assert.equal(server.answerMs.length, deliveries.length);
    // The measured claim (p99 < 100 ms) is asserted by `make soak`'s 1,000-event run; in `make
    // test` (a shared, loaded machine) it is reported, and no answer may have waited for anything
    // like the handler.
    const bound = Number(process.env.TELHOOK_INBOX_P99_MS ?? (EVENTS >= 1000 ? 100 : 1000));
    assert.ok(answered.p99 < bound, `p99 ${answered.p99} ms (bound ${bound} ms)`);
    assert.ok(answered.max < HANDLER_MS / 2, `an answer took ${answered.max} ms`);
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`not all done: ${done.size}/${EVENTS}`)), 20 * HANDLER_MS + 120_000).unref());
    await Promise.race([finished, timeout]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a second run would have started by now
    const twice = [...done].filter(([, runs]) => runs !== 1);
    assert.deepStrictEqual(twice, [], "processed more than once");
    let failedAttempts = 0;
    for (const [id, seen] of attempts) {
      // Attempts 1..n in order, each failed but the last (BullMQ retried what the handler failed).
      assert.deepStrictEqual(seen, seen.map((_, i) => i + 1), id);
      failedAttempts += seen.length - 1;
    }
    const totalAttempts = [...attempts.values()].reduce((sum, seen) => sum + seen.length, 0);
    const retried = [...attempts.values()].filter((seen) => seen.length > 1).length;
    assert.equal(attempts.size, EVENTS);
    assert.ok(failedAttempts > 0);
    const counts = await queue.getJobCounts("completed", "failed", "waiting", "active", "delayed");
    assert.deepStrictEqual(counts, { completed: EVENTS + 1, failed: 0, waiting: 0, active: 0, delayed: 0 });
    console.log(
      `# BullMQ inbox: ${done.size} events done once each, ${((Date.now() - started) / 1000).toFixed(1)} s after the first delivery, by ${WORKERS} worker processes; ` +
        `${totalAttempts} attempts, ${failedAttempts} failed (${((100 * failedAttempts) / totalAttempts).toFixed(1)} %), ${retried} events retried, none run twice`,
    );
  } finally {
    await server.close();
    await Promise.all(workers.map((child) => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", resolve);
      child.send("close");
    })));
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

test("BullMQ inbox: the dedupe window is the provider's, not the job's life; a dead event is kept and replayed with job.retry()", async () => {
  const name = `telhook-dead-${process.pid}`;
  const queue = new Queue(name, { connection });
  const inbox = telhook.bullmqInbox(queue, { policy: { max_attempts: 3, backoff_secs: 1, max_backoff_secs: 1 } });
  const event = { id: "lisoloo:dead-letter-test" };
  assert.equal(await inbox.enqueue(event.id, event, 2), "new");
  assert.equal(await inbox.enqueue(event.id, event, 2), "duplicate");
  let fixed = false;
  const calls = [];
  const worker = new Worker(
    name,
    inbox.processor(async (seen, job) => {
      calls.push([seen.id, job.attemptsMade + 1, Date.now()]);
      if (!fixed) throw new TypeError("the handler is broken");
    }),
    { connection, concurrency: 4, settings: { backoffStrategy: inbox.backoffStrategy } },
  );
  try {
    const deadline = Date.now() + 20_000;
    while ((await queue.getJobCounts("failed")).failed === 0) {
      assert.ok(Date.now() < deadline, "never dead");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepStrictEqual(calls.map(([, attempt]) => attempt), [1, 2, 3]);
    // The core's backoff, 1 s: BullMQ waited that long before each retry.
    for (let i = 1; i < calls.length; i += 1) assert.ok(calls[i][2] - calls[i - 1][2] >= 950, `retry after ${calls[i][2] - calls[i - 1][2]} ms`);
    const [dead] = await queue.getJobs(["failed"]);
    assert.deepStrictEqual([dead.data.key, dead.attemptsMade, dead.failedReason], [event.id, 3, "the handler is broken"]);
    // Past the 2 s dedupe window the same key is a new event (a DID reseller's toggle).
    await new Promise((resolve) => setTimeout(resolve, 2100));
    // Replayed as the README says, with a fresh set of attempts (a bare retry() gave it one,
    // dead again at once: a review): its first fails, its second runs the fixed handler.
    setTimeout(() => (fixed = true), 500);
    await dead.retry("failed", { resetAttemptsMade: true });
    const until = Date.now() + 10_000;
    while ((await queue.getJobCounts("completed")).completed === 0) {
      assert.ok(Date.now() < until, "the replay never completed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepStrictEqual(calls.map(([, attempt]) => attempt), [1, 2, 3, 1, 2]);
    assert.equal(await inbox.enqueue(event.id, event, 2), "new");
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

test("BullMQ inbox: a Worker built with a smaller max_attempts than the web process's ends the event at its own last attempt, reported dead once (review)", async () => {
  // The web process enqueued with attempts 6; the Worker's backoffStrategy said dead after 2 and
  // answered 0, BullMQ's "retry at once": four more runs back to back, each reported dead.
  const name = `telhook-mismatch-${process.pid}`;
  const queue = new Queue(name, { connection });
  const web = telhook.bullmqInbox(queue, { policy: { max_attempts: 6, backoff_secs: 1 } });
  const outcomes = [];
  const worker_inbox = telhook.bullmqInbox(queue, { policy: { max_attempts: 2, backoff_secs: 1 }, onOutcome: (_p, _t, state) => outcomes.push(state) });
  assert.equal(await web.enqueue("lisoloo:mismatch", { id: "lisoloo:mismatch", provider: "lisoloo", type: "message.status" }, 60), "new");
  let runs = 0;
  const worker = new Worker(name, worker_inbox.processor(async () => {
    runs += 1;
    throw new Error("the downstream is down");
  }), { connection, settings: { backoffStrategy: worker_inbox.backoffStrategy } });
  try {
    const deadline = Date.now() + 10_000;
    while ((await queue.getJobCounts("failed")).failed === 0) {
      assert.ok(Date.now() < deadline, "never failed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // a retry at once would have run by now
    assert.equal(runs, 2);
    assert.deepStrictEqual(outcomes, ["failed", "dead"]);
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

test("BullMQ inbox: a worker SIGKILLed mid-handler — the event is handled after the lock (the lease) runs out, once", async () => {
  const name = `telhook-kill-${process.pid}`;
  const queue = new Queue(name, { connection });
  const inbox = telhook.bullmqInbox(queue, { policy: POLICY });
  const base = { ...process.env, REDIS_PORT: String(redis.port), QUEUE: name, POLICY: JSON.stringify(POLICY), CONCURRENCY: "1", FAIL_TENTH: "0", LOCK_MS: "2000", STALLED_MS: "500" };
  const start = (handlerMs) => {
    const child = fork(fileURLToPath(new URL("./bullmq-worker.mjs", import.meta.url)), { env: { ...base, HANDLER_MS: String(handlerMs) } });
    const seen = [];
    child.on("message", (m) => seen.push(m));
    const ready = new Promise((resolve) => child.on("message", (m) => m.kind === "ready" && resolve()));
    return { child, seen, ready };
  };
  const stop = (child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.send("close");
  });
  const first = start(60_000);
  let second;
  try {
    await first.ready;
    assert.equal(await inbox.enqueue("lisoloo:killed-mid-handler", { id: "lisoloo:killed-mid-handler" }, 60), "new");
    await waitFor(() => first.seen.some((m) => m.kind === "attempt"), "the first worker's attempt");
    first.child.kill("SIGKILL");
    const killedAt = Date.now();
    second = start(0);
    await second.ready;
    await waitFor(() => second.seen.some((m) => m.kind === "done"), "the second worker", 20_000);
    const after = Date.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepStrictEqual(second.seen.filter((m) => m.kind !== "ready").map((m) => m.kind), ["attempt", "done"]);
    assert.deepStrictEqual(await queue.getJobCounts("completed", "failed", "active", "wait"), { completed: 1, failed: 0, active: 0, wait: 0 });
    // Done, and still within its 60 s window: a redelivery is a duplicate (the key outlives the job's run).
    assert.equal(await inbox.enqueue("lisoloo:killed-mid-handler", { id: "lisoloo:killed-mid-handler" }, 60), "duplicate");
    console.log(`# BullMQ inbox: worker SIGKILLed mid-handler; the event was handled once by another worker ${after} ms later (lockDuration 2000 ms)`);
  } finally {
    if (second) await stop(second.child);
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

async function waitFor(predicate, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
