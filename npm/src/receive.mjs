// The receive flow around the core's receive machine (core/src/receive/machine.rs): the machine
// decides every step — method, declared and read length, refusals, claim states, store
// deadlines, the handler's outcome and status, settling and what is logged — and this file only
// does the I/O it asks for, in one loop. The Fetch handler and the Node middleware share it.
import * as core from "../wasm/telhook_wasm.js";

import { Receiver } from "./api.mjs";
import { ClientGone, isLingering, isUnconfirmedText, lingerOnClose, RAW_BODY_GONE, readFetchBody, readNodeBody, TOO_LARGE } from "./body.mjs";
import {
  call,
  ConfigurationError,
  coreCall,
  errorFrom,
  eventFrom,
  hasMethods,
  nowSeconds,
  optionsJson,
  requestLineArgs,
  RequestError,
  TelhookError,
  telhookErrorOf,
  bodyArg,
} from "./internal.mjs";

// The answer is a pure function of the step, whose values come from small vocabularies
// (providers, error codes, states, statuses 100..599): memoized, a few hundred entries at most.
const answers = new Map();

/** An answer made read-only, headers and all: cached answers are shared by every delivery. */
function frozenAnswer(answer) {
  answer.headers = Object.freeze(answer.headers.map((pair) => Object.freeze(pair)));
  return Object.freeze(answer);
}

function decide(step) {
  const key = JSON.stringify(step);
  let answer = answers.get(key);
  if (answer === undefined) {
    answer = frozenAnswer(coreCall("decide", [step]));
    answers.set(key, answer);
  }
  return answer;
}

/**
 * The answer to send for an error caught around your own call to `normalizeEvent` (or your own
 * handler): `{status, code, headers, body, provider_action, dedupe, log}`. A TelhookError is
 * answered by its code; anything else is a failed handler of `provider`.
 */
export function ackForError(error, provider = null) {
  if (error instanceof TelhookError) return decide({ step: "rejected", provider, code: error.code });
  if (typeof provider !== "string") {
    throw new TypeError("ackForError: an error that is not a TelhookError is a handler failure; pass the provider");
  }
  return decide({ step: "handled", provider, outcome: "failed" });
}

// Web Crypto in Workers, Deno, Bun and Node 19+; the Node entry hands in node:crypto's for Node 18.
let newToken = () => globalThis.crypto.randomUUID();
/** For the Node entry only (not exported from the package). */
export function useTokenSource(source) {
  newToken = source;
}
/** A fresh random token (the inboxes' claims and job ids); not exported from the package. */
export const newDeliveryToken = () => newToken();

const CONFIG_KEYS = ["provider", "credentials", "onEvent", "store", "inbox", "onError", "options", "clock", "leaseSecs", "dedupeTtlSecs", "storeDeadlineMs"];

/**
 * The default `onError`: provider, event id, code and note at the level the core chose — never
 * the body. Warnings and errors only, as a logger at its usual WARNING level (Python's default):
 * info answers (a duplicate, a redelivery in progress, a wrong method) reach a custom onError.
 */
function logError(error, { provider, eventId, code, log, note }) {
  if (log !== "error" && log !== "warning") return;
  const line = `telhook: ${code} (provider ${provider ?? "unknown"}, event ${eventId ?? "unknown"})${note ? `: ${note}` : ""}`;
  const write = log === "error" ? console.error : console.warn;
  // Core errors carry messages built from static text only; anything else (the handler's own
  // exception, a store's) is printed with its stack, which is the user's code.
  if (error instanceof TelhookError) write(`${line}: ${error.message}`);
  else if (error === null || error === undefined) write(line);
  else write(line, error);
}

/** A clock reading (UNIX seconds, a Date or RFC 3339 text) as whole seconds; NaN for anything else. */
function clockSeconds(reading) {
  if (typeof reading === "number") return Number.isFinite(reading) ? Math.floor(reading) : reading;
  if (reading instanceof Date) return nowSeconds(reading);
  if (typeof reading === "string") {
    try {
      return nowSeconds(reading);
    } catch {
      return Number.NaN; // unreadable text: the core names the clock, not the text
    }
  }
  return Number.NaN;
}

function isResponseLike(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.status === "number" &&
    typeof value.arrayBuffer === "function" &&
    value.headers !== undefined
  );
}

const JS_NAMES = { lease_secs: "leaseSecs", dedupe_ttl_secs: "dedupeTtlSecs", store_deadline_ms: "storeDeadlineMs" };

