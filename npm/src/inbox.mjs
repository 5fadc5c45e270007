// The inbox (issue 23): accept fast, process later. In inbox mode the receive machine asks the
// inbox to `enqueue(key, event, dedupeTtlSecs)`: store the event AND claim its key for the
// provider's dedupe window in one atomic step, resolving to "new" or "duplicate". A worker
// processes what was stored, outside the provider's timeout. Every processing rule (what a
// claim, a success, a failure or a replay does to a stored event, the backoff, when it is dead)
// is the core's (core/src/inbox.rs, `inbox_step`): the engines below keep its columns or map
// them onto their own (a Cloudflare Queue's attempts and delays, BullMQ's attempts and backoff).
import { coreCall, hasMethods, optionsJson } from "./internal.mjs";
import { newDeliveryToken, orphanTries, withDeadline } from "./receive.mjs";

const policies = new Map();

/**
 * The inbox policy with its defaults filled in (`{max_attempts, lease_secs, backoff_secs,
 * max_backoff_secs, retention_secs}`), checked by the core: a bad or unknown option throws a
 * ConfigurationError (`invalid_option`) naming it.
 */
export function inboxPolicy(options = {}) {
  const json = optionsJson(options ?? {});
  let policy = policies.get(json);
  if (policy === undefined) {
    policy = Object.freeze(coreCall("inbox_policy", [JSON.parse(json)]));
    if (policies.size < 64) policies.set(json, policy);
  }
  return policy;
}

/** One step of the core's inbox rules: the next record, or the refusal's name. */
function inboxStep(policy, record, event, now) {
  return coreCall("inbox_step", [policy, record, event, now]);
}

/** A thrown value as the failed event the core records: the error's name as code, its message. */
function failedEvent(error) {
  const code = typeof error?.name === "string" && error.name !== "" ? error.name : typeof error;
  const message = typeof error?.message === "string" ? error.message : String(error);
  return { event: "failed", code, message };
}

/**
 * The wait (seconds) the core gives before the next attempt after failed attempt number
 * `attempts` (1-based), or null when that attempt was the last (the event is dead). Engines
 * that count attempts themselves (Cloudflare Queues, BullMQ) ask this of the core's rules.
 */
export function inboxRetryDelaySecs(policy, attempts, now = Math.floor(Date.now() / 1000)) {
  const checked = inboxPolicy(policy);
  const held = { ...coreCall("inbox_enqueued", [now]), state: "processing", attempts, run_at: now + checked.lease_secs };
  const { record } = inboxStep(checked, held, failedEvent({ name: "Error", message: "" }), now);
  return record.run_at === null ? null : record.run_at - now;
}

const secondsClock = (clock) => () => Math.floor(clock());

/**
 * An inbox in this process's memory: tests and a single long-lived process (what it holds is
 * lost with the process). `clock` returns UNIX seconds; `policy` as `inboxPolicy`.
 * `enqueue` is the receive path's step; `work(handler)` is one worker pass; `claim`,
 * `succeed(job)`, `fail(job, error)` are that pass's pieces; `replay(id)`, `retryNow(id)`, `purge()` and
 * `entries()` are the operator's.
 */
