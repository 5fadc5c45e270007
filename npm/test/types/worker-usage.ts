// The README's Worker, typed by @cloudflare/workers-types: a Durable Object store and a Queue
// producer whose send() promise is returned from onEvent.
import { createHandler, durableObjectStore, type NormalizedEvent } from "telhook";
export { TelhookDedupeObject } from "telhook";

interface Env {
  LIME_SECRET: string;
  LIME_TOKEN: string;
  TELHOOK_DEDUPE: DurableObjectNamespace;
  EVENTS: Queue<NormalizedEvent>;
}

let handle: ((request: Request, env?: Env, ctx?: ExecutionContext) => Promise<Response>) | undefined;
export default {
  fetch: (request, env, ctx) =>
    (handle ??= createHandler<Env, ExecutionContext>({
      provider: "limephone",
      credentials: { hmac_sha256: env.LIME_SECRET, bearer: env.LIME_TOKEN },
      store: durableObjectStore(env.TELHOOK_DEDUPE),
      onEvent: (event, { env }) => env.EVENTS.send(event),
    }))(request, env, ctx),
} satisfies ExportedHandler<Env>;

// Inbox mode on a Queue (issue 23), typed by @cloudflare/workers-types: queueInbox takes the
// Queue binding, consumeInbox the MessageBatch the Worker's queue() is given.
import { consumeInbox, queueInbox, type InboxMessageBody, type QueueInboxMessageBody } from "telhook";

interface InboxEnv {
  INBOX: Queue<InboxMessageBody>;
  // As `wrangler types` writes it: the namespace of the class the Worker exports (its brand).
  TELHOOK_DEDUPE: DurableObjectNamespace<import("telhook").TelhookDedupeObject>;
  INBOX_OVERFLOW: R2Bucket;
}
export const inboxWorker = {
  fetch: (request, env, ctx) =>
    createHandler<InboxEnv, ExecutionContext>({
      provider: "limephone",
      credentials: { hmac_sha256: "s" },
      inbox: queueInbox(env.INBOX, { dedupe: durableObjectStore(env.TELHOOK_DEDUPE) }),
    })(request, env, ctx),
  async queue(batch, env) {
    await consumeInbox(batch, env, async (event, { message }) => console.log(event.id, message.attempts), { max_attempts: 5 });
  },
} satisfies ExportedHandler<InboxEnv, InboxMessageBody>;

// With the R2 overflow bucket (events over 128 KB): the message body is either shape.
export const overflowWorker = {
  fetch: (request, env, ctx) =>
    createHandler<InboxEnv, ExecutionContext>({
      provider: "limephone",
      credentials: { hmac_sha256: "s" },
      inbox: queueInbox(env.INBOX, { dedupe: durableObjectStore(env.TELHOOK_DEDUPE), overflow: env.INBOX_OVERFLOW }),
    })(request, env, ctx),
  async queue(batch, env) {
    await consumeInbox(batch, env, async (event, { message }) => console.log(event.id, "event_object" in message.body), {}, { overflow: env.INBOX_OVERFLOW });
  },
} satisfies ExportedHandler<InboxEnv, QueueInboxMessageBody>;
