// The JavaScript face of telhook: converts JS values to the wasm core's inputs and back.
// No webhook rule lives here — every decision (verification, parsing, status, retry policy,
// which HTTP status to answer) is made by the Rust core compiled to WebAssembly.
import * as core from "../wasm/telhook_wasm.js";

import {
  call,
  ConfigurationError,
  coreCall,
  credentialsJson,
  eventFrom,
  flattenHeaders,
  nowSeconds,
  optionsJson,
  ParseError,
  RequestError,
  requestArgs,
  rethrow,
  TelhookError,
  bodyArg,
  VerificationError,
} from "./internal.mjs";

export { ConfigurationError, ParseError, RequestError, TelhookError, VerificationError };

/** The core Receiver's arguments: the provider, the credentials' JSON text and the options'. */
function receiverArgs(provider, credentials, options) {
  // `now` is per call; every other option (and options that are not an object) is the
  // core's to check: a wrong one is a ConfigurationError (`invalid_option`) naming it.
  const isObject = options !== null && typeof options === "object" && !Array.isArray(options);
  const { now: _ignored, ...limits } = isObject ? options : {};
  // A name the core does not know is its ConfigurationError; any other type is the caller's
  // TypeError, as in Python (the wasm glue reads a non-string as one: a trap, found by a review).
  if (provider != null && typeof provider !== "string") {
    throw new TypeError("provider must be a provider's name (a string), or null to detect it");
  }
  return [provider ?? null, credentialsJson(credentials), optionsJson(isObject ? limits : options)];
}

/** `receiver` given the core's Receiver for `args` (from `receiverArgs`): what the constructor does. */
function coreReceiverInto(receiver, args) {
  receiver.provider = args[0];
  receiver.inner = call((...a) => new core.Receiver(...a), ...args);
  return receiver;
}

/**
 * A configured receiver: credentials parsed once, reused for every request.
 * `provider` may be null to detect it from each request.
 */
export class Receiver {
  constructor(provider, credentials, options = {}) {
    coreReceiverInto(this, receiverArgs(provider, credentials, options));
  }

  // `now` is read before the request: `requestArgs` packs the headers last (see `packHeaders`).
  normalize(request, options = {}) {
    const now = nowSeconds(options.now);
    const [method, url, headerText, headerLengths, body] = requestArgs(request);
    let text;
    try {
      text = this.inner.normalize(method, url, headerText, headerLengths, body, now);
    } catch (raw) {
      rethrow(raw);
    }
    return eventFrom(text, 0, this.inner);
  }

  verify(request, options = {}) {
    const now = nowSeconds(options.now);
    const [method, url, headerText, headerLengths, body] = requestArgs(request);
    try {
      return this.inner.verify(method, url, headerText, headerLengths, body, now);
    } catch (raw) {
      rethrow(raw);
    }
  }
}

/**
 * Verifies and normalizes one request. `options`: `{ now?: number | Date | string,
 * max_body_bytes?: number }`; `now` defaults to the host clock.
 */
export function normalizeEvent(provider, request, credentials, options = {}) {
  return withReceiver(provider, credentials, options, (receiver) => receiver.normalize(request, options));
}

/** Verifies only; returns the provider's name. */
export function verify(provider, request, credentials, options = {}) {
  return withReceiver(provider, credentials, options, (receiver) => receiver.verify(request, options));
}

// The one-call functions are called with the same credentials request after request, and
// building their Receiver (the core's parse of the credentials, the HMAC key schedule on first
// use) cost a third of the call it served (bench/PROFILE.md). A Receiver is a pure function of
// the texts the core is given, so the last few are kept, keyed by those texts: changed or
// rotated credentials are another text and get a Receiver of their own. The least recently
// used one is freed when a new one would make one too many.
const KEPT_RECEIVERS = 16;
const keptReceivers = new Map();
// The key used last: it is already the newest entry, so a run of calls with the same
// credentials (the usual case) moves nothing in the Map.
let newestKey;