export function memoryInbox({ clock = () => Date.now() / 1000, policy = {}, onOutcome = null } = {}) {
  if (typeof clock !== "function") throw new TypeError("memoryInbox: clock must be a function returning UNIX seconds");
  const checked = inboxPolicy(policy);
  const report = outcomeReporter("memoryInbox", onOutcome);
  const now = secondsClock(clock);
  coreCall("check_now", [now()]);
  const keys = new Map(); // key -> until when a delivery of it is a duplicate (UNIX seconds)
  const entries = []; // {id, key, event, record}, in the order stored
  let lastId = 0;
  // The record each job was claimed with: an outcome is recorded over that record only. A
  // handler that outlived its lease, while another pass took its event over, records nothing
  // (compare and set, as the SQL inboxes write; the record's attempts alone repeat after a replay).
  const claimedWith = new WeakMap();
  const jobOf = (entry) => {
    const job = { id: entry.id, key: entry.key, event: entry.event, attempts: entry.record.attempts };
    claimedWith.set(job, entry.record);
    return job;
  };
  const settle = (job, event) => {
    const entry = entries.find((e) => e.id === job.id);
    if (entry === undefined) return "not_processing";
    if ((claimedWith.get(job) ?? entry.record) !== entry.record || entry.record.attempts !== job.attempts) {
      return "not_processing";
    }
    const result = inboxStep(checked, entry.record, event, now());
    if (result.refused !== undefined) return result.refused;
    entry.record = result.record;
    return entry.record.state;
  };
  const inbox = {
    policy: checked,
    enqueue(key, event, dedupeTtlSecs) {
      const at = now();
      const until = keys.get(key);
      if (until !== undefined && until > at) return "duplicate";
      keys.set(key, at + dedupeTtlSecs);
      lastId += 1;
      entries.push({ id: lastId, key, event, record: coreCall("inbox_enqueued", [at]) });
      return "new";
    },
    /** The first due event, claimed (processing, leased), or null: one call per handler run. */
    claim() {
      const at = now();
      for (const entry of entries) {
        const result = inboxStep(checked, entry.record, { event: "claimed" }, at);
        if (result.refused !== undefined) continue;
        entry.record = result.record;
        // A claim that finds no attempts left makes the event dead (its last worker died).
        if (entry.record.state === "processing") return jobOf(entry);
      }
      return null;
    },
    /** Records a claimed job's success; returns its state, or the core's refusal (the lease ran out). */
    succeed: (job) => settle(job, { event: "succeeded" }),
    /** Records a claimed job's failure (the error's name as code, its message). */
    fail: (job, error) => settle(job, failedEvent(error)),
    /**
     * One worker pass: every event due now, in the order stored, through `handler(event, job)`;
     * resolves to how many handlers ran.
     */
    async work(handler) {
      let ran = 0;
      for (let job = inbox.claim(); job !== null; job = inbox.claim()) {
        ran += 1;
        try {
          await handler(job.event, job);
        } catch (error) {
          report(job.event, inbox.fail(job, error));
          continue;
        }
        report(job.event, inbox.succeed(job));
      }
      return ran;
    },
    /** Runs stored event `id` again from a fresh set of attempts (not while a worker holds it). */
    replay(id) {
      const entry = entries.find((e) => e.id === id);
      if (entry === undefined) throw new RangeError(`memoryInbox: no stored event ${id}`);
      const result = inboxStep(checked, entry.record, { event: "replayed" }, now());
      if (result.refused !== undefined) return false;
      entry.record = result.record;
      return true;
    },
    /** Runs a waiting stored event (pending, or failed and backing off) now, keeping its attempts. */
    retryNow(id) {
      const entry = entries.find((e) => e.id === id);
      if (entry === undefined) throw new RangeError(`memoryInbox: no stored event ${id}`);
      const result = inboxStep(checked, entry.record, { event: "retried_now" }, now());
      if (result.refused !== undefined) return false;
      entry.record = result.record;
      return true;
    },
    /** Deletes the done events past their retention (dead ones stay); returns how many. */
    purge() {
      const at = now();
      const before = entries.length;
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        const { record } = entries[i];
        if (record.state === "done" && record.keep_until !== null && record.keep_until <= at) entries.splice(i, 1);
      }
      for (const [key, until] of keys) if (until <= at) keys.delete(key);
      return before - entries.length;
    },
    /** Every stored event, in the order stored: `{id, key, event, ...record}` (copies). */
    entries: () => entries.map(({ id, key, event, record }) => ({ id, key, event, ...record })),
  };
  return inbox;
}

/**
 * `onOutcome(provider, type, state)` after each attempt (done, failed or dead): the hook for
 * Prometheus or OpenTelemetry counters. A throwing hook is logged, never the attempt's outcome.
 */
function outcomeReporter(where, onOutcome) {
  if (onOutcome !== null && typeof onOutcome !== "function") {
    throw new TypeError(`${where}: onOutcome must be a function (provider, type, state) or null`);
  }
  return (event, state) => {
    if (onOutcome === null || !["done", "failed", "dead"].includes(state)) return;
    const threw = (error) => console.error("telhook: an inbox onOutcome hook threw", error);
    try {
      const reported = onOutcome(event?.provider ?? null, event?.type ?? null, state);
      // An async hook that rejects must not become an unhandled rejection (it ends the process).
      if (typeof reported?.then === "function") reported.then(undefined, threw);
    } catch (error) {
      threw(error);
    }
  };
}

// ---------------------------------------------------------------- Cloudflare Queues

