// The honest best a user would write without telhook, on Node's native crypto: verify the
// provider's scheme with createHmac + timingSafeEqual, JSON.parse, and map the same fields
// telhook maps (bench.mjs checks each against telhook's event), with what depends only on the
// secrets made once, as telhook's Receiver does. Written once, for the benchmark; a reviewer
// made it faster where it did more than it needed (canonical times, regexes, per-call buffers).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

function safeEqual(a, expected) {
  // expected: a Buffer made once from the secret (secretsOf).
  const x = Buffer.from(a);
  return x.length === expected.length && timingSafeEqual(x, expected);
}

function hmacHexOk(secret, body, signature) {
  if (typeof signature !== "string" || signature.length !== 64) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(signature, "hex");
  return given.length === 32 && timingSafeEqual(expected, given);
}

function e164(n) {
  if (n == null) return null;
  const s = typeof n === "string" ? n : String(n);
  // The common spellings, "+digits" and bare digits, without the regex.
  for (let i = s.charCodeAt(0) === 43 ? 1 : 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return "+" + s.replace(/[^0-9]/g, "");
  }
  return s.charCodeAt(0) === 43 ? (s.length > 1 ? s : "+") : "+" + s;
}
// YYYY-MM-DDTHH:MM:SSZ, the form providers send and telhook writes: checked by Date.parse, then its own answer.
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
function iso(t) {
  if (t == null) return null;
  if (typeof t === "number") return new Date(t * 1000).toISOString();
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new RangeError("Invalid time value");
  return t.length === 20 && CANONICAL.test(t) ? t : new Date(ms).toISOString();
}
// LoopLookup's dates ("2022-12-13"): UTC midnight, checked by Date.parse.
function day(d) {
  if (d == null) return null;
  if (d.length === 10 && d[4] === "-" && d[7] === "-") {
    if (Number.isNaN(Date.parse(d))) throw new RangeError("Invalid time value");
    return d + "T00:00:00Z";
  }
  return iso(d);
}
// The first value of a query parameter, as new URL(url).searchParams.get(name) gives it.
function queryParam(url, name) {
  const hash = url.indexOf("#");
  const end = hash < 0 ? url.length : hash;
  const q = url.indexOf("?");
  return q < 0 || q > end ? null : new URLSearchParams(url.slice(q + 1, end)).get(name);
}

const LIME_TYPES = {
  incoming_call: "call.incoming", missed_call: "call.missed", call_completed: "call.completed",
  call_status_update: "call.status", voicemail_received: "voicemail.received", sms_sent: "message.sent",
  sms_received: "message.received",
};
const LISO = { pending: "accepted", processing: "queued", sent: "sent", delivered: "delivered", failed: "failed", expired: "expired" };
const RECORD = { insert: ["record.created", "created"], update: ["record.updated", "updated"], delete: ["record.deleted", "deleted"] };
const GW = { DELIVERED: "delivered", UNDELIVERABLE: "failed", ENROUTE: "sent", ACCEPTED: "accepted", EXPIRED: "expired", REJECTED: "rejected" };

