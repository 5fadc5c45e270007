//! The receive machine: the whole receive flow, sans-I/O (the shape of h11, quinn-proto and
//! rustls: the protocol decides, the caller does the I/O).
//!
//! An adapter (Rust's [`super::receive`], Python's sync, async and Django atomic
//! paths, Node's middleware and the Fetch handler) tells the machine what happened and does
//! the [`Action`] it answers, in a loop, until the action is [`Action::Answer`]:
//!
//! ```text
//! start(method, headers)        -> read_body { max_bytes } | answer
//! body_read { length, decoded? } / body_too_large
//!                               -> (the adapter normalizes) ...
//! normalized { event id } | refused { code }
//!                               -> claim { key, lease_secs, deadline_ms } | call_handler | answer
//! claimed { state } | store_failed { timed_out }
//!                               -> call_handler | answer
//! handled { outcome | status }  -> complete { key, ttl_secs, deadline_ms } | release { .. } | answer
//! settled | settle_failed       -> answer
//! ```
//!
//! Every rule lives here once: the method, the declared and the read length, what a refusal
//! is answered, the claim states, the store's deadline and its failures, the handler's
//! outcomes and status range, each provider's retry semantics (through [`decide`]), and what
//! is logged. An adapter checks nothing itself. The machine keeps no I/O state of its own
//! between steps beyond [`Delivery`], which the adapter holds (and bindings pass back as JSON).

use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::{
    decide, Answer, ClaimState, DedupeAction, HandlerOutcome, HandlerResult, LogLevel, Step,
};
use crate::error::{ErrorCode, Result};
use crate::provider::Provider;
use crate::request::{invalid_option, positive_option};
use crate::retry::{retry_policy, DeliveryResult};

/// How long a dedupe store call may take before it counts as failed, unless configured: well
/// under every provider's timeout (5 s), so the provider still gets its 503 in time.
pub const DEFAULT_STORE_DEADLINE_MS: u32 = 1_000;

/// The refusals a body parser's decoding of the body could have caused (the bytes verified or
/// read are not those sent); a wrong password, a missing header or a body over the cap are not.
const REFUSED_FOR_ITS_BYTES: [&str; 5] = [
    ErrorCode::SignatureMismatch.as_str(),
    ErrorCode::JwtPayloadMismatch.as_str(),
    ErrorCode::MalformedJson.as_str(),
    ErrorCode::MalformedNestedJson.as_str(),
    ErrorCode::InvalidPayload.as_str(),
];

/// The default deadline of a provider's claim (inbox mode: enqueue). A provider that sends no
/// retries (Twilio, the DID reseller) loses the event on a 503: a slow store is waited for up to
/// half of its timeout (7.5 s of 15 s), the other half left to the handler and the settling call,
/// which keeps [`DEFAULT_STORE_DEADLINE_MS`] (its failure never changes the answer).
pub fn default_store_deadline_ms(provider: Provider) -> u32 {
    if sends_no_retries(provider) {
        crate::providers::retry_schedule(provider)
            .timeout_secs
            .saturating_mul(500)
            .max(DEFAULT_STORE_DEADLINE_MS)
    } else {
        DEFAULT_STORE_DEADLINE_MS
    }
}

/// Whether `provider` redelivers nothing (its schedule has no retries): a failure answered to
/// it loses the event.
fn sends_no_retries(provider: Provider) -> bool {
    crate::providers::retry_schedule(provider)
        .retry_delays_secs
        .is_empty()
}
const MAX_STORE_DEADLINE_MS: u32 = 60_000;
const BYTES: &str = "an integer of at least 1 (bytes)";
const SECONDS: &str = "an integer of at least 1 (seconds)";
const DEADLINE: &str = "an integer from 1 to 60000 (milliseconds)";
// A claim a crashed attempt leaves must expire while redeliveries still come, and outlast an
// attempt the provider still waits for; a key forgotten sooner than the last redelivery lets
// it run the handler again.
const LEASE_FOR_PROVIDER: &str =
    "seconds from the provider's timeout to less than the time to its last redelivery (its retry_policy)";
const TTL_FOR_PROVIDER: &str = "at least the provider's retry_horizon_secs (its retry_policy)";

/// Said of a failure answered to a provider that sends no retries.
const NOT_DELIVERED_AGAIN: &str =
    "; this provider sends no retries by default: unless a fallback URL or a retry override is set, the event is not delivered again";

/// A receiver's settings for the flow, validated once when the receiver is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The configured provider (`None`: detected per request).
    pub provider: Option<Provider>,
    /// Bodies (and declared lengths) above this are refused with 413.
    pub max_body_bytes: usize,
    /// False when no dedupe store is configured: every delivery reaches the handler.
    pub store: bool,
    /// How long a claim holds off redeliveries while the handler runs (default: the
    /// provider's `in_progress_lease_secs`, 300 s). A handler that outlives it can run again.
    pub lease_secs: Option<u32>,
    /// How long a handled event's key is kept (default: the provider's `dedupe_ttl_secs`).
    pub dedupe_ttl_secs: Option<u32>,
    /// How long one store call may take before the machine counts it as failed (default:
    /// [`default_store_deadline_ms`] of the event's provider).
    pub store_deadline_ms: Option<u32>,
    /// Inbox mode: the store is an inbox; a verified event is stored (with its key, in one
    /// atomic step) and answered at once, and a worker runs the handler later.
    #[serde(default)]
    pub inbox: bool,
}

impl Settings {
    /// Checks every option: a misconfiguration fails when the receiver is built, never as an
    /// answer that makes a provider drop events.
    pub fn new(
        provider: Option<Provider>,
        max_body_bytes: usize,
        store: bool,
        lease_secs: Option<u32>,
        dedupe_ttl_secs: Option<u32>,
        store_deadline_ms: Option<u32>,
    ) -> Result<Settings> {
        let invalid = |option: &str, expected| Err(invalid_option(option, expected));
        if max_body_bytes == 0 {
            return invalid("max_body_bytes", BYTES);
        }
        if lease_secs == Some(0) {
            return invalid("lease_secs", SECONDS);
        }
        if dedupe_ttl_secs == Some(0) {
            return invalid("dedupe_ttl_secs", SECONDS);
        }
        if store_deadline_ms.is_some_and(|ms| !(1..=MAX_STORE_DEADLINE_MS).contains(&ms)) {
            return invalid("store_deadline_ms", DEADLINE);
        }
        // A named provider's retry schedule bounds both: a lease past its last redelivery
        // lost every event whose attempt crashed (Lisoloo with lease_secs=7200: its four
        // redeliveries all answered 503, then dropped), and a key kept for less than its
        // retries let one run the handler again (a review). With detection the provider is
        // known per request only; the defaults follow it.
        if let Some(provider) = provider {
            let policy = retry_policy(provider);
            let last_redelivery = crate::providers::retry_schedule(provider).last_redelivery_secs();
            if lease_secs.is_some_and(|lease| {
                lease < policy.timeout_secs || (last_redelivery > 0 && lease >= last_redelivery)
            }) {
                return invalid("lease_secs", LEASE_FOR_PROVIDER);
            }
            if dedupe_ttl_secs.is_some_and(|ttl| ttl < policy.retry_horizon_secs) {
                return invalid("dedupe_ttl_secs", TTL_FOR_PROVIDER);
            }
        }
        Ok(Settings {
            provider,
            max_body_bytes,
            store,
            lease_secs,
            dedupe_ttl_secs,
            store_deadline_ms,
            inbox: false,
        })
    }