// How long the dedupe claim is held while the event is being sent: the provider's in-progress
// lease (15 s for Telnyx, whose retries end ~42 s after the first attempt), so that a Worker
// that died before sending does not make every retry 503 until the provider gives up. A send
// still running when the delivery was answered 503 is kept alive (waitUntil) and completes the
// key when it lands; one that outlasts the lease can overlap a redelivery's send, which the
// consumer's store (keyed by the event's key) runs once. Events not built by the core (no
// known provider) keep the older 120 s.
const SENDING_LEASE_SECS = 120;
function sendingLeaseSecs(event) {
  try {
    return coreCall("retry_policy", [event.provider]).in_progress_lease_secs;
  } catch {
    return SENDING_LEASE_SECS;
  }
}
const MAX_QUEUE_DELAY_SECS = 43_200; // Cloudflare Queues' longest delaySeconds (12 h)

// Cloudflare Queues refuse a message over 128,000 bytes (workerd's and miniflare's
// MAX_MESSAGE_SIZE_BYTES), and the event carries the body in `raw`: an event of a body over
// ~60 KB does not fit. Messages go as JSON, so that their size is known before they are sent;
// the margin is room for what the Queue adds.
const QUEUE_MESSAGE_MAX_BYTES = 128_000 - 1_024;
const OVERFLOW_PREFIX = "telhook-inbox/";
const utf8 = new TextEncoder();

function checkedOverflow(name, overflow) {
  if (overflow === null || overflow === undefined) return null;
  if (!hasMethods(overflow, "put", "get", "delete")) {
    throw new TypeError(`${name}: overflow must be an R2 bucket binding (env.<BUCKET>) with put, get and delete`);
  }
  return overflow;
}

/**
 * An inbox on a Cloudflare Queue (durable once `send` resolves), deduplicated by a dedupe store
 * with the claim/complete/release protocol — `durableObjectStore(env.TELHOOK_DEDUPE)` (strongly
 * consistent; KV is not). The message body is `{key, event, dedupe_ttl_secs}`, sent as JSON.
 *
 * The one step is: claim the key, send, then mark the key done for the provider's dedupe window.
 * A queue and a Durable Object share no transaction, so the order is what makes it safe: the
 * claim comes first, so two copies of an event can never both be sent (the second finds the claim
 * and is told to retry later, 503, or that it is a duplicate); a failed send releases the claim,
 * so the provider's retry is stored. Only a Worker killed between `send` resolving and the claim
 * being completed (or a failed `complete`) leaves the key claimed "in progress" for the
 * provider's in-progress lease, during which redeliveries are answered 503 (the event is stored),
 * after which a redelivery would be sent again: a duplicate rather than a lost event, which
 * `consumeInbox` with a store runs once.
 *
 * An event larger than a Queue message holds goes to `overflow`, an R2 bucket (strongly
 * consistent, so the consumer always finds it), under `telhook-inbox/<random>`, and the message
 * carries its name instead (`{key, event_object, dedupe_ttl_secs}`): the claim-check pattern.
 * `consumeInbox` given the same bucket reads it and deletes it once the handler succeeded; a
 * dead message's object stays for whoever replays it. Without `overflow` such an event is refused
 * with an error saying so and answered 503, so the provider retries it: configuring the bucket
 * within the provider's retry window still receives it.
 */
