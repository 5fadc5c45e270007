//! One file per provider. Each `providers/<name>.rs` declares everything about its provider
//! in one `pub(crate) const SPEC: Spec` — detection, authentication, its typed payload,
//! normalization, retry schedule and the sending side used by the test kit — and this module
//! holds the generic pipeline that reads the specs.
//!
//! # Adding a provider
//!
//! 1. Write `providers/<name>.rs` (copy the smallest one, `looplookup.rs`): the payload
//!    struct(s) with `pub type Body = …` naming the top-level one, `verify`, `normalize`, the
//!    samples, and `pub(crate) const SPEC: Spec`.
//! 2. Add one line, `<name> <Variant>,` to the registry in `provider.rs` (`each_provider!`).
//!
//! Everything else — the `Provider` enum and its names, the `mod` declaration, the `Payload`
//! variant, detection, signing and sampling — is generated from that line or reads the spec.
//! Then `make vocabularies` regenerates the language types and `make vectors` the vectors.

use alloc::string::{String, ToString};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{EventType, NormalizedEvent, SCHEMA_VERSION};
use crate::kit::{SampleKind, Scheme};
pub use crate::provider::Provider;
use crate::provider::RetrySchedule;
use crate::redact::{PreparedValues, Redactor};
use crate::request::{MethodSet, WebhookRequest};

