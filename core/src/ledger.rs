//! The message status ledger: the one merge rule for delivery reports that arrive out of
//! order, late, twice, or per part of a multi-part message.
//!
//! A message is keyed by (provider, message id, recipient). Its state holds the best status
//! seen (by [`status_wins`]), the provider's error detail of that status, the earliest time each
//! status was reported, and for a multi-part message the parts reported delivered.
//!
//! Every store (Django on PostgreSQL/SQLite, Redis, Durable Objects, D1) applies the same rule
//! as ONE conditional write, never a read-modify-write in application code. To make that
//! possible the rule is split: [`StatusUpdate::from_event`] turns an event into flat values
//! (no vocabulary left for a store to know), and [`apply`] is the write every store performs:
//! 1. `seen[status] = min(seen[status], at)` — commutative, so order never matters;
//! 2. a delivered (or read) report of a part adds `event_id → at` to `delivered_parts` while
//!    fewer than `parts` are recorded; the message is delivered when all `parts` are, and until
//!    then the report counts as `partial_status` (`sent`: the part did leave);
//! 3. the status, rank, final flag and error are replaced only when the effective rank is
//!    higher than the stored one (equal ranks keep the stored status: first report wins).
//!
//! The result is independent of arrival order except for ties of equal rank with different
//! error details, which no provider sends for one message and recipient.

pub mod stores;

use alloc::collections::BTreeMap;
use alloc::string::String;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::event::{status_wins, DeliveryStatus, NormalizedEvent, ProviderError};
use crate::provider::Provider;
use crate::providers;

/// SMS concatenation numbers parts in one byte: a message has at most 255 of them. Bounds the
/// state a store keeps per message, whatever a provider claims.
pub const MAX_PARTS: u32 = 255;

/// The status a multi-part message holds while some parts are not yet delivered.
const PARTIAL_STATUS: DeliveryStatus = DeliveryStatus::Sent;

/// What happened to the stored state when an event was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The event's status replaced the stored one.
    Applied,
    /// An earlier (or equal) status than the stored transient one: only its time is kept.
    Stale,
    /// The stored status is final and the event does not outrank it.
    AfterFinal,
}

/// One status event reduced to what a store writes. Produced by the core only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub provider: Provider,
    pub message_id: String,
    /// E.164 recipient; `None` when the provider does not report one.
    pub recipient: Option<String>,
    /// The event's idempotency key.
    pub event_id: String,
    pub status: DeliveryStatus,
    pub rank: u8,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// When the status happened (the event's `occurred_at`, else its `received_at`).
    pub at: String,
    /// The provider's error detail, for failures.
    pub error: Option<ProviderError>,
    /// How many parts the message has (1 unless the provider reports more).
    pub parts: u32,
    /// The report is a delivery of one part of a multi-part message.
    pub delivered_part: bool,
    /// The status (and its rank and final flag) the message takes from a delivered part while
    /// other parts are outstanding.
    pub partial_status: DeliveryStatus,
    pub partial_rank: u8,
    pub partial_final: bool,
}

/// The stored state of one message for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerState {
    pub provider: Provider,
    pub message_id: String,
    pub recipient: Option<String>,
    pub status: DeliveryStatus,
    pub rank: u8,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The error detail reported with `status` (null unless it is a failure that had one).
    pub error: Option<ProviderError>,
    /// Status name → earliest time it was reported.
    pub seen: BTreeMap<String, String>,
    pub parts: u32,
    /// Event id → time, for each part reported delivered (multi-part messages only).
    pub delivered_parts: BTreeMap<String, String>,
}

/// The outcome of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub verdict: Verdict,
    pub state: LedgerState,
}

impl StatusUpdate {
    /// The update a message status event makes; an event without a delivery status or a
    /// message id is not a ledger input.
    pub fn from_event(event: &NormalizedEvent) -> Result<StatusUpdate> {
        let message = event.message.as_ref();
        Self::build(EventFields {
            provider: event.provider,
            event_id: &event.id,
            message_id: message.and_then(|m| m.id.as_deref()),
            recipient: event.to.as_deref(),
            status: event.status.as_ref().map(|s| s.value),
            occurred_at: event.occurred_at.as_deref(),
            received_at: &event.received_at,
            error: message.and_then(|m| m.error.clone()),
            raw: &event.raw,
        })
    }

    /// [`StatusUpdate::from_event`] on the event's JSON form (as every binding returns it).
    pub fn from_event_json(event: &[u8]) -> Result<StatusUpdate> {
        let wire: EventWire = serde_json::from_slice(event).map_err(|_| invalid(EXPECTED_EVENT))?;
        let message = wire.message.as_ref();
        Self::build(EventFields {
            provider: wire.provider,
            event_id: &wire.id,
            message_id: message.and_then(|m| m.id.as_deref()),
            recipient: wire.to.as_deref(),
            status: wire.status.as_ref().map(|s| s.value),
            occurred_at: wire.occurred_at.as_deref(),
            received_at: &wire.received_at,
            error: message.and_then(|m| m.error.clone()),
            raw: &wire.raw,
        })
    }