export function queueInbox(queue, { dedupe, overflow = null } = {}) {
  if (!hasMethods(queue, "send")) {
    throw new TypeError("queueInbox: expected a Queue producer binding (env.<BINDING>) with send()");
  }
  if (!hasMethods(dedupe, "claim", "complete", "release")) {
    throw new TypeError("queueInbox: dedupe must be a store with claim, complete and release: durableObjectStore(env.TELHOOK_DEDUPE)");
  }
  const bucket = checkedOverflow("queueInbox", overflow);
  return {
    async enqueue(key, event, dedupeTtlSecs) {
      let body = { key, event, dedupe_ttl_secs: dedupeTtlSecs };
      // The message as sent, measured: an estimate from its parts missed JSON's escapes (a key
      // of control characters, six bytes each: a review sent one 128,505 bytes long). The text
      // is JSON.stringify(body)'s own, byte for byte (its keys in that order), with the event's
      // text kept for the bucket, so a large event is serialized once.
      const eventText = JSON.stringify(event);
      const messageText = `{"key":${JSON.stringify(key)},"event":${eventText},"dedupe_ttl_secs":${JSON.stringify(dedupeTtlSecs)}}`;
      const bytes = utf8.encode(messageText).byteLength;
      if (bytes > QUEUE_MESSAGE_MAX_BYTES && bucket === null) {
        throw new RangeError(
          `queueInbox: this event is ${bytes} bytes as JSON and a Queue message holds at most 128000 (less what the Queue adds): give queueInbox an R2 bucket for such events (queueInbox(env.INBOX, { dedupe, overflow: env.INBOX_OVERFLOW }), and consumeInbox the same overflow); answered 503 so that the provider retries it`,
        );
      }
      const token = newDeliveryToken();
      let state;
      try {
        state = await dedupe.claim(key, token, sendingLeaseSecs(event));
      } catch (error) {
        // It may have landed all the same (the store recorded it, then its answer failed):
        // released on the core's schedule before this fails (the delivery is answered 503 at
        // its deadline meanwhile, and a Worker keeps this alive), or every redelivery within
        // the sending lease would be refused as in progress (a review).
        await orphanTries(dedupe, { input: "failed" }, key, token, undefined, storeDeadlineMs()).catch(() => {});
        throw error;
      }
      if (state === "done") return "duplicate";
      // Another delivery of this event is being sent right now, not yet known to be stored: the
      // core answers 503 delivery_in_progress with a Retry-After, at info.
      if (state === "in_progress") return "in_progress";
      if (state !== "new") throw new Error("queueInbox: the dedupe store's claim answered no known state (new, in_progress or done)");
      try {
        if (bytes > QUEUE_MESSAGE_MAX_BYTES) {
          // Its own name per send: a second send of the key (after the sending lease) must not
          // overwrite an object the first message's consumer will delete. An object whose send
          // failed is left: the Queue may have stored that message all the same.
          const eventObject = `${OVERFLOW_PREFIX}${newDeliveryToken()}`;
          await bucket.put(eventObject, eventText, { httpMetadata: { contentType: "application/json" } });
          body = { key, event_object: eventObject, dedupe_ttl_secs: dedupeTtlSecs };
        }
        await queue.send(body, { contentType: "json" });
      } catch (error) {
        await Promise.resolve(dedupe.release(key, token)).catch(() => {});
        throw error;
      }
      // Stored: a failure to mark the key done leaves the claim to end with its sending lease (a
      // redelivery meanwhile is answered 503; one after it is queued again, and consumeInbox
      // runs it once). Said, not silent.
      await Promise.resolve()
        .then(() => dedupe.complete(key, token, dedupeTtlSecs))
        .catch((error) => console.warn(`telhook: queueInbox queued ${key}, but its key could not be marked sent: a redelivery within the sending lease is answered 503 in progress`, error));
      return "new";
    },
  };
}

/** A handled message's overflow object, if it has one: a failure to delete leaves it to the bucket's lifecycle rule. */
async function deleteEventObject(message, bucket) {
  const name = message.body?.event_object;
  if (bucket === null || typeof name !== "string") return;
  await Promise.resolve().then(() => bucket.delete(name)).catch(() => {});
}

/** The message's event: in its body, or (queueInbox's overflow) in the R2 bucket it names (a
 * message with neither was refused before its claims). */
async function messageEvent(message, overflow) {
  const body = message.body;
  if (body.event !== undefined) return body.event;
  if (overflow === null) {
    throw new TypeError("consumeInbox: this message's event was larger than a Queue message and is in queueInbox's overflow bucket: give consumeInbox the same bucket ({ overflow: env.INBOX_OVERFLOW })");
  }
  const object = await overflow.get(body.event_object);
  // R2 reads its own writes: a missing object was deleted after this message was handled (its
  // ack was lost; consumeInbox with a store acks such a redelivery before reading), or by hand.
  if (object === null) throw new Error("consumeInbox: the overflow bucket no longer holds this message's event");
  return JSON.parse(await object.text());
}

let defaultDeadlineMs;

/**
 * The core's default store deadline, for each of the orphan machine's tries here: a call on a
 * dead connection (a Durable Object that never answers) must not hang the rest, nor the
 * consumer's invocation.
 */
function storeDeadlineMs() {
  // Settings with no deadline of their own give the core's default (the cap is not read here).
  defaultDeadlineMs ??= coreCall("receive_settings", [{ store: true, max_body_bytes: 1 }]).store_deadline_ms;
  return defaultDeadlineMs;
}

