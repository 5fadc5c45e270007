#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Runs every inbox-mode vector (tests/inbox/) through the core's own inbox path
//! (`inbox::accept`) and in-memory inbox and worker (`MemoryInbox`): the reference the Node,
//! workerd and Python runners must match.

use serde_json::{json, Value};
use telhook_core::inbox::{
    accept, step, Enqueued, InboxEvent, InboxPolicy, InboxStore, MemoryInbox, Refusal,
};
use telhook_core::{Credentials, NormalizedEvent, Options, Provider};

mod common;

use common::{inbox_vectors, request_of};

/// The memory inbox, whose next enqueue fails when a step says `"store": "fails"`, or finds
/// another delivery storing the event when it says `"store": "in_progress"`.
#[derive(Default)]
struct Flaky {
    inner: MemoryInbox,
    fail: bool,
    busy: bool,
}

impl InboxStore for Flaky {
    type Error = ();
    fn enqueue(
        &mut self,
        key: &str,
        event: &NormalizedEvent,
        ttl: u32,
        now: i64,
    ) -> Result<Enqueued, ()> {
        if std::mem::take(&mut self.fail) {
            return Err(());
        }
        if std::mem::take(&mut self.busy) {
            return Ok(Enqueued::InProgress);
        }
        self.inner
            .enqueue(key, event, ttl, now)
            .map_err(|e| match e {})
    }
}

fn states(inbox: &MemoryInbox) -> Value {
    json!(inbox
        .events
        .iter()
        .map(|stored| stored.record.state.as_str())
        .collect::<Vec<_>>())
}

fn run(vector: &Value) -> Result<(), String> {
    let provider = Some(Provider::from_name(vector["provider"].as_str().unwrap()).unwrap());
    let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
    let policy = InboxPolicy::from_json_value(&vector["policy"]).unwrap();
    let options = Options::from_json_value(vector["options"].clone()).unwrap();
    let mut now = vector["now"].as_i64().unwrap();
    let mut inbox = Flaky::default();
    let mut calls = 0;
    for (index, step_) in vector["steps"].as_array().unwrap().iter().enumerate() {
        if let Some(request) = step_.get("deliver") {
            inbox.fail = step_.get("store").and_then(Value::as_str) == Some("fails");
            inbox.busy = step_.get("store").and_then(Value::as_str) == Some("in_progress");
            let answer = accept(
                provider,
                &request_of(request),
                &credentials,
                now,
                &options,
                &mut inbox,
            );
            let mut seen = json!({"status": answer.status, "code": answer.code});
            // Only the headers the vector lists are compared.
            if let Some(headers) = step_["expect"].get("headers").and_then(Value::as_object) {
                seen["headers"] = headers
                    .keys()
                    .map(|name| {
                        let value = answer.headers.iter().find(|(n, _)| n == name);
                        (name.clone(), json!(value.map(|(_, v)| v)))
                    })
                    .collect();
            }
            if seen != step_["expect"] {
                return Err(format!(
                    "step {index}: expected {}, got {seen}",
                    step_["expect"]
                ));
            }
            continue;
        }
        if let Some(seconds) = step_.get("advance_secs") {
            now += seconds.as_i64().unwrap();
            continue;
        }
        if let Some(outcomes) = step_.get("work") {
            let mut outcomes = outcomes
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap());
            let (mut ran, mut unexpected) = (0, false);
            // A "die" outcome: the worker vanishes after calling the handler, recording nothing.
            for stored in &mut inbox.inner.events {
                let Ok(claimed) = step(&policy, &stored.record, &InboxEvent::Claimed, now) else {
                    continue;
                };
                stored.record = claimed;
                if stored.record.state != telhook_core::inbox::InboxState::Processing {
                    continue;
                }
                ran += 1;
                let outcome = match outcomes.next() {
                    Some("ok") => InboxEvent::Succeeded,
                    Some("raise") => InboxEvent::Failed {
                        code: "HandlerError".into(),
                        message: "the handler raised".into(),
                    },
                    Some("die") => continue,
                    _ => {
                        unexpected = true;
                        InboxEvent::Succeeded
                    }
                };
                stored.record = step(&policy, &stored.record, &outcome, now)
                    .map_err(|refusal: Refusal| format!("step {index}: {refusal:?}"))?;
            }
            calls += ran;
            if unexpected || outcomes.next().is_some() {
                return Err(format!(
                    "step {index}: the worker ran {ran} handlers, not {}",
                    step_["work"]
                ));
            }
        } else if let Some(replayed) = step_.get("replay") {
            let stored = &mut inbox.inner.events[replayed.as_u64().unwrap() as usize];
            stored.record = step(&policy, &stored.record, &InboxEvent::Replayed, now)
                .map_err(|refusal| format!("step {index}: {refusal:?}"))?;
        } else if step_.get("purge").is_some() {
            inbox.inner.purge(now);
        } else {
            return Err(format!("step {index}: unknown step {step_}"));
        }
        let seen = states(&inbox.inner);
        if seen != step_["expect_states"] {
            return Err(format!(
                "step {index}: states {seen}, expected {}",
                step_["expect_states"]
            ));
        }
    }
    let expected = vector["expect_handler_calls"].as_u64().unwrap();
    if calls != expected {
        return Err(format!("handler called {calls} times, expected {expected}"));
    }
    Ok(())
}

#[test]
fn every_inbox_vector_gives_the_expected_answers_and_states() {
    common::run_all(&inbox_vectors(), 30, run);
}

#[test]
fn the_memory_inbox_worker_runs_due_events_and_counts_them() {
    // MemoryInbox::work is the loop the vectors spell out by hand (they need "die").
    let vectors = inbox_vectors();
    let (_, vector) = vectors
        .iter()
        .find(|(path, _)| path.ends_with("lisoloo_failed_attempt_is_retried.json"))
        .unwrap();
    let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
    let request = request_of(&vector["steps"][0]["deliver"]);
    let now = vector["now"].as_i64().unwrap();
    let mut inbox = MemoryInbox::default();
    let answer = accept(
        Some(Provider::Lisoloo),
        &request,
        &credentials,
        now,
        &Options::default(),
        &mut inbox,
    );
    assert_eq!((answer.status, answer.code), (200, "queued"));
    let policy = InboxPolicy::default();
    let failing = |_: &NormalizedEvent| Err(("E".into(), "no".into()));
    assert_eq!(inbox.work(&policy, now, failing).unwrap(), 1);
    assert_eq!(inbox.work(&policy, now + 29, |_| Ok(())).unwrap(), 0);
    assert_eq!(inbox.work(&policy, now + 30, |_| Ok(())).unwrap(), 1);
    assert_eq!(inbox.events[0].record.state.as_str(), "done");
    assert_eq!(inbox.events[0].event.id, answer_event_id(vector));
}

fn answer_event_id(vector: &Value) -> String {
    let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
    let request = request_of(&vector["steps"][0]["deliver"]);
    telhook_core::normalize_event(
        Some(Provider::Lisoloo),
        &request,
        &credentials,
        vector["now"].as_i64().unwrap(),
    )
    .unwrap()
    .id
}