    fn build(fields: EventFields<'_>) -> Result<StatusUpdate> {
        let status = fields
            .status
            .ok_or_else(|| invalid("event.status: a message status event is expected"))?;
        let message_id = fields
            .message_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid("event.message.id: a message id is expected"))?;
        let parts = providers::message_parts(fields.provider, fields.raw).clamp(1, MAX_PARTS);
        Ok(StatusUpdate {
            provider: fields.provider,
            message_id: message_id.into(),
            recipient: fields.recipient.map(Into::into),
            event_id: fields.event_id.into(),
            status,
            rank: status.rank(),
            is_final: status.is_final(),
            at: fields.occurred_at.unwrap_or(fields.received_at).into(),
            error: if status.is_final() {
                fields.error
            } else {
                None
            },
            parts,
            delivered_part: parts > 1 && status.rank() >= DeliveryStatus::Delivered.rank(),
            partial_status: PARTIAL_STATUS,
            partial_rank: PARTIAL_STATUS.rank(),
            partial_final: PARTIAL_STATUS.is_final(),
        })
    }

    fn belongs_to(&self, state: &LedgerState) -> bool {
        self.provider == state.provider
            && self.message_id == state.message_id
            && self.recipient == state.recipient
    }
}

/// Applies `update` to the stored `state` (`None`: nothing stored yet) and says what happened.
pub fn apply(state: Option<LedgerState>, update: &StatusUpdate) -> Result<Applied> {
    let mut state = match state {
        Some(state) if !update.belongs_to(&state) => {
            return Err(invalid(
                "state: provider, message_id and recipient must be the event's",
            ))
        }
        Some(state) => state,
        None => LedgerState {
            provider: update.provider,
            message_id: update.message_id.clone(),
            recipient: update.recipient.clone(),
            status: DeliveryStatus::Unknown,
            rank: 0,
            is_final: false,
            error: None,
            seen: BTreeMap::new(),
            parts: update.parts,
            delivered_parts: BTreeMap::new(),
        },
    };
    let fresh = state.seen.is_empty();
    // RFC 3339 UTC texts from the core compare as times (same width within a second).
    let earliest = match state.seen.get(update.status.as_str()) {
        Some(seen) if seen.as_str() <= update.at.as_str() => seen.clone(),
        _ => update.at.clone(),
    };
    state.seen.insert(update.status.as_str().into(), earliest);
    state.parts = state.parts.max(update.parts);

    let mut effective = (update.status, update.error.clone());
    if update.delivered_part {
        let recorded = u32::try_from(state.delivered_parts.len()).unwrap_or(u32::MAX);
        if recorded < state.parts {
            state
                .delivered_parts
                .insert(update.event_id.clone(), update.at.clone());
        }
        let complete =
            u32::try_from(state.delivered_parts.len()).unwrap_or(u32::MAX) >= state.parts;
        if !complete {
            effective = (update.partial_status, None);
        }
    }
    let current = (!fresh).then_some(state.status);
    let verdict = if status_wins(current, effective.0) {
        state.status = effective.0;
        state.rank = effective.0.rank();
        state.is_final = effective.0.is_final();
        state.error = effective.1;
        Verdict::Applied
    } else if state.is_final {
        Verdict::AfterFinal
    } else {
        Verdict::Stale
    };
    Ok(Applied { verdict, state })
}

/// [`apply`] on JSON forms: `state` is a stored [`LedgerState`] or `null`, `event` a
/// normalized event.
pub fn apply_json(state: &[u8], event: &[u8]) -> Result<Applied> {
    let state: Option<LedgerState> = serde_json::from_slice(state).map_err(|_| {
        invalid("state: a ledger state object (provider, message_id, recipient, status, rank, final, error, seen, parts, delivered_parts) or null is expected")
    })?;
    apply(state, &StatusUpdate::from_event_json(event)?)
}

struct EventFields<'a> {
    provider: Provider,
    event_id: &'a str,
    message_id: Option<&'a str>,
    recipient: Option<&'a str>,
    status: Option<DeliveryStatus>,
    occurred_at: Option<&'a str>,
    received_at: &'a str,
    error: Option<ProviderError>,
    raw: &'a Value,
}

const EXPECTED_EVENT: &str =
    "event: a normalized event (provider, id, received_at, status, message, raw) is expected";

