// The receive contract in Node: handler vectors through the middleware on a real loopback
// server, options checked at creation, the body cap enforced while streaming.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import * as telhook from "telhook";
import { fetchHandlerAdapter, runHandlerVector } from "./handler-vectors.mjs";
import { loadHandlerVectors } from "./load-vectors.mjs";
import { nodeMiddlewareAdapter } from "./node-adapter.mjs";

const handlerVectors = loadHandlerVectors();

test("every handler vector gives the expected answers through the Node middleware", async () => {
  assert.ok(handlerVectors.length >= 30, `only ${handlerVectors.length} handler vectors`);
  for (const { name, vector } of handlerVectors) {
    const result = await runHandlerVector(telhook, vector, nodeMiddlewareAdapter(telhook));
    for (const step of result.steps) assert.deepStrictEqual(step.actual, step.expect, `${name} step ${step.index}`);
    assert.equal(result.handler_calls, vector.expect_handler_calls, `${name}: handler calls`);
  }
});

test("createHandler in Node answers every handler vector exactly as the Node middleware does", async () => {
  for (const { name, vector } of handlerVectors) {
    const viaFetch = await runHandlerVector(telhook, vector, fetchHandlerAdapter(telhook));
    const viaMiddleware = await runHandlerVector(telhook, vector, nodeMiddlewareAdapter(telhook));
    assert.deepStrictEqual(viaFetch.steps.map((s) => s.answer), viaMiddleware.steps.map((s) => s.answer), name);
    assert.equal(viaFetch.handler_calls, vector.expect_handler_calls, name);
  }
});

const MiB = 1024 * 1024;
const limephone = JSON.parse(
  (await import("node:fs")).readFileSync(new URL("../../tests/vectors/limephone/doc_sms_received.json", import.meta.url), "utf8"),
);
const lisoloo = JSON.parse(
  (await import("node:fs")).readFileSync(new URL("../../tests/vectors/lisoloo/sms_sent.json", import.meta.url), "utf8"),
);

/** Peak RSS growth while `work` runs, sampled every few milliseconds. */
async function rssGrowth(work) {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 2);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/**
 * POSTs `total` bytes with chunked transfer encoding (no Content-Length), honouring
 * backpressure; like a careless client it keeps sending after the answer, until the server
 * hangs up. Resolves once both the answer and the sending are over.
 */
function postChunked(port, headers, total) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let answer = null;
    let sending = true;
    const settle = () => {
      if (answer !== null && !sending) resolve({ ...answer, sent });
    };
    const request = http.request({ host: "127.0.0.1", port, method: "POST", path: "/hook", headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (text) => {
        body += text;
      });
      response.on("end", () => {
        answer = { status: response.statusCode, body };
        settle();
      });
    });
    const stopSending = () => {
      sending = false;
      settle();
    };
    // The server hangs up while we are still sending: expected, once it has answered.
    request.on("error", stopSending);
    request.on("close", () => {
      if (answer === null) reject(new Error("the connection closed without a complete answer"));
      else stopSending(); // a client that read the answer closes without finishing the body
    });
    request.on("finish", stopSending);
    const write = () => {
      while (sent < total && sending) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once("drain", write);
      }
      if (sending) request.end();
    };
    write();
  });
}

/** A raw loopback connection (half-open allowed) that collects what the server sends. */
function rawConnection(port) {
  const connection = { socket: net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }), received: "" };
  connection.socket.setEncoding("latin1");
  connection.socket.on("data", (text) => {
    connection.received += text;
  });
  connection.socket.on("error", () => {});
  return connection;
}

/** The head of a `POST /hook` with `headers` and a declared Content-Length. */
function postHead(headers, contentLength) {
  const lines = Object.entries({ ...headers, "content-length": String(contentLength) }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST /hook HTTP/1.1\r\nhost: 127.0.0.1\r\n${lines.join("")}\r\n`;
}

/** A Lisoloo middleware with no store and a silent onError, unless `options` say otherwise. */
function lisolooMiddleware(options) {
  return telhook.createNodeMiddleware({ provider: "lisoloo", credentials: lisoloo.credentials, store: null, onError: () => {}, ...options });
}

/**
 * Runs `work(server, port, headers)` against a loopback server with a LimePhone middleware (no
 * store), for the body cap's mechanics; closes the server after.
 * LimePhone answers a body over the cap 413 (Lisoloo 500, as it would drop the event: the
 * handler vector lisoloo_body_too_large_is_retried).
 */
async function withCappedMiddleware(onEvent, work) {
  const middleware = telhook.createNodeMiddleware({ provider: "limephone", credentials: limephone.credentials, store: null, onError: () => {}, onEvent });
  const server = http.createServer((req, res) => middleware(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const headers = { "content-type": "application/json" };
    return await work(server, server.address().port, headers);
  } finally {
    server.close();
  }
}

test("Node middleware: a 100 MiB chunked body against the 1 MiB cap gets 413 and the process grows by < 16 MiB", { timeout: 120_000 }, async () => {
  let calls = 0;
  const onEvent = () => {
    calls += 1;
  };
  await withCappedMiddleware(onEvent, async (_server, port, headers) => {
    await postChunked(port, headers, 64 * 1024); // warm-up: code paths loaded before measuring
    const { result, growth } = await rssGrowth(() => postChunked(port, headers, 100 * MiB));
    assert.equal(result.status, 413);
    assert.deepStrictEqual(JSON.parse(result.body), { error: "body_too_large" });
    assert.ok(growth < 16 * MiB, `the process grew by ${(growth / MiB).toFixed(1)} MiB`);
    console.log(`# node middleware, 100 MiB chunked: RSS +${(growth / MiB).toFixed(1)} MiB, client sent ${(result.sent / MiB).toFixed(1)} MiB`);
    // A declared Content-Length over the cap is answered before any of the body is read.
    const declared = await new Promise((resolve, reject) => {
      const request = http.request(
        { host: "127.0.0.1", port, method: "POST", path: "/hook", headers: { ...headers, "content-length": String(100 * MiB) } },
        (response) => {
          let body = "";
          response.on("data", (text) => {
            body += text;
          });
          response.on("end", () => resolve([response.statusCode, JSON.parse(body)]));
        },
      );
      request.on("error", (error) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error)));
      request.write(Buffer.alloc(1024, 0x61)); // and then nothing: the answer must not wait for the rest
    });
    assert.deepStrictEqual(declared, [413, { error: "body_too_large" }]);
    assert.equal(calls, 0);
  });
});

