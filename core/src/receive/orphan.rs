//! A claim left without an owner: what to do with it, sans-I/O.
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
//! ```text
//! (none) + landed { state } | failed -> release { after_ms } | done
//! state  + released | release_failed -> release { after_ms } | done { log, note }
//! ```
//!
//! A claim that answered "new" late is released until one release holds. One that failed is
//! released after every wait: it may land only after a release (the stalled store runs the
//! claim and the first release in either order), and a release often fails with it.

use alloc::string::String;
use serde_json::Value;

use super::LogLevel;
use crate::error::{Error, Result};

/// How long to wait before each release of an unowned claim, one after the other (at +0, +1
/// and +6 s after the claim answered): past a stalled store's recovery in most cases, and well
/// inside every provider's first redelivery (30 s at the soonest, Telnyx's 5 s retries aside,
/// whose lease is shorter for that reason).
pub const RELEASE_WAITS_MS: [u32; 3] = [0, 1_000, 5_000];

/// An unowned claim's memory between steps; the adapter holds it (bindings pass it back as
/// JSON). It crosses as one small number, opaque to adapters, and the steps as `Value`s
/// ([`step_json`]): serde's derives and their serde_json instantiations weighed ~2.6 KB of the
/// receiver's gzipped wasm (measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrphanedClaim {
    /// The claim failed (an error, not an answer): released after every wait.
    after_failure: bool,
    /// Releases tried so far.
    tried: u8,
    /// Whether one of them succeeded.
    held: bool,
}

impl From<OrphanedClaim> for u8 {
    fn from(claim: OrphanedClaim) -> u8 {
        claim.tried << 2 | u8::from(claim.after_failure) << 1 | u8::from(claim.held)
    }
}

impl TryFrom<u8> for OrphanedClaim {
    type Error = &'static str;

    fn try_from(number: u8) -> core::result::Result<OrphanedClaim, &'static str> {
        if usize::from(number >> 2) > RELEASE_WAITS_MS.len() {
            return Err("an orphaned claim's state");
        }
        Ok(OrphanedClaim {
            tried: number >> 2,
            after_failure: number & 2 != 0,
            held: number & 1 != 0,
        })
    }
}

/// What happened, as the adapter tells it (`{"input": name, "state"?}`, read by
/// [`OrphanInput::from_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanInput {
    /// The claim answered after its delivery gave it up: the store's state (`new`,
    /// `in_progress`, `done`, or anything a broken store says).
    Landed { state: String },
    /// The claim failed (an exception, a rejection), in time or late.
    Failed,
    /// A release the machine asked for succeeded.
    Released,
    /// A release the machine asked for failed.
    ReleaseFailed,
}

/// What the adapter does next (`{"action": "release", "after_ms"}` or `{"action": "done",
/// "log", "note"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanAction {
    /// Wait `after_ms`, then `store.release(key, token)` with the delivery's key and token, and
    /// feed `Released` or `ReleaseFailed`.
    Release { after_ms: u32 },
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
        invalid("input: landed (with its state), failed, released or release_failed")
    })?;
    let (state, action) = OrphanedClaim::next(state, &input)?;
    let mut step = serde_json::Map::new();
    step.insert(
        "state".into(),
        state.map_or(Value::Null, |claim| Value::from(u8::from(claim))),
    );
    let mut fields = serde_json::Map::new();
    match action {
        OrphanAction::Release { after_ms } => {
            fields.insert("action".into(), Value::from("release"));
            fields.insert("after_ms".into(), Value::from(after_ms));
        }
        OrphanAction::Done { log, note } => {
            fields.insert("action".into(), Value::from("done"));
            fields.insert("log".into(), Value::from(log.as_str()));
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
            "released" => OrphanInput::Released,
            "release_failed" => OrphanInput::ReleaseFailed,
            _ => return None,
        })
    }
}

impl OrphanedClaim {
    /// The next step: `state` is `None` for the claim's own outcome (`Landed` or `Failed`),
    /// then what the previous step returned. An input out of order is the adapter's bug.
    pub fn next(
        state: Option<OrphanedClaim>,
        input: &OrphanInput,
    ) -> Result<(Option<OrphanedClaim>, OrphanAction)> {
        let done = |log, note: Option<&str>| OrphanAction::Done {
            log,
            note: note.map(String::from),
        };
        let mut claim = match (state, input) {
            (None, OrphanInput::Landed { state }) if state != "new" => {
                // Another delivery's claim, or the event was handled: nothing is ours.
                return Ok((None, done(LogLevel::None, None)));
            }
            (None, OrphanInput::Landed { .. } | OrphanInput::Failed) => {
                let claim = OrphanedClaim {
                    after_failure: *input == OrphanInput::Failed,
                    tried: 0,
                    held: false,
                };
                return Ok((Some(claim), claim.release()));
            }
            (Some(claim), OrphanInput::Released | OrphanInput::ReleaseFailed)
                if usize::from(claim.tried) < RELEASE_WAITS_MS.len() =>
            {
                claim
            }
            _ => {
                return Err(Error::InvalidRequest {
                    reason: "input: landed or failed first, then released or release_failed for each release asked for".into(),
                })
            }
        };
        claim.tried += 1;
        claim.held |= *input == OrphanInput::Released;
        if claim.held && !claim.after_failure {
            return Ok((None, done(LogLevel::None, None)));
        }
        if usize::from(claim.tried) < RELEASE_WAITS_MS.len() {
            return Ok((Some(claim), claim.release()));
        }
        Ok((
            None,
            if claim.held {
                done(LogLevel::None, None)
            } else {
                done(
                    LogLevel::Warning,
                    Some("a claim left without an owner could not be released (the store failed 3 times); redeliveries within its lease are answered in progress"),
                )
            },
        ))
    }

    fn release(self) -> OrphanAction {
        OrphanAction::Release {
            // `next` asks for a release only while `tried` is below the number of waits.
            after_ms: RELEASE_WAITS_MS
                .get(usize::from(self.tried))
                .copied()
                .unwrap_or(0),
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
            after_failure: true,
            tried: 3,
            held: false,
        };
        assert!(OrphanedClaim::next(Some(spent), &OrphanInput::Released).is_err());
    }

    #[test]
    fn steps_cross_as_json_the_state_as_a_number() {
        let step = |state: Value, input: Value| step_json(&state, &input);
        let first = step(Value::Null, serde_json::json!({"input": "failed"})).unwrap();
        assert_eq!(
            first,
            serde_json::json!({"state": 2, "action": {"action": "release", "after_ms": 0}})
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
                serde_json::json!(16),
                serde_json::json!({"input": "released"}),
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

    fn done_quietly() -> OrphanAction {
        OrphanAction::Done {
            log: LogLevel::None,
            note: None,
        }
    }
}