/// The fields of a normalized event's JSON the ledger reads; the rest is ignored.
#[derive(Deserialize)]
struct EventWire {
    provider: Provider,
    id: String,
    occurred_at: Option<String>,
    received_at: String,
    to: Option<String>,
    status: Option<StatusWire>,
    message: Option<MessageWire>,
    #[serde(default)]
    raw: Value,
}

#[derive(Deserialize)]
struct StatusWire {
    value: DeliveryStatus,
}

#[derive(Deserialize)]
struct MessageWire {
    id: Option<String>,
    error: Option<ProviderError>,
}

fn invalid(reason: &'static str) -> Error {
    Error::InvalidRequest {
        reason: reason.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    fn event(status: &str, id: &str, at: &str, segments: Option<u32>) -> Vec<u8> {
        let data = match segments {
            Some(n) => format!(r#"{{"recipient_phone":"+4512345678","segments":{n}}}"#),
            None => String::from(r#"{"recipient_phone":"+4512345678"}"#),
        };
        format!(
            r#"{{"provider":"lisoloo","id":"lisoloo:{id}","occurred_at":"{at}","received_at":"2026-05-27T11:00:00Z","to":"+4512345678","status":{{"value":"{status}"}},"message":{{"id":"m1","error":null}},"raw":{{"data":{data}}}}}"#
        )
        .into_bytes()
    }

    fn run(events: &[Vec<u8>]) -> Vec<Applied> {
        let mut state: Option<LedgerState> = None;
        let mut out = Vec::new();
        for e in events {
            let applied = apply(state.take(), &StatusUpdate::from_event_json(e).unwrap()).unwrap();
            state = Some(applied.state.clone());
            out.push(applied);
        }
        out
    }

    #[test]
    fn a_late_sent_never_overwrites_delivered() {
        let out = run(&[
            event("delivered", "b", "2026-05-27T10:00:05Z", None),
            event("sent", "a", "2026-05-27T10:00:01Z", None),
        ]);
        let verdicts: Vec<_> = out.iter().map(|a| a.verdict).collect();
        assert_eq!(verdicts, [Verdict::Applied, Verdict::AfterFinal]);
        let last = &out[1].state;
        assert_eq!(last.status, DeliveryStatus::Delivered);
        assert_eq!(
            last.seen.get("sent").map(String::as_str),
            Some("2026-05-27T10:00:01Z")
        );
    }

    #[test]
    fn a_count_of_segments_is_no_parts_reported_apart() {
        // Lisoloo's `data.segments` counts what a message was sent in; its delivered event is
        // the message's (a review: counted as parts, a delivered long message stayed `sent`).
        let out = run(&[
            event("sent", "p0", "2026-05-27T10:00:03Z", Some(2)),
            event("delivered", "p1", "2026-05-27T10:00:05Z", Some(2)),
        ]);
        assert_eq!(out[1].verdict, Verdict::Applied);
        assert_eq!(out[1].state.status, DeliveryStatus::Delivered);
        assert_eq!(out[1].state.parts, 1);
    }

    #[test]
    fn a_multi_part_message_is_delivered_when_every_part_is() {
        // No provider reports parts apart today (`Spec::message_parts`); the rule stays for
        // the stores that keep its columns, so it is tested on updates that say so.
        let parts = |json: Vec<u8>| {
            let mut update = StatusUpdate::from_event_json(&json).unwrap();
            update.parts = 2;
            update.delivered_part = update.rank >= DeliveryStatus::Delivered.rank();
            update
        };
        let mut state = None;
        let mut out = Vec::new();
        for json in [
            event("delivered", "p1", "2026-05-27T10:00:05Z", None),
            event("delivered", "p1", "2026-05-27T10:00:05Z", None),
            event("delivered", "p2", "2026-05-27T10:00:06Z", None),
        ] {
            let applied = apply(state.take(), &parts(json)).unwrap();
            state = Some(applied.state.clone());
            out.push(applied);
        }
        assert_eq!(out[0].state.status, DeliveryStatus::Sent);
        assert_eq!(out[1].verdict, Verdict::Stale);
        assert_eq!(out[2].state.status, DeliveryStatus::Delivered);
        assert_eq!(out[2].state.delivered_parts.len(), 2);
    }

    #[test]
    fn events_without_status_or_message_id_are_refused_with_the_field_named() {
        let no_status = br#"{"provider":"lisoloo","id":"x","received_at":"2026-05-27T11:00:00Z","message":{"id":"m"}}"#;
        let error = StatusUpdate::from_event_json(no_status).unwrap_err();
        assert_eq!(error.code(), "invalid_request");
        assert!(error.to_string().contains("event.status"));
        let state = apply_json(b"{}", &event("sent", "a", "2026-05-27T10:00:01Z", None));
        assert_eq!(state.map_err(|e| e.code()), Err("invalid_request"));
    }
}
