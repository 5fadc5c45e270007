// Compiled with `tsc --noEmit --strict`: the public types must support real use.
import {
  ack,
  createHandler,
  normalizeEvent,
  retryPolicy,
  statusWins,
  TelhookError,
  type ErrorCode,
  type NormalizedEvent,
} from "telhook";

function describe(event: NormalizedEvent): string {
  switch (event.type) {
    case "message.status":
      // Narrowed: status and message are non-null here.
      return `${event.message.id} is ${event.status.value}${event.status.final ? " (final)" : ""}`;
    case "message.received":
    case "message.sent":
      return `${event.from} → ${event.to}: ${event.message.text ?? ""}`;
    case "call.incoming":
    case "call.missed":
    case "call.completed":
    case "call.status":
    case "voicemail.received":
      return `call ${event.call.id} ${event.call.status ?? ""}`;
    case "lookup.completed":
      return `${event.lookup.contact} (${event.lookup.contact_kind})`;
    case "record.created":
    case "record.updated":
    case "record.deleted":
    case "provisioning.failed":
      return `${event.record.schema} ${event.record.action}`;
    case "other":
      return event.provider_event_type;
  }
}

const event = normalizeEvent("lisoloo", { headers: [["Authorization", "Basic eDp5"]], body: "{}" }, {
  basic: { username: "x", password: "y" },
});
describe(event);

try {
  normalizeEvent(null, { body: new Uint8Array(0) }, null, { now: new Date() });
} catch (error) {
  if (error instanceof TelhookError) {
    const code: ErrorCode | "invalid_configuration" | "body_already_parsed" = error.code;
    console.log(code, error.kind);
  }
}

const ttl: number = retryPolicy("gatewayapi").dedupe_ttl_secs;
const status: number = ack("limephone", "duplicate").status;
const wins: boolean = statusWins("sent", "delivered");

export const handler = createHandler({
  provider: "limephone",
  credentials: { hmac_sha256: ["current", "previous"], bearer: "token" },
  onEvent: async (e) => {
    console.log(describe(e), ttl, status, wins);
  },
});
