// telhook/testing: every sample of every provider, signed, verifies through the package — as
// a plain object (Node) and as a Fetch Request through createHandler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { execFileSync } from "node:child_process";
import * as telhook from "telhook";
import { eventKinds, fromHttpCapture, sample, signedRequest } from "telhook/testing";

const NOW = 1769000000;
import { CREDENTIALS } from "./test-credentials.mjs";

test("every sample of every provider signs and normalizes to its kind", () => {
  for (const [provider, credentials] of Object.entries(CREDENTIALS)) {
    const kinds = eventKinds(provider);
    assert.ok(kinds.length >= 1, provider);
    const ids = new Set();
    for (const eventKind of kinds) {
      const request = signedRequest(provider, { eventKind, credentials, now: NOW });
      const event = telhook.normalizeEvent(provider, request, credentials, { now: NOW });
      assert.equal(event.provider, provider);
      if (eventKind !== "sms_enablement.error") assert.equal(event.provider_event_type, eventKind);
      ids.add(event.id);
    }
    assert.equal(ids.size, kinds.length, provider);
  }
});

test("a Fetch Request through createHandler: accepted once, forgery refused", async () => {
  const seen = [];
  const handler = telhook.createHandler({
    provider: "lisoloo",
    credentials: CREDENTIALS.lisoloo,
    onEvent: (event) => seen.push(event.id),
    store: telhook.memoryStore({ clock: () => NOW }),
    clock: () => NOW,
  });
  const signed = signedRequest("lisoloo", { eventKind: "sms.delivered", overrides: { message_id: "m-9" }, credentials: CREDENTIALS.lisoloo });
  assert.equal((await handler(signed.toRequest("http://127.0.0.1/hooks"))).status, 200);
  assert.equal((await handler(signed.toRequest("http://127.0.0.1/hooks"))).status, 200); // redelivery
  assert.equal(seen.length, 1);
  assert.match(seen[0], /^lisoloo:[0-9a-f-]{36}$/);
  const forged = signedRequest("lisoloo", { eventKind: "sms.sent", credentials: { basic: { username: "hook", password: "guess" }, hmac_sha256: "liso-secret" } });
  assert.equal((await handler(forged.toRequest("http://127.0.0.1/hooks"))).status, 401);
  assert.equal(seen.length, 1);
});

test("Twilio signed for the receiver's URL (the url option): accepted at that URL and behind its public_url", async () => {
  const credentials = { auth_token: "twilio-auth-token-for-tests", shared_key: "twilio-shared-key-for-tests" };
  const handlerFor = (options) =>
    telhook.createHandler({ provider: "twilio", credentials, onEvent: () => {}, store: null, clock: () => NOW, options });
  const local = "http://localhost/hooks/twilio";
  for (const scheme of ["auth_token", "shared_key"]) {
    const signed = signedRequest("twilio", { credentials, scheme, url: local, now: NOW });
    assert.equal(signed.url, local);
    assert.equal((await handlerFor(undefined)(signed.toRequest())).status, 200, scheme);
    // Signed for the public URL, delivered to the local address a proxy forwards to.
    const publicUrl = "https://hooks.example.com/hooks/twilio";
    const proxied = signedRequest("twilio", { credentials, scheme, url: publicUrl, now: NOW });
    assert.equal((await handlerFor({ public_url: publicUrl })(proxied.toRequest(local))).status, 200, scheme);
    // Without url, the kit signs for https://telhook.test/: not this receiver's URL.
    const elsewhere = signedRequest("twilio", { credentials, scheme, now: NOW });
    assert.equal((await handlerFor({ public_url: publicUrl })(elsewhere.toRequest(local))).status, 401, scheme);
  }
  assert.throws(() => signedRequest("twilio", { credentials, now: NOW }).toRequest(), TypeError);
});

