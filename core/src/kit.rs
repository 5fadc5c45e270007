//! What a provider's file uses to describe its sending side (the test kit): the
//! authentication schemes, the writers that sign a request with the configured credentials,
//! the event kinds it can sample and their ids. The dispatch over providers stays in
//! `sign.rs` and `sample.rs`, which depend on `providers/`; `providers/` depends only on this
//! module, so the two never import each other (`core/tests/module_graph.rs`).
//! Secret bytes are read here and in `verify/` only.

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::credentials::{Credentials, PublicKey, Secret};
use crate::error::{Error, Result};
use crate::event::EventType;
use crate::provider::Provider;
use crate::request::WebhookRequest;

/// An authentication scheme, named like the [`Credentials`] field that configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// An HMAC-SHA256 of the body in a header (LimePhone, Lisoloo's announced signature,
    /// GatewayAPI `Signature: v1=`).
    HmacSha256,
    /// `Authorization: Bearer <token>` (LimePhone).
    Bearer,
    /// A whole `Authorization` value configured in the provider's dashboard (LoopLookup).
    Authorization,
    /// HTTP Basic (Lisoloo, DID reseller).
    Basic,
    /// An HS256 JWT carrying the payload (GatewayAPI legacy `X-Gwapi-Signature`).
    JwtHs256,
    /// A secret query parameter (DID reseller).
    UrlToken,
    /// An Ed25519 signature checked with the provider's public key (Telnyx).
    Ed25519PublicKey,
    /// An HMAC-SHA1 of the URL and the form parameters, keyed with the account's Auth Token
    /// (Twilio `X-Twilio-Signature`).
    AuthToken,
    /// The same string MAC'd with a Webhooks Setting's shared key, HMAC-SHA256, named in
    /// `X-Twilio-Webhooks-Signature-Settings` (Twilio's public beta).
    SharedKey,
}

impl Scheme {
    pub const ALL: [Scheme; 9] = [
        Scheme::HmacSha256,
        Scheme::Bearer,
        Scheme::Authorization,
        Scheme::Basic,
        Scheme::JwtHs256,
        Scheme::UrlToken,
        Scheme::Ed25519PublicKey,
        Scheme::AuthToken,
        Scheme::SharedKey,
    ];

    /// The stable name (the credentials field), used by every binding and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::HmacSha256 => "hmac_sha256",
            Scheme::Bearer => "bearer",
            Scheme::Authorization => "authorization",
            Scheme::Basic => "basic",
            Scheme::JwtHs256 => "jwt_hs256",
            Scheme::UrlToken => "url_token",
            Scheme::Ed25519PublicKey => "ed25519_public_key",
            Scheme::AuthToken => "auth_token",
            Scheme::SharedKey => "shared_key",
        }
    }

    pub fn from_name(name: &str) -> Result<Scheme> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.name() == name.trim())
            .ok_or_else(|| Error::InvalidRequest {
                reason: "scheme: expected hmac_sha256, bearer, authorization, basic, jwt_hs256, url_token, ed25519_public_key, auth_token or shared_key".to_owned(),
            })
    }

    /// Whether the scheme binds the body, so that a changed body fails verification. Static
    /// tokens (Bearer, Basic, Authorization, URL token) only say who sent the request.
    pub fn protects_body(self) -> bool {
        matches!(
            self,
            Scheme::HmacSha256
                | Scheme::JwtHs256
                | Scheme::Ed25519PublicKey
                | Scheme::AuthToken
                | Scheme::SharedKey
        )
    }

    /// Why one flat set of credentials holding this scheme is refused for a provider that does
    /// not read it (`providers::check_only_its_schemes`); it opens with the field's name, which
    /// the bindings give as the error's field.
    pub(crate) fn not_read(self) -> &'static str {
        match self {
            Scheme::HmacSha256 => "hmac_sha256 is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::Bearer => "bearer is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::Authorization => "authorization is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::Basic => "basic is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::JwtHs256 => "jwt_hs256 is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::UrlToken => "url_token is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::Ed25519PublicKey => "ed25519_public_key is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::AuthToken => "auth_token is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
            Scheme::SharedKey => "shared_key is another provider's scheme: give each provider its own credentials, {\"<provider>\": {...}}",
        }
    }

    /// Whether the configured credentials hold a value for this scheme.
    pub fn is_configured(self, credentials: &Credentials) -> bool {
        match self {
            Scheme::HmacSha256 => !credentials.hmac_sha256.is_empty(),
            Scheme::Bearer => !credentials.bearer.is_empty(),
            Scheme::Authorization => !credentials.authorization.is_empty(),
            Scheme::Basic => !credentials.basic.is_empty(),
            Scheme::JwtHs256 => !credentials.jwt_hs256.is_empty(),
            Scheme::UrlToken => !credentials.url_token.is_empty(),
            Scheme::Ed25519PublicKey => !credentials.ed25519_public_key.is_empty(),
            Scheme::AuthToken => !credentials.auth_token.is_empty(),
            Scheme::SharedKey => !credentials.shared_key.is_empty(),
        }
    }
}

