// Compiled with `tsc --noEmit --strict`: the public types must support real use.
import { Redis } from "ioredis";
import { createClient } from "redis";
import {
  ack,
  ackForError,
  createHandler,
  createNodeMiddleware,
  durableObjectStore,
  memoryStore,
  redisStore,
  TelhookDedupeObject,
  type Answer,
  type DedupeStore,
  type DurableObjectNamespaceLike,
  normalizeEvent,
  retryPolicy,
  statusWins,
  TelhookError,
  type ErrorCode,
  type NormalizedEvent,
  applyStatus,
  d1Ledger,
  fromRequest,
  ledgerApply,
  ledgerStores,
  ledgerUpdate,
  MessageStatusLedger,
  type D1DatabaseLike,
  type LedgerResult,
  type LedgerState,
  type LedgerVerdict,
  type StatusUpdate,
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
    const code: ErrorCode = error.code;
    const where: string | null = error.field;
    console.log(code, error.kind, where, error.expected);
  }
}

const ttl: number = retryPolicy("gatewayapi").dedupe_ttl_secs;
const status: number = ack("limephone", "duplicate").status;
const wins: boolean = statusWins("sent", "delivered");

interface Env {
  EVENTS: { send(body: unknown): Promise<void> };
  TELHOOK_DEDUPE: DurableObjectNamespaceLike;
}

const store: DedupeStore = memoryStore({ clock: () => Date.now() / 1000 });
// Both Redis clients type-check as redisStore's client.
export const onIoredis: DedupeStore = redisStore(new Redis({ lazyConnect: true }), { prefix: "app:" });
export const onNodeRedis = async (): Promise<DedupeStore> => redisStore(await createClient().connect());

export const handler = createHandler<Env>({
  provider: "limephone",
  credentials: { hmac_sha256: ["current", "previous"], bearer: "token" },
  store,
  onEvent: async (e, { env }) => {
    console.log(describe(e), ttl, status, wins);
    await env.EVENTS.send(e);
  },
  onError: (error, info) => console.log(info.code, info.eventId ?? "-", info.provider, info.note ?? "", error),
  leaseSecs: 900,
  dedupeTtlSecs: 86_400,
  storeDeadlineMs: 500,
});

export const workerFetch = (request: Request, env: Env): Promise<Response> =>
  createHandler({
    provider: "lisoloo",
    credentials: { basic: { username: "hook", password: "secret" } },
    store: durableObjectStore(env.TELHOOK_DEDUPE),
    // Any return value is fine; a Response answers the delivery itself.
    onEvent: (e) => (e.type === "other" ? new Response(null, { status: 409 }) : e.id.length),
  })(request, env);

export { TelhookDedupeObject };

export const middleware = createNodeMiddleware({
  provider: null,
  credentials: { insecure_skip_verification: true },
  store: null,
  options: { max_body_bytes: 65536 },
  clock: () => new Date(),
  onEvent: (e, { req }) => console.log(e.id, req.url),
});

const answer: Answer = ackForError(new Error("x"), "lisoloo");
const answerStatus: number = answer.status;
const pairs: ReadonlyArray<readonly [string, string]> = answer.headers;
console.log(answerStatus, pairs, answer.code === "handler_failed");
// The answer goes into a Fetch Response as it is (a review: its readonly pairs were refused).
const answered: Response = new Response(answer.body, { status: answer.status, headers: answer.headers });
console.log(answered.status);

// The types refuse what creation refuses.
// @ts-expect-error store is required (null to opt out of dedupe)
createHandler({ provider: "lisoloo", credentials: { bearer: "t" }, onEvent: () => undefined });
// @ts-expect-error the old option name
createNodeMiddleware({ provider: "lisoloo", credentials: { bearer: "t" }, store: null, dedupe: store, onEvent: () => undefined });
// @ts-expect-error the options are numbers of seconds or milliseconds
createHandler({ provider: "lisoloo", credentials: { bearer: "t" }, store: null, onEvent: () => undefined, leaseSecs: "300" });
// @ts-expect-error a store needs claim/complete/release
createHandler({ provider: "lisoloo", credentials: { bearer: "t" }, store: { add: () => true }, onEvent: () => undefined });

// telhook/testing: typed helpers.
import { signedRequest, eventKinds, type SignedRequest } from "telhook/testing";
const signedForTypes: SignedRequest = signedRequest("limephone", {
  eventKind: eventKinds("limephone")[0],
  credentials: { hmac_sha256: "s" },
  scheme: "hmac_sha256",
});
const fetchRequest: Request = signedForTypes.toRequest("http://127.0.0.1/hook");
void fetchRequest;

// The status ledger.
export const ledgerWorker = {
  async fetch(request: Request, env: { LEDGER: DurableObjectNamespaceLike; DB: D1DatabaseLike }): Promise<Response> {
    const event = normalizeEvent("lisoloo", await fromRequest(request), { basic: { username: "hook", password: "secret" } });
    const applied: LedgerResult = await applyStatus(env.LEDGER, event);
    const viaD1: LedgerVerdict = (await d1Ledger(env.DB).apply(event)).verdict;
    const state: LedgerState = ledgerApply(null, event).state;
    const update: StatusUpdate = ledgerUpdate(event);
    return Response.json({ applied, viaD1, final: state.final, rank: update.rank, sql: ledgerStores().sqlite_upsert });
  },
};
export { MessageStatusLedger };

// The inbox (issue 23): inbox mode in memory, on a Queue (Workers), on BullMQ (Node); the real
// workers-types and bullmq types are checked in test/types/worker-usage.ts and bullmq.test.mjs.
import {
  bullmqInbox,
  consumeInbox,
  inboxPolicy,
  inboxRetryDelaySecs,
  memoryInbox,
  queueInbox,
  type Inbox,
  type InboxMessageBody,
  type InboxRecord,
  type QueueMessageLike,
} from "telhook";

const memory = memoryInbox({ policy: { max_attempts: 2 } });
createNodeMiddleware({ provider: "lisoloo", credentials: { bearer: "t" }, inbox: memory, dedupeTtlSecs: 60 });
const inbox: Inbox = queueInbox({ send: async (body: InboxMessageBody) => body.key }, { dedupe: memoryStore() });
createHandler({ provider: "lisoloo", credentials: { bearer: "t" }, inbox, storeDeadlineMs: 500 });
export async function consume(messages: QueueMessageLike[]): Promise<number> {
  const { acked } = await consumeInbox({ queue: "q", messages }, {}, async (event) => void event.id, { max_attempts: 5 }, { store: memoryStore() });
  return acked;
}
const bull = bullmqInbox({ add: async () => ({ id: "1" }) }, { policy: { max_attempts: 4 } });
export const bullProcessor = bull.processor(async (event: NormalizedEvent, job: { data: InboxMessageBody }) => void [event.id, job.data.key]);
const records: InboxRecord[] = memory.entries();
const waits: Array<number | null> = [inboxRetryDelaySecs({}, 1), inboxPolicy({ backoff_secs: 5 }).backoff_secs, bull.backoffStrategy(2)];
void records;
void waits;
// @ts-expect-error inbox mode runs no onEvent on the request path
createHandler({ provider: "lisoloo", credentials: { bearer: "t" }, inbox: memory, onEvent: () => undefined });
// @ts-expect-error an inbox needs enqueue
createHandler({ provider: "lisoloo", credentials: { bearer: "t" }, inbox: { add: () => true } });
// @ts-expect-error policy options are snake_case numbers
memoryInbox({ policy: { maxAttempts: 3 } });
