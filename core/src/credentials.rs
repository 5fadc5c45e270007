//! Credentials the receiver configured for a provider. Several values per scheme are
//! accepted at once so that a secret can be rotated without dropping events.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use hmac::digest::KeyInit;
use hmac::Hmac;
use once_cell::race::OnceBox;
use serde::{Deserialize, Deserializer};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::provider::Provider;

/// A secret value. Its `Debug` never shows the bytes.
///
/// It also keeps its HMAC-SHA256 key schedule (the hashed inner and outer pads), computed on
/// first use: every later request an HMAC-SHA256 scheme verifies starts from a copy of it
/// instead of hashing the two pads again (two of the ten SHA-256 blocks of a 400-byte body).
/// Lazily, so that credentials parsed for one call and secrets of other schemes pay nothing.
pub struct Secret {
    bytes: Vec<u8>,
    hmac_sha256: OnceBox<Hmac<Sha256>>,
}

impl Secret {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Secret {
            bytes: value.into(),
            hmac_sha256: OnceBox::new(),
        }
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// A fresh HMAC-SHA256 keyed with this secret; `None` never happens (HMAC takes a key of
    /// any length), kept as the `hmac` crate's `Result` gives it.
    pub(crate) fn hmac_sha256(&self) -> Option<Hmac<Sha256>> {
        if let Some(keyed) = self.hmac_sha256.get() {
            return Some(keyed.clone());
        }
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes).ok()?;
        Some(self.hmac_sha256.get_or_init(|| Box::new(keyed)).clone())
    }
}

impl Clone for Secret {
    fn clone(&self) -> Self {
        Secret::new(self.bytes.clone())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Secret::new(s.into_bytes()))
    }
}

/// An Ed25519 public key (RFC 8032), configured as the standard base64 of its 32 raw bytes —
/// the form provider dashboards show (Telnyx Mission Control). Not secret, but kept out of
/// `Debug` like the secrets, so a log shows only how many keys are configured.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    base64: String,
    /// The point, decoded where the key is configured: decompressing it is ~48 k instructions,
    /// which every delivery paid twice (the credentials' check, then the verification) when the
    /// key was kept as text — a sixth of a Telnyx delivery's (callgrind).
    key: Option<ed25519_dalek::VerifyingKey>,
}

impl PublicKey {
    pub fn new(base64: impl Into<String>) -> Self {
        let base64 = base64.into();
        let key = decoded_key(&base64);
        PublicKey { base64, key }
    }

    /// The key, when it is the base64 of 32 bytes encoding a point on the curve of more than
    /// small order.
    pub(crate) fn verifying_key(&self) -> Option<&ed25519_dalek::VerifyingKey> {
        self.key.as_ref()
    }
}

fn decoded_key(base64: &str) -> Option<ed25519_dalek::VerifyingKey> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .ok()?;
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    // A key of small order verifies forged signatures under lax rules: no key at all.
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .ok()
        .filter(|key| !key.is_weak())
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey([REDACTED])")
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(PublicKey::new)
    }
}

/// A username/password pair for HTTP Basic.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicCredential {
    pub username: String,
    pub password: Secret,
}

impl fmt::Debug for BasicCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The username is not secret, but it is half of the credential: keep it out of logs too.
        f.write_str("BasicCredential([REDACTED])")
    }
}