/// Everything the generic code knows about one provider, declared in its file as `SPEC`.
pub(crate) struct Spec {
    /// How it redelivers; `retry.rs` derives horizon, dedupe TTL and lease from this.
    pub retry: RetrySchedule,
    /// Checks a request with the provider's own credentials, on the raw body (`now` for
    /// schemes that carry a timestamp).
    pub verify: fn(&WebhookRequest, &Credentials, i64) -> Result<()>,
    /// True when the request carries a header only this provider sends.
    pub named_by_headers: fn(&HeaderNames<'_>) -> bool,
    /// True when a JSON body has this provider's shape.
    pub body_matches: fn(&BodyKeys<'_>) -> bool,
    /// The typed payload of a (redacted) body.
    #[cfg(feature = "inspect")]
    pub parse: fn(&Value) -> Result<Payload>,
    /// The event of a verified, redacted body (`raw`), read into the typed payload.
    pub normalize: fn(Value, &Context<'_>) -> Result<NormalizedEvent>,
    /// How many parts the message an event reports on has, each reported apart under the
    /// message's id (the ledger marks it delivered once every part is). Every provider today
    /// reports a status of the message as a whole, or gives each part an id of its own:
    /// [`defaults::one_part`] (a review: Twilio's `NumSegments`, Lisoloo's `data.segments` and the
    /// Vonage SMS API's `concat-total` read as parts kept a delivered long message `sent`).
    pub message_parts: fn(&Value) -> u32,
    /// Authentication schemes, in the order [`Spec::sign`] applies them; a flat set of
    /// credentials holding any other is refused for this provider ([`check_only_its_schemes`]).
    pub schemes: &'static [Scheme],
    /// A `User-Agent` every delivery carries, if the provider sends a fixed one.
    pub user_agent: Option<&'static str>,
    /// Adds one scheme's credentials to a request (the test kit's sending side).
    #[cfg(feature = "kit")]
    pub sign: fn(Scheme, &mut WebhookRequest, &Credentials, i64) -> Result<()>,
    /// Signs a request whose signed timestamp has passed; false when nothing the provider
    /// signs (with these credentials) can expire.
    #[cfg(feature = "kit")]
    pub sign_expired: fn(&mut WebhookRequest, &Credentials, i64) -> Result<bool>,
    /// The event kinds it can sample; the first is the default.
    #[cfg(feature = "kit")]
    pub sample_kinds: &'static [SampleKind],
    /// The body template of a sample kind.
    #[cfg(feature = "kit")]
    pub sample: fn(&str) -> Option<Value>,
    /// Turns a merged sample into the form the provider sends (the DID reseller's JSON string).
    #[cfg(feature = "kit")]
    pub encode_sample: fn(&mut Value),
    /// Overrides that give a sample its own id and message number.
    #[cfg(feature = "kit")]
    pub identity: fn(&str, u64) -> Value,
    /// Keys whose values its payloads hold as sensitive account data, redacted besides the
    /// generic secret names of [`crate::redact::REDACTED_KEYS`] (any case or `_`/`-` style).
    pub redacted_keys: &'static [&'static str],
    /// A top-level field whose value is a JSON object sent as text (the DID reseller's
    /// `data`): decoded once, before redaction, instead of parsed by redaction and again by
    /// `normalize` ([`Redactor::redact_decoding`]).
    pub json_text_field: Option<&'static str>,
    /// Two status events of one message, the later first: `(kind, field, value)` each.
    pub out_of_order: Option<[(&'static str, &'static str, &'static str); 2]>,
    /// The HTTP methods it delivers with (upper case; the 405's `Allow`).
    pub methods: &'static [&'static str],
    /// The payload a request carries, as JSON: its JSON body, or its form parameters.
    pub decode: fn(&WebhookRequest) -> Result<Value>,
    /// The JSON text the credentials authenticated, when it is not the body: the event is
    /// read from it and a key derived from it (GatewayAPI's legacy JWT signs its claims, and
    /// a body may repeat only part of them). `None` where the signature covers the body.
    /// Called by [`verify_validated`] after `verify` passed, with the same credentials.
    pub signed_apart: fn(&WebhookRequest, &Credentials) -> Option<alloc::vec::Vec<u8>>,
}

/// What a `SPEC` names for the behaviour most providers do not have.
pub(crate) mod defaults {
    use super::*;
    use alloc::borrow::Cow;

    /// A recording's status callback or a transcription's callback in Twilio's form fields
    /// (Telnyx's TeXML copies them): its kind (`recording`, `transcription`), its sid and its
    /// status. Such a callback names its call but is no change of it.
    pub fn recording_callback<'a>(
        fields: &mut crate::fields::Fields<'a>,
    ) -> Option<(&'static str, String, Option<&'a str>)> {
        match (fields.id("TranscriptionSid"), fields.id("RecordingSid")) {
            (Some(sid), _) => Some(("transcription", sid, fields.text("TranscriptionStatus"))),
            (None, Some(sid)) if fields.has("RecordingStatus") => {
                Some(("recording", sid, fields.text("RecordingStatus")))
            }
            _ => None,
        }
    }

    /// Form parameters as an object: each name once, a repeated one as the list of its values.
    pub fn form_object(form: &[u8]) -> Value {
        let mut object = Map::new();
        for (name, value) in form_pairs(form) {
            let value = Value::String(value.into_owned());
            match object.get_mut(name.as_ref()) {
                Some(Value::Array(values)) => values.push(value),
                Some(first) => {
                    let first = core::mem::take(first);
                    object.insert(name.into_owned(), Value::Array(alloc::vec![first, value]));
                }
                None => {
                    object.insert(name.into_owned(), value);
                }
            }
        }
        Value::Object(object)
    }

    /// A form's `(name, value)` pairs, decoded as `form_urlencoded::parse` decodes them (a test
    /// compares the two). Its decoding walks every byte through an iterator, checks the text as
    /// UTF-8 a character at a time (`from_utf8_lossy`) and copies a component with a `+` before
    /// it knows whether the component has a `%`: a Twilio delivery decoded its ~480-byte form
    /// twice (the signature's parameters, the event's) for 67.6 k of its 137 k instructions
    /// (callgrind). Here a component without `+` or `%` (most: ids, numbers, statuses) is found
    /// so in one pass and borrowed, and UTF-8 is checked by `str::from_utf8`. (Not memchr: on
    /// components of a few dozen bytes its setup cost more than the scan.)
    pub fn form_pairs(form: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        undecoded_pairs(form).map(|(name, value)| (form_component(name), form_component(value)))
    }

    /// A form's non-empty `name=value` pairs, split at the first `=`, still encoded.
    fn undecoded_pairs(form: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
        form.split(|&byte| byte == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.iter().position(|&byte| byte == b'=') {
                Some(at) => {
                    let (name, value) = pair.split_at(at);
                    (name, value.get(1..).unwrap_or_default())
                }
                None => (pair, &[][..]),
            })
    }

    fn form_component(bytes: &[u8]) -> Cow<'_, str> {
        if !is_escaped(bytes) {
            return match core::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            };
        }
        match String::from_utf8(unescaped(bytes)) {
            Ok(text) => Cow::Owned(text),
            Err(error) => Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
        }
    }