/** The machine's settings for a receiver; the core checks them (`invalid_option`). */
function receiveSettings(name, receiver, store, inbox, { leaseSecs, dedupeTtlSecs, storeDeadlineMs }) {
  const settings = {
    provider: receiver.provider,
    max_body_bytes: receiver.inner.maxBodyBytes,
    store: store !== null || inbox !== undefined,
    inbox: inbox !== undefined,
    lease_secs: leaseSecs,
    dedupe_ttl_secs: dedupeTtlSecs,
    store_deadline_ms: storeDeadlineMs,
  };
  try {
    return coreCall("receive_settings", [JSON.parse(optionsJson(settings))]);
  } catch (error) {
    if (!(error instanceof ConfigurationError) || !(error.field in JS_NAMES)) throw error;
    // The core names its settings in snake_case; the error names the option as it was given.
    const option = JS_NAMES[error.field];
    throw new ConfigurationError(error.code, `${name}: option ${option}: expected ${error.expected}`, error.kind, option, error.expected);
  }
}

/** Options checked once, at creation: a mistake here throws now instead of answering every request with an error. */
function prepare(config, name) {
  if (config === null || typeof config !== "object") throw new TypeError(`${name}: expected an options object`);
  for (const key of Object.keys(config)) {
    if (key === "dedupe") {
      throw new TypeError(`${name}: "dedupe" is now "store", with claim(key, token, leaseSecs), complete and release (memoryStore() for memoryDedupe())`);
    }
    if (!CONFIG_KEYS.includes(key)) {
      throw new TypeError(`${name}: unknown option "${key}"; expected ${CONFIG_KEYS.join(", ")}`);
    }
  }
  const { provider = null, credentials, onEvent, store, inbox, onError = logError, options = {}, clock } = config;
  if (inbox !== undefined) {
    // Inbox mode: the event is stored (with its key, atomically) and answered 200 at once; the
    // handler runs later in the inbox's worker, so nothing runs on the request path.
    if (!hasMethods(inbox, "enqueue")) {
      throw new TypeError(`${name}: inbox must have enqueue(key, event, dedupeTtlSecs) -> "new" | "duplicate" | "in_progress": memoryInbox(), queueInbox(env.QUEUE, {dedupe}), bullmqInbox(queue)`);
    }
    if (store !== undefined || onEvent !== undefined || config.leaseSecs !== undefined) {
      throw new TypeError(`${name}: with inbox, leave out store, onEvent and leaseSecs: the inbox claims the key itself and its worker runs the handler`);
    }
  } else if (typeof onEvent !== "function") {
    throw new TypeError(`${name}: onEvent must be a function (event, context) => unknown (or give an inbox)`);
  }
  if (inbox === undefined && store === undefined) {
    throw new TypeError(
      `${name}: store is required: memoryStore() for one process, durableObjectStore(env.BINDING) on Workers, ` +
        "your own {claim, complete, release}, or null to call onEvent for every delivery",
    );
  }
  if (store !== null && store !== undefined && !hasMethods(store, "claim", "complete", "release")) {
    throw new TypeError(`${name}: store must have claim(key, token, leaseSecs), complete(key, token, ttlSecs) and release(key, token)`);
  }
  if (typeof onError !== "function") throw new TypeError(`${name}: onError must be a function (error, info) => void`);
  if (clock !== undefined && typeof clock !== "function") {
    throw new TypeError(`${name}: clock must be a function returning UNIX seconds`);
  }
  if (credentials === undefined || credentials === null) {
    throw new ConfigurationError(
      "missing_credentials",
      `${name}: credentials is undefined or null: expected an object such as { hmac_sha256: "…" }`,
      "configuration",
    );
  }
  const receiver = new Receiver(provider, credentials, options);
  const settings = receiveSettings(name, receiver, store ?? null, inbox, config);
  // The checked settings, held in wasm for every delivery of this receiver.
  const flowSettings = call((text) => new core.ReceiveSettings(text), JSON.stringify(settings));
  const now = clock === undefined ? () => Math.floor(Date.now() / 1000) : () => clockSeconds(clock());
  // Date.now() is milliseconds: a clock returning it would reject every timestamped request.
  coreCall("check_now", [now()]);
  // Handler statuses already warned about (the note names provider and status): once each.
  return { receiver, settings, flowSettings, store, inbox, onEvent, onError, now, warned: new Set() };
}

/**
 * Hands an answer to onError when the core logs it (`log` other than "none", or a note):
 * `error` is what was thrown behind it (null when nothing was). A warning about the handler's
 * status is given once per receiver, not on every delivery.
 */
function report(setup, answer, note, error, provider, eventId) {
  if (answer.log === "none" && note === null) return;
  if (answer.code === "handler_status" && answer.log === "warning") {
    if (setup.warned.has(note)) return;
    setup.warned.add(note);
  }
  callOnError(setup, error ?? null, { provider, eventId, code: answer.code, status: answer.status, log: answer.log, note });
}

