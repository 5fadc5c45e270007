// A correct receiver on node:http, for `make demo` and the simulate test: telhook's middleware
// with a memory store. GET /count answers how often each event was processed, the form
// `telhook simulate --count-url` reads. Prints its URL, then serves until killed.
//   node npm/scripts/example-receiver.mjs <provider> <credentials.json> [port]
import http from "node:http";
import { readFileSync } from "node:fs";
import { createNodeMiddleware, memoryStore } from "telhook";

const [provider, credentialsPath, port = "0"] = process.argv.slice(2);
const processed = {};
const middleware = createNodeMiddleware({
  provider,
  credentials: JSON.parse(readFileSync(credentialsPath, "utf8")),
  store: memoryStore(),
  onEvent: (event) => {
    processed[event.id] = (processed[event.id] ?? 0) + 1;
  },
  onError: () => {},
});
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/count") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(processed));
    return;
  }
  middleware(req, res);
});
server.listen(Number(port), "127.0.0.1", () => console.log(`http://127.0.0.1:${server.address().port}`));