    fn is_escaped(bytes: &[u8]) -> bool {
        bytes.iter().any(|&byte| byte == b'+' || byte == b'%')
    }

    /// `+` as a space, then percent-decoding.
    fn unescaped(bytes: &[u8]) -> alloc::vec::Vec<u8> {
        let spaced: alloc::vec::Vec<u8> = bytes
            .iter()
            .map(|&byte| if byte == b'+' { b' ' } else { byte })
            .collect();
        percent_encoding::percent_decode(&spaced).collect()
    }

    /// The parameter names of a form, as `form_urlencoded::parse` decodes them (`+` as a space,
    /// then percent-decoding), but as bytes and without decoding the values: a provider that
    /// only asks which names a form has (Vonage's `sig`, on every other provider's form in the
    /// replay defence) spent 18.6 k instructions of a 151 k Twilio delivery decoding the values
    /// and checking each as UTF-8 (callgrind). A name that is no UTF-8 cannot equal an ASCII
    /// word under either decoding, so comparing bytes answers as comparing the lossy text does.
    pub fn form_names(form: &[u8]) -> impl Iterator<Item = Cow<'_, [u8]>> {
        undecoded_pairs(form).map(|(name, _)| {
            if is_escaped(name) {
                Cow::Owned(unescaped(name))
            } else {
                Cow::Borrowed(name)
            }
        })
    }

    /// The provider sends no header of its own.
    pub fn named_by_no_header(_: &HeaderNames<'_>) -> bool {
        false
    }
    /// Every message is one part.
    pub fn one_part(_: &Value) -> u32 {
        1
    }
    /// Nothing signed can expire.
    pub fn cannot_expire(_: &mut WebhookRequest, _: &Credentials, _: i64) -> Result<bool> {
        Ok(false)
    }
    /// The sample is sent as merged.
    pub fn sent_as_is(_: &mut Value) {}
    /// Delivered with POST only.
    pub const POST_ONLY: &[&str] = &["POST"];
    /// The body is the JSON payload (any JSON document: a verified body that is not an
    /// object is still an event, `other`).
    pub fn json_body(request: &WebhookRequest) -> Result<Value> {
        json_of(&request.body)
    }

    pub fn json_of(bytes: &[u8]) -> Result<Value> {
        crate::json_read::from_bytes(bytes).map_err(|e| Error::from_json_syntax(&e))
    }

    /// For a provider whose credentials authenticate the body (or the URL) itself.
    pub fn body_signed(_: &WebhookRequest, _: &Credentials) -> Option<alloc::vec::Vec<u8>> {
        None
    }
}

macro_rules! declare_providers {
    ($($module:ident $variant:ident,)*) => {
        $(pub mod $module;)*

        /// A provider's payload, parsed into its typed form (unknown fields kept in `extra`).
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Payload {
            $($variant($module::Body),)*
        }

        /// The spec `provider`'s file declares.
        pub(crate) fn spec(provider: Provider) -> &'static Spec {
            match provider {
                $(Provider::$variant => &$module::SPEC,)*
            }
        }
    };
}
crate::provider::each_provider!(declare_providers);

