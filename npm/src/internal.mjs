// Conversions between JS values and the wasm core's inputs, shared by the public modules
// (api.mjs, receive.mjs, stores.mjs). Not exported from the package.
import * as core from "../wasm/telhook_wasm.js";

/**
 * Base class of every error telhook throws: `code` is the core's stable code, `kind` its family,
 * `field` where the problem is (`headers.x-lime-signature`, `now`) and `expected` what belongs
 * there, when known (else null). Python's `WebhookError` takes the same arguments in this order.
 */
/**
 * Whether `value` has each of `methods` as a function: the one shape check for what a user passes
 * in (a store, an inbox, a queue, a bucket), so every constructor accepts the same things.
 */
export function hasMethods(value, ...methods) {
  // A function may be one too: workerd's RPC stubs (an RpcTarget over RPC), a class with static methods.
  return value !== null && (typeof value === "object" || typeof value === "function") && methods.every((method) => typeof value[method] === "function");
}

export class TelhookError extends Error {
  constructor(code, message, kind, field = null, expected = null) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.field = field;
    this.expected = expected;
  }
}
/** The request is not authentic, or its credentials are missing or garbled. */
export class VerificationError extends TelhookError {}
/** The body cannot be understood. */
export class ParseError extends TelhookError {}
/** The receiver is misconfigured (unknown provider, missing or empty credentials, clock). */
export class ConfigurationError extends TelhookError {}
/** The request is unacceptable before parsing (method, size, undetectable provider). */
export class RequestError extends TelhookError {}

const ERROR_CLASSES = {
  verification: VerificationError,
  parse: ParseError,
  configuration: ConfigurationError,
  request: RequestError,
};

/** The core's error, thrown as JSON text `{code, kind, message, field, expected}`, as a TelhookError subclass. */
export function telhookErrorOf(raw) {
  let detail;
  try {
    detail = JSON.parse(raw);
  } catch {
    return new Error(`telhook: the core threw a value that is not its JSON error form: ${raw.slice(0, 200)}`);
  }
  return errorFrom(detail);
}

/** The core's error record (`api::Failure`) as a TelhookError subclass. */
export function errorFrom(detail) {
  const ErrorClass = ERROR_CLASSES[detail.kind] ?? TelhookError;
  return new ErrorClass(detail.code, detail.message, detail.kind, detail.field ?? null, detail.expected ?? null);
}

/** Anything else the wasm module throws (a trap above all) is a bug and passes through. */
export function rethrow(raw) {
  throw typeof raw === "string" ? telhookErrorOf(raw) : raw;
}

/** Calls a core function, turning its errors into TelhookError subclasses. */
export function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (raw) {
    rethrow(raw);
  }
}

const NO_BYTES = new Uint8Array(0);

/** An entry point of the core by name (`api::call`): arguments as a JSON array, the result parsed. */
export function coreCall(name, args, bytes = NO_BYTES) {
  return JSON.parse(call(core.call, name, JSON.stringify(args), bytes));
}

const CLOSING_BRACKET = 0x5d;

/**
 * The event from the core's event text (`api::EventText`), which starts at `start`: its JSON,
 * or, when its long message text crossed apart (`from.sharedText()`: the wasm `Receiver` or
 * `Delivery` that gave the text, asked once), its JSON with
 * `message.text` and that text's place in `raw` null, a line feed and the path to the place, so
 * the text ends in `]`, not `}`. Both places then hold the one string that crossed.
 */
export function eventFrom(text, start, from) {
  if (text.charCodeAt(text.length - 1) !== CLOSING_BRACKET) return JSON.parse(start === 0 ? text : text.slice(start));
  const cut = text.lastIndexOf("\n");
  const event = JSON.parse(text.slice(start, cut));
  const steps = JSON.parse(text.slice(cut + 1));
  const last = steps.pop();
  let parent = event.raw;
  for (const step of steps) parent = parent[step];
  const shared = from.sharedText();
  parent[last] = shared;
  event.message.text = shared;
  return event;
}

/**
 * A request's body as the glue's body parameters take it: bytes, or a string as it is. The glue
 * encodes a string as UTF-8 straight into the module's memory (npm/scripts/patch-glue.mjs), so a
 * string body is never also encoded here (at 64 KiB that copy took ~9 µs of a call more).
 */
export function bodyArg(body) {
  if (body == null) return new Uint8Array(0);
  if (body instanceof Uint8Array || typeof body === "string") return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("body must be a Uint8Array, ArrayBuffer, Buffer or string");
}

/** Headers as the flat [name, value, …] list the core reads. */
function invalidHeaders(expected) {
  return new RequestError("invalid_request", `headers: ${expected}`, "request", "headers", expected);
}