test("Node middleware: every upload cut off at the cap reads its 413 (lingering close), and a client that stops sending is let go within seconds", { timeout: 120_000 }, async () => {
  let events = 0;
  const onEvent = () => {
    events += 1;
  };
  await withCappedMiddleware(onEvent, async (server, port, headers) => {
    // Closing at once (Node's own way) lost the 413 to a reset in ~2 % of these on loopback:
    // the client, still sending on a kept-alive connection, got EPIPE before it read the answer.
    const uploads = 200;
    const statuses = new Map();
    for (let i = 0; i < uploads; i += 1) {
      await postChunked(port, headers, 64 * 1024); // leaves a kept-alive connection for the next
      const { status } = await postChunked(port, headers, 8 * MiB);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.deepStrictEqual([...statuses], [[413, uploads]]);
    // The lingering is bounded: a client that declares 100 MiB, sends 1 KiB and then neither
    // sends nor closes is answered at once, and its connection is closed after the linger (2 s).
    const serverSocketClosed = new Promise((resolve) => server.once("connection", (socket) => socket.once("close", () => resolve(Date.now()))));
    const started = Date.now();
    const stalled = rawConnection(port);
    stalled.socket.write(postHead(headers, 100 * MiB));
    stalled.socket.write(Buffer.alloc(1024, 0x61));
    const closedAfter = (await serverSocketClosed) - started;
    stalled.socket.destroy();
    assert.match(stalled.received, /^HTTP\/1\.1 413 /);
    assert.ok(closedAfter >= 1500 && closedAfter < 6000, `the server closed the connection after ${closedAfter} ms`);
    // A request pipelined after the 413 (which said `Connection: close`) is not processed: it
    // could not be answered, so a handler run for it would run again on the provider's retry.
    const pipelined = rawConnection(port);
    const over = MiB + 4096;
    const signed = lisoloo.request.body;
    pipelined.socket.write(postHead(headers, over));
    pipelined.socket.write(Buffer.alloc(over, 0x61));
    pipelined.socket.write(postHead(headers, Buffer.byteLength(signed)) + signed);
    pipelined.socket.on("end", () => pipelined.socket.end()); // the server's half-close after its 413: close too
    await new Promise((resolve) => pipelined.socket.once("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 200)); // a request read by mistake would be handled by now
    assert.deepStrictEqual(pipelined.received.match(/HTTP\/1\.1 \d+/g), ["HTTP/1.1 413"]);
    assert.equal(events, 0, "a request pipelined after the 413 reached onEvent");
    console.log(`# node middleware: ${uploads} cut-off uploads all read 413; a stalled client let go after ${closedAfter} ms`);
  });
});

test("createHandler (Fetch, in Node): a 100 MiB streamed body stops being read past the cap: 413, < 16 MiB growth", async () => {
  const handler = telhook.createHandler({
    provider: "limephone",
    credentials: limephone.credentials,
    store: null,
    onEvent: () => assert.fail("no event from an oversized body"),
    onError: () => {},
  });
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let pulled = 0;
  const body = new ReadableStream({
    pull(controller) {
      if (pulled >= 100 * MiB) return controller.close();
      pulled += chunk.length;
      controller.enqueue(chunk.slice());
    },
  });
  const request = new Request("https://hooks.test/hook", {
    method: "POST",
    headers: { authorization: lisoloo.request.headers.Authorization },
    body,
    duplex: "half",
  });
  const { result: response, growth } = await rssGrowth(() => handler(request));
  assert.equal(response.status, 413);
  assert.deepStrictEqual(await response.json(), { error: "body_too_large" });
  assert.ok(growth < 16 * MiB, `the process grew by ${(growth / MiB).toFixed(1)} MiB`);
  // Reading stopped at the cap (plus what the stream had queued), not at the end of the body.
  assert.ok(pulled <= 2 * MiB, `${pulled} bytes were pulled from the body`);
});

const lisolooPassword = lisoloo.credentials.basic[0].password;
const lisolooDelivery = () =>
  new Request("https://hooks.test/lisoloo", { method: "POST", headers: lisoloo.request.headers, body: lisoloo.request.body });
const lisolooEventId = "lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003";
const fixedClock = () => lisoloo.now;

function lisolooHandler(overrides) {
  return telhook.createHandler({
    provider: "lisoloo",
    credentials: lisoloo.credentials,
    clock: fixedClock,
    store: telhook.memoryStore({ clock: fixedClock }),
    onEvent: () => {},
    onError: () => {},
    ...overrides,
  });
}

const answerOf = async (response) => [response.status, await response.json()];

test("a clock in milliseconds is refused at creation (invalid_clock), by both adapters and the memory store", () => {
  const isInvalidClock = (e) => e instanceof telhook.ConfigurationError && e.code === "invalid_clock";
  for (const create of [telhook.createHandler, telhook.createNodeMiddleware]) {
    assert.throws(() => create({ provider: "lisoloo", credentials: lisoloo.credentials, store: null, onEvent() {}, clock: () => Date.now() }), isInvalidClock);
  }
  assert.throws(() => telhook.memoryStore({ clock: () => Date.now() }), isInvalidClock);
  // Seconds with a fraction are a reading in seconds.
  assert.doesNotThrow(() => lisolooHandler({ clock: () => Date.now() / 1000 }));
  assert.doesNotThrow(() => lisolooHandler({ clock: () => new Date() }));
});

test("missing, undefined, null, empty or whitespace-only secrets throw ConfigurationError naming the field, not the value", () => {
  const secret = "s3cret-value-never-shown";
  const cases = [
    [undefined, "credentials"],
    [null, "credentials"],
    [{ hmac_sha256: secret, bearer: undefined }, "credentials.bearer"],
    [{ hmac_sha256: [secret, undefined] }, "credentials.hmac_sha256[1]"],
    [{ basic: [{ username: "hook", password: undefined }] }, "credentials.basic[0].password"],
    [{ basic: [{ username: "hook", password: null }] }, "credentials.basic[0].password"],
    [{ bearer: secret, hmac_sha256: "" }, "hmac_sha256"],
    [{ bearer: secret, hmac_sha256: "   " }, "hmac_sha256"],
  ];
  for (const [credentials, field] of cases) {
    let caught;
    try {
      telhook.createHandler({ provider: "limephone", credentials, store: null, onEvent() {} });
    } catch (error) {
      caught = error;
    }
    const label = JSON.stringify(credentials) ?? "undefined";
    assert.ok(caught instanceof telhook.ConfigurationError, `${label}: ${caught}`);
    assert.ok(["missing_credentials", "invalid_credentials"].includes(caught.code), `${label}: ${caught.code}`);
    assert.ok(caught.message.includes(field), `${label}: "${caught.message}" does not name ${field}`);
    assert.ok(!`${caught.message}${caught.stack}`.includes(secret), `${label}: the message shows a secret`);
  }
});

test("options are checked at creation: unknown names, onEvent, store, onError", () => {
  const base = { provider: "lisoloo", credentials: lisoloo.credentials, store: null, onEvent() {} };
  for (const create of [telhook.createHandler, telhook.createNodeMiddleware]) {
    assert.throws(() => create({ ...base, dedupe: telhook.memoryStore() }), /"dedupe" is now "store"/);
    assert.throws(() => create({ ...base, onevent() {} }), /unknown option "onevent"/);
    assert.throws(() => create({ ...base, onEvent: undefined }), TypeError);
    assert.throws(() => create({ ...base, store: undefined }), /store is required/);
    assert.throws(() => create({ ...base, store: { add() {} } }), /claim/);
    assert.throws(() => create({ ...base, onError: "log" }), TypeError);
    assert.throws(() => create({ ...base, provider: "sinch" }), (e) => e.code === "unknown_provider");
  }
});

test("the default onError logs provider, event id and code at the core's level, never the body", async (t) => {
  const lines = [];
  for (const level of ["error", "warn"]) {
    t.mock.method(console, level, (...args) => lines.push({ level, text: args.map(String).join(" ") }));
  }
  const handler = telhook.createHandler({
    provider: "lisoloo",
    credentials: lisoloo.credentials,
    clock: fixedClock,
    store: telhook.memoryStore({ clock: fixedClock }),
    onEvent: () => {
      throw new Error("database down");
    },
  });
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [500, { error: "handler_failed" }]);
  const forged = new Request("https://hooks.test/lisoloo", {
    method: "POST",
    headers: { authorization: `Basic ${btoa("lisoloo-hook:wrong")}` },
    body: lisoloo.request.body,
  });
  assert.equal((await handler(forged)).status, 401);
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.equal(lines[0].level, "error");
  assert.match(lines[0].text, /handler_failed/);
  assert.ok(lines[0].text.includes("lisoloo") && lines[0].text.includes(lisolooEventId) && lines[0].text.includes("database down"));
  assert.match(lines[1].text, /authorization_mismatch/);
  for (const { text } of lines) {
    assert.ok(!text.includes("507f1f77bcf86cd799439011") && !text.includes("recipient_phone"), `the body was logged: ${text}`);
    assert.ok(!text.includes(lisolooPassword));
  }
});

test("onError gets the handler's exception with provider, event id and code; the event is released for the retry", async () => {
  const reports = [];
  let fail = true;
  const handler = lisolooHandler({
    onEvent: () => {
      if (fail) throw new TypeError("boom");
    },
    onError: (error, info) => reports.push({ error, info }),
  });
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [500, { error: "handler_failed" }]);
  assert.equal(reports.length, 1);
  assert.ok(reports[0].error instanceof TypeError);
  assert.deepStrictEqual(
    { ...reports[0].info },
    { provider: "lisoloo", eventId: lisolooEventId, code: "handler_failed", status: 500, log: "error", note: null },
  );
  fail = false;
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "accepted" }]);
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "duplicate" }]);
});

test("a handler's own Response is sent as is and its status still decides the dedupe", async () => {
  let calls = 0;
  const handler = lisolooHandler({
    onEvent: () => {
      calls += 1;
      return calls === 1
        ? new Response("busy", { status: 503, headers: { "retry-after": "60" } }) // the provider retries: released
        : new Response("stored", { status: 202, headers: { "x-mine": "1" } });
    },
  });
  const first = await handler(lisolooDelivery());
  assert.deepStrictEqual([first.status, first.headers.get("retry-after"), await first.text()], [503, "60", "busy"]);
  const second = await handler(lisolooDelivery());
  assert.deepStrictEqual([second.status, second.headers.get("x-mine"), await second.text()], [202, "1", "stored"]);
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "duplicate" }]);
  assert.equal(calls, 2);
});

test("a handler returning a number or an object is an ok outcome, not a status", async () => {
  const handler = lisolooHandler({ onEvent: () => 1 });
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "accepted" }]);
  const other = lisolooHandler({ onEvent: () => ({ status: 404 }) });
  assert.deepStrictEqual(await answerOf(await other(lisolooDelivery())), [200, { outcome: "accepted" }]);
});