/// Checks the request's credentials for `provider`, on the raw body, before any parsing.
pub fn verify(
    provider: Provider,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<()> {
    credentials.validate()?;
    verify_validated(provider, request, credentials, now).map(|_| ())
}

/// What a verified request's credentials authenticated when it is not the body
/// ([`Spec::signed_apart`]): the JSON text [`normalize`] reads the event from.
pub(crate) type SignedApart = Option<alloc::vec::Vec<u8>>;

/// [`verify`] with credentials already validated (by the caller's preflight: once a request,
/// not twice). Returns what it authenticated apart from the body, found with the same
/// credentials that verified, so that the event is read from nothing else.
pub(crate) fn verify_validated(
    provider: Provider,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<SignedApart> {
    let credentials = credentials
        .for_provider(provider)
        .ok_or(Error::MissingCredentials {
            provider: provider.name(),
        })?;
    if credentials.skips_verification() {
        return Ok(None);
    }
    let spec = spec(provider);
    (spec.verify)(request, credentials, now)?;
    Ok((spec.signed_apart)(request, credentials))
}

/// The retry schedule `provider`'s file declares.
pub(crate) fn retry_schedule(provider: Provider) -> &'static RetrySchedule {
    &spec(provider).retry
}

/// Parses a body into the provider's typed payload (no verification), secrets redacted by
/// the key, URL and nested-JSON rules of [`crate::redact`].
#[cfg(feature = "inspect")]
pub fn parse(provider: Provider, body: &[u8]) -> Result<Payload> {
    let spec = spec(provider);
    let mut value = (spec.decode)(&WebhookRequest::post(alloc::vec::Vec::new(), body))?;
    if !value.is_object() {
        return Err(Error::invalid_payload("the body must be a JSON object"));
    }
    Redactor::without_credentials()
        .with_keys(spec.redacted_keys)
        .redact(&mut value);
    (spec.parse)(&value)
}

/// Parses and normalizes an already-verified body.
/// Redaction comes first, so every field of the event is read from the redacted payload.
pub(crate) fn normalize(
    provider: Provider,
    request: &WebhookRequest,
    received_at: String,
    credentials: &Credentials,
    prepared: Option<&PreparedValues>,
    signed_apart: SignedApart,
) -> Result<NormalizedEvent> {
    let mut raw = match &signed_apart {
        Some(json) => defaults::json_of(json)?,
        None => (spec(provider).decode)(request)?,
    };
    check_body_agrees(provider, &raw)?;
    let redactor = match prepared {
        Some(prepared) => Redactor::prepared(credentials, prepared),
        None => Redactor::new(credentials),
    }
    .with_keys(spec(provider).redacted_keys);
    match spec(provider).json_text_field {
        Some(field) => redactor.redact_decoding(&mut raw, field),
        None => redactor.redact(&mut raw),
    };
    let context = Context {
        provider,
        body: signed_apart.as_deref().unwrap_or(&request.body),
        headers: &request.headers,
        received_at,
    };
    let mut event = (spec(provider).normalize)(raw, &context)?;
    // A message with nothing written is no text, whoever sends it how: Twilio's `Body=` (a
    // WhatsApp location, a media-only message), Telnyx's and Vonage's `"text": ""` (a review).
    if let Some(message) = event.message.as_mut() {
        if message.text.as_deref() == Some("") {
            message.text = None;
        }
    }
    crate::event::canonicalize_numbers(&mut event.raw);
    Ok(event)
}

/// The methods `provider` delivers with; with no provider (detection), POST and the methods
/// of every provider `credentials` configures (per provider), so that a GET is only ever
/// accepted for a provider that sends one.
pub(crate) fn methods(provider: Option<Provider>, credentials: &Credentials) -> MethodSet {
    match provider {
        Some(provider) => MethodSet::of(spec(provider).methods),
        None => {
            let mut set = MethodSet::of(defaults::POST_ONLY);
            if credentials.is_per_provider() {
                for provider in Provider::ALL {
                    if credentials.for_provider(provider).is_some() {
                        set.add(spec(provider).methods);
                    }
                }
            }
            set
        }
    }
}

/// The methods any delivery may use before its credentials and provider are known (the
/// receive machine's first look at a request head): `provider`'s, or with detection those of
/// every registered provider — the detected provider's own are checked once it is known
/// ([`methods`]), so a GET is still only accepted for a provider that sends one.
pub(crate) fn methods_before_detection(provider: Option<Provider>) -> MethodSet {
    match provider {
        Some(provider) => MethodSet::of(spec(provider).methods),
        None => {
            let mut set = MethodSet::of(defaults::POST_ONLY);
            for provider in Provider::ALL {
                set.add(spec(provider).methods);
            }
            set
        }
    }
}

/// How many parts the message an event reports on has (1 unless the provider says more).
pub(crate) fn message_parts(provider: Provider, raw: &Value) -> u32 {
    (spec(provider).message_parts)(raw)
}

/// Picks the provider a request was sent by. The headers may name one (a provider's own
/// authentication header, or LoopLookup's User-Agent) and the body's shape may name one; when
/// both do they must agree, and neither may name two. So a body is only ever read as one
/// provider — a request verified for one provider cannot be replayed as another (whose
/// idempotency key would differ) by swapping its headers.
/// Detection only chooses the parser: the detected provider's credentials are still required.
/// A body sent gzipped is read inflated (under [`crate::DEFAULT_MAX_BODY_BYTES`]), as
/// [`crate::normalize_event`] reads it.
pub fn detect_provider(request: &WebhookRequest) -> Result<Provider> {
    match crate::body_encoding::inflated_body(request, crate::DEFAULT_MAX_BODY_BYTES)? {
        Some(body) => detect_provider_by(request, &body),
        None => detect_provider_by(request, &request.body),
    }
}

/// [`detect_provider`] of `request`'s headers and `body`, the body as it is to be read.
pub(crate) fn detect_provider_by(request: &WebhookRequest, body: &[u8]) -> Result<Provider> {
    let by_headers = provider_named_by_headers(request)?;
    let by_body = match crate::json_read::from_bytes::<Value>(body) {
        Ok(Value::Object(body)) => provider_named_by_body(&body)?,
        _ => None,
    };
    let chosen = by_headers.or(by_body).ok_or(Error::ProviderNotDetected)?;
    agree(chosen, by_body)?;
    Ok(chosen)
}

/// A flat set of credentials for a named provider may only hold schemes that provider reads.
/// Verification requires every configured scheme the provider reads, so one set pooled for
/// several providers (LimePhone's `hmac_sha256` beside Lisoloo's `basic`) can refuse every
/// genuine delivery as unsigned (Lisoloo drops an event on the first 4xx), or let one
/// provider's secret pass another's delivery. When it holds none of the provider's own
/// schemes, verification names what is missing instead (`missing_credentials`).
pub(crate) fn check_only_its_schemes(provider: Provider, credentials: &Credentials) -> Result<()> {
    let its_own = spec(provider).schemes;
    let mut configured = Scheme::ALL
        .into_iter()
        .filter(|scheme| scheme.is_configured(credentials));
    if !configured.clone().any(|scheme| its_own.contains(&scheme)) {
        return Ok(());
    }
    match configured.find(|scheme| !its_own.contains(scheme)) {
        Some(other) => Err(Error::InvalidCredentials {
            reason: other.not_read(),
        }),
        None => Ok(()),
    }
}

/// For a request read as `provider`: the headers must not name another provider.
pub(crate) fn check_headers_agree(provider: Provider, request: &WebhookRequest) -> Result<()> {
    agree(provider, provider_named_by_headers(request)?)
}

/// For a body read as `provider`: its shape must not be another provider's.
fn check_body_agrees(provider: Provider, body: &Value) -> Result<()> {
    match body {
        Value::Object(body) => agree(provider, provider_named_by_body(body)?),
        _ => Ok(()),
    }
}

fn agree(chosen: Provider, named: Option<Provider>) -> Result<()> {
    match named {
        Some(other) if other != chosen => Err(Error::AmbiguousProvider {
            reason: "its headers or body belong to another provider than the one it is read as",
        }),
        _ => Ok(()),
    }
}

/// The one provider whose headers the request carries, if any; two is an error.
fn provider_named_by_headers(request: &WebhookRequest) -> Result<Option<Provider>> {
    let headers = HeaderNames::new(request);
    let named = Provider::ALL
        .into_iter()
        .filter(|p| (spec(*p).named_by_headers)(&headers));
    at_most_one(
        named,
        "it carries the authentication headers of more than one provider",
    )
}

/// The one provider whose body shape this is, if any; two is an error.
fn provider_named_by_body(body: &Map<String, Value>) -> Result<Option<Provider>> {
    let keys = BodyKeys::new(body);
    let named = Provider::ALL
        .into_iter()
        .filter(|p| (spec(*p).body_matches)(&keys));
    at_most_one(named, "its body has the shape of more than one provider")
}

/// A JSON body's top-level keys, as the providers' shape rules ask about them. Every provider's
/// rule asks for a few keys of every body, and most are absent; a lookup in the body's map
/// compares the key with several of its keys. Here a key whose length or first byte no key of
/// the body has is known absent at once (callgrind: the shape rules of all providers, 2.5 k
/// instructions of a LimePhone call before).
pub(crate) struct BodyKeys<'a> {
    map: &'a Map<String, Value>,
    /// Bit `n` set when a key is `n` bytes long (63 for longer ones).
    lengths: u64,
    /// Bit `b % 64` set when a key starts with the byte `b`.
    initials: u64,
}