/// Everything a receiver may configure. Each provider reads the schemes it uses:
///
/// | field           | used by                                                   |
/// |-----------------|-----------------------------------------------------------|
/// | `hmac_sha256`   | LimePhone `X-LimePhone-Signature`, GatewayAPI `Signature: v1=`, Lisoloo `X-Lisoloo-Signature` |
/// | `bearer`        | LimePhone `Authorization: Bearer`                          |
/// | `authorization` | LoopLookup's dashboard-configured `Authorization` value    |
/// | `basic`         | Lisoloo, DID reseller                                      |
/// | `jwt_hs256`     | GatewayAPI legacy `X-Gwapi-Signature` (HS256/384/512); Vonage Messages API Bearer JWT (signature secret) |
/// | `url_token`     | DID reseller and GatewayAPI `?token=` (parameter name: `url_token_param`) |
/// | `ed25519_public_key` | Telnyx `telnyx-signature-ed25519` (base64 of the 32-byte key; several for rotation) |
/// | `auth_token`    | Twilio `X-Twilio-Signature` (HMAC-SHA1 keyed with the account's Auth Token) |
/// | `shared_key`    | Twilio `X-Twilio-Signature` when `X-Twilio-Webhooks-Signature-Settings` names a shared key (public beta: a Webhooks Setting's SharedKey secret, HMAC-SHA256 or -SHA1) |
///
/// `signature_secret` is accepted in the JSON form as another name of `jwt_hs256` (Vonage
/// calls its HS256 secret the "signature secret").
///
/// Two forms: the fields above for one provider, or one such set per provider
/// (`{"gatewayapi": {...}, "lisoloo": {...}}`, [`Credentials::with_provider`]), in which each
/// provider reads only its own set. Provider detection needs the second form, so that a
/// secret configured for one provider can never verify a request read as another.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub hmac_sha256: Vec<Secret>,
    pub bearer: Vec<Secret>,
    pub authorization: Vec<Secret>,
    pub basic: Vec<BasicCredential>,
    pub jwt_hs256: Vec<Secret>,
    pub url_token: Vec<Secret>,
    pub url_token_param: Option<String>,
    pub ed25519_public_key: Vec<PublicKey>,
    pub auth_token: Vec<Secret>,
    pub shared_key: Vec<Secret>,
    /// Only settable through [`Credentials::insecure_skip_verification`] or the JSON key of
    /// the same name, so that skipping authentication is always spelled out.
    insecure_skip_verification: bool,
    /// The per-provider form: each provider's own set (never itself per-provider).
    per_provider: Vec<(Provider, Credentials)>,
    /// Why the JSON form is refused when a field was given as an empty list (`validate`).
    empty_list: Option<EmptyList>,
}

/// The JSON form's keys of one provider's set (`signature_secret` is Vonage's name for
/// `jwt_hs256`).
const SCHEME_KEYS: [&str; 12] = [
    "hmac_sha256",
    "bearer",
    "authorization",
    "basic",
    "jwt_hs256",
    "signature_secret",
    "url_token",
    "url_token_param",
    "ed25519_public_key",
    "auth_token",
    "shared_key",
    "insecure_skip_verification",
];

/// What a malformed JSON form is told: serde's message could quote a secret, so the accepted
/// keys are named instead.
const EXPECTED_FORM_REASON: &str = "expected an object with hmac_sha256, bearer, authorization, basic [{username, password}], jwt_hs256 (or signature_secret), url_token, url_token_param, ed25519_public_key, auth_token, shared_key or insecure_skip_verification, or one such object per provider name";
const EXPECTED_FORM: Error = Error::InvalidCredentials {
    reason: EXPECTED_FORM_REASON,
};

/// What a key that is neither a scheme's nor a provider's name is told: one of the receiver's
/// options given among its credentials, or an unknown (misspelled) key. Named by kind, not
/// quoted: the key came from the same configuration as the secrets.
const OPTION_AMONG_CREDENTIALS: &str = "an option (public_url, trust_forwarded_headers, max_body_bytes, lease_secs, dedupe_ttl_secs or store_deadline_ms) among the credentials: give it beside them, as the receiver's option";
const UNKNOWN_KEY: &str = "a key that is neither a scheme's (hmac_sha256, bearer, authorization, basic, jwt_hs256, signature_secret, url_token, url_token_param, ed25519_public_key, auth_token, shared_key, insecure_skip_verification) nor a provider's name (limephone, lisoloo, gatewayapi, looplookup, did_reseller, twilio, telnyx, vonage): check its spelling";
const BOTH_JWT_NAMES: &str = "jwt_hs256 and signature_secret name one field (signature_secret is Vonage's name for it): give one of them";
const SCHEMES_BESIDE_PROVIDERS: &str = "scheme keys beside provider names: give either one set of credentials or one set per provider name";
const OPTION_KEYS: [&str; 6] = [
    "public_url",
    "trust_forwarded_headers",
    "max_body_bytes",
    "lease_secs",
    "dedupe_ttl_secs",
    "store_deadline_ms",
];

