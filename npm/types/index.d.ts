// Types of the telhook npm package. The event shape is NormalizedEvent schema v1
// (schema/normalized-event.v1.json in the repository).
//
// Self-contained: no DOM or Node types are needed (lib es2022 is enough). Where the host's
// Fetch types exist (DOM, @cloudflare/workers-types, @types/node, Deno, Bun) they are used;
// inputs are structural, so any Request or Headers implementation fits. Optional request and
// option properties accept `undefined` explicitly, for exactOptionalPropertyTypes (credentials
// do not: an undefined secret is refused at creation).

// <generated: vocabularies>
// Generated from telhook-core by `make vocabularies`; do not edit.
export type ProviderName =
  | "looplookup"
  | "did_reseller"
  | "limephone"
  | "lisoloo"
  | "gatewayapi"
  | "vonage"
  | "telnyx"
  | "twilio";
export type EventTypeName =
  | "message.received"
  | "message.sent"
  | "message.status"
  | "call.incoming"
  | "call.missed"
  | "call.completed"
  | "call.status"
  | "voicemail.received"
  | "lookup.completed"
  | "record.created"
  | "record.updated"
  | "record.deleted"
  | "provisioning.failed"
  | "other";
export type DeliveryStatus =
  | "unknown"
  | "accepted"
  | "queued"
  | "sent"
  | "carrier_accepted"
  | "failed"
  | "expired"
  | "rejected"
  | "canceled"
  | "delivered"
  | "read";
export type Direction =
  | "inbound"
  | "outbound";
export type ContactKind =
  | "phone"
  | "email"
  | "other";
export type RecordAction =
  | "created"
  | "updated"
  | "deleted";
export type ErrorCode =
  | "unknown_provider"
  | "provider_not_detected"
  | "method_not_allowed"
  | "body_too_large"
  | "missing_credentials"
  | "invalid_credentials"
  | "missing_signature"
  | "invalid_signature_format"
  | "signature_mismatch"
  | "unsupported_signature_algorithm"
  | "timestamp_out_of_tolerance"
  | "too_many_signatures"
  | "missing_authorization"
  | "invalid_authorization_format"
  | "authorization_mismatch"
  | "ambiguous_header"
  | "ambiguous_provider"
  | "jwt_malformed"
  | "jwt_algorithm_not_allowed"
  | "jwt_expired"
  | "jwt_not_yet_valid"
  | "jwt_payload_mismatch"
  | "malformed_json"
  | "malformed_nested_json"
  | "invalid_payload"
  | "invalid_timestamp"
  | "invalid_request"
  | "invalid_clock"
  | "invalid_option"
  | "raw_body_unavailable";
export type ErrorKind =
  | "verification"
  | "parse"
  | "configuration"
  | "request";
export type AnswerCode =
  | "accepted"
  | "queued"
  | "duplicate"
  | "handler_status"
  | "delivery_in_progress"
  | "handler_failed"
  | "dedupe_unavailable"
  | "internal";
export type Outcome =
  | "accepted"
  | "duplicate"
  | "verification_failed"
  | "malformed"
  | "internal_error";
export type AuthScheme =
  | "hmac_sha256"
  | "bearer"
  | "authorization"
  | "basic"
  | "jwt_hs256"
  | "url_token"
  | "ed25519_public_key"
  | "auth_token"
  | "shared_key";
export type InboxState =
  | "pending"
  | "processing"
  | "done"
  | "failed"
  | "dead";
// </generated>

/**
 * Every error telhook throws. Python's `WebhookError` has the same constructor arguments, in
 * the same order, and the same attributes.
 */
export class TelhookError extends Error {
  constructor(code: ErrorCode, message: string, kind: ErrorKind, field?: string | null, expected?: string | null);
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** Where the problem is (`headers.x-lime-signature`, `body.timestamp`, `now`), or null. */
  readonly field: string | null;
  /** What was expected there (`POST`, `JSON`), or null. */
  readonly expected: string | null;
}
export class VerificationError extends TelhookError {
  readonly kind: "verification";
}
export class ParseError extends TelhookError {
  readonly kind: "parse";
}
export class ConfigurationError extends TelhookError {
  readonly kind: "configuration";
}
export class RequestError extends TelhookError {
  readonly kind: "request";
}


