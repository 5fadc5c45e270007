//! A claim left without an owner's last word: what to do with it, sans-I/O.
//!
//! The receive machine answers 503 when a claim fails or misses `store_deadline_ms`, and an
//! adapter whose request was cancelled abandons its claim. Either way the claim may land in the
//! store all the same (a client timeout after the server ran it, a stalled Redis that runs
//! what was queued while it slept), and then holds off every redelivery within its lease: each
//! is answered 503 "in progress", and Lisoloo with a raised lease drops the event. So the
//! adapter lets the claim's call run on, tells this machine how it ended, and does the
//! [`OrphanAction`]s it answers: release the key with the delivery's token (a no-op unless the
//! key still holds that token, so a claim another delivery owns is never touched), after the
//! waits of [`RELEASE_WAITS_MS`], until the action is [`OrphanAction::Done`].
//!
//! A claim whose settling failed after its handler ran is the same kind of orphan: the answer
//! went out, but the key still holds the bare claim. A failed `complete` is worse than a failed
//! release: when the provider did not get the answer (its timeout was shorter than the
//! handler), every redelivery is answered "in progress" until the lease ends and the next one
//! runs the handler a second time. So the machine has the settling call tried again, after the
//! waits of [`SETTLE_WAITS_MS`], until one holds.
//!
//! ```text
//! (none) + landed { state } | failed            -> release { after_ms } | done
//! (none) + settle_failed { action }             -> complete | release { after_ms }
//! state  + released | release_failed
//!        | completed | complete_failed          -> complete | release { after_ms } | done { log, note }
//! state  + stopped { reason }                   -> done { log, note }
//! ```
//!
//! A claim that answered "new" late is released until one release holds. One that failed is
//! released after every wait: it may land only after a release (the stalled store runs the
//! claim and the first release in either order), and a release often fails with it. A settling
//! call that failed is tried again until one holds.

use alloc::string::String;
use serde_json::Value;

use super::{answer_code, LogLevel, STORE_FAILED_STATUS};
use crate::error::{Error, Result};

/// How long to wait before each release of an unowned claim, one after the other (at +0, +1
/// and +6 s after the claim answered): past a stalled store's recovery in most cases, and well
/// inside every provider's first redelivery (30 s at the soonest, Telnyx's 5 s retries aside,
/// whose lease is shorter for that reason).
pub const RELEASE_WAITS_MS: [u32; 3] = [0, 1_000, 5_000];

/// How long to wait before each new try of a settling call that failed (at +0, +1, +6 and
/// +26 s after it failed): a store outage of up to ~25 s leaves no claim behind, and the last
/// try still falls inside the 30 s a Worker's `waitUntil` keeps work alive after its answer.
pub const SETTLE_WAITS_MS: [u32; 4] = [0, 1_000, 5_000, 20_000];

/// Which call left the claim without its owner's last word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The claim answered "new" after its delivery gave it up.
    LateClaim,
    /// The claim failed (an error, not an answer): released after every wait.
    FailedClaim,
    /// Releasing the claim after the handler failed did not hold.
    FailedRelease,
    /// Completing the claim after the handler ran did not hold.
    FailedComplete,
}

impl Cause {
    const ALL: [Cause; 4] = [
        Cause::LateClaim,
        Cause::FailedClaim,
        Cause::FailedRelease,
        Cause::FailedComplete,
    ];

    fn waits(self) -> &'static [u32] {
        match self {
            Cause::LateClaim | Cause::FailedClaim => &RELEASE_WAITS_MS,
            Cause::FailedRelease | Cause::FailedComplete => &SETTLE_WAITS_MS,
        }
    }
}

/// An unowned claim's memory between steps; the adapter holds it (bindings pass it back as
/// JSON). It crosses as one small number, opaque to adapters, and the steps as `Value`s
/// ([`step_json`]): serde's derives and their serde_json instantiations weighed ~2.6 KB of the
/// receiver's gzipped wasm (measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrphanedClaim {
    cause: Cause,
    /// Calls tried so far.
    tried: u8,
    /// Whether one of them succeeded.
    held: bool,
}

