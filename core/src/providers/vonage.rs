//! Vonage webhooks, both of the account's signing schemes — one provider, because one
//! Vonage account sends both and signs both with the same **signature secret** (Dashboard →
//! Settings; configured as `jwt_hs256`, several for rotation): a user who configures `vonage`
//! gets every signed webhook of the account, and a request is only ever read as the product
//! that signed it.
//!
//! **Messages API** (status callbacks and inbound messages: SMS, MMS, WhatsApp, Viber,
//! Messenger, RCS): `Authorization: Bearer <JWT>`, HS256 keyed with the signature secret
//! (Nexmo/station `_documentation/en/messages/concepts/signed-webhooks.md`: "signed with your
//! signature secret"; "the signature method drop down does not affect … Messages API
//! webhooks, SHA-256 is always used"). Claims: `iat`, `jti`, `iss: "Vonage"`,
//! `payload_hash` = hex SHA-256 of the raw body, `api_key`, `application_id`. The JWT signs its
//! claims, not the body: **`payload_hash` must equal the body's hash** — the official SDKs
//! skip that check (vonage-python-sdk `verify_jwt.py`, vonage-ruby-sdk `jwt.rb`), which lets one
//! captured token carry any body; telhook never does. Only the HMAC family is accepted
//! (vonage-node-sdk also takes RS256: algorithm confusion). `iat` may not be older than the
//! dedupe window (a replay older than that could not be told from a new delivery) nor more
//! than five minutes ahead. A Voice API webhook sent by GET (the answer webhook's default,
//! an event webhook's `event_method=GET`) has no body: its `payload_hash` is of its query
//! parameters as one JSON object, in the order sent, without whitespace (Vonage's support
//! article 19033783342876, "Verifying signed webhooks").
//!
//! **SMS API** (delivery receipts and inbound SMS, as GET query, POST form or POST JSON, by
//! the account's settings): the `sig` parameter, the hex digest of every other parameter
//! sorted by name as `&name=value` (decoded values, `&` and `=` in a value replaced by `_`)
//! keyed with the signature secret by the account's signature method — `md5(string + secret)`
//! ("MD5 hash", the default) or HMAC-MD5/SHA1/SHA256/SHA512 (vonage-php-sdk-core
//! `Signature.php`, vonage-ruby-sdk `signature.rb`, vonage-python-sdk `auth.py`; hex in either
//! case, compared case-insensitively as they do). The request does not name the method; the
//! digest's length does, except MD5 hash vs HMAC-MD5, which are both tried — each keyed with
//! the secret, so accepting the five is no weaker than the weakest the dashboard offers. The
//! string is also tried with blank values and `&`/`=` in names left out, as vonage-java-sdk
//! `RequestSigning.java` builds it. A JSON body is signed through its top-level values.
//! The signed `timestamp` (UNIX seconds) bounds replays: no more than five minutes ahead, no
//! older than the dedupe window — Vonage resends an unacknowledged webhook for 24 hours and
//! the docs do not say whether a resend is signed anew, so vonage-java-sdk's ±5 minutes
//! would refuse real redeliveries; within the window the dedupe catches a replay
//! (`timestamp_out_of_tolerance`). A signed request without `timestamp` is refused
//! (`missing_signature`): nothing would bound its replay.
//!
//! Which scheme: an `Authorization` header is the Messages API's; else a `sig` parameter (in
//! the query of a GET, the form, or the JSON object) is the SMS API's; a JSON body without
//! either is an unsigned Messages callback (`missing_authorization`: Vonage sends some on an
//! internal error and retries after a 5xx), anything else an unsigned SMS webhook.
//!
//! Idempotency keys: `vonage:<message_uuid>:<status>` for a Messages status (one message gets
//! several), `vonage:<message_uuid>` for an inbound message (`jti` changes with every signing,
//! so it cannot tell a redelivery from a new event); `vonage:sms:<messageId>:<status>` for a
//! delivery receipt and `vonage:sms:<messageId>` for an inbound SMS, each with
//! `:part-<concat-part>` for one part of a concatenated message (each part has its own
//! receipt); else the hash of the body (of the parameters for a GET).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{defaults, Context, Provider, Spec, BodyKeys, HeaderNames};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    Call, DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError, StatusInfo,
};
use crate::fields::Fields;
use crate::kit::{self, SampleKind, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify::{self as scheme, digest::Algorithm};

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
    named_by_headers: named_by_sms_params,
    body_matches,
    #[cfg(feature = "inspect")]
    parse: |raw| Ok(super::Payload::Vonage(super::from_value(raw)?)),
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
    redacted_keys: &[SIG],
    json_text_field: None,
    out_of_order: Some(OUT_OF_ORDER),
    methods: &["POST", "GET"],
    decode,
    signed_apart: defaults::body_signed,
};