export interface StatusInfo {
  value: DeliveryStatus;
  final: boolean;
  rank: number;
  provider_status: string;
}


export interface Message {
  id: string | null;
  direction: Direction | null;
  text: string | null;
  reference: string | null;
  error: { code: string | null; description: string | null } | null;
}

export interface Call {
  id: string | null;
  direction: Direction | null;
  status: string | null;
  voicemail_url: string | null;
  duration_seconds: number | null;
}

export interface AppleService {
  status: string;
  last_seen: string | null;
}

export interface Lookup {
  request_id: string | null;
  contact: string | null;
  contact_kind: "phone" | "email" | "other";
  facetime: AppleService | null;
  imessage: AppleService | null;
  carrier: string | null;
  number_type: string | null;
  country: string | null;
}

export interface RecordChange {
  action: "created" | "updated" | "deleted";
  schema: string;
  id: string | null;
  data: { [field: string]: unknown } | null;
  error: string | null;
}

interface EventBase {
  schema_version: 1;
  provider: ProviderName;
  /** Idempotency key, stable across the provider's redeliveries. */
  id: string;
  provider_event_type: string;
  /** RFC 3339 UTC. */
  occurred_at: string | null;
  received_at: string;
  /**
   * E.164 (always `+` and digits) for a phone number; for a message's sender or recipient also
   * a short code (`"1204"`, 3–6 digits, no `+`) or an alphanumeric sender ID as sent.
   */
  from: string | null;
  to: string | null;
  status: StatusInfo | null;
  message: Message | null;
  call: Call | null;
  lookup: Lookup | null;
  record: RecordChange | null;
  /**
   * Paths (`data.error_code`, `event.content`) of fields that were present but could not be
   * read into the typed fields (which are then null); empty when all was read. A verified
   * request is never refused for its shape.
   */
  unread_fields: string[];
  /** The provider's payload, secrets redacted. */
  raw: { [field: string]: unknown };
}

export interface MessageReceivedEvent extends EventBase { type: "message.received"; message: Message }
export interface MessageSentEvent extends EventBase { type: "message.sent"; message: Message }
export interface MessageStatusEvent extends EventBase { type: "message.status"; message: Message; status: StatusInfo }
export interface CallEvent extends EventBase {
  type: "call.incoming" | "call.missed" | "call.completed" | "call.status" | "voicemail.received";
  call: Call;
}
export interface LookupCompletedEvent extends EventBase { type: "lookup.completed"; lookup: Lookup }
export interface RecordEvent extends EventBase {
  type: "record.created" | "record.updated" | "record.deleted" | "provisioning.failed";
  record: RecordChange;
}
/**
 * A verified event of a kind this version does not know yet. Its `raw` is whatever JSON the
 * verified body held (an object for every shape a provider documents).
 */
export interface OtherEvent extends Omit<EventBase, "raw"> { type: "other"; raw: unknown }

export type NormalizedEvent =
  | MessageReceivedEvent
  | MessageSentEvent
  | MessageStatusEvent
  | CallEvent
  | LookupCompletedEvent
  | RecordEvent
  | OtherEvent;

export type EventType = NormalizedEvent["type"];

export interface BasicCredential {
  username: string;
  password: string;
}

/**
 * One provider's credentials (or, with a named provider, the credentials it reads).
 *
 * Each secret is a `string`, not `string | undefined`: `process.env.LIME_SECRET` (typed
 * `string | undefined`) is refused by strict TypeScript on purpose, because an unset variable
 * would otherwise reach production as a missing check. At run time telhook refuses it too, at
 * creation (`ConfigurationError` `missing_credentials` naming the field). Check it once where
 * you read it — `const secret = process.env.LIME_SECRET; if (!secret) throw new Error("LIME_SECRET is unset");`
 * — or, since creation fails anyway, assert it: `process.env.LIME_SECRET!`.
 */
