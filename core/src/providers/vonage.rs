//! Vonage Messages API webhooks: message status callbacks and inbound messages (SMS, MMS,
//! WhatsApp, Viber, Messenger, RCS), as signed webhooks.
//!
//! Auth: `Authorization: Bearer <JWT>`, HS256 with the account's signature secret
//! (`jwt_hs256`; several for rotation). Claims (Nexmo/station
//! `_documentation/en/messages/concepts/signed-webhooks.md`): `iat`, `jti`, `iss: "Vonage"`,
//! `payload_hash` = hex SHA-256 of the raw body, `api_key`, `application_id`. The JWT signs its
//! claims, not the body: **`payload_hash` must equal the body's hash** — the official SDKs
//! skip that check (vonage-python-sdk `verify_jwt.py`, vonage-ruby-sdk `jwt.rb`), which lets one
//! captured token carry any body; telhook never does. Only the HMAC family is accepted
//! (vonage-node-sdk also takes RS256: algorithm confusion). `iat` may not be older than the
//! dedupe window (a replay older than that could not be told from a new delivery) nor more
//! than five minutes ahead.
//!
//! Not received here: the SMS API's `sig`-signed webhooks (GET or form bodies, MD5/SHA
//! HMACs) — a different protocol, not yet supported.
//!
//! Idempotency key: `vonage:<message_uuid>:<status>` for a status (one message gets several),
//! `vonage:<message_uuid>` for an inbound message; the body's hash without a `message_uuid`.
//! `jti` changes with every signing, so it cannot tell a redelivery from a new event.

use alloc::string::String;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{defaults, Context, Payload, Provider, Spec};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError, StatusInfo,
};
use crate::fields::Fields;
use crate::kit::{self, SampleKind, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// Vonage documents resending an unacknowledged webhook "for the next 24 hours" (SMS API,
/// developer.vonage.com/messaging/sms/guides/inbound-sms) but no schedule or timeout for
/// the Messages API: assumed the same horizon, with GatewayAPI-like backoff and a 5 s timeout.
const RETRY: RetrySchedule = RetrySchedule {
    documented: false,
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
    named_by_headers: defaults::named_by_no_header,
    body_matches,
    parse: |raw| Ok(Payload::Vonage(super::from_value(raw)?)),
    normalize,
    message_parts: defaults::one_part,
    #[cfg(feature = "kit")]
    schemes: SCHEMES,
    user_agent: None,
    #[cfg(feature = "kit")]
    sign,
    #[cfg(feature = "kit")]
    sign_expired,
    #[cfg(feature = "kit")]
    sample_kinds: SAMPLE_KINDS,
    #[cfg(feature = "kit")]
    sample,
    #[cfg(feature = "kit")]
    encode_sample: defaults::sent_as_is,
    #[cfg(feature = "kit")]
    identity,
    redacted_keys: &[],
    out_of_order: Some(OUT_OF_ORDER),
    methods: defaults::POST_ONLY,
    decode: defaults::json_body,
};

/// The top-level payload type (`Payload::Vonage`).
pub type Body = MessagesWebhook;

/// A Messages API status or inbound message; every field but the envelope's kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

const SCHEMES: &[Scheme] = &[Scheme::JwtHs256];

/// How far ahead of the receiver's clock `iat` may be.
const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// How long ago a JWT made by `sign_expired` was issued, beyond the dedupe window.
const EXPIRED_BY_SECS: i64 = 60;

fn verify(request: &WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
    if credentials.jwt_hs256.is_empty() {
        return Err(Error::MissingCredentials { provider: "vonage" });
    }
    let token = scheme::split_auth_scheme(request.authorization()?, "Bearer").ok_or(
        Error::InvalidAuthorizationFormat {
            reason: "expected the Bearer scheme with a JWT",
        },
    )?;
    let claims = scheme::jwt::verify(&credentials.jwt_hs256, "authorization", token, now)?;
    let hash = claims
        .get("payload_hash")
        .and_then(Value::as_str)
        .ok_or(Error::JwtPayloadMismatch)?;
    let body_hash = hex::encode(Sha256::digest(&request.body));
    if !hash.eq_ignore_ascii_case(&body_hash) {
        return Err(Error::JwtPayloadMismatch);
    }
    let issued = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Error::JwtMalformed {
            reason: "the Vonage JWT carries no integer iat",
        })?;
    if issued > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(Error::JwtNotYetValid);
    }
    if issued < now.saturating_sub(dedupe_window_secs()) {
        return Err(Error::JwtExpired);
    }
    Ok(())
}

/// A signed delivery older than this would no longer be caught as a duplicate.
fn dedupe_window_secs() -> i64 {
    i64::from(RETRY.dedupe_ttl_secs())
}

/// The Messages API envelope: `message_uuid` and `channel`.
fn body_matches(body: &Map<String, Value>) -> bool {
    body.contains_key("message_uuid") && body.contains_key("channel")
}

