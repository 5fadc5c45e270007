// Runs the vectors and createHandler inside the real Workers runtime (workerd, via miniflare).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import * as telhook from "telhook";
import { loadVectors } from "./load-vectors.mjs";
import { bodyOf } from "./vectors.mjs";

const vectors = loadVectors();
let mf;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "telhook-worker-"));
  await build({
    entryPoints: [fileURLToPath(new URL("./worker.mjs", import.meta.url))],
    outfile: join(dir, "worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    // Like wrangler: a .wasm import stays a module of its own, uploaded beside the bundle.
    plugins: [
      {
        name: "wasm-modules",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${args.path.split("/").pop()}`, external: true }));
        },
      },
    ],
    logLevel: "warning",
  });
  copyFileSync(fileURLToPath(new URL("../dist/telhook_wasm_bg.wasm", import.meta.url)), join(dir, "telhook_wasm_bg.wasm"));
  mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, "worker.mjs"),
    modulesRoot: dir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-07-01",
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

test("every conformance vector gives the expected output inside workerd", async () => {
  for (const { name, vector } of vectors) {
    const response = await mf.dispatchFetch("https://worker.test/vector", { method: "POST", body: JSON.stringify(vector) });
    assert.equal(response.status, 200, name);
    assert.deepStrictEqual(await response.json(), vector.expect, name);
  }
});

async function deliver(vector) {
  const method = vector.request.method ?? "POST";
  const url = new URL(vector.request.url ?? "/hook", "https://worker.test").href;
  const headers = new Headers();
  const pairs = Array.isArray(vector.request.headers)
    ? vector.request.headers
    : Object.entries(vector.request.headers ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
  // The HTTP client sets Content-Length itself (and refuses a false one); the declared-length
  // check is covered by the vector run above.
  for (const [name, value] of pairs) if (name.toLowerCase() !== "content-length") headers.append(name, value);
  headers.set(
    "x-telhook-test-config",
    JSON.stringify({ provider: vector.provider, credentials: vector.credentials, options: vector.options, now: vector.now }),
  );
  const body = method === "GET" ? undefined : bodyOf(vector.request);
  return mf.dispatchFetch(url, { method, headers, body });
}

const STATUS_BY_KIND = { verification: 401, parse: 400, request: 400, configuration: 500 };

test("createHandler answers every vector with the status ack chooses", async () => {
  for (const { name, vector } of vectors) {
    // createHandler itself refuses these configurations (tested in Node); nothing to deliver.
    if (["unknown_provider", "invalid_credentials"].includes(vector.expect.error)) continue;
    // A false Content-Length cannot be sent through an HTTP client; the vector run covers it.
    if (JSON.stringify(vector.request.headers ?? {}).toLowerCase().includes('"content-length"')) continue;
    const response = await deliver(vector);
    let expected = 200;
    if (vector.expect.error) {
      // The kind of the vector's error, as the Node build of the same core reports it.
      try {
        telhook.normalizeEvent(vector.provider, { ...vector.request, body: bodyOf(vector.request) }, vector.credentials, {
          now: vector.now,
          ...(vector.options ?? {}),
        });
        assert.fail(`${name} should fail`);
      } catch (error) {
        expected = STATUS_BY_KIND[error.kind];
      }
    }
    assert.equal(response.status, expected, name);
  }
});

test("in workerd: a forgery gets 401, a malformed body 400, a duplicate 200 without a second onEvent", async () => {
  const find = (n) => vectors.find((v) => v.name === n).vector;
  const before = await (await mf.dispatchFetch("https://worker.test/events")).json();
  const good = find("lisoloo/sms_sent.json");
  // First delivery may already have happened in the previous test (same dedupe store):
  // either way it is acknowledged, and the event id is recorded exactly once.
  assert.equal((await deliver(good)).status, 200);
  assert.equal((await deliver(good)).status, 200);
  const after = await (await mf.dispatchFetch("https://worker.test/events")).json();
  assert.equal(after.filter((id) => id === "lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003").length, 1);
  assert.ok(after.length >= before.length);
  const forged = await deliver(find("lisoloo/err_wrong_password.json"));
  assert.equal(forged.status, 401);
  assert.deepStrictEqual(await forged.json(), { error: "authorization_mismatch" });
  const malformed = await deliver(find("lisoloo/err_malformed_json.json"));
  assert.equal(malformed.status, 400);
  assert.deepStrictEqual(await malformed.json(), { error: "malformed_json" });
  const misconfigured = await deliver(find("lisoloo/err_missing_credentials.json"));
  assert.equal(misconfigured.status, 500);
});
