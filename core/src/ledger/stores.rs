//! The ledger's write for each store, as one statement or script: [`super::apply`] expressed in
//! SQL (SQLite/D1 and PostgreSQL) and Redis Lua, so that the store itself serializes concurrent
//! reports. Written once here; the Django, Redis and D1 adapters run these texts unchanged.
//!
//! Every text takes the fields of a [`super::StatusUpdate`], named in [`PARAMS`] (SQLite/D1:
//! `?1`…`?14` in that order; PostgreSQL: `%(name)s`; Lua: `ARGV[1]`…`ARGV[14]`, texts, booleans
//! as `1`/`0`, `error` as JSON text or empty). SQL ones return the row with the verdict that
//! the same statement computed from the row it replaced — no read before the write.

/// The update fields every store text takes, in positional order.
pub const PARAMS: [&str; 14] = [
    "provider",
    "message_id",
    "recipient",
    "status",
    "rank",
    "final",
    "error",
    "at",
    "parts",
    "delivered_part",
    "event_id",
    "partial_status",
    "partial_rank",
    "partial_final",
];

/// The table (SQLite/D1 DDL; the Django model creates the same columns). `recipient` is `''`
/// when the provider reports none, so that it can be part of the key.
pub const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS telhook_message_status (
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  rank INTEGER NOT NULL,
  is_final INTEGER NOT NULL,
  error TEXT,
  seen TEXT NOT NULL,
  parts INTEGER NOT NULL,
  delivered_parts TEXT NOT NULL,
  last_verdict TEXT NOT NULL,
  PRIMARY KEY (provider, message_id, recipient)
)";

// The pieces of the SQLite rule, spelled once and pasted where the statement needs them (SET
// expressions all read the row as it was before the statement).
macro_rules! sqlite_parts {
    () => {
        "max(parts, ?9)"
    };
}
macro_rules! sqlite_delivered_parts {
    () => {
        concat!(
            "(CASE WHEN ?10 AND (SELECT count(*) FROM json_each(delivered_parts)) < ",
            sqlite_parts!(),
            " THEN json_patch(delivered_parts, json_object(?11, ?8)) ELSE delivered_parts END)"
        )
    };
}
macro_rules! sqlite_complete {
    () => {
        concat!(
            "(NOT ?10 OR (SELECT count(*) FROM json_each(",
            sqlite_delivered_parts!(),
            ")) >= ",
            sqlite_parts!(),
            ")"
        )
    };
}
macro_rules! sqlite_wins {
    () => {
        concat!(
            "((CASE WHEN ",
            sqlite_complete!(),
            " THEN ?5 ELSE ?13 END) > rank)"
        )
    };
}

/// SQLite (and D1): insert the first report or raise the stored one, in one statement.
pub const SQLITE_UPSERT: &str = concat!(
    "INSERT INTO telhook_message_status ",
    "(provider, message_id, recipient, status, rank, is_final, error, seen, parts, delivered_parts, last_verdict) ",
    "VALUES (?1, ?2, ?3, CASE WHEN ?10 THEN ?12 ELSE ?4 END, CASE WHEN ?10 THEN ?13 ELSE ?5 END, ",
    "CASE WHEN ?10 THEN ?14 ELSE ?6 END, CASE WHEN ?10 THEN NULL ELSE ?7 END, json_object(?4, ?8), ?9, ",
    "CASE WHEN ?10 THEN json_object(?11, ?8) ELSE '{}' END, 'applied') ",
    "ON CONFLICT (provider, message_id, recipient) DO UPDATE SET ",
    "status = CASE WHEN ", sqlite_wins!(), " THEN (CASE WHEN ", sqlite_complete!(), " THEN ?4 ELSE ?12 END) ELSE status END, ",
    "rank = CASE WHEN ", sqlite_wins!(), " THEN (CASE WHEN ", sqlite_complete!(), " THEN ?5 ELSE ?13 END) ELSE rank END, ",
    "is_final = CASE WHEN ", sqlite_wins!(), " THEN (CASE WHEN ", sqlite_complete!(), " THEN ?6 ELSE ?14 END) ELSE is_final END, ",
    "error = CASE WHEN ", sqlite_wins!(), " THEN (CASE WHEN ", sqlite_complete!(), " THEN ?7 ELSE NULL END) ELSE error END, ",
    "seen = json_patch(seen, json_object(?4, min(coalesce(json_extract(seen, '$.' || ?4), ?8), ?8))), ",
    "parts = ", sqlite_parts!(), ", ",
    "delivered_parts = ", sqlite_delivered_parts!(), ", ",
    "last_verdict = CASE WHEN ", sqlite_wins!(), " THEN 'applied' WHEN is_final THEN 'after_final' ELSE 'stale' END ",
    "RETURNING status, rank, is_final, error, seen, parts, delivered_parts, last_verdict"
);

macro_rules! pg_parts {
    () => {
        "GREATEST(t.parts, %(parts)s)"
    };
}
macro_rules! pg_delivered_parts {
    () => {
        concat!(
            "(CASE WHEN %(delivered_part)s AND (SELECT count(*) FROM jsonb_object_keys(t.delivered_parts)) < ",
            pg_parts!(),
            " THEN t.delivered_parts || jsonb_build_object(%(event_id)s::text, %(at)s::text) ELSE t.delivered_parts END)"
        )
    };
}
macro_rules! pg_complete {
    () => {
        concat!(
            "(NOT %(delivered_part)s OR (SELECT count(*) FROM jsonb_object_keys(",
            pg_delivered_parts!(),
            ")) >= ",
            pg_parts!(),
            ")"
        )
    };
}
macro_rules! pg_wins {
    () => {
        concat!(
            "((CASE WHEN ",
            pg_complete!(),
            " THEN %(rank)s ELSE %(partial_rank)s END) > t.rank)"
        )
    };
}