test("a failing store answers dedupe_unavailable (503) without calling the handler", async () => {
  const reports = [];
  let calls = 0;
  const broken = new Error("store unreachable");
  const handler = lisolooHandler({
    store: {
      claim: async () => {
        throw broken;
      },
      complete() {},
      release() {},
    },
    onEvent: () => {
      calls += 1;
    },
    onError: (error, info) => reports.push([error, info.code]),
  });
  const response = await handler(lisolooDelivery());
  assert.deepStrictEqual(await answerOf(response), [503, { error: "dedupe_unavailable" }]);
  assert.equal(calls, 0);
  assert.deepStrictEqual(reports, [[broken, "dedupe_unavailable"]]);
  const lying = lisolooHandler({ store: { claim: () => "yes", complete() {}, release() {} } });
  assert.equal((await lying(lisolooDelivery())).status, 503);
  // A synchronous store (no promise, so no deadline timer) that throws: the same answer.
  const throwing = lisolooHandler({
    store: {
      claim() {
        throw broken;
      },
      complete() {},
      release() {},
    },
    onEvent: () => {
      calls += 1;
    },
  });
  assert.deepStrictEqual(await answerOf(await throwing(lisolooDelivery())), [503, { error: "dedupe_unavailable" }]);
  assert.equal(calls, 0);
});

test("ackForError: a TelhookError's answer by its code, anything else a failed handler", () => {
  let error;
  try {
    telhook.normalizeEvent("lisoloo", { headers: { authorization: "Basic eDp5" }, body: lisoloo.request.body }, lisoloo.credentials, {
      now: lisoloo.now,
    });
  } catch (caught) {
    error = caught;
  }
  const answer = telhook.ackForError(error, "lisoloo");
  assert.equal(answer.status, 401);
  assert.equal(answer.code, "authorization_mismatch");
  assert.deepStrictEqual(JSON.parse(answer.body), { error: "authorization_mismatch" });
  assert.ok(answer.headers.some(([name, value]) => name === "content-type" && value === "application/json"));
  const failed = telhook.ackForError(new Error("db"), "lisoloo");
  assert.deepStrictEqual([failed.status, failed.code, failed.dedupe], [500, "handler_failed", "release"]);
  assert.throws(() => telhook.ackForError(new Error("db")), TypeError);
});

test("memoryStore: one claim wins, complete -> done, release -> new, an expired lease -> new; only the owner's token counts", () => {
  let now = 1769000000;
  const store = telhook.memoryStore({ clock: () => now });
  assert.equal(store.claim("a", "t1", 300), "new");
  assert.equal(store.claim("a", "t2", 300), "in_progress");
  now += 301;
  assert.equal(store.claim("a", "t3", 300), "new"); // t1's worker hung past its lease
  store.release("a", "t1"); // t1 wakes up and fails: the claim is t3's now, left alone
  store.complete("a", "t1", 86400);
  assert.equal(store.claim("a", "t4", 300), "in_progress");
  store.complete("a", "t3", 86400);
  assert.equal(store.claim("a", "t4", 300), "done");
  store.release("a", "t3"); // a completed key stays done
  assert.equal(store.claim("a", "t4", 300), "done");
  now += 86401;
  assert.equal(store.claim("a", "t5", 300), "new");
  assert.equal(store.claim("b", "u1", 300), "new");
  store.release("b", "u1");
  assert.equal(store.claim("b", "u2", 300), "new");
  // Expired entries are swept as the store grows; live ones survive the sweep.
  for (let i = 0; i < 5000; i += 1) store.claim(`k${i}`, "k", 1);
  now += 2;
  for (let i = 0; i < 5000; i += 1) store.claim(`m${i}`, "m", 300);
  assert.equal(store.claim("b", "u3", 300), "in_progress");
  assert.equal(store.claim("k1", "k", 300), "new");
});

test("two deliveries of one event never share a claim token", async () => {
  const tokens = [];
  const inner = telhook.memoryStore({ clock: fixedClock });
  const recording = {
    claim: (key, token, lease) => {
      tokens.push(token);
      return inner.claim(key, token, lease);
    },
    complete: (...args) => inner.complete(...args),
    release: (...args) => inner.release(...args),
  };
  const handler = lisolooHandler({ store: recording, onEvent: () => new Response(null, { status: 503 }) });
  await handler(lisolooDelivery());
  await handler(lisolooDelivery());
  assert.equal(tokens.length, 2);
  assert.ok(typeof tokens[0] === "string" && tokens[0].length >= 16 && tokens[0] !== tokens[1]);
});

test("Express: without a body parser, behind express.raw() or a json() that keeps rawBody it verifies; behind express.json() it says the raw body is gone", async () => {
  const { default: express } = await import("express");
  const reports = [];
  const events = [];
  const middleware = () =>
    telhook.createNodeMiddleware({
      provider: "lisoloo",
      credentials: lisoloo.credentials,
      clock: fixedClock,
      store: null,
      onEvent: (event) => {
        events.push(event.id);
      },
      onError: (error) => reports.push(error),
    });
  const app = express();
  app.post("/plain", middleware());
  app.post("/raw", express.raw({ type: "*/*" }), middleware());
  app.post("/kept", express.json({ verify: (req, _res, buf) => Object.assign(req, { rawBody: buf }) }), middleware());
  // The tutorials' other form: the raw body kept as text (it was a 500 raw_body_unavailable, a review).
  app.post("/kept-text", express.json({ verify: (req, _res, buf, encoding) => Object.assign(req, { rawBody: buf.toString(encoding || "utf8") }) }), middleware());
  app.post("/parsed", express.json(), middleware());
  // Kept as text in another encoding: not the bytes sent, so a 500 (it was a 400, which Lisoloo drops).
  app.post("/kept-base64", express.json({ verify: (req, _res, buf) => Object.assign(req, { rawBody: buf.toString("base64") }) }), middleware());
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    const post = async (path) => {
      const response = await fetch(`http://127.0.0.1:${server.address().port}${path}`, {
        method: "POST",
        headers: lisoloo.request.headers,
        body: lisoloo.request.body,
      });
      return [response.status, await response.json()];
    };
    for (const path of ["/plain", "/raw", "/kept", "/kept-text"]) assert.deepStrictEqual(await post(path), [200, { outcome: "accepted" }], path);
    assert.equal(events.length, 4);
    assert.equal(reports.length, 0);
    const [status, body] = await post("/parsed");
    // A 500, never a 4xx: the provider retries until the mounting is fixed.
    assert.deepStrictEqual([status, body], [500, { error: "raw_body_unavailable" }]);
    assert.equal(reports.length, 1);
    assert.ok(reports[0] instanceof telhook.ConfigurationError);
    assert.equal(reports[0].code, "raw_body_unavailable");
    assert.match(reports[0].message, /express\.json\(\)/);
    assert.equal(events.length, 4);
    assert.deepStrictEqual(await post("/kept-base64"), [500, { error: "raw_body_unavailable" }]);
    assert.equal(events.length, 4);
    // Sent gzipped: the core inflates the body as sent (no parser), and reads as it is what a
    // parser inflated, kept as bytes or as text (whose length is not the sent Content-Length:
    // it was a 500 on every gzipped delivery).
    const { gzipSync } = await import("node:zlib");
    const reported = reports.length;
    for (const path of ["/plain", "/raw", "/kept", "/kept-text"]) {
      const response = await fetch(`http://127.0.0.1:${server.address().port}${path}`, {
        method: "POST",
        headers: { ...lisoloo.request.headers, "Content-Encoding": "gzip" },
        body: gzipSync(Buffer.from(lisoloo.request.body)),
      });
      assert.deepStrictEqual([response.status, await response.json()], [200, { outcome: "accepted" }], `${path}, gzipped`);
    }
    assert.equal(events.length, 8);
    assert.equal(reports.length, reported);
  } finally {
    server.close();
  }
});

test("createHandler: a delivery sent gzipped is read inflated, and onEvent's request reads the inflated body without its coding", async () => {
  const { gzipSync } = await import("node:zlib");
  const seen = [];
  const handler = lisolooHandler({
    onEvent: async (event, { request }) => {
      seen.push([event.id, (await request.json()).event_id, request.headers.get("content-encoding"), request.headers.get("content-length")]);
    },
  });
  const gzipped = new Request("https://hooks.test/lisoloo", {
    method: "POST",
    headers: { ...lisoloo.request.headers, "Content-Encoding": "gzip" },
    body: gzipSync(Buffer.from(lisoloo.request.body)),
  });
  assert.deepStrictEqual(await answerOf(await handler(gzipped)), [200, { outcome: "accepted" }]);
  // The same event sent plain is its duplicate: one key whatever the coding.
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "duplicate" }]);
  assert.deepStrictEqual(seen, [[lisolooEventId, lisolooEventId.slice("lisoloo:".length), null, null]]);
});

