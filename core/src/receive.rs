//! The receive contract: which HTTP answer a delivery gets.
//!
//! Every adapter (Django, Flask, FastAPI, Workers, node:http, the CLI) runs the same steps —
//! read the body under the cap, verify and normalize, claim the event's idempotency key in a
//! dedupe store, call the user's handler — and asks [`decide`] what to answer after the step
//! that ended the delivery. Adapters move bytes; they never choose a status themselves.
//!
//! The rules that keep the product's promise (no event lost, none processed twice):
//! - a redelivery that arrives while the first attempt is still being handled is answered
//!   so that the provider retries later (503): never a 2xx (the first attempt may still fail)
//!   and never a status the provider treats as permanent;
//! - a failed handler releases the claim and answers 500, so the provider's next attempt is
//!   processed;
//! - the receiver's own faults (configuration, dedupe store down) are 5xx: the provider keeps
//!   the event until the fault is fixed;
//! - only a request that can never succeed (forged, unreadable, too large, wrong method)
//!   gets a 4xx.

pub mod machine;
pub mod orphan;
pub mod stores;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, ErrorKind, Result};
use crate::provider::Provider;
use crate::retry::{retry_policy, DeliveryResult};

/// What a dedupe store reported when the delivery tried to claim the event's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Nobody had the key: this delivery owns the event and runs the handler.
    New,
    /// Another delivery holds a live claim and its handler has not finished.
    InProgress,
    /// The event was handled already.
    Done,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::New => "new",
            ClaimState::InProgress => "in_progress",
            ClaimState::Done => "done",
        }
    }
}

/// How the user's handler ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlerOutcome {
    /// Returned normally.
    Ok,
    /// Raised or rejected.
    Failed,
}

/// The handler's result as the adapter saw it: an outcome, or a status the handler chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerResult {
    Outcome { outcome: HandlerOutcome },
    Status { status: u16 },
}

/// `HandlerOutcome::Ok.into()` for `HandlerResult::Outcome { outcome: HandlerOutcome::Ok }`.
impl From<HandlerOutcome> for HandlerResult {
    fn from(outcome: HandlerOutcome) -> HandlerResult {
        HandlerResult::Outcome { outcome }
    }
}

/// The step that ended a delivery: the input of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The request was refused before the handler: `code` is the error's code (a core
    /// [`ErrorCode`] name; anything else counts as the receiver's internal failure).
    Rejected {
        provider: Option<Provider>,
        code: String,
    },
    /// The dedupe claim found the key taken (`New` proceeds to the handler, so deciding on
    /// it is a misuse answered as an internal failure).
    Claimed {
        provider: Provider,
        state: ClaimState,
    },
    /// The handler ran.
    Handled {
        provider: Provider,
        result: HandlerResult,
    },
    /// The dedupe store failed (unreachable, timed out).
    StoreFailed { provider: Provider },
    /// Inbox mode: the event was stored durably with its key (`new`), or its key was stored
    /// already (`!new`: a redelivery). Either way it is acknowledged: stored means handled.
    Enqueued { provider: Provider, new: bool },
}

/// What the adapter does with the event's dedupe claim after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupeAction {
    /// Nothing was claimed, or the claim belongs to another delivery.
    None,
    /// Mark the key done for the provider's dedupe TTL: redeliveries are duplicates.
    Complete,
    /// Forget the key: the provider's next attempt is processed.
    Release,
}

/// How loudly the adapter logs the answer (provider, event id and code; never the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    None,
    Info,
    Warning,
    Error,
}

impl LogLevel {
    /// Its JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::None => "none",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }
}

/// Codes of answers that are not errors of the request (every other code is an [`ErrorCode`]).
pub mod answer_code {
    pub const ACCEPTED: &str = "accepted";
    /// Inbox mode: stored durably, to be processed by a worker.
    pub const QUEUED: &str = "queued";
    pub const DUPLICATE: &str = "duplicate";
    pub const HANDLER_STATUS: &str = "handler_status";
    pub const DELIVERY_IN_PROGRESS: &str = "delivery_in_progress";
    pub const HANDLER_FAILED: &str = "handler_failed";
    pub const DEDUPE_UNAVAILABLE: &str = "dedupe_unavailable";
    pub const INTERNAL: &str = "internal";
    /// Every answer code that is not an error code, for vocabularies generated from the core.
    pub const ALL: [&str; 8] = [
        ACCEPTED,
        QUEUED,
        DUPLICATE,
        HANDLER_STATUS,
        DELIVERY_IN_PROGRESS,
        HANDLER_FAILED,
        DEDUPE_UNAVAILABLE,
        INTERNAL,
    ];
}

/// A dedupe store that failed is answered 503: every provider retries it.
pub(crate) const STORE_FAILED_STATUS: u16 = 503;

/// The HTTP answer to send, and what to do around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub status: u16,
    /// `accepted`, `duplicate`, `handler_status`, or the code of what went wrong.
    pub code: &'static str,
    /// Lower-case names; always a `content-type`.
    pub headers: Vec<(&'static str, String)>,
    /// `{"outcome": code}` for answers that acknowledge, `{"error": code}` otherwise; empty
    /// for a handler's 204 or 304, which carry no content.
    pub body: String,
    /// What the provider will do with `status`; `None` when the provider is unknown.
    pub provider_action: Option<DeliveryResult>,
    pub dedupe: DedupeAction,
    pub log: LogLevel,
    /// Why, in words, for an answer a user would not expect (a status the provider redelivers
    /// on or drops the event for, a store that failed or answered late): what the log line says
    /// besides the code. Never a value from the request. Set by [`receive`], [`begin`],
    /// [`Claimed::finish`] and [`crate::inbox::accept`]; [`decide`] gives `None` (the machine's
    /// `Action::Answer` carries it beside the answer, as the bindings take it).
    #[serde(skip)]
    pub note: Option<String>,
}

