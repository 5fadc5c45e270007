//! telhook-core: verify, parse and normalize webhooks from telephony and SMS providers.
//!
//! `#![no_std]` + `alloc`, so the same code runs natively, in WebAssembly and under Python.
//! The clock is never read here: `now` (UNIX seconds) is always a parameter.
//!
//! ```
//! use telhook_core::{normalize_event, Credentials, Provider, WebhookRequest};
//!
//! let body = br#"{"event_id":"f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c","event_type":"sms.delivered",
//!   "timestamp":"2026-05-27T10:15:08Z","message_id":"507f1f77bcf86cd799439011",
//!   "data":{"recipient_phone":"+4512345678"}}"#;
//! let request = WebhookRequest::post(
//!     vec![("Authorization".into(), telhook_core::verify::basic::header_value("hook", "s3cret"))],
//!     body.to_vec(),
//! );
//! let credentials = Credentials::none().with_basic("hook", "s3cret");
//! let event = normalize_event(Some(Provider::Lisoloo), &request, &credentials, 1_780_000_000).unwrap();
//! assert_eq!(event.id, "lisoloo:f8a3b7c1-2e4d-4a9b-9d8f-7c6e5b4a3d2c");
//! assert_eq!(event.to.as_deref(), Some("+4512345678"));
//! ```
#![no_std]
#![forbid(unsafe_code)]
// Without `kit`, the providers' sending side (signers, sample templates) is compiled but unused:
// it is what the receiver's wasm module leaves out.
#![cfg_attr(not(feature = "kit"), allow(dead_code, unused_imports))]

extern crate alloc;

#[cfg(feature = "binding-api")]
pub mod api;
pub(crate) mod body_encoding;
pub mod credentials;
pub mod error;
pub mod event;
pub(crate) mod fields;
pub mod inbox;
pub(crate) mod json_read;
pub(crate) mod json_text;
pub mod kit;
pub mod ledger;
pub mod phone;
pub mod provider;
pub mod providers;
pub mod receive;
pub mod redact;
pub mod request;
pub mod retry;
#[cfg(feature = "kit")]
pub mod sample;
#[cfg(feature = "kit")]
pub mod sign;
pub mod time;
pub mod verify;

/// The repository README's Rust examples run as doctests, so the manual cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct RepositoryReadmeDoctests;

pub use credentials::{BasicCredential, Credentials, PublicKey, Secret};
pub use error::{Error, ErrorCode, ErrorKind, Result};
pub use event::{status_wins, DeliveryStatus, EventType, NormalizedEvent};
pub use ledger::{LedgerState, StatusUpdate, Verdict};
pub use provider::Provider;
#[cfg(feature = "inspect")]
pub use providers::parse;
pub use providers::{detect_provider, Payload};
pub use receive::{decide, Answer, ClaimState, DedupeAction, HandlerOutcome, Step};
pub use request::{Body, Options, WebhookRequest, DEFAULT_MAX_BODY_BYTES};
pub use retry::{ack, retry_policy, Ack, DeliveryResult, Outcome, RetryPolicy};

