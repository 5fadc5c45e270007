// The Worker used by workerd.test.mjs. Bundled by esbuild with the "workerd" condition, as
// wrangler would bundle a user's Worker that does `import ... from "telhook"`.
import * as telhook from "telhook";
import { fetchHandlerAdapter, runHandlerVector } from "./handler-vectors.mjs";
import { bodyOf, runVector } from "./vectors.mjs";

export { TelhookDedupeObject } from "telhook";

const handlers = new Map();
const events = [];
const store = telhook.memoryStore();

function handlerFor(config) {
  const key = JSON.stringify(config);
  if (!handlers.has(key)) {
    let handler;
    try {
      handler = telhook.createHandler({
        provider: config.provider,
        credentials: config.credentials,
        store,
        options: config.options,
        clock: () => config.now,
        onError: () => {},
        onEvent: (event) => {
          events.push(event.id);
        },
      });
    } catch (error) {
      // Refused at creation; the answer a misconfigured deployment would get.
      const answer = telhook.ackForError(error);
      handler = async () => new Response(answer.body, { status: answer.status, headers: answer.headers });
    }
    handlers.set(key, handler);
  }
  return handlers.get(key);
}

// A store whose claim never answers: the answer must still come within storeDeadlineMs.
const hangingReports = [];
let hangingHandler;

// onEvent reading the body of the request it was called for, which telhook read first.
const bodiesRead = [];
let readingHandler;

// The Durable Object store: deliveries of one event id counted per isolate (this Worker).
const durableCalls = new Map();
let durableHandler;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const config = request.headers.get("x-telhook-test-config");
    if (config !== null) {
      // A webhook delivery: everything but the test header goes to createHandler.
      const headers = new Headers(request.headers);
      headers.delete("x-telhook-test-config");
      const parsed = JSON.parse(config);
      if (url.pathname === "/durable") {
        durableHandler ??= telhook.createHandler({
          provider: parsed.provider,
          credentials: parsed.credentials,
          clock: () => parsed.now,
          store: telhook.durableObjectStore(env.TELHOOK_DEDUPE),
          onEvent: async (event) => {
            durableCalls.set(event.id, (durableCalls.get(event.id) ?? 0) + 1);
            // Long enough for every concurrent copy to arrive while this one is in the handler.
            await new Promise((resolve) => setTimeout(resolve, 300));
          },
        });
        return durableHandler(new Request(request, { headers }), env, ctx);
      }
      if (url.pathname === "/reads-body") {
        readingHandler ??= telhook.createHandler({
          provider: parsed.provider,
          credentials: parsed.credentials,
          clock: () => parsed.now,
          store: telhook.memoryStore(),
          onEvent: async (event, { request: delivered }) => {
            bodiesRead.push(await delivered.text());
          },
        });
        return readingHandler(new Request(request, { headers }), env, ctx);
      }
      if (url.pathname === "/hanging") {
        hangingHandler ??= telhook.createHandler({
          provider: parsed.provider,
          credentials: parsed.credentials,
          clock: () => parsed.now,
          store: { claim: () => new Promise(() => {}), complete() {}, release() {} },
          storeDeadlineMs: parsed.storeDeadlineMs,
          onEvent: () => {
            throw new Error("the handler must not run without a claim");
          },
          onError: (error, info) => hangingReports.push({ message: error?.message ?? null, ...info }),
        });
        return hangingHandler(new Request(request, { headers }), env, ctx);
      }
      return handlerFor(parsed)(new Request(request, { headers }), env, ctx);
    }
    if (url.pathname === "/vector") return Response.json(runVector(telhook, await request.json()));
    if (url.pathname === "/handler-vector") {
      return Response.json(await runHandlerVector(telhook, await request.json(), fetchHandlerAdapter(telhook, env, ctx)));
    }
    if (url.pathname === "/durable-calls") return Response.json(Object.fromEntries(durableCalls));
    if (url.pathname === "/store") {
      // Direct store operations, for the Durable Object store's own semantics.
      const { op, key, token, secs } = await request.json();
      const dedupe = telhook.durableObjectStore(env.TELHOOK_DEDUPE);
      const result = op === "claim" ? await dedupe.claim(key, token, secs) : op === "complete" ? await dedupe.complete(key, token, secs) : await dedupe.release(key, token);
      return Response.json({ result: result ?? null });
    }
    if (url.pathname === "/events") return Response.json(events);
    if (url.pathname === "/bodies-read") return Response.json(bodiesRead);
    if (url.pathname === "/hanging-reports") return Response.json(hangingReports);
    return new Response("not found", { status: 404 });
  },
};
export { bodyOf };