/** Calls onError; a broken one must not change the answer. */
function callOnError(setup, error, info) {
  try {
    const reported = setup.onError(error, info);
    // An async onError (a remote log sink) that rejects must not become an unhandled rejection,
    // which ends a Node process and every handler running in it.
    if (typeof reported?.then === "function") reported.then(undefined, onErrorFailed);
  } catch (hookError) {
    onErrorFailed(hookError);
  }
}

function onErrorFailed(hookError) {
  console.error("telhook: onError threw", hookError);
}

const LATE = Symbol("late");

/**
 * A store call raced against its deadline: `{value}` or `{error, timedOut}`; the timer is cleared
 * either way. A store that answers synchronously (an in-memory one) needs no timer: it has
 * answered before any deadline could fire.
 */
export async function withDeadline(call, deadlineMs, what) {
  let pending;
  try {
    pending = call();
  } catch (error) {
    return { error, timedOut: false };
  }
  if (pending === null || (typeof pending !== "object" && typeof pending !== "function") || typeof pending.then !== "function") {
    return { value: pending };
  }
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, deadlineMs, LATE);
  });
  try {
    const value = await Promise.race([pending, late]);
    if (value !== LATE) return { value };
    return { error: new Error(`telhook: ${what.includes(".") ? what : `store.${what}`} did not answer within ${deadlineMs} ms (storeDeadlineMs)`), timedOut: true, late: pending };
  } catch (error) {
    return { error, timedOut: false };
  } finally {
    clearTimeout(timer);
  }
}

// The inputs of every delivery, taken by the Delivery's typed steps (no JSON either way in;
// a body read goes with the normalize step, `bodyReadAndNormalize`); any other input crosses
// as JSON text through `next`.
const BODY_READ = Object.freeze({ input: "body_read" });
const HANDLED = Object.freeze({ input: "handled", status: null });
const SETTLED = Object.freeze({ input: "settled" });
class Claimed {
  constructor(state) {
    this.input = "claimed";
    this.state = state;
  }
}

/** The next action's JSON text for a typed input, or undefined for the others. */
function typedStep(flow, input) {
  if (input === HANDLED) return flow.handled();
  if (input === SETTLED) return flow.settled();
  if (input instanceof Claimed) return flow.claimed(input.state);
  return undefined;
}

/** The next action, given what happened: a typed input crosses without JSON, any other as JSON text. */
function nextAction(flow, input) {
  return actionOf(typedStep(flow, input) ?? call((text) => flow.next(text), JSON.stringify(input)));
}

/**
 * A normalize step's text (`Delivery.normalize`, `bodyReadAndNormalize`): the next action, then
 * a line feed and the event when it normalized; else the refusal's error, if it refused.
 */
function normalizeOutcome(flow, text) {
  const cut = text.indexOf("\n");
  if (cut >= 0) return { action: actionOf(text.slice(0, cut)), event: eventFrom(text, cut + 1, flow), failure: undefined };
  const refusal = flow.failure();
  return { action: actionOf(text), event: undefined, failure: refusal === undefined ? undefined : telhookErrorOf(refusal) };
}

/**
 * A body read and normalized in one crossing: the machine asks to normalize a body once read. A
 * parser's text that nothing confirms as sent is told as decoded (the machine answers a refusal
 * its bytes could have caused as a body that is gone: 500, redelivered).
 */
function bodyReadAndNormalize(setup, flow, body) {
  return normalizeOutcome(flow, flow.bodyReadAndNormalize(setup.receiver.inner, bodyArg(body), setup.now(), isUnconfirmedText(body)));
}

/**
 * A claim answered past its deadline, or failed, was answered 503; if it lands all the same
 * ("new", or a failure after the server ran it), nothing owns it, and every redelivery within its
 * lease would be turned away as in progress. The core's `receive::orphan` machine says when to
 * release it with its token (a release of a claim another delivery took over does nothing);
 * the releases run in the background, kept alive past the answer (a Worker's waitUntil).
 */
function releaseWhenItLands(setup, late, key, token, deadlineMs, provider, keepAlive) {
  const first = Promise.resolve(late).then((state) => ({ input: "landed", state: String(state) }), () => ({ input: "failed" }));
  // Run whether or not anything keeps it alive (`keepAlive?.(call())` would skip the call).
  const releasing = orphanCalls(setup, first, key, token, undefined, deadlineMs, provider);
  keepAlive?.(releasing);
}

/**
 * A settling call (`complete` after the handler ran, `release` after it failed) that failed or
 * missed its deadline: the key keeps the bare claim, so redeliveries are answered in progress
 * until its lease ends — and then, if the provider never got the answer, the handler runs a
 * second time. The orphan machine has the call tried again until one holds, in the background
 * (a Worker's waitUntil).
 */