export interface ProviderCredentials {
  hmac_sha256?: string | readonly string[];
  bearer?: string | readonly string[];
  authorization?: string | readonly string[];
  basic?: BasicCredential | readonly BasicCredential[];
  jwt_hs256?: string | readonly string[];
  /** Another name of `jwt_hs256`: Vonage's "signature secret" (configure one of the two). */
  signature_secret?: string | readonly string[];
  url_token?: string | readonly string[];
  url_token_param?: string;
  /** Ed25519 public keys (Telnyx), each the standard base64 of its 32 bytes; several for rotation. */
  ed25519_public_key?: string | readonly string[];
  /** Twilio's Auth Token (X-Twilio-Signature's HMAC-SHA1 key); a list during a rotation. */
  auth_token?: string | readonly string[];
  /**
   * Twilio shared keys (public beta): a Webhooks Setting's SharedKey secret, used for the
   * requests whose X-Twilio-Webhooks-Signature-Settings header names a shared key; a list
   * during a rotation.
   */
  shared_key?: string | readonly string[];
  /** Accept requests without checking who sent them. Local experiments only. */
  insecure_skip_verification?: boolean;
}

/** Each provider's own credentials; required when the provider is detected per request. */
export type PerProviderCredentials = { [P in ProviderName]?: ProviderCredentials };

export type Credentials = ProviderCredentials | PerProviderCredentials;

/** What the Fetch API's `Headers` offers that telhook reads (any implementation fits). */
export interface FetchHeaders {
  forEach(callback: (value: string, name: string) => void): void;
  get(name: string): string | null;
}

/** A Fetch API `Request`, as far as telhook reads it. */
export interface FetchRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: FetchHeaders;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The host's `Request` where its types are loaded (DOM, Workers, Node, Deno, Bun); otherwise the part telhook reads. */
export type HostRequest = typeof globalThis extends { Request: { prototype: infer R } } ? R : FetchRequest;

/** The host's `Response` where its types are loaded; otherwise the part of it telhook relies on. */
export type FetchResponse = typeof globalThis extends { Response: { prototype: infer R } }
  ? R
  : { readonly status: number; text(): Promise<string> };

export type HeadersInit =
  | { [name: string]: string | readonly string[] | undefined }
  | ReadonlyArray<readonly [string, string]>
  /** Node's `req.rawHeaders`: `[name, value, name, value, …]`. */
  | readonly string[]
  | FetchHeaders;

export interface WebhookRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers?: HeadersInit | undefined;
  body?: Uint8Array | ArrayBuffer | string | undefined;
}

export interface Options {
  /** The receive time: UNIX seconds, a Date or RFC 3339 text. Default: the host clock. */
  now?: number | Date | string | undefined;
  /** Refuse larger bodies (default 1 MiB). */
  max_body_bytes?: number | undefined;
  /**
   * The URL a provider that signs it (Twilio) calls, as set in its console, without query
   * (the request's query is appended): needed behind a reverse proxy or TLS terminator.
   */
  public_url?: string | undefined;
  /** Read the public scheme, host and port from X-Forwarded-Proto/-Host/-Port (only behind a proxy that sets them). */
  trust_forwarded_headers?: boolean | undefined;
}

export interface RetryPolicy {
  provider: ProviderName;
  documented: boolean;
  timeout_secs: number;
  retry_delays_secs: number[];
  jitter: boolean;
  max_deliveries: number;
  retry_horizon_secs: number;
  dedupe_ttl_secs: number;
  /** How long a delivery may stay in the handler before its claim expires (a crashed worker). */
  in_progress_lease_secs: number;
  ack_statuses: { min: number; max: number };
  permanent_failure_statuses: { min: number; max: number } | null;
}


export interface Ack {
  status: number;
  provider_action: "acknowledged" | "permanent_failure" | "retry";
}

export class Receiver {
  constructor(provider: ProviderName | null, credentials: Credentials | null, options?: Options);
  normalize(request: WebhookRequest, options?: Pick<Options, "now">): NormalizedEvent;
  verify(request: WebhookRequest, options?: Pick<Options, "now">): ProviderName;
}