impl From<OrphanedClaim> for u8 {
    fn from(claim: OrphanedClaim) -> u8 {
        let cause = Cause::ALL
            .iter()
            .position(|cause| *cause == claim.cause)
            .unwrap_or(0) as u8;
        claim.tried << 3 | u8::from(claim.held) << 2 | cause
    }
}

impl TryFrom<u8> for OrphanedClaim {
    type Error = &'static str;

    fn try_from(number: u8) -> core::result::Result<OrphanedClaim, &'static str> {
        let cause = *Cause::ALL
            .get(usize::from(number & 3))
            .ok_or("an orphaned claim's state")?;
        let tried = number >> 3;
        if usize::from(tried) > cause.waits().len() {
            return Err("an orphaned claim's state");
        }
        Ok(OrphanedClaim {
            cause,
            tried,
            held: number & 4 != 0,
        })
    }
}

/// What happened, as the adapter tells it (`{"input": name, "state"?, "action"?}`, read by
/// [`OrphanInput::from_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanInput {
    /// The claim answered after its delivery gave it up: the store's state (`new`,
    /// `in_progress`, `done`, or anything a broken store says).
    Landed { state: String },
    /// The claim failed (an exception, a rejection), in time or late.
    Failed,
    /// The delivery's settling call failed, in time or late (`{"input": "settle_failed",
    /// "action": "complete" | "release"}`: the action the receive machine had asked for).
    SettleFailed { complete: bool },
    /// A release the machine asked for succeeded.
    Released,
    /// A release the machine asked for failed.
    ReleaseFailed,
    /// A complete the machine asked for succeeded.
    Completed,
    /// A complete the machine asked for failed.
    CompleteFailed,
    /// The adapter stopped before the machine was done (`{"input": "stopped", "reason"}`: no
    /// thread could run the calls, the event loop running them ended): `reason` is the
    /// adapter's own words, never a request's value. Answered `Done` with what redeliveries
    /// now meet, so every adapter tells it alike.
    Stopped { reason: String },
}

/// What the adapter does next (`{"action": "release" | "complete", "after_ms"}` or
/// `{"action": "done", "log", "note"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanAction {
    /// Wait `after_ms`, then `store.release(key, token)` with the delivery's key and token, and
    /// feed `Released` or `ReleaseFailed`.
    Release { after_ms: u32 },
    /// Wait `after_ms`, then `store.complete(key, token, ttl_secs)` with the delivery's key,
    /// token and the `ttl_secs` of the receive machine's `complete`, and feed `Completed` or
    /// `CompleteFailed`.
    Complete { after_ms: u32 },
    /// Nothing more to do; log `note` (with the provider and event id) at `log` if there is one.
    Done { log: LogLevel, note: Option<String> },
}