    /// The same settings in inbox mode (the store must be an inbox).
    pub fn with_inbox(mut self) -> Result<Settings> {
        if !self.store {
            return Err(invalid_option(
                "inbox",
                "an inbox as the store (inbox mode stores every event)",
            ));
        }
        self.inbox = true;
        Ok(self)
    }

    /// Settings from their JSON form (`{provider, max_body_bytes, store, lease_secs?,
    /// dedupe_ttl_secs?, store_deadline_ms?}`), checked as [`Settings::new`] checks them: each
    /// option that is not a whole number of at least 1 (or `null` for its default), and any
    /// unknown name, is `invalid_option` naming that option, never its value.
    pub fn from_json_value(value: serde_json::Value) -> Result<Settings> {
        let serde_json::Value::Object(map) = value else {
            return Err(invalid_option("options", "an object of receiver settings"));
        };
        let (mut provider, mut max_body_bytes, mut store) = (None, None, None);
        let (mut lease_secs, mut dedupe_ttl_secs, mut store_deadline_ms) = (None, None, None);
        let mut inbox = false;
        for (name, value) in &map {
            let small = |expected| {
                positive_option(name, value, expected)?
                    .map(|number| u32::try_from(number).map_err(|_| invalid_option(name, expected)))
                    .transpose()
            };
            match name.as_str() {
                "provider" => provider = Provider::from_json(value)?,
                "max_body_bytes" => {
                    max_body_bytes = positive_option(name, value, BYTES)?
                        .and_then(|bytes| usize::try_from(bytes).ok());
                }
                "store" => store = value.as_bool(),
                "inbox" => {
                    inbox = value
                        .as_bool()
                        .ok_or_else(|| invalid_option(name, "true or false"))?;
                }
                "lease_secs" => lease_secs = small(SECONDS)?,
                "dedupe_ttl_secs" => dedupe_ttl_secs = small(SECONDS)?,
                "store_deadline_ms" => {
                    store_deadline_ms = small(DEADLINE)?;
                }
                _ => {
                    return Err(invalid_option(
                        name,
                        "a known setting: provider, max_body_bytes, store, inbox, lease_secs, dedupe_ttl_secs, store_deadline_ms",
                    ))
                }
            }
        }
        let (Some(max_body_bytes), Some(store)) = (max_body_bytes, store) else {
            return Err(invalid_option(
                "options",
                "max_body_bytes (an integer of at least 1) and store (true or false)",
            ));
        };
        let settings = Settings::new(
            provider,
            max_body_bytes,
            store,
            lease_secs,
            dedupe_ttl_secs,
            store_deadline_ms,
        )?;
        if inbox {
            settings.with_inbox()
        } else {
            Ok(settings)
        }
    }
}

/// Where a delivery is in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    ReadingBody,
    Normalizing,
    Claiming,
    Enqueuing,
    Handling,
    Settling,
    Answered,
}

/// One delivery's memory between steps; the adapter holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub settings: Settings,
    pub phase: Phase,
    /// The configured provider, then the one the event came from.
    pub provider: Option<Provider>,
    /// The event's idempotency key, once normalized.
    pub event_id: Option<String>,
    /// The handler's result while its claim is being settled.
    pub handled: Option<Handled>,
    /// Why the handler's result was not what it seemed (an out-of-range status), kept for the
    /// answer after settling.
    #[serde(default)]
    pub note: Option<String>,
    /// The request's `Content-Length`, when it declared one: an empty body read where it is
    /// above 0 was consumed by someone else first.
    #[serde(default)]
    pub declared_length: Option<u64>,
    /// The body read was a parser's decoding that nothing confirmed as sent
    /// ([`Input::DecodedBodyRead`]).
    #[serde(default)]
    pub body_decoded: bool,
    /// The request declared a form body (`application/x-www-form-urlencoded`): from Telnyx, a
    /// TeXML request, which reads a 2xx answer as TeXML ([`crate::receive::in_markup`]).
    #[serde(default)]
    pub form_body: bool,
}

/// What the handler did, kept while the claim is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handled {
    Ok,
    Failed,
    Status(u16),
}

/// What happened, as the adapter tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "input",
    rename_all = "snake_case",
    try_from = "serde_json::Value"
)]
pub enum Input {
    /// The body was read whole: its `length` in bytes. Normalized next, unless it is over
    /// `max_bytes`, or empty where the request declares a `Content-Length` above 0 (something
    /// consumed the raw body first: a middleware, a body parser).
    BodyRead { length: u64 },
    /// [`Input::BodyRead`] for a body that is a parser's decoding nothing confirms as the bytes
    /// sent: a text sent chunked or compressed, decoded by a framework's body parser (which
    /// drops a UTF-8 byte-order mark, as .NET senders write). A refusal its bytes could have
    /// caused is then answered `raw_body_unavailable` (500, redelivered), not 401/400 — on which
    /// Lisoloo drops the event. (`{"input": "body_read", "length", "decoded": true}`.)
    DecodedBodyRead { length: u64 },
    /// The body went over `max_bytes` while it was read.
    BodyTooLarge,
    /// Something consumed the raw body before the adapter could read it.
    BodyUnavailable,
    /// Verified and normalized: the event's provider and idempotency key.
    Normalized {
        provider: Provider,
        event_id: String,
    },
    /// Verification or normalization refused the request with this error code.
    Refused { code: String },
    /// The store's answer to the claim: `new`, `in_progress` or `done` (anything else is a
    /// broken store).
    Claimed { state: String },
    /// The inbox's answer to `enqueue`: `new` (stored now) or `duplicate` (the key was stored
    /// already; nothing was written).
    Enqueued { state: String },
    /// The store call failed, or did not answer within `deadline_ms`.
    StoreFailed { timed_out: bool },
    /// The handler returned normally (`status` when it chose one: any integer, checked here).
    Handled { status: Option<i64> },
    /// The handler raised, rejected or was cancelled before it ended.
    HandlerFailed,
    /// The claim was completed or released.
    Settled,
    /// Completing or releasing the claim failed or timed out (the answer stands).
    SettleFailed { timed_out: bool },
}

