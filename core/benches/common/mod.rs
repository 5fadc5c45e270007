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
    floor_parts(body)
}

/// [`floor`]'s parts: the tag and the parsed body.
pub fn floor_parts(body: &[u8]) -> (impl Sized, serde_json::Value) {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"a-webhook-secret").unwrap();
    mac.update(black_box(body));
    let tag = mac.finalize().into_bytes();
    let value: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
    (tag, value)
}
