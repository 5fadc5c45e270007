//! The inbox: accept fast, process later.
//!
//! In inbox mode the receive machine ([`crate::receive::machine`]) answers a verified event
//! as soon as it is stored: the store writes the event and claims its idempotency key in one
//! atomic step (`enqueue`), so an event is never acknowledged without being stored, and never
//! stored twice. A worker processes stored events later, outside the provider's timeout.
//!
//! This module holds every rule of that processing, once, for every engine (a database with
//! `SKIP LOCKED`, Redis, Celery, Cloudflare Queues): what a stored event's state becomes when
//! a worker claims it, when its handler succeeds or fails, when a worker died holding it, and
//! when an operator replays it. An engine keeps the record's columns and asks [`step`].
//!
//! One column decides what a worker may take: `run_at`. A record is due when `run_at <= now`;
//! every transition sets it (pending: now; processing: the lease's end, so a record whose
//! worker died becomes due again; failed: the next attempt; done and dead: never, `None`).
//! So no engine writes its own "is it due" rule.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::request::{invalid_option, positive_option};

/// Where a stored event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxState {
    /// Stored, not yet attempted.
    Pending,
    /// A worker holds it until `run_at` (its lease).
    Processing,
    /// Handled; kept until `keep_until`, then purged.
    Done,
    /// The last attempt failed; the next one is due at `run_at`.
    Failed,
    /// Out of attempts: kept until an operator replays or deletes it.
    Dead,
}

impl InboxState {
    /// Every state, for vocabularies generated from the core.
    pub const ALL: [InboxState; 5] = [
        InboxState::Pending,
        InboxState::Processing,
        InboxState::Done,
        InboxState::Failed,
        InboxState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::Pending => "pending",
            InboxState::Processing => "processing",
            InboxState::Done => "done",
            InboxState::Failed => "failed",
            InboxState::Dead => "dead",
        }
    }
}

/// The longest error message kept on a record: enough to see what failed, bounded so a
/// handler's huge exception text cannot grow the store.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 500;
/// The error code recorded when a worker died (or lost its connection) holding a record.
pub const LEASE_EXPIRED: &str = "lease_expired";

const ATTEMPTS: &str = "an integer from 1 to 100";
const SECONDS: &str = "an integer of at least 1 (seconds)";

/// How an inbox processes its events; checked once, when the inbox is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPolicy {
    /// Attempts before an event is dead (the first one included).
    pub max_attempts: u32,
    /// How long a worker holds an event before another may take it (a handler that outlives
    /// its lease can run twice: set it above the slowest handler).
    pub lease_secs: u32,
    /// The wait before the second attempt; doubled for each further attempt.
    pub backoff_secs: u32,
    /// The longest wait between two attempts.
    pub max_backoff_secs: u32,
    /// How long a done event is kept (visible, replayable) before it is purged.
    pub retention_secs: u32,
}

impl Default for InboxPolicy {
    fn default() -> Self {
        InboxPolicy {
            max_attempts: 8,
            lease_secs: 300,
            backoff_secs: 30,
            max_backoff_secs: 3_600,
            retention_secs: 7 * 86_400,
        }
    }
}

impl InboxPolicy {
    /// The policy from its JSON form (`{max_attempts?, lease_secs?, backoff_secs?,
    /// max_backoff_secs?, retention_secs?}`; a missing or `null` option takes its default).
    /// A bad option, or an unknown name, is `invalid_option` naming it, never its value.
    pub fn from_json_value(value: &serde_json::Value) -> Result<InboxPolicy> {
        let mut policy = InboxPolicy::default();
        let serde_json::Value::Object(map) = value else {
            return Err(invalid_option("inbox", "an object of inbox settings"));
        };
        for (name, value) in map {
            let number = |expected| -> Result<Option<u32>> {
                positive_option(name, value, expected)?
                    .map(|n| u32::try_from(n).map_err(|_| invalid_option(name, expected)))
                    .transpose()
            };
            let slot = match name.as_str() {
                "max_attempts" => &mut policy.max_attempts,
                "lease_secs" => &mut policy.lease_secs,
                "backoff_secs" => &mut policy.backoff_secs,
                "max_backoff_secs" => &mut policy.max_backoff_secs,
                "retention_secs" => &mut policy.retention_secs,
                _ => {
                    return Err(invalid_option(
                        name,
                        "a known inbox setting: max_attempts, lease_secs, backoff_secs, max_backoff_secs, retention_secs",
                    ))
                }
            };
            let expected = if name == "max_attempts" {
                ATTEMPTS
            } else {
                SECONDS
            };
            if let Some(number) = number(expected)? {
                *slot = number;
            }
        }
        policy.validate()?;
        Ok(policy)
    }

