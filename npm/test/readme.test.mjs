// The README's Node and Workers examples, run as written: each ```js block there is labelled
// <!-- readme-test: node-server --> (run with node, a signed delivery sent twice) or
// <!-- readme-test: worker --> (bundled like wrangler would, run in workerd with the bindings
// the README's wrangler.toml declares, the same delivery sent twice, and the example's own
// Queue consumer must take the event).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { retryOnReset } from "./miniflare-retry.mjs";
import { CONSUMER_PROBE, consumedIds, miniflareBindings, tomlAfter, wranglerProblems } from "./wrangler-toml.mjs";
import { freePort, waitForPort } from "./ports.mjs";
import { startRedis } from "./redis-server.mjs";
import { Redis } from "ioredis";

async function fetchRedis(port, key) {
  const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
  try {
    await client.connect();
    return await client.get(key);
  } finally {
    client.disconnect();
  }
}

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const delivery = JSON.parse(readFileSync(new URL("../../tests/vectors/lisoloo/sms_sent.json", import.meta.url), "utf8"));
const PASSWORD = delivery.credentials.basic[0].password;
const EVENT_ID = "lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003";
// Inside the package, so that "telhook" (self-reference), "express" and "hono" resolve.
const scratch = mkdtempSync(fileURLToPath(new URL("./.readme-", import.meta.url)));
after(() => rmSync(scratch, { recursive: true, force: true }));

function section(title) {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has no "## ${title}" section`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Every ```js block of the section, with its label (null when it has none). */
function examples(title) {
  const blocks = [];
  const pattern = /(?:<!-- readme-test: ([a-z-]+) -->\n)?```js\n([\s\S]*?)```/g;
  for (const match of section(title).matchAll(pattern)) blocks.push({ kind: match[1] ?? null, code: match[2] });
  return blocks;
}

const nodeExamples = examples("Node");
const workerExamples = examples("Cloudflare Workers");

test("every js example of the Node and Workers sections is run by this test, each <= 15 lines", () => {
  for (const { kind, code } of [...nodeExamples, ...workerExamples]) {
    assert.ok(kind === "node-server" || kind === "worker", `an example without a readme-test label:\n${code}`);
    assert.ok(code.trim().split("\n").length <= 15, `an example longer than 15 lines:\n${code}`);
  }
  assert.ok(nodeExamples.length >= 2 && workerExamples.length >= 2);
});

const post = (url) =>
  fetch(url, { method: "POST", headers: delivery.request.headers, body: delivery.request.body }).then(async (r) => [
    r.status,
    await r.json(),
  ]);

for (const [index, { kind, code }] of nodeExamples.entries()) {
  if (kind !== "node-server") continue;
  test(`README Node example ${index + 1} receives a delivery once and answers the redelivery as a duplicate`, async () => {
    const file = join(scratch, `node-example-${index}.mjs`);
    writeFileSync(file, code);
    const port = await freePort();
    // The Redis store's example, on a redis-server of its own.
    const redis = code.includes("REDIS_URL") ? await startRedis() : null;
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, PORT: String(port), LISOLOO_PASSWORD: PASSWORD, ...(redis && { REDIS_URL: `redis://127.0.0.1:${redis.port}` }) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    try {
      await waitForPort(port, child);
      // Express mounts the middleware on a path; the node:http server answers on any path.
      const url = `http://127.0.0.1:${port}${code.includes("/hooks/lisoloo") ? "/hooks/lisoloo" : "/"}`;
      assert.deepStrictEqual(await post(url), [200, { outcome: "accepted" }]);
      assert.deepStrictEqual(await post(url), [200, { outcome: "duplicate" }]);
      assert.equal(output.trim(), `message.status ${EVENT_ID}`);
      if (redis) {
        // The claim, completed, is in that Redis under the core's name for the key.
        const probe = await fetchRedis(redis.port, `telhook:${EVENT_ID}`);
        assert.equal(probe, "done");
      }
    } finally {
      child.kill();
      await redis?.stop();
    }
  });
}

const WASM_PLUGIN = {
  name: "wasm-modules",
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${args.path.split("/").pop()}`, external: true }));
  },
};

const WRANGLER = tomlAfter(section("Cloudflare Workers"), "```toml");

test("README wrangler.toml: the bindings the Worker examples use, a migration per Durable Object class, a consumer per Queue", () => {
  const bindings = miniflareBindings(WRANGLER);
  assert.deepStrictEqual(bindings.durableObjects, { TELHOOK_DEDUPE: "TelhookDedupeObject" });
  assert.deepStrictEqual(Object.keys(bindings.queueProducers), ["EVENTS"]);
  assert.deepStrictEqual(wranglerProblems(WRANGLER), []);
  for (const key of ["name", "main", "compatibility_date"]) assert.ok(WRANGLER[key], `wrangler.toml has no ${key}`);
});

for (const [index, { kind, code }] of workerExamples.entries()) {
  if (kind !== "worker") continue;
  test(`README Worker example ${index + 1} in workerd: accepted once, queued, then a duplicate`, async () => {
    const dir = mkdtempSync(join(scratch, "worker-"));
    writeFileSync(join(dir, "example.mjs"), code);
    // The example behind a probe that records what the example's own queue() consumer took.
    writeFileSync(join(dir, "wrapper.mjs"), CONSUMER_PROBE);
    await build({
      entryPoints: [join(dir, "wrapper.mjs")],
      outfile: join(dir, "out", "worker.mjs"),
      bundle: true,
      format: "esm",
      platform: "neutral",
      conditions: ["workerd", "worker"],
      plugins: [WASM_PLUGIN],
      logLevel: "warning",
    });
    copyFileSync(fileURLToPath(new URL("../dist/telhook_wasm_bg.wasm", import.meta.url)), join(dir, "out", "telhook_wasm_bg.wasm"));
    const mf = new Miniflare({
      modules: true,
      scriptPath: join(dir, "out", "worker.mjs"),
      modulesRoot: join(dir, "out"),
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: WRANGLER.compatibility_date,
      bindings: { LISOLOO_PASSWORD: PASSWORD },
      ...miniflareBindings(WRANGLER), // the README's wrangler.toml, as wrangler would bind it
    });
    try {
      const send = () =>
        retryOnReset(() =>
          mf.dispatchFetch("https://worker.test/hooks/lisoloo", {
            method: "POST",
            headers: delivery.request.headers,
            body: delivery.request.body,
          }),
        ).then(async (r) => [r.status, await r.json()]);
      assert.deepStrictEqual(await send(), [200, { outcome: "accepted" }]);
      assert.deepStrictEqual(await send(), [200, { outcome: "duplicate" }]);
      const consumed = await consumedIds(mf, 1, (url) => retryOnReset(() => mf.dispatchFetch(url)));
      assert.deepStrictEqual(consumed, [EVENT_ID], "the example's queue() consumer took the event");
    } finally {
      await mf.dispose();
    }
  });
}
