//! PyO3 glue over `telhook_core::api`: type conversion only, no rules. The pure-Python package
//! `telhook` (python/telhook) wraps this `telhook._core` extension.
//!
//! The event and the receive machine's actions cross as Python objects built directly from the
//! core's structs (the generic serializer `serde_pyobjects::to_python`), not as JSON text for
//! `json.loads`, which cost more than the core call itself. The other, colder results cross as
//! JSON text, and so does the core's error record (`api::Failure`), which
//! `telhook.errors._from_core` builds into its exception class.
#![forbid(unsafe_code)]

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};
use telhook_core::api::{self, Failure};
use telhook_core::receive::machine::{Action, Input};

/// The extension's Rust allocations go to mimalloc (see Cargo.toml for why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn raised(failure: Failure) -> PyErr {
    Python::attach(|py| {
        let errors = py.import("telhook.errors")?;
        let error = errors.getattr("_from_core")?.call1((failure.to_json(),))?;
        Ok(PyErr::from_value(error))
    })
    .unwrap_or_else(|error: PyErr| error)
}

/// Bodies from this size on are verified with the GIL released, so other Python threads run
/// meanwhile (HMAC over 16 KiB is ~10 µs; releasing the GIL costs well under 1 µs).
const RELEASE_GIL_FROM_BYTES: usize = 16 * 1024;

#[inline(always)]
fn text(item: &Bound<'_, PyAny>) -> Option<String> {
    Some(
        item.cast_exact::<PyString>()
            .ok()?
            .to_cow()
            .ok()?
            .into_owned(),
    )
}

/// A dict of str or a list of (str, str) tuples is read here; any other shape (a Mapping, list
/// values, None) goes through `telhook._header_pairs`, the one definition of header shapes.
/// Exact types and `Option` (no `PyErr` on the way) keep this at the old per-type cost.
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let direct = if let Ok(dict) = headers.cast_exact::<PyDict>() {
        pairs.reserve(dict.len());
        dict.iter().all(|(n, v)| {
            text(&n)
                .zip(text(&v))
                .map(|pair| pairs.push(pair))
                .is_some()
        })
    } else if let Ok(list) = headers.cast_exact::<PyList>() {
        pairs.reserve(list.len());
        list.iter().all(|item| {
            let pair = item.cast_exact::<PyTuple>().ok().filter(|t| t.len() == 2);
            let pair =
                pair.and_then(|t| text(&t.get_item(0).ok()?).zip(text(&t.get_item(1).ok()?)));
            pair.map(|pair| pairs.push(pair)).is_some()
        })
    } else {
        false
    };
    if direct {
        return Ok(pairs);
    }
    let convert = headers.py().import("telhook")?.getattr("_header_pairs")?;
    convert.call1((headers,))?.extract()
}

/// `api::Receiver`: credentials and options (JSON text) parsed and checked once.
#[pyclass(frozen, module = "telhook._core")]
struct Receiver(api::Receiver);

#[pymethods]
impl Receiver {
    #[new]
    fn new(provider: Option<&str>, credentials: &str, options: &str) -> PyResult<Self> {
        api::Receiver::new(provider, credentials, options)
            .map(Receiver)
            .map_err(raised)
    }

    /// The event as a dict (what `json.loads` of its JSON gives).
    fn normalize<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: Option<&str>,
        headers: &Bound<'py, PyAny>,
        body: PyBackedBytes,
        now: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = api::request(
            method.into(),
            url.map(Into::into),
            header_pairs(headers)?,
            shared(body),
        );
        let event = if request.body.len() >= RELEASE_GIL_FROM_BYTES {
            py.detach(|| self.0.normalize(&request, now))
        } else {
            self.0.normalize(&request, now)
        };
        // The request goes before the event's dicts are built (its headers' copies; the body
        // is the caller's `bytes`, shared, not copied).
        drop(request);
        event_to_python(py, event.map_err(raised)?)
    }

    /// The provider's name.
    fn verify(
        &self,
        py: Python<'_>,
        method: &str,
        url: Option<&str>,
        headers: &Bound<'_, PyAny>,
        body: PyBackedBytes,
        now: i64,
    ) -> PyResult<&'static str> {
        let request = api::request(
            method.into(),
            url.map(Into::into),
            header_pairs(headers)?,
            shared(body),
        );
        let verified = if request.body.len() >= RELEASE_GIL_FROM_BYTES {
            py.detach(|| self.0.verify(&request, now))
        } else {
            self.0.verify(&request, now)
        };
        verified.map_err(raised)
    }

    #[getter]
    fn max_body_bytes(&self) -> usize {
        self.0.max_body_bytes()
    }

    fn __repr__(&self) -> String {
        self.0.to_string()
    }
}