/// One event kind a provider sends, in the provider's words, and the type it normalizes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SampleKind {
    pub name: &'static str,
    pub event_type: EventType,
}

impl SampleKind {
    pub(crate) const fn new(name: &'static str, event_type: EventType) -> Self {
        SampleKind { name, event_type }
    }
}

/// A UUID-shaped id (version 4 layout) derived from `label` and `serial`: unique per pair,
/// reproducible, and shaped like the ids the providers send.
pub(crate) fn uuid_like(label: &str, serial: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update(serial.to_be_bytes());
    let digest = hex::encode(hasher.finalize());
    let part = |from: usize, to: usize| digest.get(from..to).unwrap_or_default();
    alloc::format!(
        "{}-{}-4{}-a{}-{}",
        part(0, 8),
        part(8, 12),
        part(13, 16),
        part(17, 20),
        part(20, 32)
    )
}

/// The first configured value of a list, or `missing_credentials` for `provider`.
pub(crate) fn first<T>(values: &[T], provider: Provider) -> Result<&T> {
    values.first().ok_or(Error::MissingCredentials {
        provider: provider.name(),
    })
}

/// Adds `name: <lowercase hex HMAC-SHA256 of the body>` with the first configured secret.
pub(crate) fn add_hmac_hex_header(
    request: &mut WebhookRequest,
    credentials: &Credentials,
    provider: Provider,
    name: &str,
    prefix: &str,
) -> Result<()> {
    let secret = first(&credentials.hmac_sha256, provider)?;
    let signature = crate::verify::hmac::sign_hex(secret.expose(), &request.body);
    add_header(request, name, alloc::format!("{prefix}{signature}"));
    Ok(())
}

/// Adds `Authorization: Basic …` with the first configured pair.
pub(crate) fn add_basic(
    request: &mut WebhookRequest,
    credentials: &Credentials,
    provider: Provider,
) -> Result<()> {
    let pair = first(&credentials.basic, provider)?;
    let password = text(&pair.password)?;
    let value = crate::verify::basic::header_value(&pair.username, password);
    add_header(request, "Authorization", value);
    Ok(())
}

