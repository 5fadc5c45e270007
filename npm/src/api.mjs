// The JavaScript face of telhook: converts JS values to the wasm core's inputs and back.
// No webhook rule lives here — every decision (verification, parsing, status, retry policy,
// which HTTP status to answer) is made by the Rust core compiled to WebAssembly.
import * as core from "../wasm/telhook_wasm.js";

const DEFAULT_CREDENTIALS = "null";

/** Base class of every error telhook throws; `code` is the core's stable code. */
export class TelhookError extends Error {
  constructor(code, message, kind) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
  }
}
/** The request is not authentic, or its credentials are missing or garbled. */
export class VerificationError extends TelhookError {}
/** The body cannot be understood. */
export class ParseError extends TelhookError {}
/** The receiver is misconfigured (unknown provider, missing or empty credentials). */
export class ConfigurationError extends TelhookError {}
/** The request is unacceptable before parsing (method, size, undetectable provider). */
export class RequestError extends TelhookError {}

const ERROR_CLASSES = {
  verification: VerificationError,
  parse: ParseError,
  configuration: ConfigurationError,
  request: RequestError,
};

function rethrow(raw) {
  if (typeof raw !== "string") throw raw;
  let detail;
  try {
    detail = JSON.parse(raw);
  } catch {
    throw new TelhookError("internal", String(raw), "request");
  }
  const ErrorClass = ERROR_CLASSES[detail.kind] ?? TelhookError;
  throw new ErrorClass(detail.code, detail.message, detail.kind);
}

function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (raw) {
    rethrow(raw);
  }
}

const encoder = new TextEncoder();

function toBytes(body) {
  if (body == null) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new RequestError("invalid_request", "body must be a Uint8Array, ArrayBuffer, Buffer or string", "request");
}

/** Headers as the flat [name, value, …] list the core reads. */
function flattenHeaders(headers) {
  const flat = [];
  if (headers == null) return flat;
  const push = (name, value) => {
    if (Array.isArray(value)) {
      for (const item of value) flat.push(String(name), String(item));
    } else if (value !== undefined) {
      flat.push(String(name), String(value));
    }
  };
  if (typeof headers.forEach === "function" && typeof headers.get === "function" && !Array.isArray(headers)) {
    // Fetch API Headers (or a Map).
    headers.forEach((value, name) => push(name, value));
  } else if (Array.isArray(headers) || typeof headers[Symbol.iterator] === "function") {
    for (const pair of headers) push(pair[0], pair[1]);
  } else {
    for (const name of Object.keys(headers)) push(name, headers[name]);
  }
  return flat;
}

function nowSeconds(now) {
  if (now == null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === "string") return call(core.parseTime, now);
  return now;
}

/** The core's request arguments (method, url, flat headers, body bytes), converted once for every entry point. */
function requestArgs(request) {
  return [request.method ?? "POST", request.url ?? undefined, flattenHeaders(request.headers), toBytes(request.body)];
}

function credentialsJson(credentials) {
  if (credentials === undefined || credentials === null) return DEFAULT_CREDENTIALS;
  return typeof credentials === "string" ? credentials : JSON.stringify(credentials);
}

/**
 * A configured receiver: credentials parsed once, reused for every request.
 * `provider` may be null to detect it from each request.
 */
export class Receiver {
  constructor(provider, credentials, options = {}) {
    const { now: _ignored, ...limits } = options;
    this.provider = provider ?? null;
    this.inner = call(
      (...a) => new core.Receiver(...a),
      this.provider,
      credentialsJson(credentials),
      JSON.stringify(limits),
    );
  }

  normalize(request, options = {}) {
    return JSON.parse(call((...a) => this.inner.normalize(...a), ...requestArgs(request), nowSeconds(options.now)));
  }

  verify(request, options = {}) {
    return call((...a) => this.inner.verify(...a), ...requestArgs(request), nowSeconds(options.now));
  }
}

/**
 * Verifies and normalizes one request. `options`: `{ now?: number | Date | string,
 * max_body_bytes?: number }`; `now` defaults to the host clock.
 */
export function normalizeEvent(provider, request, credentials, options = {}) {
  return new Receiver(provider, credentials, options).normalize(request, options);
}
export const normalize_event = normalizeEvent;

/** Verifies only; returns the provider's name. */
export function verify(provider, request, credentials, options = {}) {
  return new Receiver(provider, credentials, options).verify(request, options);
}

/** Parses a body into the provider's typed payload, without verifying it. */
export function parse(provider, body) {
  return JSON.parse(call(core.parse, provider, toBytes(body)));
}

export function detectProvider(request) {
  return call(core.detectProvider, ...requestArgs(request));
}
export const detect_provider = detectProvider;

// Policies and acks are pure functions of their arguments: computed once per process.
const policies = new Map();
const acks = new Map();

export function retryPolicy(provider) {
  let policy = policies.get(provider);
  if (policy === undefined) {
    policy = Object.freeze(JSON.parse(call(core.retryPolicy, provider)));
    policies.set(provider, policy);
  }
  return policy;
}
export const retry_policy = retryPolicy;