/// Read by hand from its JSON form, which is what serde's derive reads (`{"input": name, …}`,
/// other keys ignored): the derive for an internally tagged enum buffers the whole map and was
/// the largest function of the receiver's wasm module (26 KB of 810 KB).
impl TryFrom<serde_json::Value> for Input {
    type Error = &'static str;

    fn try_from(value: serde_json::Value) -> core::result::Result<Input, &'static str> {
        use serde_json::Value;
        let Value::Object(mut map) = value else {
            return Err("an object with an \"input\" name");
        };
        let Some(Value::String(input)) = map.remove("input") else {
            return Err("an \"input\" name");
        };
        let flag = |map: &serde_json::Map<String, Value>, name: &str| match map.get(name) {
            Some(Value::Bool(flag)) => Ok(*flag),
            _ => Err("a boolean field the input names"),
        };
        Ok(match input.as_str() {
            "body_read" => {
                let length = map
                    .get("length")
                    .and_then(Value::as_u64)
                    .ok_or("the body's length in bytes")?;
                match map.get("decoded") {
                    None | Some(Value::Bool(false)) => Input::BodyRead { length },
                    Some(Value::Bool(true)) => Input::DecodedBodyRead { length },
                    Some(_) => return Err("a boolean field the input names"),
                }
            }
            "body_too_large" => Input::BodyTooLarge,
            "body_unavailable" => Input::BodyUnavailable,
            "handler_failed" => Input::HandlerFailed,
            "settled" => Input::Settled,
            "normalized" => Input::Normalized {
                provider: map
                    .remove("provider")
                    .and_then(|name| serde_json::from_value(name).ok())
                    .ok_or("a provider's name")?,
                event_id: match map.remove("event_id") {
                    Some(Value::String(id)) => id,
                    _ => return Err("an event id"),
                },
            },
            "refused" | "claimed" | "enqueued" => {
                let Some(Value::String(field)) =
                    map.remove(if input == "refused" { "code" } else { "state" })
                else {
                    return Err("a string field the input names");
                };
                match input.as_str() {
                    "refused" => Input::Refused { code: field },
                    "claimed" => Input::Claimed { state: field },
                    _ => Input::Enqueued { state: field },
                }
            }
            "store_failed" => Input::StoreFailed {
                timed_out: flag(&map, "timed_out")?,
            },
            "settle_failed" => Input::SettleFailed {
                timed_out: flag(&map, "timed_out")?,
            },
            "handled" => Input::Handled {
                status: match map.get("status") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(number)) => {
                        Some(number.as_i64().ok_or("an integer status")?)
                    }
                    Some(_) => return Err("an integer status"),
                },
            },
            _ => return Err("a known input"),
        })
    }
}

/// What the adapter does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Read the body, no further than `max_bytes` + 1, then feed `BodyRead` (and normalize)
    /// or `BodyTooLarge` / `BodyUnavailable`.
    ReadBody { max_bytes: usize },
    /// Verify and normalize the body read (the receiver's `normalize`), then feed
    /// `Normalized` or `Refused`.
    Normalize,
    /// `store.claim(key, token, lease_secs)`, abandoned after `deadline_ms` — but not dropped: a
    /// claim that lands after it would hold off every redelivery for its lease, so let the call
    /// run on and release it as [`super::orphan`] says.
    Claim {
        key: String,
        lease_secs: u32,
        deadline_ms: u32,
    },
    /// Inbox mode: `inbox.enqueue(key, event, dedupe_ttl_secs)` — store the event and claim
    /// its key for `dedupe_ttl_secs` in one atomic step (one transaction, one conditional
    /// write), abandoned after `deadline_ms`; then feed `Enqueued` or `StoreFailed`.
    Enqueue {
        key: String,
        dedupe_ttl_secs: u32,
        deadline_ms: u32,
    },
    /// Call the user's handler with the event; a started handler runs to completion, even if
    /// the provider hangs up (its outcome settles the claim).
    CallHandler,
    /// `store.complete(key, token, ttl_secs)`, abandoned after `deadline_ms`.
    Complete {
        key: String,
        ttl_secs: u32,
        deadline_ms: u32,
    },
    /// `store.release(key, token)`, abandoned after `deadline_ms`.
    Release { key: String, deadline_ms: u32 },
    /// Send this answer (the handler's own response instead, when it returned one) and log
    /// `note` with the answer's code at its level.
    Answer {
        answer: Answer,
        /// What to log besides the code: why, in words (never a value from the request).
        note: Option<String>,
    },
}

impl Delivery {
    /// A delivery's first step: its method and declared length.
    pub fn start(
        settings: Settings,
        method: &str,
        headers: &[(String, String)],
    ) -> (Delivery, Action) {
        let request = crate::WebhookRequest {
            method: String::from(method),
            url: None,
            headers: headers.to_vec(),
            body: crate::request::Body::default(),
        };
        Delivery::start_request(settings, &request)
    }

    /// [`Delivery::start`] for a request already built: its method and declared length (not
    /// its body, which the read step checks), without a copy of its headers.
    pub fn start_request(
        settings: Settings,
        request: &crate::WebhookRequest,
    ) -> (Delivery, Action) {
        let mut delivery = Delivery {
            settings,
            phase: Phase::ReadingBody,
            provider: settings.provider,
            event_id: None,
            handled: None,
            note: None,
            declared_length: request.declared_length().ok().flatten(),
            body_decoded: false,
            form_body: request.declares_form().unwrap_or(false),
        };
        let checked = request
            .check_method(crate::providers::methods_before_detection(
                settings.provider,
            ))
            .and_then(|()| request.check_declared_size(settings.max_body_bytes));
        let action = match checked {
            Ok(()) => Action::ReadBody {
                max_bytes: settings.max_body_bytes,
            },
            Err(error) => delivery.refuse(error.code()),
        };
        (delivery, action)
    }

