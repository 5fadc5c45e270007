//! Lisoloo SMS status webhooks.
//!
//! Auth: optional HTTP Basic, configured on the API key. Lisoloo has announced an
//! `X-Lisoloo-Signature`; when `hmac_sha256` secrets are configured it is required and
//! checked as a hex/base64 HMAC-SHA256 of the raw body (provisional until Lisoloo publishes
//! the format — configuring it is the opt-in, so nothing changes for existing users).
//! Idempotency key: `lisoloo:<event_id>`.

use alloc::string::String;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{defaults, Provider, Spec, BodyKeys, HeaderNames};
use super::{Context, IdValue};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError, StatusInfo,
};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::fields::Fields;
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// Lisoloo: "up to 4 attempts … 30s → 2m → 10m → 1h. After 4 failures the event is dropped."
/// Four delays are listed, so we read it as the first delivery plus four retries (five
/// deliveries). The other reading (four in total) would leave the 1 h delay unused; ours is
/// also the safe one for dedupe, as it gives the longer horizon. Any 4xx drops the event.
const RETRY: RetrySchedule = RetrySchedule {
    documented: true,
    timeout_secs: 5,
    retry_delays_secs: &[30, 120, 600, 3600],
    jitter: false,
    ack_statuses: StatusRange::ANY_2XX,
    permanent_failure_statuses: Some(StatusRange::ANY_4XX),
    identical_bodies_can_be_new_events: false,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify: |request, credentials, _now| verify(request, credentials),
    named_by_headers,
    body_matches,
    #[cfg(feature = "inspect")]
    parse: |raw| Ok(super::Payload::Lisoloo(super::from_value(raw)?)),
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

/// The top-level payload type (`Payload::Lisoloo`).
pub type Body = LisolooEvent;

pub const SIGNATURE_HEADER: &str = "X-Lisoloo-Signature";

/// The Lisoloo envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LisolooEvent {
    pub event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<LisolooData>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Per-event data; only `recipient_phone` is common to every event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LisolooData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<IdValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn verify(request: &WebhookRequest, credentials: &Credentials) -> Result<()> {
    if credentials.basic.is_empty() && credentials.hmac_sha256.is_empty() {
        return Err(Error::MissingCredentials {
            provider: "lisoloo",
        });
    }
    if !credentials.hmac_sha256.is_empty() {
        match scheme::hmac::verify_request_header(&credentials.hmac_sha256, request, SIGNATURE_HEADER) {
            // Configured ahead of Lisoloo sending it: a request that proves itself by Basic
            // without the signature is the receiver's mistake, not a forgery, and a 401 would
            // make Lisoloo drop every event. A 500 is retried, and names the field to remove.
            // (A forger who knows the Basic pair gains nothing: the event is refused as well.)
            Err(Error::MissingSignature { .. })
                if !credentials.basic.is_empty()
                    && request.authorization().is_ok_and(|header| {
                        scheme::basic::verify_header(&credentials.basic, header).is_ok()
                    }) =>
            {
                return Err(Error::InvalidCredentials {
                    reason: "credentials.hmac_sha256: configured for Lisoloo, whose deliveries \
                             (authenticated by Basic) carry no X-Lisoloo-Signature yet; remove \
                             it until Lisoloo sends one",
                });
            }
            result => result?,
        }
    }
    if !credentials.basic.is_empty() {
        scheme::basic::verify_header(&credentials.basic, request.authorization()?)?;
    }
    Ok(())
}

/// Basic today; the announced signature when a secret for it is configured.
const SCHEMES: &[Scheme] = &[Scheme::Basic, Scheme::HmacSha256];

fn sign(
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
) -> Result<()> {
    match scheme {
        Scheme::HmacSha256 => kit::add_hmac_hex_header(
            request,
            credentials,
            Provider::Lisoloo,
            SIGNATURE_HEADER,
            "",
        ),
        _ => kit::add_basic(request, credentials, Provider::Lisoloo),
    }
}

/// Its signature header names Lisoloo.
fn named_by_headers(headers: &HeaderNames<'_>) -> bool {
    headers.has(SIGNATURE_HEADER)
}

fn body_matches(body: &BodyKeys<'_>) -> bool {
    body.has("event_id") && body.has("event_type") && !body.has("event")
}

/// Lisoloo's lifecycle words, with the failure words other SMS APIs use for the same thing.
fn status_of(word: &str) -> Option<DeliveryStatus> {
    Some(match word {
        "pending" => DeliveryStatus::Accepted,
        "processing" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "failed" | "undelivered" | "undeliverable" => DeliveryStatus::Failed,
        "expired" => DeliveryStatus::Expired,
        "rejected" => DeliveryStatus::Rejected,
        "canceled" | "cancelled" => DeliveryStatus::Canceled,
        _ => return None,
    })
}

fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let name = fields.text("event_type").unwrap_or("unknown");
    let word = name.strip_prefix("sms.");
    let status = word.and_then(status_of);
    let event_type = if status.is_some() {
        EventType::MessageStatus
    } else {
        EventType::Other
    };
    let id = match fields.id("event_id") {
        Some(event_id) => context.key(&[&event_id]),
        None => context.derived_key(),
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.occurred_at = fields.time("timestamp");
    event.to = fields.message_address("data.recipient_phone");
    if let (Some(status), Some(word)) = (status, word) {
        event.status = Some(StatusInfo::new(status, word));
    }
    let message_id = fields.id("message_id");
    let code = fields.id("data.error_code");
    let description = fields.text("data.error_message").map(String::from);
    let error = (code.is_some() || description.is_some()).then_some(ProviderError { code, description });
    if message_id.is_some() || status.is_some() {
        event.message = Some(Message {
            id: message_id,
            direction: Some(Direction::Outbound),
            text: None,
            reference: None,
            error,
        });
    }
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// The lifecycle (pending → processing → sent → delivered) and its failure ends.
const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("sms.delivered", EventType::MessageStatus),
    SampleKind::new("sms.pending", EventType::MessageStatus),
    SampleKind::new("sms.processing", EventType::MessageStatus),
    SampleKind::new("sms.sent", EventType::MessageStatus),
    SampleKind::new("sms.failed", EventType::MessageStatus),
    SampleKind::new("sms.expired", EventType::MessageStatus),
    SampleKind::new("sms.rejected", EventType::MessageStatus),
    SampleKind::new("sms.canceled", EventType::MessageStatus),
];

/// Lisoloo does not guarantee order: `delivered` may arrive before `sent`.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("sms.delivered", "timestamp", "2026-05-27T10:15:08Z"),
    ("sms.sent", "timestamp", "2026-05-27T10:15:03Z"),
];

/// The docs' envelope, with error details on the failure statuses.
fn sample(kind: &str) -> Option<Value> {
    SAMPLE_KINDS.iter().find(|k| k.name == kind)?;
    let data = match kind {
        "sms.failed" | "sms.rejected" => serde_json::json!({
            "recipient_phone": "+4512345678", "error_code": 34,
            "error_message": "Absent subscriber",
        }),
        _ => serde_json::json!({"recipient_phone": "+4512345678"}),
    };
    Some(serde_json::json!({
        // One id per kind, so that samples of different kinds are different events.
        "event_id": crate::kit::uuid_like(kind, 0),
        "event_type": kind,
        "timestamp": "2026-05-27T10:15:08Z",
        "message_id": "507f1f77bcf86cd799439011",
        "data": data,
    }))
}

/// The key is `event_id`; `message_id` (24 hex digits, as Lisoloo's) ties statuses together.
fn identity(kind: &str, serial: u64) -> Value {
    serde_json::json!({
        "event_id": crate::kit::uuid_like(kind, serial),
        "message_id": alloc::format!("{serial:024x}"),
    })
}
