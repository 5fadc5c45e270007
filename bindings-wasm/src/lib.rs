//! wasm-bindgen glue over telhook-core: conversion only, no rules.
//!
//! Data crosses the boundary as JSON text, not through serde-wasm-bindgen. Measured in Node 20
//! on the five bench payloads, same build, same process: returning the event as JSON text and
//! `JSON.parse`-ing it took 10.4-18.2 µs per call, building it with serde-wasm-bindgen
//! (json_compatible) 12.6-27.6 µs — 1.16-1.52x slower, most on the largest event: one call into
//! V8's native parser beats one boundary crossing per value. Inputs are already strings or
//! bytes (headers as a flat `[name, value, …]` array, the body as a `Uint8Array`), so they need
//! no serde at all. The body is taken as `Vec<u8>`: wasm-bindgen copies the `Uint8Array` into
//! an owned buffer that moves into the request (one copy; a `&[u8]` would be copied in, then
//! copied again by `to_vec`).
#![forbid(unsafe_code)]

use telhook_core::{
    credentials::Credentials, event::DeliveryStatus, providers::Provider, request::WebhookRequest,
    wire, Error, Options, Outcome,
};
use wasm_bindgen::prelude::*;

fn js_error(error: &Error) -> JsValue {
    JsValue::from_str(&serde_json::to_string(error).unwrap_or_default())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|_| {
        js_error(&Error::InvalidRequest {
            reason: "serialization failed".into(),
        })
    })
}

fn provider_of(name: Option<String>) -> Result<Option<Provider>, JsValue> {
    name.map(|n| Provider::from_name(&n))
        .transpose()
        .map_err(|e| js_error(&e))
}

fn request_of(
    method: String,
    url: Option<String>,
    flat_headers: Vec<String>,
    body: Vec<u8>,
) -> WebhookRequest {
    let mut headers = Vec::with_capacity(flat_headers.len() / 2);
    let mut items = flat_headers.into_iter();
    while let (Some(name), Some(value)) = (items.next(), items.next()) {
        headers.push((name, value));
    }
    WebhookRequest {
        method,
        url,
        headers,
        body,
    }
}

fn now_of(now: f64) -> Result<i64, JsValue> {
    if now.is_finite() && now.fract() == 0.0 && now.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        Ok(now as i64)
    } else {
        // A fractional or absurd clock is the receiver's misconfiguration (5xx), not a bad
        // request (a 4xx would make Lisoloo drop the event).
        Err(js_error(&Error::InvalidClock))
    }
}

/// A configured receiver: provider (or detection), parsed credentials and options, reused
/// across requests so credentials are parsed once.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Receiver {
    provider: Option<Provider>,
    credentials: Credentials,
    options: Options,
}

#[wasm_bindgen]
impl Receiver {
    /// `credentials_json` and `options_json` are the JSON forms (`"null"` for none/defaults).
    #[wasm_bindgen(constructor)]
    pub fn new(
        provider: Option<String>,
        credentials_json: &str,
        options_json: &str,
    ) -> Result<Receiver, JsValue> {
        let parse = |text: &str| {
            serde_json::from_str::<serde_json::Value>(text).map_err(|_| {
                js_error(&Error::InvalidRequest {
                    reason: "expected JSON".into(),
                })
            })
        };
        let provider = provider_of(provider)?;
        let credentials =
            Credentials::from_json_value(parse(credentials_json)?).map_err(|e| js_error(&e))?;
        telhook_core::check_configuration(provider, &credentials).map_err(|e| js_error(&e))?;
        Ok(Receiver {
            provider,
            credentials,
            options: wire::options_from_json(parse(options_json)?).map_err(|e| js_error(&e))?,
        })
    }

    /// Verifies and normalizes; returns the event as JSON text.
    pub fn normalize(
        &self,
        method: String,
        url: Option<String>,
        headers: Vec<String>,
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        let request = request_of(method, url, headers, body);
        let event = telhook_core::normalize_event_with(
            self.provider,
            &request,
            &self.credentials,
            now_of(now)?,
            &self.options,
        )
        .map_err(|e| js_error(&e))?;
        to_json(&event)
    }

    /// The body cap in bytes (`max_body_bytes`, 1 MiB unless configured): adapters stop
    /// reading a request body past it, so it is never held whole.
    #[wasm_bindgen(getter = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        f64::from(u32::try_from(self.options.max_body_bytes).unwrap_or(u32::MAX))
    }

    /// Verifies only; returns the provider's name.
    pub fn verify(
        &self,
        method: String,
        url: Option<String>,
        headers: Vec<String>,
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        let request = request_of(method, url, headers, body);
        telhook_core::verify(self.provider, &request, &self.credentials, now_of(now)?)
            .map(|p| p.name().into())
            .map_err(|e| js_error(&e))
    }
}

/// Parses a body into the provider's typed payload (no verification), as JSON text.
#[wasm_bindgen]
pub fn parse(provider: String, body: &[u8]) -> Result<String, JsValue> {
    let provider = Provider::from_name(&provider).map_err(|e| js_error(&e))?;
    to_json(&telhook_core::parse(provider, body).map_err(|e| js_error(&e))?)
}

#[wasm_bindgen(js_name = detectProvider)]
pub fn detect_provider(
    method: String,
    url: Option<String>,
    headers: Vec<String>,
    body: Vec<u8>,
) -> Result<String, JsValue> {
    telhook_core::detect_provider(&request_of(method, url, headers, body))
        .map(|p| p.name().into())
        .map_err(|e| js_error(&e))
}

#[wasm_bindgen(js_name = retryPolicy)]
pub fn retry_policy(provider: String) -> Result<String, JsValue> {
    let provider = Provider::from_name(&provider).map_err(|e| js_error(&e))?;
    to_json(&telhook_core::retry_policy(provider))
}