impl<'a> BodyKeys<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        let (mut lengths, mut initials) = (0, 0);
        for key in map.keys() {
            let (length, initial) = Self::bits(key);
            lengths |= length;
            initials |= initial;
        }
        BodyKeys {
            map,
            lengths,
            initials,
        }
    }

    fn bits(key: &str) -> (u64, u64) {
        let length = 1 << key.len().min(63);
        let initial = 1 << (key.bytes().next().unwrap_or(0) % 64);
        (length, initial)
    }

    fn may_have(&self, key: &str) -> bool {
        let (length, initial) = Self::bits(key);
        self.lengths & length != 0 && self.initials & initial != 0
    }

    /// Whether the body has `key` (any value, `null` too).
    pub fn has(&self, key: &str) -> bool {
        self.may_have(key) && self.map.contains_key(key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        if self.may_have(key) {
            self.map.get(key)
        } else {
            None
        }
    }
}

/// A request's header names, as the providers' naming rules ask about them. Every provider's rule
/// asks for a header or two of every request, read as one provider or detected, and most are
/// absent: a lookup compares the name with each of the request's headers. Here a name whose
/// length no header name has is known absent at once (Node, a LimePhone request with a dozen
/// common headers: the rules were 5.5 % of a call; bench/PROFILE.md, fifteenth session).
pub(crate) struct HeaderNames<'a> {
    pub request: &'a WebhookRequest,
    /// Bit `n` set when a header name is `n` bytes long, as sent or trimmed (63 for longer
    /// ones): [`crate::request::is_header_named`] reads a name longer than the one it looks for
    /// trimmed.
    lengths: u64,
}