function settleAgain(setup, settling, token, provider, keepAlive, late) {
  const first = Promise.resolve({ input: "settle_failed", action: settling.action });
  const settlingAgain = orphanCalls(setup, first, settling.key, token, settling.ttl_secs, settling.deadline_ms, provider, late);
  keepAlive?.(settlingAgain);
}

/** The orphan machine's calls, each after its wait, once `first` gives its first input (none: nothing to do). */
function orphanCalls(setup, first, key, token, ttlSecs, deadlineMs, provider, late = undefined) {
  return first
    .then(async (input) => {
      if (input === undefined) return;
      const action = await orphanTries(setup.store, input, key, token, ttlSecs, deadlineMs, late);
      // Through onError, as the store's unavailability is told: the core names what redeliveries meet.
      if (action.note) callOnError(setup, null, { provider, eventId: key, code: action.code, status: action.status, log: action.log, note: action.note });
    })
    .catch(() => {});
}

/**
 * The core's orphan machine (`receive::orphan`) from its first `input`: each release or complete
 * it asks for, after its wait and within `deadlineMs` if given (one on a dead connection must not
 * hang the rest), until it is done. A call past its deadline runs on: once one lands (`late`, the
 * first call's, among them), the tries stop with nothing to tell — except a failed claim's
 * releases, which all run. Resolves to the last action
 * (`{log, note}`: what to tell, if anything).
 */
export async function orphanTries(store, input, key, token, ttlSecs, deadlineMs, late = undefined) {
  let landed = false;
  // Not for a claim that failed: it may land after any release (a stalled store runs the claim
  // and a release in either order), so each of its releases runs (the machine's rule).
  const stopsOnLanding = input.input !== "failed";
  const watch = (pending) => void Promise.resolve(pending).then(() => (landed = stopsOnLanding), () => {});
  if (late !== undefined) watch(late);
  const quiet = { action: "done", log: "none", note: null };
  let { state, action } = coreCall("orphaned_claim", [null, input]);
  while (action.action === "release" || action.action === "complete") {
    if (action.after_ms > 0) await new Promise((resolve) => setTimeout(resolve, action.after_ms)?.unref?.());
    if (landed) return quiet;
    const kind = action.action;
    const call = () => (kind === "complete" ? store.complete(key, token, ttlSecs) : store.release(key, token));
    const tried = deadlineMs === undefined ? await Promise.resolve().then(call).then((value) => ({ value }), (error) => ({ error })) : await withDeadline(call, deadlineMs, kind);
    if (tried.timedOut) watch(tried.late);
    const outcome = tried.error === undefined ? (kind === "complete" ? "completed" : "released") : `${kind}_failed`;
    ({ state, action } = coreCall("orphaned_claim", [state, { input: outcome }]));
  }
  return landed ? quiet : action;
}

/** The input for a store call's outcome: `ok(value)` when it answered in time. */
const storeInput = (outcome, ok, failed) => (outcome.error === undefined ? ok(outcome.value) : { input: failed, timed_out: outcome.timedOut });

/** The input for what readBody returned, and the error behind a refusal (its message says why). */
function bodyInput(body, maxBytes) {
  if (body === RAW_BODY_GONE) return [{ input: "body_unavailable" }, errorFrom(coreCall("raw_body_unavailable", []))];
  if (body !== TOO_LARGE) return [BODY_READ, undefined];
  return [{ input: "body_too_large" }, new RequestError("body_too_large", `body: expected at most max_body_bytes (${maxBytes}) bytes`, "request")];
}

/** onEvent's outcome as the machine's input: its own response's status (any integer) or a failure. */
async function callHandler(setup, event, context) {
  try {
    const result = await setup.onEvent(event, context);
    const response = isResponseLike(result) ? result : undefined;
    if (response !== undefined && !Number.isSafeInteger(response.status)) {
      throw new TypeError("onEvent returned a response whose status is not an integer");
    }
    const ignoredStatus = response === undefined ? failureStatusOf(result) : undefined;
    return { input: response === undefined ? HANDLED : { input: "handled", status: response.status }, response, failure: undefined, ignoredStatus };
  } catch (error) {
    return { input: { input: "handler_failed" }, response: undefined, failure: error };
  }
}

/**
 * A status of 300-599 on a returned object that is no Response (`{ status: 503 }`, Express's or
 * Lambda's `{ statusCode: 500 }`): the handler meant a failure, but returning counts as success.
 */
function failureStatusOf(result) {
  // `return 503` reads as "answer 503" as much as `return {status: 503}` does (a review).
  if (typeof result === "number") return Number.isInteger(result) && result >= 300 && result <= 599 ? result : undefined;
  if (result === null || typeof result !== "object") return undefined;
  const status = typeof result.status === "number" ? result.status : result.statusCode;
  return Number.isInteger(status) && status >= 300 && status <= 599 ? status : undefined;
}

