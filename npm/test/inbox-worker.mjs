// The Worker of inbox-workerd.test.mjs (bundled like worker.mjs): the inbox vectors run inside
// workerd, and inbox mode on a Cloudflare Queue — createHandler with queueInbox (dedupe in the
// Durable Object store) as the producer, consumeInbox as this Worker's queue() consumer, and the
// dead-letter queue's consumer recording what died.
import * as telhook from "telhook";
import { fetchHandlerAdapter } from "./handler-vectors.mjs";
import { runInboxVector } from "./inbox-vectors.mjs";

export { TelhookDedupeObject } from "telhook";

// Small waits so the test sees retries and dead letters in seconds; max_retries (miniflare's
// maxRetries) is max_attempts - 1.
export const POLICY = { max_attempts: 3, backoff_secs: 1, max_backoff_secs: 1 };

const calls = {}; // event id -> [Date.now() of each handler call]
const rawLengths = {}; // event id -> the length of the raw body its handler call got
const dead = []; // {id, attempts} of each dead letter
const failing = new Set(); // event ids whose handler throws
const handlers = new Map(); // one receiver per test config

async function onInboxEvent(event) {
  (calls[event.id] ??= []).push(Date.now());
  rawLengths[event.id] = JSON.stringify(event).length;
  if (failing.has(event.id)) throw new Error("the test's handler fails for this event");
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/inbox-vector") {
      return Response.json(await runInboxVector(telhook, await request.json(), fetchHandlerAdapter(telhook, env, ctx)));
    }
    if (url.pathname === "/fail") {
      failing.add(await request.text());
      return Response.json({});
    }
    if (url.pathname === "/calls") return Response.json({ calls, dead, rawLengths });
    if (url.pathname === "/overflow-objects") return Response.json((await env.INBOX_OVERFLOW.list()).objects.map((o) => o.key));
    if (url.pathname === "/consume-again") {
      // One message delivered twice (the Queue's at-least-once), then a third time while failing:
      // with the store, the handler runs for its first delivery only.
      const { id, event } = await request.json();
      const outcomes = [];
      const message = (attempts) => ({
        id, body: { key: event.id, event }, attempts,
        ack: () => outcomes.push("ack"),
        retry: (options) => outcomes.push(`retry ${options?.delaySeconds ?? 0}`),
      });
      const store = telhook.durableObjectStore(env.TELHOOK_DEDUPE);
      for (const attempts of [1, 1, 2]) await telhook.consumeInbox({ queue: "q", messages: [message(attempts)] }, env, onInboxEvent, POLICY, { store });
      return Response.json({ outcomes, calls: calls[event.id]?.length ?? 0 });
    }
    const config = request.headers.get("x-telhook-test-config");
    if (url.pathname === "/hook" && config !== null) {
      const headers = new Headers(request.headers);
      headers.delete("x-telhook-test-config");
      const parsed = JSON.parse(config);
      if (!handlers.has(config)) handlers.set(config, telhook.createHandler({
        provider: parsed.provider,
        credentials: parsed.credentials,
        clock: () => parsed.now,
        inbox: telhook.queueInbox(env.INBOX, {
          dedupe: telhook.durableObjectStore(env.TELHOOK_DEDUPE),
          overflow: parsed.overflow ? env.INBOX_OVERFLOW : undefined,
        }),
      }));
      return handlers.get(config)(new Request(request, { headers }), env, ctx);
    }
    return new Response("not found", { status: 404 });
  },
  async queue(batch, env) {
    if (batch.queue === "telhook-dead") {
      for (const message of batch.messages) {
        const id = message.body.event?.id ?? message.body.key;
        dead.push({ id, attempts: calls[id]?.length ?? 0 });
        message.ack();
      }
      return;
    }
    await telhook.consumeInbox(batch, env, onInboxEvent, POLICY, { overflow: env.INBOX_OVERFLOW });
  },
};
