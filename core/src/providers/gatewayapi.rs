//! GatewayAPI: the legacy REST API's delivery reports and MO SMS, and the newer Messaging
//! API's event envelope. The request decides which shape and which signature apply.
//!
//! Auth: `Signature: v1=<hex HMAC-SHA256 of the raw body>` (Messaging API; several `v1=`
//! entries separated by commas are accepted for rotation), or the legacy `X-Gwapi-Signature`,
//! an HS256 JWT whose claims carry the payload. The JWT signs its claims, not the body, so
//! every body field must be a claim of exactly equal value (no repeated keys, numbers compared
//! exactly) — otherwise a JWT captured once could carry any body. The event is read from the
//! claims, as GatewayAPI's SDKs read it: a body may repeat only part of them, and every body
//! one token covers is the same event with the same key.
//! Idempotency keys: `gatewayapi:<event_id>`; legacy DLR `gatewayapi:dlr:<id>:<msisdn>:<status>`
//! (one message has several reports); legacy MO `gatewayapi:mo:<id>`.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{defaults, Provider, Spec, BodyKeys, HeaderNames};
use super::{Context, IdValue};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::event::{
    DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError, StatusInfo,
};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// GatewayAPI randomizes and does not publish its schedule; the legacy docs show 60 s, 2 min,
/// 6 min, 24 min, 2 h, 12 h, and the current docs promise "at least 24 hours", so one more
/// 12 h step brings the typical horizon past 24 h.
const RETRY: RetrySchedule = RetrySchedule {
    documented: true,
    timeout_secs: 5,
    retry_delays_secs: &[60, 120, 360, 1440, 7200, 43200, 43200],
    jitter: true,
    ack_statuses: StatusRange::ANY_2XX,
    permanent_failure_statuses: None,
    identical_bodies_can_be_new_events: false,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify,
    named_by_headers,
    body_matches,
    #[cfg(feature = "inspect")]
    parse: |raw| Ok(super::Payload::GatewayApi(GatewayApiPayload::from_value(raw)?)),
    normalize,
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: None,
    #[cfg(feature = "kit")]
    sign,
    #[cfg(feature = "kit")]
    sign_expired: sign_expired_jwt,
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
    out_of_order: Some(OUT_OF_ORDER),
    methods: defaults::POST_ONLY,
    decode: defaults::json_body,
    signed_apart,
};

/// The top-level payload type (`Payload::GatewayApi`).
pub type Body = GatewayApiPayload;

pub const SIGNATURE_HEADER: &str = "Signature";
pub const JWT_HEADER: &str = "X-Gwapi-Signature";
/// The query parameter of GatewayAPI's WordPress plugin (`?token=`), unless configured.
const URL_TOKEN_PARAM: &str = "token";

/// The three body shapes GatewayAPI sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GatewayApiPayload {
    Event(MessagingEvent),
    DeliveryReport(DeliveryReport),
    IncomingSms(IncomingSms),
}

/// Which of the three documented shapes a body has, by the keys it carries (never by their
/// types); `has` says whether a key is there. Written once for `parse` and `normalize`.
#[derive(Clone, Copy)]
enum Shape {
    Event,
    DeliveryReport,
    IncomingSms,
}

fn shape_of(mut has: impl FnMut(&str) -> bool) -> Option<Shape> {
    if has("event_type") && has("event") {
        Some(Shape::Event)
    } else if has("msisdn") && has("status") {
        Some(Shape::DeliveryReport)
    } else if has("msisdn") && (has("message") || has("receiver")) {
        Some(Shape::IncomingSms)
    } else {
        None
    }
}