test("createHandler hands onEvent the request, env and ctx it was called with (ctx.waitUntil)", async () => {
  const seen = [];
  const waited = [];
  const env = { name: "env" };
  const ctx = { waitUntil: (promise) => waited.push(promise) };
  const handler = lisolooHandler({
    onEvent: (event, context) => {
      seen.push(context);
      context.ctx.waitUntil(Promise.resolve(event.id));
    },
  });
  const request = lisolooDelivery();
  assert.equal((await handler(request, env, ctx)).status, 200);
  assert.equal(seen.length, 1);
  assert.ok(seen[0].env === env && seen[0].ctx === ctx);
  // The delivery's request, its body (which telhook read) readable again.
  assert.equal(seen[0].request.url, request.url);
  assert.equal(seen[0].request.headers.get("authorization"), request.headers.get("authorization"));
  assert.equal(await seen[0].request.text(), lisoloo.request.body);
  // onEvent's own promise, and telhook's: the handler and the settling of its claim, handed to
  // waitUntil once the handler starts so that a Worker whose request ends does not drop them.
  assert.equal(waited.length, 2);
  assert.deepStrictEqual(await Promise.all(waited), [undefined, lisolooEventId]);
  // A delivery refused before the handler hands waitUntil nothing.
  assert.equal((await handler(new Request("https://hooks.test/lisoloo", { method: "GET" }), env, ctx)).status, 405);
  assert.equal(waited.length, 2);
});

test("onEvent can read the body of the request it was called for (request.json()), not a 500 on every redelivery", async () => {
  const read = [];
  const handler = lisolooHandler({
    onEvent: async (event, { request }) => {
      read.push((await request.json()).event_id);
    },
  });
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "accepted" }]);
  assert.deepStrictEqual(read, [JSON.parse(lisoloo.request.body).event_id]);
});

test("a Request whose body was read before createHandler (Hono's c.req.json() on c.req.raw) is raw_body_unavailable (500), never a 4xx", async () => {
  let calls = 0;
  const handler = lisolooHandler({ onEvent: () => void (calls += 1) });
  const request = lisolooDelivery();
  await request.text();
  assert.deepStrictEqual(await answerOf(await handler(request)), [500, { error: "raw_body_unavailable" }]);
  assert.equal(calls, 0);
});

test("an empty body where a Content-Length is declared (a middleware consumed it) is raw_body_unavailable (500); a whole body shorter than it once decoded is read", async () => {
  let calls = 0;
  const handler = lisolooHandler({ onEvent: () => void (calls += 1) });
  const delivery = (declared, body) =>
    new Request("https://hooks.test/lisoloo", { method: "POST", headers: { ...lisoloo.request.headers, "content-length": String(declared) }, body });
  const length = lisoloo.request.body.length;
  assert.deepStrictEqual(await answerOf(await handler(delivery(length, ""))), [500, { error: "raw_body_unavailable" }]);
  assert.equal(calls, 0);
  // express.text() strips a UTF-8 BOM: the whole body, 3 bytes shorter than its Content-Length.
  assert.deepStrictEqual(await answerOf(await handler(delivery(length + 3, lisoloo.request.body))), [200, { outcome: "accepted" }]);
  assert.equal(calls, 1);
});

test("the wasm binding holds one copy of the body, not two", async () => {
  // A module instance of its own (not the package's), so its memory starts small.
  const { readFileSync } = await import("node:fs");
  const glue = await import("../wasm/telhook_wasm.js");
  const { memory } = glue.initSync({ module: readFileSync(new URL("../wasm/telhook_wasm_bg.wasm", import.meta.url)) });
  const size = 8 * MiB;
  const receiver = new glue.Receiver("limephone", JSON.stringify({ hmac_sha256: "k" }), JSON.stringify({ max_body_bytes: size }));
  const before = memory.buffer.byteLength;
  const body = new Uint8Array(size).fill(0x20);
  // A signature that does not match: verification hashes the body and allocates nothing else.
  const [name, value] = ["x-limephone-signature", "00".repeat(32)];
  const headerLengths = new Uint32Array([name.length, value.length]);
  assert.throws(() => receiver.normalize("POST", undefined, name + value, headerLengths, body, 1769000000), /signature_mismatch/);
  const growth = memory.buffer.byteLength - before;
  assert.ok(growth >= size && growth < 1.5 * size, `wasm memory grew by ${(growth / MiB).toFixed(1)} MiB for an 8 MiB body`);
});

test("Node middleware: a header sent twice with different values reaches the core (rawHeaders): ambiguous_header", async () => {
  let calls = 0;
  const middleware = lisolooMiddleware({
    onEvent: () => {
      calls += 1;
    },
  });
  const server = http.createServer((req, res) => middleware(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address();
    const post = (authorization) =>
      new Promise((resolve, reject) => {
        // An array value is sent as one header line per value, as a proxy that appends would.
        const request = http.request(
          { host: "127.0.0.1", port, method: "POST", path: "/hook", headers: { "content-type": "application/json", authorization } },
          (response) => {
            let body = "";
            response.on("data", (text) => {
              body += text;
            });
            response.on("end", () => resolve([response.statusCode, JSON.parse(body).error ?? JSON.parse(body).outcome]));
          },
        );
        request.on("error", reject);
        request.end(lisoloo.request.body);
      });
    const good = lisoloo.request.headers.Authorization;
    // node:http keeps only the first Authorization in req.headers: without rawHeaders the
    // forged second copy would be invisible and the request accepted.
    const [status, code] = await post([good, "Basic Zm9yZ2VkOnZhbHVl"]);
    assert.equal(code, "ambiguous_header");
    assert.ok(status >= 400 && status !== 200, `status ${status}`);
    assert.equal(calls, 0);
    assert.deepStrictEqual(await post(good), [200, "accepted"]);
    assert.equal(calls, 1);
  } finally {
    server.close();
  }
});

/** A node:http server around a middleware; `post(headers, body)` resolves to [status, code, ms]. */
async function serve(middleware) {
  const server = http.createServer((req, res) => middleware(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  const post = (headers, body) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      // An array value is sent as one header line per value, as a proxy that appends would.
      const request = http.request({ host: "127.0.0.1", port, method: "POST", path: "/hook", headers }, (response) => {
        let text = "";
        response.on("data", (chunk) => {
          text += chunk;
        });
        response.on("end", () => {
          const parsed = text === "" ? {} : JSON.parse(text);
          resolve([response.statusCode, parsed.error ?? parsed.outcome ?? null, performance.now() - started]);
        });
      });
      request.on("error", reject);
      request.end(body);
    });
  return { post, close: () => new Promise((resolve) => server.close(resolve)) };
}

const hangingStore = () => ({ claim: () => new Promise(() => {}), complete() {}, release() {} });

test("Node middleware: a store that never answers the claim gets 503 dedupe_unavailable within storeDeadlineMs, and onError fires", async () => {
  for (const storeDeadlineMs of [250, undefined]) {
    const deadline = storeDeadlineMs ?? 1000; // the core's default
    const reports = [];
    let calls = 0;
    const middleware = telhook.createNodeMiddleware({
      provider: "lisoloo",
      credentials: lisoloo.credentials,
      clock: fixedClock,
      store: hangingStore(),
      storeDeadlineMs,
      onEvent: () => {
        calls += 1;
      },
      onError: (error, info) => reports.push({ error, info }),
    });
    const server = await serve(middleware);
    try {
      const [status, code, elapsed] = await server.post(lisoloo.request.headers, lisoloo.request.body);
      console.log(`# node middleware, hanging store, storeDeadlineMs ${deadline}: ${status} ${code} after ${elapsed.toFixed(0)} ms`);
      assert.deepStrictEqual([status, code], [503, "dedupe_unavailable"]);
      assert.ok(elapsed >= deadline - 5 && elapsed < deadline + 1000, `answered after ${elapsed} ms`);
      assert.equal(calls, 0);
      assert.equal(reports.length, 1);
      const { error, info } = reports[0];
      assert.deepStrictEqual([info.code, info.status, info.log, info.provider, info.eventId], [
        "dedupe_unavailable", 503, "error", "lisoloo", lisolooEventId,
      ]);
      assert.match(info.note, /did not answer the claim within store_deadline_ms/);
      assert.match(error.message, new RegExp(`store.claim did not answer within ${deadline} ms`));
    } finally {
      await server.close();
    }
  }
});

test("a store that never settles: the handler's answer stands, onError gets an error (the claim expires with its lease)", async () => {
  const reports = [];
  const inner = telhook.memoryStore({ clock: fixedClock });
  const handler = lisolooHandler({
    store: { claim: (...args) => inner.claim(...args), complete: () => new Promise(() => {}), release: () => new Promise(() => {}) },
    storeDeadlineMs: 100,
    onError: (error, info) => reports.push({ error, info }),
  });
  const started = performance.now();
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "accepted" }]);
  assert.ok(performance.now() - started < 1100);
  assert.equal(reports.length, 1);
  assert.deepStrictEqual([reports[0].info.code, reports[0].info.log], ["accepted", "error"]);
  assert.match(reports[0].info.note, /did not settle the claim within store_deadline_ms/);
  // Held by the unsettled claim until its lease ends: the redelivery is told to come back.
  assert.equal((await handler(lisolooDelivery())).status, 503);
});

