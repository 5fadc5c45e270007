//! Telnyx API v2 webhooks: Messaging (`message.received`, `message.sent`, `message.finalized`)
//! and Call Control (`call.initiated`, `call.answered`, `call.hangup`, …), and any other event
//! Telnyx signs (`conference.*`, … as `other`).
//!
//! Auth: Ed25519 (RFC 8032) over `"<telnyx-timestamp>|<raw body>"`; the signature is the
//! standard base64 of 64 bytes in `telnyx-signature-ed25519`, the key the standard base64 of
//! the 32-byte public key shown in Mission Control (`ed25519_public_key`; several for
//! rotation). As every official SDK does (telnyx-python `lib/webhook_verification.py`,
//! telnyx-node `src/lib/webhooks.ts`, telnyx-php, telnyx-java), the timestamp must be whole
//! UNIX seconds within 300 s of the receiver's clock in either direction (exactly 300 s
//! passes), checked before the signature. The Stainless-generated `unwrap()` of the SDKs
//! verifies Standard Webhooks HMAC instead: not what Telnyx sends, not accepted here.
//!
//! Envelope: `{"data": {"record_type": "event", "id", "event_type", "occurred_at",
//! "payload": {…}}, "meta": {"attempt", "delivered_to"}}`. Some documented examples (a
//! recorded copy of the delivery-update callback, the SDKs' `conference.floor.changed`
//! fixture) show the event without the `data` wrapper: both forms are read. API v1 names (`call_initiated`, `created_at`) are read as their v2
//! equivalents.
//!
//! Idempotency key: `telnyx:<data.id>`, the event's id, which Telnyx keeps across
//! redeliveries and which differs for every event (each status of a message has its own).
//! `meta.attempt` counts the deliveries of one event: kept in `raw`, never in the key (it
//! would make every redelivery a new event).
//!
//! Per-recipient statuses: a message event carries `payload.to[]`, one entry per recipient
//! with its own `status` (group MMS has several). The event's status is the least advanced
//! recipient's (lowest rank): a message counts as delivered only when every recipient has
//! it, and one recipient's failure is final for the message only when no recipient is still
//! under way. `to` is the recipient when there is one (a status of a message to several is
//! the message's, `to` null; an inbound one's is the first); `raw` keeps every recipient's status.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{defaults, Context, Provider, Spec, BodyKeys, HeaderNames};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    Call, DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError,
    StatusInfo,
};
use crate::fields::Fields;
use crate::kit::{self, SampleKind, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// Telnyx documents (developers.telnyx.com/docs/messaging/messages/receiving-webhooks):
/// "Return a 2xx status code within 2 seconds"; if not, "Telnyx retries (up to 3 attempts
/// per URL) and then tries your failover URL". The failover URL is usually another instance
/// of the same receiver sharing its dedupe store, so the schedule counts both: 6 deliveries.
/// The delays between attempts are **not documented** (Call Control's per-call
/// `webhook_retries_policy` allows at most 6 s in total): assumed short, seconds apart. The
/// in-progress lease follows from them (half the time to the last redelivery, 15 s), so a
/// crashed attempt's claim expires while Telnyx still redelivers.
const RETRY: RetrySchedule = RetrySchedule {
    documented: true,
    timeout_secs: 2,
    // Two retries at the primary URL, then the failover URL's three attempts (assumed
    // seconds apart; the switch to the failover URL counted as one more delay).
    retry_delays_secs: &[5, 10, 5, 5, 5],
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
    parse: |raw| Ok(super::Payload::Telnyx(super::from_value(raw)?)),
    normalize,
    message_parts: defaults::one_part,
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
    json_text_field: None,
    out_of_order: Some(OUT_OF_ORDER),
    methods: defaults::POST_ONLY,
    decode,
    signed_apart: defaults::body_signed,
};

/// The top-level payload type (`Payload::Telnyx`).
pub type Body = Webhook;

/// A Telnyx webhook: the `data` envelope (absent in the docs' unwrapped form), `meta`, and
/// every other field kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

const SCHEMES: &[Scheme] = &[Scheme::Ed25519PublicKey];

const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// The official SDKs' default tolerance, in both directions.
const TOLERANCE_SECS: u32 = 300;
/// How far beyond the tolerance `sign_expired` signs.
const EXPIRED_BY_SECS: i64 = 1;

fn verify(request: &WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
    if credentials.ed25519_public_key.is_empty() {
        return Err(Error::MissingCredentials { provider: "telnyx" });
    }
    let signature = present(request.header(SIGNATURE_HEADER)?).ok_or(Error::MissingSignature {
        header: SIGNATURE_HEADER,
    })?;
    let timestamp = present(request.header(TIMESTAMP_HEADER)?).ok_or(Error::MissingSignature {
        header: TIMESTAMP_HEADER,
    })?;
    let seconds = unix_seconds(timestamp).ok_or(Error::InvalidSignatureFormat {
        header: TIMESTAMP_HEADER,
        reason: "expected whole UNIX seconds",
    })?;
    if now.abs_diff(seconds) > u64::from(TOLERANCE_SECS) {
        return Err(Error::TimestampOutOfTolerance {
            header: TIMESTAMP_HEADER,
            tolerance_secs: TOLERANCE_SECS,
        });
    }
    let message = signed_message(timestamp, &request.body);
    scheme::ed25519::verify(
        &credentials.ed25519_public_key,
        &message,
        signature,
        SIGNATURE_HEADER,
    )
}

/// A header value, unless empty (the SDKs refuse an empty header as a missing one).
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// ASCII digits only (no sign, no fraction), as the SDKs' integer parse accepts them; up to
/// 18 digits, so a clock in milliseconds reads as far ahead rather than as malformed.
fn unix_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `<timestamp>|<body>`, the bytes Telnyx signs.
fn signed_message(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    message
}

/// Only Telnyx sends `telnyx-signature-ed25519` / `telnyx-timestamp`.
fn named_by_headers(headers: &HeaderNames<'_>) -> bool {
    [SIGNATURE_HEADER, TIMESTAMP_HEADER]
        .iter()
        .any(|name| headers.has(name))
}

/// The v2 envelope: `data.record_type` is `"event"` and `data.event_type` a string.
fn body_matches(body: &BodyKeys<'_>) -> bool {
    body.get("data")
        .and_then(Value::as_object)
        .is_some_and(|data| {
            data.get("record_type").and_then(Value::as_str) == Some("event")
                && data.get("event_type").is_some_and(Value::is_string)
        })
}

/// The paths of one form of the envelope (with or without `data`). Static, as the time
/// reader names its field in errors.
struct Form {
    id: &'static str,
    event_type: &'static str,
    occurred_at: &'static str,
    payload_occurred_at: &'static str,
    created_at: &'static str,
    payload: &'static str,
}

const WRAPPED: Form = Form {
    id: "data.id",
    event_type: "data.event_type",
    occurred_at: "data.occurred_at",
    payload_occurred_at: "data.payload.occurred_at",
    created_at: "data.created_at",
    payload: "data.payload",
};

const UNWRAPPED: Form = Form {
    id: "id",
    event_type: "event_type",
    occurred_at: "occurred_at",
    payload_occurred_at: "payload.occurred_at",
    created_at: "created_at",
    payload: "payload",
};

/// Recipient statuses (Telnyx Messaging `to[].status`): `queued` and `sending` at Telnyx,
/// `sent` to the carrier, then `delivered`, `sending_failed`, `delivery_failed`, or
/// `delivery_unconfirmed` (the carrier took it and will confirm nothing: final).
fn status_of(word: &str) -> DeliveryStatus {
    match word {
        "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "sending_failed" | "delivery_failed" | "failed" => DeliveryStatus::Failed,
        "delivery_unconfirmed" => DeliveryStatus::CarrierAccepted,
        "expired" => DeliveryStatus::Expired,
        // RCS read receipts (`message.read`, its recipients' status).
        "read" => DeliveryStatus::Read,
        _ => DeliveryStatus::Unknown,
    }
}

/// Hang-up causes of an inbound call that was never taken.
fn unanswered(cause: &str) -> bool {
    matches!(
        cause,
        "originator_cancel" | "timeout" | "no_answer" | "user_busy" | "call_rejected"
    )
}

/// A JSON body, or TeXML's form (its callbacks are `application/x-www-form-urlencoded`
/// PascalCase fields, signed like every other Telnyx webhook: team-telnyx/telnyx-php#96).
fn decode(request: &WebhookRequest) -> Result<Value> {
    if is_texml_form(request)? {
        return Ok(defaults::form_object(&request.body));
    }
    defaults::json_body(request)
}

fn is_texml_form(request: &WebhookRequest) -> Result<bool> {
    Ok(request.declares_form()? && !crate::json_read::opens_an_object(&request.body))
}

fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    if raw.get("CallSid").is_some() {
        return texml_event(raw, context);
    }
    let mut fields = Fields::new(&raw);
    let form = if raw.get("data").is_some() {
        &WRAPPED
    } else {
        &UNWRAPPED
    };
    let event_id = fields.id(form.id);
    let name = fields.text(form.event_type).unwrap_or("unknown");
    // API v1 spelled `call.initiated` as `call_initiated`.
    let canonical = if name.contains('.') {
        String::from(name)
    } else {
        name.replace('_', ".")
    };
    let payload = |path: &str| alloc::format!("{}.{path}", form.payload);
    let id = match &event_id {
        Some(id) => context.key(&[id]),
        None => context.derived_key(),
    };
    let occurred_at = fields
        .time(form.occurred_at)
        .or_else(|| fields.time(form.payload_occurred_at))
        .or_else(|| fields.time(form.created_at));
    let mut event = if let Some(kind) = canonical.strip_prefix("message.") {
        message_event(&mut fields, context, id, name, kind, &payload)
    } else if let Some(state) = canonical.strip_prefix("call.") {
        call_event(&mut fields, context, id, name, state, &payload)
    } else if canonical.starts_with("fax.") {
        // A fax's events name the numbers it went between (`fax.received`: `from`, `to`).
        let mut event = context.event(id, EventType::Other, name, Value::Null);
        event.from = fields.call_party(&payload("from"));
        event.to = fields.call_party(&payload("to"));
        event
    } else {
        context.event(id, EventType::Other, name, Value::Null)
    };
    event.occurred_at = occurred_at;
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// An address that is a string, or an object with `phone_number` (Messaging's form).
fn address(fields: &mut Fields<'_>, path: &str) -> Option<String> {
    match fields.value(path)? {
        Value::Object(object) if object.contains_key("phone_number") => {
            fields.message_address(&alloc::format!("{path}.phone_number"))
        }
        Value::Object(_) => {
            fields.mark_unread(path);
            None
        }
        _ => fields.message_address(path),
    }
}

fn message_event(
    fields: &mut Fields<'_>,
    context: &Context<'_>,
    id: String,
    name: &str,
    kind: &str,
    payload: &dyn Fn(&str) -> String,
) -> NormalizedEvent {
    let (event_type, direction) = match kind {
        "received" => (EventType::MessageReceived, Direction::Inbound),
        "sent" | "finalized" | "read" => (EventType::MessageStatus, Direction::Outbound),
        _ => return context.event(id, EventType::Other, name, Value::Null),
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.from = address(fields, &payload("from"));
    let recipients = fields.array(&payload("to")).map_or(0, Vec::len);
    // A status of a message to several recipients is the message's as a whole (the least
    // advanced recipient's): no one recipient is who it was delivered to, so `to` is null and
    // the ledger's row is the message's. With the first recipient there, a review's group MMS
    // recorded that recipient as failed when another had failed and it had the message.
    if recipients == 1 || (recipients > 1 && event_type == EventType::MessageReceived) {
        event.to = address(fields, &payload("to.0"));
    }
    if event_type == EventType::MessageStatus {
        let mut least: Option<(DeliveryStatus, &str)> = None;
        for index in 0..recipients {
            if let Some(word) = fields.text(&payload(&alloc::format!("to.{index}.status"))) {
                let status = status_of(word);
                if least.map_or(true, |(known, _)| status.rank() < known.rank()) {
                    least = Some((status, word));
                }
            }
        }
        // A read receipt that names no recipient's status is still a read.
        let unnamed = if kind == "read" {
            (DeliveryStatus::Read, "read")
        } else {
            (DeliveryStatus::Unknown, "")
        };
        let (status, word) = least.unwrap_or(unnamed);
        event.status = Some(StatusInfo::new(status, word));
    }
    let errors = fields.array(&payload("errors")).map_or(0, Vec::len);
    let error = (errors > 0)
        .then(|| {
            let code = fields.id(&payload("errors.0.code"));
            let description = fields
                .text(&payload("errors.0.detail"))
                .or_else(|| fields.text(&payload("errors.0.title")))
                .map(String::from);
            (code.is_some() || description.is_some()).then_some(ProviderError { code, description })
        })
        .flatten();
    event.message = Some(Message {
        id: fields.id(&payload("id")),
        direction: Some(direction),
        // RCS puts the text in `body.text` (developers.telnyx.com, receiving RCS webhooks).
        text: fields
            .text(&payload("text"))
            .or_else(|| fields.text(&payload("body.text")))
            .map(String::from),
        reference: None,
        error,
    });
    event
}

/// A TeXML callback (Twilio-style PascalCase fields, developers.telnyx.com/api-reference/
/// callbacks/texml-*): a call-progress status callback (`CallbackSource`) is keyed by the call,
/// its status and its `SequenceNumber`, which a redelivery repeats; a recording's or a
/// transcription's callback by its own sid and status; a request carrying the caller's input
/// (`Digits`, `SpeechResult`: a `<Gather>` action) by what Telnyx signed, its
/// `telnyx-timestamp` and its body, since the body alone does not tell two apart — a caller who
/// presses 1 at two menus of one call sends the same body twice (the TexmlGatherWebhook example
/// has no time and no sequence number), and the second was answered `duplicate`; a redelivery
/// of it, signed anew, runs again. Any other request by its body.
fn texml_event(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let call_sid = fields.id("CallSid");
    let word = fields.text("CallStatus").unwrap_or_default();
    let status_callback = fields.has("CallbackSource");
    let sequence = fields.id("SequenceNumber");
    let about = defaults::recording_callback(&mut fields);
    let id = match (&call_sid, &about) {
        (Some(sid), _) if status_callback && !word.is_empty() => {
            let mut key = alloc::vec!["texml", sid.as_str(), word];
            key.extend(sequence.as_deref());
            context.key(&key)
        }
        (_, Some((kind, sid, status))) => {
            let mut key = alloc::vec!["texml", *kind, sid.as_str()];
            key.extend(*status);
            context.key(&key)
        }
        _ => match context.header(TIMESTAMP_HEADER) {
            Some(timestamp) if fields.has("Digits") || fields.has("SpeechResult") => {
                context.derived_key_after(alloc::format!("{timestamp}|").as_bytes())
            }
            _ => context.derived_key(),
        },
    };
    // Only the status callback says the call ended; another request of the call may repeat
    // `completed` (as Twilio's do, whose fields TeXML copies).
    let event_type = match word {
        _ if about.is_some() => EventType::Other,
        "completed" if status_callback => EventType::CallCompleted,
        _ => EventType::CallStatus,
    };
    let name = match &about {
        Some((kind, ..)) => kind,
        None if status_callback => "texml_call_status",
        None => "texml_request",
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.occurred_at = fields.time("Timestamp");
    event.from = fields.call_party("From");
    event.to = fields.call_party("To");
    event.call = Some(Call {
        id: call_sid,
        direction: None,
        status: Call::status_from(word),
        voicemail_url: None,
        duration_seconds: fields.count("CallDuration"),
    });
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

fn call_event(
    fields: &mut Fields<'_>,
    context: &Context<'_>,
    id: String,
    name: &str,
    state: &str,
    payload: &dyn Fn(&str) -> String,
) -> NormalizedEvent {
    let direction_path = payload("direction");
    let direction = match fields.text(&direction_path) {
        Some("incoming") => Some(Direction::Inbound),
        Some("outgoing") => Some(Direction::Outbound),
        Some(_) => {
            fields.mark_unread(&direction_path);
            None
        }
        None => None,
    };
    let inbound = direction == Some(Direction::Inbound);
    // What a call produced or was told, not a change of the call: a recording's and a
    // transcription's events, and the caller's input (`call.gather.ended`, `call.dtmf.received`,
    // `call.ai_gather.ended`), `other` as Twilio's and Vonage's recordings, transcriptions and
    // input are (a review).
    let about_the_call = ["recording.", "transcription", "gather.", "ai_gather.", "dtmf."]
        .iter()
        .any(|kind| state.starts_with(kind));
    let event_type = match state {
        _ if about_the_call => EventType::Other,
        "initiated" if inbound => EventType::CallIncoming,
        // A hang-up before the call was taken is a missed call when it came in; Telnyx's
        // `call.hangup` carries no `direction` as its docs show it (and as a logged delivery
        // has it: only `call.initiated` has one), and an outgoing call that no one took is
        // no completed call either: both a call status.
        "hangup" => match fields.text(&payload("hangup_cause")) {
            Some(cause) if unanswered(cause) && inbound => EventType::CallMissed,
            Some(cause) if unanswered(cause) => EventType::CallStatus,
            _ => EventType::CallCompleted,
        },
        _ => EventType::CallStatus,
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.from = fields.call_party(&payload("from"));
    event.to = fields.call_party(&payload("to"));
    let duration_seconds = if state == "hangup" {
        let start = seconds(fields, &payload("start_time"));
        let end = seconds(fields, &payload("end_time"));
        start
            .zip(end)
            .and_then(|(start, end)| u64::try_from(end - start).ok())
    } else {
        None
    };
    event.call = Some(Call {
        id: fields.id(&payload("call_control_id")),
        direction,
        status: (!about_the_call).then(|| String::from(state)),
        voicemail_url: None,
        duration_seconds,
    });
    event
}

/// A textual timestamp as UNIX seconds; unreadable ones listed.
fn seconds(fields: &mut Fields<'_>, path: &str) -> Option<i64> {
    let text = fields.text(path)?;
    let read = crate::time::parse_unix_seconds(text, "telnyx time").ok();
    if read.is_none() {
        fields.mark_unread(path);
    }
    read
}

fn sign(
    _scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<()> {
    add_signature(request, credentials, now)
}

/// Signed just beyond the tolerance.
fn sign_expired(request: &mut WebhookRequest, credentials: &Credentials, now: i64) -> Result<bool> {
    if !Scheme::Ed25519PublicKey.is_configured(credentials) {
        return Ok(false);
    }
    let signed_at = now
        .saturating_sub(i64::from(TOLERANCE_SECS))
        .saturating_sub(EXPIRED_BY_SECS);
    add_signature(request, credentials, signed_at)?;
    Ok(true)
}

/// `telnyx-signature-ed25519` and `telnyx-timestamp`, signed with the RFC 8032 test key
/// whose public key is configured (the test kit holds no real private key).
fn add_signature(request: &mut WebhookRequest, credentials: &Credentials, at: i64) -> Result<()> {
    let timestamp = alloc::format!("{at}");
    let message = signed_message(&timestamp, &request.body);
    let signature = kit::ed25519_signature(credentials, Provider::Telnyx, &message)?;
    kit::add_header(request, SIGNATURE_HEADER, signature);
    kit::add_header(request, TIMESTAMP_HEADER, timestamp);
    Ok(())
}

const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("message.received", EventType::MessageReceived),
    SampleKind::new("message.sent", EventType::MessageStatus),
    SampleKind::new("message.finalized", EventType::MessageStatus),
    SampleKind::new("call.initiated", EventType::CallIncoming),
    SampleKind::new("call.answered", EventType::CallStatus),
    SampleKind::new("call.hangup", EventType::CallCompleted),
];

/// A message finalized (delivered) reported before its `message.sent`.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("message.finalized", "data.occurred_at", "2026-03-02T09:00:08.000Z"),
    ("message.sent", "data.occurred_at", "2026-03-02T09:00:03.000Z"),
];

/// The shapes of Telnyx's docs (inbound message event, delivery update, Call Control events).
fn sample(kind: &str) -> Option<Value> {
    let envelope = |event_type: &str, id: &str, at: &str, payload: Value| {
        serde_json::json!({
            "data": {
                "event_type": event_type, "id": id, "occurred_at": at,
                "payload": payload, "record_type": "event",
            },
            "meta": {"attempt": 1, "delivered_to": "https://example.com/hooks/telnyx"},
        })
    };
    let outbound = |status: &str, sent_at: Value, completed_at: Value| {
        serde_json::json!({
            "record_type": "message", "direction": "outbound",
            "id": "40385f64-5717-4562-b3fc-2c963f66afa6", "type": "SMS",
            "messaging_profile_id": "4000eba1-a0c0-4563-9925-b25e842a7cb6",
            "from": {"phone_number": "+18445550001", "carrier": "TELNYX LLC", "line_type": "VoIP"},
            "to": [{"phone_number": "+18665550001", "status": status,
                    "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"}],
            "cc": [], "text": "Hello, World!", "media": [], "encoding": "GSM-7", "parts": 1,
            "tags": [], "errors": [],
            "cost": {"amount": "0.0051", "currency": "USD"},
            "received_at": "2026-03-02T09:00:00.574Z", "sent_at": sent_at,
            "completed_at": completed_at, "valid_until": null,
        })
    };
    let call = |state: &str| {
        serde_json::json!({
            "call_control_id": "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg",
            "call_leg_id": "428c31b6-7af4-4bcb-b7f5-5013ef9657c1",
            "call_session_id": "428c31b6-abf3-3bc1-b7f4-5013ef9657c1",
            "connection_id": "1494404757140276705", "client_state": null,
            "from": "+18665550001", "to": "+18445550001", "direction": "incoming",
            "state": state,
        })
    };
    Some(match kind {
        "message.received" => envelope(
            "message.received",
            "bf6307bd-884d-4c1f-b6ea-c62b8c495d3c",
            "2026-03-02T10:00:00.574Z",
            serde_json::json!({
                "record_type": "message", "direction": "inbound",
                "id": "7ee4241c-f127-47e5-9c34-3aac291f8058", "type": "SMS",
                "messaging_profile_id": "0f512bda-ae1e-4597-8e11-e5f5686b97d3",
                "from": {"phone_number": "+18665550001", "carrier": "T-MOBILE USA, INC.", "line_type": "Wireless"},
                "to": [{"phone_number": "+18445550001", "status": "webhook_delivered",
                        "carrier": "TELNYX LLC", "line_type": "VoIP"}],
                "cc": [], "text": "Hello, World!", "media": [], "encoding": "GSM-7",
                "parts": 1, "tags": [], "errors": [],
                "received_at": "2026-03-02T10:00:00.574Z",
            }),
        ),
        "message.sent" => envelope(
            "message.sent",
            "86f58db9-0fe3-4adc-9d1f-46e66e6e9323",
            "2026-03-02T09:00:03.000Z",
            outbound("sent", Value::from("2026-03-02T09:00:02.900Z"), Value::Null),
        ),
        "message.finalized" => envelope(
            "message.finalized",
            "4ee8c3a6-4995-4309-a3c6-38e3db9ea4be",
            "2026-03-02T09:00:08.000Z",
            outbound(
                "delivered",
                Value::from("2026-03-02T09:00:02.900Z"),
                Value::from("2026-03-02T09:00:07.500Z"),
            ),
        ),
        "call.initiated" => envelope(
            "call.initiated",
            "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0",
            "2026-03-02T11:00:00.000Z",
            call("parked"),
        ),
        "call.answered" => envelope(
            "call.answered",
            "1d9c7b54-4df3-4bca-a65a-3da1ecc777f1",
            "2026-03-02T11:00:04.000Z",
            call("answered"),
        ),
        "call.hangup" => {
            let mut payload = call("hangup");
            if let Value::Object(fields) = &mut payload {
                fields.insert("hangup_cause".into(), "normal_clearing".into());
                fields.insert("hangup_source".into(), "caller".into());
                fields.insert("sip_hangup_cause".into(), "200".into());
                fields.insert("start_time".into(), "2026-03-02T11:00:00.000Z".into());
                fields.insert("end_time".into(), "2026-03-02T11:02:05.000Z".into());
            }
            envelope(
                "call.hangup",
                "2e9c7b54-4df3-4bca-a65a-3da1ecc777f2",
                "2026-03-02T11:02:05.000Z",
                payload,
            )
        }
        _ => return None,
    })
}

/// The key is the event's id; the message (or call) is named by the serial alone, so two
/// kinds of one serial concern the same message.
fn identity(kind: &str, serial: u64) -> Value {
    let event_id = kit::uuid_like(kind, serial);
    if kind.starts_with("call.") {
        serde_json::json!({"data": {"id": event_id, "payload": {
            "call_control_id": alloc::format!("v3:{}", kit::uuid_like("telnyx-call", serial)),
            "call_leg_id": kit::uuid_like("telnyx-call-leg", serial),
        }}})
    } else {
        serde_json::json!({"data": {"id": event_id, "payload": {
            "id": kit::uuid_like("telnyx-message", serial),
        }}})
    }
}
