//! `NormalizedEvent` schema v1 and its vocabularies. Published as JSON Schema in
//! `schema/normalized-event.v1.json`; every field is always present (null when unknown), so
//! the JSON is identical in every runtime.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::provider::Provider;

pub const SCHEMA_VERSION: u32 = 1;

/// One verified, normalized webhook event. `Deserialize` reads back what `Serialize` wrote (an
/// inbox's stored event, in a worker): schema v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    pub schema_version: u32,
    pub provider: Provider,
    /// Idempotency key, stable across the provider's redeliveries; prefixed with the provider.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The provider's own name for the event (`sms_received`, `sms.delivered`, `DLR`, …).
    pub provider_event_type: String,
    pub occurred_at: Option<String>,
    pub received_at: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<StatusInfo>,
    pub message: Option<Message>,
    pub call: Option<Call>,
    pub lookup: Option<Lookup>,
    pub record: Option<Record>,
    /// Paths (`data.error_code`, `event.content`) of fields that were present but could not
    /// be read into the typed fields above: those are `null`, `raw` still holds the value.
    /// Empty when everything was read. A verified event is never refused for its shape.
    pub unread_fields: Vec<String>,
    /// The provider's payload as parsed, with secrets and PINs redacted.
    pub raw: Value,
}

/// The one event vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "message.sent")]
    MessageSent,
    #[serde(rename = "message.status")]
    MessageStatus,
    #[serde(rename = "call.incoming")]
    CallIncoming,
    #[serde(rename = "call.missed")]
    CallMissed,
    #[serde(rename = "call.completed")]
    CallCompleted,
    #[serde(rename = "call.status")]
    CallStatus,
    #[serde(rename = "voicemail.received")]
    VoicemailReceived,
    #[serde(rename = "lookup.completed")]
    LookupCompleted,
    #[serde(rename = "record.created")]
    RecordCreated,
    #[serde(rename = "record.updated")]
    RecordUpdated,
    #[serde(rename = "record.deleted")]
    RecordDeleted,
    #[serde(rename = "provisioning.failed")]
    ProvisioningFailed,
    /// A verified event of a kind this version does not know. Providers add event types
    /// without notice; refusing them would make the provider retry (or drop) real events.
    #[serde(rename = "other")]
    Other,
}

impl EventType {
    /// Every value, for the vocabularies generated from the core.
    pub const ALL: [EventType; 14] = [
        EventType::MessageReceived,
        EventType::MessageSent,
        EventType::MessageStatus,
        EventType::CallIncoming,
        EventType::CallMissed,
        EventType::CallCompleted,
        EventType::CallStatus,
        EventType::VoicemailReceived,
        EventType::LookupCompleted,
        EventType::RecordCreated,
        EventType::RecordUpdated,
        EventType::RecordDeleted,
        EventType::ProvisioningFailed,
        EventType::Other,
    ];
}

