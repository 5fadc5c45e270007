// The handler-vector adapter for the Node middleware: a real node:http server on loopback,
// deliveries sent with fetch.
import http from "node:http";
import { deliveryBody, deliveryHeaders } from "./handler-vectors.mjs";

export function nodeMiddlewareAdapter(telhook) {
  // `config`: {provider, credentials, options, clock} and either {store, onEvent} or {inbox}.
  return async (config) => {
    const middleware = telhook.createNodeMiddleware({ ...config, onError: () => {} });
    const server = http.createServer((req, res) => middleware(req, res));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${server.address().port}`;
    return {
      async send(delivery) {
        const url = new URL(delivery.url ?? "/hook", "http://placeholder");
        const method = delivery.method ?? "POST";
        const response = await fetch(origin + url.pathname + url.search, {
          method,
          headers: deliveryHeaders(delivery),
          body: method === "GET" || method === "HEAD" ? undefined : deliveryBody(delivery),
        });
        const headers = {};
        response.headers.forEach((value, name) => {
          headers[name] = value;
        });
        return { status: response.status, headers, body: await response.text() };
      },
      close: () => new Promise((resolve) => server.close(resolve)),
    };
  };
}
