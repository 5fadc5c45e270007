import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as telhook from "telhook";
import * as testing from "telhook/testing";
import { loadVectors } from "./load-vectors.mjs";
import { requestOf } from "./vector-reader.mjs";
import { CREDENTIALS } from "./test-credentials.mjs";
import { runVector } from "./vectors.mjs";

const vectors = loadVectors();

test("every conformance vector gives the expected output in Node (wasm)", () => {
  assert.ok(vectors.length >= 60, `only ${vectors.length} vectors`);
  let errors = 0;
  for (const { name, vector } of vectors) {
    const actual = runVector(telhook, vector);
    assert.deepStrictEqual(actual, vector.expect, name);
    if (actual.error) errors += 1;
  }
  assert.ok(errors >= 15);
});

test("errors are typed, carry the core's code, and never include a secret", () => {
  const body = '{"event":"incoming_call","call_id":"1"}';
  const secret = "lime-secret-never-printed";
  let caught;
  try {
    telhook.normalizeEvent("limephone", { headers: { "X-LimePhone-Signature": "00".repeat(32) }, body }, {
      hmac_sha256: secret,
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof telhook.VerificationError);
  assert.ok(caught instanceof telhook.TelhookError);
  assert.equal(caught.code, "signature_mismatch");
  assert.ok(!caught.message.includes(secret) && !String(caught.stack).includes(secret));
  assert.throws(() => telhook.retryPolicy("sinch"), (e) => e instanceof telhook.ConfigurationError && e.code === "unknown_provider");
  assert.throws(() => telhook.normalizeEvent("lisoloo", { body: "{}" }, null), (e) => e.code === "missing_credentials");
});

test("errors carry code, kind, message, field and expected, in the constructor order Python's WebhookError uses", () => {
  const { vector } = vectors.find((v) => v.name === "limephone/doc_sms_sent.json");
  const headers = { ...vector.request.headers, "X-LimePhone-Signature": "00".repeat(32) };
  let error;
  try {
    telhook.normalizeEvent("limephone", { ...vector.request, headers }, vector.credentials, { now: vector.now });
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof telhook.VerificationError);
  assert.deepStrictEqual(
    [error.code, error.kind, error.field, error.expected],
    ["signature_mismatch", "verification", "headers.x-limephone-signature", null],
  );
  assert.throws(() => telhook.normalizeEvent("limephone", { ...vector.request, method: "GET" }, vector.credentials, { now: vector.now }),
    (e) => e.field === "method" && e.expected === "POST" && e.code === "method_not_allowed");
  assert.throws(() => new telhook.Receiver("limephone", vector.credentials).normalize(vector.request, { now: 1.5 }),
    (e) => e instanceof telhook.ConfigurationError && e.field === "now");
  const built = new telhook.RequestError("invalid_request", "m", "request", "headers", "pairs");
  assert.deepStrictEqual([built.code, built.message, built.kind, built.field, built.expected], ["invalid_request", "m", "request", "headers", "pairs"]);
  assert.equal(new telhook.TelhookError("invalid_clock", "m", "configuration").field, null);
});

test("headers as object, pairs and Headers; body as string, Uint8Array and ArrayBuffer", () => {
  const { vector } = vectors.find((v) => v.name === "limephone/doc_sms_sent.json");
  const headers = vector.request.headers;
  const text = vector.request.body;
  const bytes = new TextEncoder().encode(text);
  const forms = [
    { headers, body: text },
    { headers: Object.entries(headers), body: bytes },
    { headers: new Headers(headers), body: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
    { headers: new Map(Object.entries(headers)), body: Buffer.from(text) },
  ];
  for (const request of forms) {
    const event = telhook.normalizeEvent("limephone", request, vector.credentials, { now: vector.now });
    assert.deepStrictEqual(event, vector.expect.event);
  }
});

test("a string body is the UTF-8 bytes it encodes to, wherever its wide characters are", () => {
  // The glue encodes a string body straight into wasm memory (npm/scripts/patch-glue.mjs): one
  // byte a UTF-16 unit first, room for the rest when a wider character stops it. Each text puts
  // a wide character where that path turns: first, last, a pair of surrogates across the first
  // guess's end, a lone surrogate (U+FFFD, as TextEncoder writes it), and a long run of them.
  const credentials = CREDENTIALS.limephone;
  const prefix = '{"event":"sms_received","message_id":"m1","from":"+15550001111","message_content":"';
  const texts = [
    "é" + "a".repeat(40),
    "a".repeat(40) + "é",
    "a".repeat(39) + "😀",
    "x\uD800y",
    "z\uDFFF",
    "日本語".repeat(30000),
    "a".repeat(65536) + "🎉",
    // The glue counts a long string's UTF-8 size 8,192 units at a time: a pair across that line,
    // a lone first half on it and at the string's end.
    "a".repeat(8191 - prefix.length) + "😀" + "b".repeat(9000),
    "a".repeat(8191 - prefix.length) + "\uD800" + "b".repeat(9000),
    "a".repeat(16383 - prefix.length) + "😀".repeat(3),
    "a".repeat(9000) + "\uD83D",
    "",
  ];
  const receiver = new telhook.Receiver("limephone", credentials);
  for (const text of texts) {
    // Put in whole, not by JSON.stringify, which would escape a lone surrogate as `\ud800`.
    const body = `${prefix}${text}"}`;
    const signed = testing.signedRequest("limephone", { body, credentials, now: 1769000000 });
    assert.deepStrictEqual(signed.body, new TextEncoder().encode(body));
    const fromBytes = receiver.normalize({ headers: signed.headers, body: signed.body }, { now: 1769000000 });
    const fromString = receiver.normalize({ headers: signed.headers, body }, { now: 1769000000 });
    assert.deepStrictEqual(fromString, fromBytes);
    // An empty text is no text (null), for every provider.
    assert.equal(fromString.message.text, text === "" ? null : text.replace(/[\uD800-\uDFFF]/g, (unit, at, all) =>
      /[\uD800-\uDBFF]/.test(unit) && /[\uDC00-\uDFFF]/.test(all[at + 1] ?? "") ? unit
        : /[\uDC00-\uDFFF]/.test(unit) && /[\uD800-\uDBFF]/.test(all[at - 1] ?? "") ? unit : "\uFFFD"));
    assert.equal(telhook.verify("limephone", { headers: signed.headers, body }, credentials, { now: 1769000000 }), "limephone");
  }
  // A string of the wrong UTF-8 is a signature mismatch, not a match against other bytes.
  const body = JSON.stringify({ event: "sms_received", message_id: "m1", message_content: "é" });
  const signed = testing.signedRequest("limephone", { body, credentials, now: 1769000000 });
  assert.throws(() => receiver.normalize({ headers: signed.headers, body: body.replace("é", "e\u0301") }, { now: 1769000000 }),
    (e) => e.code === "signature_mismatch");
});

test("a string body on a host without encodeInto of its own: the right bytes, and no wasm memory kept", () => {
  // The glue's stand-in encodeInto writes the whole string or throws; the string is then encoded
  // apart and copied in (a review found a throw, and a block kept per call, before that).
  const script = `
    delete TextEncoder.prototype.encodeInto;
    const Instance = WebAssembly.Instance;
    let instance;
    WebAssembly.Instance = function (module, imports) { return (instance = new Instance(module, imports)); };
    const telhook = await import("telhook");
    const testing = await import("telhook/testing");
    const credentials = ${JSON.stringify(CREDENTIALS.limephone)};
    const receiver = new telhook.Receiver("limephone", credentials);
    const results = [];
    for (const text of ["plain", "é", "日本語".repeat(4000), "a".repeat(40) + "😀"]) {
      const body = '{"event":"sms_received","message_id":"m1","message_content":"' + text + '"}';
      const signed = testing.signedRequest("limephone", { body, credentials, now: 1769000000 });
      const fromString = receiver.normalize({ headers: signed.headers, body }, { now: 1769000000 });
      const fromBytes = receiver.normalize({ headers: signed.headers, body: signed.body }, { now: 1769000000 });
      results.push(fromString.message.text === text && JSON.stringify(fromString) === JSON.stringify(fromBytes));
      const before = instance.exports.memory.buffer.byteLength;
      for (let i = 0; i < 2000; i++) receiver.normalize({ headers: signed.headers, body }, { now: 1769000000 });
      results.push(instance.exports.memory.buffer.byteLength - before);
    }
    console.log(JSON.stringify(results));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: new URL("..", import.meta.url) });
  assert.deepStrictEqual(JSON.parse(String(out)), [true, 0, true, 0, true, 0, true, 0]);
});

test("a normalize run from the caller's own code while another request is converted keeps each request's headers", () => {
  // The header lengths array is reused by header count: the caller's code (a `valueOf`, a
  // `toString`) that runs inside a conversion must not change the outer request's headers.
  const { vector } = vectors.find((v) => v.name === "limephone/doc_sms_sent.json");
  const receiver = new telhook.Receiver("limephone", vector.credentials);
  // The same count of names and values, each of another length.
  const other = Object.fromEntries(Object.entries(vector.request.headers).map(([name, value]) => [`x-${name}-other`, `${value}!`]));
  let inner = 0;
  const reentering = () => {
    inner += 1;
    assert.throws(() => receiver.normalize({ ...vector.request, headers: other }, { now: vector.now }), telhook.TelhookError);
  };
  const now = { valueOf: () => (reentering(), vector.now) };
  const method = { toString: () => (reentering(), "POST") };
  const event = receiver.normalize({ ...vector.request, method }, { now });
  assert.equal(inner, 2);
  assert.deepStrictEqual(event, vector.expect.event);
  // A flat [name, value, …] array (Node's rawHeaders form) whose last element is a getter that
  // runs a normalize of its own, and gives another string when read again: each element is read
  // once, before anything is packed (a review found the getter re-run between the lengths and
  // the joined text).
  const flat = Object.entries(vector.request.headers).flat();
  const reading = [];
  flat.forEach((value, index) =>
    Object.defineProperty(reading, index, {
      enumerable: true,
      get: () => {
        if (index !== flat.length - 1) return value;
        reentering();
        inner += 100;
        return inner > 103 ? `${value}-changed` : value;
      },
    }),
  );
  assert.deepStrictEqual(receiver.normalize({ ...vector.request, headers: reading }, { now: vector.now }), vector.expect.event);
  assert.equal(inner, 103);
});

test("retry policy, ack, status ordering, detection and parse come from the core", () => {
  const policy = telhook.retryPolicy("looplookup");
  assert.equal(policy.max_deliveries, 31);
  assert.ok(policy.dedupe_ttl_secs >= policy.retry_horizon_secs + policy.timeout_secs);
  assert.deepStrictEqual(telhook.ack("lisoloo", "verification_failed"), { status: 401, provider_action: "permanent_failure" });
  assert.equal(telhook.ack("limephone", "internal_error").provider_action, "retry");
  assert.equal(telhook.statusWins("delivered", "sent"), false);
  assert.equal(telhook.statusWins(null, "sent"), true);
  assert.equal(telhook.statusWins("sent", "delivered"), true);
  assert.equal(telhook.detectProvider({ headers: { "User-Agent": "LoopServer" }, body: "{}" }), "looplookup");
  // Typed payloads are telhook/testing's (the receiver's module carries none).
  assert.equal(telhook.parse, undefined);
  const parsed = testing.parse("gatewayapi", '{"id":1,"msisdn":4512345678,"status":"DELIVERED","extra_field":true}');
  assert.equal(parsed.extra_field, true);
  assert.deepStrictEqual(testing.parse("gatewayapi", new TextEncoder().encode('{"id":1,"msisdn":1,"status":"DELIVERED"}').buffer).id, 1);
  assert.throws(() => testing.parse("limephone", "{"), (e) => e instanceof telhook.ParseError && e.code === "malformed_json");
  assert.throws(() => testing.parse("limephone", null), (e) => e instanceof telhook.RequestError && e.field === "body" && e.code === "invalid_request");
});

test("fromHttpCapture (telhook/testing) reads a raw HTTP/1.1 capture", () => {
  assert.equal(telhook.fromHttpCapture, undefined);
  const request = testing.fromHttpCapture("POST /hooks/lisoloo?x=1 HTTP/1.1\r\nHost: h.example\r\nContent-Type: application/json\r\n\r\n{\"a\":1}");
  assert.equal(request.method, "POST");
  assert.equal(request.url, "/hooks/lisoloo?x=1");
  assert.deepStrictEqual(request.headers, [["Host", "h.example"], ["Content-Type", "application/json"]]);
  assert.equal(new TextDecoder().decode(request.body), '{"a":1}');
  assert.throws(() => testing.fromHttpCapture("not a capture"), (e) => e instanceof telhook.TelhookError);
  assert.throws(() => testing.fromHttpCapture(42), (e) => e instanceof telhook.RequestError && e.field === "capture");
  const bytes = new TextEncoder().encode("POST / HTTP/1.1\r\n\r\n{}");
  assert.equal(testing.fromHttpCapture(new DataView(bytes.buffer)).method, "POST");
});

test("fromRequest reads the raw bytes of a Fetch Request once", async () => {
  const { vector } = vectors.find((v) => v.name === "lisoloo/doc_envelope_delivered.json");
  const request = new Request("https://hooks.test/lisoloo", {
    method: "POST",
    headers: vector.request.headers,
    body: vector.request.body,
  });
  const converted = await telhook.fromRequest(request);
  assert.ok(converted.body instanceof Uint8Array);
  const event = telhook.normalizeEvent("lisoloo", converted, vector.credentials, { now: vector.now });
  assert.deepStrictEqual(event, vector.expect.event);
});

test("Node middleware reads the raw body itself and answers what the core decides", async () => {
  const http = await import("node:http");
  const { vector } = vectors.find((v) => v.name === "limephone/doc_sms_received.json");
  const received = [];
  const middleware = telhook.createNodeMiddleware({
    provider: "limephone",
    credentials: vector.credentials,
    store: telhook.memoryStore(),
    onEvent: (event) => received.push(event.id),
  });
  const server = http.createServer((req, res) => middleware(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  try {
    const post = (headers, body) => fetch(url, { method: "POST", headers, body }).then((r) => r.status);
    assert.equal(await post(vector.request.headers, vector.request.body), 200);
    assert.equal(await post(vector.request.headers, vector.request.body), 200); // duplicate
    assert.deepStrictEqual(received, ["limephone:sms_received:345678"]);
    const forged = { ...vector.request.headers, "X-LimePhone-Signature": "ab".repeat(32) };
    assert.equal(await post(forged, vector.request.body), 401);
    assert.equal(received.length, 1);
  } finally {
    server.close();
  }
});

test("no error over the whole corpus is a wasm trap or shows a configured secret", () => {
  const strings = (value) =>
    typeof value === "string" ? [value] : value && typeof value === "object" ? Object.values(value).flatMap(strings) : [];
  let checked = 0;
  for (const { name, vector } of vectors) {
    if (!vector.expect.error) continue;
    const secrets = strings(vector.credentials).filter((s) => s.length >= 6);
    try {
      runVector(telhook, vector);
      telhook.normalizeEvent(vector.provider, requestOf(vector.request), vector.credentials, { now: vector.now, ...(vector.options ?? {}) });
    } catch (error) {
      assert.ok(error instanceof telhook.TelhookError, `${name}: ${error}`);
      assert.ok(!(error instanceof WebAssembly.RuntimeError), name);
      const text = `${error.message} ${error.stack} ${JSON.stringify(error)}`;
      for (const secret of secrets) assert.ok(!text.includes(secret), `${name} leaks a secret`);
      checked += 1;
    }
  }
  assert.ok(checked >= 200, `only ${checked} error vectors checked`);
});

test("detection takes credentials per provider, a shared pool is refused, parse() redacts", () => {
  const { vector } = vectors.find((v) => v.name === "lisoloo/detected_by_body.json");
  // The README's Security example, in JSON.
  const perProvider = {
    gatewayapi: { hmac_sha256: "gw-secret" },
    lisoloo: vector.credentials.lisoloo,
  };
  const event = telhook.normalizeEvent(null, vector.request, perProvider, { now: vector.now });
  assert.equal(event.id, vector.expect.event.id);
  assert.throws(
    () => new telhook.Receiver(null, vector.credentials.lisoloo),
    (e) => e instanceof telhook.ConfigurationError && e.code === "invalid_credentials",
  );
  assert.throws(
    () => telhook.normalizeEvent(null, vector.request, { gatewayapi: { hmac_sha256: "gw-secret" } }, { now: vector.now }),
    (e) => e.code === "missing_credentials",
  );
  const body = JSON.stringify({
    type: "update",
    schema: "users",
    data: JSON.stringify({ web_hook_url: "https://h.example/x?token=abc", wirelessPin: "1" }),
  });
  const parsed = testing.parse("did_reseller", body);
  assert.equal(parsed.data, '{"web_hook_url":"https://h.example/x?token=[REDACTED]","wirelessPin":"[REDACTED]"}');
});

test("createNodeMiddleware called with a framework's own request and reply (Fastify's, not .raw) rejects with a TypeError saying what to pass, before anything runs (review)", async () => {
  let calls = 0;
  const middleware = telhook.createNodeMiddleware({ provider: "lisoloo", credentials: { basic: { username: "u", password: "p" } }, store: null, onEvent: () => void (calls += 1) });
  const fastifyRequest = { raw: {}, body: Buffer.from("{}"), headers: {} };
  const fastifyReply = { raw: {}, code() { return this; }, send() {} };
  await assert.rejects(middleware(fastifyRequest, fastifyReply), (error) => error instanceof TypeError && /reply\.raw/.test(error.message));
  assert.equal(calls, 0);
});
