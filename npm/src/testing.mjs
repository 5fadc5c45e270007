// telhook/testing: signed sample webhooks for tests, made by the same Rust core that verifies
// them, and the tools that inspect a body (`parse`) or replay a capture (`fromHttpCapture`).
// Its own wasm module (telhook_wasm_kit_bg.wasm, built from bindings-wasm-kit), read from disk:
// Node, Bun and Deno, not Workers or edge runtimes. The signing, sample and typed-payload code
// stays out of the module a receiver loads. The error classes are the package's own, so
// `instanceof` works.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync, call } from "../wasm/telhook_wasm_kit.js";
import { TelhookError, VerificationError, ParseError, ConfigurationError, RequestError } from "telhook";

// Beside this module in dist/ (the CommonJS bundle defines import.meta.url as its own file's URL).
initSync({ module: readFileSync(fileURLToPath(new URL("./telhook_wasm_kit_bg.wasm", import.meta.url))) });

const ERROR_CLASSES = { verification: VerificationError, parse: ParseError, configuration: ConfigurationError, request: RequestError };

/** An entry point of this instance's core by name (`api::call`), its error as the package's class. */
function callCore(name, args, bytes = new Uint8Array(0)) {
  try {
    return JSON.parse(call(name, JSON.stringify(args), bytes));
  } catch (raw) {
    if (typeof raw !== "string") throw raw;
    const d = JSON.parse(raw);
    throw new (ERROR_CLASSES[d.kind] ?? TelhookError)(d.code, d.message, d.kind, d.field ?? null, d.expected ?? null);
  }
}

/** The event kinds `sample` knows for `provider`; the first is the default. */
export function eventKinds(provider) {
  return callCore("event_kinds", [provider]);
}

/** A random integer below 2^52: any JSON reader keeps it exactly. */
function randomNumber() {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (high & 0xfffff) * 2 ** 32 + low;
}

/**
 * New values for the fields that key an event of `kind` (each provider's `identity` in the
 * core): the event id where the provider sends one, else the message, call or record id the
 * key is made of. The same rule as telhook.testing in Python; a provider without a rule here
 * (Twilio, Telnyx, Vonage, any added later) takes the core's own for a random serial.
 */
function freshKey(provider, kind) {
  if (provider === "lisoloo" || (provider === "gatewayapi" && kind.includes("."))) return { event_id: crypto.randomUUID() };
  if (provider === "gatewayapi") return { id: randomNumber() }; // the legacy shapes key on the message id
  if (provider === "limephone") return { [kind.startsWith("sms_") ? "message_id" : "call_id"]: String(randomNumber()) };
  if (provider === "looplookup") return { webhook_id: crypto.randomUUID() };
  if (provider === "did_reseller") {
    // A hash of the body: a new record id (or error text).
    return kind === "sms_enablement.error" ? { verbose: `already provisioned (request ${randomNumber()})` } : { data: { id: randomNumber() } };
  }
  return callCore("identity", [provider, kind, randomNumber()]);
}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/** One merge patch doing what `first` then `second` do (`second` wins). */
function compose(first, second) {
  const out = { ...first };
  for (const [key, value] of Object.entries(second)) {
    out[key] = isObject(value) && isObject(out[key]) ? compose(out[key], value) : value;
  }
  return out;
}

/**
 * A realistic body of `eventKind`, with `overrides` merged in (JSON merge patch), as bytes.
 * Each call is a new event (a fresh event id) unless `overrides` names the id.
 */
export function sample(provider, eventKind, overrides) {
  const kind = eventKind ?? eventKinds(provider)[0];
  const patch = overrides == null || isObject(overrides) ? compose(freshKey(provider, String(kind)), overrides ?? {}) : overrides;
  return new TextEncoder().encode(callCore("sample", [provider, kind, patch]));
}

function bodyBytes(body) {
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  throw new RequestError("invalid_request", "body must be a Uint8Array or a string", "request", "body", "a Uint8Array or a string");
}

/** A body or capture (`field` names which) as bytes: a string, a Uint8Array (a Buffer too), an ArrayBuffer or a view of one. */
function inputBytes(input, field) {
  if (typeof input === "string") return new TextEncoder().encode(input);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const expected = "a string, Uint8Array, ArrayBuffer or view of one";
  throw new RequestError("invalid_request", `${field} must be ${expected}`, "request", field, expected);
}

/**
 * Parses a body into the provider's typed payload, without verifying it; secrets redacted. To
 * inspect a body, not to receive one: here, not in the package's main entry, so that the module
 * a receiver loads carries no typed payloads.
 */
export function parse(provider, body) {
  return callCore("parse", [provider], inputBytes(body, "body"));
}

/** A raw HTTP/1.1 capture (request line, headers, body) as a request, e.g. to replay one. */
export function fromHttpCapture(capture) {
  const request = callCore("parse_http_capture", [], inputBytes(capture, "capture"));
  const body = Uint8Array.from(atob(request.body_base64), (c) => c.charCodeAt(0));
  return shownAs("CapturedRequest", request.shown, { method: request.method, url: request.url ?? undefined, headers: request.headers, body });
}

/**
 * `request` with an inspect that prints the core's view of it (`shown`: the values of
 * credentials' headers and query parameters `[REDACTED]`, the body's size): its headers hold
 * them, and a test's failure output or a log printed them (a review).
 */
function shownAs(kind, shown, request) {
  Object.defineProperty(request, Symbol.for("nodejs.util.inspect.custom"), {
    value: () => kind + shown.slice("WebhookRequest".length),
  });
  return request;
}

function nowSeconds(now) {
  if (now == null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  return now;
}

/**
 * The request `provider` sends: `body`, or a sample of `eventKind` (a new event on every call
 * unless `overrides` names its id), signed with every scheme
 * `credentials` configure (or only `scheme`). Returns a Node-friendly object
 * `{ method, url, headers, body, toRequest(base) }`; `url` is a path with the query the scheme
 * needs, `toRequest(base)` the same request as a Fetch `Request` aimed at `base`. `transport`:
 * "form" (a form POST) or "query" (a GET) sends a flat JSON body's parameters the way Vonage's
 * SMS API may (default: the provider's usual body).
 */
export function signedRequest(provider, { eventKind, body, overrides, credentials, now, scheme, url, transport } = {}) {
  const raw = body == null ? sample(provider, eventKind, overrides) : bodyBytes(body);
  const wire = callCore("sign", [provider, credentials ?? null, nowSeconds(now), scheme ?? null, url ?? null, transport ?? null], raw);
  const signedBody = Uint8Array.from(atob(wire.body_base64), (c) => c.charCodeAt(0));
  const headers = Object.fromEntries(wire.headers);
  // Signed for a full URL (`url`): sent there unless told otherwise.
  const urlFor = (base = url === undefined ? undefined : wire.url) => {
    if (base === undefined) throw new TypeError("urlFor/toRequest: give the URL to send to (or sign with the url option)");
    return callCore("target_url", [String(base), wire.url]);
  };
  return shownAs("SignedRequest", wire.shown, {
    method: wire.method,
    url: wire.url,
    headers,
    body: signedBody,
    urlFor,
    // A GET (Vonage's SMS API, Twilio Voice by GET) carries no body: a Fetch Request refuses one.
    toRequest: (base) =>
      new Request(urlFor(base), {
        method: wire.method,
        headers,
        ...(wire.method === "GET" || wire.method === "HEAD" ? {} : { body: signedBody }),
      }),
  });
}