export function normalizeEvent(
  provider: ProviderName | null,
  request: WebhookRequest,
  credentials: Credentials | null,
  options?: Options,
): NormalizedEvent;
export function verify(
  provider: ProviderName | null,
  request: WebhookRequest,
  credentials: Credentials | null,
  options?: Options,
): ProviderName;
export function detectProvider(request: WebhookRequest): ProviderName;
export function retryPolicy(provider: ProviderName): RetryPolicy;
export function ack(provider: ProviderName, outcome: Outcome): Ack;
export function statusWins(current: DeliveryStatus | null, incoming: DeliveryStatus): boolean;
export function fromRequest(request: FetchRequest): Promise<WebhookRequest & { body: Uint8Array }>;

/** The core's answer to one delivery (from `decide`): send status, headers and body as they are. */
export interface Answer {
  readonly status: number;
  readonly code: ErrorCode | AnswerCode;
  /** Frozen, typed as `HeadersInit` takes it: `new Response(a.body, { status: a.status, headers: a.headers })`. */
  readonly headers: [string, string][];
  /** `{"error": code}` or `{"outcome": code}` as JSON text. */
  readonly body: string;
  /** What the provider does with this status; null when the provider is unknown. */
  readonly provider_action: "acknowledged" | "retry" | "permanent_failure" | null;
  /** What the adapter does with the event's claim. */
  readonly dedupe: "none" | "complete" | "release";
  readonly log: "none" | "info" | "warning" | "error";
}

/** The answer for an error caught around your own normalizeEvent (or handler) call. */
export function ackForError(error: unknown, provider?: ProviderName | null): Answer;

export type ClaimState = "new" | "in_progress" | "done";

/**
 * Dedupe with states; the adapter makes one random token per delivery. `claim` is atomic:
 * one caller gets "new" while a claim is live; an expired lease (a crashed worker) is "new"
 * again. `complete` marks the key done for ttlSecs and `release` forgets it, each only if
 * `token` still owns the claim (a worker whose lease expired changes nothing once another
 * delivery took the key) — and `complete` also when the key is gone (expired and dropped by the
 * store, nobody took it since: the handler did run). A complete or release that throws or
 * rejects is tried again in the background (+0, +1, +6, +26 s).
 */
export interface DedupeStore {
  claim(key: string, token: string, leaseSecs: number): ClaimState | Promise<ClaimState>;
  complete(key: string, token: string, ttlSecs: number): unknown | Promise<unknown>;
  release(key: string, token: string): unknown | Promise<unknown>;
}

/** In this process's memory: tests and one long-lived process. `clock` returns UNIX seconds. */
export function memoryStore(options?: { clock?: () => number }): DedupeStore;

/** The smallest view of a Redis client the store uses: ioredis, or node-redis 4 and later (connected). */
export type RedisClientLike =
  | { eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>; evalsha(...args: any[]): unknown }
  | { eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>; evalSha(...args: any[]): unknown };

/**
 * A store on Redis for several processes or servers: `redisStore(new Redis(process.env.REDIS_URL))`.
 * Each call is one Lua script (the core's; Python's RedisStore runs the same). Keys are
 * `prefix` (default `"telhook:"`) + the event id, or its SHA-256 when long or unprintable.
 */
export function redisStore(client: RedisClientLike, options?: { prefix?: string }): DedupeStore;

/** The smallest view of a Durable Object namespace binding that the store uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): {
    fetch(input: string, init?: { method: string; headers: { [name: string]: string }; body: string }): Promise<FetchResponse>;
  };
}

/** A strongly consistent store on Workers: `durableObjectStore(env.TELHOOK_DEDUPE)`. */
export function durableObjectStore(namespace: DurableObjectNamespaceLike): DedupeStore;

/** The Durable Object class behind durableObjectStore: export it from your Worker and bind it. */
export class TelhookDedupeObject {
  /** The brand @cloudflare/workers-types' DurableObjectNamespace<T> asks of a Durable Object class (`wrangler types` writes DurableObjectNamespace<typeof import(...).Class>). */
  readonly __DURABLE_OBJECT_BRAND: never;
  constructor(state: { storage: any }, env?: unknown);
  fetch(request: HostRequest): Promise<FetchResponse>;
  alarm(): Promise<void>;
}

