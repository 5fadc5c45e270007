//! Shared pieces of the fuzz targets: a structured request, and valid credentials for it so
//! that half of the inputs get past verification and exercise the parsers.

use arbitrary::Arbitrary;
use telhook_core::verify::jwt;
use telhook_core::{Credentials, Error, Provider, WebhookRequest};

pub const SECRET: &str = "fuzz-SECRET-value-8c1d";

#[derive(Arbitrary, Debug)]
pub struct FuzzRequest {
    /// When true, valid credentials for the body are added, so parsing is reached.
    pub authentic: bool,
    pub method_is_post: bool,
    pub headers: Vec<(String, String)>,
    pub url_query: Option<String>,
    pub now: i64,
    pub max_body_bytes: Option<u16>,
    /// Last, so that it takes the rest of the input: seeds that are real bodies stay bodies.
    pub body: Vec<u8>,
}

/// A value for every scheme, so every provider's authentication can be passed. Ed25519 takes
/// a public key the test kit can sign for (an RFC 8032 test key).
pub fn credentials() -> Credentials {
    Credentials::none()
        .with_hmac_sha256(SECRET)
        .with_bearer(SECRET)
        .with_authorization(SECRET)
        .with_basic("fuzz", SECRET)
        .with_jwt_hs256(SECRET)
        .with_url_token(SECRET)
        .with_ed25519_public_key(telhook_core::kit::ED25519_TEST_KEYS[0].1)
        .with_auth_token(SECRET)
        .with_shared_key(SECRET)
}

pub fn request_for(provider: Provider, input: &FuzzRequest) -> WebhookRequest {
    let mut headers = input.headers.clone();
    let mut url = input.url_query.as_ref().map(|q| format!("/hook?{q}"));
    if input.authentic {
        // The test kit signs as the provider does (every provider, from the registry); a body a
        // scheme cannot carry (a JWT needs a JSON object) goes unsigned.
        let signed = telhook_core::sign::sign(provider, &input.body, &credentials(), input.now, None);
        if let Ok(signed) = signed {
            headers.extend(signed.headers.into_iter().filter(|(name, _)| name != "Content-Type"));
            if let Some(query) = signed.url.as_deref().and_then(|u| u.split_once('?')).map(|(_, q)| q) {
                url = Some(format!("/hook?{query}"));
            }
        }
    }
    let method = if input.method_is_post { "POST" } else { "PUT" };
    WebhookRequest { method: method.into(), url, headers, body: input.body.clone().into() }
}

/// The invariants every run checks besides "no panic".
pub fn check(result: &Result<telhook_core::NormalizedEvent, Error>) {
    match result {
        Ok(event) => {
            let json = serde_json::to_string(event).unwrap_or_default();
            assert!(!json.contains(SECRET), "an event leaked the secret");
            // An address starting with `+` is E.164; short codes and alphanumeric senders are
            // kept as sent (phone::message_address).
            for number in [&event.from, &event.to].into_iter().flatten().filter(|n| n.starts_with('+')) {
                assert_eq!(telhook_core::phone::to_e164(number, None).as_deref(), Some(number.as_str()));
            }
        }
        Err(error) => {
            let text = format!("{error} {error:?}");
            assert!(!text.contains(SECRET), "an error leaked the secret: {text}");
            assert!(!error.code().is_empty());
        }
    }
}

pub fn run(provider: Provider, input: &FuzzRequest) {
    let request = request_for(provider, input);
    let mut options = telhook_core::Options::default();
    if let Some(limit) = input.max_body_bytes {
        options.max_body_bytes = usize::from(limit);
    }
    let result = telhook_core::normalize_event_with(Some(provider), &request, &credentials(), input.now, &options);
    check(&result);
    // Deterministic: the same input gives the same output.
    let again = telhook_core::normalize_event_with(Some(provider), &request, &credentials(), input.now, &options);
    assert_eq!(result, again);
}

pub fn jwt_for(claims: &serde_json::Value) -> String {
    jwt::sign(SECRET.as_bytes(), claims)
}