    /// Checks a policy built as a struct as [`InboxPolicy::from_json_value`] checks its JSON
    /// form: `invalid_option` naming the first setting out of range. [`step`] refuses a policy
    /// that fails it (`Refusal::InvalidPolicy`): `max_attempts: 0` would make every event dead
    /// before its handler ran, `lease_secs: 0` let a second worker take an event being handled.
    pub fn validate(&self) -> Result<()> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err(invalid_option("max_attempts", ATTEMPTS));
        }
        let seconds = [
            ("lease_secs", self.lease_secs),
            ("backoff_secs", self.backoff_secs),
            ("max_backoff_secs", self.max_backoff_secs),
            ("retention_secs", self.retention_secs),
        ];
        if let Some((name, _)) = seconds.iter().find(|(_, value)| *value == 0) {
            return Err(invalid_option(name, SECONDS));
        }
        if self.max_backoff_secs < self.backoff_secs {
            return Err(invalid_option(
                "max_backoff_secs",
                "at least backoff_secs (seconds)",
            ));
        }
        Ok(())
    }

    /// The wait after failed attempt number `attempts` (1-based): `backoff_secs`, doubled per
    /// further attempt, at most `max_backoff_secs`.
    pub fn backoff_after(&self, attempts: u32) -> u32 {
        let doublings = attempts.saturating_sub(1).min(31);
        self.backoff_secs
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff_secs)
    }
}

/// A stored event's processing columns (the event itself is stored beside them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRecord {
    pub state: InboxState,
    /// Attempts started (a claimed attempt counts, even if its worker died).
    pub attempts: u32,
    /// When a worker may take it (UNIX seconds); `None` when it is done or dead.
    pub run_at: Option<i64>,
    /// The last failed attempt's error: a code (the exception's type) and a bounded message.
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    /// When it was stored, last changed, and (done) until when it is kept.
    pub created_at: i64,
    pub updated_at: i64,
    pub keep_until: Option<i64>,
}

/// What happened to a stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InboxEvent {
    /// A worker took it (it was due).
    Claimed,
    /// Its handler returned.
    Succeeded,
    /// Its handler raised: `code` (the error's type) and `message`.
    Failed { code: String, message: String },
    /// An operator asks to run it again now (any state but processing).
    Replayed,
    /// An operator asks to run a waiting event (pending, or failed and backing off) now,
    /// keeping its attempts; done and dead events are replayed instead.
    RetriedNow,
}

/// Why a step was not taken: the record is not in a state that allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Claimed while not due (another worker has it, or it is done or dead).
    NotDue,
    /// Succeeded or failed while not processing (the lease ran out and another worker took it:
    /// this worker's result must not be recorded, and its writes must be rolled back).
    NotProcessing,
    /// Replayed while a worker holds it.
    Processing,
    /// Retried now while not waiting (done, dead or processing).
    NotWaiting,
    /// The policy fails [`InboxPolicy::validate`] (built as a struct, never checked): no step
    /// is taken under it.
    InvalidPolicy,
}

/// A newly stored event: pending, due now.
pub fn enqueued(now: i64) -> InboxRecord {
    InboxRecord {
        state: InboxState::Pending,
        attempts: 0,
        run_at: Some(now),
        last_error_code: None,
        last_error_message: None,
        created_at: now,
        updated_at: now,
        keep_until: None,
    }
}