/**
 * What onError receives besides the error, for every answer the core logs (`log` other than
 * "none", or a note). The error is what was thrown behind the answer (the handler's exception,
 * the store's, a store call past storeDeadlineMs), or null when nothing was (a duplicate, a
 * handler status the provider retries).
 */
export interface ErrorInfo {
  provider: ProviderName | null;
  /** The event's idempotency key, when the delivery got that far. */
  eventId: string | null;
  code: ErrorCode | AnswerCode;
  status: number;
  log: Answer["log"];
  /** Why, in words (never a value from the request): a store past its deadline, a handler status the provider retries (reported once per receiver). */
  note: string | null;
}

interface ReceiveCommon {
  /** null: detect the provider from each request. */
  provider?: ProviderName | null;
  credentials: Credentials;
  /** Default: logs provider, event id and code (never the body) with console.warn/error. */
  onError?: (error: unknown, info: ErrorInfo) => void | Promise<void>;
  options?: Omit<Options, "now">;
  /** The receive time (UNIX seconds, Date or RFC 3339); checked at creation. Default: the host clock. */
  clock?: () => number | Date | string;
  /**
   * How long a handled (inbox mode: stored) event's key is kept (default: the provider's
   * `dedupe_ttl_secs`): its redeliveries within it are duplicates.
   */
  dedupeTtlSecs?: number | undefined;
  /**
   * How long one store call (claim, complete, release; inbox mode: enqueue) may take (1 to
   * 60000 ms; default 1000, and 7500 for a claim of Twilio or the DID reseller, which send no retries):
   * a claim or enqueue past it is answered 503 `dedupe_unavailable`, so the provider retries in
   * time.
   */
  storeDeadlineMs?: number | undefined;
}

interface HandlerReceiveConfig<Context> extends ReceiveCommon {
  /**
   * Called once per event. Return nothing for "processed"; throw for "failed" (the provider
   * retries); return a Fetch `Response` to answer it yourself (its status decides the dedupe).
   */
  onEvent: (event: NormalizedEvent, context: Context) => unknown | Promise<unknown>;
  /** Required: a shared store in production; null calls onEvent for every delivery. */
  store: DedupeStore | null;
  inbox?: undefined;
  /**
   * How long a claim holds off redeliveries while onEvent runs (default: the provider's
   * `in_progress_lease_secs`: 300 s, but 15 s for Telnyx, which redelivers within seconds).
   * A handler that outlives it can run again.
   */
  leaseSecs?: number | undefined;
}

/**
 * Inbox mode (accept fast, process later): each verified event is stored with its key in one
 * atomic step and answered 200 `queued` (a redelivery: `duplicate`) without running a handler;
 * the inbox's worker runs it later, with retries, dead letters and replay.
 */
interface InboxReceiveConfig extends ReceiveCommon {
  inbox: Inbox;
  onEvent?: undefined;
  store?: undefined;
  leaseSecs?: undefined;
}

type ReceiveConfig<Context> = HandlerReceiveConfig<Context> | InboxReceiveConfig;

export interface FetchContext<Env = unknown, Ctx = unknown> {
  request: HostRequest;
  env: Env;
  ctx: Ctx;
}
export type HandlerConfig<Env = any, Ctx = any> = ReceiveConfig<FetchContext<Env, Ctx>>;
export function createHandler<Env = any, Ctx = any>(
  config: HandlerConfig<Env, Ctx>,
): (request: HostRequest, env?: Env, ctx?: Ctx) => Promise<FetchResponse>;

/**
 * The part of Node's `IncomingMessage` (or Express's `Request`) the middleware reads. Its
 * optional fields allow `undefined`, as `@types/node` declares them, so that
 * `http.createServer(createNodeMiddleware(…))` checks under `exactOptionalPropertyTypes`.
 */