/// Decides the answer to the step that ended a delivery.
pub fn decide(step: &Step) -> Answer {
    match step {
        Step::Rejected { provider, code } => rejected(*provider, code),
        Step::Claimed { provider, state } => match state {
            ClaimState::Done => answer(
                Some(*provider),
                200,
                answer_code::DUPLICATE,
                Body::Outcome,
                DedupeAction::None,
                LogLevel::Info,
            ),
            ClaimState::InProgress => {
                let mut answer = answer(
                    Some(*provider),
                    IN_PROGRESS_STATUS,
                    answer_code::DELIVERY_IN_PROGRESS,
                    Body::Error,
                    DedupeAction::None,
                    LogLevel::Info,
                );
                // The first attempt ends (answered or timed out) within the provider's timeout.
                let wait = retry_policy(*provider).timeout_secs;
                answer.headers.push(("retry-after", itoa(wait)));
                answer
            }
            ClaimState::New => internal(Some(*provider)),
        },
        Step::Handled { provider, result } => match result {
            HandlerResult::Outcome {
                outcome: HandlerOutcome::Ok,
            } => answer(
                Some(*provider),
                200,
                answer_code::ACCEPTED,
                Body::Outcome,
                DedupeAction::Complete,
                LogLevel::None,
            ),
            HandlerResult::Outcome {
                outcome: HandlerOutcome::Failed,
            } => answer(
                Some(*provider),
                500,
                answer_code::HANDLER_FAILED,
                Body::Error,
                DedupeAction::Release,
                LogLevel::Error,
            ),
            HandlerResult::Status { status } => handler_status(*provider, *status),
        },
        Step::Enqueued { provider, new } => answer(
            Some(*provider),
            200,
            if *new {
                answer_code::QUEUED
            } else {
                answer_code::DUPLICATE
            },
            Body::Outcome,
            DedupeAction::None,
            if *new { LogLevel::None } else { LogLevel::Info },
        ),
        Step::StoreFailed { provider } => answer(
            Some(*provider),
            STORE_FAILED_STATUS,
            answer_code::DEDUPE_UNAVAILABLE,
            Body::Error,
            DedupeAction::None,
            LogLevel::Error,
        ),
    }
}

