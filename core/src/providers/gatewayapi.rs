//! GatewayAPI: the legacy REST API's delivery reports and MO SMS, and the newer Messaging
//! API's event envelope. The request decides which shape and which signature apply.
//!
//! Auth: `Signature: v1=<hex HMAC-SHA256 of the raw body>` (Messaging API; several `v1=`
//! entries separated by commas are accepted for rotation), or the legacy `X-Gwapi-Signature`,
//! an HS256 JWT whose claims carry the payload. The JWT signs its claims, not the body, so
//! every body field must be a claim of exactly equal value (no repeated keys, numbers compared
//! exactly) — otherwise a JWT captured once could carry any body.
//! Idempotency keys: `gatewayapi:<event_id>`; legacy DLR `gatewayapi:dlr:<id>:<msisdn>:<status>`
//! (one message has several reports); legacy MO `gatewayapi:mo:<id>`.

use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{defaults, from_value, Payload, Provider, Spec};
use super::{Context, IdValue};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError, StatusInfo,
};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::phone::to_e164;
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
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify,
    named_by_headers,
    body_matches,
    parse: |raw| Ok(Payload::GatewayApi(GatewayApiPayload::from_value(raw)?)),
    normalize: |raw, context| normalize(GatewayApiPayload::from_value(&raw)?, raw, context),
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: None,
    sign,
    sign_expired: sign_expired_jwt,
    sample_kinds: SAMPLE_KINDS,
    sample,
    encode_sample: defaults::sent_as_is,
    identity,
    redacted_keys: &[],
    out_of_order: Some(OUT_OF_ORDER),
};

/// The top-level payload type (`Payload::GatewayApi`).
pub type Body = GatewayApiPayload;

pub const SIGNATURE_HEADER: &str = "Signature";
pub const JWT_HEADER: &str = "X-Gwapi-Signature";

/// The three body shapes GatewayAPI sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GatewayApiPayload {
    Event(MessagingEvent),
    DeliveryReport(DeliveryReport),
    IncomingSms(IncomingSms),
}