export interface NodeRequestLike extends AsyncIterable<Uint8Array | string> {
  method?: string | undefined;
  url?: string | undefined;
  originalUrl?: string | undefined;
  headers: { [name: string]: string | string[] | undefined };
  body?: unknown;
  rawBody?: unknown;
  readableEnded?: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  resume(): unknown;
}
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string | string[]): unknown;
  end(body?: string | Uint8Array): unknown;
}
export type NodeMiddlewareConfig<Req extends NodeRequestLike = NodeRequestLike> = ReceiveConfig<{ req: Req }>;
export function createNodeMiddleware<Req extends NodeRequestLike = NodeRequestLike>(
  config: NodeMiddlewareConfig<Req>,
): (req: Req, res: NodeResponseLike, next?: (error?: unknown) => void) => Promise<void>;

// ---------------------------------------------------------------- inbox (accept fast, process later)

/** How an inbox processes its events (snake_case, as in every runtime); missing: the default. */
export interface InboxPolicyOptions {
  /** Attempts before an event is dead, the first included (default 8, at most 100). */
  max_attempts?: number | undefined;
  /** How long a worker holds an event before another may take it (default 300 s). */
  lease_secs?: number | undefined;
  /** The wait before the second attempt, doubled per further attempt (default 30 s). */
  backoff_secs?: number | undefined;
  /** The longest wait between attempts (default 3600 s). */
  max_backoff_secs?: number | undefined;
  /** How long a done event is kept, visible and replayable (default 7 days). */
  retention_secs?: number | undefined;
}
export type InboxPolicy = Readonly<Required<{ [K in keyof InboxPolicyOptions]: number }>>;

/** The checked policy with its defaults; a bad or unknown option throws ConfigurationError `invalid_option`. */
export function inboxPolicy(options?: InboxPolicyOptions): InboxPolicy;
/** The core's wait (seconds) after failed attempt `attempts` (1-based); null when it was the last. */
export function inboxRetryDelaySecs(policy: InboxPolicyOptions, attempts: number, now?: number): number | null;

/**
 * Where inbox mode stores events: `enqueue` stores the event and claims its key for
 * `dedupeTtlSecs` in one atomic step: "new" when stored now, "duplicate" when the key was
 * stored within its window (then nothing is written). A failure, or no answer within
 * storeDeadlineMs, is answered 503 (the provider retries).
 */
/** What an inbox's enqueue answers: "in_progress" when another delivery of the event is being stored right now (503 with Retry-After). */
export type Enqueued = "new" | "duplicate" | "in_progress";
export interface Inbox {
  enqueue(key: string, event: NormalizedEvent, dedupeTtlSecs: number): Enqueued | Promise<Enqueued>;
}

/** A stored event's processing columns (core/src/inbox.rs InboxRecord). */
export interface InboxRecord {
  state: InboxState;
  attempts: number;
  /** When a worker may take it (UNIX seconds); null when done or dead. */
  run_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  created_at: number;
  updated_at: number;
  keep_until: number | null;
}

export interface MemoryInboxJob {
  id: number;
  key: string;
  event: NormalizedEvent;
  attempts: number;
}
export type InboxRefusal = "not_due" | "not_processing" | "processing" | "not_waiting";

export interface MemoryInbox extends Inbox {
  readonly policy: InboxPolicy;
  enqueue(key: string, event: NormalizedEvent, dedupeTtlSecs: number): "new" | "duplicate";
  /** The first due event, claimed, or null. */
  claim(): MemoryInboxJob | null;
  succeed(job: MemoryInboxJob): InboxState | InboxRefusal;
  /** Records a failure: the error's name as code, its message. */
  fail(job: MemoryInboxJob, error: unknown): InboxState | InboxRefusal;
  /** One worker pass over every due event; resolves to how many handlers ran. */
  work(handler: (event: NormalizedEvent, job: MemoryInboxJob) => unknown | Promise<unknown>): Promise<number>;
  /** Runs a stored event again from a fresh set of attempts; false while a worker holds it. */
  replay(id: number): boolean;
  /** Runs a waiting event (pending, or failed and backing off) now, attempts kept; false otherwise. */
  retryNow(id: number): boolean;
  /** Deletes done events past their retention; returns how many. */
  purge(): number;
  entries(): Array<InboxRecord & { id: number; key: string; event: NormalizedEvent }>;
}
/** An inbox in this process's memory (tests, one process). `clock` returns UNIX seconds. */
/** Called after each attempt: the hook for Prometheus or OpenTelemetry counters. */
export type InboxOutcomeHook = (provider: ProviderName | null, type: EventTypeName | null, state: "done" | "failed" | "dead") => void | Promise<void>;
export function memoryInbox(options?: { clock?: () => number; policy?: InboxPolicyOptions; onOutcome?: InboxOutcomeHook | null }): MemoryInbox;

