// The honest best a user would write without telhook, on Node's native crypto: verify the
// provider's scheme with createHmac + timingSafeEqual, JSON.parse, and map the same fields
// telhook maps (id, type, from, to, occurred_at, status, the message's error, a lookup's services and
// their dates). Written once, for the benchmark.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hmacHexOk(secret, body, signature) {
  if (typeof signature !== "string" || signature.length !== 64) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(signature, "hex");
  return given.length === 32 && timingSafeEqual(expected, given);
}

const e164 = (n) => (n == null ? null : "+" + String(n).replace(/[^0-9]/g, ""));
const iso = (t) => (t == null ? null : typeof t === "number" ? new Date(t * 1000).toISOString() : new Date(t).toISOString());

const LIME_TYPES = {
  incoming_call: "call.incoming", missed_call: "call.missed", call_completed: "call.completed",
  call_status_update: "call.status", voicemail_received: "voicemail.received", sms_sent: "message.sent",
  sms_received: "message.received",
};
const LISO = { pending: "accepted", processing: "queued", sent: "sent", delivered: "delivered", failed: "failed", expired: "expired" };
const GW = { DELIVERED: "delivered", UNDELIVERABLE: "failed", ENROUTE: "sent", ACCEPTED: "accepted", EXPIRED: "expired", REJECTED: "rejected" };

export function handwritten(provider, { headers, body, url }, secrets) {
  const h = (name) => headers[name];
  switch (provider) {
    case "limephone": {
      if (!hmacHexOk(secrets.hmac, body, h("X-LimePhone-Signature"))) throw new Error("bad signature");
      if (!safeEqual(h("Authorization") ?? "", `Bearer ${secrets.bearer}`)) throw new Error("bad token");
      const p = JSON.parse(body);
      const inbound = p.event !== "sms_sent";
      return {
        id: `limephone:${p.event}:${p.call_id ?? p.message_id}`, type: LIME_TYPES[p.event] ?? "other",
        from: e164(inbound ? p.caller_number ?? p.sender_number : p.virtual_number),
        to: e164(inbound ? p.virtual_number : p.recipient_number), occurred_at: iso(p.timestamp),
        text: p.message_content ?? null, raw: p,
      };
    }
    case "lisoloo": {
      const expected = "Basic " + Buffer.from(`${secrets.user}:${secrets.password}`).toString("base64");
      if (!safeEqual(h("Authorization") ?? "", expected)) throw new Error("bad credentials");
      const p = JSON.parse(body);
      const word = p.event_type.replace(/^sms\./, "");
      return {
        id: `lisoloo:${p.event_id}`, type: LISO[word] ? "message.status" : "other", to: e164(p.data?.recipient_phone),
        occurred_at: iso(p.timestamp), status: LISO[word] ?? null, message_id: p.message_id,
        error: p.data?.error_code == null ? null : { code: String(p.data.error_code), description: p.data.error_message ?? null },
        raw: p,
      };
    }
    case "gatewayapi": {
      const sig = (h("Signature") ?? "").replace(/^v1=/, "");
      if (!hmacHexOk(secrets.hmac, body, sig)) throw new Error("bad signature");
      const p = JSON.parse(body);
      return {
        id: `gatewayapi:${p.event_id}`, type: "message.status", to: e164(p.event.recipient),
        occurred_at: iso(p.event.status_at), status: GW[p.event.status] ?? "unknown", message_id: p.event.msg_id,
        error: p.event.error ? { code: p.event.error.hex_code ?? null, description: p.event.error.details ?? null } : null,
        raw: p,
      };
    }
    case "looplookup": {
      if (!safeEqual(h("Authorization") ?? "", secrets.authorization)) throw new Error("bad authorization");
      const p = JSON.parse(body);
      const contact = p.contact.includes("@") ? p.contact.toLowerCase() : e164(p.contact);
      const facetime = p.result_v1?.apple_services?.facetime;
      const imessage = p.result_v1?.apple_services?.imessage;
      return {
        id: `looplookup:${p.webhook_id}`, type: "lookup.completed", request_id: p.request_id ?? null, contact,
        contact_kind: p.contact.includes("@") ? "email" : "phone",
        // A date without a zone ("2022-12-13") is UTC midnight to Date, as to telhook.
        facetime: { status: facetime?.status ?? null, last_seen: iso(facetime?.date) },
        imessage: { status: imessage?.status ?? null, last_seen: iso(imessage?.date) }, raw: p,
      };
    }
    case "did_reseller": {
      const token = new URL(url).searchParams.get("token") ?? "";
      if (!safeEqual(token, secrets.token)) throw new Error("bad token");
      const p = JSON.parse(body);
      const data = JSON.parse(p.data);
      for (const key of ["wireless_pin", "inbox_pin", "account_number", "credit_line"]) if (key in data) data[key] = "[REDACTED]";
      const id = "did_reseller:sha256:" + createHash("sha256").update(body).digest("hex");
      return { id, type: `record.${p.type}d`, schema: p.schema, record_id: String(data.id), data, raw: { ...p, data } };
    }
  }
  throw new Error("unknown provider");
}

/** The secrets of a payload's credentials, in the shape handwritten() reads. */
export function secretsOf(credentials) {
  const first = (value) => (Array.isArray(value) ? value[0] : value);
  return {
    hmac: first(credentials.hmac_sha256),
    bearer: first(credentials.bearer),
    user: first(credentials.basic)?.username,
    password: first(credentials.basic)?.password,
    authorization: first(credentials.authorization),
    token: first(credentials.url_token),
  };
}