test("leaseSecs, dedupeTtlSecs and storeDeadlineMs reach the store; invalid ones throw ConfigurationError invalid_option at creation", async () => {
  const base = { provider: "lisoloo", credentials: lisoloo.credentials, store: telhook.memoryStore(), onEvent() {} };
  const invalid = (e) => e instanceof telhook.ConfigurationError && e.code === "invalid_option";
  for (const create of [telhook.createHandler, telhook.createNodeMiddleware]) {
    assert.throws(() => create({ ...base, leaseSecs: 0 }), (e) => invalid(e) && e.field === "leaseSecs" && /leaseSecs/.test(e.message));
    assert.throws(() => create({ ...base, dedupeTtlSecs: 0 }), invalid);
    assert.throws(() => create({ ...base, storeDeadlineMs: 0 }), invalid);
    assert.throws(() => create({ ...base, storeDeadlineMs: 60_001 }), invalid);
    assert.throws(() => create({ ...base, leaseSecs: 1.5 }), invalid);
    assert.throws(() => create({ ...base, leaseSecs: "300" }), invalid);
    assert.doesNotThrow(() => create({ ...base, leaseSecs: undefined, dedupeTtlSecs: undefined, storeDeadlineMs: undefined }));
    // Lisoloo redelivers for 4,350 s, over a horizon of 4,375 s, and waits 5 s for an answer.
    for (const bad of [{ leaseSecs: 7200 }, { leaseSecs: 4350 }, { leaseSecs: 1 }, { dedupeTtlSecs: 3600 }]) {
      assert.throws(() => create({ ...base, ...bad }), (e) => invalid(e) && e.field === Object.keys(bad)[0], JSON.stringify(bad));
    }
  }
  const calls = [];
  const inner = telhook.memoryStore({ clock: fixedClock });
  const recording = {
    claim: (key, token, lease) => (calls.push(["claim", lease]), inner.claim(key, token, lease)),
    complete: (key, token, ttl) => (calls.push(["complete", ttl]), inner.complete(key, token, ttl)),
    release: (key, token) => (calls.push(["release"]), inner.release(key, token)),
  };
  const handler = lisolooHandler({ store: recording, leaseSecs: 900, dedupeTtlSecs: 7200, storeDeadlineMs: 2000 });
  assert.equal((await handler(lisolooDelivery())).status, 200);
  assert.deepStrictEqual(calls, [["claim", 900], ["complete", 7200]]);
  calls.length = 0;
  const defaults = lisolooHandler({ store: recording });
  await defaults(new Request("https://hooks.test/lisoloo", { method: "POST", headers: lisoloo.request.headers, body: lisoloo.request.body.replace("0b6f", "1b6f") }));
  const policy = telhook.retryPolicy("lisoloo");
  assert.deepStrictEqual(calls, [["claim", policy.in_progress_lease_secs], ["complete", policy.dedupe_ttl_secs]]);
});

test("a LimePhone handler answering 204 is answered 204 and completed: LimePhone's redelivery is a duplicate, and the warning is reported once per receiver", async () => {
  for (const create of ["handler", "middleware"]) {
    const reports = [];
    let calls = 0;
    const config = {
      provider: "limephone",
      credentials: limephone.credentials,
      clock: () => limephone.now,
      store: telhook.memoryStore({ clock: () => limephone.now }),
      onEvent: () => {
        calls += 1;
        return new Response(null, { status: 204 });
      },
      onError: (error, info) => reports.push({ error, info }),
    };
    const answers = [];
    if (create === "handler") {
      const handler = telhook.createHandler(config);
      for (let i = 0; i < 2; i += 1) {
        const response = await handler(new Request("https://hooks.test/lime", { method: "POST", headers: limephone.request.headers, body: limephone.request.body }));
        const text = await response.text();
        answers.push([response.status, text === "" ? null : JSON.parse(text).outcome]);
      }
    } else {
      const server = await serve(telhook.createNodeMiddleware(config));
      try {
        for (let i = 0; i < 2; i += 1) answers.push((await server.post(limephone.request.headers, limephone.request.body)).slice(0, 2));
      } finally {
        await server.close();
      }
    }
    assert.deepStrictEqual(answers, [[204, null], [200, "duplicate"]], create);
    // 204 is not LimePhone's acknowledgement, but it is the handler's work done: the claim was
    // completed, so the redelivery LimePhone sends is a duplicate and the handler ran once.
    assert.equal(calls, 1, create);
    // The warning, then the duplicate's own report (info).
    assert.deepStrictEqual(reports.map(({ info }) => [info.code, info.status, info.log]),
      [["handler_status", 204, "warning"], ["duplicate", 200, "info"]], create);
    const { error, info } = reports[0];
    assert.equal(error, null);
    assert.match(info.note, /limephone acknowledges only 200 and will deliver this event again, answered as a duplicate/);
  }
});

test("a header sent twice is answered the same by the Node middleware and by createHandler (Fetch joins it into one value)", async () => {
  const config = () => ({ provider: "lisoloo", credentials: lisoloo.credentials, clock: fixedClock, store: null, onEvent() {}, onError() {} });
  const good = lisoloo.request.headers.Authorization;
  const forged = "Basic Zm9yZ2VkOnZhbHVl";
  const cases = [
    [[good, forged], [401, "ambiguous_header"]],
    [[forged, good], [401, "ambiguous_header"]],
    [[good, good], [200, "accepted"]],
    [[good], [200, "accepted"]],
    // One line holding two credentials is the same as two lines.
    [[`${good}, ${forged}`], [401, "ambiguous_header"]],
  ];
  const handler = telhook.createHandler(config());
  const server = await serve(telhook.createNodeMiddleware(config()));
  try {
    for (const [values, expected] of cases) {
      const viaNode = (await server.post({ "content-type": "application/json", authorization: values }, lisoloo.request.body)).slice(0, 2);
      const headers = new Headers({ "content-type": "application/json" });
      for (const value of values) headers.append("authorization", value);
      const response = await handler(new Request("https://hooks.test/lisoloo", { method: "POST", headers, body: lisoloo.request.body }));
      const viaFetch = [response.status, Object.values(await response.json())[0]];
      assert.deepStrictEqual(viaNode, expected, `node: ${values.join(" | ")}`);
      assert.deepStrictEqual(viaFetch, expected, `fetch: ${values.join(" | ")}`);
    }
  } finally {
    await server.close();
  }
});

test("a handler's response with a status that is not an integer, or out of 200..599 (a 1xx is no final answer), is a failed handler: 500, the claim released", async () => {
  const responseLike = (status) => ({ status, headers: {}, body: null, arrayBuffer: async () => new ArrayBuffer(0) });
  for (const [status, error] of [[200.5, TypeError], [Number.NaN, TypeError], [600, null], [99, null], [101, null], [199, null], [2 ** 40, null]]) {
    const reports = [];
    let calls = 0;
    const handler = lisolooHandler({
      onEvent: () => (calls += 1) === 1 ? responseLike(status) : undefined,
      onError: (thrown, info) => reports.push({ thrown, info }),
    });
    assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [500, { error: "handler_failed" }], String(status));
    assert.equal(reports.length, 1);
    if (error === null) {
      assert.equal(reports[0].thrown, null);
      assert.match(reports[0].info.note, /integer from 200 to 599/);
    } else {
      assert.ok(reports[0].thrown instanceof error);
    }
    // Released: the redelivery runs the handler again.
    assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "accepted" }]);
    assert.equal(calls, 2);
  }
});