/// One step on JSON forms: `state` is `null` or what the previous step returned, `input` an
/// [`OrphanInput`]'s JSON; the result is `{"state", "action"}`.
pub fn step_json(state: &Value, input: &Value) -> Result<Value> {
    let invalid = |reason: &str| Error::InvalidRequest {
        reason: reason.into(),
    };
    let state = match state {
        Value::Null => None,
        number => Some(
            number
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .and_then(|n| OrphanedClaim::try_from(n).ok())
                .ok_or_else(|| invalid("state: null or what the previous step returned"))?,
        ),
    };
    let input = OrphanInput::from_json(input).ok_or_else(|| {
        invalid("input: landed (with its state), failed, settle_failed (with its action), released, release_failed, completed, complete_failed or stopped (with its reason)")
    })?;
    let (state, action) = OrphanedClaim::next(state, &input)?;
    let mut step = serde_json::Map::new();
    step.insert(
        "state".into(),
        state.map_or(Value::Null, |claim| Value::from(u8::from(claim))),
    );
    let mut fields = serde_json::Map::new();
    match action {
        OrphanAction::Release { after_ms } | OrphanAction::Complete { after_ms } => {
            let name = if matches!(action, OrphanAction::Complete { .. }) {
                "complete"
            } else {
                "release"
            };
            fields.insert("action".into(), Value::from(name));
            fields.insert("after_ms".into(), Value::from(after_ms));
        }
        OrphanAction::Done { log, note } => {
            fields.insert("action".into(), Value::from("done"));
            fields.insert("log".into(), Value::from(log.as_str()));
            if note.is_some() {
                // Told as the delivery's store failure was: what redeliveries meet is that answer.
                fields.insert("code".into(), Value::from(answer_code::DEDUPE_UNAVAILABLE));
                fields.insert("status".into(), Value::from(STORE_FAILED_STATUS));
            }
            fields.insert("note".into(), note.map_or(Value::Null, Value::from));
        }
    }
    step.insert("action".into(), Value::Object(fields));
    Ok(Value::Object(step))
}

impl OrphanInput {
    /// Read by hand from its JSON form: serde's derive for an internally tagged enum buffers the
    /// whole map and weighs ~5 KB of the receiver's gzipped wasm (measured), for four inputs.
    pub fn from_json(value: &serde_json::Value) -> Option<OrphanInput> {
        Some(match value.get("input")?.as_str()? {
            "landed" => OrphanInput::Landed {
                state: value.get("state")?.as_str()?.into(),
            },
            "failed" => OrphanInput::Failed,
            "settle_failed" => OrphanInput::SettleFailed {
                complete: match value.get("action")?.as_str()? {
                    "complete" => true,
                    "release" => false,
                    _ => return None,
                },
            },
            "released" => OrphanInput::Released,
            "release_failed" => OrphanInput::ReleaseFailed,
            "completed" => OrphanInput::Completed,
            "complete_failed" => OrphanInput::CompleteFailed,
            "stopped" => OrphanInput::Stopped {
                reason: value.get("reason")?.as_str()?.into(),
            },
            _ => return None,
        })
    }

    /// For a call's outcome: whether it is a complete's, and whether it held.
    fn outcome(&self) -> Option<(bool, bool)> {
        match self {
            OrphanInput::Released => Some((false, true)),
            OrphanInput::ReleaseFailed => Some((false, false)),
            OrphanInput::Completed => Some((true, true)),
            OrphanInput::CompleteFailed => Some((true, false)),
            _ => None,
        }
    }
}