export function flattenHeaders(headers) {
  const flat = [];
  if (headers == null) return flat;
  const push = (name, value) => {
    if (Array.isArray(value)) {
      for (const item of value) flat.push(String(name), String(item));
    } else if (value !== undefined) {
      flat.push(String(name), String(value));
    }
  };
  // Node's req.rawHeaders: [name, value, name, value, …], already the core's form. Copied, each
  // element read once: an element that is a getter (or a Proxy's) must not run again while the
  // headers are packed, where it could pack another request into the shared lengths array or
  // give another string the second time (found by review).
  const copied = Array.isArray(headers) ? headers.slice() : undefined;
  if (typeof headers.forEach === "function" && typeof headers.get === "function" && copied === undefined) {
    // Fetch API Headers (or a Map).
    headers.forEach((value, name) => push(name, value));
  } else if (copied !== undefined && copied.every((item) => typeof item === "string")) {
    if (copied.length % 2 !== 0) throw invalidHeaders("a flat headers array must hold name, value pairs");
    return copied;
  } else if (copied !== undefined || typeof headers[Symbol.iterator] === "function") {
    for (const pair of copied ?? headers) {
      if (!Array.isArray(pair) || pair.length !== 2) throw invalidHeaders("headers pairs must be [name, value] arrays");
      push(pair[0], pair[1]);
    }
  } else {
    for (const name of Object.keys(headers)) push(name, headers[name]);
  }
  // A repeated header that Fetch joined ("a, b") is the core's to read as its lines.
  return flat;
}

/**
 * Options as JSON for the core, which checks them: NaN and ±Infinity (JSON.stringify's null,
 * which would mean "the default") go as text, so the core refuses them like any other
 * non-integer instead of a `Number(process.env.X)` of an unset variable passing silently.
 */
export function optionsJson(options) {
  return JSON.stringify(options, (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? String(value) : value)) ?? "null";
}

/** A `now` given as UNIX seconds, a Date or RFC 3339 text, as UNIX seconds. */
export function nowSeconds(now) {
  if (now == null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === "string") return coreCall("parse_time", [now]);
  // `+` as the glue applies it, here: a `valueOf` runs before the request is packed.
  return +now;
}

/**
 * One lengths array per count of names and values, reused: creating a Uint32Array costs ~0.3
 * µs in Node 20, more than the rest of packing a dozen headers (bench/PROFILE.md, fifteenth
 * session). Safe to share because each caller packs right before its entry point's call, which
 * copies the array into wasm memory, and packs an array of strings of its own (flattenHeaders):
 * none of the caller's code runs in between that could pack again.
 */
const lengthsByCount = [];
const MAX_REUSED_COUNT = 128;

/**
 * Flat headers as the wasm entry points take them: joined into one text, with each name's and
 * value's length — one string crossing the boundary instead of two a header (bindings-wasm's
 * `header_pairs`).
 */
export function packHeaders(flat) {
  const count = flat.length;
  let lengths = lengthsByCount[count];
  if (lengths === undefined) {
    lengths = new Uint32Array(count);
    if (count <= MAX_REUSED_COUNT) lengthsByCount[count] = lengths;
  }
  for (let i = 0; i < count; i++) lengths[i] = flat[i].length;
  return [flat.join(""), lengths];
}

/**
 * `method`, the request's URL and its packed headers, as the entry points take them. Strings
 * here, not in the glue, and the headers packed last: no code of the caller's (a getter, a
 * `toString`) runs between the packing and the call it is for.
 */
export function requestLineArgs(method, request) {
  const url = request.url == null ? undefined : String(request.url);
  const line = String(method);
  const [headerText, headerLengths] = packHeaders(flattenHeaders(request.headers));
  return [line, url, headerText, headerLengths];
}

/**
 * The core's request arguments (method, url, packed headers, body), converted once for every
 * entry point. Built and taken apart without spreading: on a 388-byte delivery the spreads and
 * the rest-parameter wrapper around the call were 2-3 % of `Receiver.normalize` in Node 20.
 */
export function requestArgs(request) {
  const body = bodyArg(request.body);
  const args = requestLineArgs(request.method ?? "POST", request);
  args.push(body);
  return args;
}

/**
 * `undefined` (or `null`) inside the credentials object is almost always an unset environment
 * variable; JSON.stringify would silently drop it (and with it, e.g., the Bearer check), so it
 * is refused here, before JSON, naming the field and never a value.
 */
function missingCredentialPath(value, path) {
  if (value === undefined || value === null) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = missingCredentialPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (typeof value === "object") {
    for (const key of Object.keys(value)) {
      const found = missingCredentialPath(value[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return null;
}

export function credentialsJson(credentials) {
  if (credentials === undefined || credentials === null) return "null";
  if (typeof credentials === "string") return credentials;
  for (const key of Object.keys(credentials)) {
    const path = missingCredentialPath(credentials[key], `credentials.${key}`);
    if (path) {
      throw new ConfigurationError(
        "missing_credentials",
        `${path} is undefined or null: expected a non-empty value (is an environment variable unset?)`,
        "configuration",
        path,
        "a non-empty value",
      );
    }
  }
  return JSON.stringify(credentials);
}