/// The one delivery-status vocabulary, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Unknown,
    Accepted,
    Queued,
    Sent,
    CarrierAccepted,
    Failed,
    Expired,
    Rejected,
    Canceled,
    Delivered,
    Read,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 11] = [
        DeliveryStatus::Unknown,
        DeliveryStatus::Accepted,
        DeliveryStatus::Queued,
        DeliveryStatus::Sent,
        DeliveryStatus::CarrierAccepted,
        DeliveryStatus::Failed,
        DeliveryStatus::Expired,
        DeliveryStatus::Rejected,
        DeliveryStatus::Canceled,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
    ];

    /// Position in the lifecycle; distinct for every status, so [`status_wins`] is a strict
    /// total order. Transient statuses rank below every final one. Among finals, a handset
    /// confirmation (`delivered`, then `read`) outranks the failure kinds, because a network
    /// that reports a failure and later a delivery has been proven wrong by the handset.
    /// `carrier_accepted` (the destination network took the message and will report nothing
    /// more, GatewayAPI's final ACCEPTED) is the lowest final: any more definite report wins.
    pub fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Unknown => 0,
            DeliveryStatus::Accepted => 10,
            DeliveryStatus::Queued => 20,
            DeliveryStatus::Sent => 30,
            DeliveryStatus::CarrierAccepted => 35,
            DeliveryStatus::Failed => 40,
            DeliveryStatus::Expired => 41,
            DeliveryStatus::Rejected => 42,
            DeliveryStatus::Canceled => 43,
            DeliveryStatus::Delivered => 50,
            DeliveryStatus::Read => 60,
        }
    }

    /// No further status is expected after a final one (except `delivered` → `read`).
    pub fn is_final(self) -> bool {
        self.rank() >= DeliveryStatus::CarrierAccepted.rank()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Unknown => "unknown",
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::CarrierAccepted => "carrier_accepted",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Expired => "expired",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Canceled => "canceled",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Whether `incoming` should replace the stored `current` status of a message. Reports
/// arrive out of order (Lisoloo and GatewayAPI both say so); a status only ever moves forward.
/// `None` as current means nothing is stored yet.
pub fn status_wins(current: Option<DeliveryStatus>, incoming: DeliveryStatus) -> bool {
    match current {
        None => true,
        Some(current) => incoming.rank() > current.rank(),
    }
}

/// Delivery status of a message event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredStatusInfo")]
pub struct StatusInfo {
    pub value: DeliveryStatus,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub rank: u8,
    /// The provider's own status word, unchanged.
    pub provider_status: String,
}

/// [`StatusInfo`] as stored: read back only when `final` and `rank` are the ones its `value`
/// has, so that an event read back ranks as it did when it was made (the ledger's order).
#[derive(Deserialize)]
struct StoredStatusInfo {
    value: DeliveryStatus,
    #[serde(rename = "final")]
    is_final: bool,
    rank: u8,
    provider_status: String,
}

impl TryFrom<StoredStatusInfo> for StatusInfo {
    type Error = &'static str;

    fn try_from(stored: StoredStatusInfo) -> core::result::Result<Self, Self::Error> {
        let info = StatusInfo::new(stored.value, stored.provider_status);
        if (info.is_final, info.rank) == (stored.is_final, stored.rank) {
            Ok(info)
        } else {
            Err("status: expected `final` and `rank` to be those of its `value`")
        }
    }
}

impl StatusInfo {
    pub fn new(value: DeliveryStatus, provider_status: impl Into<String>) -> Self {
        StatusInfo {
            value,
            is_final: value.is_final(),
            rank: value.rank(),
            provider_status: provider_status.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// Every value, for the vocabularies generated from the core.
    pub const ALL: [Direction; 2] = [Direction::Inbound, Direction::Outbound];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Message {
    pub id: Option<String>,
    pub direction: Option<Direction>,
    pub text: Option<String>,
    /// The sender's own reference (GatewayAPI `userref`/`reference`).
    pub reference: Option<String>,
    pub error: Option<ProviderError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    pub code: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Call {
    pub id: Option<String>,
    pub direction: Option<Direction>,
    /// The provider's call state, lower-cased (`ringing`, `answered`, `missed`, …).
    pub status: Option<String>,
    pub voicemail_url: Option<String>,
    pub duration_seconds: Option<u64>,
}

impl Call {
    /// A provider's call state word as [`Call::status`] holds it: lower-cased; none when sent empty.
    pub(crate) fn status_from(word: &str) -> Option<String> {
        (!word.is_empty()).then(|| word.to_ascii_lowercase())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    pub request_id: Option<String>,
    /// E.164 for a phone number, lower-cased for an email.
    pub contact: Option<String>,
    pub contact_kind: ContactKind,
    pub facetime: Option<AppleService>,
    pub imessage: Option<AppleService>,
    pub carrier: Option<String>,
    pub number_type: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Phone,
    Email,
    Other,
}

impl ContactKind {
    /// Every value, for the vocabularies generated from the core.
    pub const ALL: [ContactKind; 3] = [ContactKind::Phone, ContactKind::Email, ContactKind::Other];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppleService {
    pub status: String,
    /// The provider's "last known date", as RFC 3339 UTC midnight.
    pub last_seen: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub action: RecordAction,
    /// The table the change is about (`dids`, `sms_enablement`, …), unchanged.
    pub schema: String,
    pub id: Option<String>,
    /// The decoded record, secrets redacted; null for the error form.
    pub data: Option<Value>,
    /// The provider's `verbose` text for the error form (may be empty).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordAction {
    Created,
    Updated,
    Deleted,
}

impl RecordAction {
    /// Every value, for the vocabularies generated from the core.
    pub const ALL: [RecordAction; 3] = [
        RecordAction::Created,
        RecordAction::Updated,
        RecordAction::Deleted,
    ];
}

pub use crate::redact::{REDACTED, REDACTED_KEYS};

/// Replaces secrets in place, at any depth, by the rules of [`crate::redact`] that need no
/// credentials (secret-named keys, URL passwords and tokens, JSON inside strings).
pub fn redact(value: &mut Value) {
    crate::redact::Redactor::without_credentials().redact(value);
}

/// The largest integer every runtime holds exactly (JavaScript numbers are IEEE doubles).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Puts every number of `raw` in the one form all runtimes give identically:
/// - a number whose value is an integer within ±(2^53 − 1) is a JSON integer, however it was
///   written (`1.0`, `1e2` and `-0` become `1`, `100` and `0`);
/// - an integer beyond that range, written as an integer that fits 64 bits, becomes a string of
///   its exact decimal digits (`12345678901234567890` → `"12345678901234567890"`): JavaScript
///   would round it, Rust and Python would not;
/// - any other number (fractions, and beyond-64-bit values already read as doubles) stays an
///   IEEE double, which every runtime prints back to the same value.
///
/// Typed fields are read before this runs, so it changes nothing but `raw`.
pub fn canonicalize_numbers(raw: &mut Value) {
    match raw {
        Value::Number(number) => {
            if let Some(replacement) = canonical_number(number) {
                *raw = replacement;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonicalize_within),
        Value::Object(map) => map.values_mut().for_each(canonicalize_within),
        _ => {}
    }
}

/// [`canonicalize_numbers`] on a member, without a call for the strings, booleans and nulls
/// that make most of a payload.
fn canonicalize_within(value: &mut Value) {
    if matches!(value, Value::Number(_) | Value::Array(_) | Value::Object(_)) {
        canonicalize_numbers(value);
    }
}

fn canonical_number(number: &serde_json::Number) -> Option<Value> {
    if let Some(integer) = number.as_u64() {
        return (integer > MAX_SAFE_INTEGER)
            .then(|| Value::String(alloc::string::ToString::to_string(&integer)));
    }
    if let Some(integer) = number.as_i64() {
        return (integer.unsigned_abs() > MAX_SAFE_INTEGER)
            .then(|| Value::String(alloc::string::ToString::to_string(&integer)));
    }
    number.as_f64().and(whole_number(number)).map(Value::from)
}

/// A JSON integer that fits `i64`, or a double with a whole value within ±(2^53 − 1)
/// (`1.0`, `1616404260.0`), as `i64`; `None` for fractions and for doubles beyond that range,
/// which no longer stand for one exact integer.
pub(crate) fn whole_number(number: &serde_json::Number) -> Option<i64> {
    if let Some(integer) = number.as_i64() {
        return Some(integer);
    }
    let float = number.as_f64()?;
    // Within ±(2^53 − 1) the cast to i64 is exact for integral values, so a round trip tells
    // whether the value is an integer (no `f64::fract` without std).
    let limit = MAX_SAFE_INTEGER as f64;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::float_cmp
    )]
    ((-limit..=limit).contains(&float) && (float as i64) as f64 == float).then_some(float as i64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_raw_take_one_form_in_every_runtime() {
        let mut raw: Value = serde_json::from_str(
            r#"{"a":[1.0,1e2,-0,-0.0,0.1,9007199254740991,9007199254740992,-9007199254740993,12345678901234567890,1.5e300,123456789012345678901234]}"#,
        )
        .unwrap();
        canonicalize_numbers(&mut raw);
        assert_eq!(
            serde_json::to_string(&raw).unwrap(),
            r#"{"a":[1,100,0,0,0.1,9007199254740991,"9007199254740992","-9007199254740993","12345678901234567890",1.5e+300,1.2345678901234569e+23]}"#
        );
    }

    #[test]
    fn final_beats_transient_and_later_beats_earlier() {
        assert!(status_wins(
            Some(DeliveryStatus::Sent),
            DeliveryStatus::Delivered
        ));
        assert!(!status_wins(
            Some(DeliveryStatus::Delivered),
            DeliveryStatus::Sent
        ));
        assert!(!status_wins(
            Some(DeliveryStatus::Failed),
            DeliveryStatus::Queued
        ));
        assert!(status_wins(
            Some(DeliveryStatus::Delivered),
            DeliveryStatus::Read
        ));
        assert!(!status_wins(
            Some(DeliveryStatus::Sent),
            DeliveryStatus::Sent
        ));
        assert!(status_wins(None, DeliveryStatus::Unknown));
    }

    #[test]
    fn order_is_strict_total_and_consistent_with_final() {
        for a in DeliveryStatus::ALL {
            for b in DeliveryStatus::ALL {
                if a != b {
                    assert_ne!(
                        status_wins(Some(a), b),
                        status_wins(Some(b), a),
                        "{a:?} {b:?}"
                    );
                }
                if a.is_final() && !b.is_final() {
                    assert!(!status_wins(Some(a), b));
                }
            }
        }
    }
}