/// The top-level payload type (`Payload::Vonage`).
pub type Body = MessagesWebhook;

/// A Messages API status or inbound message, or an SMS API parameter object (every field of
/// which is kept in `extra`).
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

/// One secret, the account's signature secret, keys both schemes.
const SCHEMES: &[Scheme] = &[Scheme::JwtHs256];

/// How far ahead of the receiver's clock `iat` or `timestamp` may be.
const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// How long ago a request made by `sign_expired` was signed, beyond the dedupe window.
const EXPIRED_BY_SECS: i64 = 60;
/// The SMS API's signature parameter, and its signed timestamp.
const SIG: &str = "sig";
const TIMESTAMP: &str = "timestamp";
/// Keys only the SMS API's payloads carry (a JSON body with one is an SMS API body).
const SMS_ID: &str = "messageId";
const SMS_NUMBER: &str = "msisdn";

// ------------------------------------------------------------------------------ verification

fn verify(request: &WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
    if credentials.jwt_hs256.is_empty() {
        return Err(Error::MissingCredentials { provider: "vonage" });
    }
    let bearer = request.has_header("authorization")
        && scheme::split_auth_scheme(request.authorization()?, "Bearer").is_some();
    if bearer {
        return verify_jwt(request, credentials, now);
    }
    // A `sig` even under another Authorization (Basic credentials in the configured URL, a
    // proxy's own): the SMS API signs no header.
    let params = sms_params(request);
    if params.iter().any(|(name, _)| name == SIG) {
        return verify_sig(&params, credentials, now);
    }
    if request.has_header("authorization")
        || (is_json(request) && !params.iter().any(|(name, _)| name == SMS_ID))
    {
        // An unsigned Messages API callback.
        return verify_jwt(request, credentials, now);
    }
    Err(Error::MissingSignature { header: SIG })
}

/// The Messages API: a Bearer HS256 JWT whose `payload_hash` is the body's SHA-256.
fn verify_jwt(request: &WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
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
    if !hash.eq_ignore_ascii_case(&payload_hash(request)) {
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

/// The SMS API: `sig` over the other parameters, then the signed `timestamp`'s window.
fn verify_sig(params: &[(String, String)], credentials: &Credentials, now: i64) -> Result<()> {
    let invalid = |reason| Error::InvalidSignatureFormat { header: SIG, reason };
    // Sorted, a repeated name sits beside itself: n log n, where comparing every pair made an
    // unsigned body of many names cost seconds (a review: 512 KiB, 12 s).
    let names = crate::fields::sorted_names(params.iter().map(|(name, _)| name.as_str()));
    if names
        .windows(2)
        .any(|pair| matches!(pair, [(a, _), (b, _)] if a == b))
    {
        // Each is signed once; which of two values was signed cannot be told.
        return Err(invalid("a parameter is repeated; Vonage sends each once"));
    }
    let given = params
        .iter()
        .find(|(name, _)| name == SIG)
        .map(|(_, value)| value.trim())
        .unwrap_or_default();
    let digest = decode_sig(given).ok_or(invalid(
        "expected the hex of an MD5, SHA-1, SHA-256 or SHA-512 digest",
    ))?;
    let standard = signing_string(params, false);
    let java = signing_string(params, true);
    let messages: Vec<&[u8]> = if java == standard {
        alloc::vec![standard.as_bytes()]
    } else {
        alloc::vec![standard.as_bytes(), java.as_bytes()]
    };
    let mut matched = false;
    for algorithm in Algorithm::of_len(digest.len()) {
        matched |=
            scheme::digest::matches_any(algorithm, &credentials.jwt_hs256, &messages, &digest);
    }
    if !matched {
        return Err(Error::SignatureMismatch { header: SIG });
    }
    check_timestamp(params, now)
}

/// The hex digest of a `sig` (either case), of a length one of the methods gives.
fn decode_sig(text: &str) -> Option<Vec<u8>> {
    if !matches!(text.len(), 32 | 40 | 64 | 128) {
        return None;
    }
    hex::decode(text).ok()
}

/// Every parameter but `sig`, sorted by name, as `&name=value` with `&` and `=` in values
/// replaced by `_`. `java`: as vonage-java-sdk builds it — blank values left out, and `&`/`=`
/// replaced in names too.
fn signing_string(params: &[(String, String)], java: bool) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, value)| name != SIG && !(java && value.trim().is_empty()))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let scrub = |text: &str| text.replace(['&', '='], "_");
    let mut joined = String::new();
    for (name, value) in sorted {
        joined.push('&');
        if java {
            joined.push_str(&scrub(name));
        } else {
            joined.push_str(name);
        }
        joined.push('=');
        joined.push_str(&scrub(value));
    }
    joined
}

