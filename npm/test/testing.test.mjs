// telhook/testing: every sample of every provider, signed, verifies through the package — as
// a plain object (Node) and as a Fetch Request through createHandler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as telhook from "telhook";
import { eventKinds, sample, signedRequest } from "telhook/testing";

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

test("own body, single scheme, URL token query, typed errors", () => {
  const body = sample("gatewayapi", "delivery_report", { status: "ENROUTE" });
  const jwtOnly = signedRequest("gatewayapi", { body, credentials: CREDENTIALS.gatewayapi, scheme: "jwt_hs256" });
  assert.deepEqual([...jwtOnly.body], [...body]);
  assert.equal(jwtOnly.headers.Signature, undefined);
  assert.match(jwtOnly.headers["X-Gwapi-Signature"], /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const did = signedRequest("did_reseller", { credentials: CREDENTIALS.did_reseller });
  assert.equal(did.url, "/?token=did-token");
  assert.equal(did.urlFor("https://example.test/did?src=x"), "https://example.test/did?src=x&token=did-token");
  assert.throws(() => signedRequest("limephone", { credentials: {} }), (e) => e instanceof telhook.ConfigurationError && e.code === "missing_credentials");
  assert.throws(() => sample("lisoloo", "sms.teleported"), (e) => e instanceof telhook.RequestError && e.code === "invalid_request");
});

test("the README's telhook/testing example runs as written", async () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split("\n## Testing your receiver\n")[1].split("\n## ")[0];
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1);
  const credentials = CREDENTIALS.lisoloo;
  const seen = [];
  const handler = telhook.createHandler({ provider: "lisoloo", credentials, store: null, onEvent: (e) => seen.push(e.id) });
  const code = blocks[0].replace(/^import \{ signedRequest \} from "telhook\/testing";\n/, "");
  assert.notEqual(code, blocks[0], "the example imports signedRequest from telhook/testing");
  const run = new Function("signedRequest", "credentials", "handler", `return (async () => { ${code}; return response; })();`);
  const response = await run(signedRequest, credentials, handler);
  assert.equal(response.status, 200);
  assert.equal(seen.length, 1);
});