/// The record after `event` at `now`, or why that cannot happen.
///
/// A claim of a record whose lease ran out (its worker died) counts the lost attempt as
/// failed (`lease_expired`): a handler that kills its worker every time ends dead, not in a
/// loop. The claim that finds attempts left starts the next one.
pub fn step(
    policy: &InboxPolicy,
    record: &InboxRecord,
    event: &InboxEvent,
    now: i64,
) -> core::result::Result<InboxRecord, Refusal> {
    if policy.validate().is_err() {
        return Err(Refusal::InvalidPolicy);
    }
    let mut next = record.clone();
    next.updated_at = now;
    match event {
        InboxEvent::Claimed => {
            let due = record.run_at.is_some_and(|run_at| run_at <= now);
            if !due || matches!(record.state, InboxState::Done | InboxState::Dead) {
                return Err(Refusal::NotDue);
            }
            if record.state == InboxState::Processing {
                next.last_error_code = Some(String::from(LEASE_EXPIRED));
                next.last_error_message = Some(String::from(
                    "the worker holding this event stopped before its lease ended",
                ));
            }
            if next.attempts >= policy.max_attempts {
                next.state = InboxState::Dead;
                next.run_at = None;
                return Ok(next);
            }
            next.state = InboxState::Processing;
            next.attempts += 1;
            next.run_at = Some(now.saturating_add(i64::from(policy.lease_secs)));
        }
        InboxEvent::Succeeded => {
            if record.state != InboxState::Processing {
                return Err(Refusal::NotProcessing);
            }
            next.state = InboxState::Done;
            next.run_at = None;
            next.keep_until = Some(now.saturating_add(i64::from(policy.retention_secs)));
        }
        InboxEvent::Failed { code, message } => {
            if record.state != InboxState::Processing {
                return Err(Refusal::NotProcessing);
            }
            next.last_error_code = Some(bounded(code, 100));
            next.last_error_message = Some(bounded(message, MAX_ERROR_MESSAGE_CHARS));
            if next.attempts >= policy.max_attempts {
                next.state = InboxState::Dead;
                next.run_at = None;
            } else {
                next.state = InboxState::Failed;
                let wait = policy.backoff_after(next.attempts);
                next.run_at = Some(now.saturating_add(i64::from(wait)));
            }
        }
        InboxEvent::RetriedNow => {
            if !matches!(record.state, InboxState::Pending | InboxState::Failed) {
                return Err(Refusal::NotWaiting);
            }
            next.run_at = Some(record.run_at.map_or(now, |at| at.min(now)));
        }
        InboxEvent::Replayed => {
            if record.state == InboxState::Processing && record.run_at.is_some_and(|at| at > now) {
                return Err(Refusal::Processing);
            }
            // A fresh set of attempts: the operator fixed what made it fail.
            next.state = InboxState::Pending;
            next.attempts = 0;
            next.run_at = Some(now);
            next.keep_until = None;
        }
    }
    Ok(next)
}

/// The first `max_chars` characters of `text` (on a character boundary).
/// At most `max_chars` of `text`, a NUL written as U+FFFD: PostgreSQL's text columns refuse
/// NUL, and a failure that cannot be recorded leaves its event held until the lease ends,
/// with the handler's error lost.
fn bounded(text: &str, max_chars: usize) -> String {
    let kept = match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    kept.replace('\0', "\u{FFFD}")
}

/// Whether a record may be deleted at `now`: done and past its retention. Dead records are
/// kept until an operator replays or deletes them.
pub fn purgeable(record: &InboxRecord, now: i64) -> bool {
    record.state == InboxState::Done && record.keep_until.is_some_and(|until| until <= now)
}

/// What [`InboxStore::enqueue`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored now, with its key.
    New,
    /// Its key was stored already (within `dedupe_ttl_secs` of that first store): nothing written.
    Duplicate,
    /// Another delivery of the event is being stored right now, not yet known to be stored
    /// (a transaction holding its key): answered 503 with a Retry-After, at info.
    InProgress,
}