    /// The next action, given what happened. An input that does not fit the phase is the
    /// adapter's bug: answered as the core's internal error (500, the provider retries).
    pub fn next(&mut self, input: Input) -> Action {
        let decoded = matches!(input, Input::DecodedBodyRead { .. });
        match (self.phase, input) {
            (
                Phase::ReadingBody,
                Input::BodyRead { length } | Input::DecodedBodyRead { length },
            ) => {
                self.body_decoded = decoded;
                if length > self.settings.max_body_bytes as u64 {
                    return self.refuse("body_too_large");
                }
                // Empty only: a body a middleware consumed reaches the adapter as no bytes at all
                // (Starlette, aiohttp, Falcon, Express, Koa, Fastify, Django, Flask), while a
                // whole body can be shorter than its Content-Length once a parser decoded it (a
                // BOM stripped from a text, a small gzip body inflated). Verifying the empty
                // body would answer 400/401, on which Lisoloo drops the event; a 500 has the
                // provider deliver it again.
                if length == 0 && self.declared_length.is_some_and(|declared| declared > 0) {
                    let answer = decide(&Step::Rejected {
                        provider: self.provider,
                        code: String::from("raw_body_unavailable"),
                    });
                    return self.answer(
                        answer,
                        Some(String::from(
                            "the body is empty but its Content-Length is not: a middleware read it first",
                        )),
                    );
                }
                self.phase = Phase::Normalizing;
                Action::Normalize
            }
            (Phase::ReadingBody, Input::BodyTooLarge) => self.refuse("body_too_large"),
            (Phase::ReadingBody, Input::BodyUnavailable) => self.refuse("raw_body_unavailable"),
            (Phase::Normalizing, Input::Refused { code })
                if self.body_decoded && REFUSED_FOR_ITS_BYTES.contains(&code.as_str()) =>
            {
                let answer = decide(&Step::Rejected {
                    provider: self.provider,
                    code: String::from("raw_body_unavailable"),
                });
                self.answer(
                    answer,
                    Some(String::from(
                        "the body was refused for its bytes, but they are a body parser's decoding that nothing confirms as sent (chunked or compressed): give telhook the raw body",
                    )),
                )
            }
            (Phase::Normalizing, Input::Refused { code }) => self.refuse(&code),
            (Phase::Normalizing, Input::Normalized { provider, event_id }) => {
                self.provider = Some(provider);
                if self.settings.inbox {
                    self.phase = Phase::Enqueuing;
                    self.event_id = Some(event_id.clone());
                    return Action::Enqueue {
                        key: event_id,
                        dedupe_ttl_secs: self
                            .settings
                            .dedupe_ttl_secs
                            .unwrap_or(retry_policy(provider).dedupe_ttl_secs),
                        deadline_ms: self.store_deadline_ms(),
                    };
                }
                if !self.settings.store {
                    self.phase = Phase::Handling;
                    return Action::CallHandler;
                }
                self.phase = Phase::Claiming;
                let key = event_id.clone();
                self.event_id = Some(event_id);
                Action::Claim {
                    key,
                    lease_secs: self
                        .settings
                        .lease_secs
                        .unwrap_or(retry_policy(provider).in_progress_lease_secs),
                    deadline_ms: self.store_deadline_ms(),
                }
            }
            (Phase::Claiming, Input::Claimed { state }) => match state.as_str() {
                "new" => {
                    self.phase = Phase::Handling;
                    Action::CallHandler
                }
                "in_progress" => self.decided(Step::Claimed {
                    provider: self.provider_or_internal(),
                    state: ClaimState::InProgress,
                }),
                "done" => self.decided(Step::Claimed {
                    provider: self.provider_or_internal(),
                    state: ClaimState::Done,
                }),
                _ => self.store_failed(
                    "the dedupe store's claim returned something other than new, in_progress or done",
                ),
            },
            (Phase::Enqueuing, Input::Enqueued { state }) => match state.as_str() {
                "new" | "duplicate" => self.decided(Step::Enqueued {
                    provider: self.provider_or_internal(),
                    new: state == "new",
                }),
                // Another delivery of the event is being stored (its transaction not yet
                // committed): answered as a claim in progress, 503 with Retry-After, not as a
                // store failure.
                "in_progress" => self.decided(Step::Claimed {
                    provider: self.provider_or_internal(),
                    state: ClaimState::InProgress,
                }),
                _ => self.store_failed(
                    "the inbox's enqueue returned something other than new, duplicate or in_progress",
                ),
            },
            (Phase::Enqueuing, Input::StoreFailed { timed_out }) => self.store_failed(if timed_out
            {
                "the inbox did not answer within store_deadline_ms (the event may be stored all the same: its redelivery is then a duplicate)"
            } else {
                "the inbox could not store the event"
            }),
            (Phase::Claiming, Input::StoreFailed { timed_out }) => self.store_failed(if timed_out {
                "the dedupe store did not answer the claim within store_deadline_ms"
            } else {
                "the dedupe store's claim failed"
            }),
            (Phase::Handling, Input::HandlerFailed) => self.handled(Handled::Failed),
            (Phase::Handling, Input::Handled { status: None }) => self.handled(Handled::Ok),
            (Phase::Handling, Input::Handled { status: Some(status) }) => {
                match u16::try_from(status).ok().filter(|s| (200..=599).contains(s)) {
                    Some(status) => self.handled(Handled::Status(status)),
                    None => {
                        self.note = Some(String::from(
                            "the handler's status must be an integer from 200 to 599 (a final answer: a 1xx leaves the provider waiting)",
                        ));
                        self.handled(Handled::Failed)
                    }
                }
            }
            (Phase::Settling, Input::Settled) => self.settled(None),
            (Phase::Settling, Input::SettleFailed { timed_out }) => self.settled(Some(if timed_out
            {
                "the dedupe store did not settle the claim within store_deadline_ms; if it fails, it is tried again (receive::orphan), and until one try holds redeliveries are answered in progress"
            } else {
                "the dedupe store could not settle the claim; it is tried again (receive::orphan), and until one try holds redeliveries are answered in progress"
            })),
            _ => self.answer(decide(&Step::Rejected {
                provider: self.provider,
                code: String::from("internal"),
            }), Some(String::from("the receive machine got an input out of order (an adapter bug)"))),
        }
    }

    fn store_deadline_ms(&self) -> u32 {
        self.settings
            .store_deadline_ms
            .unwrap_or_else(|| default_store_deadline_ms(self.provider_or_internal()))
    }

    fn provider_or_internal(&self) -> Provider {
        // Normalized always sets it before a claim; `Claiming` cannot be reached without it.
        self.provider.unwrap_or(Provider::ALL[0])
    }

    fn refuse(&mut self, code: &str) -> Action {
        let answer = decide(&Step::Rejected {
            provider: self.provider,
            code: String::from(code),
        });
        // A signed time out of bounds is a replay or a forgery — or this server's clock: when
        // every delivery is refused so, a clock minutes off refuses every genuine one (a review).
        let note = matches!(
            code,
            "timestamp_out_of_tolerance" | "jwt_expired" | "jwt_not_yet_valid"
        )
        .then(|| {
            String::from(
                "the request's signed time is out of bounds: a replay, or this server's clock is off (if every delivery is refused so, check its time sync)",
            )
        });
        self.answer(answer, note)
    }