test("headers cross into wasm joined, split again by their lengths: non-ASCII, astral and lone surrogates keep each header apart", () => {
  const { request, credentials, now } = lisoloo;
  const receiver = new telhook.Receiver("lisoloo", credentials);
  const expected = receiver.normalize({ ...request, now });
  // Before the Authorization header: a latin-1 value, an emoji, and a lone high surrogate ending
  // one header with a lone low one starting the next (their join is a valid pair).
  const odd = [["x-latin", "caf\u00e9"], ["x-emoji", "\u{1F600}!"], ["x-high\uD83D", "\uDE00low"], ["x-empty", ""]];
  const headers = [...odd, ...Object.entries(request.headers)];
  assert.deepEqual(receiver.normalize({ ...request, headers, now }), expected);
  // A wrong Authorization after them is still read as the Authorization header.
  const forged = [...odd, ...Object.entries(request.headers).map(([n, v]) => [n, n.toLowerCase() === "authorization" ? "Basic eDp5" : v])];
  assert.throws(() => receiver.normalize({ ...request, headers: forged, now }), (error) => error.code === "authorization_mismatch");
});

test("a long message text reaches the handler as the vector's event, through createHandler and the Node middleware", async () => {
  const { readFileSync } = await import("node:fs");
  for (const name of ["limephone/long_message_text", "limephone/long_message_text_24k", "telnyx/message_received_long_text"]) {
    const vector = JSON.parse(readFileSync(new URL(`../../tests/vectors/${name}.json`, import.meta.url), "utf8"));
    const seen = [];
    const config = {
      provider: vector.provider,
      credentials: vector.credentials,
      clock: () => vector.now,
      store: null,
      onEvent: (event) => void seen.push(event),
      onError: () => {},
    };
    const viaFetch = await telhook.createHandler(config)(
      new Request("https://hooks.test/in", { method: "POST", headers: vector.request.headers, body: vector.request.body }),
    );
    assert.equal(viaFetch.status, 200, name);
    const server = http.createServer(telhook.createNodeMiddleware(config));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const viaNode = await fetch(`http://127.0.0.1:${server.address().port}/in`, {
        method: "POST",
        headers: vector.request.headers,
        body: vector.request.body,
      });
      assert.equal(viaNode.status, 200, name);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(seen.length, 2, name);
    for (const event of seen) assert.deepStrictEqual(event, vector.expect.event, name);
  }
});

/** Unhandled rejections while `work` runs and for a few turns after (each one would end a Node server). */
async function unhandledRejectionsDuring(work) {
  const seen = [];
  const listener = (reason) => seen.push(reason);
  process.on("unhandledRejection", listener);
  try {
    await work();
    for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off("unhandledRejection", listener);
  }
  return seen;
}

test("an answer someone else already sent (the handler itself through Express's req.res, a timeout middleware) stands: the middleware neither throws nor rejects; only the timeout middleware's is warned about", async () => {
  const reports = [];
  const pending = [];
  let calls = 0;
  const config = (onEvent) => ({
    provider: "lisoloo",
    credentials: lisoloo.credentials,
    clock: fixedClock,
    store: telhook.memoryStore({ clock: fixedClock }),
    onEvent,
    onError: (error, info) => reports.push({ error, info }),
  });
  // The handler's own answer (Twilio's TwiML through `req.res.send`, as the README shows) is the
  // answer: nothing to warn about, on any delivery.
  const byHandler = telhook.createNodeMiddleware(config((event, { req }) => {
    calls += 1;
    req.res.writeHead(202, { "content-type": "application/json" }).end('{"outcome":"mine"}');
  }));
  const late = telhook.createNodeMiddleware(config(async () => {
    calls += 1;
    await new Promise((resolve) => setTimeout(resolve, 100)); // succeeds after the timeout answered
  }));
  let which = byHandler;
  // Express gives every request its response as `req.res`.
  const server = await serve((req, res) => {
    req.res = res;
    if (which === late) {
      setTimeout(() => {
        req.timedout = true;
        if (!res.headersSent) res.writeHead(503).end();
      }, 50);
    }
    const running = which(req, res);
    pending.push(running);
    return running;
  });
  const unhandled = await unhandledRejectionsDuring(async () => {
    try {
      const first = await server.post(lisoloo.request.headers, lisoloo.request.body);
      const again = await server.post(lisoloo.request.headers, lisoloo.request.body);
      assert.deepStrictEqual([first.slice(0, 2), again.slice(0, 2)], [[202, "mine"], [200, "duplicate"]]);
      assert.deepStrictEqual(reports.filter((r) => r.info.log === "warning"), []);
      which = late;
      const timedOut = await server.post(lisoloo.request.headers, lisoloo.request.body);
      assert.equal(timedOut[0], 503);
      // Every middleware call resolved: none rejected.
      assert.deepStrictEqual(await Promise.allSettled(pending).then((all) => all.map((s) => s.status)), ["fulfilled", "fulfilled", "fulfilled"]);
    } finally {
      await server.close();
    }
  });
  assert.deepStrictEqual(unhandled, []);
  assert.equal(calls, 2);
  const warnings = reports.filter((r) => r.info.log === "warning");
  assert.equal(warnings.length, 1, JSON.stringify(reports.map((r) => r.info)));
  assert.deepStrictEqual([warnings[0].info.code, warnings[0].info.status], ["accepted", 200]);
  assert.match(warnings[0].info.note, /already sent by someone else/);
});

test("a failure the handler answered itself through Express's req.res (503) releases the claim: the retry it asks for runs the handler; one a timeout middleware answered (req.timedout) while the handler ran does not", async () => {
  let calls = 0;
  const config = (onEvent) => ({
    provider: "lisoloo",
    credentials: lisoloo.credentials,
    clock: fixedClock,
    store: telhook.memoryStore({ clock: fixedClock }),
    onEvent,
    onError: () => {},
  });
  const byHandler = telhook.createNodeMiddleware(config(async (event, { req }) => {
    calls += 1;
    if (calls === 1) req.res.writeHead(503, { "content-type": "application/json" }).end('{"outcome":"db down"}');
    // Also when it then returns a Response: the 503 is what went out.
    if (calls === 1) return new Response(null, { status: 200 });
  }));
  const late = telhook.createNodeMiddleware(config(async () => {
    calls += 1;
    await new Promise((resolve) => setTimeout(resolve, 100)); // succeeds after the timeout answered
  }));
  let which = byHandler;
  const server = await serve((req, res) => {
    req.res = res;
    // A timeout middleware of one's own: 503 after 50 ms, marked as connect-timeout marks it.
    if (which === late) {
      setTimeout(() => {
        req.timedout = true;
        if (!res.headersSent) res.writeHead(503).end();
      }, 50);
    }
    return which(req, res);
  });
  try {
    const first = await server.post(lisoloo.request.headers, lisoloo.request.body);
    const again = await server.post(lisoloo.request.headers, lisoloo.request.body);
    assert.deepStrictEqual([first[0], again.slice(0, 2), calls], [503, [200, "accepted"], 2]);
    which = late;
    const timedOut = await server.post(lisoloo.request.headers, lisoloo.request.body);
    await new Promise((resolve) => setTimeout(resolve, 150)); // the handler finishes
    const retried = await server.post(lisoloo.request.headers, lisoloo.request.body);
    assert.deepStrictEqual([timedOut[0], retried.slice(0, 2), calls], [503, [200, "duplicate"], 3]);
  } finally {
    await server.close();
  }
});

test("a handler's Response whose body cannot be read: its status still goes out with the core's body, nothing rejects", async () => {
  const reports = [];
  const broken = () =>
    new Response(new ReadableStream({ pull(controller) { controller.error(new Error("upstream reset mid-body")); } }), { status: 200 });
  const middleware = telhook.createNodeMiddleware({
    provider: "lisoloo",
    credentials: lisoloo.credentials,
    clock: fixedClock,
    store: null,
    onEvent: broken,
    onError: (error, info) => reports.push({ error, info }),
  });
  let running;
  const server = await serve((req, res) => (running = middleware(req, res)));
  const unhandled = await unhandledRejectionsDuring(async () => {
    try {
      // The handler's own status (200) with the core's body for it.
      const [status, code] = await server.post(lisoloo.request.headers, lisoloo.request.body);
      assert.deepStrictEqual([status, code], [200, "handler_status"]);
      await running;
    } finally {
      await server.close();
    }
  });
  assert.deepStrictEqual(unhandled, []);
  const warning = reports.find((r) => r.info.log === "warning");
  assert.ok(warning, JSON.stringify(reports.map((r) => r.info)));
  assert.match(String(warning.error), /upstream reset mid-body/);
});

