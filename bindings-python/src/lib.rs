//! PyO3 glue over telhook-core: conversion only, no rules. The pure-Python package
//! `telhook` (python/telhook) wraps this `telhook._core` extension.
//!
//! The event crosses as Python objects built directly from the core's structs (see
//! `to_python`): writing JSON text for `json.loads` to read again cost more than the core call
//! itself (gatewayapi bench payload: 6.5 µs core, 7.1 µs `json.loads`). The other, colder
//! results still cross as JSON text. Errors are raised as the exception classes defined in
//! `telhook.errors`.
#![forbid(unsafe_code)]

mod to_python;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use telhook_core::{
    credentials::Credentials, event::DeliveryStatus, providers::Provider, request::WebhookRequest,
    Error, ErrorKind, Options, Outcome,
};

/// Raises the `telhook.errors` class for the error's kind, carrying its stable code.
fn to_py_err(error: &Error) -> PyErr {
    Python::attach(|py| {
        let (class_name, kind) = match error.kind() {
            ErrorKind::Verification => ("VerificationError", "verification"),
            ErrorKind::Parse => ("ParseError", "parse"),
            ErrorKind::Configuration => ("ConfigurationError", "configuration"),
            ErrorKind::Request => ("RequestError", "request"),
        };
        let message = error.to_string();
        let raised = py
            .import("telhook.errors")
            .and_then(|module| module.getattr(class_name))
            .and_then(|class| class.call1((message.clone(), error.code(), kind)));
        match raised {
            Ok(instance) => PyErr::from_value(instance),
            Err(_) => PyValueError::new_err(format!("{}: {message}", error.code())),
        }
    })
}

fn invalid(reason: &str) -> PyErr {
    to_py_err(&Error::InvalidRequest {
        reason: reason.into(),
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|_| invalid("serialization failed"))
}

fn provider_of(name: Option<&str>) -> PyResult<Option<Provider>> {
    name.map(Provider::from_name)
        .transpose()
        .map_err(|e| to_py_err(&e))
}

/// Bodies from this size on are verified and normalized with the GIL released, so that other
/// Python threads run meanwhile (HMAC over 16 KiB is ~10 µs; releasing and re-taking the GIL
/// costs well under 1 µs, more than it saves on a small body).
const RELEASE_GIL_FROM_BYTES: usize = 16 * 1024;

/// The headers as pairs. A dict of str to str, or a list of (str, str) tuples — what the
/// adapters and most callers pass — is read here directly; anything else (a Mapping,
/// list values, None, non-str) goes through `telhook._header_pairs`, the one definition of
/// how header shapes convert.
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Some(pairs) = exact_str_pairs(headers)? {
        return Ok(pairs);
    }
    static CONVERT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = headers.py();
    let convert = CONVERT.get_or_try_init(py, || {
        py.import("telhook")?
            .getattr("_header_pairs")
            .map(Bound::unbind)
    })?;
    convert.bind(py).call1((headers,))?.extract()
}

fn exact_str_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Option<Vec<(String, String)>>> {
    let text = |item: &Bound<'_, PyAny>| -> PyResult<Option<String>> {
        match item.cast_exact::<PyString>() {
            Ok(text) => Ok(Some(text.to_cow()?.into_owned())),
            Err(_) => Ok(None),
        }
    };
    let mut pairs = Vec::new();
    if let Ok(dict) = headers.cast_exact::<PyDict>() {
        pairs.reserve(dict.len());
        for (name, value) in dict.iter() {
            match (text(&name)?, text(&value)?) {
                (Some(name), Some(value)) => pairs.push((name, value)),
                _ => return Ok(None),
            }
        }
    } else if let Ok(list) = headers.cast_exact::<PyList>() {
        pairs.reserve(list.len());
        for item in list.iter() {
            let Ok(pair) = item.cast_exact::<PyTuple>() else {
                return Ok(None);
            };
            if pair.len() != 2 {
                return Ok(None);
            }
            match (text(&pair.get_item(0)?)?, text(&pair.get_item(1)?)?) {
                (Some(name), Some(value)) => pairs.push((name, value)),
                _ => return Ok(None),
            }
        }
    } else {
        return Ok(None);
    }
    Ok(Some(pairs))
}

fn request_of(
    method: &str,
    url: Option<&str>,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        url: url.map(Into::into),
        headers,
        body: body.to_vec(),
    }
}

/// A configured receiver: credentials parsed once, reused for every request.
#[pyclass(frozen, module = "telhook._core")]
struct Receiver {
    provider: Option<Provider>,
    credentials: Credentials,
    options: Options,
}