/** Once per receiver: the handler returned a failure status as a number or on an object that is no Response. */
function warnIgnoredStatus(setup, answer, status, provider, eventId) {
  const note = `onEvent returned status ${status} as a number or on an object that is not a Response: returning counts as success, so the event is done and will not be delivered again; to have it redelivered, throw, or return new Response(null, { status: ${status} })`;
  if (setup.warned.has(note)) return;
  setup.warned.add(note);
  callOnError(setup, null, { provider, eventId, code: answer.code, status: answer.status, log: "warning", note });
}

// An action's JSON text → the action. Answers and the actions that name no event (read_body,
// normalize, call_handler) repeat — a few hundred distinct ones at most, from small
// vocabularies — so they are parsed once and kept frozen; the store actions name the event's
// key and are parsed each time.
const ACTION_CACHE_LIMIT = 1024;
const actions = new Map();
function actionOf(text) {
  let action = actions.get(text);
  if (action !== undefined) return action;
  action = JSON.parse(text);
  if (action.key === undefined && actions.size < ACTION_CACHE_LIMIT) {
    if (action.action === "answer") frozenAnswer(action.answer);
    // Keyed by a copy: the normalize step's action is a slice of a text that carries the event
    // (normalizeOutcome), and as a key the slice would keep that whole text, `raw` and all,
    // alive as long as the cache.
    actions.set(JSON.parse(JSON.stringify(text)), Object.freeze(action));
  }
  return action;
}

/**
 * One delivery through the receive machine. `request` is `{method, url, headers}`,
 * `readBody(maxBytes)` resolves to the bytes, TOO_LARGE or RAW_BODY_GONE; `keepAlive(promise)`
 * (a Worker's waitUntil) is handed the handler and settling once the handler starts. Resolves to
 * `{answer, response?}`; `response` is the handler's own, sent instead of the answer's status and body.
 * `sentStatus()` (node:http) is the status of an answer someone else already sent, if any.
 * `beforeHandler(flow)` runs before the handler (createHandler takes a gzipped body's inflation there).
 * The machine's state stays in wasm (`core.Delivery`); each step crosses as a few bytes of JSON.
 */
async function run(setup, request, readBody, context, keepAlive, sentStatus, beforeHandler) {
  const { store } = setup;
  // This delivery's claim: only it may complete or release it (drawn when a claim is made).
  let token;
  const flow = new core.Delivery(setup.flowSettings, ...requestLineArgs(request.method, request));
  let action = actionOf(flow.action());
  let body, event, response, failure, handlerDone, ignoredStatus, sentByHandler = false;
  const next = (input) => nextAction(flow, input);
  try {
    for (;;) {
      let input;
      const { key, deadline_ms: deadline } = action;
      switch (action.action) {
        case "answer": {
          const { answer, note } = action;
          report(setup, answer, note, failure, event?.provider ?? flow.provider ?? null, event?.id ?? null);
          if (ignoredStatus !== undefined) warnIgnoredStatus(setup, answer, ignoredStatus, event?.provider ?? null, event?.id ?? null);
          return { answer, response: answer.code === "handler_status" ? response : undefined, sentByHandler };
        }
        case "read_body":
          body = await readBody(action.max_bytes);
          [input, failure] = bodyInput(body, action.max_bytes);
          if (input !== BODY_READ) break;
          // The machine asks to normalize a body once read: both steps in one call.
          ({ action, event, failure } = bodyReadAndNormalize(setup, flow, body));
          continue;
        case "normalize":
          ({ action, event, failure } = normalizeOutcome(flow, flow.normalize(setup.receiver.inner, bodyArg(body), setup.now())));
          continue;
        case "claim": {
          token = newToken();
          const claimed = await withDeadline(() => store.claim(key, token, action.lease_secs), deadline, "claim");
          if (claimed.timedOut) releaseWhenItLands(setup, claimed.late, key, token, deadline, flow.provider, keepAlive);
          else if (claimed.error !== undefined) releaseWhenItLands(setup, Promise.reject(claimed.error), key, token, deadline, flow.provider, keepAlive);
          failure = claimed.error;
          input = storeInput(claimed, (state) => new Claimed(String(state)), "store_failed");
          break;
        }
        case "enqueue": {
          const { inbox } = setup;
          // Kept alive past the answer (a Worker's waitUntil): a store slower than the deadline
          // is answered 503 but still lands and completes its key, where the request's end would
          // cancel it and leave the claim to turn the provider's retries away.
          const enqueuing = Promise.resolve().then(() => inbox.enqueue(key, event, action.dedupe_ttl_secs));
          keepAlive?.(enqueuing.catch(() => {}));
          const stored = await withDeadline(() => enqueuing, deadline, "inbox.enqueue");
          failure = stored.error;
          input = storeInput(stored, (state) => ({ input: "enqueued", state: String(state) }), "store_failed");
          break;
        }
        case "call_handler":
          try {
            beforeHandler?.(flow);
          } catch {
            // A request whose headers cannot be read: its handler reads the body as sent.
          }
          keepAlive?.(new Promise((resolve) => (handlerDone = resolve)));
          ({ input, response, failure, ignoredStatus } = await callHandler(setup, event, context));
          if (input.input === "handled") {
            // The handler answered the provider itself (`req.res.status(503).json(...)` in
            // Express): the status that went out is the handler's, as if it had returned it (and
            // over a Response it returned, which can no longer be sent), so a failure it sent
            // releases the claim and the retry it asks for is handled, not "duplicate".
            const sent = sentStatus?.();
            if (sent !== undefined) {
              input = { input: "handled", status: sent };
              sentByHandler = true;
            }
          }
          break;
        case "complete":
        case "release": {
          const call = action.action === "complete" ? () => store.complete(key, token, action.ttl_secs) : () => store.release(key, token);
          const settled = await withDeadline(call, deadline, action.action);
          // Answered past the deadline, it still runs (a Worker keeps it alive: waitUntil), and
          // it is tried again from now, as a failed one is: waiting for a call that may never
          // answer would push the tries past the 30 s a Worker keeps work after its answer.
          if (settled.timedOut) keepAlive?.(Promise.resolve(settled.late).catch(() => {}));
          if (settled.error !== undefined) settleAgain(setup, action, token, flow.provider, keepAlive, settled.timedOut ? settled.late : undefined);
          // The handler's failure stays the error of the answer; a settling failure joins it.
          if (settled.error !== undefined) failure = failure === undefined ? settled.error : new AggregateError([failure, settled.error], "the handler and then the store failed");
          input = storeInput(settled, () => SETTLED, "settle_failed");
          break;
        }
        default:
          throw new Error(`telhook: the receive machine asked for an unknown action ${action.action}`);
      }
      action = next(input);
    }
  } finally {
    handlerDone?.();
    flow.free();
  }
}