/// Messages API statuses (developer.vonage.com messages-status-callbacks): `submitted` (to the
/// carrier), then `delivered`, `read`, `rejected` or `undeliverable`.
fn status_of(word: &str) -> DeliveryStatus {
    match word {
        "submitted" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "rejected" => DeliveryStatus::Rejected,
        "undeliverable" | "failed" => DeliveryStatus::Failed,
        _ => DeliveryStatus::Unknown,
    }
}

/// Channels whose `from`/`to` are phone numbers (or short codes and sender ids); Messenger
/// and Viber carry the provider's own user ids, which are no address telhook reads.
fn phone_channel(channel: &str) -> bool {
    matches!(channel, "sms" | "mms" | "whatsapp" | "rcs")
}

fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let uuid = fields.id("message_uuid");
    let channel = fields.text("channel").unwrap_or("unknown");
    // The kind by which keys are present, never by their types.
    let is_status = fields.has("status");
    let status = fields.text("status");
    let (event_type, name) = match (is_status, &uuid) {
        (true, _) => (EventType::MessageStatus, "message_status"),
        (false, Some(_)) => (EventType::MessageReceived, "inbound_message"),
        (false, None) => (EventType::Other, "unknown"),
    };
    let id = match (&uuid, status, is_status) {
        (Some(uuid), Some(status), _) => context.key(&[uuid, status]),
        (Some(uuid), None, false) => context.key(&[uuid]),
        _ => context.derived_key(),
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.occurred_at = fields.time("timestamp");
    if phone_channel(channel) {
        event.from = fields.message_address("from");
        event.to = fields.message_address("to");
    }
    if is_status {
        let word = status.unwrap_or_default();
        event.status = Some(StatusInfo::new(status_of(word), word));
    }
    if event_type != EventType::Other {
        let error = if fields.has("error") {
            let code = fields.id("error.title");
            let description = fields.text("error.detail").map(String::from);
            (code.is_some() || description.is_some()).then_some(ProviderError { code, description })
        } else {
            None
        };
        event.message = Some(Message {
            id: uuid,
            direction: Some(if is_status {
                Direction::Outbound
            } else {
                Direction::Inbound
            }),
            text: fields.text("text").map(String::from),
            reference: fields.text("client_ref").map(String::from),
            error,
        });
    }
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

fn sign(
    _scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<()> {
    add_jwt(request, credentials, now)
}

/// A JWT issued just beyond the dedupe window: a replay telhook could no longer dedupe.
fn sign_expired(request: &mut WebhookRequest, credentials: &Credentials, now: i64) -> Result<bool> {
    if !Scheme::JwtHs256.is_configured(credentials) {
        return Ok(false);
    }
    let issued = now
        .saturating_sub(dedupe_window_secs())
        .saturating_sub(EXPIRED_BY_SECS);
    add_jwt(request, credentials, issued)?;
    Ok(true)
}

/// The claims Vonage signs, with the body's hash.
fn add_jwt(request: &mut WebhookRequest, credentials: &Credentials, issued: i64) -> Result<()> {
    let secret = kit::first(&credentials.jwt_hs256, Provider::Vonage)?;
    let claims = serde_json::json!({
        "iat": issued,
        "jti": kit::uuid_like("vonage-jti", u64::try_from(issued).unwrap_or_default()),
        "iss": "Vonage",
        "payload_hash": hex::encode(Sha256::digest(&request.body)),
        "api_key": "a1b2c3d",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    });
    let token = kit::jwt(secret, &claims);
    kit::add_header(request, "Authorization", alloc::format!("Bearer {token}"));
    Ok(())
}

const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("message_status", EventType::MessageStatus),
    SampleKind::new("inbound_message", EventType::MessageReceived),
];

/// A message delivered, reported before its `submitted` status.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("message_status", "status", "delivered"),
    ("message_status", "status", "submitted"),
];

/// The shapes of Vonage's Messages API docs (status callback, inbound SMS).
fn sample(kind: &str) -> Option<Value> {
    Some(match kind {
        "message_status" => serde_json::json!({
            "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
            "to": "447700900000", "from": "447700900001",
            "timestamp": "2026-03-02T09:00:03Z", "status": "delivered",
            "usage": {"currency": "EUR", "price": "0.0333"},
            "client_ref": "order-1042", "channel": "sms",
        }),
        "inbound_message" => serde_json::json!({
            "channel": "sms", "message_uuid": "bbbbbbbb-cccc-dddd-eeee-0123456789ab",
            "to": "447700900000", "from": "447700900001",
            "timestamp": "2026-03-02T10:00:00Z", "text": "Hello From Vonage!",
            "message_type": "text", "sms": {"num_messages": "1", "keyword": "HELLO"},
            "usage": {"currency": "EUR", "price": "0.0333"},
        }),
        _ => return None,
    })
}

/// The key is the message's uuid (and status): a new uuid is a new event.
fn identity(kind: &str, serial: u64) -> Value {
    serde_json::json!({"message_uuid": kit::uuid_like(kind, serial)})
}