impl<'a> HeaderNames<'a> {
    pub fn new(request: &'a WebhookRequest) -> Self {
        let lengths = request.headers.iter().fold(0, |lengths, (name, _)| {
            lengths | Self::bit(name.len()) | Self::bit(crate::request::trimmed(name).len())
        });
        HeaderNames { request, lengths }
    }

    fn bit(length: usize) -> u64 {
        1 << length.min(63)
    }

    fn may_have(&self, name: &str) -> bool {
        self.lengths & Self::bit(name.len()) != 0
    }

    /// Whether the request has a header named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.may_have(name) && self.request.has_header(name)
    }

    /// The value of each header named `name` (a repeated header's each), as sent.
    pub fn values(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let headers = if self.may_have(name) {
            self.request.headers.as_slice()
        } else {
            &[]
        };
        headers
            .iter()
            .filter(move |(key, _)| crate::request::is_header_named(key, name))
            .map(|(_, value)| value.as_str())
    }
}

/// The only provider `named` yields, if any; a second one is `ambiguous_provider`.
fn at_most_one(
    mut named: impl Iterator<Item = Provider>,
    reason: &'static str,
) -> Result<Option<Provider>> {
    let first = named.next();
    if named.next().is_some() {
        return Err(Error::AmbiguousProvider { reason });
    }
    Ok(first)
}