/// The signed `timestamp`: UNIX seconds, at most five minutes ahead, within the dedupe window
/// (the codes of every signed timestamp: missing, malformed, out of tolerance).
fn check_timestamp(params: &[(String, String)], now: i64) -> Result<()> {
    let text = params
        .iter()
        .find(|(name, _)| name == TIMESTAMP)
        .map(|(_, value)| value.trim())
        .ok_or(Error::MissingSignature { header: TIMESTAMP })?;
    let signed: i64 = text
        .parse()
        .ok()
        .filter(|_| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(Error::InvalidSignatureFormat {
            header: TIMESTAMP,
            reason: "expected UNIX seconds",
        })?;
    let out_of = |tolerance: i64| Error::TimestampOutOfTolerance {
        header: TIMESTAMP,
        tolerance_secs: u32::try_from(tolerance).unwrap_or(u32::MAX),
    };
    if signed > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(out_of(MAX_CLOCK_SKEW_SECS));
    }
    if signed < now.saturating_sub(dedupe_window_secs()) {
        return Err(out_of(dedupe_window_secs()));
    }
    Ok(())
}

/// A signed delivery older than this would no longer be caught as a duplicate.
fn dedupe_window_secs() -> i64 {
    i64::from(RETRY.dedupe_ttl_secs())
}

// ------------------------------------------------------------------------------ body

fn is_get(request: &WebhookRequest) -> bool {
    request.method.eq_ignore_ascii_case("GET")
}

/// A POST whose body is a JSON document (not a form).
fn is_json(request: &WebhookRequest) -> bool {
    !is_get(request) && crate::json_read::opens_an_object(&request.body)
}

/// The `payload_hash` a Messages or Voice API JWT carries for this request: the hex SHA-256 of
/// its body, or of a GET's parameters as JSON.
fn payload_hash(request: &WebhookRequest) -> String {
    let digest = if is_get(request) {
        Sha256::digest(query_as_json(query(request)).as_bytes())
    } else {
        Sha256::digest(&request.body)
    };
    hex::encode(digest)
}

/// A GET's parameters as the JSON object whose SHA-256 Vonage signs as its `payload_hash`: the
/// names in the order first sent, a repeated name's last value (a JavaScript object built from
/// them), strings escaped as `JSON.stringify` escapes them (serde_json's escaping is the same).
fn query_as_json(query: &str) -> String {
    let pairs: Vec<_> = defaults::form_pairs(query.as_bytes()).collect();
    // Which value each position writes: a name's first position writes its last value, its
    // repeats nothing. Repeats found through the one sort every repeated-name check shares.
    let mut value_at: Vec<Option<usize>> = (0..pairs.len()).map(Some).collect();
    let sorted = crate::fields::sorted_names(pairs.iter().map(|(name, _)| name.as_ref()));
    for run in sorted.chunk_by(|a, b| a.0 == b.0) {
        if let (Some(&(_, first)), Some(&(_, last))) = (run.first(), run.last()) {
            for &(_, repeat) in run.iter().skip(1) {
                if let Some(slot) = value_at.get_mut(repeat) {
                    *slot = None;
                }
            }
            if let Some(slot) = value_at.get_mut(first) {
                *slot = Some(last);
            }
        }
    }
    let mut json = String::from("{");
    for (index, (name, _)) in pairs.iter().enumerate() {
        let Some(value) = value_at.get(index).copied().flatten().and_then(|at| pairs.get(at)) else {
            continue;
        };
        if json.len() > 1 {
            json.push(',');
        }
        json.push_str(&Value::from(name.as_ref()).to_string());
        json.push(':');
        json.push_str(&Value::from(value.1.as_ref()).to_string());
    }
    json.push('}');
    json
}

/// A GET's query string (no fragment).
fn query(request: &WebhookRequest) -> &str {
    let url = request.url.as_deref().unwrap_or_default();
    let url = url.split('#').next().unwrap_or_default();
    url.split_once('?').map_or("", |(_, query)| query)
}

/// The parameters as the SMS API signs them, in the order sent: a GET's query, a JSON body's
/// top-level values as text, or a form body's fields. Not JSON when it should be: none.
fn sms_params(request: &WebhookRequest) -> Vec<(String, String)> {
    let form = |bytes: &[u8]| {
        defaults::form_pairs(bytes)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    };
    if is_get(request) {
        return form(query(request).as_bytes());
    }
    if is_json(request) {
        return match crate::json_read::from_bytes::<Value>(&request.body) {
            Ok(Value::Object(object)) => object
                .into_iter()
                .map(|(name, value)| (name, value_text(value)))
                .collect(),
            _ => Vec::new(),
        };
    }
    form(&request.body)
}