impl GatewayApiPayload {
    #[cfg(feature = "inspect")]
    pub(crate) fn from_value(value: &Value) -> Result<Self> {
        match shape_of(|key| value.get(key).is_some()) {
            Some(Shape::Event) => Ok(Self::Event(super::from_value(value)?)),
            Some(Shape::DeliveryReport) => Ok(Self::DeliveryReport(super::from_value(value)?)),
            Some(Shape::IncomingSms) => Ok(Self::IncomingSms(super::from_value(value)?)),
            None => Err(Error::invalid_payload(
                "not a GatewayAPI event (event_type + event), delivery report (msisdn + status) or MO SMS (msisdn + message)",
            )),
        }
    }
}

/// Messaging API envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagingEvent {
    pub event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Value>,
    pub event: MessagingEventBody,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `event` object: a status report or an incoming message, by `event_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagingEventBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// An object for SMS (`{message, encoding, header}`), a string for RCS text, other
    /// objects for RCS locations and files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Legacy delivery status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReport {
    pub id: IdValue,
    pub msisdn: IdValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Value>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A hex string in the docs; a number is read too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userref: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Legacy MO SMS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingSms {
    pub id: IdValue,
    pub msisdn: IdValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senttime: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn verify(request: &WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
    let signed = !credentials.hmac_sha256.is_empty() || !credentials.jwt_hs256.is_empty();
    if !signed && credentials.url_token.is_empty() {
        return Err(Error::MissingCredentials {
            provider: "gatewayapi",
        });
    }
    // The legacy API's JWT secret is optional; GatewayAPI's own WordPress plugin protects an
    // unsigned webhook URL with a secret query parameter instead. When configured it is
    // required, beside any configured signature (never instead of one).
    if !credentials.url_token.is_empty() {
        let param = credentials
            .url_token_param
            .as_deref()
            .unwrap_or(URL_TOKEN_PARAM);
        let token = request
            .query_param(param)?
            .ok_or(Error::MissingAuthorization)?;
        scheme::token::verify_token(&credentials.url_token, &token)?;
    }
    if signed {
        verify_signature(request, credentials, now)?;
    }
    Ok(())
}

/// The signature a request is verified by.
enum Signature<'a> {
    /// The Messaging API's `Signature: v1=…`, over the body.
    V1(&'a str),
    /// The legacy `X-Gwapi-Signature` JWT, over its claims.
    Jwt(&'a str),
}

/// The Messaging API's `Signature` or the legacy JWT, whichever the request carries and the
/// credentials can check (`Signature` first): one GatewayAPI account sends both kinds, by API.
fn signature_of<'a>(
    request: &'a WebhookRequest,
    credentials: &Credentials,
) -> Result<Signature<'a>> {
    if !credentials.hmac_sha256.is_empty() {
        if let Some(signature) = request.header(SIGNATURE_HEADER)? {
            return Ok(Signature::V1(signature));
        }
    }
    if !credentials.jwt_hs256.is_empty() {
        if let Some(token) = request.header(JWT_HEADER)? {
            return Ok(Signature::Jwt(token));
        }
    }
    let expected = if credentials.hmac_sha256.is_empty() {
        JWT_HEADER
    } else {
        SIGNATURE_HEADER
    };
    Err(Error::MissingSignature { header: expected })
}

fn verify_signature(request: &WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
    match signature_of(request, credentials)? {
        Signature::V1(signature) => verify_v1(credentials, &request.body, signature),
        Signature::Jwt(token) => {
            // Parsed first so that a body that is not JSON gets its own code.
            super::parse_json_object(&request.body)?;
            scheme::jwt::verify_covering_body(
                &credentials.jwt_hs256,
                JWT_HEADER,
                token,
                now,
                &request.body,
            )
        }
    }
}

/// The legacy JWT's claims, when the JWT is what verified the request: the payload is what
/// it signs, and the body may repeat only part of it (the docs' token carries `callback_url`
/// and `api`, which their callback example does not). Read from the claims, every body one
/// token covers is one event with one key: a body left without `id` or re-spaced is not a
/// new event (the token has no `exp`, so a captured one never stops verifying).
fn signed_apart(request: &WebhookRequest, credentials: &Credentials) -> Option<Vec<u8>> {
    // Without a JWT secret the JWT verifies nothing; and the Messaging API's deliveries then
    // pay no second look at their headers (callgrind: 0.3 k instructions of a call).
    if credentials.jwt_hs256.is_empty() {
        return None;
    }
    let Ok(Signature::Jwt(token)) = signature_of(request, credentials) else {
        return None;
    };
    scheme::jwt::payload_json(token).ok()
}

/// `v1=<sig>` entries separated by commas or spaces; every non-empty entry counts toward the
/// cap, so padding with other versions buys nothing either.
fn verify_v1(credentials: &Credentials, body: &[u8], header: &str) -> Result<()> {
    // Split once (the limit counted as it goes, so a padded header stops early), not once
    // to count and again to read: the split was 4 k instructions of a call (callgrind).
    let mut entries = [""; scheme::hmac::MAX_LISTED_SIGNATURES];
    let mut count = 0;
    for entry in crate::request::split_at_ascii(header, b", ").filter(|entry| !entry.is_empty()) {
        let Some(slot) = entries.get_mut(count) else {
            return Err(Error::TooManySignatures {
                header: SIGNATURE_HEADER,
                limit: scheme::hmac::MAX_LISTED_SIGNATURES,
            });
        };
        *slot = entry;
        count += 1;
    }
    let signatures = entries
        .get(..count)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry.strip_prefix("v1="));
    scheme::hmac::verify_listed(&credentials.hmac_sha256, body, signatures, SIGNATURE_HEADER)
}

/// `X-Gwapi-Signature`, or a `Signature` header of `v1=` entries (the bare name `Signature`
/// is too generic — RFC 9421 uses it too — so its format decides), names GatewayAPI.
fn named_by_headers(headers: &HeaderNames<'_>) -> bool {
    headers.has(JWT_HEADER)
        || headers
            .values(SIGNATURE_HEADER)
            .any(|value| value.trim().starts_with("v1="))
}

/// Both signatures, when both are configured (verification uses `Signature` first), and the
/// URL token.
const SCHEMES: &[Scheme] = &[Scheme::HmacSha256, Scheme::JwtHs256, Scheme::UrlToken];

/// How long a JWT made by `sign_expired_jwt` has been expired.
const EXPIRED_JWT_AGE_SECS: i64 = 60;

fn sign(
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
    _now: i64,
) -> Result<()> {
    match scheme {
        Scheme::JwtHs256 => add_jwt(request, credentials, None),
        Scheme::UrlToken => {
            kit::add_url_token(request, credentials, Provider::GatewayApi, URL_TOKEN_PARAM)
        }
        _ => kit::add_hmac_hex_header(
            request,
            credentials,
            Provider::GatewayApi,
            SIGNATURE_HEADER,
            "v1=",
        ),
    }
}

/// A legacy JWT whose `exp` passed a minute before `now`. GatewayAPI itself sends no `exp`
/// (its JWTs never expire); a receiver must still refuse one that has.
/// Only the legacy JWT carries a timestamp (`exp`) that can expire.
fn sign_expired_jwt(
    request: &mut WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<bool> {
    if !Scheme::JwtHs256.is_configured(credentials) {
        return Ok(false);
    }
    add_jwt(
        request,
        credentials,
        Some(now.saturating_sub(EXPIRED_JWT_AGE_SECS)),
    )?;
    Ok(true)
}

/// The legacy JWT's claims are the payload's fields (which verification compares with the
/// body), plus `exp` when given.
fn add_jwt(
    request: &mut WebhookRequest,
    credentials: &Credentials,
    exp: Option<i64>,
) -> Result<()> {
    let secret = kit::first(&credentials.jwt_hs256, Provider::GatewayApi)?;
    let mut claims = super::parse_json_object(&request.body)?;
    if let (Some(exp), Value::Object(fields)) = (exp, &mut claims) {
        fields.insert(String::from("exp"), Value::from(exp));
    }
    let token = kit::jwt(secret, &claims);
    kit::add_header(request, JWT_HEADER, token);
    Ok(())
}

/// The Messaging API envelope, or a legacy body (`msisdn`) — not the Vonage SMS API's JSON
/// receipts and inbound SMS, which carry `msisdn` too, with a `messageId` GatewayAPI never
/// sends.
fn body_matches(body: &BodyKeys<'_>) -> bool {
    (body.has("event_id") && body.has("event_type") && body.has("event"))
        || (body.has("msisdn") && !body.has("messageId"))
}

/// The legacy docs' lifecycle (onlinecity/gatewayapi-docs, docs/rest.rst, "Delivery status
/// notification"): SCHEDULED → BUFFERED → ENROUTE → DELIVERED | EXPIRED | DELETED |
/// UNDELIVERABLE | ACCEPTED | REJECTED | SKIPPED, with UNKNOWN. ACCEPTED comes after ENROUTE
/// and is drawn as final ("the message has been accepted by the operator", nothing follows),
/// so it is `carrier_accepted`: final, and below every more definite final report.
fn status_of(word: &str) -> DeliveryStatus {
    match word.to_ascii_uppercase().as_str() {
        "SCHEDULED" => DeliveryStatus::Accepted,
        "BUFFERED" => DeliveryStatus::Queued,
        "ENROUTE" => DeliveryStatus::Sent,
        "ACCEPTED" => DeliveryStatus::CarrierAccepted,
        "DELIVERED" => DeliveryStatus::Delivered,
        "READ" => DeliveryStatus::Read,
        "UNDELIVERABLE" => DeliveryStatus::Failed,
        "EXPIRED" => DeliveryStatus::Expired,
        "REJECTED" => DeliveryStatus::Rejected,
        "DELETED" | "SKIPPED" => DeliveryStatus::Canceled,
        _ => DeliveryStatus::Unknown,
    }
}

/// The Messaging API's `event.error`: `{hex_code, details}` (or `{code, description}`), or a
/// bare text.
fn messaging_error(envelope: &mut Fields<'_>) -> Option<ProviderError> {
    let (code, description) = match envelope.value("error")? {
        Value::Object(error) => (
            envelope.id(if error.contains_key("hex_code") {
                "error.hex_code"
            } else {
                "error.code"
            }),
            envelope
                .text(if error.contains_key("details") {
                    "error.details"
                } else {
                    "error.description"
                })
                .map(String::from),
        ),
        Value::String(text) => (None, Some(text.clone())),
        _ => {
            envelope.mark_unread("error");
            return None;
        }
    };
    provider_error(code, description)
}

fn provider_error(code: Option<String>, description: Option<String>) -> Option<ProviderError> {
    (code.is_some() || description.is_some()).then_some(ProviderError { code, description })
}

/// The body's shape; the request decides, by which keys it carries (never by their types).
fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let mut event = match shape_of(|key| fields.has(key)) {
        Some(Shape::Event) => messaging_event(&mut fields, context),
        Some(Shape::DeliveryReport) => delivery_report(&mut fields, context),
        Some(Shape::IncomingSms) => incoming_sms(&mut fields, context),
        // Verified, yet none of the documented shapes: an event all the same.
        None => context.event(context.derived_key(), EventType::Other, "unknown", Value::Null),
    };
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// A legacy delivery report. One message gets several: one per status, and — for charged
/// SMS — `DELIVERED` again per `charge_status` (AUTHORIZED, CAPTURED, REFUNDED or
/// REFUND_FAIL). So the id is message id + msisdn + status + charge status (when sent): a
/// redelivery repeats all four, two distinct reports differ in one.
fn delivery_report(fields: &mut Fields<'_>, context: &Context<'_>) -> NormalizedEvent {
    let message_id = fields.id("id");
    let msisdn = fields.id("msisdn");
    let word = fields.text("status").unwrap_or_default();
    let charge = fields.text("charge_status");
    let id = match (&message_id, &msisdn) {
        (Some(message_id), Some(msisdn)) if !word.is_empty() => {
            let mut parts = alloc::vec!["dlr", message_id.as_str(), msisdn.as_str(), word];
            parts.extend(charge);
            context.key(&parts)
        }
        _ => context.derived_key(),
    };
    let mut event = context.event(id, EventType::MessageStatus, "delivery_report", Value::Null);
    event.occurred_at = fields.time("time");
    event.to = fields.message_address("msisdn");
    event.status = Some(StatusInfo::new(status_of(word), word));
    event.message = Some(Message {
        id: message_id,
        direction: Some(Direction::Outbound),
        text: None,
        reference: fields.text("userref").map(String::from),
        error: provider_error(fields.id("code"), fields.text("error").map(String::from)),
    });
    event
}

/// A legacy MO SMS, to a long number or to a (shared) short code with a keyword.
fn incoming_sms(fields: &mut Fields<'_>, context: &Context<'_>) -> NormalizedEvent {
    let message_id = fields.id("id");
    let id = match &message_id {
        Some(message_id) => context.key(&["mo", message_id]),
        None => context.derived_key(),
    };
    let mut event = context.event(id, EventType::MessageReceived, "incoming_sms", Value::Null);
    event.occurred_at = fields.time("senttime");
    event.from = fields.message_address("msisdn");
    event.to = fields.message_address("receiver");
    event.message = Some(Message {
        id: message_id,
        direction: Some(Direction::Inbound),
        text: fields.text("message").map(String::from),
        reference: None,
        error: None,
    });
    event
}

/// The Messaging API envelope. `event.content` is an object for SMS (`{message, encoding,
/// header}`), a plain string for RCS text, `{latitude, longitude}` for an RCS location and
/// `{category, thumbnail, payload}` for an RCS file (nickdnk/gatewayapi-php@934d6fe,
/// `events.json`): the text is read from the first two; the others stay in `raw`.
fn messaging_event(fields: &mut Fields<'_>, context: &Context<'_>) -> NormalizedEvent {
    let kind = fields.text("event_type").unwrap_or("unknown");
    let event_type = if kind.starts_with("message.status.") {
        EventType::MessageStatus
    } else if kind.starts_with("user-message.") {
        EventType::MessageReceived
    } else {
        EventType::Other
    };
    let id = match fields.id("event_id") {
        Some(event_id) => context.key(&[&event_id]),
        None => context.derived_key(),
    };
    let mut event = context.event(id, event_type, kind, Value::Null);
    fields.within("event", |envelope| {
        let own_time = envelope.time(if event_type == EventType::MessageStatus {
            "status_at"
        } else {
            "sent_at"
        });
        event.occurred_at = own_time.or_else(|| envelope.outside(|root| root.time("timestamp")));
        event.from = envelope.message_address("sender");
        event.to = envelope.message_address("recipient");
        if event_type == EventType::MessageStatus {
            let word = envelope.text("status").unwrap_or_default();
            event.status = Some(StatusInfo::new(status_of(word), word));
        }
        let message_id = envelope.id("msg_id");
        if event_type != EventType::Other || message_id.is_some() {
            let text = match envelope.value("content") {
                Some(Value::String(text)) => Some(text.clone()),
                Some(Value::Object(_)) => envelope.text("content.message").map(String::from),
                Some(_) => {
                    envelope.mark_unread("content");
                    None
                }
                None => None,
            };
            event.message = Some(Message {
                id: message_id,
                direction: match event_type {
                    EventType::MessageStatus => Some(Direction::Outbound),
                    EventType::MessageReceived => Some(Direction::Inbound),
                    _ => None,
                },
                text,
                reference: envelope.text("reference").map(String::from),
                error: messaging_error(envelope),
            });
        }
    });
    event
}

/// The Messaging API's envelopes (SMS and RCS) and the legacy REST API's DLR and MO SMS,
/// named as the normalized event's `provider_event_type`.
const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("message.status.sms", EventType::MessageStatus),
    SampleKind::new("message.status.rcs", EventType::MessageStatus),
    SampleKind::new("user-message.text.sms", EventType::MessageReceived),
    SampleKind::new("user-message.text.rcs", EventType::MessageReceived),
    SampleKind::new("user-message.location.rcs", EventType::MessageReceived),
    SampleKind::new("user-message.file.rcs", EventType::MessageReceived),
    SampleKind::new("delivery_report", EventType::MessageStatus),
    SampleKind::new("incoming_sms", EventType::MessageReceived),
];

