// Compiled by test/packaging.test.mjs against the packed package, with strict,
// exactOptionalPropertyTypes, noUncheckedIndexedAccess and lib es2022 only (no DOM, no Node
// types), for moduleResolution node16, nodenext and bundler: the types must support real use.
import {
  ack,
  ackForError,
  createHandler,
  memoryStore,
  normalizeEvent,
  retryPolicy,
  statusWins,
  TelhookError,
  fromRequest,
  type ErrorCode,
  type FetchRequest,
  type NormalizedEvent,
  type WebhookRequest,
} from "telhook";

declare function log(...values: unknown[]): void;
declare const queue: { send(body: unknown): Promise<void> };
declare const incoming: { method?: string; url?: string; rawHeaders: string[]; headers: { [name: string]: string | string[] | undefined } };

// (The event union's narrowing is exercised by ../typed-usage.ts; here: that it needs no DOM.)
function describe(event: NormalizedEvent): string {
  return event.type === "message.status" ? `${event.message.id} is ${event.status.value}` : event.type;
}

let answered: number;
try {
  log(describe(normalizeEvent("lisoloo", { headers: [["Authorization", "Basic eDp5"]], body: "{}" }, { basic: { username: "x", password: "y" } })));
  answered = ack("lisoloo", "accepted").status;
} catch (error) {
  const code: ErrorCode | undefined = error instanceof TelhookError ? error.code : undefined;
  answered = ackForError(error, "lisoloo").status;
  log(code);
}
const ttl: number = retryPolicy("gatewayapi").dedupe_ttl_secs;
const status: number = answered;
const wins: boolean = statusWins("sent", "delivered");

export const handler = createHandler({
  provider: "limephone",
  credentials: { hmac_sha256: ["current", "previous"], bearer: "token" },
  store: memoryStore(),
  onEvent: async (e) => {
    log(describe(e), ttl, status, wins);
  },
});

// Optional inputs read straight from a request object that may lack them (exactOptionalPropertyTypes).
const fromNode: WebhookRequest = { method: incoming.method, url: incoming.url, headers: incoming.rawHeaders, body: "{}" };
const fromHeaders: WebhookRequest = { headers: incoming.headers, body: new Uint8Array(0) };
normalizeEvent("limephone", fromNode, { hmac_sha256: process_env("LIME_SECRET") ?? "", bearer: "token" });
// @ts-expect-error: an unset secret is refused at creation, and by the types
normalizeEvent("limephone", fromNode, { hmac_sha256: process_env("LIME_SECRET") });
normalizeEvent(null, fromHeaders, null, { now: undefined, max_body_bytes: 1 << 20 });
declare function process_env(name: string): string | undefined;

// Store options read from the environment may be unset: undefined keeps the default.
declare function seconds(name: string): number | undefined;
export const tuned = createHandler({
  credentials: {},
  store: memoryStore(),
  leaseSecs: seconds("LEASE_SECS"),
  dedupeTtlSecs: seconds("DEDUPE_TTL_SECS"),
  storeDeadlineMs: seconds("STORE_DEADLINE_MS"),
  onEvent: () => undefined,
  onError: (error, info) => log(info.code, info.note ?? "", error),
});

// A Queue producer's send() promise is a valid onEvent result (accept fast, process later).
export const queued = createHandler({ credentials: {}, store: null, onEvent: (e) => queue.send(e) });
export async function viaFetch(request: FetchRequest): Promise<number> {
  const converted = await fromRequest(request);
  const first = converted.body[0]; // noUncheckedIndexedAccess: number | undefined
  return first ?? 0;
}

// @ts-expect-error: not a provider telhook knows
retryPolicy("sinch");
// @ts-expect-error: onEvent is required
createHandler({ credentials: {}, store: null });