/** The message body queueInbox sends (and a BullMQ job's data). */
export interface InboxMessageBody {
  key: string;
  event: NormalizedEvent;
  /** The event's dedupe window (seconds), sent by queueInbox; older messages lack it. */
  dedupe_ttl_secs?: number;
}
/** What queueInbox sends for an event larger than a Queue message holds: the name of the R2 object holding it. */
export interface OverflowInboxMessageBody {
  key: string;
  event_object: string;
  dedupe_ttl_secs: number;
}
/** A message body queueInbox sends. */
export type QueueInboxMessageBody = InboxMessageBody | OverflowInboxMessageBody;
/** The part of a Cloudflare Queue producer binding queueInbox uses. */
export interface QueueLike {
  send(body: QueueInboxMessageBody, options?: any): Promise<unknown>;
}
/** The part of an R2 bucket binding the Queue inbox's overflow uses. */
export interface OverflowBucketLike {
  put(key: string, value: string, options?: any): Promise<unknown>;
  get(key: string): Promise<{ text(): Promise<string> } | null>;
  delete(key: string): Promise<unknown>;
}
/**
 * An inbox on a Cloudflare Queue: claim the key in `dedupe` (durableObjectStore), send, mark
 * the key done for the dedupe window; a failed send releases the claim. An event larger than a
 * Queue message (128 KB) goes to `overflow` (an R2 bucket) and the message names it; without
 * one it is answered 503 with an error saying so.
 */
export function queueInbox(queue: QueueLike, options: { dedupe: DedupeStore; overflow?: OverflowBucketLike | null }): Inbox;

/** The part of a Cloudflare Queue message consumeInbox uses. */
export interface QueueMessageLike {
  readonly id: string;
  readonly body: QueueInboxMessageBody;
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}
/** The message as the handler sees it: its `retry()` is the handler's failure, its `ack()` a success. */
export interface InboxQueueMessage {
  readonly id: string;
  readonly timestamp: Date | undefined;
  readonly body: QueueInboxMessageBody;
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}
/**
 * The Worker's `queue(batch, env)` consumer for queueInbox: `handler(event, {message, env})`;
 * success acks, failure retries after the core's backoff; the last attempt's failure is retried
 * without delay so the Queue dead-letters it (wrangler.toml: max_retries = max_attempts - 1).
 */
export function consumeInbox<Env = unknown, M extends QueueMessageLike = QueueMessageLike>(
  batch: { readonly queue: string; readonly messages: readonly M[] },
  env: Env,
  handler: (event: NormalizedEvent, context: { message: InboxQueueMessage; env: Env }) => unknown | Promise<unknown>,
  policy?: InboxPolicyOptions,
  options?: {
    /** Claims each message by id (done for retention_secs) and by event key (done for the event's dedupe window) while it runs: a redelivered message, or an event sent twice, runs once. */
    store?: DedupeStore | null;
    onOutcome?: InboxOutcomeHook | null;
    /** queueInbox's overflow bucket: reads the events too large for a Queue message, deletes each once handled. */
    overflow?: OverflowBucketLike | null;
  },
): Promise<{ acked: number; retried: number }>;

/** The part of a BullMQ Queue bullmqInbox uses. */
export interface BullQueueLike {
  add(name: string, data: InboxMessageBody, options: { [option: string]: unknown }): Promise<{ id?: string | undefined }>;
}
export interface BullJobLike {
  readonly data: InboxMessageBody;
  readonly attemptsMade?: number;
}
/**
 * An inbox on BullMQ (Redis): enqueue is one `queue.add` with `deduplication: {id: key, ttl}`
 * (claim and add in one Lua script), `attempts: max_attempts`, the core's backoff.
 */