/// A JSON value as the text it is signed as (Vonage sends every value as a string).
fn value_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The payload as JSON: a JSON body, or the parameters of a GET or form body as an object
/// (a repeated name as the list of its values).
fn decode(request: &WebhookRequest) -> Result<Value> {
    if is_json(request) {
        return defaults::json_body(request);
    }
    let bytes = if is_get(request) {
        query(request).as_bytes()
    } else {
        &request.body
    };
    Ok(defaults::form_object(bytes))
}

/// A GET's query or a form body carrying `sig` with an SMS API message's fields: no other
/// provider sends those names, and neither carries a header of Vonage's.
fn named_by_sms_params(headers: &HeaderNames<'_>) -> bool {
    let request = headers.request;
    let bytes = if is_get(request) {
        query(request).as_bytes()
    } else if is_json(request) {
        return false;
    } else {
        &request.body
    };
    let (mut sig, mut message) = (false, false);
    for name in defaults::form_names(bytes) {
        let name = name.as_ref();
        sig |= name == SIG.as_bytes();
        message |= name == SMS_ID.as_bytes() || name == SMS_NUMBER.as_bytes();
    }
    sig && message
}

/// The Messages API envelope (`message_uuid` and `channel`), or an SMS API JSON body
/// (`messageId` and `msisdn`).
fn body_matches(body: &BodyKeys<'_>) -> bool {
    (body.has("message_uuid") && body.has("channel"))
        || (body.has(SMS_ID) && body.has(SMS_NUMBER))
}

// ------------------------------------------------------------------------------ events

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

/// SMS API delivery receipt statuses (Nexmo/api-specification `definitions/sms.yml`):
/// `accepted` (by the downstream carrier) and `buffered` (queued there) are interim — more
/// follows, as nyaruka/courier's `handlers/nexmo` reads them (sent) — then `delivered`,
/// `expired`, `failed`, `rejected` or `unknown`.
fn receipt_status_of(word: &str) -> DeliveryStatus {
    match word {
        "accepted" | "buffered" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "expired" => DeliveryStatus::Expired,
        "failed" => DeliveryStatus::Failed,
        "rejected" => DeliveryStatus::Rejected,
        _ => DeliveryStatus::Unknown,
    }
}

/// Channels whose `from`/`to` are phone numbers (or short codes and sender ids); Messenger
/// carries the provider's own user ids, which are no address telhook reads, and Viber one of
/// each (below).
fn phone_channel(channel: &str) -> bool {
    matches!(channel, "sms" | "mms" | "whatsapp" | "rcs")
}

/// Whether a payload is the SMS API's: its keys, never their types.
fn is_sms_payload(raw: &Value) -> bool {
    let Some(object) = raw.as_object() else {
        return false;
    };
    !object.contains_key("message_uuid")
        && !object.contains_key("channel")
        && [SMS_ID, SMS_NUMBER, "err-code", "concat-ref"]
            .iter()
            .any(|key| object.contains_key(*key))
}

fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    if is_sms_payload(&raw) {
        normalize_sms(raw, context)
    } else if is_voice_event(&raw) {
        normalize_voice(raw, context)
    } else {
        normalize_messages(raw, context)
    }
}

/// A Voice API event: a call's `conversation_uuid` (`conversation_uuid_from` in a transfer),
/// no `message_uuid`; its keys, never their types. Not every one names a leg (`uuid`, or
/// `call_uuid` in the machine-detection event): a recording's, a transcription's, an error's
/// and a notification's do not (vonage-dotnet-sdk `Vonage.Test/Voice/Data/Record.json`,
/// `TranscriptionWebhook.json`, `Error.json`, `Notification.json`), and were read as Messages
/// API payloads — a transcription (`status: transcribed`) as a message status.
fn is_voice_event(raw: &Value) -> bool {
    raw.get("message_uuid").is_none()
        && (raw.get("conversation_uuid").is_some() || raw.get("conversation_uuid_from").is_some())
}

/// A Voice API event that is no status of a call leg, by the key only it has.
/// An `input` action's event has `dtmf` or `speech` (vonage-dotnet-sdk
/// `Vonage.Test/Voice/Data/MultiInputDtmf.json`, `MultiInputSpeech.json`): the caller's input,
/// no status of the leg.
const VOICE_EVENTS_BY_KEY: [(&str, &str); 7] = [
    ("recording_url", "recording"),
    ("transcription_url", "transcription"),
    ("conversation_uuid_from", "transfer"),
    ("payload", "notification"),
    ("reason", "error"),
    ("dtmf", "input"),
    ("speech", "input"),
];