// What a new delivery is answered at each step asking for a store, the handler or the inbox
// (the warm-up's deliveries below): claimed new, handled, settled; enqueued new.
const HAPPY_INPUTS = {
  claim: new Claimed("new"),
  call_handler: HANDLED,
  complete: SETTLED,
  enqueue: Object.freeze({ input: "enqueued", state: "new" }),
};
const WARM_UP_MODES = [
  { store: Object.freeze({ claim: () => "new", complete: () => undefined, release: () => undefined }), onEvent: () => undefined },
  { inbox: Object.freeze({ enqueue: () => "new" }) },
];

/**
 * Start-up warm-up (src/warm-up.mjs): one signed request through what a handler's delivery runs
 * in the core — the handler's set-up (`prepare`), the machine, the normalize step — once with a
 * store and once in inbox mode, each step the machine asks for answered as a new delivery's would
 * be, synchronously (no store, handler or inbox is called: none may do I/O at a Worker's
 * start-up). V8 compiles a wasm function on its first call, so without it a Worker's first
 * delivery compiled them (+9.8 ms over an empty Worker's first request in workerd,
 * bench/PROFILE.md). The answers, for the build's check that each is a success.
 */
export function warmUpDelivery({ provider, credentials, request, now }, modes = WARM_UP_MODES.length) {
  return WARM_UP_MODES.slice(0, modes).map((mode) => {
    const setup = prepare({ provider, credentials, clock: () => now, ...mode }, "warm-up");
    const flow = new core.Delivery(setup.flowSettings, ...requestLineArgs(request.method ?? "POST", request));
    try {
      let action = actionOf(flow.action());
      while (action.action !== "answer") {
        if (action.action === "read_body") {
          ({ action } = bodyReadAndNormalize(setup, flow, request.body));
          continue;
        }
        const input = HAPPY_INPUTS[action.action];
        if (input === undefined) throw new Error(`telhook warm-up: the machine asked for ${action.action}`);
        action = nextAction(flow, input);
      }
      return action.answer;
    } finally {
      flow.free();
    }
  });
}

/** `run`, with anything unexpected (a throwing clock, a broken stream) answered as the core's internal error. */
async function receive(setup, request, readBody, context, keepAlive, sentStatus, beforeHandler) {
  try {
    return await run(setup, request, readBody, context, keepAlive, sentStatus, beforeHandler);
  } catch (error) {
    const answer = decide({ step: "rejected", provider: setup.settings.provider, code: "internal" });
    // A client that hung up mid-body is no fault of the receiver's: nothing was claimed, the
    // provider delivers again, and the answer reaches nobody. Told at info (a custom onError
    // sees it), not logged as an internal error.
    const gone = error instanceof ClientGone;
    report(setup, gone ? { ...answer, log: "info" } : answer, gone ? error.message : null, error, setup.settings.provider, null);
    return { answer };
  }
}