export interface BullmqInbox extends Inbox {
  readonly policy: InboxPolicy;
  /** For `new Worker(name, processor, { settings: { backoffStrategy } })`: the core's wait in ms. */
  backoffStrategy(attemptsMade: number): number;
  /** The Worker's processor: `handler(event, job)`. */
  processor<J extends BullJobLike>(handler: (event: NormalizedEvent, job: J) => unknown | Promise<unknown>): (job: J) => Promise<unknown>;
}
export function bullmqInbox(queue: BullQueueLike, options?: { policy?: InboxPolicyOptions; onOutcome?: InboxOutcomeHook | null }): BullmqInbox;

// ---------------------------------------------------------------- message status ledger

export type LedgerVerdict = "applied" | "stale" | "after_final";

/** The stored state of one message for one recipient. */
export interface LedgerState {
  provider: ProviderName;
  message_id: string;
  recipient: string | null;
  status: DeliveryStatus;
  rank: number;
  final: boolean;
  /** The error detail reported with `status` (failures only). */
  error: { code: string | null; description: string | null } | null;
  /** Status → earliest time it was reported. */
  seen: { [status: string]: string };
  parts: number;
  /** Event id → time, per part reported delivered (multi-part messages). */
  delivered_parts: { [eventId: string]: string };
}

export interface LedgerResult {
  verdict: LedgerVerdict;
  state: LedgerState;
}

/** The flat values a store writes for a status event. */
export interface StatusUpdate {
  provider: ProviderName;
  message_id: string;
  recipient: string | null;
  event_id: string;
  status: DeliveryStatus;
  rank: number;
  final: boolean;
  at: string;
  error: { code: string | null; description: string | null } | null;
  parts: number;
  delivered_part: boolean;
  partial_status: DeliveryStatus;
  partial_rank: number;
  partial_final: boolean;
}

/** The merge rule: the new state (null: nothing stored) and what the event did. */
export function ledgerApply(state: LedgerState | null, event: NormalizedEvent): LedgerResult;
export function ledgerUpdate(event: NormalizedEvent): StatusUpdate;
/** The ledger's write for each store, written once in the core. */
export function ledgerStores(): {
  readonly params: readonly string[];
  readonly sqlite_schema: string;
  readonly sqlite_upsert: string;
  readonly postgres_upsert: string;
  readonly redis_script: string;
};

/** Durable Object class of the ledger (one object per message id): export it and bind it. */
export class MessageStatusLedger {
  /** The brand @cloudflare/workers-types' DurableObjectNamespace<T> asks of a Durable Object class (`wrangler types` writes DurableObjectNamespace<typeof import(...).Class>). */
  readonly __DURABLE_OBJECT_BRAND: never;
  constructor(ctx: { storage: any }, env?: unknown);
  fetch(request: HostRequest): Promise<FetchResponse>;
  apply(event: NormalizedEvent): Promise<LedgerResult>;
}
/** The ledger object of the message an event reports on. */
export function ledgerObject(
  namespace: DurableObjectNamespaceLike,
  event: NormalizedEvent,
): { fetch(input: string, init?: { method: string; body: string }): Promise<FetchResponse> };
/** Applies a status event in its message's Durable Object. */
export function applyStatus(namespace: DurableObjectNamespaceLike, event: NormalizedEvent): Promise<LedgerResult>;

/** The smallest view of a D1 binding the D1 ledger uses. */
export interface D1DatabaseLike {
  prepare(sql: string): { bind(...values: unknown[]): { first(): Promise<any> }; run(): Promise<unknown> };
}
/** The ledger on D1: `migrate()` creates the table, `apply(event)` is one conditional upsert. */
export function d1Ledger(db: D1DatabaseLike): {
  migrate(): Promise<void>;
  apply(event: NormalizedEvent): Promise<LedgerResult>;
};