impl OrphanedClaim {
    /// The next step: `state` is `None` for the first input (`Landed`, `Failed` or
    /// `SettleFailed`), then what the previous step returned. An input out of order is the
    /// adapter's bug.
    pub fn next(
        state: Option<OrphanedClaim>,
        input: &OrphanInput,
    ) -> Result<(Option<OrphanedClaim>, OrphanAction)> {
        let done = |log, note: Option<&str>| OrphanAction::Done {
            log,
            note: note.map(String::from),
        };
        if let (Some(claim), OrphanInput::Stopped { reason }) = (state, input) {
            return Ok((None, claim.stopped(reason)));
        }
        let mut claim = match (state, input) {
            (None, OrphanInput::Landed { state }) if state != "new" => {
                // Another delivery's claim, or the event was handled: nothing is ours.
                return Ok((None, done(LogLevel::None, None)));
            }
            (None, OrphanInput::Landed { .. } | OrphanInput::Failed | OrphanInput::SettleFailed { .. }) => {
                let cause = match input {
                    OrphanInput::Failed => Cause::FailedClaim,
                    OrphanInput::SettleFailed { complete: true } => Cause::FailedComplete,
                    OrphanInput::SettleFailed { complete: false } => Cause::FailedRelease,
                    _ => Cause::LateClaim,
                };
                let claim = OrphanedClaim {
                    cause,
                    tried: 0,
                    held: false,
                };
                return Ok((Some(claim), claim.call()));
            }
            (Some(claim), input)
                if input.outcome().is_some_and(|(complete, _)| {
                    complete == (claim.cause == Cause::FailedComplete)
                }) && usize::from(claim.tried) < claim.cause.waits().len() =>
            {
                claim
            }
            _ => {
                return Err(Error::InvalidRequest {
                    reason: "input: landed, failed or settle_failed first, then released or release_failed for each release asked for, completed or complete_failed for each complete".into(),
                })
            }
        };
        claim.tried += 1;
        claim.held |= input.outcome().is_some_and(|(_, held)| held);
        if claim.held && claim.cause != Cause::FailedClaim {
            return Ok((None, done(LogLevel::None, None)));
        }
        if usize::from(claim.tried) < claim.cause.waits().len() {
            return Ok((Some(claim), claim.call()));
        }
        Ok((
            None,
            match (claim.held, claim.cause) {
                (true, _) => done(LogLevel::None, None),
                (false, Cause::LateClaim | Cause::FailedClaim) => done(
                    LogLevel::Warning,
                    Some("a claim left without an owner could not be released (the store failed 3 times); redeliveries within its lease are answered in progress"),
                ),
                (false, Cause::FailedRelease) => done(
                    LogLevel::Warning,
                    Some("the failed handler's claim could not be released (the store failed 4 more times); redeliveries within its lease are answered in progress"),
                ),
                (false, Cause::FailedComplete) => done(
                    LogLevel::Error,
                    Some("the handled event's claim could not be completed (the store failed 4 more times); redeliveries within its lease are answered in progress, and the first after it runs the handler again"),
                ),
            },
        ))
    }

    /// The adapter stopped before the machine was done: what redeliveries meet, and at which
    /// level — nothing when a call held already (a failed claim's later releases only guard
    /// against its landing after the first).
    fn stopped(self, reason: &str) -> OrphanAction {
        if self.held {
            return OrphanAction::Done {
                log: LogLevel::None,
                note: None,
            };
        }
        let (log, what) = match self.cause {
            Cause::LateClaim | Cause::FailedClaim => (
                LogLevel::Warning,
                "a claim left without an owner was not released",
            ),
            Cause::FailedRelease => (
                LogLevel::Warning,
                "the failed handler's claim was not released",
            ),
            Cause::FailedComplete => (
                LogLevel::Error,
                "the handled event's claim was not completed",
            ),
        };
        let mut note = alloc::format!(
            "{what} ({reason}); redeliveries within its lease are answered in progress"
        );
        if self.cause == Cause::FailedComplete {
            note.push_str(", and the first after it runs the handler again");
        }
        OrphanAction::Done {
            log,
            note: Some(note),
        }
    }