/// [`decide`] on the JSON form of a step, the form bindings pass:
/// `{"step": "rejected"|"claimed"|"handled"|"store_failed", "provider", "code"|"state"|"outcome"|"status"}`.
pub fn decide_json(step: &[u8]) -> Result<Answer> {
    let wire: StepWire = serde_json::from_slice(step).map_err(|_| invalid_step())?;
    let provider = || wire.provider.ok_or_else(invalid_step);
    let step = match (wire.step, wire.code, wire.state, wire.outcome, wire.status) {
        (StepName::Rejected, Some(code), None, None, None) => Step::Rejected {
            provider: wire.provider,
            code,
        },
        (StepName::Claimed, None, Some(state), None, None) => Step::Claimed {
            provider: provider()?,
            state,
        },
        (StepName::Handled, None, None, Some(outcome), None) => Step::Handled {
            provider: provider()?,
            result: HandlerResult::Outcome { outcome },
        },
        (StepName::Handled, None, None, None, Some(status)) => Step::Handled {
            provider: provider()?,
            result: HandlerResult::Status { status },
        },
        (StepName::StoreFailed, None, None, None, None) => Step::StoreFailed {
            provider: provider()?,
        },
        _ => return Err(invalid_step()),
    };
    Ok(decide(&step))
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum StepName {
    Rejected,
    Claimed,
    Handled,
    StoreFailed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepWire {
    step: StepName,
    #[serde(default)]
    provider: Option<Provider>,
    code: Option<String>,
    state: Option<ClaimState>,
    outcome: Option<HandlerOutcome>,
    status: Option<u16>,
}

fn invalid_step() -> Error {
    Error::InvalidRequest {
        reason: String::from(
            "step must be {\"step\": \"rejected\" (with code), \"claimed\" (state), \"handled\" (outcome or status) or \"store_failed\", \"provider\"}",
        ),
    }
}

/// 503 makes every provider retry (none treats a 5xx as permanent; tested below), and it
/// says what is happening: the event is being handled, come back later.
const IN_PROGRESS_STATUS: u16 = 503;

fn rejected(provider: Option<Provider>, code: &str) -> Answer {
    let Some(code) = ErrorCode::from_name(code) else {
        return internal(provider);
    };
    let (status, log) = match code {
        ErrorCode::MethodNotAllowed => (405, LogLevel::Info),
        // The cap is the receiver's setting: to a provider that drops an event on a 413
        // (Lisoloo, on any 4xx), a body over it is the receiver's fault, answered 500 so the
        // event is kept (and logged as an error) until the cap is raised. So is a body over it
        // whose provider is not known (detection, a cap in front of several providers' paths):
        // it may be Lisoloo's.
        ErrorCode::BodyTooLarge if provider.map_or(true, drops_on(413)) => (500, LogLevel::Error),
        ErrorCode::BodyTooLarge => (413, LogLevel::Warning),
        // Nothing was verified: a delivery of a shape detection does not know (Lisoloo's with
        // a field missing) would be dropped on a 400. The receiver cannot read it, so it is
        // the receiver's limit: 500, retried, until the provider is named in the receiver.
        ErrorCode::ProviderNotDetected => (500, LogLevel::Warning),
        _ => match code.kind() {
            ErrorKind::Verification => (401, LogLevel::Warning),
            ErrorKind::Parse => (400, LogLevel::Warning),
            ErrorKind::Request => (400, LogLevel::Info),
            // The receiver's fault: 500 so the provider keeps the event until it is fixed.
            ErrorKind::Configuration => (500, LogLevel::Error),
        },
    };
    let mut answer = answer(
        provider,
        status,
        code.as_str(),
        Body::Error,
        DedupeAction::None,
        log,
    );
    if code == ErrorCode::MethodNotAllowed {
        let methods = crate::providers::methods(provider, &crate::Credentials::none());
        answer
            .headers
            .push(("allow", String::from(methods.allow_header())));
    }
    answer
}

/// Whether `provider` drops an event answered `status` (never redelivers it).
fn drops_on(status: u16) -> impl Fn(Provider) -> bool {
    move |provider| retry_policy(provider).classify(status) == DeliveryResult::PermanentFailure
}

/// The handler chose the status (e.g. to refuse a misrouted event). The claim is completed
/// when the provider will not send the event again (acknowledged or dropped), and released
/// when it will, so that the redelivery is handled rather than answered "duplicate".
fn handler_status(provider: Provider, status: u16) -> Answer {
    // A 1xx is no final answer: sent as one, the provider waits out its timeout (a review).
    if !(200..=599).contains(&status) {
        return answer(
            Some(provider),
            500,
            answer_code::HANDLER_FAILED,
            Body::Error,
            DedupeAction::Release,
            LogLevel::Error,
        );
    }
    let dedupe = match retry_policy(provider).classify(status) {
        // A 2xx says the handler's work is done, even one the provider does not take as its
        // acknowledgement (a Flask `return "", 204` for LimePhone, which acks only 200): its
        // redelivery is answered as a duplicate. Released, it ran the handler on every
        // redelivery, five times in all (a review).
        DeliveryResult::Retry if (200..=299).contains(&status) => DedupeAction::Complete,
        DeliveryResult::Retry => DedupeAction::Release,
        DeliveryResult::Acknowledged | DeliveryResult::PermanentFailure => DedupeAction::Complete,
    };
    let mut answer = answer(
        Some(provider),
        status,
        answer_code::HANDLER_STATUS,
        Body::Outcome,
        dedupe,
        LogLevel::None,
    );
    // RFC 9110: 204 and 304 carry no content. A body there corrupts the next response on a
    // kept-alive connection, and Lisoloo documents 204 as its acknowledgement.
    if status == 204 || status == 304 {
        answer.body.clear();
        answer.headers.clear();
    }
    answer
}

fn internal(provider: Option<Provider>) -> Answer {
    answer(
        provider,
        500,
        answer_code::INTERNAL,
        Body::Error,
        DedupeAction::None,
        LogLevel::Error,
    )
}

enum Body {
    Outcome,
    Error,
}

/// The code an answer's body carries ([`Answer::body`]: `{"outcome": code}`, `{"error": code}`, or
/// Twilio's TwiML with it in a comment), read back by a client of a telhook receiver (the CLI's
/// `simulate`); `None` for any other body.
pub fn answer_code_of(body: &str) -> Option<String> {
    let code: String = match body
        .strip_prefix(TWIML_PROLOGUE)
        .and_then(|rest| rest.strip_suffix(TWIML_EPILOGUE))
    {
        Some(code) => String::from(code),
        // Any JSON object with the code under either name (a proxy may re-serialize it).
        None => {
            let value: serde_json::Value = crate::json_read::from_str(body).ok()?;
            String::from(
                value
                    .get("outcome")
                    .or_else(|| value.get("error"))?
                    .as_str()?,
            )
        }
    };
    // A code is a short snake_case identifier; anything else is not telhook's answer.
    let plain = !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plain.then_some(code)
}

/// An acknowledging answer to Twilio: an empty TwiML document, the answer's code in a comment
/// before it (`<!-- telhook: accepted -->`).
const TWIML_PROLOGUE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- telhook: ";
const TWIML_EPILOGUE: &str = " --><Response/>";

fn answer(
    provider: Option<Provider>,
    status: u16,
    code: &'static str,
    body: Body,
    dedupe: DedupeAction,
    log: LogLevel,
) -> Answer {
    // Codes are fixed snake_case identifiers: no JSON escaping is ever needed.
    let field = match body {
        Body::Outcome => "outcome",
        Body::Error => "error",
    };
    let mut text = String::with_capacity(16 + code.len());
    text.push_str("{\"");
    text.push_str(field);
    text.push_str("\":\"");
    text.push_str(code);
    text.push_str("\"}");
    let answer = Answer {
        status,
        code,
        headers: vec![("content-type", String::from("application/json"))],
        body: text,
        provider_action: provider.map(|p| retry_policy(p).classify(status)),
        dedupe,
        log,
        note: None,
    };
    if provider == Some(Provider::Twilio) {
        in_markup(answer)
    } else {
        answer
    }
}

/// `answer` as TwiML, for a provider that reads what a 2xx answer holds as its instructions:
/// Twilio whatever it called for, Telnyx's TeXML (its form-encoded requests). JSON answered a
/// message's webhook with error 12300 in Twilio's debugger on every message, and a call's with
/// "an application error has occurred" to the caller. An empty document does nothing (no reply,
/// the call ends); the code rides in a comment, which TwiML ignores. A handler that has
/// something to say (a call's instructions) answers with its own TwiML. Other answers (errors,
/// a handler's 204) are left as they are.
pub(crate) fn in_markup(mut answer: Answer) -> Answer {
    if (200..300).contains(&answer.status) && answer.body.starts_with("{\"outcome\"") {
        let mut text = String::from(TWIML_PROLOGUE);
        text.push_str(answer.code);
        text.push_str(TWIML_EPILOGUE);
        answer.body = text;
        answer.headers = vec![("content-type", String::from("text/xml"))];
    }
    answer
}

fn itoa(value: u32) -> String {
    use core::fmt::Write as _;
    let mut text = String::new();
    let _ = write!(text, "{value}");
    text
}

/// A dedupe store as the receive flow uses it. Claims are owned by the token of the delivery
/// that made them, so a worker whose lease ran out can neither complete nor release a claim
/// that another delivery has taken over. Every language's stores follow the same protocol.
///
/// The contract a store of your own keeps ([`MemoryStore`] is the reference):
/// - `now` is the receiver's clock, UNIX seconds, the one given to `receive`/`begin`. A store
///   that keeps time itself (a Redis TTL, a database's `now()`) may use its own clock instead;
///   lease and TTL are then counted from when the store ran the call.
/// - Each method is one atomic step against every other process sharing the store: `claim` a
///   test-and-set (`SET key token NX EX lease`, `INSERT … ON CONFLICT DO NOTHING` plus a check of
///   an expired row), `complete` and `release` a compare-and-set on the token (a Lua script,
///   `UPDATE/DELETE … WHERE key = ? AND token = ?`).
/// - A claim or a done mark past its lease or TTL holds nothing: the next `claim` takes the key.
///   Until then an expired claim still belongs to its token, so its late `complete` marks the
///   key done (the handler did run) and its late `release` forgets it. A `complete` of a key
///   that is gone (a store that drops expired keys, such as Redis) marks it done too: the
///   handler did run, and a redelivery must be a duplicate.
/// - `complete` of a key another token holds, and `release` of a key the token does not own
///   (taken over, or gone), change nothing and return `Ok`: it is not a failure of the store. `Err` means the store could not
///   answer (the receive flow answers 503, so the provider retries).
///
/// The methods take `&mut self` and block: for a store shared by concurrent tasks, implement
/// the trait on a cloneable handle (a connection pool's, or an `Arc<Mutex<…>>` of your own,
/// locked inside each call). An async client cannot block inside a call: implement
/// [`AsyncDedupeStore`] and call [`begin_async`] and [`Claimed::finish_async`].
pub trait DedupeStore {
    type Error;
    /// Atomically: `New` (and the key is now claimed by `token` for `lease_secs`) unless a
    /// live claim or a done mark holds the key.
    fn claim(
        &mut self,
        key: &str,
        token: &str,
        lease_secs: u32,
        now: i64,
    ) -> core::result::Result<ClaimState, Self::Error>;
    /// Marks the key done for `ttl_secs`, if `token` still owns the claim.
    fn complete(
        &mut self,
        key: &str,
        token: &str,
        ttl_secs: u32,
        now: i64,
    ) -> core::result::Result<(), Self::Error>;
    /// Forgets the key, if `token` still owns the claim.
    fn release(&mut self, key: &str, token: &str) -> core::result::Result<(), Self::Error>;
}

/// [`DedupeStore`] for a store whose client is async (a Redis or database pool): the same
/// contract, each method a future, taking `&self` (a shared client handle). Used by
/// [`begin_async`] and [`Claimed::finish_async`]; the futures are `Send`, so the flow runs in a
/// spawned task (`tokio::spawn`).
///
/// Each call is given `deadline_ms`, the receive machine's for it (the provider's: 7500 for a
/// Twilio or DID reseller claim, whose event a 503 loses, 1000 otherwise): the core has no
/// timer, so bound the call by it yourself (`tokio::time::timeout`) and return `Err` when it
/// expires — answered 503, so the provider retries. A claim abandoned so (or failed) may still
/// land: keep its call running and give what it answers to
/// [`RetrySettle::after_abandoned_claim`] (the README's example), or every redelivery within its
/// lease is answered 503.
pub trait AsyncDedupeStore {
    type Error;
    /// Whether `error` is the deadline passing (your `tokio::time::timeout`), not the store
    /// failing: the log then says the store did not answer within `store_deadline_ms`.
    fn is_deadline(_error: &Self::Error) -> bool {
        false
    }
    /// Atomically: `New` (and the key is now claimed by `token` for `lease_secs`) unless a
    /// live claim or a done mark holds the key.
    fn claim(
        &self,
        key: &str,
        token: &str,
        lease_secs: u32,
        now: i64,
        deadline_ms: u32,
    ) -> impl core::future::Future<Output = core::result::Result<ClaimState, Self::Error>> + Send;
    /// Marks the key done for `ttl_secs`, if `token` still owns the claim.
    fn complete(
        &self,
        key: &str,
        token: &str,
        ttl_secs: u32,
        now: i64,
        deadline_ms: u32,
    ) -> impl core::future::Future<Output = core::result::Result<(), Self::Error>> + Send;
    /// Forgets the key, if `token` still owns the claim.
    fn release(
        &self,
        key: &str,
        token: &str,
        deadline_ms: u32,
    ) -> impl core::future::Future<Output = core::result::Result<(), Self::Error>> + Send;
}

/// A delivery that owns its event's claim (or needs none): the handler runs, then
/// [`Claimed::finish_retrying`] (or its async form), whose settling call, if it failed, you run
/// again after the answer ([`RetrySettle`]); [`Claimed::finish`] does not try again. One
/// dropped unfinished (an early `?`, a cancelled async task, a panic) leaves its claim held
/// until the lease expires: every redelivery meanwhile gets 503, and the handler runs again
/// after it.
#[derive(Debug)]
#[must_use = "finish it with the handler's result, or its claim stays held for the whole lease"]
pub struct Claimed {
    pub event: crate::NormalizedEvent,
    delivery: self::machine::Delivery,
    token: String,
}

/// Verifies, normalizes and claims a delivery by running the receive machine
/// ([`machine`]) up to the handler. `Err` is the answer to send at once (refused,
/// duplicate, in progress, store down — a `200 duplicate` too); `Ok` means the handler must
/// run. `token` must be new for every delivery (a random value your server makes, such as a
/// UUID v4): the claim is owned by it, so that a late attempt never releases or completes a
/// claim another delivery of the same event took over.
pub fn begin<S: DedupeStore>(
    provider: Option<Provider>,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
    store: &mut S,
    token: &str,
) -> core::result::Result<Claimed, Answer> {
    let settings = default_settings(provider, options)?;
    begin_with(settings, request, credentials, now, options, store, token)
}

/// [`begin`] with receive settings of your own ([`machine::Settings::new`]: a `lease_secs`
/// above the provider's default for a slow handler — Telnyx's is 15 s —, a `dedupe_ttl_secs`,
/// a `store_deadline_ms`), built once and checked when your server starts.
pub fn begin_with<S: DedupeStore>(
    settings: self::machine::Settings,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
    store: &mut S,
    token: &str,
) -> core::result::Result<Claimed, Answer> {
    let mut flow = Flow::start(settings, request, credentials, now, options, token);
    loop {
        match flow.next() {
            // A Rust store call is synchronous: the store's own timeouts bound it.
            Next::Claim {
                key, lease_secs, ..
            } => flow.claimed(store.claim(&key, token, lease_secs, now).map_err(|_| false)),
            Next::Handler => return flow.into_claimed(),
            Next::Answer(answer) => return Err(answer),
        }
    }
}

/// [`begin`] for a store whose client is async: the same flow, its one store call awaited.
pub async fn begin_async<S: AsyncDedupeStore>(
    provider: Option<Provider>,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
    store: &S,
    token: &str,
) -> core::result::Result<Claimed, Answer> {
    let settings = default_settings(provider, options)?;
    begin_async_with(settings, request, credentials, now, options, store, token).await
}

/// [`begin_async`] with receive settings of your own (see [`begin_with`]).
pub async fn begin_async_with<S: AsyncDedupeStore>(
    settings: self::machine::Settings,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
    store: &S,
    token: &str,
) -> core::result::Result<Claimed, Answer> {
    let mut flow = Flow::start(settings, request, credentials, now, options, token);
    loop {
        match flow.next() {
            Next::Claim {
                key,
                lease_secs,
                deadline_ms,
            } => flow.claimed(
                store
                    .claim(&key, token, lease_secs, now, deadline_ms)
                    .await
                    .map_err(|error| S::is_deadline(&error)),
            ),
            Next::Handler => return flow.into_claimed(),
            Next::Answer(answer) => return Err(answer),
        }
    }
}

/// The provider's defaults with a store, as [`begin`] uses them; a cap of 0 is refused.
fn default_settings(
    provider: Option<Provider>,
    options: &crate::Options,
) -> core::result::Result<self::machine::Settings, Answer> {
    self::machine::Settings::new(provider, options.max_body_bytes, true, None, None, None).map_err(
        |error| {
            decide(&Step::Rejected {
                provider,
                code: String::from(error.code()),
            })
        },
    )
}

/// What a delivery on its way to the handler needs next.
enum Next {
    Claim {
        key: String,
        lease_secs: u32,
        deadline_ms: u32,
    },
    Handler,
    Answer(Answer),
}

/// A delivery on its way to the handler: the machine driven through every step that needs no
/// store, so that [`begin`] and [`begin_async`] differ only in how they call the store.
struct Flow<'a> {
    delivery: self::machine::Delivery,
    action: self::machine::Action,
    event: Option<crate::NormalizedEvent>,
    provider: Option<Provider>,
    request: &'a crate::WebhookRequest,
    credentials: &'a crate::Credentials,
    now: i64,
    options: &'a crate::Options,
    token: &'a str,
}

impl<'a> Flow<'a> {
    fn start(
        settings: self::machine::Settings,
        request: &'a crate::WebhookRequest,
        credentials: &'a crate::Credentials,
        now: i64,
        options: &'a crate::Options,
        token: &'a str,
    ) -> Self {
        use self::machine::Delivery;
        let (delivery, action) = Delivery::start_request(settings, request);
        Flow {
            delivery,
            action,
            event: None,
            provider: settings.provider,
            request,
            credentials,
            now,
            options,
            token,
        }
    }

    /// Runs the steps that need no store, up to the next one that does or the delivery's end.
    fn next(&mut self) -> Next {
        use self::machine::{Action, Input};
        loop {
            let action = core::mem::replace(&mut self.action, Action::CallHandler);
            let input = match action {
                // The machine checks the length against the cap and the declared length.
                Action::ReadBody { .. } => Input::BodyRead {
                    length: self.request.body.len() as u64,
                },
                Action::Normalize => {
                    let (input, normalized) = normalize_input(
                        self.provider,
                        self.request,
                        self.credentials,
                        self.now,
                        self.options,
                    );
                    self.event = normalized;
                    input
                }
                Action::Claim {
                    key,
                    lease_secs,
                    deadline_ms,
                } => {
                    return Next::Claim {
                        key,
                        lease_secs,
                        deadline_ms,
                    }
                }
                Action::CallHandler if self.event.is_some() => return Next::Handler,
                Action::CallHandler => Input::HandlerFailed,
                Action::Answer { answer, note } => return Next::Answer(Answer { note, ..answer }),
                Action::Complete { .. } | Action::Release { .. } => Input::Settled,
                // Inbox mode is [`crate::inbox::accept`]; these settings never ask for it.
                Action::Enqueue { .. } => Input::StoreFailed { timed_out: false },
            };
            self.action = self.delivery.next(input);
        }
    }

    /// The delivery handed to the handler, once [`Flow::next`] said [`Next::Handler`].
    fn into_claimed(self) -> core::result::Result<Claimed, Answer> {
        match self.event {
            Some(event) => Ok(Claimed {
                event,
                delivery: self.delivery,
                token: String::from(self.token),
            }),
            None => Err(internal(self.delivery.provider)),
        }
    }

    /// The store's answer to the claim [`Flow::next`] asked for (`Err(timed_out)`: it failed,
    /// or missed its deadline).
    fn claimed(&mut self, state: core::result::Result<ClaimState, bool>) {
        use self::machine::Input;
        self.action = self.delivery.next(match state {
            Ok(state) => Input::Claimed {
                state: String::from(state.as_str()),
            },
            Err(timed_out) => Input::StoreFailed { timed_out },
        });
    }
}

/// The machine's input for `normalize`, and the event when there is one: what every Rust
/// loop over the machine (here and [`crate::inbox::accept`]) does for that action.
pub(crate) fn normalize_input(
    provider: Option<Provider>,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
) -> (self::machine::Input, Option<crate::NormalizedEvent>) {
    use self::machine::Input;
    match crate::normalize_event_with(provider, request, credentials, now, options) {
        Ok(event) => (
            Input::Normalized {
                provider: event.provider,
                event_id: event.id.clone(),
            },
            Some(event),
        ),
        Err(error) => (
            Input::Refused {
                code: String::from(error.code()),
            },
            None,
        ),
    }
}

impl Claimed {
    /// The answer to the handler's result; completes or releases the claim as the machine
    /// says. A store failure here changes nothing in the answer (the handler's work is done or
    /// failed), but leaves the bare claim to its lease: redeliveries meanwhile are answered in
    /// progress, and the one after it runs the handler again. [`Claimed::finish_retrying`] gives
    /// the failed call to try again after the answer is sent.
    pub fn finish<S: DedupeStore>(self, result: HandlerResult, store: &mut S, now: i64) -> Answer {
        let (answer, retry) = self.finish_retrying(result, store, now);
        not_retried(answer, retry.as_ref())
    }

    /// [`Claimed::finish`], and the settling call to try again when it failed: run
    /// [`RetrySettle::run`] after sending the answer (in a thread of its own: it sleeps between
    /// tries, ~26 s in all).
    pub fn finish_retrying<S: DedupeStore>(
        self,
        result: HandlerResult,
        store: &mut S,
        now: i64,
    ) -> (Answer, Option<RetrySettle>) {
        let (mut delivery, token, mut action) = self.handled(result);
        let mut retry = None;
        loop {
            let settling = match settle(&delivery, action) {
                Ok(settling) => settling,
                Err(answer) => return (answer, retry),
            };
            let settled = match &settling {
                Settle::Complete { key, ttl_secs, .. } => {
                    store.complete(key, &token, *ttl_secs, now)
                }
                Settle::Release { key, .. } => store.release(key, &token),
            };
            if settled.is_err() {
                retry = RetrySettle::after(settling, &token);
            }
            action = settled_input(&mut delivery, settled.is_ok());
        }
    }

    /// [`Claimed::finish`] for a store whose client is async.
    pub async fn finish_async<S: AsyncDedupeStore>(
        self,
        result: HandlerResult,
        store: &S,
        now: i64,
    ) -> Answer {
        let (answer, retry) = self.finish_retrying_async(result, store, now).await;
        not_retried(answer, retry.as_ref())
    }

    /// [`Claimed::finish_retrying`] for a store whose client is async: run
    /// [`RetrySettle::run_async`] after sending the answer (a task of its own, `tokio::spawn`).
    pub async fn finish_retrying_async<S: AsyncDedupeStore>(
        self,
        result: HandlerResult,
        store: &S,
        now: i64,
    ) -> (Answer, Option<RetrySettle>) {
        let (mut delivery, token, mut action) = self.handled(result);
        let mut retry = None;
        loop {
            let settling = match settle(&delivery, action) {
                Ok(settling) => settling,
                Err(answer) => return (answer, retry),
            };
            let settled = match &settling {
                Settle::Complete {
                    key,
                    ttl_secs,
                    deadline_ms,
                } => {
                    store
                        .complete(key, &token, *ttl_secs, now, *deadline_ms)
                        .await
                }
                Settle::Release { key, deadline_ms } => {
                    store.release(key, &token, *deadline_ms).await
                }
            };
            if settled.is_err() {
                retry = RetrySettle::after(settling, &token);
            }
            action = settled_input(&mut delivery, settled.is_ok());
        }
    }

    /// The handler's result given to the machine: the delivery, its token and what it asks next.
    fn handled(
        self,
        result: HandlerResult,
    ) -> (self::machine::Delivery, String, self::machine::Action) {
        use self::machine::Input;
        let Claimed {
            mut delivery,
            token,
            ..
        } = self;
        let action = delivery.next(match result {
            HandlerResult::Outcome {
                outcome: HandlerOutcome::Ok,
            } => Input::Handled { status: None },
            HandlerResult::Outcome {
                outcome: HandlerOutcome::Failed,
            } => Input::HandlerFailed,
            HandlerResult::Status { status } => Input::Handled {
                status: Some(i64::from(status)),
            },
        });
        (delivery, token, action)
    }
}

/// The answer of a flow that does not try a failed settling call again: its note says so (the
/// machine's says the call is tried again, as the other runtimes do).
fn not_retried(mut answer: Answer, retry: Option<&RetrySettle>) -> Answer {
    if retry.is_some() {
        answer.note = Some(String::from(
            "the dedupe store could not settle the claim, and this flow does not try again (Claimed::finish_retrying does): until its lease ends redeliveries are answered in progress",
        ));
    }
    answer
}

/// A claim whose `complete` (after the handler ran) or `release` (after it failed) failed: the
/// key keeps the bare claim, so redeliveries are answered in progress until its lease ends —
/// and then, if the provider never got the answer (its timeout was shorter than the handler),
/// the handler runs a second time. [`RetrySettle::run`] tries the call again on the
/// [`orphan`] machine's schedule until one holds. Each try acts only while the key still holds
/// this delivery's claim, so it is safe however late it lands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "run it after sending the answer, or the claim stays held for its whole lease"]
pub struct RetrySettle {
    key: String,
    token: String,
    /// `Some` for a complete (its TTL), `None` for a release.
    complete_ttl_secs: Option<u32>,
    state: Option<orphan::OrphanedClaim>,
    action: orphan::OrphanAction,
}

impl RetrySettle {
    fn after(settling: Settle, token: &str) -> Option<RetrySettle> {
        let (key, complete_ttl_secs) = match settling {
            Settle::Complete { key, ttl_secs, .. } => (key, Some(ttl_secs)),
            Settle::Release { key, .. } => (key, None),
        };
        let first = orphan::OrphanInput::SettleFailed {
            complete: complete_ttl_secs.is_some(),
        };
        let (state, action) = orphan::OrphanedClaim::next(None, &first).ok()?;
        Some(RetrySettle {
            key,
            token: String::from(token),
            complete_ttl_secs,
            state,
            action,
        })
    }

    /// For a claim your store gave up on (its call past `deadline_ms`, or failed: it may have
    /// landed all the same — a client timeout after the server ran it): once the call ends,
    /// `landed` is what it answered (`None`: it failed). `Some` when the key must be released
    /// with this delivery's token on [`orphan`]'s schedule ([`RetrySettle::run_async`]): a
    /// claim that landed `New`, or one that failed (released after every wait: it may land
    /// after a release). Without it, every redelivery within the lease is answered 503 —
    /// lost for a provider whose retries all fall inside it (Telnyx's, a review).
    pub fn after_abandoned_claim(
        key: &str,
        token: &str,
        landed: Option<ClaimState>,
    ) -> Option<RetrySettle> {
        let first = match landed {
            Some(state) => orphan::OrphanInput::Landed {
                state: String::from(state.as_str()),
            },
            None => orphan::OrphanInput::Failed,
        };
        let (state, action) = orphan::OrphanedClaim::next(None, &first).ok()?;
        state.map(|_| RetrySettle {
            key: String::from(key),
            token: String::from(token),
            complete_ttl_secs: None,
            state,
            action,
        })
    }

    /// The event's idempotency key (its claim's key).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The wait before the next try, or `None` when the tries are over.
    fn next_wait_ms(&self) -> Option<u32> {
        match self.action {
            orphan::OrphanAction::Complete { after_ms }
            | orphan::OrphanAction::Release { after_ms } => Some(after_ms),
            orphan::OrphanAction::Done { .. } => None,
        }
    }

    /// How the last try went, given to the orphan machine.
    fn tried(&mut self, held: bool) {
        use orphan::OrphanInput;
        let input = match (self.complete_ttl_secs.is_some(), held) {
            (true, true) => OrphanInput::Completed,
            (true, false) => OrphanInput::CompleteFailed,
            (false, true) => OrphanInput::Released,
            (false, false) => OrphanInput::ReleaseFailed,
        };
        (self.state, self.action) = orphan::OrphanedClaim::next(self.state, &input).unwrap_or((
            None,
            orphan::OrphanAction::Done {
                log: LogLevel::Error,
                note: Some(String::from(
                    "the orphan machine refused a try's outcome (a telhook bug)",
                )),
            },
        ));
    }

    /// What is left to log once the tries are over: `None` when one held, else the level and
    /// why (the call never held: redeliveries within the lease are answered in progress).
    fn outcome(self) -> Option<(LogLevel, String)> {
        match self.action {
            orphan::OrphanAction::Done {
                log,
                note: Some(note),
            } => Some((log, note)),
            _ => None,
        }
    }

    /// Tries the call again with a blocking store, `sleep(ms)` before each try (the first at
    /// once), until one holds or the tries are spent (~26 s). `now()` is the store's clock at
    /// each try. Returns what to log if none held.
    pub fn run<S: DedupeStore>(
        mut self,
        store: &mut S,
        mut now: impl FnMut() -> i64,
        mut sleep: impl FnMut(u32),
    ) -> Option<(LogLevel, String)> {
        while let Some(wait_ms) = self.next_wait_ms() {
            sleep(wait_ms);
            let held = match self.complete_ttl_secs {
                Some(ttl_secs) => store
                    .complete(&self.key, &self.token, ttl_secs, now())
                    .is_ok(),
                None => store.release(&self.key, &self.token).is_ok(),
            };
            self.tried(held);
        }
        self.outcome()
    }

    /// [`RetrySettle::run`] with an async store: `sleep(ms)` is your runtime's
    /// (`tokio::time::sleep`); each try is given [`machine::DEFAULT_STORE_DEADLINE_MS`].
    pub async fn run_async<S: AsyncDedupeStore, F: core::future::Future<Output = ()>>(
        mut self,
        store: &S,
        mut now: impl FnMut() -> i64,
        mut sleep: impl FnMut(u32) -> F,
    ) -> Option<(LogLevel, String)> {
        let deadline_ms = machine::DEFAULT_STORE_DEADLINE_MS;
        while let Some(wait_ms) = self.next_wait_ms() {
            sleep(wait_ms).await;
            let held = match self.complete_ttl_secs {
                Some(ttl_secs) => store
                    .complete(&self.key, &self.token, ttl_secs, now(), deadline_ms)
                    .await
                    .is_ok(),
                None => store
                    .release(&self.key, &self.token, deadline_ms)
                    .await
                    .is_ok(),
            };
            self.tried(held);
        }
        self.outcome()
    }
}

/// The store call settling a claim asks for next.
enum Settle {
    Complete {
        key: String,
        ttl_secs: u32,
        deadline_ms: u32,
    },
    Release {
        key: String,
        deadline_ms: u32,
    },
}

/// The settling call the machine asks for, or the answer that ends the delivery.
fn settle(
    delivery: &self::machine::Delivery,
    action: self::machine::Action,
) -> core::result::Result<Settle, Answer> {
    use self::machine::Action;
    match action {
        Action::Complete {
            key,
            ttl_secs,
            deadline_ms,
        } => Ok(Settle::Complete {
            key,
            ttl_secs,
            deadline_ms,
        }),
        Action::Release { key, deadline_ms } => Ok(Settle::Release { key, deadline_ms }),
        Action::Answer { answer, note } => Err(Answer { note, ..answer }),
        _ => Err(internal(delivery.provider)),
    }
}

/// The store's answer to a settling call, given to the machine: what it asks next.
fn settled_input(delivery: &mut self::machine::Delivery, ok: bool) -> self::machine::Action {
    use self::machine::Input;
    delivery.next(if ok {
        Input::Settled
    } else {
        Input::SettleFailed { timed_out: false }
    })
}

/// The whole flow for a synchronous handler: [`begin`], the handler, [`Claimed::finish`].
#[allow(clippy::too_many_arguments)]
pub fn receive<S: DedupeStore>(
    provider: Option<Provider>,
    request: &crate::WebhookRequest,
    credentials: &crate::Credentials,
    now: i64,
    options: &crate::Options,
    store: &mut S,
    token: &str,
    handler: impl FnOnce(&crate::NormalizedEvent) -> HandlerResult,
) -> Answer {
    match begin(provider, request, credentials, now, options, store, token) {
        Err(answer) => answer,
        Ok(claimed) => {
            let result = handler(&claimed.event);
            claimed.finish(result, store, now)
        }
    }
}

/// A dedupe store in memory: one process, tests, the CLI. Expired entries are dropped when
/// their key is claimed again, and all of them whenever the store has doubled since the last
/// sweep, so memory stays bounded by the keys seen within their TTL (amortized O(1) a claim).
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: alloc::collections::BTreeMap<String, MemoryEntry>,
    /// The size at which the next claim sweeps out expired entries.
    sweep_at: usize,
}