/// A Voice API event webhook (developer.vonage.com/en/voice/voice-api/webhook-reference,
/// the SDKs' fixtures: vonage-dotnet-sdk `Vonage.Test/Voice/Data/Completed.json`, …). Each
/// status of a leg comes once (machine detection's two `machine` events differ by
/// `sub_state`): keyed by the leg, its status and its sub-state.
fn normalize_voice(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let leg = fields.id("uuid").or_else(|| fields.id("call_uuid"));
    let word = fields.text("status").unwrap_or_default();
    let direction = match fields.text("direction") {
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        Some(_) => {
            fields.mark_unread("direction");
            None
        }
        None => None,
    };
    let inbound = direction == Some(Direction::Inbound);
    // A leg's status is a call event whatever else it carries.
    let other = if leg.is_some() && !word.is_empty() {
        None
    } else {
        VOICE_EVENTS_BY_KEY
            .into_iter()
            .find(|(key, _)| fields.has(key))
            .map(|(_, name)| name)
    };
    let event_type = match word {
        // A transfer moves a leg: a change of the call. The rest only name the call.
        _ if other == Some("transfer") => EventType::CallStatus,
        _ if other.is_some() => EventType::Other,
        "completed" => EventType::CallCompleted,
        "busy" | "cancelled" | "failed" | "rejected" | "timeout" | "unanswered" if inbound => {
            EventType::CallMissed
        }
        _ => EventType::CallStatus,
    };
    // Advanced Machine Detection sends `machine` twice for one leg, the second with
    // `sub_state: beep_start`: the sub-state is part of the key.
    let sub_state = fields.text("sub_state");
    let id = match (&leg, word.is_empty()) {
        (Some(leg), false) => {
            let mut key = alloc::vec!["call", leg.as_str(), word];
            key.extend(sub_state);
            context.key(&key)
        }
        _ => derived_key(context, &raw),
    };
    let mut event = context.event(id, event_type, other.unwrap_or("call_event"), Value::Null);
    event.occurred_at = fields.time("timestamp");
    event.from = fields.call_party("from");
    event.to = fields.call_party("to");
    // An event that names no leg says nothing of one (a transcription's `status` is its own).
    event.call = match (other, leg) {
        (Some(_), None) => None,
        (other, leg) => Some(Call {
            id: leg,
            direction,
            status: if other.is_some() {
                None
            } else {
                Call::status_from(word)
            },
            voicemail_url: None,
            duration_seconds: fields.count("duration"),
        }),
    };
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// Whether a Messages API payload is v0.1's (Nexmo/api-specification
/// `definitions/messages-olympus.yml`, `api.nexmo.com/v0.1`): no `channel`, each address an
/// object `{type, number}` (`{type, id}` for Messenger) whose `type` is the channel, the text
/// in `message.content.text`, the error `{code, reason}`.
fn is_v0_1(raw: &Value) -> bool {
    raw.get("channel").is_none()
        && ["from", "to"]
            .iter()
            .any(|side| raw.get(*side).is_some_and(Value::is_object))
}

fn normalize_messages(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let uuid = fields.id("message_uuid");
    let v0_1 = is_v0_1(&raw);
    let (from_path, to_path) = if v0_1 {
        ("from.number", "to.number")
    } else {
        ("from", "to")
    };
    let channel = match fields.text("channel") {
        Some(channel) => channel,
        None if v0_1 => fields
            .text("to.type")
            .or_else(|| fields.text("from.type"))
            .unwrap_or("unknown"),
        None => "unknown",
    };
    // The kind by which keys are present, never by their types.
    let is_status = fields.has("status");
    let status = fields.text("status");
    let (event_type, name) = match (is_status, &uuid) {
        (true, _) => (EventType::MessageStatus, "message_status"),
        (false, Some(_)) => (EventType::MessageReceived, "inbound_message"),
        (false, None) => (EventType::Other, "unknown"),
    };
    // A status of a failover workflow's message names its place in the workflow
    // (`workflow.items_number`, vonage-dotnet-sdk `Vonage.Test/Messages/Webhooks/Data/
    // ShouldDeserializeStatus-response.json`): part of the key, so that the fallback channel's
    // `submitted` is never a duplicate of the first channel's should the two share a uuid.
    let item = fields.id("workflow.items_number");
    let id = match (&uuid, status, is_status) {
        (Some(uuid), Some(status), _) => match &item {
            Some(item) => context.key(&[uuid, status, "item", item]),
            None => context.key(&[uuid, status]),
        },
        (Some(uuid), None, false) => context.key(&[uuid]),
        _ => derived_key(context, &raw),
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.occurred_at = fields.time("timestamp");
    if channel == "rcs" {
        // The business's side of an RCS message is its agent's id (`"from": "Vonage"` in
        // Vonage's failover guide, `Vonage-RCS-Agent` in its failover post), no sender ID: only
        // a phone number is an address here, as behind Twilio's `rcs:`.
        event.from = fields.phone(from_path);
        event.to = fields.phone(to_path);
    } else if phone_channel(channel) {
        event.from = fields.message_address(from_path);
        event.to = fields.message_address(to_path);
    } else if matches!(channel, "viber_service" | "viber_service_msg") {
        // Viber addresses the user by their phone number and the business by its service id
        // (`16273`, no address): the user is who a status went to and who an inbound came from.
        if is_status {
            event.to = fields.phone(to_path);
        } else {
            event.from = fields.phone(from_path);
        }
    }
    if is_status {
        let word = status.unwrap_or_default();
        // A failover workflow's message that failed before its last item goes on by the next
        // channel (developer.vonage.com/en/messages/guides/failover-message: RCS submitted, RCS
        // rejected, SMS submitted, SMS delivered): no end of the message, which waits for that
        // channel (queued), or the ledger closed it as rejected and refused the fallback's
        // statuses as after_final (a ledger review).
        let mut value = status_of(word);
        if value.is_final() && value.rank() < DeliveryStatus::Delivered.rank() {
            let count = |fields: &mut Fields<'_>, path: &str| {
                fields.id(path).and_then(|text| text.trim().parse::<u32>().ok())
            };
            let number = count(&mut fields, "workflow.items_number");
            let total = count(&mut fields, "workflow.items_total");
            if number.zip(total).is_some_and(|(number, total)| number < total) {
                value = DeliveryStatus::Queued;
            }
        }
        event.status = Some(StatusInfo::new(value, word));
    }
    if event_type != EventType::Other {
        let error = if fields.has("error") {
            let (code_path, description_path) = if v0_1 {
                ("error.code", "error.reason")
            } else {
                ("error.title", "error.detail")
            };
            let code = fields.id(code_path);
            let description = fields.text(description_path).map(String::from);
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
            // An image, video or file sent with words (a WhatsApp caption): those words are the
            // message's text, as a text message's are (its url stays in `raw`).
            text: fields
                .text(if v0_1 { "message.content.text" } else { "text" })
                .or_else(|| {
                    ["image.caption", "video.caption", "file.caption"]
                        .into_iter()
                        .find_map(|path| fields.text(path))
                })
                .map(String::from),
            reference: fields.text("client_ref").map(String::from),
            error,
        });
    }
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// An SMS API delivery receipt (it has `status` or `err-code`) or inbound SMS. A receipt's
/// `msisdn` is the handset the message went to and its `to` the sender id it was sent from;
/// an inbound SMS's `msisdn` is the handset it came from.
fn normalize_sms(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let message_id = fields.id(SMS_ID);
    let is_receipt = fields.has("status") || fields.has("err-code");
    let status = fields.text("status").filter(|word| !word.is_empty());
    // One receipt (and one inbound part) per part of a concatenated message.
    let part = fields.id("concat-part").map(|part| alloc::format!("part-{part}"));
    let (event_type, name) = match (is_receipt, &message_id) {
        (true, _) => (EventType::MessageStatus, "delivery_receipt"),
        (false, Some(_)) => (EventType::MessageReceived, "inbound_sms"),
        (false, None) => (EventType::Other, "unknown"),
    };
    let id = match (&message_id, is_receipt, status) {
        (Some(id), true, Some(status)) => {
            let mut key = alloc::vec!["sms", id.as_str(), status];
            key.extend(part.as_deref());
            context.key(&key)
        }
        (Some(id), false, _) => {
            let mut key = alloc::vec!["sms", id.as_str()];
            key.extend(part.as_deref());
            context.key(&key)
        }
        _ => derived_key(context, &raw),
    };
    let mut event = context.event(id, event_type, name, Value::Null);
    event.occurred_at = fields.time("message-timestamp");
    let (from, to) = if is_receipt {
        ("to", SMS_NUMBER)
    } else {
        (SMS_NUMBER, "to")
    };
    event.from = fields.message_address(from);
    event.to = fields.message_address(to);
    if is_receipt {
        let word = status.unwrap_or_default();
        event.status = Some(StatusInfo::new(receipt_status_of(word), word));
    }
    if event_type != EventType::Other {
        let code = fields.id("err-code").filter(|code| code != "0");
        event.message = Some(Message {
            id: message_id,
            direction: Some(if is_receipt {
                Direction::Outbound
            } else {
                Direction::Inbound
            }),
            text: fields.text("text").map(String::from),
            reference: fields.text("client-ref").map(String::from),
            error: code.map(|code| ProviderError {
                code: Some(code),
                description: None,
            }),
        });
    }
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// The body's hash; a GET has none, so the hash of its (redacted) parameters, which a
/// redelivery repeats.
fn derived_key(context: &Context<'_>, raw: &Value) -> String {
    if !context.body.is_empty() {
        return context.derived_key();
    }
    let params = serde_json::to_vec(raw).unwrap_or_default();
    context.key(&["sha256", &hex::encode(Sha256::digest(&params))])
}

// ------------------------------------------------------------------------------ test kit

/// Signs as Vonage does: a JSON Messages API body with a JWT; an SMS API body (a form, or a
/// JSON object with `messageId`) with `timestamp`, `nonce` and `sig` added — HMAC-SHA256,
/// the strongest method the dashboard offers.
fn sign(
    _scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<()> {
    if is_sms_request(request) {
        add_sig(request, credentials, now)
    } else {
        add_jwt(request, credentials, now)
    }
}

/// A request signed just beyond the dedupe window: a replay telhook could no longer dedupe.
fn sign_expired(request: &mut WebhookRequest, credentials: &Credentials, now: i64) -> Result<bool> {
    if !Scheme::JwtHs256.is_configured(credentials) {
        return Ok(false);
    }
    let signed = now
        .saturating_sub(dedupe_window_secs())
        .saturating_sub(EXPIRED_BY_SECS);
    sign(Scheme::JwtHs256, request, credentials, signed)?;
    Ok(true)
}

/// An SMS API body: a GET, a form, or a JSON object with `messageId`.
fn is_sms_request(request: &WebhookRequest) -> bool {
    if is_get(request) {
        // A Voice API webhook by GET (a call's `conversation_uuid`) is signed with a JWT.
        return !defaults::form_pairs(query(request).as_bytes())
            .any(|(name, _)| name == "conversation_uuid");
    }
    if !is_json(request) {
        return true;
    }
    matches!(
        crate::json_read::from_bytes::<Value>(&request.body),
        Ok(Value::Object(object)) if object.contains_key(SMS_ID)
    )
}

/// The claims Vonage signs, with the body's hash.
fn add_jwt(request: &mut WebhookRequest, credentials: &Credentials, issued: i64) -> Result<()> {
    let secret = kit::first(&credentials.jwt_hs256, Provider::Vonage)?;
    let claims = serde_json::json!({
        "iat": issued,
        "jti": kit::uuid_like("vonage-jti", u64::try_from(issued).unwrap_or_default()),
        "iss": "Vonage",
        "payload_hash": payload_hash(request),
        "api_key": "a1b2c3d",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    });
    let token = kit::jwt(secret, &claims);
    kit::add_header(request, "Authorization", alloc::format!("Bearer {token}"));
    Ok(())
}

/// The `sig` over every parameter (a previous `sig` replaced), with `timestamp` (`now`) and a
/// `nonce` added unless the request has them, in the request's own form: the query of a GET,
/// the JSON object, or a form body.
fn add_sig(request: &mut WebhookRequest, credentials: &Credentials, now: i64) -> Result<()> {
    let secret = kit::first(&credentials.jwt_hs256, Provider::Vonage)?;
    let mut params: Vec<(String, String)> = sms_params(request)
        .into_iter()
        .filter(|(name, _)| name != SIG)
        .collect();
    let mut added = 1;
    if !params.iter().any(|(name, _)| name == TIMESTAMP) {
        params.push((String::from(TIMESTAMP), now.to_string()));
        added += 1;
    }
    if !params.iter().any(|(name, _)| name == "nonce") {
        params.push((
            String::from("nonce"),
            kit::uuid_like("vonage-nonce", u64::try_from(now).unwrap_or_default()),
        ));
        added += 1;
    }
    let signature = kit::keyed_hex(
        Algorithm::HmacSha256,
        secret,
        signing_string(&params, false).as_bytes(),
    );
    params.push((String::from(SIG), signature));
    if is_json(request) {
        // The body's own values kept (a JSON value is signed as its text), the three added.
        let mut object = match crate::json_read::from_bytes::<Value>(&request.body) {
            Ok(Value::Object(object)) => object,
            _ => return Err(Error::invalid_payload("the body must be a JSON object")),
        };
        for (name, value) in params.into_iter().rev().take(added) {
            object.insert(name, Value::String(value));
        }
        request.body = serde_json::to_vec(&Value::Object(object))
            .map_err(|_| Error::invalid_payload("the body must be a JSON object"))?
            .into();
        return Ok(());
    }
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &params {
        form.append_pair(name, value);
    }
    let form = form.finish();
    if is_get(request) {
        let url = request.url.as_deref().unwrap_or("/");
        let path = url.split(['?', '#']).next().unwrap_or("/");
        request.url = Some(alloc::format!("{path}?{form}"));
    } else {
        request
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        kit::add_header(request, "Content-Type", String::from(FORM_TYPE));
        request.body = form.into_bytes().into();
    }
    Ok(())
}

const FORM_TYPE: &str = "application/x-www-form-urlencoded";

const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("message_status", EventType::MessageStatus),
    SampleKind::new("inbound_message", EventType::MessageReceived),
    SampleKind::new("delivery_receipt", EventType::MessageStatus),
    SampleKind::new("inbound_sms", EventType::MessageReceived),
];

/// A message delivered, reported before its `submitted` status.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("message_status", "status", "delivered"),
    ("message_status", "status", "submitted"),
];

/// The shapes of Vonage's docs: the Messages API status callback and inbound SMS, the SMS API
/// delivery receipt and inbound SMS (the field names of Nexmo/api-specification
/// `definitions/sms.yml` and vonage-php-sdk-core `test/SMS/requests/`; synthetic values). The
/// SMS API ones are sent as its "POST-JSON" option (every value a string); its GET and form
/// deliveries are the vectors'.
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
        "delivery_receipt" => serde_json::json!({
            "msisdn": "447700900000", "to": "AcmeInc", "network-code": "23410",
            "messageId": "0A0000001234567B", "price": "0.03330000", "status": "delivered",
            "scts": "2603020900", "err-code": "0", "api-key": "abcd1234",
            "client-ref": "order-1042", "message-timestamp": "2026-03-02 09:00:03",
        }),
        "inbound_sms" => serde_json::json!({
            "msisdn": "447700900001", "to": "447700900000", "messageId": "0B0000001234567C",
            "text": "Hello From Vonage!", "type": "text", "keyword": "HELLO",
            "api-key": "abcd1234", "message-timestamp": "2026-03-02 10:00:00",
        }),
        _ => return None,
    })
}

