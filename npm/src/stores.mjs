// Dedupe stores with the claim / complete / release protocol of issue 11:
//   claim(key, leaseSecs)  -> "new" | "in_progress" | "done"; atomic: one caller gets "new" while
//                             a claim is live; an expired lease (a crashed worker) is "new" again.
//   complete(key, ttlSecs) -> "done" for ttlSecs (the provider's redeliveries are duplicates).
//   release(key)           -> forgets an in-progress claim (the provider's retry is processed).
import * as core from "../wasm/telhook_wasm.js";
import { call } from "./internal.mjs";

/** The state of `entry` at `now`, or undefined when there is none or it expired. */
function liveState(entry, now) {
  return entry !== undefined && entry.expiresAt > now ? entry.state : undefined;
}

/**
 * A store in this process's memory: tests, and a single long-lived Node process. Not shared
 * between processes, Workers isolates or servers. `clock` returns UNIX seconds (tests move it).
 */
export function memoryStore({ clock = () => Date.now() / 1000 } = {}) {
  if (typeof clock !== "function") throw new TypeError("memoryStore: clock must be a function returning UNIX seconds");
  call(core.checkNow, Math.floor(clock()));
  const entries = new Map();
  // Expired entries are dropped in a full sweep each time the map doubles: amortized O(1).
  let sweepAt = 1024;
  const sweep = (now) => {
    for (const [key, entry] of entries) if (liveState(entry, now) === undefined) entries.delete(key);
    sweepAt = Math.max(1024, entries.size * 2);
  };
  return {
    claim(key, leaseSecs) {
      const now = clock();
      const state = liveState(entries.get(key), now);
      if (state !== undefined) return state;
      entries.set(key, { state: "in_progress", expiresAt: now + leaseSecs });
      if (entries.size >= sweepAt) sweep(now);
      return "new";
    },
    complete(key, ttlSecs) {
      entries.set(key, { state: "done", expiresAt: clock() + ttlSecs });
    },
    release(key) {
      if (entries.get(key)?.state === "in_progress") entries.delete(key);
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
    const { op, lease_secs: leaseSecs, ttl_secs: ttlSecs } = await request.json();
    // No await between reading and writing the entry but storage calls: the object's input
    // gate keeps other requests out, so claim is atomic.
    const now = Date.now();
    const entry = await this.storage.get("entry");
    const state = liveState(entry, now);
    if (op === "claim") {
      if (state !== undefined) return Response.json({ state });
      await this.keep({ state: "in_progress", expiresAt: now + leaseSecs * 1000 });
      return Response.json({ state: "new" });
    }
    if (op === "complete") {
      await this.keep({ state: "done", expiresAt: now + ttlSecs * 1000 });
      return Response.json({ state: "done" });
    }
    if (op === "release") {
      if (state !== "done") await this.storage.deleteAll();
      return Response.json({ state: state === "done" ? "done" : "new" });
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
    return (await response.json()).state;
  };
  return {
    claim: (key, leaseSecs) => send(key, { op: "claim", lease_secs: leaseSecs }),
    complete: async (key, ttlSecs) => {
      await send(key, { op: "complete", ttl_secs: ttlSecs });
    },
    release: async (key) => {
      await send(key, { op: "release" });
    },
  };
}