test("an async onError or inbox onOutcome that rejects is logged, never an unhandled rejection", async () => {
  const logged = [];
  const original = console.error;
  console.error = (...args) => logged.push(args[0]);
  const unhandled = await unhandledRejectionsDuring(async () => {
    try {
      const middleware = telhook.createNodeMiddleware({
        provider: "lisoloo",
        credentials: lisoloo.credentials,
        clock: fixedClock,
        store: null,
        onEvent() {},
        onError: async () => {
          throw new Error("log sink unreachable");
        },
      });
      const server = await serve(middleware);
      try {
        const forged = { ...lisoloo.request.headers, Authorization: "Basic Zm9yZ2VkOnZhbHVl" };
        assert.deepStrictEqual((await server.post(forged, lisoloo.request.body)).slice(0, 2), [401, "authorization_mismatch"]);
      } finally {
        await server.close();
      }
      const inbox = telhook.memoryInbox({ clock: fixedClock, onOutcome: async () => { throw new Error("counter sink unreachable"); } });
      inbox.enqueue("lisoloo:e", { id: "lisoloo:e", provider: "lisoloo", type: "message.status" }, 60);
      assert.equal(await inbox.work(() => {}), 1);
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 20));
      console.error = original;
    }
  });
  assert.deepStrictEqual(unhandled, []);
  assert.deepStrictEqual(logged.filter((line) => /onError threw|onOutcome hook threw/.test(line)), ["telhook: onError threw", "telhook: an inbox onOutcome hook threw"]);
});

test("a claim that lands after storeDeadlineMs is released once it lands: the next redelivery is handled, not turned away as in progress for the whole lease", async () => {
  for (const create of ["handler", "middleware"]) {
    const inner = telhook.memoryStore({ clock: fixedClock });
    let slowClaims = 1;
    const store = {
      claim: (...args) =>
        slowClaims-- > 0 ? new Promise((resolve) => setTimeout(() => resolve(inner.claim(...args)), 300)) : inner.claim(...args),
      complete: (...args) => inner.complete(...args),
      release: (...args) => inner.release(...args),
    };
    let calls = 0;
    const config = {
      provider: "lisoloo",
      credentials: lisoloo.credentials,
      clock: fixedClock,
      store,
      storeDeadlineMs: 100,
      onEvent: () => {
        calls += 1;
      },
      onError() {},
    };
    const answers = [];
    const landed = () => new Promise((resolve) => setTimeout(resolve, 400)); // the late claim lands
    if (create === "handler") {
      const handler = telhook.createHandler(config);
      const deliver = async () => (await handler(new Request("https://hooks.test/lisoloo", { method: "POST", headers: lisoloo.request.headers, body: lisoloo.request.body }))).status;
      answers.push(await deliver());
      await landed();
      answers.push(await deliver());
    } else {
      const server = await serve(telhook.createNodeMiddleware(config));
      try {
        answers.push((await server.post(lisoloo.request.headers, lisoloo.request.body))[0]);
        await landed();
        answers.push((await server.post(lisoloo.request.headers, lisoloo.request.body))[0]);
      } finally {
        await server.close();
      }
    }
    assert.deepStrictEqual(answers, [503, 200], create);
    assert.equal(calls, 1, create);
  }
});

test("a Worker keeps a release or complete that answers after storeDeadlineMs alive (ctx.waitUntil) until it lands, so the claim it settles does not turn retries away", async () => {
  for (const fails of [true, false]) {
    const inner = telhook.memoryStore({ clock: fixedClock });
    const late = (call) => new Promise((resolve) => setTimeout(() => resolve(call()), 300));
    const store = {
      claim: (...args) => inner.claim(...args),
      complete: (...args) => late(() => inner.complete(...args)),
      release: (...args) => late(() => inner.release(...args)),
    };
    const handler = lisolooHandler({
      store,
      storeDeadlineMs: 100,
      onEvent: () => {
        if (fails) throw new Error("downstream failed");
      },
    });
    const kept = [];
    const ctx = { waitUntil: (promise) => kept.push(promise) };
    await handler(lisolooDelivery(), {}, ctx);
    // What workerd waits for before it ends the request's work: here, the late settle too (and
    // the tries from its deadline, which stop once it lands; their timers are unref'd).
    const alive = setInterval(() => {}, 1000);
    await Promise.all(kept).finally(() => clearInterval(alive));
    const state = await inner.claim(lisolooEventId, "probe", 300);
    assert.equal(state, fails ? "new" : "done", `handler ${fails ? "failed" : "succeeded"}`);
  }
});

test("a complete or release that fails (a store outage of a few seconds) is tried again in the background until it holds: a redelivery after the handler ran is a duplicate, after it failed handled", async () => {
  for (const [fails, lateFailure] of [[false, false], [true, false], [false, true]]) {
    const inner = telhook.memoryStore({ clock: fixedClock });
    let outage = 2; // settling calls that fail before the store is back
    const settle = (call) => async (...args) => {
      if (outage > 0) {
        outage -= 1;
        // A failure in time, or one past storeDeadlineMs (the late call fails after the answer).
        if (lateFailure) await new Promise((resolve) => setTimeout(resolve, 150));
        throw new Error("connection reset");
      }
      return call(...args);
    };
    const store = {
      claim: (...args) => inner.claim(...args),
      complete: settle((...args) => inner.complete(...args)),
      release: settle((...args) => inner.release(...args)),
    };
    const reports = [];
    let calls = 0;
    const handler = lisolooHandler({
      store,
      storeDeadlineMs: 100,
      onError: (error, info) => reports.push(info),
      onEvent: () => {
        calls += 1;
        if (fails && calls === 1) throw new Error("downstream failed");
      },
    });
    const kept = [];
    const ctx = { waitUntil: (promise) => kept.push(promise) };
    const first = await handler(lisolooDelivery(), {}, ctx);
    assert.equal(first.status, fails ? 500 : 200);
    assert.match(reports[0].note, /tried again/);
    // The tries' timers are unref'd (they never hold a server's process open): this one waits.
    const alive = setInterval(() => {}, 1000);
    await Promise.all(kept).finally(() => clearInterval(alive));
    assert.equal(outage, 0);
    // The provider never got the first answer (its timeout was shorter): it delivers again.
    const again = await handler(lisolooDelivery(), {}, ctx);
    const label = JSON.stringify({ fails, lateFailure });
    assert.deepStrictEqual(await answerOf(again), fails ? [200, { outcome: "accepted" }] : [200, { outcome: "duplicate" }], label);
    assert.equal(calls, fails ? 2 : 1, label);
    // The try that held leaves nothing to report beyond the first answer's error.
    assert.equal(reports.filter((info) => info.log !== "info").length, 1, label);
  }
});