    fn store_failed(&mut self, why: &str) -> Action {
        let provider = self.provider_or_internal();
        let answer = decide(&Step::StoreFailed { provider });
        let mut note = String::from(why);
        if sends_no_retries(provider) {
            note.push_str(NOT_DELIVERED_AGAIN);
        }
        self.answer(answer, Some(note))
    }

    fn decided(&mut self, step: Step) -> Action {
        self.answer(decide(&step), None)
    }

    fn handled(&mut self, handled: Handled) -> Action {
        let answer = self.handled_answer(handled);
        let key = match (&self.event_id, answer.dedupe) {
            (Some(key), DedupeAction::Complete | DedupeAction::Release) => key.clone(),
            _ => {
                let note = self.note.take().or_else(|| self.note_for(handled));
                return self.answer(answer, note);
            }
        };
        self.handled = Some(handled);
        self.phase = Phase::Settling;
        let deadline_ms = self
            .settings
            .store_deadline_ms
            .unwrap_or(DEFAULT_STORE_DEADLINE_MS);
        if answer.dedupe == DedupeAction::Complete {
            let provider = self.provider_or_internal();
            Action::Complete {
                key,
                ttl_secs: self
                    .settings
                    .dedupe_ttl_secs
                    .unwrap_or(retry_policy(provider).dedupe_ttl_secs),
                deadline_ms,
            }
        } else {
            Action::Release { key, deadline_ms }
        }
    }

    fn handled_answer(&self, handled: Handled) -> Answer {
        let result = match handled {
            Handled::Ok => HandlerResult::Outcome {
                outcome: HandlerOutcome::Ok,
            },
            Handled::Failed => HandlerResult::Outcome {
                outcome: HandlerOutcome::Failed,
            },
            Handled::Status(status) => HandlerResult::Status { status },
        };
        decide(&Step::Handled {
            provider: self.provider_or_internal(),
            result,
        })
    }

    /// Says why an answer a user would not expect was given: a status the provider does not
    /// take as an acknowledgement reruns the handler on every redelivery, or drops the event.
    fn note_for(&self, handled: Handled) -> Option<String> {
        let Handled::Status(status) = handled else {
            return None;
        };
        let provider = self.provider?;
        let policy = retry_policy(provider);
        match policy.classify(status) {
            DeliveryResult::Acknowledged => return None,
            // Lisoloo drops an event on any 4xx: a handler's 429 or 409 meant "later" loses it.
            DeliveryResult::PermanentFailure => {
                return Some(alloc::format!(
                    "the handler answered {status}; {} takes it as a permanent failure and will not deliver this event again",
                    provider.name()
                ))
            }
            DeliveryResult::Retry if sends_no_retries(provider) => {
                return Some(alloc::format!(
                    "the handler answered {status}{NOT_DELIVERED_AGAIN}"
                ))
            }
            DeliveryResult::Retry => {}
        }
        let acks = if policy.ack_statuses.min == policy.ack_statuses.max {
            alloc::format!("only {}", policy.ack_statuses.min)
        } else {
            alloc::format!("{} to {}", policy.ack_statuses.min, policy.ack_statuses.max)
        };
        // Only a held claim makes the redelivery a duplicate: without a store it runs again.
        let then = if (200..=299).contains(&status) && self.event_id.is_some() {
            "answered as a duplicate without running the handler"
        } else {
            "running the handler again"
        };
        Some(alloc::format!(
            "the handler answered {status}; {} acknowledges {acks} and will deliver this event again, {then}",
            provider.name()
        ))
    }

    fn settled(&mut self, failure: Option<&str>) -> Action {
        let handled = self.handled.unwrap_or(Handled::Failed);
        let mut answer = self.handled_answer(handled);
        let note = match failure {
            Some(why) => {
                // The answer stands (the handler's work is done or undone), but a claim left
                // behind holds off redeliveries until its lease ends: an error to look at.
                answer.log = LogLevel::Error;
                Some(String::from(why))
            }
            None => self.note.take().or_else(|| self.note_for(handled)),
        };
        self.answer(answer, note)
    }