/// PostgreSQL: the same statement. `INSERT … ON CONFLICT DO UPDATE` locks the row and reads
/// its latest committed version, so concurrent reports are applied one after the other.
/// Times compare byte-wise (`COLLATE "C"`), as in every other store.
pub const POSTGRES_UPSERT: &str = concat!(
    "INSERT INTO telhook_message_status AS t ",
    "(provider, message_id, recipient, status, rank, is_final, error, seen, parts, delivered_parts, last_verdict) ",
    "VALUES (%(provider)s, %(message_id)s, %(recipient)s, ",
    "CASE WHEN %(delivered_part)s THEN %(partial_status)s ELSE %(status)s END, ",
    "CASE WHEN %(delivered_part)s THEN %(partial_rank)s ELSE %(rank)s END, ",
    "CASE WHEN %(delivered_part)s THEN %(partial_final)s ELSE %(final)s END, ",
    "CASE WHEN %(delivered_part)s THEN NULL ELSE %(error)s::jsonb END, ",
    "jsonb_build_object(%(status)s::text, %(at)s::text), %(parts)s, ",
    "CASE WHEN %(delivered_part)s THEN jsonb_build_object(%(event_id)s::text, %(at)s::text) ELSE '{}'::jsonb END, 'applied') ",
    "ON CONFLICT (provider, message_id, recipient) DO UPDATE SET ",
    "status = CASE WHEN ", pg_wins!(), " THEN (CASE WHEN ", pg_complete!(), " THEN %(status)s ELSE %(partial_status)s END) ELSE t.status END, ",
    "rank = CASE WHEN ", pg_wins!(), " THEN (CASE WHEN ", pg_complete!(), " THEN %(rank)s ELSE %(partial_rank)s END) ELSE t.rank END, ",
    "is_final = CASE WHEN ", pg_wins!(), " THEN (CASE WHEN ", pg_complete!(), " THEN %(final)s ELSE %(partial_final)s END) ELSE t.is_final END, ",
    "error = CASE WHEN ", pg_wins!(), " THEN (CASE WHEN ", pg_complete!(), " THEN %(error)s::jsonb ELSE NULL END) ELSE t.error END, ",
    "seen = t.seen || jsonb_build_object(%(status)s::text, ",
    "LEAST(COALESCE(t.seen->>%(status)s::text, %(at)s::text) COLLATE \"C\", %(at)s::text COLLATE \"C\")), ",
    "parts = ", pg_parts!(), ", ",
    "delivered_parts = ", pg_delivered_parts!(), ", ",
    "last_verdict = CASE WHEN ", pg_wins!(), " THEN 'applied' WHEN t.is_final THEN 'after_final' ELSE 'stale' END ",
    "RETURNING status, rank, is_final, error, seen, parts, delivered_parts, last_verdict"
);

/// Redis: one script (Redis runs it atomically). KEYS: the message's hash (`status`, `rank`,
/// `final`, `error`, `parts`), its `seen` hash (status → earliest time) and its delivered-parts
/// hash (event id → time). Returns `{verdict, status, rank, final, error, parts, seen pairs,
/// delivered part pairs}`: the whole state as the script left it.
pub const REDIS_SCRIPT: &str = r"
local status, rank, final, err, at = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local parts, delivered_part, event_id = tonumber(ARGV[9]), ARGV[10] == '1', ARGV[11]
local earliest = redis.call('HGET', KEYS[2], status)
if (not earliest) or at < earliest then redis.call('HSET', KEYS[2], status, at) end
local stored_parts = tonumber(redis.call('HGET', KEYS[1], 'parts') or '1')
if parts < stored_parts then parts = stored_parts end
redis.call('HSET', KEYS[1], 'parts', parts)
if delivered_part then
  if redis.call('HLEN', KEYS[3]) < parts then redis.call('HSETNX', KEYS[3], event_id, at) end
  if redis.call('HLEN', KEYS[3]) < parts then
    status, rank, final, err = ARGV[12], tonumber(ARGV[13]), ARGV[14], ''
  end
end
local stored_rank = redis.call('HGET', KEYS[1], 'rank')
local verdict
if (not stored_rank) or rank > tonumber(stored_rank) then
  redis.call('HSET', KEYS[1], 'status', status, 'rank', rank, 'final', final, 'error', err)
  verdict = 'applied'
elseif redis.call('HGET', KEYS[1], 'final') == '1' then
  verdict = 'after_final'
else
  verdict = 'stale'
end
local row = redis.call('HMGET', KEYS[1], 'status', 'rank', 'final', 'error', 'parts')
return {verdict, row[1], row[2], row[3], row[4], row[5],
  redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
";

/// Every store text with its parameter names, as one JSON-serializable value for bindings.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StoreTexts {
    pub params: [&'static str; 14],
    pub sqlite_schema: &'static str,
    pub sqlite_upsert: &'static str,
    pub postgres_upsert: &'static str,
    pub redis_script: &'static str,
}

pub const STORE_TEXTS: StoreTexts = StoreTexts {
    params: PARAMS,
    sqlite_schema: SQLITE_SCHEMA,
    sqlite_upsert: SQLITE_UPSERT,
    postgres_upsert: POSTGRES_UPSERT,
    redis_script: REDIS_SCRIPT,
};