test("own body, single scheme, URL token query, typed errors", () => {
  const body = sample("gatewayapi", "delivery_report", { status: "ENROUTE" });
  const jwtOnly = signedRequest("gatewayapi", { body, credentials: CREDENTIALS.gatewayapi, scheme: "jwt_hs256" });
  assert.deepEqual([...jwtOnly.body], [...body]);
  assert.equal(jwtOnly.headers.Signature, undefined);
  assert.match(jwtOnly.headers["X-Gwapi-Signature"], /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const did = signedRequest("did_reseller", { credentials: CREDENTIALS.did_reseller });
  assert.equal(did.url, "/?token=did-token");
  assert.equal(did.urlFor("https://example.test/did?src=x"), "https://example.test/did?src=x&token=did-token");
  // A base that already holds the signed query (the console's URL given whole) gets it once.
  assert.equal(did.urlFor("https://example.test/did?token=did-token"), "https://example.test/did?token=did-token");
  const twilio = signedRequest("twilio", { credentials: CREDENTIALS.twilio, url: "https://hooks.example.com/twilio?tenant=a" });
  assert.equal(twilio.toRequest("http://127.0.0.1:3000/twilio?tenant=a").url, "http://127.0.0.1:3000/twilio?tenant=a");
  assert.equal(twilio.urlFor("http://127.0.0.1:3000/twilio"), "http://127.0.0.1:3000/twilio?tenant=a");
  assert.throws(() => signedRequest("limephone", { credentials: {} }), (e) => e instanceof telhook.ConfigurationError && e.code === "missing_credentials");
  assert.throws(() => sample("lisoloo", "sms.teleported"), (e) => e instanceof telhook.RequestError && e.code === "invalid_request");
});

test("a signed GET becomes a Fetch Request without a body, and createHandler takes it (a review: toRequest threw for every GET)", async () => {
  const credentials = { signature_secret: "s3cr3t-signature-secret-0123456789" };
  const body = sample("vonage", "inbound_sms", { messageId: "0A0000000123ABCD2" });
  const now = 1_769_000_000;
  const seen = [];
  const handler = telhook.createHandler({ provider: "vonage", credentials, store: null, onEvent: (event) => seen.push(event.id), clock: () => now });
  const request = signedRequest("vonage", { body, credentials, now, transport: "query", url: "https://hooks.example.com/vonage" }).toRequest();
  assert.equal(request.method, "GET");
  assert.equal(request.body, null);
  assert.equal((await handler(request)).status, 200);
  assert.deepEqual(seen, ["vonage:sms:0A0000000123ABCD2"]);
});

test("Vonage's SMS API signed as a GET and as a form: each verifies, and all three shapes are one event", () => {
  const credentials = { signature_secret: "s3cr3t-signature-secret-0123456789" };
  const body = sample("vonage", "inbound_sms", { messageId: "0A0000000123ABCD1" });
  const now = 1_769_000_000;
  const ids = new Set();
  for (const transport of ["query", "form", "body", undefined]) {
    const request = signedRequest("vonage", { body, credentials, now, transport, url: "https://hooks.example.com/vonage" });
    assert.equal(request.method, transport === "query" ? "GET" : "POST", String(transport));
    const event = telhook.normalizeEvent("vonage", { method: request.method, url: request.url, headers: request.headers, body: request.body }, credentials, { now });
    assert.equal(event.type, "message.received");
    ids.add(event.id);
  }
  assert.deepEqual([...ids], ["vonage:sms:0A0000000123ABCD1"]);
  assert.throws(() => signedRequest("vonage", { body, credentials, transport: "pigeon" }), (e) => e instanceof telhook.RequestError && /transport: expected body, form or query/.test(e.message));
});

/** The README's telhook/testing example as a function of the handler it sends to (its imports
 * passed in, the rest as written). */
function readmeExample() {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split("\n## Testing your receiver\n")[1].split("\n## ")[0];
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1);
  const imports = 'import assert from "node:assert/strict";\nimport { signedRequest } from "telhook/testing";\n';
  assert.ok(blocks[0].startsWith(imports), "the example imports assert and signedRequest");
  const code = blocks[0].slice(imports.length);
  const run = new Function("assert", "signedRequest", "credentials", "handler", `return (async () => { ${code}; return response; })();`);
  return (credentials, handler) => run(assert, signedRequest, credentials, handler);
}

test("the README's telhook/testing example runs as written", async () => {
  const credentials = CREDENTIALS.lisoloo;
  const seen = [];
  const handler = telhook.createHandler({ provider: "lisoloo", credentials, store: null, onEvent: (e) => seen.push(e.id) });
  const response = await readmeExample()(credentials, handler);
  assert.equal(response.status, 200);
  assert.equal(seen.length, 1);
});