/**
 * The consumer side of `queueInbox`, for the Worker's `queue(batch, env)` export: each message's
 * event goes to `handler(event, {message, env})`; a success acks it, a failure retries it after
 * the core's backoff for that attempt (`message.attempts`). When the core says the event is out
 * of attempts, the message is retried without delay and Cloudflare moves it to the queue's
 * `dead_letter_queue` — set `max_retries = max_attempts - 1` in wrangler.toml (and a
 * dead_letter_queue: without one Cloudflare deletes it). Resolves to `{acked, retried}` counts.
 *
 * Cloudflare Queues deliver at least once. With `{store}` (durableObjectStore) each message is
 * also claimed while its handler runs, by its own id and by its event's key: a message delivered
 * again after its handler succeeded is acked without running it (its id is done for
 * `retention_secs`), and so is the same event sent twice (a send that failed after the queue
 * stored it, then the provider's retry: its key is done for the rest of the event's dedupe
 * window, counted from when the receiver took it). Only for that window: after it the same key
 * is a new event (the DID reseller's change made again, a window of your own), which a mark for
 * `retention_secs`, or a window counted from the handler's end, acked without running it. So a
 * second message of one event that waits in the queue past the window runs again. One delivered
 * while it runs elsewhere is retried after `lease_secs`.
 *
 * The handler gets the message as `context.message`; its `retry()` is the handler's failure (the
 * claims are released and the message retried with the handler's own options), its `ack()` a
 * success: acking after a `retry()` did nothing in workerd, and the redelivery found the key done.
 *
 * With `{overflow}` (the R2 bucket given to `queueInbox`), a message whose event was too large for
 * the Queue reads it from there, after the claims, and deletes it once the handler succeeded.
 * Without it, such a message fails (retried, then dead-lettered) with an error saying so.
 */
export async function consumeInbox(batch, env, handler, policy = {}, { store = null, onOutcome = null, overflow = null } = {}) {
  const checked = inboxPolicy(policy);
  const bucket = checkedOverflow("consumeInbox", overflow);
  const report = outcomeReporter("consumeInbox", onOutcome);
  if (store !== null && !hasMethods(store, "claim", "complete", "release")) {
    throw new TypeError("consumeInbox: store must be a store with claim, complete and release: durableObjectStore(env.TELHOOK_DEDUPE)");
  }
  let acked = 0;
  let retried = 0;
  // Done marks that failed, tried again once the batch's messages are acked.
  const settlingAgain = [];
  for (const message of batch.messages) {
    let event = message.body?.event;
    const claims = [];
    const releaseClaims = () => Promise.all(claims.map(({ key, token }) => Promise.resolve(store.release(key, token)).catch(() => {})));
    let handlerRetry = null;
    try {
      if (event === undefined && typeof message.body?.event_object !== "string") {
        throw new TypeError("consumeInbox: a message that queueInbox did not send (no event)");
      }
      if (store !== null) {
        // The message's id (a redelivery of this message), then the event's key (a second
        // message of one event has another id). Done: handled before (its ack was lost); in
        // progress: another invocation runs it.
        const { key } = message.body;
        const wanted = [
          ...(typeof message.id === "string" && message.id !== "" ? [{ key: `telhook-inbox-message:${message.id}`, ttl: () => checked.retention_secs }] : []),
          ...(typeof key === "string" ? [{ key: `telhook-inbox:${key}`, ttl: () => eventWindowLeftSecs(message, event, checked) }] : []),
        ];
        let held = "new";
        for (const { key: claimKey, ttl } of wanted) {
          const token = newDeliveryToken();
          try {
            held = await store.claim(claimKey, token, checked.lease_secs);
          } catch (error) {
            // It may have landed all the same: released on the core's schedule before the batch
            // ends, or the message's retry would find it in progress for the whole lease.
            settlingAgain.push(() => orphanTries(store, { input: "failed" }, claimKey, token, undefined, storeDeadlineMs()).catch(() => {}));
            throw error;
          }
          if (held !== "new") break;
          claims.push({ key: claimKey, token, ttl });
        }
        if (held !== "new") {
          await releaseClaims();
          if (held === "done") {
            // Handled already (a redelivered message, or the event sent twice): this message's
            // own overflow object is not needed either.
            await deleteEventObject(message, bucket);
            message.ack();
            acked += 1;
          } else {
            message.retry({ delaySeconds: Math.min(checked.lease_secs, MAX_QUEUE_DELAY_SECS) });
            retried += 1;
          }
          continue;
        }
      }
      // Read after the claims: a redelivery of a handled message is acked before its overflow
      // object (deleted when it was handled) is looked for.
      event = await messageEvent(message, bucket);
      const own = {
        id: message.id,
        timestamp: message.timestamp,
        body: message.body,
        attempts: message.attempts,
        retry: (options) => {
          handlerRetry = options ?? {};
        },
        ack: () => {},
      };
      await handler(event, { message: own, env });
      if (handlerRetry !== null) throw new Error("the handler called message.retry()");
    } catch (error) {
      if (store !== null) await releaseClaims();
      if (handlerRetry !== null) {
        report(event, "failed");
        message.retry(handlerRetry);
      } else {
        const delay = inboxRetryDelaySecs(checked, message.attempts ?? 1);
        report(event, delay === null ? "dead" : "failed");
        if (delay === null) {
          console.error(`telhook: inbox event ${event?.id ?? message.body?.key ?? "unknown"} failed its last attempt (${message.attempts}): dead`, error);
          message.retry();
        } else {
          console.warn(`telhook: inbox event ${event?.id ?? message.body?.key ?? "unknown"} failed attempt ${message.attempts}; next in ${delay} s`, error);
          message.retry({ delaySeconds: Math.min(delay, MAX_QUEUE_DELAY_SECS) });
        }
      }
      retried += 1;
      continue;
    }
    for (const { key, token, ttl } of claims) {
      const secs = ttl();
      // A window already over marks nothing: the same key received now is a new event.
      const kind = secs >= 1 ? "complete" : "release";
      const settle = kind === "complete" ? () => store.complete(key, token, secs) : () => store.release(key, token);
      // Within the store deadline, as each try after it: a call that never answers must not hang
      // the batch (it may land all the same: the tries stop once it does).
      const tried = await withDeadline(settle, storeDeadlineMs(), kind);
      // Tried again, all of the batch's at once after its messages are acked, before the
      // consumer returns (it has no waitUntil): else a second message of the event after the
      // lease would run the handler again.
      if (tried.error !== undefined) settlingAgain.push(async () => {
        const last = await orphanTries(store, { input: "settle_failed", action: kind }, key, token, secs, storeDeadlineMs(), tried.late);
        if (last.note) console.error(`telhook: inbox event ${event?.id ?? "unknown"}: ${last.note}`);
      });
    }
    await deleteEventObject(message, bucket);
    report(event, "done");
    message.ack();
    acked += 1;
  }
  await Promise.all(settlingAgain.map((tries) => tries()));
  return { acked, retried };
}