/// The refusal of a key that is neither a scheme's nor (where `providers` allows) a provider's.
fn stray_key<'a>(
    mut keys: impl Iterator<Item = &'a String>,
    providers: bool,
) -> Option<&'static str> {
    let named = |key: &str| Provider::ALL.iter().any(|provider| provider.name() == key);
    let stray = |key: &&String| {
        let known = SCHEME_KEYS.contains(&key.as_str()) || (providers && named(key));
        !known
    };
    let first = keys.find(stray)?;
    Some(if OPTION_KEYS.contains(&first.as_str()) {
        OPTION_AMONG_CREDENTIALS
    } else {
        UNKNOWN_KEY
    })
}

/// Reads the JSON form: one provider's set when every key is a scheme's (so `{}` is nothing),
/// else one set per provider name. `Err` says what is wrong with it, naming keys by kind.
///
/// By hand rather than derived: the derive needs `#[serde(untagged)]` for the two forms and for
/// "one value or a list", which buffers every value into serde's `Content` and builds, then
/// drops, an error for each list given as a list. That code is most of what a JS runtime
/// compiles in `new Receiver` (63.6 KB of 60 functions, bench/PROFILE.md): its start-up time.
fn read_json_form(
    map: &serde_json::Map<String, serde_json::Value>,
) -> core::result::Result<Credentials, &'static str> {
    if map.keys().all(|key| SCHEME_KEYS.contains(&key.as_str())) {
        return read_one_provider(map);
    }
    if let Some(reason) = stray_key(map.keys(), true) {
        return Err(reason);
    }
    if map.keys().any(|key| SCHEME_KEYS.contains(&key.as_str())) {
        return Err(SCHEMES_BESIDE_PROVIDERS);
    }
    // In `Provider::ALL`'s order, as the derived reader's `BTreeMap<Provider, _>` gave them.
    let mut per_provider = Vec::new();
    for provider in Provider::ALL {
        if let Some(set) = map.get(provider.name()) {
            let set = set.as_object().ok_or(EXPECTED_FORM_REASON)?;
            per_provider.push((provider, read_one_provider(set)?));
        }
    }
    Ok(Credentials {
        per_provider,
        ..Credentials::default()
    })
}

/// Each list field and what a list given empty (`[]`) is told, in the order of the table on
/// `Credentials`: the first one given empty is the refusal.
const EMPTY_LIST_REASONS: [(&str, &str); 9] = [
    ("hmac_sha256", "hmac_sha256 is an empty list: expected a secret or a list of one or more (an unset variable split into a list?)"),
    ("bearer", "bearer is an empty list: expected a secret or a list of one or more (an unset variable split into a list?)"),
    ("authorization", "authorization is an empty list: expected a value or a list of one or more (an unset variable split into a list?)"),
    ("basic", "basic is an empty list: expected {username, password} or a list of one or more (an unset variable split into a list?)"),
    ("jwt_hs256", "jwt_hs256 (or signature_secret) is an empty list: expected a secret or a list of one or more (an unset variable split into a list?)"),
    ("url_token", "url_token is an empty list: expected a token or a list of one or more (an unset variable split into a list?)"),
    ("ed25519_public_key", "ed25519_public_key is an empty list: expected a key or a list of one or more (an unset variable split into a list?)"),
    ("auth_token", "auth_token is an empty list: expected a token or a list of one or more (an unset variable split into a list?)"),
    ("shared_key", "shared_key is an empty list: expected a key or a list of one or more (an unset variable split into a list?)"),
];

/// One provider's set: each key at most once (Vonage's `signature_secret` and `jwt_hs256` name
/// one field), no other key, each value of its field's type.
fn read_one_provider(
    map: &serde_json::Map<String, serde_json::Value>,
) -> core::result::Result<Credentials, &'static str> {
    if let Some(reason) = stray_key(map.keys(), false) {
        return Err(reason);
    }
    if map.contains_key("jwt_hs256") && map.contains_key("signature_secret") {
        return Err(BOTH_JWT_NAMES);
    }
    read_one_set(map).ok_or(EXPECTED_FORM_REASON)
}

