// The npm README's inbox examples, run as written (issue 23): the Node one (BullMQ) against a
// real redis-server, the Worker one bundled as wrangler would and run in workerd with the
// bindings of the README's inbox wrangler.toml (its max_retries and dead_letter_queue too).
// Each must answer a signed delivery 200 queued, its redelivery 200 duplicate, and run its
// handler for the event once, in its worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { signedRequest } from "telhook/testing";
import { retryOnReset } from "./miniflare-retry.mjs";
import { tomlAfter, wranglerProblems } from "./wrangler-toml.mjs";
import { startRedis } from "./redis-server.mjs";
import { freePort } from "./ports.mjs";

const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const ROOT_README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const example = (name, readme = README) => {
  const match = readme.match(new RegExp(`<!-- example: ${name} -->\\n\`\`\`js\\n([\\s\\S]*?)\`\`\``));
  assert.ok(match, `the README has no ${name} example`);
  return match[1];
};
const vector = (name) => JSON.parse(readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8"));
const lisoloo = vector("lisoloo/sms_sent.json");
const limephone = vector("limephone/doc_sms_sent.json");
// Inside the package, so that "telhook" (self-reference) and "bullmq" resolve as in a user's project.
const scratch = mkdtempSync(fileURLToPath(new URL("./.readme-inbox-", import.meta.url)));
let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test("the inbox examples are at most 15 lines; the root README's Node and Workers inbox examples are these (run below)", () => {
  for (const name of ["inbox-node", "inbox-worker"]) {
    assert.ok(example(name).trim().split("\n").length <= 15, name);
    assert.equal(example(name, ROOT_README), example(name), `README.md's ${name} differs from npm/README.md's`);
  }
  assert.deepStrictEqual(tomlAfter(ROOT_README, "<!-- example: inbox-wrangler -->"), tomlAfter(README, "<!-- example: inbox-wrangler -->"));
});

const answer = async (response) => {
  const body = await response.json();
  return `${response.status} ${body.outcome ?? body.error}`;
};

async function until(read, predicate, what) {
  for (let i = 0; i < 200; i += 1) {
    const value = await read();
    if (predicate(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("README inbox-node (BullMQ on a real Redis): queued, then duplicate; the Worker handles the event once", async () => {
  const file = join(scratch, "inbox-node.mjs");
  writeFileSync(file, example("inbox-node"));
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), REDIS_PORT: String(redis.port), LISOLOO_PASSWORD: lisoloo.credentials.basic[0].password };
  const child = spawn(process.execPath, [file], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    const post = () =>
      fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: lisoloo.request.headers, body: lisoloo.request.body }).then(answer);
    await until(() => post().catch(() => null), (a) => a !== null && child.exitCode === null, `the example on ${port}: ${output}`).then((first) =>
      assert.equal(first, "200 queued", output),
    );
    assert.equal(await post(), "200 duplicate");
    const line = "message.status lisoloo:0b6f0f0e-8a57-4c55-9a43-55c3b0e1a003";
    await until(() => output, (text) => text.includes(line), `the Worker: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(output.trim(), line);
  } finally {
    child.kill();
  }
});

// The example behind a probe that records the events its queue() acked.
const ACK_PROBE = `import example from "./example.mjs";
export * from "./example.mjs";
const acked = [];
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__acked") return Response.json(acked);
    if (new URL(request.url).pathname === "/__overflow") return Response.json((await env.INBOX_OVERFLOW.list()).objects.length);
    return example.fetch(request, env, ctx);
  },
  async queue(batch, env, ctx) {
    const messages = batch.messages.map((m) => ({
      id: m.id, body: m.body, attempts: m.attempts, timestamp: m.timestamp,
      ack() { acked.push(m.body.event?.id ?? m.body.key); m.ack(); },
      retry(options) { m.retry(options); },
    }));
    await example.queue({ queue: batch.queue, messages, ackAll: () => batch.ackAll(), retryAll: (o) => batch.retryAll(o) }, env, ctx);
  },
};
`;

test("README inbox-worker in workerd with the README's inbox wrangler.toml: queued, then duplicate; consumeInbox acks the event once", async () => {
  const wrangler = tomlAfter(README, "<!-- example: inbox-wrangler -->");
  assert.deepStrictEqual(wranglerProblems(wrangler), []);
  const [consumer] = wrangler.queues.consumers;
  assert.equal(consumer.max_retries, 8 - 1, "max_retries = the example's max_attempts - 1");
  const dir = join(scratch, "worker");
  mkdirSync(join(dir, "out"), { recursive: true });
  writeFileSync(join(dir, "example.mjs"), example("inbox-worker"));
  writeFileSync(join(dir, "probe.mjs"), ACK_PROBE);
  await build({
    entryPoints: [join(dir, "probe.mjs")],
    outfile: join(dir, "out", "worker.mjs"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    logLevel: "warning",
    plugins: [{ name: "wasm", setup: (b) => b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: `./${a.path.split("/").pop()}`, external: true })) }],
  });
  copyFileSync(fileURLToPath(new URL("../dist/telhook_wasm_bg.wasm", import.meta.url)), join(dir, "out", "telhook_wasm_bg.wasm"));
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, "out", "worker.mjs"),
    modulesRoot: join(dir, "out"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: wrangler.compatibility_date,
    bindings: { LIME_SECRET: limephone.credentials.hmac_sha256[0], LIME_TOKEN: limephone.credentials.bearer },
    // wrangler.toml as wrangler binds it, the consumer's retries and dead-letter queue included.
    durableObjects: Object.fromEntries(wrangler.durable_objects.bindings.map((b) => [b.name, b.class_name])),
    queueProducers: Object.fromEntries(wrangler.queues.producers.map((p) => [p.binding, { queueName: p.queue }])),
    queueConsumers: Object.fromEntries(
      wrangler.queues.consumers.map((c) => [c.queue, { maxBatchTimeout: 0, maxRetries: c.max_retries, deadLetterQueue: c.dead_letter_queue }]),
    ),
    r2Buckets: wrangler.r2_buckets.map((b) => b.binding),
  });
  try {
    const send = () =>
      retryOnReset(() => mf.dispatchFetch("https://worker.test/hooks/limephone", { method: "POST", headers: limephone.request.headers, body: limephone.request.body }));
    assert.equal(await answer(await send()), "200 queued");
    assert.equal(await answer(await send()), "200 duplicate");
    const acked = () => retryOnReset(() => mf.dispatchFetch("https://worker.test/__acked")).then((r) => r.json());
    await until(acked, (ids) => ids.length > 0, "the consumer");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepStrictEqual(await acked(), ["limephone:sms_sent:234567"]);
    // An event larger than a Queue message (a 300 KB message text): through the R2 bucket, acked
    // once, its object deleted.
    const large = signedRequest("limephone", { eventKind: "sms_sent", overrides: { message_id: "large-1", message_content: "z".repeat(300_000) }, credentials: limephone.credentials });
    const sendLarge = () => retryOnReset(() => mf.dispatchFetch("https://worker.test/hooks/limephone", { method: "POST", headers: large.headers, body: large.body }));
    assert.equal(await answer(await sendLarge()), "200 queued");
    assert.equal(await answer(await sendLarge()), "200 duplicate");
    await until(acked, (ids) => ids.length > 1, "the consumer of the large event");
    assert.deepStrictEqual(await acked(), ["limephone:sms_sent:234567", "limephone:sms_sent:large-1"]);
    const overflowed = () => retryOnReset(() => mf.dispatchFetch("https://worker.test/__overflow")).then((r) => r.json());
    await until(overflowed, (count) => count === 0, "the overflow object's deletion");
  } finally {
    await mf.dispose();
  }
});
