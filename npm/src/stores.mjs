// Dedupe stores with the claim / complete / release protocol of issue 11. The adapter makes one
// random token per delivery; a claim belongs to that token, so a delivery whose lease expired
// (a worker that hung) cannot complete or release a claim another delivery has taken since.
//   claim(key, token, leaseSecs)  -> "new" | "in_progress" | "done"; atomic: one caller gets
//                                    "new" while a claim is live; an expired lease is "new" again.
//   complete(key, token, ttlSecs) -> "done" for ttlSecs, if `token` still owns the claim or the
//                                    key is gone (its lease ran out, nobody took it since).
//   release(key, token)           -> forgets the key, if `token` still owns the claim.
// Same semantics as the Rust reference, telhook_core::receive::MemoryStore.
import { coreCall } from "./internal.mjs";

/** The state of `entry` at `now`, or undefined when there is none or it expired. */
function liveState(entry, now) {
  if (entry === undefined || entry.expiresAt <= now) return undefined;
  return entry.done ? "done" : "in_progress";
}

/** Whether `token` still owns the (not yet done) claim in `entry`, expired or not. */
function ownedBy(entry, token) {
  return entry !== undefined && !entry.done && entry.token === token;
}

/**
 * Whether a complete by `token` marks the key done: its own claim, or none at all (swept or
 * deleted after its lease ran out while the handler ran, nobody took it since: the handler did
 * run, and a redelivery must be a duplicate — a review: a handler past Telnyx's 15 s lease ran
 * twice).
 */
function completes(entry, token) {
  return entry === undefined || ownedBy(entry, token);
}

/**
 * A store in this process's memory: tests, and a single long-lived Node process. Not shared
 * between processes, Workers isolates or servers. `clock` returns UNIX seconds (tests move it).
 */
export function memoryStore({ clock = () => Date.now() / 1000 } = {}) {
  if (typeof clock !== "function") throw new TypeError("memoryStore: clock must be a function returning UNIX seconds");
  coreCall("check_now", [Math.floor(clock())]);
  const entries = new Map();
  // Expired entries are dropped in a full sweep each time the map doubles: amortized O(1).
  let sweepAt = 1024;
  const sweep = (now) => {
    for (const [key, entry] of entries) if (liveState(entry, now) === undefined) entries.delete(key);
    sweepAt = Math.max(1024, entries.size * 2);
  };
  return {
    claim(key, token, leaseSecs) {
      const now = clock();
      const state = liveState(entries.get(key), now);
      if (state !== undefined) return state;
      entries.set(key, { done: false, token, expiresAt: now + leaseSecs });
      if (entries.size >= sweepAt) sweep(now);
      return "new";
    },
    complete(key, token, ttlSecs) {
      if (completes(entries.get(key), token)) entries.set(key, { done: true, token, expiresAt: clock() + ttlSecs });
    },
    release(key, token) {
      if (ownedBy(entries.get(key), token)) entries.delete(key);
    },
  };
}

const JSON_HEADERS = { "content-type": "application/json" };

/**
 * The Durable Object behind `durableObjectStore`: one object per event id (`idFromName(key)`),
 * so every claim of a key runs in the same single-threaded object, against its transactional
 * storage — strongly consistent across isolates and locations. Export it from your Worker's
 * main module and bind it (wrangler.toml: durable_objects.bindings + a migration).
 */
export class TelhookDedupeObject {
  constructor(state) {
    this.storage = state.storage;
  }

  async fetch(request) {
    const { op, token, lease_secs: leaseSecs, ttl_secs: ttlSecs } = await request.json();
    // Between reading and writing the entry there are only storage calls: the object's input
    // gate keeps other requests out meanwhile, so each operation is atomic.
    const now = Date.now();
    const entry = await this.storage.get("entry");
    if (op === "claim") {
      const state = liveState(entry, now);
      if (state !== undefined) return Response.json({ state });
      await this.keep({ done: false, token, expiresAt: now + leaseSecs * 1000 });
      return Response.json({ state: "new" });
    }
    if (op === "complete") {
      if (completes(entry, token)) await this.keep({ done: true, token, expiresAt: now + ttlSecs * 1000 });
      return Response.json({});
    }
    if (op === "release") {
      if (ownedBy(entry, token)) await this.storage.deleteAll();
      return Response.json({});
    }
    return new Response(JSON.stringify({ error: "unknown operation" }), { status: 400, headers: JSON_HEADERS });
  }

  async keep(entry) {
    await this.storage.put("entry", entry);
    // The object forgets the key when it expires (its storage is billed until then).
    await this.storage.setAlarm(entry.expiresAt);
  }

