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
pub fn did_reseller_minimum(body: &[u8]) -> (serde_json::Value, String) {
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

/// [`did_reseller_minimum`] and the record's second copy: the least work that gives the event
/// as telhook's Rust API returns it, an owned `NormalizedEvent` whose `record.data` (schema v1)
/// holds the record beside `raw.data`. What a type sharing one tree would save is the difference.
// Used by ratio.rs only.
#[allow(dead_code)]
pub fn did_reseller_minimum_owned(body: &[u8]) -> impl Sized {
    let (value, key) = did_reseller_minimum(body);
    let copy = value["data"].clone();
    (value, key, copy)
}

/// The floors of the providers added after the five above, each what a receiver written by hand
/// for that one provider does at the least, with the crates telhook uses: its signature check as
/// the provider's SDK does it, and the body read into a `Value`. Each takes the vector's request
/// and its secret, and returns what it read; a request its check refuses panics (a bench
/// payload is signed). bench/callgrind.py counts them on conformance vectors that come from the
/// providers' SDKs and docs.
#[allow(dead_code)]
pub mod newer_floors {
    use std::hint::black_box;

    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use sha2::{Digest as _, Sha256};
    use telhook_core::WebhookRequest;

    fn header<'a>(request: &'a WebhookRequest, name: &str) -> &'a str {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    /// twilio-python's `RequestValidator.validate`: the URL, then each form parameter's name and
    /// value in the order of the names, HMAC-SHA1 with the Auth Token, base64; the form read
    /// into an object of its parameters.
    pub fn twilio(request: &WebhookRequest, auth_token: &[u8]) -> impl Sized {
        let body = black_box(&request.body[..]);
        let mut params: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        params.sort();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token).unwrap();
        mac.update(request.url.as_deref().unwrap().as_bytes());
        for (name, value) in &params {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(expected, header(request, "X-Twilio-Signature"));
        let object: serde_json::Map<String, serde_json::Value> = params
            .into_iter()
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect();
        object
    }

    /// Telnyx's SDKs: Ed25519 over `timestamp|body` with the configured public key (decoded once,
    /// where the receiver is configured: `key`), then the body parsed.
    pub fn telnyx(request: &WebhookRequest, key: &ed25519_dalek::VerifyingKey) -> impl Sized {
        let body = black_box(&request.body[..]);
        let signature = base64::engine::general_purpose::STANDARD
            .decode(header(request, "telnyx-signature-ed25519"))
            .unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        let mut signed = header(request, "telnyx-timestamp").as_bytes().to_vec();
        signed.push(b'|');
        signed.extend_from_slice(body);
        key.verify_strict(&signed, &signature).unwrap();
        serde_json::from_slice::<serde_json::Value>(body).unwrap()
    }

    /// Vonage's signed webhooks: the Bearer JWT's HS256 signature checked with the signature
    /// secret, its claims parsed, their `payload_hash` compared with the SHA-256 of the body, and
    /// the body parsed.
    pub fn vonage(request: &WebhookRequest, secret: &[u8]) -> impl Sized {
        let body = black_box(&request.body[..]);
        let token = header(request, "Authorization")
            .strip_prefix("Bearer ")
            .unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let claims = signed.split_once('.').unwrap().1;
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(signed.as_bytes());
        mac.verify_slice(&url.decode(signature).unwrap()).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&url.decode(claims).unwrap()).unwrap();
        assert_eq!(
            claims["payload_hash"].as_str().unwrap(),
            hex::encode(Sha256::digest(body))
        );
        serde_json::from_slice::<serde_json::Value>(body).unwrap()
    }
}