/// The smallest store that is swept: below it, sweeping costs more than it frees.
const MEMORY_STORE_SWEEP_MIN: usize = 64;

#[derive(Debug)]
struct MemoryEntry {
    done: bool,
    token: String,
    expires_at: i64,
}

impl MemoryStore {
    fn owned_claim(&self, key: &str, token: &str) -> bool {
        self.entries
            .get(key)
            .is_some_and(|entry| !entry.done && entry.token == token)
    }
}

impl DedupeStore for MemoryStore {
    type Error = core::convert::Infallible;

    fn claim(
        &mut self,
        key: &str,
        token: &str,
        lease_secs: u32,
        now: i64,
    ) -> core::result::Result<ClaimState, Self::Error> {
        if let Some(entry) = self.entries.get(key) {
            if entry.expires_at > now {
                return Ok(if entry.done {
                    ClaimState::Done
                } else {
                    ClaimState::InProgress
                });
            }
        }
        if self.entries.len() >= self.sweep_at.max(MEMORY_STORE_SWEEP_MIN) {
            self.entries.retain(|_, entry| entry.expires_at > now);
            self.sweep_at = self.entries.len().saturating_mul(2);
        }
        let entry = MemoryEntry {
            done: false,
            token: String::from(token),
            expires_at: now.saturating_add(i64::from(lease_secs)),
        };
        self.entries.insert(String::from(key), entry);
        Ok(ClaimState::New)
    }