/// A receiver's checked receive settings (`api::receive_settings`), built once and held in Rust
/// for its deliveries.
#[pyclass(frozen, module = "telhook._core")]
struct ReceiveSettings(telhook_core::receive::machine::Settings);

#[pymethods]
impl ReceiveSettings {
    #[new]
    fn new(settings: &str) -> PyResult<Self> {
        api::receive_settings(settings)
            .map(ReceiveSettings)
            .map_err(raised)
    }
}

/// One delivery through the receive machine (`api::Flow`): inputs cross as small JSON texts,
/// actions as dicts (what `json.loads` of their JSON gives: one `json.loads` less per step, five
/// a delivery); the settings and the delivery's state stay in Rust between steps.
#[pyclass(module = "telhook._core")]
struct Flow(api::Flow);

fn action_dict<'py>(py: Python<'py>, action: &Action) -> PyResult<Bound<'py, PyAny>> {
    serde_pyobjects::to_python(py, action)
}

/// The normalize step's outcome: the next action, then the event or the refusal's exception.
type Normalized<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>, Option<PyErr>);

#[pymethods]
impl Flow {
    /// The delivery's start: the flow and its first action. The flow keeps the method, URL and
    /// headers for its normalize step.
    #[staticmethod]
    #[pyo3(signature = (settings, method, headers, url = None))]
    fn start<'py>(
        py: Python<'py>,
        settings: &ReceiveSettings,
        method: String,
        headers: &Bound<'py, PyAny>,
        url: Option<String>,
    ) -> PyResult<(Flow, Bound<'py, PyAny>)> {
        let (flow, action) = api::Flow::start(settings.0, method, url, header_pairs(headers)?);
        Ok((Flow(flow), action_dict(py, &action)?))
    }

    /// The normalize step (`api::Flow::normalize`): the next action, and the event (a dict) or
    /// the exception that refused the request. One crossing instead of the receiver's call, the
    /// step's JSON and `next` (the headers crossed once, at the start).
    fn normalize<'py>(
        &mut self,
        py: Python<'py>,
        receiver: &Receiver,
        body: PyBackedBytes,
        now: i64,
    ) -> PyResult<Normalized<'py>> {
        let (action, normalized) = normalize_step(py, &mut self.0, receiver, body, now);
        let action = action_dict(py, &action)?;
        Ok(match normalized {
            Ok(event) => (action, Some(event_to_python(py, event)?), None),
            Err(failure) => (action, None, Some(raised(failure))),
        })
    }

    /// The next action, given the JSON text of what happened.
    fn next<'py>(&mut self, py: Python<'py>, input: &str) -> PyResult<Bound<'py, PyAny>> {
        let input = api::machine_input(input).map_err(raised)?;
        action_dict(py, &self.0.next(input))
    }

    /// A copy of this delivery's state, to go back to (Django's atomic path replays the handler's
    /// step as failed when the commit fails).
    fn snapshot(&self) -> Flow {
        Flow(self.0.clone())
    }

    /// The configured provider, then the one the event came from.
    #[getter]
    fn provider(&self) -> Option<&'static str> {
        self.0.provider().map(|provider| provider.name())
    }

    /// The event's body inflated, when it was sent gzipped (`api::Flow::take_inflated_body`):
    /// what the adapter gives back to the handler's request.
    fn take_inflated_body<'py>(
        &mut self,
        py: Python<'py>,
    ) -> Option<Bound<'py, pyo3::types::PyBytes>> {
        self.0
            .take_inflated_body()
            .map(|body| pyo3::types::PyBytes::new(py, &body))
    }
}

