// A README's wrangler.toml, read as wrangler reads it (parsed by Python's tomllib, the real
// TOML grammar; `make test` already needs python3), turned into the Miniflare options it binds,
// and checked for what Cloudflare needs that Miniflare does not: a migration for every Durable
// Object class and a consumer for every Queue a producer sends to.
import { execFileSync } from "node:child_process";

export function parseToml(text) {
  const script = "import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))";
  return JSON.parse(execFileSync("python3", ["-c", script], { input: text, encoding: "utf8" }));
}

/** The ```toml block that follows `marker` in `markdown` (a heading or an example label). */
export function tomlAfter(markdown, marker) {
  const start = markdown.indexOf(marker);
  if (start < 0) throw new Error(`no ${marker}`);
  const match = markdown.slice(start).match(/```toml\n([\s\S]*?)```/);
  if (!match) throw new Error(`no toml block after ${marker}`);
  return parseToml(match[1]);
}

/** Miniflare's durableObjects, queueProducers, queueConsumers and r2Buckets for `config`. */
export function miniflareBindings(config) {
  return {
    durableObjects: Object.fromEntries((config.durable_objects?.bindings ?? []).map((b) => [b.name, b.class_name])),
    queueProducers: Object.fromEntries((config.queues?.producers ?? []).map((p) => [p.binding, { queueName: p.queue }])),
    queueConsumers: Object.fromEntries((config.queues?.consumers ?? []).map((c) => [c.queue, { maxBatchTimeout: 0, maxRetries: 0 }])),
    r2Buckets: (config.r2_buckets ?? []).map((b) => b.binding),
  };
}

/** What Cloudflare would refuse or drop: bound classes without a migration, queues without a consumer. */
export function wranglerProblems(config) {
  const migrated = new Set(
    (config.migrations ?? []).flatMap((m) => [...(m.new_classes ?? []), ...(m.new_sqlite_classes ?? [])]),
  );
  const consumed = new Set((config.queues?.consumers ?? []).map((c) => c.queue));
  return [
    ...(config.durable_objects?.bindings ?? [])
      .filter((b) => !b.script_name && !migrated.has(b.class_name))
      .map((b) => `Durable Object class ${b.class_name} has no migration (new_sqlite_classes)`),
    ...(config.queues?.producers ?? [])
      .filter((p) => !consumed.has(p.queue))
      .map((p) => `queue ${p.queue} has no consumer`),
    // Cloudflare's defaults retry a failed message 3 times at once, then delete it: an event
    // acknowledged to its provider, lost to a minute's outage of the consumer's downstream.
    ...(config.queues?.consumers ?? [])
      .filter((c) => !c.dead_letter_queue)
      .map((c) => `queue ${c.queue}'s consumer has no dead_letter_queue: a message that fails max_retries times is deleted`),
  ];
}

/** A Worker that runs `./example.mjs` and records the ids its own queue() consumer took; it
 * throws (no ack: the message is dropped after maxRetries) when the example exports none. */
export const CONSUMER_PROBE = `import example from "./example.mjs";
export * from "./example.mjs";
const consumed = [];
export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__consumed") return Response.json(consumed);
    return example.fetch(request, env, ctx);
  },
  async queue(batch, env, ctx) {
    if (typeof example.queue !== "function") throw new Error("the example exports no queue() consumer");
    await example.queue(batch, env, ctx);
    for (const message of batch.messages) consumed.push(message.body.id);
  },
};
`;

/** Polls the probe until the consumer has taken `count` events (10 s at most). */
export async function consumedIds(mf, count, fetchOnce = (url) => mf.dispatchFetch(url)) {
  let consumed = [];
  for (let attempt = 0; attempt < 100 && consumed.length < count; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    consumed = await (await fetchOnce("https://worker.test/__consumed")).json();
  }
  return consumed;
}
