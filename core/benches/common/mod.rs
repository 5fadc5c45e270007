//! What the Rust benches share: the bench payloads, how one is loaded, and the floor.

use std::hint::black_box;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use telhook_core::{Credentials, Provider, WebhookRequest};

/// bench/payloads/, in the order the report lists them.
pub const PAYLOADS: [&str; 6] = [
    "limephone",
    "lisoloo",
    "gatewayapi",
    "looplookup",
    "did_reseller",
    "limephone_64k",
];

/// A bench payload (`name` under bench/payloads/, without `.json`): provider, signed request,
/// credentials and the clock it was signed for.
pub fn load(name: &str) -> (Provider, WebhookRequest, Credentials, i64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bench/payloads")
        .join(format!("{name}.json"));
    let payload: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let provider = Provider::from_json(&payload["provider"]).unwrap().unwrap();
    let request = WebhookRequest::from_json_value(payload["request"].clone()).unwrap();
    let credentials = Credentials::from_json_value(payload["credentials"].clone()).unwrap();
    (
        provider,
        request,
        credentials,
        payload["now"].as_i64().unwrap(),
    )
}

/// The floor telhook is compared with: HMAC-SHA256 of the body + `serde_json::from_slice::<Value>`.
pub fn floor(body: &[u8]) -> impl Sized {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"a-webhook-secret").unwrap();
    mac.update(black_box(body));
    let tag = mac.finalize().into_bytes();
    let value: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
    (tag, value)
}

/// What a DID reseller event costs at the least, whoever writes it: the body parsed, the record
/// inside `data` parsed (a second JSON document in a string), and the SHA-256 of the body that
/// is its idempotency key (the reseller sends no id). No HMAC: the reseller signs nothing (its
/// URL token is one comparison). Not the record's second copy: schema v1 carries the record in
/// `record.data` and `raw.data`, and telhook's `NormalizedEvent` owns both (a clone), but a
/// type that shared one tree would not pay it, so it is no floor. The goals for this
/// payload (2.5x wall-clock, 1.3x instructions) are measured against the floor above.
// Used by ratio.rs and examples/profile.rs (callgrind), not by normalize.rs.
#[allow(dead_code)]
pub fn did_reseller_minimum(body: &[u8]) -> impl Sized {
    use sha2::Digest as _;
    // The cheapest parse serde_json offers a UTF-8 body: checked once, then read as text (as
    // telhook's own `json_from_bytes` does), not checked again string by string.
    let text = core::str::from_utf8(black_box(body)).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(value["data"].as_str().unwrap_or("{}")).unwrap();
    let key = hex::encode(Sha256::digest(black_box(body)));
    value["data"] = record;
    (value, key)
}