impl Enqueued {
    /// The word every binding's inbox answers (`"new"`, `"duplicate"`, `"in_progress"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Enqueued::New => "new",
            Enqueued::Duplicate => "duplicate",
            Enqueued::InProgress => "in_progress",
        }
    }
}

/// Where an inbox stores events: [`InboxStore::enqueue`] is the one atomic step of inbox
/// mode (store the event and claim its key, or find the key claimed and write nothing).
pub trait InboxStore {
    type Error;
    /// Stores the event and claims its key in one step, or finds the key claimed and writes
    /// nothing.
    fn enqueue(
        &mut self,
        key: &str,
        event: &crate::NormalizedEvent,
        dedupe_ttl_secs: u32,
        now: i64,
    ) -> core::result::Result<Enqueued, Self::Error>;
}

/// Receives one delivery in inbox mode: verify, normalize, store (with its key, atomically),
/// answer — the receive machine decides each step. The handler runs later, in a worker.
pub fn accept<S: InboxStore>(
    provider: Option<crate::Provider>,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
    inbox: &mut S,
) -> crate::Answer {
    use crate::receive::machine::{Action, Delivery, Input, Settings};
    use crate::receive::{decide, Step};
    let settings = Settings::new(provider, options.max_body_bytes, true, None, None, None)
        .and_then(Settings::with_inbox);
    let settings = match settings {
        Ok(settings) => settings,
        Err(error) => {
            return decide(&Step::Rejected {
                provider,
                code: String::from(error.code()),
            })
        }
    };
    let (mut delivery, mut action) = Delivery::start_request(settings, request);
    let mut event = None;
    loop {
        action = match action {
            // The machine checks the length against the cap and the declared length.
            Action::ReadBody { .. } => delivery.next(Input::BodyRead {
                length: request.body.len() as u64,
            }),
            Action::Normalize => {
                let (input, normalized) =
                    crate::receive::normalize_input(provider, request, credentials, now, options);
                event = normalized;
                delivery.next(input)
            }
            Action::Enqueue {
                key,
                dedupe_ttl_secs,
                ..
            } => {
                let stored = event
                    .as_ref()
                    .map(|event| inbox.enqueue(&key, event, dedupe_ttl_secs, now));
                delivery.next(match stored {
                    Some(Ok(enqueued)) => Input::Enqueued {
                        state: String::from(enqueued.as_str()),
                    },
                    Some(Err(_)) | None => Input::StoreFailed { timed_out: false },
                })
            }
            Action::Answer { answer, note } => return crate::Answer { note, ..answer },
            // Not asked for in inbox mode: an input out of order, answered as internal.
            _ => delivery.next(Input::Settled),
        };
    }
}

/// One stored event in a [`MemoryInbox`].
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: crate::NormalizedEvent,
    pub record: InboxRecord,
}

/// An inbox in memory: tests, the CLI, one process. Events are kept in the order stored.
#[derive(Debug, Default)]
pub struct MemoryInbox {
    /// Each key's dedupe deadline.
    keys: alloc::collections::BTreeMap<String, i64>,
    pub events: alloc::vec::Vec<StoredEvent>,
}

impl InboxStore for MemoryInbox {
    type Error = core::convert::Infallible;

    fn enqueue(
        &mut self,
        key: &str,
        event: &crate::NormalizedEvent,
        dedupe_ttl_secs: u32,
        now: i64,
    ) -> core::result::Result<Enqueued, Self::Error> {
        if self.keys.get(key).is_some_and(|until| *until > now) {
            return Ok(Enqueued::Duplicate);
        }
        self.keys.insert(
            String::from(key),
            now.saturating_add(i64::from(dedupe_ttl_secs)),
        );
        self.events.push(StoredEvent {
            event: event.clone(),
            record: enqueued(now),
        });
        Ok(Enqueued::New)
    }
}