// Statuses whose response has no body (Fetch refuses one).
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The status, headers and body to send for a handler's own response: as it is, except that a
 * response without a body gets the core's body and headers for its status (its own headers win).
 */
async function handlerResponseParts(response, answer) {
  const own = new Headers(response.headers);
  if (response.body !== null && response.body !== undefined) {
    return { status: response.status, headers: own, body: new Uint8Array(await response.arrayBuffer()) };
  }
  const headers = new Headers(answer.headers);
  own.forEach((value, name) => headers.set(name, value));
  if (NULL_BODY_STATUSES.has(response.status)) {
    headers.delete("content-type");
    return { status: response.status, headers, body: null };
  }
  return { status: response.status, headers, body: answer.body };
}

/**
 * onEvent's context for a Fetch delivery. telhook read the request's body, so `request` is the
 * delivery's request with that body readable again (`await request.json()` in a handler threw
 * "Body is unusable": a 500 on every redelivery), made only when the handler asks for it.
 */
function handlerContext(request, bodyRead, inflatedRead, env, ctx) {
  let readable;
  return {
    get request() {
      const inflated = inflatedRead();
      if (inflated !== undefined && readable === undefined) {
        // Sent gzipped: the body the core inflated, with headers that describe it.
        const headers = new Headers(request.headers);
        headers.delete("content-encoding");
        headers.delete("content-length");
        readable = new Request(request, { body: inflated, headers });
      }
      const body = bodyRead();
      readable ??= request.bodyUsed && body instanceof Uint8Array ? new Request(request, { body }) : request;
      return readable;
    },
    env,
    ctx,
  };
}

/**
 * The event's body as the core inflated it, taken before the handler runs, when the request says
 * it has a coding (Fetch headers answer null without one; any other headers object is asked).
 */
function takeInflated(request, flow) {
  const coding = typeof request.headers?.get === "function" ? request.headers.get("content-encoding") : undefined;
  return coding === null ? undefined : flow.takeInflatedBody();
}

/**
 * A Fetch API handler: `(request, env?, ctx?) => Promise<Response>` for Workers
 * (`export default { fetch: handler }`), Deno, Bun, Node 18+ and Hono (`handler(c.req.raw, c.env,
 * c.executionCtx)`). `onEvent(event, { request, env, ctx })`, the request's body readable again.
 */
export function createHandler(config) {
  const setup = prepare(config, "createHandler");
  return async function fetch(request, env, ctx) {
    // A started handler runs to completion: a Worker keeps it (and the settling of its claim)
    // alive through waitUntil even if the request ends first.
    const keepAlive = typeof ctx?.waitUntil === "function" ? (promise) => ctx.waitUntil(promise) : undefined;
    let read, inflated;
    const { answer, response } = await receive(
      setup,
      { method: request.method, url: request.url, headers: request.headers },
      async (maxBytes) => (read = await readFetchBody(request, maxBytes)),
      handlerContext(request, () => read, () => inflated, env, ctx),
      keepAlive,
      undefined,
      (flow) => (inflated = takeInflated(request, flow)),
    );
    // A 204/304/1xx answer has an empty body, which Fetch only accepts as null.
    if (response === undefined) return new Response(answer.body || null, { status: answer.status, headers: answer.headers });
    if (response instanceof Response && response.body !== null) return response;
    try {
      const parts = await handlerResponseParts(response, answer);
      return new Response(parts.body, { status: parts.status, headers: parts.headers });
    } catch (error) {
      // The event is settled; its answer must still go out (see sendNodeAnswer).
      answerFailed(setup, null, answer, error);
      const status = Number.isInteger(response.status) && response.status >= 200 && response.status <= 599 ? response.status : answer.status;
      return new Response(NULL_BODY_STATUSES.has(status) ? null : answer.body || null, { status, headers: answer.headers });
    }
  };
}

/**
 * Middleware for node:http, Express and Connect: `(req, res) => Promise<void>`; it always
 * answers (it never calls `next`). It reads the raw body itself; behind express.raw() /
 * express.text() (or a parser that kept `req.rawBody`) it uses those bytes; behind
 * express.json() the raw body is gone and every delivery is answered `raw_body_unavailable`
 * (500, so the provider retries once the mounting is fixed). `onEvent(event, { req })`.
 */