test("a complete that never holds is reported as an error through onError once its tries are spent", async () => {
  const inner = telhook.memoryStore({ clock: fixedClock });
  let completes = 0;
  const store = {
    claim: (...args) => inner.claim(...args),
    complete: async () => {
      completes += 1;
      throw new Error("connection refused");
    },
    release: (...args) => inner.release(...args),
  };
  const reports = [];
  const handler = lisolooHandler({ store, onError: (error, info) => reports.push(info) });
  const kept = [];
  const realSetTimeout = globalThis.setTimeout;
  // The schedule's waits (up to 20 s) cut to nothing: what is tested is what the tries lead to.
  globalThis.setTimeout = (fn, _ms, ...args) => realSetTimeout(fn, 0, ...args);
  try {
    assert.equal((await handler(lisolooDelivery(), {}, { waitUntil: (promise) => kept.push(promise) })).status, 200);
    const alive = setInterval(() => {}, 1000);
    await Promise.all(kept).finally(() => clearInterval(alive));
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.equal(completes, 1 + 4);
  assert.equal(reports.length, 2);
  assert.deepStrictEqual([reports[1].code, reports[1].status, reports[1].log, reports[1].eventId], ["dedupe_unavailable", 503, "error", lisolooEventId]);
  assert.match(reports[1].note, /could not be completed .* runs the handler again/);
});

test("a claim that fails after it landed (a client timeout after the server ran it) is released: the retry is handled", async () => {
  const inner = telhook.memoryStore({ clock: fixedClock });
  let failing = true;
  const store = {
    claim: async (...args) => {
      const state = inner.claim(...args);
      if (failing) throw new Error("socket timeout: the reply did not come");
      return state;
    },
    complete: (...args) => inner.complete(...args),
    release: (...args) => inner.release(...args),
  };
  let calls = 0;
  const handler = lisolooHandler({
    store,
    onEvent: () => {
      calls += 1;
    },
  });
  const first = (await handler(lisolooDelivery())).status;
  await new Promise((resolve) => setTimeout(resolve, 20));
  failing = false;
  const again = (await handler(lisolooDelivery())).status;
  assert.deepStrictEqual([first, again, calls], [503, 200, 1]);
});

test("a failed claim's releases all run though one lands late: the stalled store may apply the claim after it (review)", async () => {
  const inner = telhook.memoryStore({ clock: fixedClock });
  let claims = 0;
  let releases = 0;
  const store = {
    claim(key, token, lease) {
      claims += 1;
      if (claims > 1) return inner.claim(key, token, lease);
      // The client saw a reset; the stalled server runs the claim at +600 ms all the same.
      setTimeout(() => inner.claim(key, token, lease), 600);
      return Promise.reject(new Error("ECONNRESET"));
    },
    complete: (...args) => inner.complete(...args),
    release(key, token) {
      releases += 1;
      // The first release answers past storeDeadlineMs and lands before the claim does.
      if (releases === 1) return new Promise((resolve) => setTimeout(() => resolve(inner.release(key, token)), 300));
      return inner.release(key, token);
    },
  };
  let calls = 0;
  const handler = lisolooHandler({ store, storeDeadlineMs: 200, onEvent: () => void (calls += 1), onError() {} });
  assert.equal((await handler(lisolooDelivery())).status, 503);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the +1 s release, after the claim landed
  assert.deepStrictEqual(await answerOf(await handler(lisolooDelivery())), [200, { outcome: "accepted" }]);
  assert.equal(calls, 1);
  assert.ok(releases >= 2, `releases ${releases}`);
});

test("a claim left without an owner that no release can free is told to onError once, after the core's last wait (+6 s)", { timeout: 30_000 }, async () => {
  let releases = 0;
  const store = {
    claim: async () => {
      throw new Error("socket timeout: the reply did not come");
    },
    complete: async () => {},
    release: async () => {
      releases += 1;
      throw new Error("the store is still down");
    },
  };
  const reports = [];
  const handler = lisolooHandler({ store, onEvent: () => {}, onError: (error, info) => reports.push(info) });
  assert.equal((await handler(lisolooDelivery())).status, 503);
  await new Promise((resolve) => setTimeout(resolve, 6_500));
  assert.equal(releases, 3);
  const told = reports.map(({ code, status, log, note }) => [code, status, log, note.includes("could not be released")]);
  assert.deepStrictEqual(told, [
    ["dedupe_unavailable", 503, "error", false],
    ["dedupe_unavailable", 503, "warning", true],
  ]);
});

test("a claim that fails and lands only after its first release failed too (a stalled store) is released later: a redelivery after that is handled", async () => {
  const inner = telhook.memoryStore({ clock: fixedClock });
  let started;
  const store = {
    claim: async (...args) => {
      started = Date.now();
      setTimeout(() => inner.claim(...args), 400); // the server runs the queued claim when it wakes
      throw new Error("socket timeout: the reply did not come");
    },
    complete: (...args) => inner.complete(...args),
    release: async (...args) => {
      if (Date.now() - started < 300) throw new Error("the store is still asleep");
      return inner.release(...args);
    },
  };
  let calls = 0;
  const onEvent = () => {
    calls += 1;
  };
  const first = (await lisolooHandler({ store, onEvent })(lisolooDelivery())).status;
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the release at +1 s came after the claim landed
  const again = (await lisolooHandler({ store: inner, onEvent })(lisolooDelivery())).status;
  assert.deepStrictEqual([first, again, calls], [503, 200, 1]);
});

test("a failure status on an object that is no Response ({ status: 503 }, { statusCode: 500 }) or as a bare number (503) counts as success, and the receiver warns once", async () => {
  for (const returned of [{ status: 503 }, { statusCode: 500, body: "retry" }, 503]) {
    const reports = [];
    let calls = 0;
    const handler = lisolooHandler({
      onEvent: () => {
        calls += 1;
        return returned;
      },
      onError: (error, info) => reports.push({ error, info }),
    });
    const deliver = async () => (await handler(new Request("https://hooks.test/lisoloo", { method: "POST", headers: lisoloo.request.headers, body: lisoloo.request.body }))).status;
    assert.deepStrictEqual([await deliver(), await deliver()], [200, 200]);
    assert.equal(calls, 1);
    const warnings = reports.filter((r) => r.info.log === "warning");
    assert.equal(warnings.length, 1, JSON.stringify(reports.map((r) => r.info)));
    assert.match(warnings[0].info.note, /not a Response: returning counts as success/);
  }
  // A 2xx on such an object (an HTTP client's response returned as is) is not warned about.
  const reports = [];
  const handler = lisolooHandler({ onEvent: () => ({ status: 200, data: {} }), onError: (error, info) => reports.push(info) });
  await handler(new Request("https://hooks.test/lisoloo", { method: "POST", headers: lisoloo.request.headers, body: lisoloo.request.body }));
  assert.deepStrictEqual(reports.filter((info) => info.log === "warning"), []);
});

test("Node middleware: a client that hangs up mid-body is told to onError at info, not as an internal error, and no handler runs", async () => {
  const reported = [];
  let calls = 0;
  const middleware = lisolooMiddleware({
    onEvent: () => {
      calls += 1;
    },
    onError: (error, info) => reported.push({ error, ...info }),
  });
  let finished;
  const done = new Promise((resolve) => (finished = resolve));
  const server = http.createServer(async (req, res) => {
    await middleware(req, res);
    finished();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const socket = net.connect(server.address().port, "127.0.0.1");
    await new Promise((resolve) => socket.on("connect", resolve));
    socket.write(`POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: ${lisoloo.request.headers.Authorization}\r\nContent-Length: 1000\r\n\r\n{"event":`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await done;
  } finally {
    server.close();
  }
  assert.equal(calls, 0);
  assert.equal(reported.length, 1, JSON.stringify(reported));
  const [{ error, log, code, note }] = reported;
  assert.deepStrictEqual([log, code, error.name], ["info", "internal", "ClientGone"]);
  assert.match(note, /closed the connection before the body was complete/);
});

test("Express behind express.text(): a decoded text nothing confirms as sent (chunked, gzipped) that fails verification is raw_body_unavailable (500, retried), never a 401 — its decoder dropped a byte-order mark (review)", async () => {
  const { default: express } = await import("express");
  const { signedRequest } = await import("telhook/testing");
  const { gzipSync } = await import("node:zlib");
  const credentials = { hmac_sha256: "lime-secret-for-tests", bearer: "lime-bearer-for-tests" };
  const events = [];
  const reports = [];
  const app = express();
  app.post("/hook", express.text({ type: "*/*" }), telhook.createNodeMiddleware({
    provider: "limephone", credentials, store: null, onEvent: (event) => void events.push(event.id), onError: (error) => reports.push(error),
  }));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    const json = '{"event":"sms_received","message_id":"m-bom","from":"+4512345678","to":"+4587654321","text":"hi"}';
    const send = async (text, { chunked = false, gzip = false } = {}) => {
      const signed = signedRequest("limephone", { body: new TextEncoder().encode(text), credentials });
      const bytes = gzip ? gzipSync(Buffer.from(signed.body)) : Buffer.from(signed.body);
      const headers = { ...signed.headers, ...(gzip ? { "content-encoding": "gzip" } : {}) };
      // A stream body is sent chunked (no Content-Length), as a sender that streams does.
      const body = chunked ? new Blob([bytes]).stream() : bytes;
      const response = await fetch(`http://127.0.0.1:${server.address().port}/hook`, { method: "POST", headers, body, duplex: "half" });
      return [response.status, await response.json()];
    };
    assert.deepStrictEqual(await send(json, { chunked: true }), [200, { outcome: "accepted" }]);
    for (const how of [{ chunked: true }, { gzip: true }, {}]) {
      assert.deepStrictEqual(await send(`\ufeff${json}`, how), [500, { error: "raw_body_unavailable" }], JSON.stringify(how));
    }
    assert.equal(events.length, 1);
    assert.ok(reports.length >= 3 && reports.every((error) => error.code === "raw_body_unavailable"), reports.map((e) => e.code).join());
    // A refusal the decoding could not have caused stays what it is: a wrong bearer token sent
    // chunked is 401 (a review: every 4xx became a 500 with a body-parser message).
    const wrongToken = signedRequest("limephone", { body: new TextEncoder().encode(json), credentials: { ...credentials, bearer: "not-the-token" } });
    const refused = await fetch(`http://127.0.0.1:${server.address().port}/hook`, {
      method: "POST", headers: wrongToken.headers, body: new Blob([wrongToken.body]).stream(), duplex: "half",
    });
    assert.equal(refused.status, 401);
    // A forgery sent chunked is refused all the same (500 here: the text could not be checked as sent).
    const forged = signedRequest("limephone", { body: new TextEncoder().encode(json), credentials: { ...credentials, hmac_sha256: "not-the-secret" } });
    const response = await fetch(`http://127.0.0.1:${server.address().port}/hook`, {
      method: "POST", headers: forged.headers, body: new Blob([forged.body]).stream(), duplex: "half",
    });
    assert.equal(response.status, 500);
    assert.equal(events.length, 1);
  } finally {
    server.close();
  }
});
