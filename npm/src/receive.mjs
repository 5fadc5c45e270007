// The receive step around the core (issue 11): read the body under the cap, verify and
// normalize, claim the event in the dedupe store, call the user's handler, answer. Every status,
// header and body comes from the core's `decide(step)`; this file only does the I/O and turns
// what happened into a step. The Fetch handler and the Node middleware share all of it.
import { Receiver, retryPolicy } from "./api.mjs";
import { RAW_BODY_GONE, readFetchBody, readNodeBody, TOO_LARGE } from "./body.mjs";
import { ConfigurationError, coreCall, errorFrom, nowSeconds, RequestError, TelhookError } from "./internal.mjs";

// The answer is a pure function of the step, whose values come from small vocabularies
// (providers, error codes, states, statuses 100..599): memoized, a few hundred entries at most.
const answers = new Map();

function decide(step) {
  const key = JSON.stringify(step);
  let answer = answers.get(key);
  if (answer === undefined) {
    const parsed = coreCall("decide", [step]);
    parsed.headers = Object.freeze(parsed.headers.map((pair) => Object.freeze(pair)));
    answer = Object.freeze(parsed);
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

const CLAIM_STATES = new Set(["new", "in_progress", "done"]);
const CONFIG_KEYS = ["provider", "credentials", "onEvent", "store", "onError", "options", "clock"];

/** The default `onError`: provider, event id and code, at the level the core chose — never the body. */
function logError(error, { provider, eventId, code, log }) {
  const line = `telhook: ${code} (provider ${provider ?? "unknown"}, event ${eventId ?? "unknown"})`;
  const write = log === "warning" ? console.warn : console.error;
  // Core errors carry messages built from static text only; anything else (the handler's own
  // exception) is printed with its stack, which is the user's code.
  if (error instanceof TelhookError) write(`${line}: ${error.message}`);
  else write(line, error);
}

/** A clock reading (UNIX seconds, a Date or RFC 3339 text) as whole seconds; NaN for anything else. */
function clockSeconds(reading) {
  if (typeof reading === "number") return Number.isFinite(reading) ? Math.floor(reading) : reading;
  if (reading instanceof Date || typeof reading === "string") return nowSeconds(reading);
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
  const { provider = null, credentials, onEvent, store, onError = logError, options = {}, clock } = config;
  if (typeof onEvent !== "function") throw new TypeError(`${name}: onEvent must be a function (event, context) => unknown`);
  if (store === undefined) {
    throw new TypeError(
      `${name}: store is required: memoryStore() for one process, durableObjectStore(env.BINDING) on Workers, ` +
        "your own {claim, complete, release}, or null to call onEvent for every delivery",
    );
  }
  if (store !== null && !["claim", "complete", "release"].every((method) => typeof store[method] === "function")) {
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
  const now = clock === undefined ? () => Math.floor(Date.now() / 1000) : () => clockSeconds(clock());
  // Date.now() is milliseconds: a clock returning it would reject every timestamped request.
  coreCall("check_now", [now()]);
  return {
    provider: receiver.provider,
    receiver,
    cap: receiver.inner.maxBodyBytes,
    store,
    onEvent,
    onError,
    now,
  };
}

function report(setup, error, answer, provider, eventId) {
  try {
    setup.onError(error, { provider, eventId, code: answer.code, status: answer.status, log: answer.log });
  } catch (hookError) {
    // A broken onError must not change the answer.
    console.error("telhook: onError threw", hookError);
  }
}

function rejected(setup, provider, code, error) {
  const answer = decide({ step: "rejected", provider, code });
  report(setup, error, answer, provider, null);
  return { answer };
}

/**
 * One delivery through the contract. `request` is `{method, url, headers}`, `readBody(cap)`
 * resolves to the bytes, TOO_LARGE or RAW_BODY_GONE. Resolves to `{answer, response?}`;
 * `response` is the handler's own response, to be sent instead of the answer's status and body.
 */
async function run(setup, request, readBody, context) {
  const configured = setup.provider;
  if (request.method.toUpperCase() !== "POST") {
    const error = errorFrom(coreCall("method_not_allowed", []));
    return rejected(setup, configured, error.code, error);
  }
  const body = await readBody(setup.cap);
  if (body === TOO_LARGE) {
    return rejected(
      setup,
      configured,
      "body_too_large",
      new RequestError("body_too_large", `body: expected at most max_body_bytes (${setup.cap}) bytes`, "request"),
    );
  }
  if (body === RAW_BODY_GONE) {
    const error = errorFrom(coreCall("raw_body_unavailable", []));
    return rejected(setup, configured, error.code, error);
  }
  let event;
  try {
    event = setup.receiver.normalize({ ...request, body }, { now: setup.now() });
  } catch (error) {
    if (!(error instanceof TelhookError)) throw error;
    return rejected(setup, configured, error.code, error);
  }
  const { provider, id } = event;
  const policy = retryPolicy(provider);
  const { store } = setup;
  // This delivery's claim: only it may complete or release it.
  const token = newToken();
  if (store !== null) {
    let state;
    try {
      state = await store.claim(id, token, policy.in_progress_lease_secs);
      if (!CLAIM_STATES.has(state)) throw new TypeError('store.claim must return "new", "in_progress" or "done"');
    } catch (error) {
      const answer = decide({ step: "store_failed", provider });
      report(setup, error, answer, provider, id);
      return { answer };
    }
    if (state !== "new") return { answer: decide({ step: "claimed", provider, state }) };
  }
  let step = { step: "handled", provider, outcome: "ok" };
  let response;
  let failure;
  try {
    const result = await setup.onEvent(event, context);
    if (isResponseLike(result)) {
      if (!Number.isInteger(result.status) || result.status < 100 || result.status > 599) {
        throw new TypeError("onEvent returned a response whose status is not an integer in 100..599");
      }
      step = { step: "handled", provider, status: result.status };
      response = result;
    }
  } catch (error) {
    failure = error;
    step = { step: "handled", provider, outcome: "failed" };
    response = undefined;
  }
  const answer = decide(step);
  if (failure !== undefined) report(setup, failure, answer, provider, id);
  if (store !== null && answer.dedupe !== "none") {
    try {
      if (answer.dedupe === "complete") await store.complete(id, token, policy.dedupe_ttl_secs);
      else await store.release(id, token);
    } catch (error) {
      // The handler has run: its answer stands. A claim that could not be completed or released
      // expires after the lease, so a redelivery is processed again rather than lost.
      report(setup, error, decide({ step: "store_failed", provider }), provider, id);
    }
  }
  return { answer, response };
}

/** `run`, with anything unexpected (a throwing clock, a broken stream) answered as the core's internal error. */
async function receive(setup, request, readBody, context) {
  try {
    return await run(setup, request, readBody, context);
  } catch (error) {
    return rejected(setup, setup.provider, "internal", error);
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
 * A Fetch API handler: `(request, env?, ctx?) => Promise<Response>` for Workers
 * (`export default { fetch: handler }`), Deno, Bun, Node 18+ and Hono (`handler(c.req.raw, c.env,
 * c.executionCtx)`). `onEvent(event, { request, env, ctx })`.
 */
export function createHandler(config) {
  const setup = prepare(config, "createHandler");
  return async function fetch(request, env, ctx) {
    const { answer, response } = await receive(
      setup,
      { method: request.method, url: request.url, headers: request.headers },
      (cap) => readFetchBody(request, cap),
      { request, env, ctx },
    );
    // A 204/304/1xx answer has an empty body, which Fetch only accepts as null.
    if (response === undefined) return new Response(answer.body || null, { status: answer.status, headers: answer.headers });
    if (response instanceof Response && response.body !== null) return response;
    const parts = await handlerResponseParts(response, answer);
    return new Response(parts.body, { status: parts.status, headers: parts.headers });
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
    const { answer, response } = await receive(
      setup,
      // rawHeaders keeps every copy of a repeated header (req.headers joins or drops them), so
      // the core sees a conflicting duplicate and answers ambiguous_header as everywhere else.
      { method: req.method, url: req.originalUrl ?? req.url, headers: req.rawHeaders ?? req.headers },
      (cap) => readNodeBody(req, cap),
      { req },
    );
    if (answer.code === "body_too_large") {
      // The rest of an oversized body is being discarded; do not keep the connection for more.
      res.setHeader("connection", "close");
    }
    if (response === undefined) {
      res.statusCode = answer.status;
      for (const [name, value] of answer.headers) res.setHeader(name, value);
      res.end(answer.body);
      return;
    }
    const parts = await handlerResponseParts(response, answer);
    res.statusCode = parts.status;
    // Headers iterate set-cookie once per cookie: gather repeated names instead of overwriting.
    const headers = new Map();
    parts.headers.forEach((value, name) => headers.set(name, [...(headers.get(name) ?? []), value]));
    for (const [name, values] of headers) res.setHeader(name, values.length === 1 ? values[0] : values);
    res.end(parts.body ?? undefined);
  };
}