export function createNodeMiddleware(config) {
  const setup = prepare(config, "createNodeMiddleware");
  return async function telhookMiddleware(req, res) {
    // Before anything is read or run: a framework's own request and reply objects (Fastify's,
    // Koa's ctx) cannot be answered through, and the event ran with its answer lost (a review).
    if (typeof res?.setHeader !== "function" || typeof res?.end !== "function" || typeof req?.on !== "function") {
      throw new TypeError(
        "createNodeMiddleware: expected node:http's (req, res) — in Fastify pass request.raw and reply.raw after reply.hijack(), in Koa ctx.req and ctx.res",
      );
    }
    if (isLingering(req.socket)) {
      // Pipelined after a 413 that closed the connection: not processed, and no answer can
      // reach the client; the provider resends it on a new connection.
      req.resume();
      return;
    }
    // An answer already sent when onEvent settles is taken as onEvent's own (Express's
    // `req.res.status(503).json(...)`), unless a timeout middleware sent it and said so
    // (connect-timeout's `req.timedout`): a successful handler's event is then done. Telling
    // every other writer apart would take an AsyncLocalStorage, which on Node 20 makes every
    // await of the whole process ~3x slower (measured): a timeout middleware of one's own sets
    // `req.timedout = true`, as the README says.
    const sentStatus = () => (res.headersSent && req.timedout !== true ? res.statusCode : undefined);
    const { answer, response, sentByHandler } = await receive(
      setup,
      // rawHeaders keeps every copy of a repeated header (req.headers joins or drops them), so
      // the core sees a conflicting duplicate and answers ambiguous_header as everywhere else.
      { method: req.method, url: req.originalUrl ?? req.url, headers: req.rawHeaders ?? req.headers },
      // The handler is never cancelled here: it runs to completion even if the client hangs up.
      (maxBytes) => readNodeBody(req, maxBytes),
      { req },
      undefined,
      sentStatus,
    );
    // The handler answered itself (`req.res.type("text/xml").send(twiml)`, as the README shows):
    // its answer is the one sent, and its status was the machine's input. Nothing to add, and
    // nothing to warn about: the response is the handler's, even one it is still writing.
    if (sentByHandler) return;
    // The event's fate is settled by now (its claim completed or released). Nothing that fails
    // from here on may reject this promise: node:http and Express 4 leave a rejection unhandled,
    // and Node then ends the process, killing every handler still running in it.
    try {
      await sendNodeAnswer(req, res, answer, response);
    } catch (error) {
      answerFailed(setup, res, answer, error);
    }
  };
}

/** Writes the machine's answer, or the handler's own response, to a node:http response. */
async function sendNodeAnswer(req, res, answer, response) {
  if (res.headersSent || res.writableEnded) {
    // Someone answered first: the handler itself (`req.res.json(...)` in Express) or a timeout
    // middleware. Their answer stands; writing another would throw ERR_HTTP_HEADERS_SENT.
    throw new AlreadyAnswered();
  }
  if (answer.code === "body_too_large") {
    // The rest of an oversized body is being discarded; do not keep the connection for more,
    // and close it without resetting the answer away from a client still sending.
    res.setHeader("connection", "close");
    lingerOnClose(req.socket);
  }
  if (response === undefined) {
    res.statusCode = answer.status;
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    res.end(answer.body);
    return;
  }
  let parts;
  try {
    parts = await handlerResponseParts(response, answer);
  } catch (error) {
    // The handler's Response has a body that cannot be read (a fetch() whose connection broke
    // mid-body): its status still goes out, with the machine's body for it.
    parts = { status: response.status, headers: new Headers(answer.headers), body: answer.body, error };
  }
  if (res.headersSent || res.writableEnded) throw new AlreadyAnswered();
  res.statusCode = parts.status;
  // Headers iterate set-cookie once per cookie: gather repeated names instead of overwriting.
  const headers = new Map();
  parts.headers.forEach((value, name) => headers.set(name, [...(headers.get(name) ?? []), value]));
  for (const [name, values] of headers) res.setHeader(name, values.length === 1 ? values[0] : values);
  res.end(parts.body ?? undefined);
  if (parts.error !== undefined) throw parts.error;
}

class AlreadyAnswered extends Error {
  constructor() {
    super("the response was already sent by someone else (onEvent itself, or a middleware such as a timeout) before telhook's answer");
    this.name = "AlreadyAnswered";
  }
}

/**
 * Reports a failure to send the answer through onError (a warning: the event itself was
 * settled), and ends the response if nothing ended it yet, so that the client is not left
 * waiting for an answer that will never come.
 */
function answerFailed(setup, res, answer, error) {
  const note = error instanceof AlreadyAnswered ? error.message : "telhook's answer could not be sent";
  callOnError(setup, error, { provider: setup.settings.provider, eventId: null, code: answer.code, status: answer.status, log: "warning", note });
  if (res !== null && !res.writableEnded && !res.destroyed) {
    try {
      if (!res.headersSent) res.statusCode = answer.status;
      res.end();
    } catch {
      res.destroy();
    }
  }
}