/// [`read_one_provider`]'s values, once its keys are known to be a scheme's each.
fn read_one_set(map: &serde_json::Map<String, serde_json::Value>) -> Option<Credentials> {
    use serde_json::Value;
    // A field's values: one, or each of a list.
    let values = |key: &str| -> &[Value] {
        let value = match key {
            "jwt_hs256" => map.get(key).or_else(|| map.get("signature_secret")),
            _ => map.get(key),
        };
        match value {
            None => &[],
            Some(Value::Array(items)) => items,
            Some(one) => core::slice::from_ref(one),
        }
    };
    let mut credentials = Credentials {
        empty_list: EMPTY_LIST_REASONS.into_iter().find_map(|(key, reason)| {
            let empty = matches!(map.get(key), Some(Value::Array(items)) if items.is_empty())
                || (key == "jwt_hs256"
                    && matches!(map.get("signature_secret"), Some(Value::Array(items)) if items.is_empty()));
            empty.then_some(EmptyList(reason))
        }),
        ..Credentials::default()
    };
    let secrets = [
        ("hmac_sha256", &mut credentials.hmac_sha256),
        ("bearer", &mut credentials.bearer),
        ("authorization", &mut credentials.authorization),
        ("jwt_hs256", &mut credentials.jwt_hs256),
        ("url_token", &mut credentials.url_token),
        ("auth_token", &mut credentials.auth_token),
        ("shared_key", &mut credentials.shared_key),
    ];
    for (key, secrets) in secrets {
        for value in values(key) {
            secrets.push(Secret::new(value.as_str()?));
        }
    }
    for value in values("ed25519_public_key") {
        credentials
            .ed25519_public_key
            .push(PublicKey::new(value.as_str()?));
    }
    for value in values("basic") {
        let pair = value.as_object()?;
        let username = pair.get("username")?.as_str()?;
        let password = pair.get("password")?.as_str()?;
        if pair.len() != 2 {
            return None;
        }
        credentials.basic.push(BasicCredential {
            username: String::from(username),
            password: Secret::new(password),
        });
    }
    credentials.url_token_param = match map.get("url_token_param") {
        None | Some(Value::Null) => None,
        Some(name) => Some(String::from(name.as_str()?)),
    };
    credentials.insecure_skip_verification = match map.get("insecure_skip_verification") {
        None => false,
        Some(skip) => skip.as_bool()?,
    };
    Some(credentials)
}

/// The JSON form, as [`Credentials::from_json_value`] reads it but without its checks
/// (`validate`), as the derived reader this replaced did; a key repeated at any depth is
/// refused, as it did (a `serde_json::Value` keeps the last one, so `"insecure_skip_verification"`
/// given false then true would skip verification; found by review).
impl<'de> Deserialize<'de> for Credentials {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let UniqueKeys(value) = UniqueKeys::deserialize(deserializer)?;
        value
            .as_object()
            .and_then(|map| read_json_form(map).ok())
            .ok_or_else(|| serde::de::Error::custom("expected telhook's credentials JSON form"))
    }
}