/// Percent-encodes all but RFC 3986's unreserved characters, so a token reads as it was
/// configured wherever that is possible.
const URL_UNRESERVED_KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends the first URL token as `?<param>=<token>` (the configured parameter name, else
/// `default_param`).
pub(crate) fn add_url_token(
    request: &mut WebhookRequest,
    credentials: &Credentials,
    provider: Provider,
    default_param: &str,
) -> Result<()> {
    let token = text(first(&credentials.url_token, provider)?)?;
    let param = credentials
        .url_token_param
        .as_deref()
        .unwrap_or(default_param);
    let encode =
        |text: &str| percent_encoding::utf8_percent_encode(text, URL_UNRESERVED_KEPT).to_string();
    let path = request.url.as_deref().unwrap_or("/");
    let separator = if path.contains('?') { '&' } else { '?' };
    request.url = Some(alloc::format!(
        "{path}{separator}{}={}",
        encode(param),
        encode(token)
    ));
    Ok(())
}

pub(crate) fn add_header(request: &mut WebhookRequest, name: &str, value: String) {
    request.headers.push((name.to_owned(), value));
}

/// A secret that travels in a header or URL must be text.
pub(crate) fn text(secret: &Secret) -> Result<&str> {
    core::str::from_utf8(secret.expose()).map_err(|_| Error::InvalidCredentials {
        reason: "a token or password sent in a header or URL must be UTF-8 text",
    })
}

/// Standard base64 of the HMAC-SHA1 of `parts` with `secret` (Twilio).
pub(crate) fn hmac_sha1_base64(secret: &Secret, parts: &[&[u8]]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(crate::verify::hmac::sha1(secret.expose(), parts))
}

/// Standard base64 of the HMAC-SHA256 of `parts` in turn (Twilio's shared-key signature).
pub(crate) fn hmac_sha256_base64(secret: &Secret, parts: &[&[u8]]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(crate::verify::hmac::sha256_parts(secret.expose(), parts))
}

/// An HS256 JWT of `claims` with `secret`.
pub(crate) fn jwt(secret: &Secret, claims: &serde_json::Value) -> String {
    crate::verify::jwt::sign(secret.expose(), claims)
}

/// **Test-only** Ed25519 key pairs, every one with a published private key — never configure
/// one of these for real traffic: the five of RFC 8032 section 7.1 (TEST 1, 2, 3, 1024 and
/// SHA(abc)), then the test key pairs of the official Telnyx SDKs (telnyx-php
/// `tests/Services/WebhooksTest.php`, telnyx-java `WebhookVerificationTest.kt`), so the kit
/// reproduces the SDK-derived vectors. The test kit signs for an Ed25519 provider (Telnyx)
/// only when the receiver's first configured public key is one of these; a provider's real
/// private key never leaves the provider. `(private seed, public key as standard base64)`.
pub const ED25519_TEST_KEYS: [(&str, &str); 7] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "/FHNjmIYoaONpH7QAjDwWAgW7RO6MwOsXeuRFUiQgCU=",
    ),
    (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "J4EX/BRMcjQPZ9DyMW6Dhs7/vyskKMnFH+98WX8dQm4=",
    ),
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "7Bcrk61eVjv0kyxw4SRQNMNUZ+8u/U1k6/gZaDRn4r8=",
    ),
    (
        "a7af063690e5f68010a210622b4304385223c67a059f3d2e186789ab14393d26",
        "+7E99DXiiQXvceNX4nHm3Lbm5mqPWad5RhDr2ufuCik=",
    ),
    (
        "8b5c714a422e40e63d1fc95a691b252286064c9d4dc01005763b10c22c091f4e",
        "jrMBoswHlhhVx2W2Www72WU/xn4UMpjreslD0m2u0qs=",
    ),
];

/// The private seed of a test key whose public key is `key`.
fn ed25519_test_seed(key: &PublicKey) -> Option<[u8; 32]> {
    let wanted = key.verifying_key()?.to_bytes();
    ED25519_TEST_KEYS.iter().find_map(|(seed, _)| {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(seed, &mut bytes).ok()?;
        (crate::verify::ed25519::public_key_of(&bytes) == wanted).then_some(bytes)
    })
}

/// The standard base64 Ed25519 signature of `message` with the test key whose public key is
/// the first configured one ([`ED25519_TEST_KEYS`]).
pub(crate) fn ed25519_signature(
    credentials: &Credentials,
    provider: Provider,
    message: &[u8],
) -> Result<String> {
    let key = first(&credentials.ed25519_public_key, provider)?;
    let seed = ed25519_test_seed(key).ok_or(Error::InvalidCredentials {
        reason: "the test kit signs Ed25519 only for the RFC 8032 test keys (telhook_core::kit::ED25519_TEST_KEYS, test-only): configure one of their public keys",
    })?;
    Ok(crate::verify::ed25519::sign_base64(&seed, message))
}

/// Public keys a forger would sign with: test keys the receiver did not configure, one per
/// configured key.
pub(crate) fn unconfigured_ed25519_keys(configured: &[PublicKey]) -> alloc::vec::Vec<PublicKey> {
    let configured: alloc::vec::Vec<[u8; 32]> = configured
        .iter()
        .filter_map(|key| Some(key.verifying_key()?.to_bytes()))
        .collect();
    ED25519_TEST_KEYS
        .iter()
        .map(|(_, public)| PublicKey::new(*public))
        .filter(|key| {
            key.verifying_key()
                .is_some_and(|k| !configured.contains(&k.to_bytes()))
        })
        .take(configured.len().max(1))
        .collect()
}

/// Lowercase hex of a keyed digest of `message` with `secret` (Vonage SMS API `sig`).
pub(crate) fn keyed_hex(
    algorithm: crate::verify::digest::Algorithm,
    secret: &Secret,
    message: &[u8],
) -> String {
    hex::encode(crate::verify::digest::digest(
        algorithm,
        secret.expose(),
        message,
    ))
}