  async alarm() {
    const entry = await this.storage.get("entry");
    if (liveState(entry, Date.now()) === undefined) await this.storage.deleteAll();
    else await this.storage.setAlarm(entry.expiresAt);
  }
}

/**
 * A store backed by `TelhookDedupeObject` through a Durable Object namespace binding:
 * `durableObjectStore(env.TELHOOK_DEDUPE)`. For Workers, where isolates share no memory.
 */
export function durableObjectStore(namespace) {
  if (namespace === null || typeof namespace !== "object" || typeof namespace.idFromName !== "function") {
    throw new TypeError("durableObjectStore: expected a Durable Object namespace binding (env.<BINDING>) of TelhookDedupeObject");
  }
  const send = async (key, message) => {
    const stub = namespace.get(namespace.idFromName(key));
    const response = await stub.fetch("https://telhook-dedupe.invalid/", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify(message),
    });
    if (!response.ok) throw new Error(`durableObjectStore: the dedupe object answered ${response.status} to ${message.op}`);
    return response.json();
  };
  return {
    claim: async (key, token, leaseSecs) => (await send(key, { op: "claim", token, lease_secs: leaseSecs })).state,
    complete: async (key, token, ttlSecs) => {
      await send(key, { op: "complete", token, ttl_secs: ttlSecs });
    },
    release: async (key, token) => {
      await send(key, { op: "release", token });
    },
  };
}

let dedupeTexts;

/** A lease or TTL: positive whole seconds (Redis's EX refuses anything else, after the claim). */
function wholeSeconds(value, name) {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`redisStore: ${name} must be a positive whole number of seconds`);
  return String(value);
}

/**
 * How `client` runs a script: ioredis (`eval(script, numKeys, ...keys, ...args)`) or node-redis
 * 4 and later (`eval(script, { keys, arguments })`, which it marks with `evalSha`).
 */
function scriptRunner(client) {
  // node-redis 4's legacyMode keeps the promise API under `v4`.
  const modern = client !== null && typeof client === "object" && client.v4 && typeof client.v4.evalSha === "function" ? client.v4 : client;
  let run;
  if (modern !== null && typeof modern === "object" && typeof modern.eval === "function") {
    // node-redis 5's legacy() wrapper has the same names with callbacks, and no isOpen.
    if (typeof modern.evalSha === "function" && "isOpen" in modern) run = (script, name, args) => modern.eval(script, { keys: [name], arguments: args });
    else if (typeof modern.evalsha === "function") run = (script, name, args) => modern.eval(script, 1, name, ...args);
  }
  if (run === undefined) {
    throw new TypeError("redisStore: expected an ioredis client (new Redis(url)) or a connected node-redis client (createClient(...).connect())");
  }
  return (script, name, args) => {
    const reply = run(script, name, args);
    // A callback-style client (node-redis 5's legacy()) returns nothing: every claim would
    // read as in progress, and every delivery be turned away.
    if (reply === null || typeof reply !== "object" || typeof reply.then !== "function") {
      throw new TypeError("redisStore: the client's eval returned no promise (a node-redis legacy client?): give the promise client");
    }
    return reply;
  };
}

const CLAIM_STATES = new Set(["new", "in_progress", "done"]);

/**
 * A store on Redis, for several processes or servers: each call is one Lua script, atomic on
 * the server. The scripts, the key prefix and the names event ids are stored under are the
 * core's (Python's `RedisStore` runs the same, so Node and Python receivers on one Redis dedupe
 * each other's deliveries). Run Redis with persistence (`appendonly yes`): restarted without
 * it, Redis forgets which events were handled.
 */
export function redisStore(client, { prefix } = {}) {
  const run = scriptRunner(client);
  dedupeTexts ??= Object.freeze(coreCall("dedupe_stores", []));
  const texts = dedupeTexts;
  const keyPrefix = prefix ?? texts.key_prefix;
  if (typeof keyPrefix !== "string") throw new TypeError("redisStore: prefix must be a string");
  const name = (key) => keyPrefix + coreCall("storage_key", [key]);
  return {
    async claim(key, token, leaseSecs) {
      const reply = String(await run(texts.redis_claim, name(key), [token, wholeSeconds(leaseSecs, "leaseSecs")]));
      // Anything else is a broken client or server: an error (503), never a guessed state.
      if (!CLAIM_STATES.has(reply)) throw new Error("redisStore: the claim script answered something other than new, in_progress or done");
      return reply;
    },
    async complete(key, token, ttlSecs) {
      await run(texts.redis_complete, name(key), [token, wholeSeconds(ttlSecs, "ttlSecs")]);
    },
    async release(key, token) {
      await run(texts.redis_release, name(key), [token]);
    },
  };
}