#[pymethods]
impl Receiver {
    #[new]
    #[pyo3(signature = (provider, credentials_json, max_body_bytes = None))]
    fn new(
        provider: Option<&str>,
        credentials_json: &str,
        max_body_bytes: Option<usize>,
    ) -> PyResult<Self> {
        let value: serde_json::Value = serde_json::from_str(credentials_json)
            .map_err(|_| invalid("credentials must be JSON"))?;
        let mut options = Options::default();
        if let Some(limit) = max_body_bytes {
            options.max_body_bytes = limit;
        }
        let provider = provider_of(provider)?;
        let credentials = Credentials::from_json_value(value).map_err(|e| to_py_err(&e))?;
        telhook_core::check_configuration(provider, &credentials).map_err(|e| to_py_err(&e))?;
        Ok(Receiver {
            provider,
            credentials,
            options,
        })
    }

    /// Verifies and normalizes; returns the event as a dict (what `json.loads` of its JSON
    /// gives).
    fn normalize<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: Option<&str>,
        headers: &Bound<'py, PyAny>,
        body: &[u8],
        now: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_of(method, url, header_pairs(headers)?, body);
        let normalize = || {
            telhook_core::normalize_event_with(
                self.provider,
                &request,
                &self.credentials,
                now,
                &self.options,
            )
        };
        let event = if body.len() >= RELEASE_GIL_FROM_BYTES {
            py.detach(normalize)
        } else {
            normalize()
        }
        .map_err(|e| to_py_err(&e))?;
        to_python::to_python(py, &event)
    }

    /// Verifies only; returns the provider's name.
    fn verify(
        &self,
        py: Python<'_>,
        method: &str,
        url: Option<&str>,
        headers: &Bound<'_, PyAny>,
        body: &[u8],
        now: i64,
    ) -> PyResult<&'static str> {
        let request = request_of(method, url, header_pairs(headers)?, body);
        let verify = || telhook_core::verify(self.provider, &request, &self.credentials, now);
        if body.len() >= RELEASE_GIL_FROM_BYTES {
            py.detach(verify)
        } else {
            verify()
        }
        .map(Provider::name)
        .map_err(|e| to_py_err(&e))
    }

    /// The body cap in bytes (the core's default unless set): adapters enforce it while
    /// reading a streamed body, before the core sees it.
    #[getter]
    fn max_body_bytes(&self) -> usize {
        self.options.max_body_bytes
    }

    fn __repr__(&self) -> String {
        // Credentials' Debug shows counts only, never a secret.
        let provider = self
            .provider
            .map_or_else(|| "None".to_owned(), |p| format!("{:?}", p.name()));
        format!(
            "Receiver(provider={provider}, credentials={:?})",
            self.credentials
        )
    }
}

#[pyfunction]
fn parse(provider: &str, body: &[u8]) -> PyResult<String> {
    let provider = Provider::from_name(provider).map_err(|e| to_py_err(&e))?;
    to_json(&telhook_core::parse(provider, body).map_err(|e| to_py_err(&e))?)
}

#[pyfunction]
#[pyo3(signature = (method, url, headers, body))]
fn detect_provider(
    method: &str,
    url: Option<&str>,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> PyResult<&'static str> {
    telhook_core::detect_provider(&request_of(method, url, headers, body))
        .map(Provider::name)
        .map_err(|e| to_py_err(&e))
}

#[pyfunction]
fn retry_policy(provider: &str) -> PyResult<String> {
    let provider = Provider::from_name(provider).map_err(|e| to_py_err(&e))?;
    to_json(&telhook_core::retry_policy(provider))
}

#[pyfunction]
fn ack(provider: &str, outcome: &str) -> PyResult<String> {
    let provider = Provider::from_name(provider).map_err(|e| to_py_err(&e))?;
    let outcome: Outcome = serde_json::from_value(serde_json::Value::String(outcome.into()))
        .map_err(|_| invalid("outcome must be accepted, duplicate, verification_failed, malformed or internal_error"))?;
    to_json(&telhook_core::ack(provider, outcome))
}

/// The HTTP status for an error of `kind` (verification, parse, configuration, request).
#[pyfunction]
fn ack_status_for_error(kind: &str) -> PyResult<u16> {
    let kind: ErrorKind = serde_json::from_value(serde_json::Value::String(kind.into()))
        .map_err(|_| invalid("unknown error kind"))?;
    Ok(telhook_core::retry::ack_status(Outcome::from_kind(kind)))
}

#[pyfunction]
#[pyo3(signature = (current, incoming))]
fn status_wins(current: Option<&str>, incoming: &str) -> PyResult<bool> {
    let status = |name: &str| {
        DeliveryStatus::from_name(name).ok_or_else(|| invalid("unknown delivery status"))
    };
    let current = current.map(status).transpose()?;
    Ok(telhook_core::status_wins(current, status(incoming)?))
}