/// The event as Python objects (what `json.loads` of its JSON gives), its message text held
/// once (`api::shared_text_path`). A long text is in the event twice, as `message.text` and
/// inside `raw`: the Rust copy in `message` is dropped before any Python object is built and
/// the dict's `text` is the very str built for `raw`, so a call's peak holds the message twice
/// (the parsed `raw` and its Python str), not three times (64 KiB: 3.1 -> 2.0x the body).
fn event_to_python(
    py: Python<'_>,
    mut event: telhook_core::NormalizedEvent,
) -> PyResult<Bound<'_, PyAny>> {
    // The steps to the text inside `raw` (`api::shared_text_path`), followed once `raw` is built.
    let path = api::shared_text_path(&event);
    if let (Some(message), Some(_)) = (event.message.as_mut(), &path) {
        message.text = Some(String::new());
    }
    let built = serde_pyobjects::to_python(py, &event)?;
    drop(event);
    if let Some(path) = path {
        let mut text = built.get_item("raw")?;
        for step in &path {
            text = match step {
                api::TextStep::Key(key) => text.get_item(key)?,
                api::TextStep::Index(index) => text.get_item(index)?,
            };
        }
        built.get_item("message")?.set_item("text", text)?;
    }
    Ok(built)
}

/// A body that reads the caller's `bytes` in place: the core verifies and parses it without a
/// copy (at 64 KiB the copy was a third of a call's peak memory). Python's `bytes` never
/// change, and the reference held keeps them alive, with or without the GIL.
fn shared(body: PyBackedBytes) -> telhook_core::Body {
    telhook_core::Body::shared(std::sync::Arc::new(body))
}

fn normalize_step(
    py: Python<'_>,
    flow: &mut api::Flow,
    receiver: &Receiver,
    body: PyBackedBytes,
    now: i64,
) -> (Action, Result<telhook_core::NormalizedEvent, Failure>) {
    let body = shared(body);
    #[allow(clippy::cast_precision_loss)] // UNIX seconds are far below 2^53
    let now = now as f64;
    if body.len() >= RELEASE_GIL_FROM_BYTES {
        py.detach(|| flow.normalize(&receiver.0, body, now))
    } else {
        flow.normalize(&receiver.0, body, now)
    }
}

fn webhook_error(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("telhook.errors")?.getattr("WebhookError")
}

/// A store or handler call's error that the loop answers (an `Exception`); any other
/// `BaseException` (SystemExit, KeyboardInterrupt) ends the delivery and propagates.
fn answerable(error: PyErr, py: Python<'_>) -> PyResult<PyErr> {
    if error.is_instance_of::<pyo3::exceptions::PyException>(py) {
        Ok(error)
    } else {
        Err(error)
    }
}