impl MemoryInbox {
    /// Runs every event due at `now` once, in the order stored: claim, handler (`Err` is its
    /// failure's code and message), record the outcome. Returns how many handlers ran, or
    /// `invalid_option` for a policy that fails [`InboxPolicy::validate`] (nothing runs).
    pub fn work(
        &mut self,
        policy: &InboxPolicy,
        now: i64,
        mut handler: impl FnMut(&crate::NormalizedEvent) -> core::result::Result<(), (String, String)>,
    ) -> Result<usize> {
        policy.validate()?;
        let mut ran = 0;
        for stored in &mut self.events {
            let Ok(claimed) = step(policy, &stored.record, &InboxEvent::Claimed, now) else {
                continue;
            };
            stored.record = claimed;
            if stored.record.state != InboxState::Processing {
                continue;
            }
            ran += 1;
            let outcome = match handler(&stored.event) {
                Ok(()) => InboxEvent::Succeeded,
                Err((code, message)) => InboxEvent::Failed { code, message },
            };
            if let Ok(next) = step(policy, &stored.record, &outcome, now) {
                stored.record = next;
            }
        }
        Ok(ran)
    }

    /// Deletes the done events past their retention, and the keys past their dedupe TTL;
    /// returns how many events.
    pub fn purge(&mut self, now: i64) -> usize {
        let before = self.events.len();
        self.events.retain(|stored| !purgeable(&stored.record, now));
        self.keys.retain(|_, until| *until > now);
        before - self.events.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn failed() -> InboxEvent {
        InboxEvent::Failed {
            code: "ValueError".into(),
            message: "boom".into(),
        }
    }

    #[test]
    fn a_failing_handler_backs_off_then_dies_and_a_replay_starts_over() {
        let policy = InboxPolicy {
            max_attempts: 3,
            ..InboxPolicy::default()
        };
        let mut record = enqueued(1_000);
        let mut now = 1_000;
        let mut waits = alloc::vec::Vec::new();
        for _ in 0..3 {
            record = step(&policy, &record, &InboxEvent::Claimed, now).unwrap();
            assert_eq!(record.state, InboxState::Processing);
            assert_eq!(record.run_at, Some(now + 300));
            record = step(&policy, &record, &failed(), now).unwrap();
            if let Some(run_at) = record.run_at {
                assert_eq!(
                    step(&policy, &record, &InboxEvent::Claimed, run_at - 1),
                    Err(Refusal::NotDue)
                );
                waits.push(run_at - now);
                now = run_at;
            }
        }
        assert_eq!(waits, [30, 60]);
        let waiting = step(&policy, &enqueued(0), &InboxEvent::Claimed, 0)
            .and_then(|held| step(&policy, &held, &failed(), 0))
            .unwrap();
        let now_due = step(&policy, &waiting, &InboxEvent::RetriedNow, 5).unwrap();
        assert_eq!((now_due.run_at, now_due.attempts), (Some(5), 1));
        assert_eq!((record.state, record.attempts), (InboxState::Dead, 3));
        assert_eq!(record.last_error_code.as_deref(), Some("ValueError"));
        assert_eq!(
            step(&policy, &record, &InboxEvent::Claimed, now + 99_999),
            Err(Refusal::NotDue)
        );
        assert_eq!(
            step(&policy, &record, &InboxEvent::RetriedNow, now),
            Err(Refusal::NotWaiting)
        );
        let replayed = step(&policy, &record, &InboxEvent::Replayed, now).unwrap();
        assert_eq!(
            (replayed.state, replayed.attempts, replayed.run_at),
            (InboxState::Pending, 0, Some(now))
        );
    }

    #[test]
    fn a_dead_worker_s_event_is_due_after_its_lease_and_counts_the_lost_attempt() {
        let policy = InboxPolicy {
            max_attempts: 2,
            lease_secs: 60,
            ..InboxPolicy::default()
        };
        let held = step(&policy, &enqueued(0), &InboxEvent::Claimed, 0).unwrap();
        assert_eq!(
            step(&policy, &held, &InboxEvent::Claimed, 59),
            Err(Refusal::NotDue)
        );
        let retaken = step(&policy, &held, &InboxEvent::Claimed, 60).unwrap();
        assert_eq!(
            (retaken.state, retaken.attempts),
            (InboxState::Processing, 2)
        );
        assert_eq!(retaken.last_error_code.as_deref(), Some(LEASE_EXPIRED));
        // The first worker comes back late: its result is not recorded... but the second's is.
        let done = step(&policy, &retaken, &InboxEvent::Succeeded, 61).unwrap();
        assert_eq!(done.keep_until, Some(61 + 7 * 86_400));
        assert!(purgeable(&done, 61 + 7 * 86_400) && !purgeable(&done, 60 + 7 * 86_400));
        assert_eq!(
            step(&policy, &done, &InboxEvent::Succeeded, 62),
            Err(Refusal::NotProcessing)
        );
        // A worker that dies on every attempt: dead when the last lease runs out.
        let dead = step(&policy, &retaken, &InboxEvent::Claimed, 200).unwrap();
        assert_eq!((dead.state, dead.run_at), (InboxState::Dead, None));
    }

    #[test]
    fn options_are_checked_by_name_and_messages_are_bounded() {
        let json = serde_json::json!({"max_attempts": 3, "retention_secs": null});
        let policy = InboxPolicy::from_json_value(&json).unwrap();
        assert_eq!((policy.max_attempts, policy.retention_secs), (3, 604_800));
        for bad in [
            serde_json::json!({"max_attempts": 0}),
            serde_json::json!({"max_attempts": 101}),
            serde_json::json!({"lease_secs": "5m"}),
            serde_json::json!({"backoff_secs": 100, "max_backoff_secs": 10}),
            serde_json::json!({"retries": 3}),
        ] {
            assert_eq!(
                InboxPolicy::from_json_value(&bad).unwrap_err().code(),
                "invalid_option"
            );
        }
        // The same rules for a policy built as a struct: refused by every step, and by `work`.
        for (bad, field) in [
            (
                InboxPolicy {
                    max_attempts: 0,
                    ..InboxPolicy::default()
                },
                "max_attempts",
            ),
            (
                InboxPolicy {
                    lease_secs: 0,
                    ..InboxPolicy::default()
                },
                "lease_secs",
            ),
            (
                InboxPolicy {
                    retention_secs: 0,
                    ..InboxPolicy::default()
                },
                "retention_secs",
            ),
            (
                InboxPolicy {
                    max_backoff_secs: 1,
                    ..InboxPolicy::default()
                },
                "max_backoff_secs",
            ),
        ] {
            assert!(
                matches!(bad.validate(), Err(crate::Error::InvalidOption { option, .. }) if option == field)
            );
            assert_eq!(
                step(&bad, &enqueued(0), &InboxEvent::Claimed, 0),
                Err(Refusal::InvalidPolicy)
            );
            let mut inbox = MemoryInbox::default();
            assert_eq!(
                inbox.work(&bad, 0, |_| Ok(())).unwrap_err().code(),
                "invalid_option"
            );
        }
        let long = "é".repeat(2 * MAX_ERROR_MESSAGE_CHARS);
        let held = step(&policy, &enqueued(0), &InboxEvent::Claimed, 0).unwrap();
        let failed = InboxEvent::Failed {
            code: "E".into(),
            message: long,
        };
        let record = step(&policy, &held, &failed, 0).unwrap();
        let kept = record.last_error_message.unwrap();
        assert_eq!(kept.chars().count(), MAX_ERROR_MESSAGE_CHARS);
        let nul = InboxEvent::Failed {
            code: "E".into(),
            message: "upstream said: \0\u{1}garbage".into(),
        };
        let record = step(&policy, &held, &nul, 0).unwrap();
        assert_eq!(
            record.last_error_message.as_deref(),
            Some("upstream said: \u{FFFD}\u{1}garbage")
        );
        assert_eq!(policy.backoff_after(40), 3_600);
    }
}