#[pyfunction]
fn parse_time(text: &str) -> PyResult<i64> {
    telhook_core::time::parse_unix_seconds(text, "now").map_err(|e| to_py_err(&e))
}

/// A raw HTTP/1.1 capture as the request's JSON form (`headers` as pairs, `body_base64`).
#[pyfunction]
fn parse_http_capture(capture: &[u8]) -> PyResult<String> {
    let request = WebhookRequest::from_http1(capture).map_err(|e| to_py_err(&e))?;
    to_json(&request.to_json_value())
}

/// The receive contract: the answer (JSON) to the step (JSON) that ended a delivery.
#[pyfunction]
fn decide(step_json: &str) -> PyResult<String> {
    to_json(&telhook_core::receive::decide_json(step_json.as_bytes()).map_err(|e| to_py_err(&e))?)
}

/// Raises `ConfigurationError` (`invalid_clock`) unless `now` reads like UNIX seconds.
#[pyfunction]
fn check_now(now: i64) -> PyResult<()> {
    telhook_core::check_now(now).map_err(|e| to_py_err(&e))
}

/// Test kit: the request `provider` would send with `body`, as the JSON form.
#[pyfunction]
#[pyo3(signature = (provider, body, credentials_json, now, scheme = None))]
fn sign(
    provider: &str,
    body: &[u8],
    credentials_json: &str,
    now: i64,
    scheme: Option<&str>,
) -> PyResult<String> {
    let credentials = serde_json::from_str(credentials_json)
        .map_err(|_| invalid("credentials: expected JSON"))?;
    to_json(
        &telhook_core::wire::sign_json(provider, body, credentials, now, scheme)
            .map_err(|e| to_py_err(&e))?,
    )
}

/// Test kit: a realistic body for one of the provider's event kinds.
#[pyfunction]
fn sample<'py>(
    py: Python<'py>,
    provider: &str,
    event_kind: &str,
    overrides_json: &str,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let body = telhook_core::wire::sample_json(provider, event_kind, overrides_json)
        .map_err(|e| to_py_err(&e))?;
    Ok(pyo3::types::PyBytes::new(py, &body))
}

/// Test kit: the event kinds `sample` knows (the first is the default).
#[pyfunction]
fn event_kinds(provider: &str) -> PyResult<Vec<&'static str>> {
    telhook_core::wire::event_kind_names(provider).map_err(|e| to_py_err(&e))
}

/// The status ledger's merge rule: `{verdict, state}` (JSON) for the stored state (JSON,
/// `"null"` for none) and a normalized event (JSON).
#[pyfunction]
fn ledger_apply(state_json: &str, event_json: &str) -> PyResult<String> {
    to_json(
        &telhook_core::ledger::apply_json(state_json.as_bytes(), event_json.as_bytes())
            .map_err(|e| to_py_err(&e))?,
    )
}

/// The flat values a store writes for a normalized event (JSON in and out).
#[pyfunction]
fn ledger_update(event_json: &str) -> PyResult<String> {
    to_json(
        &telhook_core::StatusUpdate::from_event_json(event_json.as_bytes())
            .map_err(|e| to_py_err(&e))?,
    )
}

/// The ledger's write for each store (SQLite, PostgreSQL, Redis) and its parameter names.
#[pyfunction]
fn ledger_stores() -> PyResult<String> {
    to_json(&telhook_core::ledger::stores::STORE_TEXTS)
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Receiver>()?;
    module.add_function(wrap_pyfunction!(parse, module)?)?;
    module.add_function(wrap_pyfunction!(detect_provider, module)?)?;
    module.add_function(wrap_pyfunction!(retry_policy, module)?)?;
    module.add_function(wrap_pyfunction!(ack, module)?)?;
    module.add_function(wrap_pyfunction!(ack_status_for_error, module)?)?;
    module.add_function(wrap_pyfunction!(status_wins, module)?)?;
    module.add_function(wrap_pyfunction!(parse_time, module)?)?;
    module.add_function(wrap_pyfunction!(parse_http_capture, module)?)?;
    module.add_function(wrap_pyfunction!(decide, module)?)?;
    module.add_function(wrap_pyfunction!(check_now, module)?)?;
    module.add_function(wrap_pyfunction!(sign, module)?)?;
    module.add_function(wrap_pyfunction!(sample, module)?)?;
    module.add_function(wrap_pyfunction!(event_kinds, module)?)?;
    module.add_function(wrap_pyfunction!(ledger_apply, module)?)?;
    module.add_function(wrap_pyfunction!(ledger_update, module)?)?;
    module.add_function(wrap_pyfunction!(ledger_stores, module)?)?;
    Ok(())
}