/// Reports "can come out of order": DELIVERED before ENROUTE.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("delivery_report", "status", "DELIVERED"),
    ("delivery_report", "status", "ENROUTE"),
];

/// The shapes GatewayAPI really sends: RCS text with a plain-string `content`, RCS locations
/// and files, a legacy report with a whole-number float `time` and a `charge_status`, and an
/// MO SMS to the shared short code 1204 (with the country prefix, as GatewayAPI sends it).
fn sample(kind: &str) -> Option<Value> {
    let inbound = |content: Value| {
        serde_json::json!({
            "event_id": crate::kit::uuid_like(kind, 0),
            "timestamp": "2026-03-02T10:00:01Z",
            "event_type": kind,
            "event": {
                "msg_id": "01HQ90A1B2C3D4E5F6G7H8J9KM", "sender": 4587654321_u64,
                "recipient": 4560575797_u64, "sent_at": "2026-03-02T10:00:00Z",
                "content": content,
            },
        })
    };
    Some(match kind {
        "message.status.sms" | "message.status.rcs" => serde_json::json!({
            "event_id": crate::kit::uuid_like(kind, 0),
            "timestamp": "2026-03-02T09:00:05Z",
            "event_type": kind,
            "event": {
                "msg_id": "01HQ8ZK7D3W3M1Y6T5P0E2B9AX", "recipient": 4512345678_u64,
                "reference": "order-1042",
                "status": if kind.ends_with("rcs") { "READ" } else { "DELIVERED" },
                "status_at": "2026-03-02T09:00:03Z", "error": null,
            },
        }),
        "user-message.text.sms" => {
            inbound(serde_json::json!({"message": "STOP", "encoding": "GSM7", "header": null}))
        }
        "user-message.text.rcs" => inbound(serde_json::json!("STOP")),
        "user-message.location.rcs" => {
            inbound(serde_json::json!({"latitude": 55.6761, "longitude": 12.5683}))
        }
        "user-message.file.rcs" => inbound(serde_json::json!({
            "category": "image",
            "thumbnail": {"mime_type": "image/jpeg", "size": 4012, "url": "https://files.example.com/t.jpg"},
            "payload": {"mime_type": "image/jpeg", "size": 204812, "url": "https://files.example.com/p.jpg"},
        })),
        "delivery_report" => serde_json::json!({
            "id": 1000001, "msisdn": 4512345678_u64, "time": 1740905403.0, "status": "DELIVERED",
            "userref": "order-1042", "charge_status": "CAPTURED", "country_code": "DK",
            "country_prefix": 45,
        }),
        "incoming_sms" => serde_json::json!({
            "id": 2000001, "msisdn": 4587654321_u64, "receiver": 451204,
            "message": "foo hello world", "senttime": 1740906000, "webhook_label": "inbound",
            "country_code": "DK", "country_prefix": 45,
        }),
        _ => return None,
    })
}

/// Messaging API keys on `event_id`; the legacy shapes on the message `id` (DLRs also on
/// the status, so two statuses of one message stay distinct).
fn identity(kind: &str, serial: u64) -> Value {
    if kind.contains('.') {
        serde_json::json!({
            "event_id": crate::kit::uuid_like(kind, serial),
            "event": {"msg_id": alloc::format!("01HQ{serial:022}")},
        })
    } else {
        serde_json::json!({"id": serial})
    }
}
