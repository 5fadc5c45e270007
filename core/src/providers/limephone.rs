//! LimePhone virtual-number webhooks: calls, SMS and voicemail.
//!
//! Auth: `X-LimePhone-Signature` = HMAC-SHA256 of the raw body with the webhook secret
//! (hex of either case; base64 also accepted), and `Authorization: Bearer {token}`.
//! Each configured scheme must pass; at least one must be configured.
//! Idempotency key: `limephone:<event>:<call_id|message_id>[:<call_status>]` — LimePhone
//! sends no event id; the status is part of the key for `call_status_update`, which repeats
//! for one call. An update without `call_status` (the docs give no example of one) cannot be
//! told from the call's other updates, so its key is the body's hash; so is any event
//! without a call or message id.

use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{defaults, Provider, Spec, BodyKeys, HeaderNames};
use super::{Context, IdValue};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    Call, DeliveryStatus, Direction, EventType, Message, NormalizedEvent, StatusInfo,
};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::fields::Fields;
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// LimePhone's redeliveries (its docs); only a 200 acks.
const RETRY: RetrySchedule = RetrySchedule {
    documented: true,
    timeout_secs: 5,
    retry_delays_secs: &[60, 300, 900, 1800],
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
    parse: |raw| Ok(super::Payload::LimePhone(super::from_value(raw)?)),
    normalize,
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: None,
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
    out_of_order: Some(OUT_OF_ORDER),
    methods: defaults::POST_ONLY,
    decode: defaults::json_body,
    signed_apart: defaults::body_signed,
};

/// The top-level payload type (`Payload::LimePhone`).
pub type Body = LimePhoneEvent;

pub const SIGNATURE_HEADER: &str = "X-LimePhone-Signature";

/// One LimePhone webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimePhoneEvent {
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_content: Option<String>,
    /// Seconds in the docs; kept as sent (`"00:02:05"`, `125.4` and `-1` have been seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Value>,
    /// Fields LimePhone adds later.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn verify(request: &WebhookRequest, credentials: &Credentials) -> Result<()> {
    if credentials.hmac_sha256.is_empty() && credentials.bearer.is_empty() {
        return Err(Error::MissingCredentials {
            provider: "limephone",
        });
    }
    if !credentials.hmac_sha256.is_empty() {
        scheme::hmac::verify_request_header(&credentials.hmac_sha256, request, SIGNATURE_HEADER)?;
    }
    if !credentials.bearer.is_empty() {
        scheme::token::verify_bearer(&credentials.bearer, request.authorization()?)?;
    }
    Ok(())
}

/// Both headers, when both are configured: LimePhone's receiver checks each configured one.
const SCHEMES: &[Scheme] = &[Scheme::HmacSha256, Scheme::Bearer];

fn sign(
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
) -> Result<()> {
    match scheme {
        Scheme::Bearer => {
            let token = kit::text(kit::first(&credentials.bearer, Provider::LimePhone)?)?;
            kit::add_header(request, "Authorization", alloc::format!("Bearer {token}"));
            Ok(())
        }
        _ => kit::add_hmac_hex_header(
            request,
            credentials,
            Provider::LimePhone,
            SIGNATURE_HEADER,
            "",
        ),
    }
}

/// Its signature header names LimePhone.
fn named_by_headers(headers: &HeaderNames<'_>) -> bool {
    headers.has(SIGNATURE_HEADER)
}

/// By the keys present, never their types (a verified body of an odd type is still LimePhone's).
fn body_matches(body: &BodyKeys<'_>) -> bool {
    body.has("event")
        && ["call_id", "message_id", "virtual_number"]
            .iter()
            .any(|k| body.has(k))
}

fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let name = fields.text("event").unwrap_or("unknown");
    let (event_type, is_call, fixed_direction) = match name {
        "incoming_call" => (EventType::CallIncoming, true, Some(Direction::Inbound)),
        "missed_call" => (EventType::CallMissed, true, Some(Direction::Inbound)),
        "call_completed" => (EventType::CallCompleted, true, None),
        "call_status_update" => (EventType::CallStatus, true, None),
        "voicemail_received" => (EventType::VoicemailReceived, true, Some(Direction::Inbound)),
        "sms_sent" => (EventType::MessageSent, false, Some(Direction::Outbound)),
        "sms_received" => (EventType::MessageReceived, false, Some(Direction::Inbound)),
        _ => (EventType::Other, !fields.has("message_id"), None),
    };
    // The counterpart's number names the direction when the event does not.
    let remote_inbound = ["caller_number", "sender_number"]
        .into_iter()
        .find(|path| fields.has(path));
    let remote_outbound = ["recipient_number", "callee_number"]
        .into_iter()
        .find(|path| fields.has(path));
    let direction = fixed_direction.or(match (remote_inbound, remote_outbound) {
        (Some(_), None) => Some(Direction::Inbound),
        (None, Some(_)) => Some(Direction::Outbound),
        _ => None,
    });
    let remote = match direction {
        Some(Direction::Outbound) => remote_outbound,
        _ => remote_inbound,
    };
    let mut address = |path: Option<&str>| {
        let path = path?;
        if is_call {
            fields.phone(path)
        } else {
            fields.message_address(path)
        }
    };
    let own = address(Some("virtual_number"));
    let remote = address(remote);
    let (from, to) = match direction {
        Some(Direction::Outbound) => (own, remote),
        _ => (remote, own),
    };
    let (own_id, other_id) = if is_call {
        ("call_id", "message_id")
    } else {
        ("message_id", "call_id")
    };
    let object_id = fields.id(own_id).or_else(|| fields.id(other_id));
    let call_status = fields.text("call_status").map(str::to_ascii_lowercase);
    let id = match (&object_id, event_type, &call_status) {
        (Some(object), EventType::CallStatus, Some(status)) => {
            context.key(&[name, object, status])
        }
        // A status update without its status cannot be told from the call's other updates:
        // only the body itself identifies it.
        (Some(_), EventType::CallStatus, None) => context.derived_key(),
        (Some(object), _, _) => context.key(&[name, object]),
        (None, _, _) => context.derived_key(),
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.occurred_at = fields.time("timestamp");
    event.from = from;
    event.to = to;
    if is_call {
        event.call = Some(Call {
            id: object_id,
            direction,
            status: call_status,
            voicemail_url: fields.text("voicemail_url").map(String::from),
            duration_seconds: fields.count("duration"),
        });
    } else {
        if event_type == EventType::MessageSent {
            event.status = Some(StatusInfo::new(DeliveryStatus::Sent, "sms_sent"));
        }
        event.message = Some(Message {
            id: object_id,
            direction,
            text: fields.text("message_content").map(String::from),
            reference: None,
            error: None,
        });
    }
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// Every documented event, plus the outbound call and status update the docs describe.
const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("incoming_call", EventType::CallIncoming),
    SampleKind::new("missed_call", EventType::CallMissed),
    SampleKind::new("call_completed", EventType::CallCompleted),
    SampleKind::new("call_status_update", EventType::CallStatus),
    SampleKind::new("voicemail_received", EventType::VoicemailReceived),
    SampleKind::new("sms_sent", EventType::MessageSent),
    SampleKind::new("sms_received", EventType::MessageReceived),
];

/// A call answered, reported before the ringing that preceded it.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("call_status_update", "call_status", "answered"),
    ("call_status_update", "call_status", "ringing"),
];

/// The docs' samples (same numbers and times).
fn sample(kind: &str) -> Option<Value> {
    let call = |call_id: &str, status: &str, timestamp: &str| {
        serde_json::json!({
            "event": kind, "call_id": call_id, "virtual_number": "+15551234567",
            "caller_number": "+18887654321", "timestamp": timestamp, "call_status": status,
        })
    };
    Some(match kind {
        "incoming_call" => call("123456", "ringing", "2025-01-30T14:00:00Z"),
        "missed_call" => call("789012", "missed", "2025-01-30T14:05:00Z"),
        "call_status_update" => call("123456", "answered", "2025-01-30T14:00:09Z"),
        "call_completed" => serde_json::json!({
            "event": kind, "call_id": "901234", "virtual_number": "+15551234567",
            "callee_number": "+18887654321", "duration": 125, "call_status": "completed",
            "timestamp": "2025-01-30T14:30:00Z",
        }),
        "voicemail_received" => serde_json::json!({
            "event": kind, "call_id": "567890", "virtual_number": "+15551234567",
            "caller_number": "+18887654321",
            "voicemail_url": "https://limephone.io/voicemails/123456",
            "timestamp": "2025-01-30T14:10:00Z",
        }),
        "sms_sent" => serde_json::json!({
            "event": kind, "message_id": "234567", "virtual_number": "+15551234567",
            "recipient_number": "+18887654321",
            "message_content": "Your appointment is confirmed!",
            "timestamp": "2025-01-30T14:15:00Z",
        }),
        "sms_received" => serde_json::json!({
            "event": kind, "message_id": "345678", "virtual_number": "+15551234567",
            "sender_number": "+18887654321",
            "message_content": "Hi, I'd like more details.",
            "timestamp": "2025-01-30T14:20:00Z",
        }),
        _ => return None,
    })
}

/// The key is `<event>:<call_id|message_id>[:<status>]`: a new id is a new event.
fn identity(kind: &str, serial: u64) -> Value {
    let field = if kind.starts_with("sms_") {
        "message_id"
    } else {
        "call_id"
    };
    let mut overrides = Map::new();
    overrides.insert(String::from(field), Value::String(serial.to_string()));
    Value::Object(overrides)
}
