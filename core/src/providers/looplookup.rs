//! LoopLookup Lookup API callbacks: one result per looked-up contact.
//!
//! Auth: the Authorization header value configured in LoopLookup's dashboard, compared
//! whole (any scheme) in constant time. No signature exists.
//! Idempotency key: `looplookup:<webhook_id>` (same across retries); without one, derived.

use alloc::string::String;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Context;
use super::{defaults, Provider, Spec, BodyKeys, HeaderNames};
use crate::credentials::Credentials;
use crate::fields::Fields;
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
    identical_bodies_can_be_new_events: false,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify: |request, credentials, _now| verify(request, credentials),
    named_by_headers,
    body_matches,
    #[cfg(feature = "inspect")]
    parse: |raw| Ok(super::Payload::LoopLookup(super::from_value(raw)?)),
    normalize,
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: Some(USER_AGENT),
    #[cfg(feature = "kit")]
    sign: |scheme, request, credentials, _now| sign(scheme, request, credentials),
    #[cfg(feature = "kit")]
    sign_expired: defaults::cannot_expire,
    #[cfg(feature = "kit")]
    sample_kinds: SAMPLE_KINDS,
    #[cfg(feature = "kit")]
    sample,
    #[cfg(feature = "kit")]
    encode_sample: defaults::sent_as_is,
    #[cfg(feature = "kit")]
    identity,
    redacted_keys: &[],
    json_text_field: None,
    out_of_order: None,
    methods: defaults::POST_ONLY,
    decode: defaults::json_body,
    signed_apart: defaults::body_signed,
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
fn named_by_headers(headers: &HeaderNames<'_>) -> bool {
    headers
        .values("user-agent")
        .any(|value| value.contains(USER_AGENT))
}

fn body_matches(body: &BodyKeys<'_>) -> bool {
    body.has("result_v1")
        || (body.has("webhook_id") && body.has("contact"))
}

/// `result_v1.apple_services.<name>`: its status (`unknown` when not sent) and last date.
fn service(fields: &mut Fields<'_>, path: &'static str) -> Option<AppleService> {
    fields.within_object(path, |service| AppleService {
        status: String::from(service.text("status").unwrap_or("unknown")),
        last_seen: service.time("date"),
    })
}

/// A callback with a `result_v1` object reports a completed lookup. LoopLookup documents
/// nothing else, but says it may add event types: a body without a result (a failed lookup,
/// say) is an `other` event, with the contact and request it names.
fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    // Read as an id, text or integer (as Lisoloo's `event_id` and GatewayAPI's `id` are): a
    // sender that writes it as a number would otherwise key each redelivery by its bytes.
    let id = match fields.id("webhook_id") {
        Some(webhook_id) => context.key(&[&webhook_id]),
        None => context.derived_key(),
    };
    let (contact, contact_kind) = match fields.text("contact") {
        Some(text) => {
            if let Some(number) = to_e164(text, None) {
                (Some(number), ContactKind::Phone)
            } else if looks_like_email(text.trim()) {
                (Some(text.trim().to_lowercase()), ContactKind::Email)
            } else {
                (Some(String::from(text)), ContactKind::Other)
            }
        }
        None => (None, ContactKind::Other),
    };
    let completed = fields.object("result_v1").is_some();
    let (event_type, name) = if completed {
        (EventType::LookupCompleted, "lookup_result")
    } else {
        (EventType::Other, "callback")
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    // Read in the order their unread fields are listed.
    let request_id = fields.id("request_id");
    let facetime = service(&mut fields, "result_v1.apple_services.facetime");
    let imessage = service(&mut fields, "result_v1.apple_services.imessage");
    let (carrier, number_type) = fields.within("result_v1.carrier", |carrier| {
        (
            carrier.text("carrier").map(String::from),
            carrier.text("number_type").map(String::from),
        )
    });
    event.lookup = Some(Lookup {
        request_id,
        contact,
        contact_kind,
        facetime,
        imessage,
        carrier,
        number_type,
        country: fields.text("result_v1.country.iso2").map(String::from),
    });
    event.unread_fields = fields.into_unread();
    event.raw = raw;
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