/** `{status, provider_action}` to answer for an outcome. */
export function ack(provider, outcome) {
  const key = `${provider}\u0000${outcome}`;
  let answer = acks.get(key);
  if (answer === undefined) {
    answer = Object.freeze(JSON.parse(call(core.ack, provider, outcome)));
    acks.set(key, answer);
  }
  return answer;
}

/** Whether `incoming` may replace the stored `current` delivery status. */
export function statusWins(current, incoming) {
  return call(core.statusWins, current ?? undefined, incoming);
}
export const status_wins = statusWins;

/** A Fetch API `Request` as telhook's request; the body is read once, as raw bytes. */
export async function fromRequest(request) {
  const body = new Uint8Array(await request.arrayBuffer());
  return { method: request.method, url: request.url, headers: request.headers, body };
}

/** A raw HTTP/1.1 capture (request line, headers, body) as a request, e.g. to replay one. */
export function fromHttpCapture(capture) {
  const request = JSON.parse(call(core.parseHttpCapture, toBytes(capture)));
  const body = Uint8Array.from(atob(request.body_base64), (c) => c.charCodeAt(0));
  return { method: request.method, url: request.url ?? undefined, headers: request.headers, body };
}

/** An in-memory dedupe store: per process/isolate only. Use a shared store in production. */
export function memoryDedupe() {
  const seen = new Map();
  return {
    add(key, ttlSeconds) {
      const now = Date.now();
      const expiry = seen.get(key);
      if (expiry !== undefined && expiry > now) return false;
      seen.set(key, now + ttlSeconds * 1000);
      return true;
    },
    delete(key) {
      seen.delete(key);
    },
  };
}

/**
 * Verify → normalize → dedupe → onEvent, answering the status `ack` chooses. Shared by the
 * Fetch handler and the Node middleware; returns `{status, body}`.
 */
async function receive(receiver, request, { onEvent, dedupe, onError, clock }) {
  let event;
  try {
    event = receiver.normalize(request, { now: clock?.() });
  } catch (error) {
    if (!(error instanceof TelhookError)) throw error;
    onError?.(error);
    const status = call(core.ackStatusForError, error.kind);
    return { status, body: JSON.stringify({ error: error.code }) };
  }
  const policy = retryPolicy(event.provider);
  if (dedupe && !(await dedupe.add(event.id, policy.dedupe_ttl_secs))) {
    return { status: ack(event.provider, "duplicate").status, body: "" };
  }
  try {
    await onEvent(event);
  } catch (error) {
    // Forget the key so that the provider's retry is processed instead of dropped.
    await dedupe?.delete?.(event.id);
    onError?.(error);
    return { status: ack(event.provider, "internal_error").status, body: JSON.stringify({ error: "internal_error" }) };
  }
  return { status: ack(event.provider, "accepted").status, body: "" };
}

/** A Fetch API handler (`export default { fetch: createHandler(...) }` in a Worker). */
export function createHandler({ provider = null, credentials, onEvent, dedupe, onError, options, clock } = {}) {
  if (typeof onEvent !== "function") {
    throw new ConfigurationError("invalid_configuration", "createHandler needs an onEvent function", "configuration");
  }
  const receiver = new Receiver(provider, credentials, options);
  return async function fetch(request) {
    const result = await receive(receiver, await fromRequest(request), { onEvent, dedupe, onError, clock });
    const headers = result.body ? { "content-type": "application/json" } : {};
    return new Response(result.body || null, { status: result.status, headers });
  };
}

/**
 * Node `http` / Express / Connect middleware. It reads the raw body itself: mount it before
 * any JSON body parser (or use express.raw()), because a parsed-and-reserialized body can
 * never be verified.
 */
export function createNodeMiddleware({ provider = null, credentials, onEvent, dedupe, onError, options, clock } = {}) {
  if (typeof onEvent !== "function") {
    throw new ConfigurationError("invalid_configuration", "createNodeMiddleware needs an onEvent function", "configuration");
  }
  const receiver = new Receiver(provider, credentials, options);
  return async function telhookMiddleware(req, res, next) {
    try {
      let body;
      if (req.body instanceof Uint8Array || typeof req.body === "string") {
        body = req.body;
      } else if (req.body !== undefined && req.body !== null && typeof req.body === "object" && req.readableEnded) {
        throw new ConfigurationError(
          "body_already_parsed",
          "the request body was parsed before telhook saw it; mount telhook before express.json() or use express.raw()",
          "configuration",
        );
      } else {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        body = Buffer.concat(chunks);
      }
      const result = await receive(
        receiver,
        { method: req.method, url: req.originalUrl ?? req.url, headers: req.headers, body },
        { onEvent, dedupe, onError, clock },
      );
      res.statusCode = result.status;
      if (result.body) res.setHeader("content-type", "application/json");
      res.end(result.body);
    } catch (error) {
      if (typeof next === "function") return next(error);
      res.statusCode = 500;
      res.end();
    }
  };
}