    fn answer(&mut self, mut answer: Answer, note: Option<String>) -> Action {
        self.phase = Phase::Answered;
        if self.form_body && self.provider == Some(crate::Provider::Telnyx) {
            answer = crate::receive::in_markup(answer);
        }
        if note.is_some() && answer.log < LogLevel::Warning {
            answer.log = LogLevel::Warning;
        }
        Action::Answer { answer, note }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn inputs_read_back_from_their_json_and_refuse_other_shapes() {
        let every = [
            Input::BodyRead { length: 388 },
            Input::BodyTooLarge,
            Input::BodyUnavailable,
            Input::Normalized {
                provider: Provider::Lisoloo,
                event_id: "lisoloo:1".into(),
            },
            Input::Refused {
                code: "signature_mismatch".into(),
            },
            Input::Claimed {
                state: "new".into(),
            },
            Input::Enqueued {
                state: "duplicate".into(),
            },
            Input::StoreFailed { timed_out: true },
            Input::Handled { status: None },
            Input::Handled {
                status: Some(-70_000),
            },
            Input::HandlerFailed,
            Input::Settled,
            Input::SettleFailed { timed_out: false },
        ];
        for input in every {
            let json = serde_json::to_string(&input).unwrap();
            assert_eq!(
                serde_json::from_str::<Input>(&json).unwrap(),
                input,
                "{json}"
            );
        }
        // Other keys are ignored, as serde's derive ignores them; a missing status is none.
        let read = |json: &str| serde_json::from_str::<Input>(json);
        assert_eq!(
            read(r#"{"extra":1,"input":"handled"}"#).unwrap(),
            Input::Handled { status: None }
        );
        for wrong in [
            r#"{"input":"handled","status":200.5}"#,
            r#"{"input":"handled","status":18446744073709551615}"#,
            r#"{"input":"handled","status":"200"}"#,
            r#"{"input":"store_failed"}"#,
            r#"{"input":"claimed","state":1}"#,
            r#"{"input":"normalized","provider":"nobody","event_id":"x"}"#,
            r#"{"input":"normalized","provider":"lisoloo"}"#,
            r#"{"input":"teleported"}"#,
            r#"{"state":"new"}"#,
            r#"["body_read"]"#,
        ] {
            assert!(read(wrong).is_err(), "{wrong}");
        }
    }

    fn settings(provider: Provider) -> Settings {
        Settings::new(Some(provider), 1024, true, None, None, None)
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }

    fn started(provider: Provider) -> Delivery {
        let (mut delivery, action) = Delivery::start(settings(provider), "POST", &[]);
        assert_eq!(action, Action::ReadBody { max_bytes: 1024 });
        assert_eq!(
            delivery.next(Input::BodyRead { length: 2 }),
            Action::Normalize
        );
        delivery
    }

    fn answer_of(action: Action) -> (Answer, Option<String>) {
        match action {
            Action::Answer { answer, note } => (answer, note),
            other => unreachable!("{other:?}"),
        }
    }

    #[test]
    fn a_store_that_does_not_answer_in_time_is_a_503_the_provider_retries() {
        let mut delivery = started(Provider::Lisoloo);
        let claim = delivery.next(Input::Normalized {
            provider: Provider::Lisoloo,
            event_id: "lisoloo:e".into(),
        });
        assert_eq!(
            claim,
            Action::Claim {
                key: "lisoloo:e".into(),
                lease_secs: 300,
                deadline_ms: DEFAULT_STORE_DEADLINE_MS
            }
        );
        let (answer, note) = answer_of(delivery.next(Input::StoreFailed { timed_out: true }));
        assert_eq!((answer.status, answer.code), (503, "dedupe_unavailable"));
        assert_eq!(answer.provider_action, Some(DeliveryResult::Retry));
        assert!(note.is_some_and(|n| n.contains("store_deadline_ms")));
    }

    #[test]
    fn an_inbox_storing_the_same_event_right_now_is_a_claim_in_progress_not_a_store_failure() {
        let inbox = settings(Provider::Lisoloo)
            .with_inbox()
            .unwrap_or_else(|_| unreachable!("the defaults are valid"));
        let (mut delivery, _) = Delivery::start(inbox, "POST", &[]);
        delivery.next(Input::BodyRead { length: 2 });
        let enqueue = delivery.next(Input::Normalized {
            provider: Provider::Lisoloo,
            event_id: "lisoloo:e".into(),
        });
        assert!(matches!(enqueue, Action::Enqueue { .. }), "{enqueue:?}");
        let (answer, _) = answer_of(delivery.next(Input::Enqueued {
            state: "in_progress".into(),
        }));
        assert_eq!((answer.status, answer.code), (503, "delivery_in_progress"));
        assert_eq!(answer.log, LogLevel::Info);
        assert!(answer
            .headers
            .iter()
            .any(|(name, _)| *name == "retry-after"));
    }

    #[test]
    fn a_status_the_provider_retries_is_answered_and_explained_and_a_2xx_completes() {
        let mut delivery = started(Provider::LimePhone);
        delivery.next(Input::Normalized {
            provider: Provider::LimePhone,
            event_id: "limephone:x".into(),
        });
        assert_eq!(
            delivery.next(Input::Claimed {
                state: "new".into()
            }),
            Action::CallHandler
        );
        let mut failing = delivery.clone();
        let release = failing.next(Input::Handled { status: Some(503) });
        assert!(matches!(release, Action::Release { .. }), "{release:?}");
        let (answer, note) = answer_of(failing.next(Input::Settled));
        assert_eq!((answer.status, answer.log), (503, LogLevel::Warning));
        assert!(note.is_some_and(|n| n.contains("running the handler again")));
        // A 2xx is the handler's work done: completed, and the redelivery it will cause is
        // a duplicate.
        let complete = delivery.next(Input::Handled { status: Some(204) });
        assert!(matches!(complete, Action::Complete { .. }), "{complete:?}");
        let (answer, note) = answer_of(delivery.next(Input::Settled));
        assert_eq!((answer.status, answer.log), (204, LogLevel::Warning));
        assert!(
            note.is_some_and(|n| n.contains("limephone acknowledges only 200")
                && n.contains("answered as a duplicate"))
        );
        // Without a store nothing is held: the redelivery runs the handler again, and the
        // warning says so (it said "answered as a duplicate", a review).
        let no_store = Settings::new(Some(Provider::LimePhone), 1024, false, None, None, None)
            .unwrap_or_else(|_| unreachable!("the defaults are valid"));
        let (mut delivery, _) = Delivery::start(no_store, "POST", &[]);
        delivery.next(Input::BodyRead { length: 2 });
        assert_eq!(
            delivery.next(Input::Normalized {
                provider: Provider::LimePhone,
                event_id: "limephone:x".into(),
            }),
            Action::CallHandler
        );
        let (answer, note) = answer_of(delivery.next(Input::Handled { status: Some(204) }));
        assert_eq!(answer.status, 204);
        assert!(note.is_some_and(|n| n.contains("running the handler again")));
    }

    #[test]
    fn a_provider_that_sends_no_retries_waits_longer_for_its_store_and_is_told_what_a_503_costs() {
        for (provider, deadline_ms) in [
            (Provider::Twilio, 7_500),
            (Provider::DidReseller, 7_500),
            (Provider::Lisoloo, DEFAULT_STORE_DEADLINE_MS),
            (Provider::Telnyx, DEFAULT_STORE_DEADLINE_MS),
        ] {
            let mut delivery = started(provider);
            let claim = delivery.next(Input::Normalized {
                provider,
                event_id: "x:e".into(),
            });
            assert!(
                matches!(claim, Action::Claim { deadline_ms: ms, .. } if ms == deadline_ms),
                "{provider:?} {claim:?}"
            );
            let (answer, note) = answer_of(
                delivery
                    .clone()
                    .next(Input::StoreFailed { timed_out: true }),
            );
            assert_eq!(answer.status, 503);
            let told = note.unwrap().contains("sends no retries");
            assert_eq!(told, deadline_ms == 7_500, "{provider:?}");
            delivery.next(Input::Claimed {
                state: "new".into(),
            });
            // The settling call keeps the short default: a claim of 7.5 s, the handler, then a
            // settle of 7.5 s more would answer past the provider's 15 s.
            let settle = delivery.next(Input::Handled { status: Some(503) });
            assert!(
                matches!(
                    settle,
                    Action::Release {
                        deadline_ms: DEFAULT_STORE_DEADLINE_MS,
                        ..
                    }
                ),
                "{provider:?} {settle:?}"
            );
            let policy = retry_policy(provider);
            // The claim waits at most half the provider's timeout; for a provider that sends no
            // retries, the claim and the settling call together leave the handler most of it.
            assert!(deadline_ms <= policy.timeout_secs * 500, "{provider:?}");
            if told {
                assert!(deadline_ms + DEFAULT_STORE_DEADLINE_MS <= policy.timeout_secs * 600);
            }
            let (_, note) = answer_of(delivery.next(Input::Settled));
            assert_eq!(
                note.unwrap().contains("sends no retries"),
                told,
                "{provider:?}"
            );
        }
        // A deadline configured is the deadline of every provider.
        let configured = Settings::new(None, 10, true, None, None, Some(250)).unwrap();
        let (mut delivery, _) = Delivery::start(configured, "POST", &[]);
        delivery.next(Input::BodyRead { length: 2 });
        let claim = delivery.next(Input::Normalized {
            provider: Provider::Twilio,
            event_id: "twilio:e".into(),
        });
        assert!(matches!(
            claim,
            Action::Claim {
                deadline_ms: 250,
                ..
            }
        ));
    }

    /// A Lisoloo delivery whose claim answered "new": its handler runs next.
    fn handling_lisoloo() -> Delivery {
        let mut delivery = started(Provider::Lisoloo);
        delivery.next(Input::Normalized {
            provider: Provider::Lisoloo,
            event_id: "lisoloo:e".into(),
        });
        let action = delivery.next(Input::Claimed {
            state: "new".into(),
        });
        assert_eq!(action, Action::CallHandler);
        delivery
    }

    #[test]
    fn a_status_the_provider_drops_the_event_on_is_explained() {
        let mut delivery = handling_lisoloo();
        let settle = delivery.next(Input::Handled { status: Some(429) });
        assert!(matches!(settle, Action::Complete { .. }), "{settle:?}");
        let (answer, note) = answer_of(delivery.next(Input::Settled));
        assert_eq!((answer.status, answer.log), (429, LogLevel::Warning));
        assert_eq!(
            answer.provider_action,
            Some(DeliveryResult::PermanentFailure)
        );
        assert!(note.is_some_and(|n| n.contains("lisoloo takes it as a permanent failure")));
    }

    #[test]
    fn a_handler_status_out_of_range_is_a_failed_handler_and_the_claim_is_released() {
        let delivery = handling_lisoloo();
        for status in [99, 600, -1, i64::MAX] {
            let mut attempt = delivery.clone();
            assert!(matches!(
                attempt.next(Input::Handled {
                    status: Some(status)
                }),
                Action::Release { .. }
            ));
            let (answer, _) = answer_of(attempt.next(Input::Settled));
            assert_eq!((answer.status, answer.code), (500, "handler_failed"));
        }
    }

    #[test]
    fn options_are_checked_when_the_receiver_is_built() {
        for (lease, ttl, deadline, option) in [
            (Some(0), None, None, "lease_secs"),
            (None, Some(0), None, "dedupe_ttl_secs"),
            (None, None, Some(0), "store_deadline_ms"),
            (None, None, Some(60_001), "store_deadline_ms"),
        ] {
            let error = Settings::new(None, 10, true, lease, ttl, deadline).unwrap_err();
            assert_eq!(error.code(), "invalid_option");
            assert!(error.to_string().contains(option));
        }
        // A named provider's retry schedule bounds the lease and the key's window.
        for (provider, lease, ttl, option) in [
            // Lisoloo redelivers for 4,350 s: a longer lease outlives every redelivery.
            (Provider::Lisoloo, Some(7200), None, "lease_secs"),
            (Provider::Lisoloo, Some(4350), None, "lease_secs"),
            // Shorter than the 5 s Lisoloo waits for an answer.
            (Provider::Lisoloo, Some(1), None, "lease_secs"),
            (Provider::Telnyx, Some(60), None, "lease_secs"),
            // Shorter than its 4,375 s retry horizon.
            (Provider::Lisoloo, None, Some(1), "dedupe_ttl_secs"),
            (Provider::Lisoloo, None, Some(3600), "dedupe_ttl_secs"),
        ] {
            let error = Settings::new(Some(provider), 10, true, lease, ttl, None).unwrap_err();
            assert_eq!(error.code(), "invalid_option", "{provider:?} {option}");
            assert!(error.to_string().contains(option));
        }
        for (provider, lease, ttl) in [
            (Provider::Lisoloo, Some(4349), Some(4375)),
            (Provider::Lisoloo, Some(5), None),
            (Provider::Telnyx, Some(29), Some(42)),
            // No redelivery to wait for: any lease from its timeout on.
            (Provider::Twilio, Some(86_400), Some(15)),
        ] {
            assert!(
                Settings::new(Some(provider), 10, true, lease, ttl, None).is_ok(),
                "{provider:?}"
            );
        }
        let configured = Settings::new(
            Some(Provider::DidReseller),
            10,
            true,
            Some(900),
            Some(3600),
            Some(250),
        );
        let (mut delivery, _) = Delivery::start(configured.unwrap(), "POST", &[]);
        delivery.next(Input::BodyRead { length: 2 });
        let claim = delivery.next(Input::Normalized {
            provider: Provider::DidReseller,
            event_id: "did_reseller:sha256:ab".into(),
        });
        assert_eq!(
            claim,
            Action::Claim {
                key: "did_reseller:sha256:ab".into(),
                lease_secs: 900,
                deadline_ms: 250
            }
        );
        delivery.next(Input::Claimed {
            state: "new".into(),
        });
        assert!(matches!(
            delivery.next(Input::Handled { status: None }),
            Action::Complete { ttl_secs: 3600, .. }
        ));
    }

    #[test]
    fn method_and_declared_length_are_checked_before_the_body_and_inputs_out_of_order_are_internal()
    {
        let (_, action) = Delivery::start(settings(Provider::Lisoloo), "GET", &[]);
        assert_eq!(answer_of(action).0.status, 405);
        let headers = [(String::from("Content-Length"), String::from("2048"))];
        let (_, action) = Delivery::start(settings(Provider::LimePhone), "POST", &headers);
        assert_eq!(answer_of(action).0.status, 413);
        // Lisoloo drops an event on a 413: over the receiver's cap is the receiver's fault.
        let (_, action) = Delivery::start(settings(Provider::Lisoloo), "POST", &headers);
        let (answer, _) = answer_of(action);
        assert_eq!(
            (answer.status, answer.code, answer.log),
            (500, "body_too_large", LogLevel::Error)
        );
        let mut delivery = started(Provider::Lisoloo);
        let (answer, note) = answer_of(delivery.next(Input::Settled));
        assert_eq!((answer.status, answer.code), (500, "internal"));
        assert!(note.is_some());
    }

    #[test]
    fn telnyx_texml_requests_are_acknowledged_in_texml_and_its_json_webhooks_in_json() {
        // TeXML reads a 2xx answer as its instructions, as Twilio does: a form-encoded Telnyx
        // request is TeXML's; Call Control and Messaging post JSON and ignore the answer's body.
        for (content_type, markup) in [
            ("application/x-www-form-urlencoded", true),
            ("Application/X-WWW-Form-Urlencoded; charset=utf-8", true),
            ("application/json", false),
        ] {
            let no_store = Settings::new(Some(Provider::Telnyx), 1024, false, None, None, None)
                .unwrap_or_else(|_| unreachable!("the defaults are valid"));
            let headers = [(String::from("Content-Type"), String::from(content_type))];
            let (mut delivery, _) = Delivery::start(no_store, "POST", &headers);
            delivery.next(Input::BodyRead { length: 2 });
            delivery.next(Input::Normalized {
                provider: Provider::Telnyx,
                event_id: "telnyx:x".into(),
            });
            let (answer, _) = answer_of(delivery.next(Input::Handled { status: None }));
            assert_eq!(
                (answer.status, answer.code),
                (200, "accepted"),
                "{content_type}"
            );
            assert_eq!(
                answer.body.ends_with("<Response/>"),
                markup,
                "{content_type}"
            );
            assert_eq!(
                crate::receive::answer_code_of(&answer.body).as_deref(),
                Some("accepted")
            );
        }
    }

    #[test]
    fn a_decoded_body_refused_for_its_bytes_is_a_body_that_is_gone_and_other_refusals_stay() {
        // express.text() of a chunked or gzipped delivery drops a UTF-8 BOM: the bytes verified
        // are not those signed. A 401 would make Lisoloo drop the event; 500 has it redelivered.
        for provider in [Provider::Lisoloo, Provider::LimePhone] {
            for (code, decoded, expected) in [
                ("signature_mismatch", true, (500, "raw_body_unavailable")),
                ("malformed_json", true, (500, "raw_body_unavailable")),
                ("invalid_payload", true, (500, "raw_body_unavailable")),
                ("signature_mismatch", false, (0, "signature_mismatch")),
                ("missing_signature", true, (0, "missing_signature")),
                (
                    "timestamp_out_of_tolerance",
                    true,
                    (0, "timestamp_out_of_tolerance"),
                ),
            ] {
                let (mut delivery, _) = Delivery::start(settings(provider), "POST", &[]);
                let read = if decoded {
                    Input::DecodedBodyRead { length: 385 }
                } else {
                    Input::BodyRead { length: 385 }
                };
                assert_eq!(delivery.next(read), Action::Normalize);
                let (answer, note) = answer_of(delivery.next(Input::Refused { code: code.into() }));
                if expected.0 == 0 {
                    assert_eq!(answer.code, expected.1, "{code} decoded {decoded}");
                    assert!(answer.status < 500 || answer.code != "raw_body_unavailable");
                } else {
                    assert_eq!((answer.status, answer.code), expected, "{code}");
                    assert!(note.is_some_and(|note| note.contains("raw body")), "{code}");
                }
            }
        }
        let read = |json: serde_json::Value| Input::try_from(json);
        assert_eq!(
            read(serde_json::json!({"input": "body_read", "length": 3, "decoded": true})),
            Ok(Input::DecodedBodyRead { length: 3 })
        );
        assert_eq!(
            read(serde_json::json!({"input": "body_read", "length": 3, "decoded": false})),
            Ok(Input::BodyRead { length: 3 })
        );
        assert!(
            read(serde_json::json!({"input": "body_read", "length": 3, "decoded": 1})).is_err()
        );
    }

    #[test]
    fn an_empty_body_where_a_length_is_declared_was_consumed_first_and_is_retried() {
        // A middleware that streamed the body (Starlette's BaseHTTPMiddleware, a form parser)
        // leaves telhook no bytes where the request declares some: verifying them would answer
        // 400/401, on which Lisoloo drops the event. A whole body shorter than its declared
        // length (express.text() strips a BOM: 385 of 388 bytes; a 60-byte body gzipped to 77
        // and inflated by aiohttp or Express) is read as it is.
        let headers = [(String::from("content-length"), String::from("388"))];
        // (Lisoloo's body over the cap is 500 too: it drops an event on a 413.)
        for (length, expected) in [(0, 500), (1, 0), (385, 0), (388, 0), (1024, 0), (1025, 500)] {
            let (mut delivery, _) = Delivery::start(settings(Provider::Lisoloo), "POST", &headers);
            let action = delivery.next(Input::BodyRead { length });
            if expected == 0 {
                assert_eq!(action, Action::Normalize, "{length}");
                continue;
            }
            let (answer, note) = answer_of(action);
            assert_eq!(answer.status, expected, "{length}");
            if length == 0 {
                assert_eq!(answer.code, "raw_body_unavailable");
                assert!(note.unwrap().contains("Content-Length"));
            }
        }
        // No declared length (chunked), or a declared 0: an empty body is read.
        let zero = [(String::from("content-length"), String::from("0"))];
        for headers in [&[][..], &zero[..]] {
            let (mut delivery, _) = Delivery::start(settings(Provider::Lisoloo), "POST", headers);
            assert_eq!(
                delivery.next(Input::BodyRead { length: 0 }),
                Action::Normalize
            );
        }
        let read = |json: &str| serde_json::from_str::<Input>(json);
        assert!(read(r#"{"input":"body_read"}"#).is_err());
        assert!(read(r#"{"input":"body_read","length":-1}"#).is_err());
    }

    #[test]
    fn a_built_request_starts_as_its_method_and_headers_do_whatever_body_it_holds() {
        // The Rust adapters start with the body already in hand: the start step judges the
        // declared length only, and the read step the body, as when the two come apart.
        let over_the_cap = alloc::vec![b'x'; 2048];
        let request = |method: &str, headers: &[(String, String)]| crate::WebhookRequest {
            method: method.into(),
            url: None,
            headers: headers.to_vec(),
            body: over_the_cap.clone().into(),
        };
        let held = request("POST", &[]);
        let (mut delivery, action) = Delivery::start_request(settings(Provider::Lisoloo), &held);
        assert_eq!(action, Action::ReadBody { max_bytes: 1024 });
        let (answer, _) = answer_of(delivery.next(Input::BodyTooLarge));
        assert_eq!(answer.status, 500); // Lisoloo: see above
        for (method, length, status) in [("GET", "10", 405), ("POST", "2048", 500)] {
            let headers = alloc::vec![(String::from("content-length"), String::from(length))];
            let built = request(method, &headers);
            let (_, from_built) = Delivery::start_request(settings(Provider::Lisoloo), &built);
            let (_, from_parts) = Delivery::start(settings(Provider::Lisoloo), method, &headers);
            assert_eq!(from_built, from_parts);
            assert_eq!(answer_of(from_built).0.status, status);
        }
    }
}