/// The body as a JSON object; anything else is the wrong shape for every provider.
pub(crate) fn parse_json_object(body: &[u8]) -> Result<Value> {
    let value: Value =
        crate::json_read::from_bytes(body).map_err(|e| Error::from_json_syntax(&e))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::invalid_payload("the body must be a JSON object"))
    }
}

#[cfg(feature = "inspect")]
pub(crate) fn from_value<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T> {
    T::deserialize(value).map_err(Error::invalid_payload)
}

/// An identifier the providers send as a string or as an integer (GatewayAPI `id`, `msisdn`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum IdValue {
    Text(String),
    Number(u64),
}

/// By hand rather than `#[serde(untagged)]`: untagged buffers the value and builds an error
/// (with a formatted message) for every variant that does not match — measured at ~8% of a
/// Lisoloo call.
impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> core::result::Result<Self, D::Error> {
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a non-negative integer")
            }
            fn visit_str<E: serde::de::Error>(
                self,
                text: &str,
            ) -> core::result::Result<IdValue, E> {
                Ok(IdValue::Text(text.into()))
            }
            fn visit_string<E: serde::de::Error>(
                self,
                text: String,
            ) -> core::result::Result<IdValue, E> {
                Ok(IdValue::Text(text))
            }
            fn visit_u64<E: serde::de::Error>(
                self,
                number: u64,
            ) -> core::result::Result<IdValue, E> {
                Ok(IdValue::Number(number))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

impl fmt::Display for IdValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdValue::Text(text) => f.write_str(text),
            IdValue::Number(number) => write!(f, "{number}"),
        }
    }
}

/// What every provider's `normalize` needs besides its payload.
pub(crate) struct Context<'a> {
    pub provider: Provider,
    pub body: &'a [u8],
    pub headers: &'a [(String, String)],
    pub received_at: String,
}

