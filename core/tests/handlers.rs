#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Runs every receive-path vector under tests/handlers/ through the core's own flow
//! (`receive::begin` / `Claimed::finish`) with its in-memory dedupe store: the reference the Node, workerd, Django, Flask and FastAPI runners
//! must match answer for answer.

use std::collections::HashMap;

use serde_json::{json, Value};
use telhook_core::receive::{
    begin, begin_async, Answer, AsyncDedupeStore, ClaimState, Claimed, DedupeStore, HandlerOutcome,
    HandlerResult, MemoryStore,
};
use telhook_core::{Credentials, Options, Provider};

mod common;

use common::{handler_vectors, request_of};

fn handler_result(handler: &Value) -> Option<HandlerResult> {
    match handler {
        Value::String(s) if s == "ok" => Some(HandlerResult::Outcome {
            outcome: HandlerOutcome::Ok,
        }),
        Value::String(s) if s == "raise" => Some(HandlerResult::Outcome {
            outcome: HandlerOutcome::Failed,
        }),
        Value::String(s) if s == "hold" => None,
        // A status no u16 holds (2**70) cannot be returned in Rust: the nearest, u16::MAX, is
        // as far outside 200..599.
        Value::Object(o) => Some(HandlerResult::Status {
            status: o["status"]
                .as_u64()
                .and_then(|status| u16::try_from(status).ok())
                .unwrap_or(u16::MAX),
        }),
        other => panic!("unknown handler {other}"),
    }
}

fn observed(answer: &Answer, expect: &Value) -> Value {
    // Read as an HTTP client would: the code is the body's "outcome" or "error", and a
    // bodiless answer (204, 304) has none.
    let code = (!answer.body.is_empty()).then_some(answer.code);
    let mut seen = json!({ "status": answer.status, "code": code });
    if let Some(headers) = expect.get("headers").and_then(Value::as_object) {
        let picked: serde_json::Map<_, _> = headers
            .keys()
            .map(|name| {
                let value = answer
                    .headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone());
                (name.clone(), json!(value))
            })
            .collect();
        seen["headers"] = Value::Object(picked);
    }
    // The body is the code under "outcome" or "error" (none for 204, 304), or Twilio's empty
    // TwiML with the code in a comment: check it here.
    if answer.body.is_empty() {
        assert!(matches!(answer.status, 204 | 304), "{}", answer.status);
    } else if let Some(twiml) = answer
        .body
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- telhook: ")
    {
        assert_eq!(twiml, format!("{} --><Response/>", answer.code));
        assert!(answer
            .headers
            .iter()
            .any(|(n, v)| *n == "content-type" && v == "text/xml"));
    } else {
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(
            body.get("outcome").or(body.get("error")),
            Some(&json!(answer.code))
        );
    }
    seen
}

/// The memory store, whose next claim fails when a step says `"store": "fails"` — or
/// `"answers_no_state"`: a typed store cannot answer a claim with no state, so in Rust that
/// broken store is one whose claim fails.
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    fail_claim: bool,
    /// Settling calls (complete, release) that fail before the store is back: an outage.
    failing_settles: u32,
}

impl Flaky {
    fn settle_fails(&mut self) -> bool {
        let fails = self.failing_settles > 0;
        self.failing_settles = self.failing_settles.saturating_sub(1);
        fails
    }
}

impl DedupeStore for Flaky {
    type Error = ();
    fn claim(&mut self, key: &str, token: &str, lease: u32, now: i64) -> Result<ClaimState, ()> {
        if std::mem::take(&mut self.fail_claim) {
            return Err(());
        }
        self.inner
            .claim(key, token, lease, now)
            .map_err(|e| match e {})
    }
    fn complete(&mut self, key: &str, token: &str, ttl: u32, now: i64) -> Result<(), ()> {
        if self.settle_fails() {
            return Err(());
        }
        self.inner
            .complete(key, token, ttl, now)
            .map_err(|e| match e {})
    }
    fn release(&mut self, key: &str, token: &str) -> Result<(), ()> {
        if self.settle_fails() {
            return Err(());
        }
        self.inner.release(key, token).map_err(|e| match e {})
    }
}