/// The crate README's example, run as a doctest so that the crates.io page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Verifies `request` for `provider` (or the detected one) without parsing it. A named
/// provider's body shape is not read here: [`normalize_event`] refuses a body of another
/// provider's shape (`ambiguous_provider`), detection refuses it here too.
pub fn verify(
    provider: Option<Provider>,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<Provider> {
    let (provider, request) = preflight(provider, request, credentials, &Options::default())?;
    providers::verify_validated(provider, &request, credentials, now)?;
    Ok(provider)
}

/// The one-call entry point: checks, verification, parsing and normalization.
pub fn normalize_event(
    provider: Option<Provider>,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<NormalizedEvent> {
    normalize_event_with(provider, request, credentials, now, &Options::default())
}

/// [`normalize_event`] with explicit [`Options`].
pub fn normalize_event_with(
    provider: Option<Provider>,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
    options: &Options,
) -> Result<NormalizedEvent> {
    check_now(now)?;
    let (provider, request) = preflight(provider, request, credentials, options)?;
    checked_event(provider, &request, credentials, None, now, options)
}

/// [`normalize_event_with`], which also puts in `inflated` the body it read when the request's
/// was gzipped: the receive flow gives that to the handler's request, without inflating it a
/// second time.
///
/// Its credentials are a receiver's, already checked for `provider` ([`preflight_checked`]).
#[cfg(feature = "binding-api")]
pub(crate) fn normalize_keeping(
    provider: Option<Provider>,
    request: &WebhookRequest,
    (credentials, prepared): (&Credentials, &redact::PreparedValues),
    now: i64,
    options: &Options,
    inflated: &mut Option<Body>,
) -> Result<NormalizedEvent> {
    check_now(now)?;
    let (provider, mut request) = preflight_checked(provider, request, credentials, options)?;
    let normalized = checked_event(
        provider,
        &request,
        credentials,
        Some(prepared),
        now,
        options,
    );
    if let alloc::borrow::Cow::Owned(read) = &mut request {
        *inflated = Some(core::mem::take(&mut read.body));
    }
    normalized
}

/// What follows [`preflight`]: verification, then the event. Apart, so that
/// [`normalize_event_with`] returns it as it comes (a shared function that also kept the
/// inflated body cost every call copies of the event: +0.5 k instructions).
#[inline(never)]
fn checked_event(
    provider: Provider,
    request: &WebhookRequest,
    credentials: &Credentials,
    prepared: Option<&redact::PreparedValues>,
    now: i64,
    options: &Options,
) -> Result<NormalizedEvent> {
    let received_at = time::from_unix_seconds(now, "now")?;
    let request = options.public_request(request)?;
    let signed_apart = providers::verify_validated(provider, &request, credentials, now)?;
    providers::normalize(
        provider,
        &request,
        received_at,
        credentials,
        prepared,
        signed_apart,
    )
}

/// [`normalize_event_with`] on the JSON forms of its inputs (the conformance vectors' shape):
/// provider name or `null` to detect, request, credentials, options or `null`.
pub fn normalize_json(
    provider: &serde_json::Value,
    request: serde_json::Value,
    credentials: serde_json::Value,
    now: i64,
    options: serde_json::Value,
) -> Result<NormalizedEvent> {
    let provider = Provider::from_json(provider)?;
    let request = WebhookRequest::from_json_value(request)?;
    let credentials = Credentials::from_json_value(credentials)?;
    let options = Options::from_json_value(options)?;
    normalize_event_with(provider, &request, &credentials, now, &options)
}

/// The earliest and latest clock readings accepted: 2000-01-01 and 9999-12-31T23:59:59Z.
const PLAUSIBLE_NOW: core::ops::RangeInclusive<i64> = 946_684_800..=253_402_300_799;

/// Checks that `now` reads like UNIX seconds. A clock in milliseconds (JavaScript's
/// `Date.now()`) or seconds since process start is the receiver's misconfiguration: it must
/// be a configuration error (a 5xx, so the provider retries), never a 4xx that a provider such
/// as Lisoloo takes as "drop this event". Adapters call it once at construction as well.
pub fn check_now(now: i64) -> Result<()> {
    if PLAUSIBLE_NOW.contains(&now) {
        Ok(())
    } else {
        Err(Error::InvalidClock)
    }
}

/// Checks a receiver's configuration once, when it is built, so that a missing or unusable
/// credential fails loudly at start-up instead of answering 500 to every delivery.
///
/// For a named provider this runs the provider's own verification on an empty request: each
/// provider checks that its credentials are configured before it looks at the request, so the
/// provider file stays the one place that knows which schemes it needs. Only configuration
/// errors count; the empty request's own failures are expected and ignored.
pub fn check_configuration(provider: Option<Provider>, credentials: &Credentials) -> Result<()> {
    if credentials.skips_verification() {
        return Ok(());
    }
    check_credentials(provider, credentials)?;
    // Detection: every provider that has an entry of per-provider credentials is probed.
    let probed: alloc::vec::Vec<Provider> = match provider {
        Some(provider) => alloc::vec![provider],
        None => Provider::ALL
            .into_iter()
            .filter(|p| credentials.is_per_provider() && credentials.for_provider(*p).is_some())
            .collect(),
    };
    let probe = WebhookRequest::post(alloc::vec::Vec::new(), alloc::vec::Vec::new());
    for provider in probed {
        match providers::verify(provider, &probe, credentials, *PLAUSIBLE_NOW.start()) {
            Err(error) if error.kind() == ErrorKind::Configuration => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

/// [`Credentials::check_for`], and for a named provider with one flat set, only schemes that
/// provider reads ([`providers::check_only_its_schemes`]).
pub(crate) fn check_credentials(
    provider: Option<Provider>,
    credentials: &Credentials,
) -> Result<()> {
    credentials.check_for(provider)?;
    match provider {
        Some(provider) if !credentials.is_per_provider() => {
            providers::check_only_its_schemes(provider, credentials)
        }
        _ => Ok(()),
    }
}

/// Cheap checks that come before any cryptography: configuration, method, size, and which
/// provider the request is read as (never one that its headers or body contradict). Returns
/// that provider and the request to verify and read: the one given, or with its gzipped body
/// inflated (under the same cap).
fn preflight<'a>(
    provider: Option<Provider>,
    request: &'a WebhookRequest,
    credentials: &Credentials,
    options: &Options,
) -> Result<(Provider, alloc::borrow::Cow<'a, WebhookRequest>)> {
    check_credentials(provider, credentials)?;
    preflight_checked(provider, request, credentials, options)
}

/// [`preflight`] for credentials already checked for `provider`: a receiver's, checked when it
/// was built and never changed after (the check read every secret's bytes on every request:
/// ~0.7 k instructions, 2-3 % of a small call).
fn preflight_checked<'a>(
    provider: Option<Provider>,
    request: &'a WebhookRequest,
    credentials: &Credentials,
    options: &Options,
) -> Result<(Provider, alloc::borrow::Cow<'a, WebhookRequest>)> {
    options.check()?;
    request.check_method(providers::methods(provider, credentials))?;
    request.check_size(options.max_body_bytes)?;
    let request = match body_encoding::inflated_body(request, options.max_body_bytes)? {
        Some(body) => alloc::borrow::Cow::Owned(WebhookRequest {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: body.into(),
        }),
        None => alloc::borrow::Cow::Borrowed(request),
    };
    let provider = match provider {
        Some(provider) => {
            providers::check_headers_agree(provider, &request)?;
            provider
        }
        None => providers::detect_provider_by(&request, &request.body)?,
    };
    // Detected: the method must be one that provider sends.
    request.check_method(providers::methods(Some(provider), credentials))?;
    Ok((provider, request))
}