/** `use(receiver)` with a kept Receiver for these arguments, made and kept if there is none. */
function withReceiver(provider, credentials, options, use) {
  const args = receiverArgs(provider, credentials, options);
  if (args[0] !== null && typeof args[0] !== "string") return once(coreReceiverInto(Object.create(Receiver.prototype), args), use);
  // JSON text holds no raw NUL: one key per provider (null apart from "", which the core
  // refuses), credentials text and options text.
  const key = `${JSON.stringify(args[0])}\u0000${args[1]}\u0000${args[2]}`;
  let receiver = keptReceivers.get(key);
  if (receiver === undefined) {
    // Kept only once the core took it: a construction that throws throws again next time.
    receiver = coreReceiverInto(Object.create(Receiver.prototype), args);
    receiver.uses = 0;
    receiver.letGo = false;
    if (keptReceivers.size >= KEPT_RECEIVERS) {
      const [oldestKey, oldest] = keptReceivers.entries().next().value;
      keptReceivers.delete(oldestKey);
      // One in use (a call from the request's own getters, say) is freed when that use ends.
      if (oldest.uses === 0) oldest.inner.free();
      else oldest.letGo = true;
    }
    keptReceivers.set(key, receiver);
  } else if (key !== newestKey) {
    keptReceivers.delete(key); // re-inserted: a Map iterates in insertion order
    keptReceivers.set(key, receiver);
  }
  newestKey = key;
  receiver.uses += 1;
  try {
    return use(receiver);
  } finally {
    receiver.uses -= 1;
    if (receiver.letGo && receiver.uses === 0) receiver.inner.free();
  }
}

/**
 * `use(receiver)`, the receiver's wasm memory freed after it. Left to the finalizer, a loop of
 * one-shot calls grew the wasm memory by ~540 bytes a call until the event loop got a turn
 * (264 MiB after 500,000 calls), and wasm memory never shrinks.
 */
function once(receiver, use) {
  try {
    return use(receiver);
  } finally {
    receiver.inner.free();
  }
}

export function detectProvider(request) {
  const flat = flattenHeaders(request.headers);
  const pairs = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
  return coreCall("detect_provider", [request.method ?? "POST", request.url ?? null, pairs], bodyArg(request.body));
}

// Policies and acks are pure functions of their arguments: computed once per process.
const policies = new Map();
const acks = new Map();

export function retryPolicy(provider) {
  let policy = policies.get(provider);
  if (policy === undefined) {
    policy = Object.freeze(coreCall("retry_policy", [provider]));
    policies.set(provider, policy);
  }
  return policy;
}

/** `{status, provider_action}` to answer for an outcome. */
export function ack(provider, outcome) {
  const key = `${provider}\u0000${outcome}`;
  let answer = acks.get(key);
  if (answer === undefined) {
    answer = Object.freeze(coreCall("ack", [provider, outcome]));
    acks.set(key, answer);
  }
  return answer;
}

/** Whether `incoming` may replace the stored `current` delivery status. */
export function statusWins(current, incoming) {
  return coreCall("status_wins", [current ?? null, incoming]);
}

/**
 * The status ledger's merge rule: `{verdict, state}` for the stored `state` (null for none) and
 * a normalized status event. `verdict` is "applied", "stale" or "after_final".
 */
export function ledgerApply(state, event) {
  return coreCall("ledger_apply", [state ?? null, event]);
}

/** The flat values a store writes for a normalized status event (see the D1 ledger). */
export function ledgerUpdate(event) {
  return coreCall("ledger_update", [event]);
}

let storeTexts;
/** The ledger's write for each store (`sqlite_upsert`, `postgres_upsert`, `redis_script`, `params`). */
export function ledgerStores() {
  storeTexts ??= Object.freeze(coreCall("ledger_stores", []));
  return storeTexts;
}

/** A Fetch API `Request` as telhook's request; the body is read once, as raw bytes. */
export async function fromRequest(request) {
  const body = new Uint8Array(await request.arrayBuffer());
  return { method: request.method, url: request.url, headers: request.headers, body };
}
