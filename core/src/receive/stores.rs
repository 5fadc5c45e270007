//! What every runtime's dedupe stores share, defined once: the name an event id is stored
//! under, and the Redis scripts (Python's `RedisStore`/`AsyncRedisStore` and Node's
//! `redisStore` run these texts, so a Python and a Node receiver on one Redis dedupe each
//! other's deliveries).
//!
//! A stored key holds `in_progress:<token>` while a delivery owns its claim, then `done`.
//! Claim takes the key if free (SET NX EX), else reports what holds it; the key already
//! holding this delivery's own claim is "new" (a client sends a command again after a socket
//! timeout, and the first may have landed: answered "in progress", the delivery held itself
//! off for the whole lease). Complete and release act only while the key still holds this
//! delivery's claim (a late call never touches a newer one); a complete of a key that is gone
//! (its lease ran out while the handler ran, and nobody took it since) marks it done: the
//! handler did run, and a redelivery must be a duplicate. Each script is safe to run twice,
//! even after the first ran, so a client may send it again on a new connection.

use alloc::borrow::Cow;
use alloc::string::String;
use sha2::{Digest, Sha256};

/// The prefix of every key telhook writes in a shared key space (Redis, a cache).
pub const KEY_PREFIX: &str = "telhook:";

/// The longest event id stored as it is; longer ones are hashed (memcached refuses keys over
/// 250 bytes, and the database stores' column holds 255 characters).
pub const MAX_PLAIN_KEY: usize = 200;

/// The name an event id is stored under: the id itself when it is at most [`MAX_PLAIN_KEY`]
/// bytes of printable ASCII without spaces (memcached's rules), else `sha256:` and the hex of
/// its SHA-256 (event ids come from the provider).
pub fn storage_key(event_id: &str) -> Cow<'_, str> {
    if event_id.len() <= MAX_PLAIN_KEY && event_id.bytes().all(|byte| (b'!'..=b'~').contains(&byte))
    {
        return Cow::Borrowed(event_id);
    }
    let mut name = String::from("sha256:");
    name.push_str(&hex::encode(Sha256::digest(event_id.as_bytes())));
    Cow::Owned(name)
}

/// Claim. KEYS: the stored key; ARGV: the delivery's token, the lease in seconds. Returns
/// `new`, `done` or `in_progress`.
pub const REDIS_CLAIM: &str = "
local held = 'in_progress:' .. ARGV[1]
if redis.call('SET', KEYS[1], held, 'NX', 'EX', ARGV[2]) then return 'new' end
local state = redis.call('GET', KEYS[1])
if state == 'done' then return 'done' end
if state == held then return 'new' end
return 'in_progress'
";

/// Complete. KEYS: the stored key; ARGV: the delivery's token, the done mark's TTL in seconds.
pub const REDIS_COMPLETE: &str = "
local state = redis.call('GET', KEYS[1])
if state == 'in_progress:' .. ARGV[1] or state == false then return redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2]) end
return false
";

/// Release. KEYS: the stored key; ARGV: the delivery's token.
pub const REDIS_RELEASE: &str = "
if redis.call('GET', KEYS[1]) == 'in_progress:' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// The texts above as one JSON-serializable value for bindings (`api` entry `dedupe_stores`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StoreTexts {
    pub key_prefix: &'static str,
    pub redis_claim: &'static str,
    pub redis_complete: &'static str,
    pub redis_release: &'static str,
}

pub const STORE_TEXTS: StoreTexts = StoreTexts {
    key_prefix: KEY_PREFIX,
    redis_claim: REDIS_CLAIM,
    redis_complete: REDIS_COMPLETE,
    redis_release: REDIS_RELEASE,
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn short_printable_ids_are_kept_and_the_rest_hashed() {
        for id in [
            "SM1234",
            "lisoloo:9f2c",
            "a!~",
            "",
            &"x".repeat(MAX_PLAIN_KEY),
        ] {
            assert!(
                matches!(storage_key(id), Cow::Borrowed(kept) if kept == id),
                "{id}"
            );
        }
        // sha256("a b"), as `printf %s 'a b' | sha256sum` gives it.
        assert_eq!(
            storage_key("a b"),
            "sha256:c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65"
        );
        for id in [
            "x".repeat(MAX_PLAIN_KEY + 1),
            "tab\there".to_string(),
            "é".to_string(),
            "nul\0".to_string(),
            "del\x7f".to_string(),
        ] {
            let name = storage_key(&id);
            assert!(
                name.starts_with("sha256:") && name.len() == 7 + 64,
                "{id:?}"
            );
        }
    }
}