test("the README's testing example calls the handler on every run against a store that outlives it", async () => {
  // Two test runs, one dedupe store kept between them (as Redis or KV outlives a test run).
  const credentials = CREDENTIALS.lisoloo;
  const store = telhook.memoryStore();
  const seen = [];
  const example = readmeExample();
  for (let run = 0; run < 2; run += 1) {
    const handler = telhook.createHandler({ provider: "lisoloo", credentials, store, onEvent: (e) => seen.push(e.id) });
    const response = await example(credentials, handler); // asserts {outcome: "accepted"} itself
    assert.equal(response.status, 200);
  }
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1]);
});

test("every sample is a new event unless its id is pinned", () => {
  const pins = { limephone: { call_id: "c-1" }, lisoloo: { event_id: "e-1" }, gatewayapi: { event_id: "e-1" }, looplookup: { webhook_id: "w-1" }, did_reseller: { data: { id: 7 } },
    twilio: { MessageSid: "SM-1", SmsSid: "SM-1" }, telnyx: { data: { id: "e-1" } }, vonage: { message_uuid: "aaaaaaaa-0000-4000-8000-000000000001" } };
  for (const [provider, credentials] of Object.entries(CREDENTIALS)) {
    const eventId = (eventKind, overrides) => {
      const signed = signedRequest(provider, { eventKind, overrides, credentials, now: NOW });
      return telhook.normalizeEvent(provider, signed, credentials, { now: NOW }).id;
    };
    for (const kind of eventKinds(provider)) assert.notEqual(eventId(kind), eventId(kind), `${provider} ${kind}`);
    const first = eventKinds(provider)[0];
    assert.equal(eventId(first, pins[provider]), eventId(first, pins[provider]), provider);
  }
  const [a, b] = [0, 1].map(() => JSON.parse(new TextDecoder().decode(sample("lisoloo", "sms.delivered", { message_id: "m-1" }))));
  assert.equal(a.message_id, "m-1");
  assert.equal(b.message_id, "m-1");
  assert.notEqual(a.event_id, b.event_id);
  assert.equal("event_id" in JSON.parse(new TextDecoder().decode(sample("lisoloo", "sms.sent", { event_id: null }))), false);
});

test("telhook/testing loads where a global __dirname exists (node -e, node -p), by import and by require", () => {
  const cwd = new URL("..", import.meta.url);
  const run = (...args) => execFileSync(process.execPath, args, { cwd, encoding: "utf8" }).trim();
  assert.equal(run("-e", 'import("telhook/testing").then((t) => console.log(t.sample("lisoloo").length > 0))'), "true");
  assert.equal(run("-p", 'require("telhook/testing").sample("lisoloo").length > 0'), "true");
});

test("inspect() of a capture and of a signed request shows no credential", () => {
  const secret = "liso-PASS-current-4411";
  const signed = signedRequest("lisoloo", { credentials: { basic: { username: "hook", password: secret } } });
  const authorization = signed.headers.Authorization;
  const capture = `POST /hooks/lisoloo?token=TOKENVALUE123456&page=2 HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Length: ${signed.body.length}\r\n\r\n`;
  const captured = fromHttpCapture(Buffer.concat([Buffer.from(capture), signed.body]));
  for (const shown of [inspect(captured), inspect(signed), inspect({ nested: [captured] }, { depth: 5 })]) {
    assert.ok(!shown.includes(authorization.split(" ")[1]) && !shown.includes("TOKENVALUE123456"), shown);
  }
  assert.equal(
    inspect(captured),
    `CapturedRequest { method: "POST", url: Some(/hooks/lisoloo?token=[REDACTED]&page=[REDACTED]), headers: [("Host", "x"), ("Authorization", "[REDACTED]"), ("Content-Length", "${signed.body.length}")], body: <${signed.body.length} bytes> }`,
  );
  assert.ok(inspect(signed).startsWith('SignedRequest { method: "POST"'));
  // The values are still there to send.
  assert.equal(captured.headers[1][1], authorization);
});