/// A JSON value read from any serde format, refused when an object repeats a key.
struct UniqueKeys(serde_json::Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error as _, MapAccess, SeqAccess, Visitor};
        use serde_json::Value;
        struct Unique;
        impl<'de> Visitor<'de> for Unique {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, value: bool) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Bool(value)))
            }
            fn visit_i64<E>(self, value: i64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::from(value)))
            }
            fn visit_u64<E>(self, value: u64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::from(value)))
            }
            fn visit_f64<E>(self, value: f64) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::from(value)))
            }
            fn visit_str<E>(self, value: &str) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::String(String::from(value))))
            }
            fn visit_string<E>(self, value: String) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::String(value)))
            }
            fn visit_none<E>(self) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Null))
            }
            fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<UniqueKeys, D::Error> {
                UniqueKeys::deserialize(inner)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<UniqueKeys, A::Error> {
                let mut list = Vec::new();
                while let Some(UniqueKeys(item)) = items.next_element()? {
                    list.push(item);
                }
                Ok(UniqueKeys(Value::Array(list)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<UniqueKeys, A::Error> {
                let mut map = serde_json::Map::new();
                while let Some(key) = entries.next_key::<String>()? {
                    let UniqueKeys(value) = entries.next_value()?;
                    if map.insert(key, value).is_some() {
                        return Err(A::Error::custom("credentials: a key is repeated"));
                    }
                }
                Ok(UniqueKeys(Value::Object(map)))
            }
        }
        deserializer.deserialize_any(Unique)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.per_provider.is_empty() {
            let mut map = f.debug_map();
            for (provider, credentials) in &self.per_provider {
                map.entry(&provider.name(), credentials);
            }
            return map.finish();
        }
        // Counts only: how many of each are configured is useful when debugging rotation.
        f.debug_struct("Credentials")
            .field("hmac_sha256", &self.hmac_sha256.len())
            .field("bearer", &self.bearer.len())
            .field("authorization", &self.authorization.len())
            .field("basic", &self.basic.len())
            .field("jwt_hs256", &self.jwt_hs256.len())
            .field("url_token", &self.url_token.len())
            .field("ed25519_public_key", &self.ed25519_public_key.len())
            .field("auth_token", &self.auth_token.len())
            .field("shared_key", &self.shared_key.len())
            .field(
                "insecure_skip_verification",
                &self.insecure_skip_verification,
            )
            .finish()
    }
}

/// The refusal of a field given as `[]` .
#[derive(Clone, Copy, PartialEq, Eq)]
struct EmptyList(&'static str);

impl Credentials {
    /// No credentials. Verification fails with `missing_credentials` until some are added.
    pub fn none() -> Self {
        Self::default()
    }

    /// Accept every request without checking who sent it. Only for local experiments and
    /// tests; the name is long on purpose.
    pub fn insecure_skip_verification() -> Self {
        Credentials {
            insecure_skip_verification: true,
            ..Self::default()
        }
    }

    pub fn skips_verification(&self) -> bool {
        self.insecure_skip_verification
    }

    /// Adds `credentials` as `provider`'s own set, switching to the per-provider form (any
    /// scheme set directly on `self` is dropped: the two forms do not mix).
    pub fn with_provider(mut self, provider: Provider, credentials: Credentials) -> Self {
        if self.per_provider.is_empty() {
            self = Credentials::default();
        }
        self.per_provider.retain(|(p, _)| *p != provider);
        self.per_provider.push((provider, credentials));
        self
    }

    /// Whether this is the per-provider form.
    pub fn is_per_provider(&self) -> bool {
        !self.per_provider.is_empty()
    }

    /// The set `provider` reads: its own entry in the per-provider form, else `self`.
    /// `None` when the per-provider form has no entry for it.
    pub fn for_provider(&self, provider: Provider) -> Option<&Credentials> {
        if self.per_provider.is_empty() {
            return Some(self);
        }
        self.per_provider
            .iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, credentials)| credentials)
    }

    /// Every configured value as text, for [`crate::redact::Redactor`]: secrets, tokens,
    /// passwords and the `user:password` base64 a Basic header carries, of every provider.
    pub(crate) fn redaction_values(&self) -> Vec<Cow<'_, str>> {
        use base64::Engine as _;
        let mut values = Vec::new();
        let secrets = self
            .hmac_sha256
            .iter()
            .chain(&self.bearer)
            .chain(&self.authorization)
            .chain(&self.jwt_hs256)
            .chain(&self.url_token)
            .chain(&self.auth_token)
            .chain(&self.shared_key)
            .chain(self.basic.iter().map(|b| &b.password));
        for secret in secrets {
            if let Ok(text) = core::str::from_utf8(secret.expose()) {
                if !text.is_empty() {
                    values.push(Cow::Borrowed(text));
                }
            }
        }
        for pair in &self.basic {
            let mut joined = pair.username.clone().into_bytes();
            joined.push(b':');
            joined.extend_from_slice(pair.password.expose());
            values.push(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(joined),
            ));
        }
        for (_, credentials) in &self.per_provider {
            values.extend(credentials.redaction_values());
        }
        values
    }

    /// The configured `url_token_param` names (every provider's): the redaction rules treat a
    /// query parameter so named as a secret whatever its name, as verification does.
    pub(crate) fn url_token_params(&self) -> Vec<&str> {
        let mut params: Vec<&str> = self.url_token_param.as_deref().into_iter().collect();
        for (_, credentials) in &self.per_provider {
            params.extend(credentials.url_token_params());
        }
        params
    }

    fn has_any_scheme(&self) -> bool {
        !(self.hmac_sha256.is_empty()
            && self.bearer.is_empty()
            && self.authorization.is_empty()
            && self.basic.is_empty()
            && self.jwt_hs256.is_empty()
            && self.url_token.is_empty()
            && self.ed25519_public_key.is_empty()
            && self.auth_token.is_empty()
            && self.shared_key.is_empty())
    }

    /// Checks the credentials for a receiver of `provider` (`None`: detect it per request):
    /// [`Credentials::validate`], and detection only with the per-provider form — one pool
    /// shared by every provider would let a request signed for one be accepted as another.
    pub fn check_for(&self, provider: Option<Provider>) -> Result<()> {
        self.validate()?;
        if provider.is_none() && !self.is_per_provider() && self.has_any_scheme() {
            return Err(Error::InvalidCredentials {
                reason: "provider detection needs credentials per provider, e.g. {\"gatewayapi\": {...}, \"lisoloo\": {...}}",
            });
        }
        Ok(())
    }

    pub fn with_hmac_sha256(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_sha256.push(Secret::new(secret));
        self
    }
    pub fn with_bearer(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.bearer.push(Secret::new(token));
        self
    }
    pub fn with_authorization(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.authorization.push(Secret::new(value));
        self
    }
    pub fn with_basic(mut self, username: impl Into<String>, password: impl Into<Vec<u8>>) -> Self {
        self.basic.push(BasicCredential {
            username: username.into(),
            password: Secret::new(password),
        });
        self
    }
    pub fn with_jwt_hs256(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.jwt_hs256.push(Secret::new(secret));
        self
    }
    pub fn with_url_token(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.url_token.push(Secret::new(token));
        self
    }
    /// An Ed25519 public key as the standard base64 of its 32 bytes.
    pub fn with_ed25519_public_key(mut self, base64: impl Into<String>) -> Self {
        self.ed25519_public_key.push(PublicKey::new(base64));
        self
    }
    pub fn with_auth_token(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.auth_token.push(Secret::new(token));
        self
    }
    /// A Twilio Webhooks Setting's SharedKey secret (public beta): verifies the requests whose
    /// `X-Twilio-Webhooks-Signature-Settings` header says they were signed with a shared key.
    /// Several for rotation, like [`Credentials::with_auth_token`].
    pub fn with_shared_key(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.shared_key.push(Secret::new(secret));
        self
    }

    /// Parses the JSON form used by vectors, the CLI and the bindings.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self> {
        if value.is_null() {
            return Ok(Self::none());
        }
        let credentials = read_json_form(value.as_object().ok_or(EXPECTED_FORM)?)
            .map_err(|reason| Error::InvalidCredentials { reason })?;
        credentials.validate()?;
        Ok(credentials)
    }

    /// An empty secret would make every HMAC trivially forgeable by anyone who guesses
    /// that the receiver forgot to set it, and a blank one is an unset variable padded by a
    /// template: both are refused up front, naming the field (never the value).
    pub fn validate(&self) -> Result<()> {
        if let Some(EmptyList(reason)) = self.empty_list {
            return Err(Error::InvalidCredentials { reason });
        }
        for (_, credentials) in &self.per_provider {
            if credentials.is_per_provider() {
                return Err(Error::InvalidCredentials {
                    reason: "a provider's credentials cannot themselves be per provider",
                });
            }
            credentials.validate()?;
        }
        let blank = |secret: &Secret| secret.expose().iter().all(u8::is_ascii_whitespace);
        // A secret read with its line's end (`echo secret | base64`, a file or a `.env` value
        // read whole) fails every delivery, and Lisoloo drops every one it is refused: text
        // never starts or ends with whitespace in a provider's secret. Binary keys given through
        // Rust (not UTF-8) may hold any byte.
        let padded = |secret: &Secret| {
            let bytes = secret.expose();
            bytes.trim_ascii().len() != bytes.len() && core::str::from_utf8(bytes).is_ok()
        };
        // Each text secret with its two refusals (the reasons are static texts naming the field).
        let secrets: [(&[Secret], &'static str, &'static str); 7] = [
            (
                &self.hmac_sha256,
                "hmac_sha256 is empty or blank",
                "hmac_sha256 starts or ends with whitespace (a line's end read with it?)",
            ),
            (
                &self.bearer,
                "bearer is empty or blank",
                "bearer starts or ends with whitespace (a line's end read with it?)",
            ),
            (
                &self.authorization,
                "authorization is empty or blank",
                "authorization starts or ends with whitespace (a line's end read with it?)",
            ),
            (
                &self.jwt_hs256,
                "jwt_hs256 is empty or blank",
                "jwt_hs256 starts or ends with whitespace (a line's end read with it?)",
            ),
            (
                &self.url_token,
                "url_token is empty or blank",
                "url_token starts or ends with whitespace (a line's end read with it?)",
            ),
            (
                &self.auth_token,
                "auth_token is empty or blank",
                "auth_token starts or ends with whitespace (a line's end read with it?)",
            ),
            (
                &self.shared_key,
                "shared_key is empty or blank",
                "shared_key starts or ends with whitespace (a line's end read with it?)",
            ),
        ];
        for (values, blank_reason, padded_reason) in secrets {
            if values.iter().any(blank) {
                return Err(Error::InvalidCredentials {
                    reason: blank_reason,
                });
            }
            if values.iter().any(padded) {
                return Err(Error::InvalidCredentials {
                    reason: padded_reason,
                });
            }
        }
        // Compared with a header's value, which no line break or other control byte can be
        // part of: such a secret would fail every delivery (LimePhone drops the event after
        // its retries), so it is refused where it is configured.
        let unsendable = |secret: &Secret| {
            secret
                .expose()
                .iter()
                .any(|b| b.is_ascii_control() && *b != b'\t')
        };
        if self.bearer.iter().any(unsendable) {
            return Err(Error::InvalidCredentials {
                reason: "bearer holds a control character (a line break?) that no header can carry",
            });
        }
        if self.authorization.iter().any(unsendable) {
            return Err(Error::InvalidCredentials {
                reason: "authorization holds a control character (a line break?) that no header can carry",
            });
        }
        // The token is what follows `Bearer ` in the header: one pasted with that word never
        // matches.
        let prefixed = |secret: &Secret| {
            secret
                .expose()
                .get(..7)
                .is_some_and(|head| head.eq_ignore_ascii_case(b"bearer "))
        };
        if self.bearer.iter().any(prefixed) {
            return Err(Error::InvalidCredentials {
                reason: "bearer: expected the token alone, without the \"Bearer \" of its header",
            });
        }
        // A key that is no key would fail every delivery as a forgery: refused where it is
        // configured instead.
        if self
            .ed25519_public_key
            .iter()
            .any(|key| key.verifying_key().is_none())
        {
            return Err(Error::InvalidCredentials {
                reason:
                    "ed25519_public_key must be the standard base64 of a 32-byte Ed25519 public key (a curve point, not of small order)",
            });
        }
        if self.basic.iter().any(|b| blank(&b.password)) {
            return Err(Error::InvalidCredentials {
                reason: "basic.password is empty or blank",
            });
        }
        if self.basic.iter().any(|b| padded(&b.password)) {
            return Err(Error::InvalidCredentials {
                reason:
                    "basic.password starts or ends with whitespace (a line's end read with it?)",
            });
        }
        if self.basic.iter().any(|b| b.username.trim().is_empty()) {
            return Err(Error::InvalidCredentials {
                reason: "basic.username is empty or blank",
            });
        }
        if self.basic.iter().any(|b| b.username.trim() != b.username) {
            return Err(Error::InvalidCredentials {
                reason:
                    "basic.username starts or ends with whitespace (a line's end read with it?)",
            });
        }
        // RFC 7617: the user-id cannot contain a colon (the first one separates the password),
        // so such a username could never match: refuse it where it is configured.
        if self.basic.iter().any(|b| b.username.contains(':')) {
            return Err(Error::InvalidCredentials {
                reason: "basic.username must not contain ':' (RFC 7617)",
            });
        }
        // The query parameter the token is read from: an unset variable (empty) or one read
        // with its line's end names no parameter a provider sends, and every genuine delivery
        // (the DID reseller's, which is never retried) would be refused as unauthenticated.
        let name_byte =
            |b: u8| b.is_ascii_graphic() && !matches!(b, b'&' | b'=' | b'#' | b'?' | b'+' | b'%');
        if let Some(name) = &self.url_token_param {
            if name.is_empty() || !name.bytes().all(name_byte) {
                return Err(Error::InvalidCredentials {
                    reason: "url_token_param: expected a query parameter's name such as \"token\" (no whitespace, & = # ? + or %; a line's end read with it?)",
                });
            }
        }
        Ok(())
    }
}