/// The same store behind an async client: each call answers after one `Pending` poll, as a
/// network client's future does, so every await point of the async flow is taken. It keeps
/// the deadline each call was given.
#[derive(Default)]
struct AsyncFlaky(
    std::sync::Mutex<Flaky>,
    std::sync::Mutex<Vec<(&'static str, u32)>>,
);

struct AfterOnePoll<T>(Option<T>, bool);

impl<T: Unpin> std::future::Future for AfterOnePoll<T> {
    type Output = T;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        if std::mem::replace(&mut self.1, true) {
            std::task::Poll::Ready(self.0.take().unwrap())
        } else {
            context.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

fn after_one_poll<T: Unpin>(value: T) -> AfterOnePoll<T> {
    AfterOnePoll(Some(value), false)
}

impl AsyncDedupeStore for AsyncFlaky {
    type Error = ();
    fn claim(
        &self,
        key: &str,
        token: &str,
        lease: u32,
        now: i64,
        deadline_ms: u32,
    ) -> impl std::future::Future<Output = Result<ClaimState, ()>> + Send {
        self.1.lock().unwrap().push(("claim", deadline_ms));
        after_one_poll(self.0.lock().unwrap().claim(key, token, lease, now))
    }
    fn complete(
        &self,
        key: &str,
        token: &str,
        ttl: u32,
        now: i64,
        deadline_ms: u32,
    ) -> impl std::future::Future<Output = Result<(), ()>> + Send {
        self.1.lock().unwrap().push(("complete", deadline_ms));
        after_one_poll(self.0.lock().unwrap().complete(key, token, ttl, now))
    }
    fn release(
        &self,
        key: &str,
        token: &str,
        deadline_ms: u32,
    ) -> impl std::future::Future<Output = Result<(), ()>> + Send {
        self.1.lock().unwrap().push(("release", deadline_ms));
        after_one_poll(self.0.lock().unwrap().release(key, token))
    }
}

/// The first delivery of the handler vector whose file name ends with `name`: its credentials,
/// options, request and clock.
fn first_delivery(name: &str) -> (Credentials, Options, telhook_core::WebhookRequest, i64) {
    let (_, vector) = handler_vectors()
        .into_iter()
        .find(|(path, _)| path.ends_with(name))
        .unwrap();
    (
        Credentials::from_json_value(vector["credentials"].clone()).unwrap(),
        Options::from_json_value(vector["options"].clone()).unwrap(),
        request_of(&vector["steps"][0]["deliver"]),
        vector["now"].as_i64().unwrap(),
    )
}

/// Runs a future to its end on this thread (the core has no executor; a server has tokio's).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Wakeless;
    impl std::task::Wake for Wakeless {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Wakeless));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// How a vector's deliveries are run: `begin`/`finish` on a blocking store, or
/// `begin_async`/`finish_async` on the same store behind an async client.
#[derive(Clone, Copy)]
enum Flow {
    Blocking,
    Async,
}

fn run(vector: &Value) -> Result<(), String> {
    run_as(vector, Flow::Blocking)
}

fn run_async(vector: &Value) -> Result<(), String> {
    run_as(vector, Flow::Async)
}

fn run_as(vector: &Value, flow: Flow) -> Result<(), String> {
    let provider = match &vector["provider"] {
        Value::Null => None,
        name => Some(Provider::from_name(name.as_str().unwrap()).unwrap()),
    };
    let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
    let options = Options::from_json_value(vector["options"].clone()).unwrap();
    let mut now = vector["now"].as_i64().unwrap();
    let store = AsyncFlaky::default();
    // A settling call that failed is tried again at once (the waits skipped), as the other
    // runtimes do in the background before the vector's next step.
    let finish = |claimed: Claimed, result: HandlerResult, now: i64| match flow {
        Flow::Blocking => {
            let (answer, retry) =
                claimed.finish_retrying(result, &mut *store.0.lock().unwrap(), now);
            if let Some(retry) = retry {
                let left = retry.run(&mut *store.0.lock().unwrap(), || now, |_| {});
                assert_eq!(left, None, "a try held");
            }
            answer
        }
        Flow::Async => {
            let (answer, retry) = block_on(claimed.finish_retrying_async(result, &store, now));
            if let Some(retry) = retry {
                let left = block_on(retry.run_async(&store, || now, |_| async {}));
                assert_eq!(left, None, "a try held");
            }
            answer
        }
    };
    let mut held: HashMap<usize, Claimed> = HashMap::new();
    let mut calls = 0;
    for (index, step) in vector["steps"].as_array().unwrap().iter().enumerate() {
        let answer = if let Some(request) = step.get("deliver") {
            let broken = step.get("store").and_then(Value::as_str);
            store.0.lock().unwrap().fail_claim =
                matches!(broken, Some("fails" | "answers_no_state"));
            store.0.lock().unwrap().failing_settles = u32::from(broken == Some("settle_fails"));
            let token = format!("delivery-{index}");
            let request = request_of(request);
            let begun = match flow {
                Flow::Blocking => begin(
                    provider,
                    &request,
                    &credentials,
                    now,
                    &options,
                    &mut *store.0.lock().unwrap(),
                    &token,
                ),
                Flow::Async => block_on(begin_async(
                    provider,
                    &request,
                    &credentials,
                    now,
                    &options,
                    &store,
                    &token,
                )),
            };
            match begun {
                Err(answer) => answer,
                Ok(claimed) => {
                    calls += 1;
                    match handler_result(&step["handler"]) {
                        None => {
                            held.insert(index, claimed);
                            continue;
                        }
                        Some(result) => finish(claimed, result, now),
                    }
                }
            }
        } else if let Some(finished) = step.get("finish") {
            let claimed = held
                .remove(&(finished.as_u64().unwrap() as usize))
                .ok_or("finish of nothing held")?;
            let result = handler_result(&step["outcome"]).ok_or("a finish cannot hold")?;
            finish(claimed, result, now)
        } else if let Some(seconds) = step.get("advance_secs") {
            now += seconds.as_i64().unwrap();
            continue;
        } else {
            return Err(format!("step {index}: unknown step {step}"));
        };
        let expect = &step["expect"];
        let seen = observed(&answer, expect);
        if seen != *expect {
            return Err(format!("step {index}: expected {expect}, got {seen}"));
        }
    }
    if !held.is_empty() {
        return Err("a held handler was never finished".into());
    }
    let expected_calls = vector["expect_handler_calls"].as_u64().unwrap();
    if calls != expected_calls {
        return Err(format!(
            "handler called {calls} times, expected {expected_calls}"
        ));
    }
    Ok(())
}

#[test]
fn every_handler_vector_gives_the_expected_answers() {
    common::run_all(&handler_vectors(), 30, run);
}

#[test]
fn every_handler_vector_gives_the_same_answers_through_the_async_flow() {
    common::run_all(&handler_vectors(), 30, run_async);
}

#[test]
fn a_receiver_without_its_providers_credentials_fails_at_construction() {
    use telhook_core::check_configuration;
    let none = Credentials::none();
    for provider in Provider::ALL {
        let error = check_configuration(Some(provider), &none).unwrap_err();
        assert_eq!(error.code(), "missing_credentials", "{provider:?}");
    }
    // Another provider's scheme does not count: Lisoloo reads Basic, not a Bearer token.
    let bearer_only = Credentials::none().with_bearer("token");
    let error = check_configuration(Some(Provider::Lisoloo), &bearer_only).unwrap_err();
    assert_eq!(error.code(), "missing_credentials");
    let basic = Credentials::none().with_basic("hook", "s3cret");
    assert_eq!(check_configuration(Some(Provider::Lisoloo), &basic), Ok(()));
    // Detection decides per request; construction can only check the values themselves.
    assert_eq!(check_configuration(None, &none), Ok(()));
    assert_eq!(
        check_configuration(None, &Credentials::none().with_bearer("")).map_err(|e| e.code()),
        Err("invalid_credentials")
    );
}

#[test]
fn one_flat_set_pooled_for_several_providers_is_refused_for_a_named_provider_never_answered_401() {
    use telhook_core::check_configuration;
    // Each provider's secrets in one flat set (a reviewer's app did this): Lisoloo would require
    // the LimePhone HMAC signature it never sends, 401 every genuine delivery, and drop it.
    let pool = Credentials::none()
        .with_hmac_sha256("lime-hmac-secret")
        .with_bearer("lime-bearer-token")
        .with_basic("hook", "s3cret");
    let error = check_configuration(Some(Provider::Lisoloo), &pool).unwrap_err();
    assert_eq!(error.code(), "invalid_credentials");
    assert!(
        error
            .to_string()
            .contains("bearer is another provider's scheme"),
        "{error}"
    );
    // Through receive, a genuine Basic-signed Lisoloo delivery gets 500 (retried), not 401.
    let body = br#"{"event_id":"f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c","event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","message_id":"507f","data":{"recipient_phone":"+4512345678"}}"#.to_vec();
    let headers = vec![(
        "Authorization".into(),
        telhook_core::verify::basic::header_value("hook", "s3cret"),
    )];
    let request = telhook_core::WebhookRequest::post(headers, body);
    let mut store = MemoryStore::default();
    let answer = telhook_core::receive::receive(
        Some(Provider::Lisoloo),
        &request,
        &pool,
        1_780_000_000,
        &Options::default(),
        &mut store,
        "token",
        |_| HandlerResult::Outcome {
            outcome: HandlerOutcome::Ok,
        },
    );
    assert_eq!(answer.status, 500, "{}", answer.body);
    // Another provider's pool holding LoopLookup's authorization is refused for LimePhone too;
    // the provider's own schemes alone, or the per-provider form, are accepted.
    let with_authorization = Credentials::none()
        .with_hmac_sha256("lime-hmac-secret")
        .with_authorization("Bearer loop");
    let error = check_configuration(Some(Provider::LimePhone), &with_authorization).unwrap_err();
    assert_eq!(error.code(), "invalid_credentials");
    let own = Credentials::none()
        .with_hmac_sha256("lime-hmac-secret")
        .with_bearer("lime-bearer-token");
    assert_eq!(check_configuration(Some(Provider::LimePhone), &own), Ok(()));
    let per_provider = Credentials::none()
        .with_provider(Provider::LimePhone, own)
        .with_provider(
            Provider::Lisoloo,
            Credentials::none().with_basic("hook", "s3cret"),
        );
    assert_eq!(
        check_configuration(Some(Provider::Lisoloo), &per_provider),
        Ok(())
    );
    // Only another provider's scheme and none of its own: still named as missing.
    let bearer_only = Credentials::none().with_bearer("token");
    let error = check_configuration(Some(Provider::Lisoloo), &bearer_only).unwrap_err();
    assert_eq!(error.code(), "missing_credentials");
}

#[test]
fn the_rust_answer_carries_the_machines_note() {
    // A Rust server logs why as the Python logger and Node's onError do: a 429 from the
    // handler makes Lisoloo drop the event, which only the note says.
    let body = br#"{"event_id":"f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c","event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","message_id":"507f","data":{"recipient_phone":"+4512345678"}}"#.to_vec();
    let headers = vec![(
        "Authorization".into(),
        telhook_core::verify::basic::header_value("hook", "s3cret"),
    )];
    let request = telhook_core::WebhookRequest::post(headers, body);
    let credentials = Credentials::none().with_basic("hook", "s3cret");
    let deliver = |result: HandlerResult| {
        telhook_core::receive::receive(
            Some(Provider::Lisoloo),
            &request,
            &credentials,
            1_780_000_000,
            &Options::default(),
            &mut MemoryStore::default(),
            "token",
            |_| result,
        )
    };
    let dropped = deliver(HandlerResult::Status { status: 429 });
    assert_eq!(
        (dropped.status, dropped.log),
        (429, telhook_core::receive::LogLevel::Warning)
    );
    let note = dropped.note.clone().unwrap_or_default();
    assert!(
        note.contains("lisoloo takes it as a permanent failure"),
        "{note}"
    );
    let accepted = deliver(HandlerResult::Outcome {
        outcome: HandlerOutcome::Ok,
    });
    assert_eq!((accepted.status, accepted.note), (200, None));
    // decide() alone has no delivery behind it, so no note; the JSON the bindings send has none.
    let decided = telhook_core::receive::decide(&telhook_core::receive::Step::Handled {
        provider: Provider::Lisoloo,
        result: HandlerResult::Status { status: 429 },
    });
    assert_eq!((decided.status, decided.note), (429, None));
    assert!(!serde_json::to_string(&dropped).unwrap().contains("note"));
}

#[test]
fn a_zero_body_cap_is_refused_when_the_receiver_is_built() {
    let zero = telhook_core::Options::from_json_value(json!({"max_body_bytes": 0}));
    assert_eq!(zero.map_err(|e| e.code()), Err("invalid_option"));
    let one = telhook_core::Options::from_json_value(json!({"max_body_bytes": 1}));
    assert_eq!(one.map(|o| o.max_body_bytes), Ok(1));
    let default = telhook_core::Options::from_json_value(json!({"max_body_bytes": null}));
    assert_eq!(default, Ok(telhook_core::Options::default()));
}

#[test]
fn a_wrong_option_names_the_option_and_what_it_takes_never_the_value() {
    for (options, option) in [
        (json!({"max_body": 17}), "max_body"),
        (json!({"max_body_bytes": -1}), "max_body_bytes"),
        (json!({"max_body_bytes": "1mb"}), "max_body_bytes"),
        (json!({"max_body_bytes": 1.5}), "max_body_bytes"),
        (json!({"max_body_bytes": true}), "max_body_bytes"),
        (json!([17]), "options"),
    ] {
        let error = telhook_core::Options::from_json_value(options.clone()).unwrap_err();
        assert_eq!(error.code(), "invalid_option", "{options}");
        let telhook_core::Error::InvalidOption {
            option: named,
            expected,
        } = &error
        else {
            panic!("{options}: {error:?}");
        };
        assert_eq!(named, option);
        assert!(expected.contains("max_body_bytes") || expected.contains("at least 1"));
        let message = error.to_string();
        for value in ["-1", "1mb", "1.5", "true", "17"] {
            assert!(!message.contains(value), "{options}: {message}");
        }
    }
}

/// An axum or hyper handler's future must be `Send`: so must the async flow's, for a store
/// that is `Sync` (a pool's handle).
#[test]
fn the_async_flow_is_send_for_a_sync_store() {
    fn assert_send<T: Send>(_: &T) {}
    let vector = &handler_vectors()[0].1;
    let provider = vector["provider"]
        .as_str()
        .map(|name| Provider::from_name(name).unwrap());
    let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
    let options = Options::default();
    let request = request_of(&vector["steps"][0]["deliver"]);
    let store = AsyncFlaky::default();
    let begun = begin_async(provider, &request, &credentials, 0, &options, &store, "t");
    assert_send(&begun);
    drop(begun);
}

/// Each async store call is given the machine's deadline for it: a Twilio or DID reseller claim
/// 7500 ms (a 503 loses their event), the settling calls and every other provider's 1000 ms.
#[test]
fn the_async_store_is_given_the_machines_deadline_for_each_call() {
    for (provider, claim_deadline) in [("twilio", 7500), ("lisoloo", 1000), ("did_reseller", 7500)]
    {
        let (credentials, options, request, now) =
            first_delivery(&format!("{provider}_accepted_once.json"));
        let store = AsyncFlaky::default();
        let provider_name = Provider::from_name(provider).ok();
        let claimed = block_on(begin_async(
            provider_name,
            &request,
            &credentials,
            now,
            &options,
            &store,
            "t",
        ))
        .unwrap_or_else(|answer| panic!("{provider}: {answer:?}"));
        let ok = HandlerResult::Outcome {
            outcome: HandlerOutcome::Ok,
        };
        assert_eq!(block_on(claimed.finish_async(ok, &store, now)).status, 200);
        let seen = store.1.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![("claim", claim_deadline), ("complete", 1000)],
            "{provider}"
        );
    }
}

/// A store outage of a few seconds as the handler ends: its complete (after a failure, its
/// release) fails twice. The answer stands, and the call `finish_retrying` gives back is tried
/// again (`RetrySettle::run`) until it holds: the provider's redelivery (it never got the
/// answer: its timeout was shorter than the handler) is a duplicate, not a second run after
/// the lease; after a failure it is handled, not held off as in progress.
#[test]
fn a_settling_call_that_fails_is_tried_again_until_it_holds_in_both_flows() {
    let (credentials, options, request, now) = first_delivery("lisoloo_accepted_once.json");
    let provider = Some(Provider::Lisoloo);
    // The vector's delivery, claimed with `token` on a blocking or an async store.
    let claim = |store: &mut Flaky, token: &str| {
        begin(
            provider,
            &request,
            &credentials,
            now,
            &options,
            store,
            token,
        )
    };
    let claim_async = |store: &AsyncFlaky, token: &str| {
        block_on(begin_async(
            provider,
            &request,
            &credentials,
            now,
            &options,
            store,
            token,
        ))
    };
    for flow in [Flow::Blocking, Flow::Async] {
        for fails in [false, true] {
            let label = format!(
                "async {}, handler fails {fails}",
                matches!(flow, Flow::Async)
            );
            let outcome = if fails {
                HandlerOutcome::Failed
            } else {
                HandlerOutcome::Ok
            };
            let result = HandlerResult::Outcome { outcome };
            let mut blocking = Flaky {
                failing_settles: 2,
                ..Flaky::default()
            };
            let shared = AsyncFlaky::default();
            shared.0.lock().unwrap().failing_settles = 2;
            let mut waits = Vec::new();
            let (answer, unheld) = match flow {
                Flow::Blocking => {
                    let claimed = claim(&mut blocking, "t1").unwrap();
                    let (answer, retry) = claimed.finish_retrying(result, &mut blocking, now);
                    let retry = retry.expect(&label);
                    assert!(retry.key().starts_with("lisoloo:"), "{}", retry.key());
                    (
                        answer,
                        retry.run(&mut blocking, || now, |ms| waits.push(ms)),
                    )
                }
                Flow::Async => {
                    let claimed = claim_async(&shared, "t1").unwrap();
                    let (answer, retry) =
                        block_on(claimed.finish_retrying_async(result, &shared, now));
                    let retry = retry.expect(&label);
                    let unheld = block_on(retry.run_async(
                        &shared,
                        || now,
                        |ms| {
                            waits.push(ms);
                            std::future::ready(())
                        },
                    ));
                    (answer, unheld)
                }
            };
            assert_eq!(answer.status, if fails { 500 } else { 200 }, "{label}");
            assert!(
                answer
                    .note
                    .as_deref()
                    .is_some_and(|note| note.contains("tried again")),
                "{label}"
            );
            assert_eq!((waits, unheld), (vec![0, 1000], None), "{label}");
            // The redelivery after the outage.
            let again = match flow {
                Flow::Blocking => claim(&mut blocking, "t2"),
                Flow::Async => claim_async(&shared, "t2"),
            };
            match (fails, again) {
                (true, Ok(_)) => {}
                (false, Err(answer)) => assert_eq!(answer.code, "duplicate", "{label}"),
                (_, other) => panic!("{label}: {other:?}"),
            }
        }
    }
    // A store that stays down: every try fails, and what to log says the handler may run again.
    let mut down = Flaky {
        failing_settles: u32::MAX,
        ..Flaky::default()
    };
    let claimed = claim(&mut down, "t3").unwrap();
    let ok = HandlerResult::Outcome {
        outcome: HandlerOutcome::Ok,
    };
    let (answer, retry) = claimed.finish_retrying(ok, &mut down, now);
    assert_eq!(answer.status, 200);
    let mut tries = 0;
    let unheld = retry.unwrap().run(&mut down, || now, |_| tries += 1);
    assert_eq!(tries, telhook_core::receive::orphan::SETTLE_WAITS_MS.len());
    let (log, note) = unheld.unwrap();
    assert_eq!(log, telhook_core::receive::LogLevel::Error);
    assert!(note.contains("runs the handler again"), "{note}");
    // `finish` does not try again, and its answer's note says so.
    let mut down = Flaky {
        failing_settles: 1,
        ..Flaky::default()
    };
    let claimed = claim(&mut down, "t5").unwrap();
    let answer = claimed.finish(ok, &mut down, now);
    assert!(
        answer
            .note
            .as_deref()
            .is_some_and(|note| note.contains("does not try again")),
        "{answer:?}"
    );
    // Nothing failed: nothing to try again.
    let mut up = Flaky::default();
    let claimed = claim(&mut up, "t4").unwrap();
    assert_eq!(claimed.finish_retrying(ok, &mut up, now).1, None);
}

/// A slow handler's lease: `begin_with` takes receive settings of its own (Telnyx's default is
/// 15 s, and a 20 s handler ran twice with no way to raise it from `begin_async`: a review).
#[test]
fn begin_with_settings_claims_for_the_lease_given() {
    use telhook_core::receive::{begin_async_with, begin_with, machine::Settings};
    let (credentials, options, request, now) = first_delivery("telnyx_accepted_once.json");
    let settings = Settings::new(
        Some(Provider::Telnyx),
        options.max_body_bytes,
        true,
        Some(25),
        None,
        None,
    )
    .unwrap();
    let mut store = Flaky::default();
    let claimed = begin_with(
        settings,
        &request,
        &credentials,
        now,
        &options,
        &mut store,
        "t1",
    )
    .unwrap();
    // Held past Telnyx's default 15 s: a redelivery 20 s on is still answered in progress.
    let later = begin_with(
        settings,
        &request,
        &credentials,
        now + 20,
        &options,
        &mut store,
        "t2",
    );
    assert_eq!(later.map(|_| ()).unwrap_err().code, "delivery_in_progress");
    let ok = HandlerResult::Outcome {
        outcome: HandlerOutcome::Ok,
    };
    assert_eq!(claimed.finish(ok, &mut store, now + 20).status, 200);
    // The async form, the same.
    let shared = AsyncFlaky::default();
    let claimed = block_on(begin_async_with(
        settings,
        &request,
        &credentials,
        now,
        &options,
        &shared,
        "t3",
    ))
    .unwrap();
    let later = block_on(begin_async_with(
        settings,
        &request,
        &credentials,
        now + 20,
        &options,
        &shared,
        "t4",
    ));
    assert_eq!(later.map(|_| ()).unwrap_err().code, "delivery_in_progress");
    assert_eq!(
        block_on(claimed.finish_async(ok, &shared, now + 20)).status,
        200
    );
    // A lease Telnyx's schedule cannot use is refused when the settings are built.
    assert!(Settings::new(
        Some(Provider::Telnyx),
        options.max_body_bytes,
        true,
        Some(1),
        None,
        None
    )
    .is_err());
}

/// A claim the store gave up on may land all the same: `after_abandoned_claim` releases one that
/// landed "new" (once a release holds) or failed (after every wait), and leaves alone one that
/// found the key held.
#[test]
fn a_claim_abandoned_by_the_stores_deadline_is_released_when_it_lands_new_or_failed() {
    use telhook_core::receive::{orphan::RELEASE_WAITS_MS, RetrySettle};
    let now = 1_769_000_000;
    for (landed, releases) in [(Some(ClaimState::New), 1), (None, RELEASE_WAITS_MS.len())] {
        let mut store = MemoryStore::default();
        // The abandoned call landed in the store after its delivery was answered 503.
        assert_eq!(store.claim("k", "late", 300, now), Ok(ClaimState::New));
        let retry = RetrySettle::after_abandoned_claim("k", "late", landed).unwrap();
        let mut waits = Vec::new();
        assert_eq!(retry.run(&mut store, || now, |ms| waits.push(ms)), None);
        assert_eq!(waits.len(), releases, "{landed:?}");
        // The provider's retry is handled, not answered in progress for the lease.
        assert_eq!(store.claim("k", "retry", 300, now), Ok(ClaimState::New));
    }
    for state in [ClaimState::InProgress, ClaimState::Done] {
        assert_eq!(
            RetrySettle::after_abandoned_claim("k", "t", Some(state)),
            None
        );
    }
}

/// A store whose claim missed its deadline says so (`AsyncDedupeStore::is_deadline`): the note
/// names the deadline, not a failure (a Rust review).
#[test]
fn an_async_store_tells_a_missed_deadline_from_a_failure() {
    struct Late(bool);
    impl AsyncDedupeStore for Late {
        type Error = bool;
        fn is_deadline(error: &bool) -> bool {
            *error
        }
        async fn claim(
            &self,
            _: &str,
            _: &str,
            _: u32,
            _: i64,
            _: u32,
        ) -> Result<ClaimState, bool> {
            Err(self.0)
        }
        async fn complete(&self, _: &str, _: &str, _: u32, _: i64, _: u32) -> Result<(), bool> {
            Ok(())
        }
        async fn release(&self, _: &str, _: &str, _: u32) -> Result<(), bool> {
            Ok(())
        }
    }
    let (credentials, options, request, now) = first_delivery("lisoloo_accepted_once.json");
    for (deadline, words) in [(true, "within store_deadline_ms"), (false, "claim failed")] {
        let answer = block_on(begin_async(
            Some(Provider::Lisoloo),
            &request,
            &credentials,
            now,
            &options,
            &Late(deadline),
            "t",
        ))
        .map(|_| ())
        .unwrap_err();
        assert_eq!((answer.status, answer.code), (503, "dedupe_unavailable"));
        assert!(
            answer
                .note
                .as_deref()
                .is_some_and(|note| note.contains(words)),
            "{:?}",
            answer.note
        );
    }
}
