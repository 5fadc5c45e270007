// redisStore on a real redis-server, through ioredis and node-redis: the store protocol (the
// same steps as Python's RedisStore is tested with), the names keys are stored under (the
// core's rule, which Python's stores share), a delivery through createNodeMiddleware handled
// once across two receivers sharing the Redis, and a client that is not one refused at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { createClient } from "redis";
import * as telhook from "telhook";
import { startRedis } from "./redis-server.mjs";

let server;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server?.stop();
});

const CLIENTS = {
  ioredis: async () => {
    const client = new Redis({ port: server.port, host: "127.0.0.1" });
    return { client, close: async () => client.disconnect() };
  },
  "node-redis": async () => {
    const client = await createClient({ url: `redis://127.0.0.1:${server.port}` }).connect();
    return { client, close: async () => client.destroy() };
  },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

for (const [kind, open] of Object.entries(CLIENTS)) {
  test(`redisStore (${kind}): claim, complete and release act only for the claim's owner`, async () => {
    const { client, close } = await open();
    try {
      const store = telhook.redisStore(client, { prefix: `t:${kind}:` });
      const key = "lisoloo:abc";
      assert.equal(await store.claim(key, "one", 60), "new");
      assert.equal(await store.claim(key, "two", 60), "in_progress");
      // The same delivery's claim sent again (a client's retry after a lost reply) is its own.
      assert.equal(await store.claim(key, "one", 60), "new");
      await store.release(key, "two"); // not its claim: nothing happens
      await store.complete(key, "two", 60);
      assert.equal(await store.claim(key, "three", 60), "in_progress");
      await store.complete(key, "one", 60);
      assert.equal(await store.claim(key, "three", 60), "done");
      assert.equal(await client.get(`t:${kind}:${key}`), "done");
      await store.release(key, "one"); // done stays done
      assert.equal(await store.claim(key, "four", 60), "done");

      // A failed handler's release lets the next delivery in.
      assert.equal(await store.claim("k2", "one", 60), "new");
      await store.release("k2", "one");
      assert.equal(await store.claim("k2", "two", 60), "new");

      // A lease that ran out: another delivery takes the key; the first one's late complete and
      // release do nothing to the new claim.
      assert.equal(await store.claim("k3", "one", 1), "new");
      await sleep(1_100);
      assert.equal(await store.claim("k3", "two", 60), "new");
      await store.release("k3", "one");
      assert.equal(await store.claim("k3", "three", 60), "in_progress");

      // A complete of a key that is gone (its lease ran out while the handler ran, nobody took
      // it since) marks it done: the handler did run.
      await store.complete("k4", "one", 60);
      assert.equal(await store.claim("k4", "two", 60), "done");
    } finally {
      await close();
    }
  });

  test(`redisStore (${kind}): keys are stored under the core's names, as Python's stores name them`, async () => {
    const { client, close } = await open();
    try {
      await (kind === "ioredis" ? client.flushdb() : client.flushDb()); // the other client's run used these names
      const store = telhook.redisStore(client);
      const long = `twilio:${"S".repeat(300)}`;
      const spaced = "vonage:a b";
      for (const key of [long, spaced]) {
        assert.equal(await store.claim(key, "one", 60), "new");
        await store.complete(key, "one", 60);
      }
      const hashed = (text) => `telhook:sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
      assert.equal(await client.get(hashed(long)), "done");
      assert.equal(await client.get(hashed(spaced)), "done");
      assert.equal(await store.claim("plain:SM1", "one", 60), "new");
      assert.equal(await client.get("telhook:plain:SM1"), "in_progress:one");
    } finally {
      await close();
    }
  });
}

test("redisStore: a callback-style node-redis client (legacy()) is refused at once, and a client answering no promise fails its calls", async () => {
  const modern = await createClient({ url: `redis://127.0.0.1:${server.port}` }).connect();
  try {
    // Taken as a promise client, its claims read as in progress: every delivery turned away.
    assert.throws(() => telhook.redisStore(modern.legacy()), /expected an ioredis client/);
  } finally {
    modern.destroy();
  }
  const callbackStyle = { eval: () => undefined, evalsha: () => undefined };
  await assert.rejects(telhook.redisStore(callbackStyle).claim("k", "one", 60), /returned no promise/);
  const wrongReply = { eval: async () => "maybe", evalsha: () => undefined };
  await assert.rejects(telhook.redisStore(wrongReply).claim("k", "one", 60), /answered something other than new, in_progress or done/);
});

test("redisStore: what is not a Redis client, or a bad lease, is a TypeError naming it", async () => {
  for (const client of [null, {}, { eval() {} }, "redis://127.0.0.1"]) {
    assert.throws(() => telhook.redisStore(client), (error) => error instanceof TypeError && /expected an ioredis client/.test(error.message));
  }
  const client = new Redis({ port: server.port, host: "127.0.0.1" });
  try {
    assert.throws(() => telhook.redisStore(client, { prefix: 5 }), /prefix must be a string/);
    const store = telhook.redisStore(client);
    await assert.rejects(store.claim("k", "t", 0), /leaseSecs must be a positive whole number of seconds/);
    await assert.rejects(store.complete("k", "t", 1.5), /ttlSecs must be a positive whole number of seconds/);
  } finally {
    client.disconnect();
  }
});

test("two Node receivers sharing one Redis handle a delivery once: the other answers duplicate", async () => {
  const vector = JSON.parse(readFileSync(new URL("../../tests/vectors/lisoloo/sms_sent.json", import.meta.url), "utf8"));
  const handled = [];
  const clients = [new Redis({ port: server.port, host: "127.0.0.1" }), new Redis({ port: server.port, host: "127.0.0.1" })];
  const servers = clients.map((client) =>
    http.createServer(
      telhook.createNodeMiddleware({
        provider: "lisoloo",
        credentials: vector.credentials,
        store: telhook.redisStore(client, { prefix: "shared:" }),
        clock: () => vector.now,
        onEvent: async (event) => {
          handled.push(event.id);
        },
      }),
    ),
  );
  try {
    const ports = await Promise.all(servers.map((s) => new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s.address().port)))));
    const answers = [];
    for (const port of ports) {
      const response = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: vector.request.headers, body: vector.request.body });
      answers.push([response.status, await response.json()]);
    }
    assert.deepStrictEqual(answers, [
      [200, { outcome: "accepted" }],
      [200, { outcome: "duplicate" }],
    ]);
    assert.deepStrictEqual(handled, [vector.expect.event.id]);
  } finally {
    for (const s of servers) s.close();
    for (const client of clients) client.disconnect();
  }
});

test("a Python RedisStore and a Node redisStore on one Redis dedupe each other's deliveries", async () => {
  // `make test` builds ../.venv (with redis-py) before the Node suites run.
  const python = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
  const key = `twilio:${"SM".repeat(120)}`; // long: stored under its hash, by both
  const client = new Redis({ port: server.port, host: "127.0.0.1" });
  try {
    const store = telhook.redisStore(client);
    assert.equal(await store.claim(key, "node-delivery", 60), "new");
    const script = [
      "import sys, redis",
      "from telhook.stores import RedisStore",
      "store = RedisStore(redis.Redis(port=int(sys.argv[1])))",
      "print(store.claim(sys.argv[2], 'python-delivery', 60))",
    ].join("\n");
    const pythonClaims = () => execFileSync(python, ["-c", script, String(server.port), key], { encoding: "utf8" }).trim();
    assert.equal(pythonClaims(), "in_progress");
    await store.complete(key, "node-delivery", 60);
    assert.equal(pythonClaims(), "done");
  } finally {
    client.disconnect();
  }
});
