// The Worker used by workerd.test.mjs. Bundled by esbuild with the "workerd" condition, as
// wrangler would bundle a user's Worker that does `import ... from "telhook"`.
import * as telhook from "telhook";
import { bodyOf, runVector } from "./vectors.mjs";

const handlers = new Map();
const events = [];
const dedupe = telhook.memoryDedupe();

function handlerFor(config) {
  const key = JSON.stringify(config);
  if (!handlers.has(key)) {
    handlers.set(
      key,
      telhook.createHandler({
        provider: config.provider,
        credentials: config.credentials,
        dedupe,
        options: config.options,
        clock: () => config.now,
        onEvent: (event) => {
          events.push(event.id);
        },
      }),
    );
  }
  return handlers.get(key);
}

export default {
  async fetch(request) {
    const config = request.headers.get("x-telhook-test-config");
    if (config !== null) {
      // A webhook delivery: everything but the test header goes to createHandler.
      const headers = new Headers(request.headers);
      headers.delete("x-telhook-test-config");
      return handlerFor(JSON.parse(config))(new Request(request, { headers }));
    }
    const url = new URL(request.url);
    if (url.pathname === "/vector") return Response.json(runVector(telhook, await request.json()));
    if (url.pathname === "/events") return Response.json(events);
    return new Response("not found", { status: 404 });
  },
};
export { bodyOf };