/**
 * What is left of the event's dedupe window, counted from when the receiver took the delivery
 * (the event's `received_at`, else the message's `timestamp`), as the receiver counts it: a
 * message handled late (a backlog, a retried attempt) must not hold the key past that window,
 * or the provider's real repeat after it (the DID reseller's change made again), which the
 * receiver queued as new, would be acked here without running.
 */
function eventWindowLeftSecs(message, event, checked) {
  const window = eventDedupeSecs(message.body, event, checked);
  let receivedMs = Date.parse(event?.received_at);
  if (!Number.isFinite(receivedMs)) receivedMs = message.timestamp instanceof Date ? message.timestamp.getTime() : Number.NaN;
  if (!Number.isFinite(receivedMs)) return window;
  return Math.min(window, Math.floor(window - (Date.now() - receivedMs) / 1000));
}

/** The event's dedupe window: sent with it by queueInbox, else its provider's, else the policy's retention. */
function eventDedupeSecs(body, event, checked) {
  if (Number.isSafeInteger(body.dedupe_ttl_secs) && body.dedupe_ttl_secs > 0) return body.dedupe_ttl_secs;
  try {
    return coreCall("retry_policy", [event.provider]).dedupe_ttl_secs;
  } catch {
    return checked.retention_secs;
  }
}

// ---------------------------------------------------------------- BullMQ (Node, Redis)