    fn complete(
        &mut self,
        key: &str,
        token: &str,
        ttl_secs: u32,
        now: i64,
    ) -> core::result::Result<(), Self::Error> {
        // Gone (swept after its lease ran out, nobody took it since): the handler did run.
        if self.owned_claim(key, token) || !self.entries.contains_key(key) {
            let entry = MemoryEntry {
                done: true,
                token: String::from(token),
                expires_at: now.saturating_add(i64::from(ttl_secs)),
            };
            self.entries.insert(String::from(key), entry);
        }
        Ok(())
    }

    fn release(&mut self, key: &str, token: &str) -> core::result::Result<(), Self::Error> {
        if self.owned_claim(key, token) {
            self.entries.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handled(provider: Provider, outcome: HandlerOutcome) -> Answer {
        decide(&Step::Handled {
            provider,
            result: HandlerResult::Outcome { outcome },
        })
    }

    #[test]
    fn the_memory_store_drops_expired_keys_it_is_never_asked_about_again() {
        let mut store = MemoryStore::default();
        for i in 0..10_000 {
            let key = alloc::format!("lisoloo:{i}");
            assert_eq!(
                store.claim(&key, "t", 300, i64::from(i)),
                Ok(ClaimState::New)
            );
            assert_eq!(store.complete(&key, "t", 60, i64::from(i)), Ok(()));
        }
        // Only the keys of the last minute (and at most one unswept doubling) are held.
        assert!(
            store.entries.len() <= 2 * 61 + MEMORY_STORE_SWEEP_MIN,
            "{}",
            store.entries.len()
        );
        // A key still within its TTL is remembered.
        assert_eq!(
            store.claim("lisoloo:9999", "u", 300, 10_000),
            Ok(ClaimState::Done)
        );
    }

    #[test]
    fn a_delivery_in_progress_makes_every_provider_retry() {
        for provider in Provider::ALL {
            let answer = decide(&Step::Claimed {
                provider,
                state: ClaimState::InProgress,
            });
            assert_eq!(answer.provider_action, Some(DeliveryResult::Retry));
            assert_eq!(answer.dedupe, DedupeAction::None);
            assert!(answer
                .headers
                .iter()
                .any(|(name, _)| *name == "retry-after"));
        }
    }

    #[test]
    fn receiver_faults_never_make_a_provider_drop_the_event() {
        for provider in Provider::ALL {
            let mut answers = vec![
                handled(provider, HandlerOutcome::Failed),
                decide(&Step::StoreFailed { provider }),
                decide(&Step::Rejected {
                    provider: Some(provider),
                    code: "no_such_code".into(),
                }),
            ];
            for code in ErrorCode::ALL {
                if code.kind() == ErrorKind::Configuration {
                    answers.push(decide(&Step::Rejected {
                        provider: Some(provider),
                        code: code.as_str().into(),
                    }));
                }
            }
            for answer in answers {
                assert_eq!(
                    answer.provider_action,
                    Some(DeliveryResult::Retry),
                    "{provider:?} {}",
                    answer.code
                );
                assert!(answer.status >= 500);
            }
        }
    }

    #[test]
    fn a_failed_handler_releases_and_a_successful_one_completes() {
        let ok = handled(Provider::Lisoloo, HandlerOutcome::Ok);
        assert_eq!((ok.status, ok.dedupe), (200, DedupeAction::Complete));
        assert_eq!(ok.body, r#"{"outcome":"accepted"}"#);
        let failed = handled(Provider::Lisoloo, HandlerOutcome::Failed);
        assert_eq!((failed.status, failed.dedupe), (500, DedupeAction::Release));
        assert_eq!(failed.body, r#"{"error":"handler_failed"}"#);
    }

    #[test]
    fn a_handler_status_completes_only_when_the_provider_will_not_resend() {
        let status = |provider, status| {
            decide(&Step::Handled {
                provider,
                result: HandlerResult::Status { status },
            })
        };
        // Lisoloo drops on a 4xx: nothing will come again.
        assert_eq!(
            status(Provider::Lisoloo, 409).dedupe,
            DedupeAction::Complete
        );
        // LimePhone retries anything but 200: the claim must not swallow the redelivery.
        assert_eq!(
            status(Provider::LimePhone, 409).dedupe,
            DedupeAction::Release
        );
        assert_eq!(
            status(Provider::LimePhone, 200).dedupe,
            DedupeAction::Complete
        );
        let no_content = status(Provider::Lisoloo, 204);
        assert_eq!(
            (no_content.body.as_str(), no_content.headers.len()),
            ("", 0)
        );
        assert_eq!(no_content.dedupe, DedupeAction::Complete);
        let nonsense = status(Provider::LimePhone, 1000);
        assert_eq!((nonsense.status, nonsense.code), (500, "handler_failed"));
    }

    #[test]
    fn wrong_method_and_oversized_bodies_have_their_own_statuses() {
        let method = decide(&Step::Rejected {
            provider: None,
            code: "method_not_allowed".into(),
        });
        assert_eq!(method.status, 405);
        assert!(method.headers.contains(&("allow", "POST".into())));
        assert_eq!(method.provider_action, None);
        let size = decide(&Step::Rejected {
            provider: Some(Provider::GatewayApi),
            code: "body_too_large".into(),
        });
        assert_eq!(size.status, 413);
        // Whose body it was is not known (detection, a cap in front of several providers'
        // paths): it may be Lisoloo's, which drops an event on a 413.
        let unknown = decide(&Step::Rejected {
            provider: None,
            code: "body_too_large".into(),
        });
        assert_eq!((unknown.status, unknown.log), (500, LogLevel::Error));
    }

    #[test]
    fn steps_read_from_json() {
        let answer = decide_json(br#"{"step":"handled","provider":"limephone","status":204}"#);
        assert_eq!(answer.map(|a| a.status), Ok(204));
        let answer = decide_json(br#"{"step":"claimed","provider":"lisoloo","state":"done"}"#);
        assert_eq!(answer.map(|a| a.code), Ok("duplicate"));
        assert_eq!(
            decide_json(br#"{"step":"later"}"#).map_err(|e| e.code()),
            Err("invalid_request")
        );
    }
}