export function handwritten(provider, { headers, body, url }, secrets) {
  const h = (name) => headers[name];
  switch (provider) {
    case "limephone": {
      if (!hmacHexOk(secrets.hmac, body, h("X-LimePhone-Signature"))) throw new Error("bad signature");
      if (!safeEqual(h("Authorization") ?? "", secrets.bearerHeader)) throw new Error("bad token");
      const p = JSON.parse(body);
      const inbound = p.event !== "sms_sent";
      return {
        id: `limephone:${p.event}:${p.call_id ?? p.message_id}`, type: LIME_TYPES[p.event] ?? "other",
        from: e164(inbound ? p.caller_number ?? p.sender_number : p.virtual_number),
        to: e164(inbound ? p.virtual_number : p.recipient_number), occurred_at: iso(p.timestamp),
        text: p.message_content ?? null, message_id: p.message_id ?? p.call_id ?? null,
        direction: inbound ? "inbound" : "outbound", raw: p,
      };
    }
    case "lisoloo": {
      if (!safeEqual(h("Authorization") ?? "", secrets.basicHeader)) throw new Error("bad credentials");
      const p = JSON.parse(body);
      const word = p.event_type.startsWith("sms.") ? p.event_type.slice(4) : p.event_type;
      return {
        id: `lisoloo:${p.event_id}`, type: LISO[word] ? "message.status" : "other", to: e164(p.data?.recipient_phone),
        occurred_at: iso(p.timestamp), status: LISO[word] ?? null, message_id: p.message_id,
        error: p.data?.error_code == null ? null : { code: String(p.data.error_code), description: p.data.error_message ?? null },
        direction: "outbound", raw: p,
      };
    }
    case "gatewayapi": {
      const header = h("Signature") ?? "";
      const sig = header.startsWith("v1=") ? header.slice(3) : header;
      if (!hmacHexOk(secrets.hmac, body, sig)) throw new Error("bad signature");
      const p = JSON.parse(body);
      return {
        id: `gatewayapi:${p.event_id}`, type: "message.status", to: e164(p.event.recipient),
        occurred_at: iso(p.event.status_at), status: GW[p.event.status] ?? "unknown", message_id: p.event.msg_id,
        error: p.event.error ? { code: p.event.error.hex_code ?? null, description: p.event.error.details ?? null } : null,
        reference: p.event.reference ?? null, direction: "outbound", raw: p,
      };
    }
    case "looplookup": {
      if (!safeEqual(h("Authorization") ?? "", secrets.authorization)) throw new Error("bad authorization");
      const p = JSON.parse(body);
      const isEmail = p.contact.includes("@");
      const contact = isEmail ? p.contact.toLowerCase() : e164(p.contact);
      const facetime = p.result_v1?.apple_services?.facetime;
      const imessage = p.result_v1?.apple_services?.imessage;
      return {
        id: `looplookup:${p.webhook_id}`, type: "lookup.completed", request_id: p.request_id ?? null, contact,
        contact_kind: isEmail ? "email" : "phone",
        facetime: { status: facetime?.status ?? null, last_seen: day(facetime?.date) },
        imessage: { status: imessage?.status ?? null, last_seen: day(imessage?.date) },
        carrier: p.result_v1?.carrier?.carrier ?? null, number_type: p.result_v1?.carrier?.number_type ?? null,
        country: p.result_v1?.country?.iso2 ?? null, raw: p,
      };
    }
    case "did_reseller": {
      const token = queryParam(url, "token") ?? "";
      if (!safeEqual(token, secrets.token)) throw new Error("bad token");
      const p = JSON.parse(body);
      const data = JSON.parse(p.data);
      for (const key of ["wireless_pin", "inbox_pin", "account_number", "credit_line"]) if (key in data) data[key] = "[REDACTED]";
      const id = "did_reseller:sha256:" + createHash("sha256").update(body).digest("hex");
      const [type, action] = RECORD[p.type] ?? ["other", null];
      return { id, type, action, schema: p.schema, record_id: String(data.id), data, raw: { ...p, data } };
    }
  }
  throw new Error("unknown provider");
}

/** The secrets of a payload's credentials, in the shape handwritten() reads. */
export function secretsOf(credentials) {
  const first = (value) => (Array.isArray(value) ? value[0] : value);
  // What the checks compare against, as Buffers made once, as a receiver does at start-up.
  const buffer = (value) => (value == null ? null : Buffer.from(value));
  const basic = first(credentials.basic);
  return {
    hmac: buffer(first(credentials.hmac_sha256)),
    bearerHeader: buffer(credentials.bearer == null ? null : `Bearer ${first(credentials.bearer)}`),
    basicHeader: buffer(basic == null ? null : "Basic " + Buffer.from(`${basic.username}:${basic.password}`).toString("base64")),
    authorization: buffer(first(credentials.authorization)),
    token: buffer(first(credentials.url_token)),
  };
}