/**
 * An inbox on a BullMQ queue (Redis): `bullmqInbox(new Queue("telhook", {connection}), {policy})`.
 * `enqueue` is one `queue.add` whose `deduplication: {id: key, ttl}` claims the key for the
 * provider's dedupe window and adds the job in the same Lua script (atomic in Redis); a
 * duplicate returns the existing job, whose id differs from the one asked for. Jobs take
 * `attempts: max_attempts` and the core's backoff (`backoffStrategy`, for the Worker's settings);
 * a dead event is BullMQ's failed set (kept), replayed with `job.retry("failed", {
 * resetAttemptsMade: true })` (a fresh set of attempts, as the core's replay gives; a bare
 * `job.retry()` gives one); a done one is kept
 * `retention_secs` (never less than its dedupe window: removing a job frees its key).
 * `processor(handler)` is the Worker's processor: `handler(event, job)`.
 *
 * The lease is BullMQ's job lock: renewed while the worker lives, so a slow handler is never
 * taken twice; a worker that dies holding a job loses it after `lockDuration` (Worker option,
 * 30 s by default), when another worker's stalled check puts it back. BullMQ does not count that
 * lost run as an attempt, as the core does: a job that stalls more than `maxStalledCount` times
 * (default 1) is failed instead.
 */
export function bullmqInbox(queue, { policy = {}, onOutcome = null } = {}) {
  if (!hasMethods(queue, "add")) {
    throw new TypeError("bullmqInbox: expected a BullMQ Queue (new Queue(name, {connection}))");
  }
  const checked = inboxPolicy(policy);
  const report = outcomeReporter("bullmqInbox", onOutcome);
  return {
    policy: checked,
    async enqueue(key, event, dedupeTtlSecs) {
      const jobId = newDeliveryToken();
      const job = await queue.add(
        "telhook",
        { key, event },
        {
          jobId,
          deduplication: { id: key, ttl: dedupeTtlSecs * 1000 },
          attempts: checked.max_attempts,
          backoff: { type: "telhook" },
          removeOnComplete: { age: Math.max(checked.retention_secs, dedupeTtlSecs) },
          removeOnFail: false,
        },
      );
      return job.id === jobId ? "new" : "duplicate";
    },
    /**
     * For the Worker's `settings.backoffStrategy`: the core's wait after attempt `attemptsMade`,
     * in ms; -1 (BullMQ's "no retry") when the core says the event is dead. 0 was BullMQ's
     * "retry at once": a job enqueued with more attempts than this policy allows (a web process
     * built with another policy) ran its extra attempts back to back, each reported dead.
     */
    backoffStrategy(attemptsMade) {
      const delay = inboxRetryDelaySecs(checked, attemptsMade);
      return delay === null ? -1 : delay * 1000;
    },
    /** The Worker's processor: the stored event through `handler(event, job)`. */
    processor(handler) {
      let toldNoStrategy = false;
      return async (job) => {
        const { event } = job.data;
        if (!toldNoStrategy && job.queue?.opts !== undefined && typeof job.queue.opts.settings?.backoffStrategy !== "function") {
          // Without it BullMQ cannot retry a failed event ("Unknown backoff strategy telhook"):
          // the job stalls and is failed after its stall limit, two runs instead of max_attempts.
          toldNoStrategy = true;
          console.error("telhook bullmqInbox: this Worker has no settings.backoffStrategy; a failed event cannot be retried. Build it with new Worker(name, inbox.processor(handler), { connection, settings: { backoffStrategy: inbox.backoffStrategy } })");
        }
        try {
          // Not returned to BullMQ, which stores it as JSON after the handler ran: a value it
          // cannot write (a BigInt, an axios response) failed the job and ran the handler again.
          await handler(event, job);
          report(event, "done");
          return undefined;
        } catch (error) {
          // BullMQ counts this attempt after the processor ends: attemptsMade + 1 were made. It
          // retries while the job's own attempts (set at enqueue) last and backoffStrategy
          // gives a wait: dead is when either ends.
          // Nor does BullMQ retry an UnrecoverableError, or past the Worker's maxStartedAttempts
          // (Job.shouldRetryJob).
          const made = (job.attemptsMade ?? 0) + 1;
          const maxStarted = job.queue?.opts?.maxStartedAttempts;
          const dead =
            made >= (job.opts?.attempts ?? checked.max_attempts) ||
            inboxRetryDelaySecs(checked, made) === null ||
            error?.name === "UnrecoverableError" ||
            (Boolean(maxStarted) && maxStarted <= (job.attemptsStarted ?? 0));
          report(event, dead ? "dead" : "failed");
          // BullMQ reads the error's message: a bare `reject()` crashed its failure handling and
          // left the job to stall (dead after 2 runs, not max_attempts).
          throw error instanceof Error ? error : new Error(`the handler threw a non-Error value (${error === null ? "null" : typeof error})`, { cause: error });
        }
      };
    },
  };
}
