//! LoopLookup Lookup API callbacks: one result per looked-up contact.
//!
//! Auth: the Authorization header value configured in LoopLookup's dashboard, compared
//! whole (any scheme) in constant time. No signature exists.
//! Idempotency key: `looplookup:<webhook_id>` (same across retries); without one, derived.

use alloc::string::String;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Context;
use super::{defaults, from_value, Payload, Provider, Spec};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{AppleService, ContactKind, EventType, Lookup, NormalizedEvent};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::phone::{looks_like_email, to_e164};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// LoopLookup's redeliveries (its docs): 10 × 30 s, 10 × 3 min, 10 × 15 min; only a 200 acks.
const RETRY: RetrySchedule = RetrySchedule {
    documented: true,
    timeout_secs: 15,
    retry_delays_secs: &[
        30, 30, 30, 30, 30, 30, 30, 30, 30, 30, //
        180, 180, 180, 180, 180, 180, 180, 180, 180, 180, //
        900, 900, 900, 900, 900, 900, 900, 900, 900, 900,
    ],
    jitter: false,
    ack_statuses: StatusRange::ONLY_200,
    permanent_failure_statuses: None,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify: |request, credentials, _now| verify(request, credentials),
    named_by_headers,
    body_matches,
    parse: |raw| Ok(Payload::LoopLookup(from_value(raw)?)),
    normalize: |raw, context| normalize(from_value(&raw)?, raw, context),
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: Some(USER_AGENT),
    sign: |scheme, request, credentials, _now| sign(scheme, request, credentials),
    sign_expired: defaults::cannot_expire,
    sample_kinds: SAMPLE_KINDS,
    sample,
    encode_sample: defaults::sent_as_is,
    identity,
    redacted_keys: &[],
    out_of_order: None,
};

/// The top-level payload type (`Payload::LoopLookup`).
pub type Body = LookupCallback;

/// The callback body. `result_v1` and everything in it is optional and grows over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupCallback {
    pub contact: String,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_v1: Option<LookupResult>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_services: Option<AppleServices>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppleServices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facetime: Option<ServiceResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imessage: Option<ServiceResult>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carrier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Country {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso2: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn verify(request: &WebhookRequest, credentials: &Credentials) -> Result<()> {
    if credentials.authorization.is_empty() {
        return Err(Error::MissingCredentials {
            provider: "looplookup",
        });
    }
    scheme::token::verify_token(&credentials.authorization, request.authorization()?)
}

/// LoopLookup identifies itself with this User-Agent.
pub const USER_AGENT: &str = "LoopServer";

const SCHEMES: &[Scheme] = &[Scheme::Authorization];

/// The dashboard-configured value, sent verbatim as the Authorization header.
fn sign(
    _scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
) -> Result<()> {
    let value = kit::text(kit::first(
        &credentials.authorization,
        Provider::LoopLookup,
    )?)?;
    kit::add_header(request, "Authorization", value.into());
    Ok(())
}

/// LoopLookup signs nothing; its User-Agent names it.
fn named_by_headers(request: &WebhookRequest) -> bool {
    request.headers.iter().any(|(name, value)| {
        name.trim().eq_ignore_ascii_case("user-agent") && value.contains(USER_AGENT)
    })
}

fn body_matches(body: &Map<String, Value>) -> bool {
    body.contains_key("result_v1")
        || (body.contains_key("webhook_id") && body.contains_key("contact"))
}

fn service(result: Option<ServiceResult>, field: &'static str) -> Result<Option<AppleService>> {
    let Some(result) = result else {
        return Ok(None);
    };
    let last_seen = match result.date.as_deref() {
        Some(date) => Some(crate::time::parse_text(date, field)?),
        None => None,
    };
    Ok(Some(AppleService {
        status: result.status.unwrap_or_else(|| String::from("unknown")),
        last_seen,
    }))
}

fn normalize(
    payload: LookupCallback,
    raw: Value,
    context: &Context<'_>,
) -> Result<NormalizedEvent> {
    let id = match payload.webhook_id.as_deref() {
        Some(webhook_id) if !webhook_id.is_empty() => context.key(&[webhook_id]),
        _ => context.derived_key(),
    };
    let (contact, contact_kind) = if let Some(number) = to_e164(&payload.contact, None) {
        (number, ContactKind::Phone)
    } else if looks_like_email(payload.contact.trim()) {
        (payload.contact.trim().to_lowercase(), ContactKind::Email)
    } else {
        (payload.contact.clone(), ContactKind::Other)
    };
    let result = payload.result_v1;
    let (apple, carrier, country) = match result {
        Some(r) => (r.apple_services, r.carrier, r.country),
        None => (None, None, None),
    };
    let (facetime, imessage) = match apple {
        Some(a) => (a.facetime, a.imessage),
        None => (None, None),
    };
    let mut event = context.event(id, EventType::LookupCompleted, "lookup_result", raw);
    event.lookup = Some(Lookup {
        request_id: Some(payload.request_id),
        contact: Some(contact),
        contact_kind,
        facetime: service(facetime, "result_v1.apple_services.facetime.date")?,
        imessage: service(imessage, "result_v1.apple_services.imessage.date")?,
        carrier: carrier.as_ref().and_then(|c| c.carrier.clone()),
        number_type: carrier.and_then(|c| c.number_type),
        country: country.and_then(|c| c.iso2),
    });
    Ok(event)
}

const SAMPLE_KINDS: &[SampleKind] =
    &[SampleKind::new("lookup_result", EventType::LookupCompleted)];

/// The docs' full result for a US mobile number.
fn sample(kind: &str) -> Option<Value> {
    if kind != "lookup_result" {
        return None;
    }
    Some(serde_json::json!({
        "contact": "+13231112233",
        "request_id": "2f31A2B6-Fd5F-4118-A85f-DafbBcB7f4C2",
        "webhook_id": "32c127be-54a5-4f9a-bf53-2f91c2290e07",
        "result_v1": {
            "apple_services": {
                "facetime": {"status": "available", "date": "2022-12-13"},
                "imessage": {"status": "available", "date": "2022-12-12"},
            },
            "carrier": {"carrier": "Verizon", "number_type": "mobile"},
            "country": {"iso2": "US", "iso3": "USA", "name": "United States of America"},
            "time_zones": ["America/Los_Angeles"],
        },
    }))
}

/// The key is `webhook_id` (the same across retries); `request_id` names the lookup.
fn identity(kind: &str, serial: u64) -> Value {
    serde_json::json!({
        "webhook_id": crate::kit::uuid_like(kind, serial),
        "request_id": crate::kit::uuid_like("lookup", serial),
    })
}
