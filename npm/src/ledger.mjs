// The message status ledger in Cloudflare Workers: a Durable Object (one object per message id)
// and a D1 variant. The merge rule itself is the core's (ledgerApply / the core's SQL text).
import { ledgerApply, ledgerStores, ledgerUpdate } from "./api.mjs";
import { TelhookError, telhookErrorOf } from "./internal.mjs";

const APPLY_URL = "https://telhook.ledger/apply";

/**
 * Durable Object class: bind it in wrangler.toml and re-export it from the Worker
 * (`export { MessageStatusLedger } from "telhook"`). One object per (provider, message id);
 * inside it, one stored state per recipient.
 *
 * Why the read-apply-write below is race-free: a Durable Object runs one request at a time
 * between awaits, and its input gate delivers no other request while a storage read is in
 * flight; nothing else is awaited between `get` and `put`, so reports of one message are
 * applied strictly one after the other. The output gate holds the reply until `put` is durable.
 */
export class MessageStatusLedger {
  constructor(ctx, _env) {
    this.storage = ctx.storage;
  }

  async fetch(request) {
    try {
      return Response.json(await this.apply(await request.json()));
    } catch (error) {
      if (!(error instanceof TelhookError)) throw error;
      return Response.json({ code: error.code, message: error.message, kind: error.kind }, { status: 400 });
    }
  }

  /** `{verdict, state}` for a normalized status event. */
  async apply(event) {
    const update = ledgerUpdate(event);
    const key = JSON.stringify([update.provider, update.message_id, update.recipient]);
    const stored = await this.storage.get(key);
    const result = ledgerApply(stored ?? null, event);
    this.storage.put(key, result.state);
    return result;
  }
}

/** The Durable Object of the message an event reports on. */
export function ledgerObject(namespace, event) {
  const update = ledgerUpdate(event);
  return namespace.get(namespace.idFromName(`${update.provider}:${update.message_id}`));
}

/** Applies a status event in its message's Durable Object; `{verdict, state}`. */
export async function applyStatus(namespace, event) {
  const response = await ledgerObject(namespace, event).fetch(APPLY_URL, { method: "POST", body: JSON.stringify(event) });
  const body = await response.json();
  if (!response.ok) throw telhookErrorOf(JSON.stringify(body));
  return body;
}

/**
 * The ledger on D1 (SQLite): one `INSERT … ON CONFLICT DO UPDATE … WHERE`-style statement per
 * report, the core's text, so the database only ever raises a message's status.
 * `await ledger.migrate()` creates the table `telhook_message_status` if it is missing.
 */
export function d1Ledger(db) {
  const texts = ledgerStores();
  return {
    async migrate() {
      await db.prepare(texts.sqlite_schema).run();
    },
    async apply(event) {
      const update = ledgerUpdate(event);
      const values = {
        ...update,
        recipient: update.recipient ?? "",
        error: update.error === null ? null : JSON.stringify(update.error),
      };
      const args = texts.params.map((name) => (typeof values[name] === "boolean" ? Number(values[name]) : values[name]));
      const row = await db.prepare(texts.sqlite_upsert).bind(...args).first();
      return {
        verdict: row.last_verdict,
        state: {
          provider: update.provider,
          message_id: update.message_id,
          recipient: update.recipient,
          status: row.status,
          rank: row.rank,
          final: Boolean(row.is_final),
          error: row.error === null ? null : JSON.parse(row.error),
          seen: JSON.parse(row.seen),
          parts: row.parts,
          delivered_parts: JSON.parse(row.delivered_parts),
        },
      };
    },
  };
}