impl Context<'_> {
    /// An event with every optional part empty, for the provider to fill in.
    pub fn event(
        &self,
        id: String,
        event_type: EventType,
        provider_event_type: &str,
        raw: Value,
    ) -> NormalizedEvent {
        NormalizedEvent {
            schema_version: SCHEMA_VERSION,
            provider: self.provider,
            id,
            event_type,
            provider_event_type: provider_event_type.to_string(),
            occurred_at: None,
            received_at: self.received_at.clone(),
            from: None,
            to: None,
            status: None,
            message: None,
            call: None,
            lookup: None,
            record: None,
            unread_fields: alloc::vec::Vec::new(),
            raw,
        }
    }

    /// `<provider>:<parts joined by ':'>`.
    pub fn key(&self, parts: &[&str]) -> String {
        // Sized once: growing it part by part reallocated twice a key (callgrind).
        let length = parts.iter().map(|part| part.len() + 1).sum::<usize>();
        let mut key = String::with_capacity(self.provider.name().len() + length);
        key.push_str(self.provider.name());
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// A header's value (case-insensitive name, trimmed; not read when repeated differently).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = None;
        for (key, value) in self.headers {
            if crate::request::is_header_named(key, name) {
                let value = crate::request::trimmed(value);
                match found {
                    Some(previous) if previous != value => return None,
                    _ => found = Some(value),
                }
            }
        }
        found.filter(|value| !value.is_empty())
    }

    /// The idempotency key when the provider sends no event id: a SHA-256 of the raw body.
    /// Redeliveries resend the same bytes, so the key is stable across retries.
    pub fn derived_key(&self) -> String {
        self.key(&["sha256", &hex::encode(Sha256::digest(self.body))])
    }

    /// [`Context::derived_key`] of the bytes a provider signed when the body alone does not
    /// tell two requests apart: `prefix`, then the body.
    pub fn derived_key_after(&self, prefix: &[u8]) -> String {
        let digest = Sha256::new()
            .chain_update(prefix)
            .chain_update(self.body)
            .finalize();
        self.key(&["sha256", &hex::encode(digest)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod header_names {
        use super::*;
        use alloc::{vec, vec::Vec};
        use proptest::prelude::*;

        /// Names of the lengths the providers' rules look for, in either case, some padded.
        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("Signature"),
                Just("signature"),
                Just(" Signature"),
                Just("Signature\t"),
                Just("X-LimePhone-Signature"),
                Just("x-limephone-signature "),
                Just("User-Agent"),
                Just("user-agent"),
                Just("telnyx-timestamp"),
                Just("X-Gwapi-Signature"),
                Just("x-forwarded-proto"),
                Just("host"),
                Just(""),
            ]
            .prop_map(String::from)
        }

        proptest! {
            /// `has` and `values` answer as the request's own lookups: the lengths only skip.
            #[test]
            fn header_names_answer_as_the_request_does(
                headers in proptest::collection::vec((name(), "[a-z0-9= ]{0,6}"), 0..8),
                looked_for in name(),
            ) {
                let request = WebhookRequest {
                    method: "POST".into(),
                    url: None,
                    headers,
                    body: Vec::new().into(),
                };
                let names = HeaderNames::new(&request);
                let wanted = looked_for.trim();
                prop_assert_eq!(names.has(wanted), request.has_header(wanted));
                let expected: Vec<&str> = request
                    .headers
                    .iter()
                    .filter(|(key, _)| crate::request::is_header_named(key, wanted))
                    .map(|(_, value)| value.as_str())
                    .collect();
                prop_assert_eq!(names.values(wanted).collect::<Vec<_>>(), expected);
            }
        }
    }

    proptest::proptest! {
        /// `form_names` gives the names `form_urlencoded::parse` gives, as bytes.
        #[test]
        fn form_names_are_the_parsed_names(form in "([as=&+]|%[2-7][0-9A-F]|%[0-9a-fA-F]?|\\u{e9}){0,40}") {
            let parsed: alloc::vec::Vec<alloc::vec::Vec<u8>> = form_urlencoded::parse(form.as_bytes())
                .map(|(name, _)| name.into_owned().into_bytes())
                .collect();
            let ours: alloc::vec::Vec<alloc::vec::Vec<u8>> = defaults::form_names(form.as_bytes())
                .map(|name| String::from_utf8_lossy(&name).into_owned().into_bytes())
                .collect();
            proptest::prop_assert_eq!(ours, parsed);
        }

        /// `form_pairs` gives the pairs `form_urlencoded::parse` gives, invalid UTF-8 and all.
        #[test]
        fn form_pairs_are_the_parsed_pairs(form in proptest::collection::vec(proptest::prop_oneof![
            proptest::sample::select(alloc::vec![b'a', b's', b'=', b'&', b'+', b'%', b'2', b'F', b'c', b'3', b'A', b'0', 0xc3, 0xa9, 0xff]),
        ], 0..48)) {
            let parsed: alloc::vec::Vec<(String, String)> = form_urlencoded::parse(&form)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            let ours: alloc::vec::Vec<(String, String)> = defaults::form_pairs(&form)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            proptest::prop_assert_eq!(ours, parsed);
        }
    }

    /// `BodyKeys` answers as the map does, for keys it has, keys that share a length or an
    /// initial with them, the empty key, very long keys and non-ASCII ones.
    #[test]
    fn body_keys_answer_as_the_map_does() {
        let long = "k".repeat(70);
        let body: Value = serde_json::json!({
            "event": 1, "call_id": null, "": 2, "é": 3, long.as_str(): 4, "data": {"x": 1},
        });
        let Value::Object(map) = body else {
            return;
        };
        let keys = BodyKeys::new(&map);
        let longer = "k".repeat(71);
        for key in [
            "event",
            "call_id",
            "",
            "é",
            long.as_str(),
            "data",
            "evens",
            "eventx",
            "x",
            "callid",
            "k",
            longer.as_str(),
            "\u{e8}",
            "Event",
        ] {
            assert_eq!(keys.has(key), map.contains_key(key), "{key:?}");
            assert_eq!(keys.get(key), map.get(key), "{key:?}");
        }
    }
}