/// `telhook._receive.run`'s loop, driven from here: one crossing a delivery instead of one a
/// step (under gunicorn the Python loop's ~25 small calls cost 30-40 µs a request, cold caches;
/// bench/PROFILE.md). Only the order of I/O lives here, as in every runtime's loop: the core's
/// flow decides each step. The common outcomes (a claim's state, a store call that returned, a
/// handler that returned None) become the machine's inputs here; every other outcome (a failed
/// store, a handler's response or status, an aborted handler) goes through the same Python
/// methods of `delivery` as the async loop's. Returns the handler's own response (or None);
/// `delivery.action` is then the answer.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn run_delivery<'py>(
    py: Python<'py>,
    delivery: &Bound<'py, PyAny>,
    method: String,
    url: Option<String>,
    headers: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
    handler: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let steps = py.import("telhook._receive")?;
    let settings = delivery.getattr("settings")?;
    let settings = settings.cast::<ReceiveSettings>()?.get().0;
    let (flow, mut action) = api::Flow::start(settings, method, url, header_pairs(headers)?);
    let flow = Bound::new(py, Flow(flow))?;
    delivery.setattr("flow", &flow)?;
    let store = delivery.getattr("store")?;
    let token = delivery.getattr("token")?;
    let mut data = None;
    let mut own = py.None().into_bound(py);
    // The machine's input for a step's outcome, through the Python method that reads it (the
    // rare outcomes) and the step's JSON text.
    let through_python = |step: Bound<'py, PyAny>| -> PyResult<Input> {
        let text = steps.getattr("_json")?.call1((step,))?;
        api::machine_input(&text.extract::<String>()?).map_err(raised)
    };
    loop {
        let input = match &action {
            Action::Answer { .. } => {
                delivery.setattr("action", action_dict(py, &action)?)?;
                return Ok(own);
            }
            Action::ReadBody { max_bytes } => {
                // `read_step` keeps the body on the delivery, for the adapter to give back.
                let (step, read): (String, Bound<'py, PyAny>) = steps
                    .getattr("read_step")?
                    .call1((delivery, body, *max_bytes))?
                    .extract()?;
                data = Some(read);
                api::machine_input(&step).map_err(raised)?
            }
            Action::Normalize => {
                let receiver = delivery.getattr("receiver")?;
                let now: i64 = match receiver.call_method0("_seconds_now") {
                    Ok(now) => now.extract()?,
                    // A clock reading the core refuses (a text it cannot parse) refuses the
                    // request, as the receiver's normalize would.
                    Err(error) if error.is_instance(py, &webhook_error(py)?) => {
                        let refused = delivery.call_method1("refused", (error.value(py),))?;
                        action = flow.borrow_mut().0.next(through_python(refused)?);
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                let inner = receiver.getattr("_inner")?;
                let inner = inner.cast::<Receiver>()?.get();
                let bytes = match data.take() {
                    Some(read) => PyBackedBytes::from(read.cast_into::<pyo3::types::PyBytes>()?),
                    None => PyBackedBytes::from(pyo3::types::PyBytes::new(py, b"")),
                };
                let (next, normalized) =
                    normalize_step(py, &mut flow.borrow_mut().0, inner, bytes, now);
                match normalized {
                    Ok(event) => {
                        delivery.setattr("event", event_to_python(py, event)?)?;
                        // A gzipped body inflated: the body the adapter gives back.
                        let inflated = flow.borrow_mut().0.take_inflated_body();
                        if let Some(body) = inflated {
                            delivery.setattr("body", pyo3::types::PyBytes::new(py, &body))?;
                            delivery.setattr("inflated", true)?;
                        }
                    }
                    Err(failure) => {
                        delivery.setattr("refusal", raised(failure).value(py).str()?)?
                    }
                }
                action = next;
                continue;
            }
            Action::CallHandler => {
                let event = delivery.getattr("event")?;
                // Reading what the handler returned (its status, its own response) fails as
                // the handler does: inside the same `try` in the Python loops.
                let handled = handler.call1((event,)).and_then(|returned| {
                    if returned.is_none() {
                        return Ok(None);
                    }
                    let read = delivery.call_method1("handled_input", (returned,))?;
                    Ok(Some(
                        read.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?,
                    ))
                });
                match handled {
                    Ok(None) => Input::Handled { status: None },
                    Ok(Some((step, returned_own))) => {
                        own = returned_own;
                        through_python(step)?
                    }
                    Err(error) => match answerable(error, py) {
                        Ok(error) => through_python(
                            delivery.call_method1("handler_failed", (error.value(py),))?,
                        )?,
                        Err(aborted) => {
                            steps.getattr("settle_after_abort")?.call1((delivery,))?;
                            return Err(aborted);
                        }
                    },
                }
            }
            Action::Claim {
                key, lease_secs, ..
            } => match store.call_method1("claim", (key, &token, *lease_secs)) {
                // A str's own text (a subclass's methods never run); one that is no UTF-8 (a
                // lone surrogate) is read by `delivery.store_input`, as any other answer.
                Ok(state) => match state.cast::<PyString>().ok().map(|text| text.to_cow()) {
                    Some(Ok(text)) => Input::Claimed {
                        state: text.into_owned(),
                    },
                    _ => store_outcome(py, delivery, &action, Ok(state), &through_python)?,
                },
                failed => {
                    // It may have landed all the same (a client timeout after the server ran
                    // it): released in the background, as the core's orphan machine says.
                    steps
                        .getattr("release_failed_claim")?
                        .call1((delivery, action_dict(py, &action)?))?;
                    store_outcome(py, delivery, &action, failed, &through_python)?
                }
            },
            Action::Complete { key, ttl_secs, .. } => {
                match store.call_method1("complete", (key, &token, *ttl_secs)) {
                    Ok(_) => Input::Settled,
                    failed => {
                        settle_failed(py, &steps, delivery, &action, failed, &through_python)?
                    }
                }
            }
            Action::Release { key, .. } => match store.call_method1("release", (key, &token)) {
                Ok(_) => Input::Settled,
                failed => settle_failed(py, &steps, delivery, &action, failed, &through_python)?,
            },
            // Inbox mode's enqueue: the Python step, as the async loop takes it.
            Action::Enqueue { .. } => through_python(
                steps
                    .getattr("store_step")?
                    .call1((delivery, action_dict(py, &action)?))?,
            )?,
        };
        action = flow.borrow_mut().0.next(input);
    }
}

/// A settling call that raised: tried again in the background, as the core's orphan machine
/// says (`settle_failed` in Python), and told to the machine as the async loop tells it.
fn settle_failed<'py>(
    py: Python<'py>,
    steps: &Bound<'py, PyAny>,
    delivery: &Bound<'py, PyAny>,
    action: &Action,
    failed: PyResult<Bound<'py, PyAny>>,
    through_python: &impl Fn(Bound<'py, PyAny>) -> PyResult<Input>,
) -> PyResult<Input> {
    steps
        .getattr("settle_failed")?
        .call1((delivery, action_dict(py, action)?))?;
    store_outcome(py, delivery, action, failed, through_python)
}

/// A store call's outcome that is not the common one (a claim answered by no string, a call
/// that raised), read by `delivery.store_input` as the async loop reads it.
fn store_outcome<'py>(
    py: Python<'py>,
    delivery: &Bound<'py, PyAny>,
    action: &Action,
    outcome: PyResult<Bound<'py, PyAny>>,
    through_python: &impl Fn(Bound<'py, PyAny>) -> PyResult<Input>,
) -> PyResult<Input> {
    let action = action_dict(py, action)?;
    let step = match outcome {
        Ok(returned) => delivery.call_method1("store_input", (action, returned, py.None()))?,
        Err(error) => {
            let error = answerable(error, py)?;
            delivery.call_method1("store_input", (action, py.None(), error.value(py)))?
        }
    };
    through_python(step)
}

/// The one-call functions' kept receivers (`telhook.normalize_event`, `telhook.verify`): the
/// `telhook.Receiver` built for each of the last `capacity` sets of arguments, found again by
/// their value. Here, not in Python, because the lookup is on every one-call call: a frozen
/// copy of the credentials and `functools.lru_cache` cost 0.5-1.1 µs a call (LisoLoo's nested
/// Basic credentials the most), more than the rest of what the one call adds to a `Receiver`.
///
/// A kept set matches only arguments of the same exact types and equal values, in the same
/// order: `1 == True` or a `str` subclass's own `__eq__` must never make two configurations one.
/// Credentials are kept as a copy (`copy_for_keeping`), from which the receiver is built, so a
/// dict edited after the call (a rotated secret) no longer matches.
#[pyclass(frozen, module = "telhook._core")]
struct KeptReceivers {
    capacity: usize,
    kept: std::sync::Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// Most recently used last.
    entries: Vec<KeptEntry>,
    hits: u64,
    misses: u64,
}

struct KeptEntry {
    provider: Py<PyAny>,
    credentials: Py<PyAny>,
    options: [Py<PyAny>; 3],
    receiver: Py<PyAny>,
}

/// How deep kept credentials may nest: deeper ones are built per call, never kept.
const KEPT_CREDENTIALS_MAX_DEPTH: usize = 8;

/// Whether `value` is an argument a key may hold as it is: None, or an exact bool, int or str
/// (immutable, compared without running Python code).
fn plain_argument(value: &Bound<'_, PyAny>) -> bool {
    value.is_none()
        || value.is_exact_instance_of::<PyBool>()
        || value.is_exact_instance_of::<PyInt>()
        || value.is_exact_instance_of::<PyString>()
}

/// `given` and `kept` are None, or the same exact type and equal. `kept` is a plain argument.
fn same_plain(given: &Bound<'_, PyAny>, kept: &Bound<'_, PyAny>) -> PyResult<bool> {
    if kept.is_none() || given.is_none() {
        return Ok(given.is_none() && kept.is_none());
    }
    Ok(given.get_type().is(kept.get_type()) && given.eq(kept)?)
}

/// Each option is [`same_plain`] as the kept one; stops at the first that is not.
fn same_options(given: &[Bound<'_, PyAny>; 3], kept: &[Py<PyAny>; 3]) -> PyResult<bool> {
    for (given, kept) in given.iter().zip(kept) {
        if !same_plain(given, kept.bind(given.py()))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Credentials (exact str, list or tuple, dict with str keys, nested) copied into new lists and
/// dicts (str shared: immutable); None for any other shape, which is built per call.
fn copy_for_keeping<'py>(
    value: &Bound<'py, PyAny>,
    depth: usize,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if value.is_exact_instance_of::<PyString>() {
        return Ok(Some(value.clone()));
    }
    if depth >= KEPT_CREDENTIALS_MAX_DEPTH {
        return Ok(None);
    }
    let py = value.py();
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let copy = PyDict::new(py);
        // From a list of its items taken at once: building the copy allocates, an allocation can
        // run the garbage collector, and a finalizer may edit the dict (iterating the dict itself
        // would then panic). The receiver is built from the copy, so the two agree either way.
        for pair in dict.items().iter() {
            let (name, item) = pair.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?;
            if !name.is_exact_instance_of::<PyString>() {
                return Ok(None);
            }
            let Some(item) = copy_for_keeping(&item, depth + 1)? else {
                return Ok(None);
            };
            copy.set_item(name, item)?;
        }
        return Ok(Some(copy.into_any()));
    }
    if value.is_exact_instance_of::<PyList>() || value.is_exact_instance_of::<PyTuple>() {
        let copy = PyList::empty(py);
        for item in value.try_iter()? {
            let Some(item) = copy_for_keeping(&item?, depth + 1)? else {
                return Ok(None);
            };
            copy.append(item)?;
        }
        return Ok(Some(copy.into_any()));
    }
    Ok(None)
}

/// Whether `given` has the value `kept` (a `copy_for_keeping`) was copied from: a list and a
/// tuple of the same items are the same credentials (the same JSON).
fn same_credentials(given: &Bound<'_, PyAny>, kept: &Bound<'_, PyAny>) -> PyResult<bool> {
    if kept.is_exact_instance_of::<PyString>() {
        return Ok(given.is_exact_instance_of::<PyString>() && given.eq(kept)?);
    }
    if let Ok(kept) = kept.cast_exact::<PyDict>() {
        let Ok(given) = given.cast_exact::<PyDict>() else {
            return Ok(false);
        };
        if given.len() != kept.len() {
            return Ok(false);
        }
        for ((name, item), (kept_name, kept_item)) in given.iter().zip(kept.iter()) {
            if !(name.is_exact_instance_of::<PyString>()
                && name.eq(&kept_name)?
                && same_credentials(&item, &kept_item)?)
            {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Ok(kept) = kept.cast_exact::<PyList>() {
        let length = if let Ok(list) = given.cast_exact::<PyList>() {
            list.len()
        } else if let Ok(tuple) = given.cast_exact::<PyTuple>() {
            tuple.len()
        } else {
            return Ok(false);
        };
        if length != kept.len() {
            return Ok(false);
        }
        for (index, kept_item) in kept.iter().enumerate() {
            if !same_credentials(&given.get_item(index)?, &kept_item)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    Ok(false)
}

#[pymethods]
impl KeptReceivers {
    #[new]
    fn new(capacity: usize) -> Self {
        KeptReceivers {
            capacity,
            kept: std::sync::Mutex::new(Kept::default()),
        }
    }

    /// The receiver kept for these arguments (counted as a hit), or None.
    fn find(
        &self,
        py: Python<'_>,
        provider: &Bound<'_, PyAny>,
        credentials: &Bound<'_, PyAny>,
        max_body_bytes: Bound<'_, PyAny>,
        public_url: Bound<'_, PyAny>,
        trust_forwarded_headers: Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let options = [max_body_bytes, public_url, trust_forwarded_headers];
        let mut kept = self.kept()?;
        let mut found = None;
        for (at, entry) in kept.entries.iter().enumerate().rev() {
            if same_plain(provider, entry.provider.bind(py))?
                && same_options(&options, &entry.options)?
                && same_credentials(credentials, entry.credentials.bind(py))?
            {
                found = Some(at);
                break;
            }
        }
        let Some(at) = found else {
            return Ok(None);
        };
        kept.hits += 1;
        let entry = kept.entries.remove(at);
        let receiver = entry.receiver.clone_ref(py);
        kept.entries.push(entry);
        Ok(Some(receiver))
    }

    /// `(copy, True)` for arguments a receiver may be kept for, the credentials copied
    /// (`copy_for_keeping`: build the receiver from the copy, then `keep` it); else
    /// `(credentials, False)`, to be built per call.
    fn keepable<'py>(
        &self,
        provider: &Bound<'py, PyAny>,
        credentials: &Bound<'py, PyAny>,
        max_body_bytes: &Bound<'py, PyAny>,
        public_url: &Bound<'py, PyAny>,
        trust_forwarded_headers: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, bool)> {
        if [
            provider,
            max_body_bytes,
            public_url,
            trust_forwarded_headers,
        ]
        .into_iter()
        .all(plain_argument)
        {
            if let Some(copy) = copy_for_keeping(credentials, 0)? {
                return Ok((copy, true));
            }
        }
        Ok((credentials.clone(), false))
    }

    /// Keeps `receiver`, built from `credentials` (a `keepable` copy), and forgets the least
    /// recently used past the capacity. Counted as a miss.
    fn keep(
        &self,
        provider: Py<PyAny>,
        credentials: Py<PyAny>,
        max_body_bytes: Py<PyAny>,
        public_url: Py<PyAny>,
        trust_forwarded_headers: Py<PyAny>,
        receiver: Py<PyAny>,
    ) -> PyResult<()> {
        let mut kept = self.kept()?;
        kept.misses += 1;
        kept.entries.push(KeptEntry {
            provider,
            credentials,
            options: [max_body_bytes, public_url, trust_forwarded_headers],
            receiver,
        });
        if kept.entries.len() > self.capacity {
            let excess = kept.entries.len() - self.capacity;
            kept.entries.drain(..excess);
        }
        Ok(())
    }

    /// Forgets every kept receiver and resets the counts.
    fn clear(&self) -> PyResult<()> {
        *self.kept()? = Kept::default();
        Ok(())
    }

    /// `(hits, misses, kept)`.
    fn counts(&self) -> PyResult<(u64, u64, usize)> {
        let kept = self.kept()?;
        Ok((kept.hits, kept.misses, kept.entries.len()))
    }

    fn __repr__(&self) -> String {
        // The kept credentials are secrets: counts only.
        match self.kept.lock() {
            Ok(kept) => format!(
                "KeptReceivers(kept={}, capacity={})",
                kept.entries.len(),
                self.capacity
            ),
            Err(_) => "KeptReceivers(<poisoned>)".into(),
        }
    }
}

impl KeptReceivers {
    fn kept(&self) -> PyResult<std::sync::MutexGuard<'_, Kept>> {
        self.kept.lock().map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err(
                "telhook: the kept receivers' lock is poisoned",
            )
        })
    }
}

/// `api::call`: any other entry point by name, arguments as a JSON array, the result as JSON
/// text. Only the event and the machine's actions go through `to_python`: each instantiation
/// more can cost the event's hot path its inlining (callgrind: building the cold results there
/// too cost 0.4-1.1 % on every payload; the actions cost none, measured).
#[pyfunction]
#[pyo3(signature = (name, args, data = b"".as_slice()))]
fn call(name: &str, args: &str, data: &[u8]) -> PyResult<String> {
    api::call(name, args, data).map_err(raised)
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Receiver>()?;
    module.add_class::<ReceiveSettings>()?;
    module.add_class::<Flow>()?;
    module.add_class::<KeptReceivers>()?;
    module.add_function(wrap_pyfunction!(run_delivery, module)?)?;
    module.add_function(wrap_pyfunction!(call, module)?)
}
