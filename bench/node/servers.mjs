// `make bench`, end-to-end servers (issue 14): `node servers.mjs MODE PORT [SECRET]` serves POST / on
// 127.0.0.1:PORT with node:http, one process, until it is sent SIGTERM. bench/node/e2e.mjs
// starts each, loads it with autocannon and stops it.
// - telhook: telhook's createNodeMiddleware (no dedupe store: every request does the whole
//   verify, normalize, onEvent, answer path; the clock is the payload's signing time);
// - octokit: @octokit/webhooks' createNodeMiddleware, GitHub's x-hub-signature-256 scheme
//   with SECRET;
// - bare: a hand-written handler: read the body, verify and map it as bench/node/handwritten.mjs
//   does, answer 200;
// - normalize: the bare handler with telhook's `Receiver.normalize` in place of the hand-written
//   check, and nothing of the middleware (no receive machine, no handler call): the least a
//   middleware around today's core call can cost, the floor of the ≥ 0.9× octokit goal.
import http from "node:http";
import { readFileSync } from "node:fs";
import { Webhooks, createNodeMiddleware as octokitMiddleware } from "@octokit/webhooks";
import { createNodeMiddleware, Receiver } from "../../npm/dist/node.mjs";
import { handwritten, secretsOf } from "./handwritten.mjs";

const payload = JSON.parse(readFileSync(new URL("../payloads/limephone.json", import.meta.url), "utf8"));
const [mode, port, octokitSecret] = process.argv.slice(2);
let handled = 0;

/**
 * A bare node:http handler: the body read whole, `check(req, body)` (throws when the request is
 * refused), then a fixed answer. The bare and normalize servers differ only in `check`.
 */
function bareHandler(check) {
  return (req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      try {
        check(req, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        handled++;
        res.writeHead(200, { "content-type": "application/json" }).end('{"outcome":"accepted"}');
      } catch {
        res.writeHead(401, { "content-type": "application/json" }).end('{"error":"signature_invalid"}');
      }
    });
  };
}

function bare() {
  const secrets = secretsOf(payload.credentials);
  return bareHandler((req, body) => {
    const headers = { "X-LimePhone-Signature": req.headers["x-limephone-signature"], Authorization: req.headers.authorization };
    handwritten("limephone", { headers, body: body.toString("utf8") }, secrets);
  });
}

function normalize() {
  const receiver = new Receiver("limephone", payload.credentials);
  return bareHandler((req, body) =>
    receiver.normalize({ method: req.method, url: req.url, headers: req.rawHeaders, body }, { now: payload.now }),
  );
}

function telhook() {
  return createNodeMiddleware({
    provider: "limephone",
    credentials: payload.credentials,
    store: null,
    clock: () => payload.now,
    onEvent: async () => {
      handled++;
    },
  });
}

function octokit() {
  const webhooks = new Webhooks({ secret: octokitSecret });
  webhooks.on("push", () => {
    handled++;
  });
  return octokitMiddleware(webhooks, { path: "/" });
}

const handler = { bare, normalize, telhook, octokit }[mode]();
const server = http.createServer(handler);
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
// The server's own CPU time per request, which leaves out the load generator that shares this
// machine's cores (requests/s does not): SIGUSR2 starts the count (bench/node/e2e.mjs sends it as the
// load starts); at SIGTERM the CPU time and requests since then go to stdout as one JSON line.
let since = { cpu: process.cpuUsage(), handled: 0 };
process.on("SIGUSR2", () => {
  since = { cpu: process.cpuUsage(), handled };
});
process.on("SIGTERM", () => {
  console.error(`${mode}: ${handled} events handled`);
  const { user, system } = process.cpuUsage(since.cpu);
  process.stdout.write(`${JSON.stringify({ cpu_us: user + system, requests: handled - since.handled })}\n`, () => {
    server.close();
    process.exit(0);
  });
});