/// The key is the message's id (and status): a new id is a new event.
fn identity(kind: &str, serial: u64) -> Value {
    match kind {
        "delivery_receipt" | "inbound_sms" => {
            let id = kit::uuid_like(kind, serial).replace('-', "");
            serde_json::json!({SMS_ID: id.get(..16).unwrap_or_default().to_ascii_uppercase()})
        }
        _ => serde_json::json!({"message_uuid": kit::uuid_like(kind, serial)}),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (String::from(*n), String::from(*v)))
            .collect()
    }

    #[test]
    fn signing_strings_as_the_sdks_build_them() {
        let params = pairs(&[("b", "x&y=z"), ("a", "  "), ("sig", "00"), ("k=", "1")]);
        assert_eq!(signing_string(&params, false), "&a=  &b=x_y_z&k==1");
        assert_eq!(signing_string(&params, true), "&b=x_y_z&k_=1");
    }

    #[test]
    fn a_get_query_as_the_json_object_vonage_hashes() {
        // As JavaScript's Object.fromEntries builds it: a repeated name keeps its first place
        // and takes its last value; strings escaped as JSON.stringify escapes them.
        assert_eq!(query_as_json("a=1&b=2&a=3&c=%22%0A"), r#"{"a":"3","b":"2","c":"\"\n"}"#);
        assert_eq!(query_as_json(""), "{}");
        assert_eq!(query_as_json("x=1&x=2&x="), r#"{"x":""}"#);
    }

    #[test]
    fn timestamp_window_edges() {
        let now = 1_769_000_000;
        let window = dedupe_window_secs();
        let at = |t: i64| check_timestamp(&pairs(&[("timestamp", &t.to_string())]), now);
        assert!(at(now + MAX_CLOCK_SKEW_SECS).is_ok());
        assert!(at(now + MAX_CLOCK_SKEW_SECS + 1).is_err());
        assert!(at(now - window).is_ok());
        assert!(at(now - window - 1).is_err());
        for bad in ["", "-5", "1.5", "+100", "17690000000000000000000"] {
            let error = check_timestamp(&pairs(&[("timestamp", bad)]), now).unwrap_err();
            assert_eq!(error.code(), "invalid_signature_format", "{bad}");
        }
        assert_eq!(
            check_timestamp(&[], now).unwrap_err().code(),
            "missing_signature"
        );
    }
}
