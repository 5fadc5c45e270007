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