impl GatewayApiPayload {
    pub(crate) fn from_value(value: &Value) -> Result<Self> {
        let has = |key: &str| value.get(key).is_some();
        if has("event_type") && has("event") {
            Ok(Self::Event(from_value(value)?))
        } else if has("msisdn") && has("status") {
            Ok(Self::DeliveryReport(from_value(value)?))
        } else if has("msisdn") && (has("message") || has("receiver")) {
            Ok(Self::IncomingSms(from_value(value)?))
        } else {
            Err(Error::invalid_payload(
                "not a GatewayAPI event (event_type + event), delivery report (msisdn + status) or MO SMS (msisdn + message)",
            ))
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
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
    if credentials.hmac_sha256.is_empty() && credentials.jwt_hs256.is_empty() {
        return Err(Error::MissingCredentials {
            provider: "gatewayapi",
        });
    }
    if !credentials.hmac_sha256.is_empty() {
        if let Some(signature) = request.header(SIGNATURE_HEADER)? {
            return verify_v1(credentials, &request.body, signature);
        }
    }
    if !credentials.jwt_hs256.is_empty() {
        if let Some(token) = request.header(JWT_HEADER)? {
            // Parsed first so that a body that is not JSON gets its own code.
            super::parse_json_object(&request.body)?;
            return scheme::jwt::verify_covering_body(
                &credentials.jwt_hs256,
                JWT_HEADER,
                token,
                now,
                &request.body,
            );
        }
    }
    let expected = if credentials.hmac_sha256.is_empty() {
        JWT_HEADER
    } else {
        SIGNATURE_HEADER
    };
    Err(Error::MissingSignature { header: expected })
}

/// `v1=<sig>` entries separated by commas or spaces; every non-empty entry counts toward the
/// cap, so padding with other versions buys nothing either.
fn verify_v1(credentials: &Credentials, body: &[u8], header: &str) -> Result<()> {
    let entries = header.split([',', ' ']).filter(|entry| !entry.is_empty());
    if entries.clone().count() > scheme::hmac::MAX_LISTED_SIGNATURES {
        return Err(Error::TooManySignatures {
            header: SIGNATURE_HEADER,
            limit: scheme::hmac::MAX_LISTED_SIGNATURES,
        });
    }
    let signatures = entries.filter_map(|entry| entry.strip_prefix("v1="));
    scheme::hmac::verify_listed(&credentials.hmac_sha256, body, signatures, SIGNATURE_HEADER)
}

/// `X-Gwapi-Signature`, or a `Signature` header of `v1=` entries (the bare name `Signature`
/// is too generic — RFC 9421 uses it too — so its format decides), names GatewayAPI.
fn named_by_headers(request: &WebhookRequest) -> bool {
    request.has_header(JWT_HEADER)
        || request.headers.iter().any(|(name, value)| {
            name.trim().eq_ignore_ascii_case(SIGNATURE_HEADER) && value.trim().starts_with("v1=")
        })
}

/// Both, when both are configured; verification uses `Signature` first.
const SCHEMES: &[Scheme] = &[Scheme::HmacSha256, Scheme::JwtHs256];

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

fn body_matches(body: &Map<String, Value>) -> bool {
    (body.contains_key("event_id") && body.contains_key("event_type") && body.contains_key("event"))
        || body.contains_key("msisdn")
}

fn status_of(word: &str) -> DeliveryStatus {
    match word.to_ascii_uppercase().as_str() {
        "ACCEPTED" | "SCHEDULED" => DeliveryStatus::Accepted,
        "BUFFERED" => DeliveryStatus::Queued,
        "ENROUTE" => DeliveryStatus::Sent,
        "DELIVERED" => DeliveryStatus::Delivered,
        "READ" => DeliveryStatus::Read,
        "UNDELIVERABLE" => DeliveryStatus::Failed,
        "EXPIRED" => DeliveryStatus::Expired,
        "REJECTED" => DeliveryStatus::Rejected,
        "DELETED" | "SKIPPED" => DeliveryStatus::Canceled,
        _ => DeliveryStatus::Unknown,
    }
}

fn msisdn(value: &IdValue) -> Option<String> {
    to_e164(&value.to_string(), None)
}

/// GatewayAPI documents MSISDNs as integers; digits in a string are tolerated, anything else
/// is the wrong shape (refused rather than normalized to a null number).
fn check_msisdn(value: &IdValue, field: &str) -> Result<()> {
    match value {
        IdValue::Number(_) => Ok(()),
        IdValue::Text(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(())
        }
        IdValue::Text(_) => Err(Error::invalid_payload(alloc::format!(
            "{field} must be an integer MSISDN"
        ))),
    }
}

fn timestamp(value: Option<&Value>, field: &'static str) -> Result<Option<String>> {
    value.map_or(Ok(None), |v| crate::time::parse_value(v, field))
}

fn error_of(value: Option<&Value>) -> Option<ProviderError> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(ProviderError {
            code: None,
            description: Some(text.clone()),
        }),
        Value::Object(map) => Some(ProviderError {
            code: map
                .get("hex_code")
                .or(map.get("code"))
                .and_then(scalar_text),
            description: map
                .get("details")
                .or(map.get("description"))
                .and_then(scalar_text),
        }),
        other => scalar_text(other).map(|code| ProviderError {
            code: Some(code),
            description: None,
        }),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn normalize(
    payload: GatewayApiPayload,
    raw: Value,
    context: &Context<'_>,
) -> Result<NormalizedEvent> {
    match payload {
        GatewayApiPayload::Event(envelope) => normalize_event(envelope, raw, context),
        GatewayApiPayload::DeliveryReport(report) => {
            check_msisdn(&report.msisdn, "msisdn")?;
            let (id, number) = (report.id.to_string(), report.msisdn.to_string());
            let key = context.key(&["dlr", &id, &number, &report.status]);
            let mut event = context.event(key, EventType::MessageStatus, "delivery_report", raw);
            event.occurred_at = timestamp(report.time.as_ref(), "time")?;
            event.to = msisdn(&report.msisdn);
            event.status = Some(StatusInfo::new(
                status_of(&report.status),
                report.status.clone(),
            ));
            let error = (report.error.is_some() || report.code.is_some()).then(|| ProviderError {
                code: report.code.clone(),
                description: report.error.clone(),
            });
            event.message = Some(Message {
                id: Some(id),
                direction: Some(Direction::Outbound),
                text: None,
                reference: report.userref,
                error,
            });
            Ok(event)
        }
        GatewayApiPayload::IncomingSms(sms) => {
            check_msisdn(&sms.msisdn, "msisdn")?;
            let id = sms.id.to_string();
            let mut event = context.event(
                context.key(&["mo", &id]),
                EventType::MessageReceived,
                "incoming_sms",
                raw,
            );
            event.occurred_at = timestamp(sms.senttime.as_ref(), "senttime")?;
            event.from = msisdn(&sms.msisdn);
            event.to = sms.receiver.as_ref().and_then(msisdn);
            event.message = Some(Message {
                id: Some(id),
                direction: Some(Direction::Inbound),
                text: sms.message,
                reference: None,
                error: None,
            });
            Ok(event)
        }
    }
}

fn normalize_event(
    envelope: MessagingEvent,
    raw: Value,
    context: &Context<'_>,
) -> Result<NormalizedEvent> {
    let kind = envelope.event_type.as_str();
    let event_type = if kind.starts_with("message.status.") {
        EventType::MessageStatus
    } else if kind.starts_with("user-message.") {
        EventType::MessageReceived
    } else {
        EventType::Other
    };
    let body = envelope.event;
    for (value, field) in [
        (&body.recipient, "event.recipient"),
        (&body.sender, "event.sender"),
    ] {
        if let Some(value) = value {
            check_msisdn(value, field)?;
        }
    }
    let mut event = context.event(context.key(&[&envelope.event_id]), event_type, kind, raw);
    let when = match event_type {
        EventType::MessageStatus => body.status_at.as_ref(),
        _ => body.sent_at.as_ref(),
    };
    event.occurred_at = match when {
        Some(value) => timestamp(
            Some(value),
            if event_type == EventType::MessageStatus {
                "status_at"
            } else {
                "sent_at"
            },
        )?,
        None => timestamp(envelope.timestamp.as_ref(), "timestamp")?,
    };
    let direction = match event_type {
        EventType::MessageStatus => Some(Direction::Outbound),
        EventType::MessageReceived => Some(Direction::Inbound),
        _ => None,
    };
    event.from = body.sender.as_ref().and_then(msisdn);
    event.to = body.recipient.as_ref().and_then(msisdn);
    if event_type == EventType::MessageStatus {
        let word = body.status.clone().unwrap_or_default();
        event.status = Some(StatusInfo::new(status_of(&word), word));
    }
    if event_type != EventType::Other || body.msg_id.is_some() {
        event.message = Some(Message {
            id: body.msg_id.as_ref().map(ToString::to_string),
            direction,
            text: body.content.and_then(|c| c.message),
            reference: body.reference,
            error: error_of(body.error.as_ref()),
        });
    }
    Ok(event)
}

/// The Messaging API's envelopes (SMS and RCS) and the legacy REST API's DLR and MO SMS,
/// named as the normalized event's `provider_event_type`.
const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("message.status.sms", EventType::MessageStatus),
    SampleKind::new("message.status.rcs", EventType::MessageStatus),
    SampleKind::new("user-message.text.sms", EventType::MessageReceived),
    SampleKind::new("user-message.text.rcs", EventType::MessageReceived),
    SampleKind::new("delivery_report", EventType::MessageStatus),
    SampleKind::new("incoming_sms", EventType::MessageReceived),
];

/// Reports "can come out of order": DELIVERED before ENROUTE.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("delivery_report", "status", "DELIVERED"),
    ("delivery_report", "status", "ENROUTE"),
];

fn sample(kind: &str) -> Option<Value> {
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
        "user-message.text.sms" | "user-message.text.rcs" => serde_json::json!({
            "event_id": crate::kit::uuid_like(kind, 0),
            "timestamp": "2026-03-02T10:00:01Z",
            "event_type": kind,
            "event": {
                "msg_id": "01HQ90A1B2C3D4E5F6G7H8J9KM", "sender": 4587654321_u64,
                "recipient": 4560575797_u64, "sent_at": "2026-03-02T10:00:00Z",
                "content": {"message": "STOP", "encoding": "GSM7", "header": null},
            },
        }),
        "delivery_report" => serde_json::json!({
            "id": 1000001, "msisdn": 4512345678_u64, "time": 1740905403, "status": "DELIVERED",
            "userref": "order-1042", "charge_status": "CAPTURED", "country_code": "DK",
            "country_prefix": 45,
        }),
        "incoming_sms" => serde_json::json!({
            "id": 2000001, "msisdn": 4587654321_u64, "receiver": 4560575797_u64,
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
