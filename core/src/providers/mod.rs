//! One file per provider. Each exposes `verify`, a typed payload with `parse`, `normalize`
//! and the detection predicates; this module dispatches and holds what they share.

pub mod did_reseller;
pub mod gatewayapi;
pub mod limephone;
pub mod lisoloo;
pub mod looplookup;

use alloc::string::{String, ToString};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{EventType, NormalizedEvent, SCHEMA_VERSION};
pub use crate::provider::Provider;
use crate::provider::RetrySchedule;
use crate::redact::Redactor;
use crate::request::WebhookRequest;

/// A provider's payload, parsed into its typed form (unknown fields kept in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Payload {
    LoopLookup(looplookup::LookupCallback),
    DidReseller(did_reseller::RecordHook),
    LimePhone(limephone::LimePhoneEvent),
    Lisoloo(lisoloo::LisolooEvent),
    GatewayApi(gatewayapi::GatewayApiPayload),
}

/// Checks the request's credentials for `provider`, on the raw body, before any parsing.
pub fn verify(
    provider: Provider,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<()> {
    credentials.validate()?;
    let credentials = credentials
        .for_provider(provider)
        .ok_or(Error::MissingCredentials {
            provider: provider.name(),
        })?;
    if credentials.skips_verification() {
        return Ok(());
    }
    match provider {
        Provider::LoopLookup => looplookup::verify(request, credentials),
        Provider::DidReseller => did_reseller::verify(request, credentials),
        Provider::LimePhone => limephone::verify(request, credentials),
        Provider::Lisoloo => lisoloo::verify(request, credentials),
        Provider::GatewayApi => gatewayapi::verify(request, credentials, now),
    }
}

/// The retry schedule `provider`'s file declares.
pub(crate) fn retry_schedule(provider: Provider) -> &'static RetrySchedule {
    match provider {
        Provider::LoopLookup => &looplookup::RETRY,
        Provider::DidReseller => &did_reseller::RETRY,
        Provider::LimePhone => &limephone::RETRY,
        Provider::Lisoloo => &lisoloo::RETRY,
        Provider::GatewayApi => &gatewayapi::RETRY,
    }
}

/// Parses a body into the provider's typed payload (no verification), secrets redacted by
/// the key, URL and nested-JSON rules of [`crate::redact`].
pub fn parse(provider: Provider, body: &[u8]) -> Result<Payload> {
    let mut value = parse_json_object(body)?;
    Redactor::without_credentials().redact(&mut value);
    parse_value(provider, &value)
}

fn parse_value(provider: Provider, value: &Value) -> Result<Payload> {
    Ok(match provider {
        Provider::LoopLookup => Payload::LoopLookup(from_value(value)?),
        Provider::DidReseller => Payload::DidReseller(from_value(value)?),
        Provider::LimePhone => Payload::LimePhone(from_value(value)?),
        Provider::Lisoloo => Payload::Lisoloo(from_value(value)?),
        Provider::GatewayApi => {
            Payload::GatewayApi(gatewayapi::GatewayApiPayload::from_value(value)?)
        }
    })
}

/// Parses and normalizes an already-verified body.
/// Redaction comes first, so every field of the event is read from the redacted payload.
pub(crate) fn normalize(
    provider: Provider,
    body: &[u8],
    received_at: String,
    credentials: &Credentials,
) -> Result<NormalizedEvent> {
    let mut raw = parse_json_object(body)?;
    check_body_agrees(provider, &raw)?;
    Redactor::new(credentials).redact(&mut raw);
    let payload = parse_value(provider, &raw)?;
    let context = Context {
        provider,
        body,
        received_at,
    };
    let event = match payload {
        Payload::LoopLookup(p) => looplookup::normalize(p, raw, &context),
        Payload::DidReseller(p) => did_reseller::normalize(p, raw, &context),
        Payload::LimePhone(p) => limephone::normalize(p, raw, &context),
        Payload::Lisoloo(p) => lisoloo::normalize(p, raw, &context),
        Payload::GatewayApi(p) => gatewayapi::normalize(p, raw, &context),
    };
    let mut event = event?;
    crate::event::canonicalize_numbers(&mut event.raw);
    Ok(event)
}

/// How many parts the message an event reports on has (1 unless the provider says more).
pub(crate) fn message_parts(provider: Provider, raw: &Value) -> u32 {
    match provider {
        Provider::Lisoloo => lisoloo::message_parts(raw),
        _ => 1,
    }
}

/// Picks the provider a request was sent by. The headers may name one (a provider's own
/// authentication header, or LoopLookup's User-Agent) and the body's shape may name one; when
/// both do they must agree, and neither may name two. So a body is only ever read as one
/// provider — a request verified for one provider cannot be replayed as another (whose
/// idempotency key would differ) by swapping its headers.
/// Detection only chooses the parser: the detected provider's credentials are still required.
pub fn detect_provider(request: &WebhookRequest) -> Result<Provider> {
    let by_headers = provider_named_by_headers(request)?;
    let by_body = match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(body)) => provider_named_by_body(&body)?,
        _ => None,
    };
    let chosen = by_headers.or(by_body).ok_or(Error::ProviderNotDetected)?;
    agree(chosen, by_body)?;
    Ok(chosen)
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
    let named = Provider::ALL.into_iter().filter(|p| match p {
        Provider::LoopLookup => looplookup::named_by_headers(request),
        Provider::DidReseller => false,
        Provider::LimePhone => limephone::named_by_headers(request),
        Provider::Lisoloo => lisoloo::named_by_headers(request),
        Provider::GatewayApi => gatewayapi::named_by_headers(request),
    });
    at_most_one(
        named,
        "it carries the authentication headers of more than one provider",
    )
}

/// The one provider whose body shape this is, if any; two is an error.
fn provider_named_by_body(body: &Map<String, Value>) -> Result<Option<Provider>> {
    let named = Provider::ALL.into_iter().filter(|p| match p {
        Provider::LoopLookup => looplookup::body_matches(body),
        Provider::DidReseller => did_reseller::body_matches(body),
        Provider::LimePhone => limephone::body_matches(body),
        Provider::Lisoloo => lisoloo::body_matches(body),
        Provider::GatewayApi => gatewayapi::body_matches(body),
    });
    at_most_one(named, "its body has the shape of more than one provider")
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
    let value: Value = serde_json::from_slice(body).map_err(|e| Error::from_json_syntax(&e))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::invalid_payload("the body must be a JSON object"))
    }
}

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
            raw,
        }
    }

    /// `<provider>:<parts joined by ':'>`.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = String::from(self.provider.name());
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// The idempotency key when the provider sends no event id: a SHA-256 of the raw body.
    /// Redeliveries resend the same bytes, so the key is stable across retries.
    pub fn derived_key(&self) -> String {
        self.key(&["sha256", &hex::encode(Sha256::digest(self.body))])
    }
}