/// `outcome`: accepted | duplicate | verification_failed | malformed | internal_error.
#[wasm_bindgen]
pub fn ack(provider: String, outcome: String) -> Result<String, JsValue> {
    let provider = Provider::from_name(&provider).map_err(|e| js_error(&e))?;
    let outcome: Outcome =
        serde_json::from_value(serde_json::Value::String(outcome)).map_err(|_| {
            js_error(&Error::InvalidRequest {
                reason: "unknown outcome".into(),
            })
        })?;
    to_json(&telhook_core::ack(provider, outcome))
}

/// Whether `incoming` may replace the stored `current` delivery status (`null` = none yet).
#[wasm_bindgen(js_name = statusWins)]
pub fn status_wins(current: Option<String>, incoming: String) -> Result<bool, JsValue> {
    let status = |name: &str| {
        DeliveryStatus::from_name(name).ok_or_else(|| {
            js_error(&Error::InvalidRequest {
                reason: "unknown delivery status".into(),
            })
        })
    };
    let current = current.as_deref().map(status).transpose()?;
    Ok(telhook_core::status_wins(current, status(&incoming)?))
}

/// RFC 3339 / ISO 8601 / UNIX-seconds text to UNIX seconds (for `now` given as text).
#[wasm_bindgen(js_name = parseTime)]
pub fn parse_time(text: &str) -> Result<f64, JsValue> {
    #[allow(clippy::cast_precision_loss)]
    telhook_core::time::parse_unix_seconds(text, "now")
        .map(|s| s as f64)
        .map_err(|e| js_error(&e))
}

/// A raw HTTP/1.1 capture as the request's JSON form (`headers` as pairs, `body_base64`).
#[wasm_bindgen(js_name = parseHttpCapture)]
pub fn parse_http_capture(capture: &[u8]) -> Result<String, JsValue> {
    let request = WebhookRequest::from_http1(capture).map_err(|e| js_error(&e))?;
    to_json(&request.to_json_value())
}

/// The receive contract: the answer (JSON text) to the step (JSON text) that ended a delivery.
#[wasm_bindgen]
pub fn decide(step_json: &str) -> Result<String, JsValue> {
    to_json(&telhook_core::receive::decide_json(step_json.as_bytes()).map_err(|e| js_error(&e))?)
}

/// Throws `invalid_clock` unless `now` reads like UNIX seconds (a clock in milliseconds fails).
#[wasm_bindgen(js_name = checkNow)]
pub fn check_now(now: f64) -> Result<(), JsValue> {
    telhook_core::check_now(now_of(now)?).map_err(|e| js_error(&e))
}

/// The core's `raw_body_unavailable` error in its thrown form (JSON text): a body parser
/// consumed the request stream first. Returned, not thrown, so the adapter can log and answer it.
#[wasm_bindgen(js_name = rawBodyUnavailable)]
pub fn raw_body_unavailable() -> String {
    serde_json::to_string(&Error::RawBodyUnavailable).unwrap_or_default()
}

/// Test kit: the request `provider` would send with `body`, as JSON text
/// (`{method, url, headers: [[name, value]], body_base64}`).
#[wasm_bindgen(js_name = signRequest)]
pub fn sign_request(
    provider: String,
    body: &[u8],
    credentials_json: &str,
    now: f64,
    scheme: Option<String>,
) -> Result<String, JsValue> {
    let credentials = serde_json::from_str(credentials_json).map_err(|_| {
        js_error(&Error::InvalidRequest {
            reason: "credentials: expected JSON".into(),
        })
    })?;
    let request = wire::sign_json(
        &provider,
        body,
        credentials,
        now_of(now)?,
        scheme.as_deref(),
    )
    .map_err(|e| js_error(&e))?;
    to_json(&request)
}

/// Test kit: a realistic body for one of the provider's event kinds.
#[wasm_bindgen(js_name = sampleBody)]
pub fn sample_body(
    provider: String,
    event_kind: String,
    overrides_json: &str,
) -> Result<Vec<u8>, JsValue> {
    wire::sample_json(&provider, &event_kind, overrides_json).map_err(|e| js_error(&e))
}

/// Test kit: the event kinds `sampleBody` knows, as a JSON array (the first is the default).
#[wasm_bindgen(js_name = eventKinds)]
pub fn event_kinds(provider: String) -> Result<String, JsValue> {
    to_json(&wire::event_kind_names(&provider).map_err(|e| js_error(&e))?)
}

/// The status ledger's merge rule: `{verdict, state}` (JSON text) for the stored state (JSON
/// text, `"null"` for none) and a normalized event (JSON text).
#[wasm_bindgen(js_name = ledgerApply)]
pub fn ledger_apply(state_json: &str, event_json: &str) -> Result<String, JsValue> {
    to_json(
        &telhook_core::ledger::apply_json(state_json.as_bytes(), event_json.as_bytes())
            .map_err(|e| js_error(&e))?,
    )
}

/// The flat values a store writes for a normalized event (JSON text in and out).
#[wasm_bindgen(js_name = ledgerUpdate)]
pub fn ledger_update(event_json: &str) -> Result<String, JsValue> {
    to_json(
        &telhook_core::StatusUpdate::from_event_json(event_json.as_bytes())
            .map_err(|e| js_error(&e))?,
    )
}

/// The ledger's write for each store (SQLite/D1, PostgreSQL, Redis) and its parameter names.
#[wasm_bindgen(js_name = ledgerStores)]
pub fn ledger_stores() -> Result<String, JsValue> {
    to_json(&telhook_core::ledger::stores::STORE_TEXTS)
}