    /// The call to try next, after its wait.
    fn call(self) -> OrphanAction {
        // `next` asks for a call only while `tried` is below the number of waits.
        let after_ms = self
            .cause
            .waits()
            .get(usize::from(self.tried))
            .copied()
            .unwrap_or(0);
        if self.cause == Cause::FailedComplete {
            OrphanAction::Complete { after_ms }
        } else {
            OrphanAction::Release { after_ms }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// The waits asked for, and the last action, when every release answers `outcome`.
    fn run(first: OrphanInput, outcome: &OrphanInput) -> (Vec<u32>, OrphanAction) {
        let (mut state, mut action) = OrphanedClaim::next(None, &first).unwrap();
        let mut waits = Vec::new();
        while let OrphanAction::Release { after_ms } = action {
            waits.push(after_ms);
            (state, action) = OrphanedClaim::next(state, outcome).unwrap();
        }
        assert_eq!(state, None);
        (waits, action)
    }

    #[test]
    fn a_late_new_claim_is_released_until_one_release_holds() {
        let landed = || OrphanInput::Landed {
            state: "new".into(),
        };
        let (waits, done) = run(landed(), &OrphanInput::Released);
        assert_eq!((waits, done), (alloc::vec![0], done_quietly()));
        let (waits, done) = run(landed(), &OrphanInput::ReleaseFailed);
        assert_eq!(waits, RELEASE_WAITS_MS);
        assert!(
            matches!(done, OrphanAction::Done { log: LogLevel::Warning, note: Some(note) } if note.contains("could not be released"))
        );
    }

    #[test]
    fn a_failed_claim_is_released_after_every_wait_for_it_may_land_after_a_release() {
        let (waits, done) = run(OrphanInput::Failed, &OrphanInput::Released);
        assert_eq!((waits, done), (RELEASE_WAITS_MS.to_vec(), done_quietly()));
        // One release of three held: it may have been the one that mattered; nothing to say.
        let (mut state, _) = OrphanedClaim::next(None, &OrphanInput::Failed).unwrap();
        for outcome in [
            OrphanInput::ReleaseFailed,
            OrphanInput::Released,
            OrphanInput::ReleaseFailed,
        ] {
            let (next, action) = OrphanedClaim::next(state, &outcome).unwrap();
            state = next;
            if state.is_none() {
                assert_eq!(action, done_quietly());
            }
        }
        assert_eq!(state, None);
    }

    #[test]
    fn a_claim_another_delivery_owns_is_left_alone_and_inputs_out_of_order_are_refused() {
        for state in ["in_progress", "done", "NEW", ""] {
            let landed = OrphanInput::Landed {
                state: state.into(),
            };
            assert_eq!(
                OrphanedClaim::next(None, &landed).unwrap(),
                (None, done_quietly())
            );
        }
        assert!(OrphanedClaim::next(None, &OrphanInput::Released).is_err());
        let (state, _) = OrphanedClaim::next(None, &OrphanInput::Failed).unwrap();
        assert!(OrphanedClaim::next(state, &OrphanInput::Failed).is_err());
        let spent = OrphanedClaim {
            cause: Cause::FailedClaim,
            tried: 3,
            held: false,
        };
        assert!(OrphanedClaim::next(Some(spent), &OrphanInput::Released).is_err());
    }

    #[test]
    fn an_adapter_that_stops_early_is_told_what_redeliveries_meet() {
        let step = |state: &Value, input: Value| step_json(state, &input).unwrap();
        let reason = "the event loop ended";
        for (first, level, what, again) in [
            (
                serde_json::json!({"input": "settle_failed", "action": "complete"}),
                "error",
                "the handled event's claim was not completed",
                true,
            ),
            (
                serde_json::json!({"input": "settle_failed", "action": "release"}),
                "warning",
                "the failed handler's claim was not released",
                false,
            ),
            (
                serde_json::json!({"input": "failed"}),
                "warning",
                "a claim left without an owner was not released",
                false,
            ),
        ] {
            let started = step(&Value::Null, first.clone());
            // Stopped at once (no thread could run the calls) or after a failed try.
            let failed_once = step(
                &started["state"],
                serde_json::json!({"input": if again { "complete_failed" } else { "release_failed" }}),
            );
            for state in [&started["state"], &failed_once["state"]] {
                let stopped = step(
                    state,
                    serde_json::json!({"input": "stopped", "reason": reason}),
                );
                let note = stopped["action"]["note"].as_str().unwrap();
                assert_eq!(stopped["state"], Value::Null, "{first}");
                assert_eq!(stopped["action"]["action"], "done", "{first}");
                assert_eq!(stopped["action"]["log"], level, "{first}");
                assert_eq!(stopped["action"]["code"], "dedupe_unavailable", "{first}");
                assert_eq!(stopped["action"]["status"], 503, "{first}");
                assert!(
                    note.starts_with(&alloc::format!(
                        "{what} ({reason}); redeliveries within its lease are answered in progress"
                    )),
                    "{note}"
                );
                assert_eq!(note.contains("runs the handler again"), again, "{note}");
            }
        }
        // A failed claim's release that held already: its later releases cut short say nothing.
        let started = step(&Value::Null, serde_json::json!({"input": "failed"}));
        let released = step(&started["state"], serde_json::json!({"input": "released"}));
        assert_eq!(
            released["action"]["action"], "release",
            "released after every wait"
        );
        let stopped = step(
            &released["state"],
            serde_json::json!({"input": "stopped", "reason": reason}),
        );
        assert_eq!(
            stopped,
            serde_json::json!({"state": null, "action": {"action": "done", "log": "none", "note": null}})
        );
        // Nothing to stop before the machine started, and a reason is required.
        assert!(step_json(
            &Value::Null,
            &serde_json::json!({"input": "stopped", "reason": reason})
        )
        .is_err());
        assert!(step_json(
            &serde_json::json!(1),
            &serde_json::json!({"input": "stopped"})
        )
        .is_err());
    }

    #[test]
    fn steps_cross_as_json_the_state_as_a_number() {
        let step = |state: Value, input: Value| step_json(&state, &input);
        let first = step(Value::Null, serde_json::json!({"input": "failed"})).unwrap();
        assert_eq!(
            first,
            serde_json::json!({"state": 1, "action": {"action": "release", "after_ms": 0}})
        );
        let mut state = first["state"].clone();
        for _ in RELEASE_WAITS_MS {
            let next = step(state, serde_json::json!({"input": "release_failed"})).unwrap();
            state = next["state"].clone();
            if state.is_null() {
                assert_eq!(next["action"]["action"], "done");
                assert_eq!(next["action"]["log"], "warning");
                assert!(next["action"]["note"]
                    .as_str()
                    .unwrap()
                    .contains("could not be released"));
                // What redeliveries meet, told by the core so every adapter tells it alike.
                assert_eq!(
                    (&next["action"]["code"], &next["action"]["status"]),
                    (&Value::from("dedupe_unavailable"), &Value::from(503))
                );
            }
        }
        assert!(state.is_null());
        let landed = step(
            Value::Null,
            serde_json::json!({"input": "landed", "state": "done"}),
        );
        assert_eq!(
            landed.unwrap(),
            serde_json::json!({"state": null, "action": {"action": "done", "log": "none", "note": null}})
        );
        for (state, input) in [
            (
                serde_json::json!(40),
                serde_json::json!({"input": "released"}),
            ),
            (
                serde_json::json!(256),
                serde_json::json!({"input": "released"}),
            ),
            (Value::Null, serde_json::json!({"input": "settle_failed"})),
            (
                Value::Null,
                serde_json::json!({"input": "settle_failed", "action": "claim"}),
            ),
            (
                serde_json::json!(-1),
                serde_json::json!({"input": "released"}),
            ),
            (
                serde_json::json!("3"),
                serde_json::json!({"input": "released"}),
            ),
            (Value::Null, serde_json::json!({"input": "landed"})),
            (Value::Null, serde_json::json!({"input": "teleported"})),
            (Value::Null, serde_json::json!("failed")),
        ] {
            assert!(
                step(state.clone(), input.clone()).is_err(),
                "{state} {input}"
            );
        }
    }

    /// The calls asked for (complete or not, and the wait before each), and the last action,
    /// when every call answers `outcome`.
    fn settle(complete: bool, held: bool) -> (Vec<(bool, u32)>, OrphanAction) {
        let outcome = match (complete, held) {
            (true, true) => OrphanInput::Completed,
            (true, false) => OrphanInput::CompleteFailed,
            (false, true) => OrphanInput::Released,
            (false, false) => OrphanInput::ReleaseFailed,
        };
        let (mut state, mut action) =
            OrphanedClaim::next(None, &OrphanInput::SettleFailed { complete }).unwrap();
        let mut calls = Vec::new();
        loop {
            match action {
                OrphanAction::Complete { after_ms } => calls.push((true, after_ms)),
                OrphanAction::Release { after_ms } => calls.push((false, after_ms)),
                OrphanAction::Done { .. } => break,
            }
            (state, action) = OrphanedClaim::next(state, &outcome).unwrap();
        }
        assert_eq!(state, None);
        (calls, action)
    }

    #[test]
    fn a_failed_complete_is_tried_again_until_one_holds_and_said_as_an_error_if_none_does() {
        let (calls, done) = settle(true, true);
        assert_eq!((calls, done), (alloc::vec![(true, 0)], done_quietly()));
        let (calls, done) = settle(true, false);
        let waits: Vec<(bool, u32)> = SETTLE_WAITS_MS.iter().map(|wait| (true, *wait)).collect();
        assert_eq!(calls, waits);
        assert!(
            matches!(&done, OrphanAction::Done { log: LogLevel::Error, note: Some(note) }
                if note.contains("could not be completed")
                    && note.contains(&alloc::format!("{} more times", SETTLE_WAITS_MS.len()))
                    && note.contains("runs the handler again")),
            "{done:?}"
        );
        // A complete that failed twice, then held: nothing left to say.
        let (mut state, _) =
            OrphanedClaim::next(None, &OrphanInput::SettleFailed { complete: true }).unwrap();
        let mut last = None;
        for outcome in [
            OrphanInput::CompleteFailed,
            OrphanInput::CompleteFailed,
            OrphanInput::Completed,
        ] {
            let (next, action) = OrphanedClaim::next(state, &outcome).unwrap();
            state = next;
            last = Some(action);
        }
        assert_eq!((state, last), (None, Some(done_quietly())));
    }

    #[test]
    fn a_failed_release_is_tried_again_until_one_holds() {
        let (calls, done) = settle(false, true);
        assert_eq!((calls, done), (alloc::vec![(false, 0)], done_quietly()));
        let (calls, done) = settle(false, false);
        assert_eq!(calls.len(), SETTLE_WAITS_MS.len());
        assert!(calls.iter().all(|(complete, _)| !complete));
        assert!(
            matches!(&done, OrphanAction::Done { log: LogLevel::Warning, note: Some(note) } if note.contains("could not be released")),
            "{done:?}"
        );
    }

    #[test]
    fn a_settling_call_is_told_by_its_own_outcome_names() {
        let (state, _) =
            OrphanedClaim::next(None, &OrphanInput::SettleFailed { complete: true }).unwrap();
        assert!(OrphanedClaim::next(state, &OrphanInput::Released).is_err());
        let (state, _) =
            OrphanedClaim::next(None, &OrphanInput::SettleFailed { complete: false }).unwrap();
        assert!(OrphanedClaim::next(state, &OrphanInput::Completed).is_err());
        let (state, _) = OrphanedClaim::next(None, &OrphanInput::Failed).unwrap();
        assert!(OrphanedClaim::next(state, &OrphanInput::CompleteFailed).is_err());
        // Every state survives its trip through its number.
        for cause in Cause::ALL {
            for tried in 0..=cause.waits().len() as u8 {
                for held in [false, true] {
                    let claim = OrphanedClaim { cause, tried, held };
                    assert_eq!(OrphanedClaim::try_from(u8::from(claim)), Ok(claim));
                }
            }
        }
        let step = step_json(
            &Value::Null,
            &serde_json::json!({"input": "settle_failed", "action": "complete"}),
        )
        .unwrap();
        assert_eq!(
            step["action"],
            serde_json::json!({"action": "complete", "after_ms": 0})
        );
        let step = step_json(
            &step["state"],
            &serde_json::json!({"input": "complete_failed"}),
        )
        .unwrap();
        assert_eq!(
            step["action"],
            serde_json::json!({"action": "complete", "after_ms": 1000})
        );
    }

    fn done_quietly() -> OrphanAction {
        OrphanAction::Done {
            log: LogLevel::None,
            note: None,
        }
    }
}
