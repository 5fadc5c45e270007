//! The one surface the bindings wrap (feature `binding-api`), in the runtime-neutral shapes every
//! host language can produce: a request as method, URL, header pairs and body bytes; credentials
//! and options as JSON text; `now` as a number. Results come back as core values (`Serialize`),
//! errors as [`Failure`], a flat record every binding turns into its own exception class. A
//! binding holds no rule: it converts its language's values to these shapes and back.
//!
//! The hot path is [`Receiver`] (credentials parsed once). Every other entry point goes through
//! [`call`], by name, with its arguments as a JSON array and its result as JSON text: one
//! definition of each entry point's arguments and result for every runtime.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::request::Body;
use crate::{
    credentials::Credentials, event::DeliveryStatus, ledger, provider::Provider, receive, time,
    NormalizedEvent, Options, StatusUpdate, WebhookRequest,
};
#[cfg(feature = "kit")]
use crate::{sample, sign};

/// An error as it crosses into a host language: JS `TelhookError` and Python `WebhookError`
/// take these fields, in this order, as their constructor arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The stable code ([`Error::code`]).
    pub code: &'static str,
    /// The family, which picks the exception class.
    pub kind: ErrorKind,
    /// Safe to log: never a value from the request or a secret.
    pub message: String,
    /// Where the problem is (`headers.x-lime-signature`, `body.timestamp`, `now`), if known.
    pub field: Option<String>,
    /// What was expected there, if the error says.
    pub expected: Option<String>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            code: error.code(),
            kind: error.kind(),
            message: error.to_string(),
            field: field_of(&error),
            expected: expected_of(&error),
        }
    }
}

impl Failure {
    /// The JSON text form, for runtimes that throw text (wasm).
    pub fn to_json(&self) -> String {
        to_json(self).unwrap_or_default()
    }
}

fn header_field(name: &str) -> Option<String> {
    Some(alloc::format!("headers.{}", name.to_ascii_lowercase()))
}

/// The request field (or configuration field) an error is about.
fn field_of(error: &Error) -> Option<String> {
    match error {
        Error::UnknownProvider { .. } => Some("provider".into()),
        Error::MethodNotAllowed => Some("method".into()),
        Error::BodyTooLarge { .. }
        | Error::MalformedJson { .. }
        | Error::InvalidPayload { .. }
        | Error::RawBodyUnavailable => Some("body".into()),
        Error::MissingCredentials { .. } => Some("credentials".into()),
        Error::CredentialNotConfigured { credential, .. } => {
            Some(alloc::format!("credentials.{credential}"))
        }
        Error::InvalidCredentials { reason } => Some(credential_field(reason)),
        Error::MissingSignature { header }
        | Error::InvalidSignatureFormat { header, .. }
        | Error::SignatureMismatch { header }
        | Error::UnsupportedSignatureAlgorithm { header, .. }
        | Error::TimestampOutOfTolerance { header, .. }
        | Error::UrlSignatureMismatch { header, .. }
        | Error::TooManySignatures { header, .. } => header_field(header),
        Error::AmbiguousHeader { header } => header_field(header),
        Error::BodyHashMismatch { parameter } => Some(alloc::format!("url.{parameter}")),
        Error::MissingAuthorization
        | Error::InvalidAuthorizationFormat { .. }
        | Error::AuthorizationMismatch => Some("headers.authorization".into()),
        Error::MalformedNestedJson { field } | Error::InvalidTimestamp { field } => {
            Some(alloc::format!("body.{field}"))
        }
        Error::InvalidClock => Some("now".into()),
        Error::InvalidOption { option, .. } => Some(option.clone()),
        _ => None,
    }
}

/// The credential an invalid-credentials reason is about (`credentials.basic.password`), from
/// the path its reason starts with; `credentials` when it is about their whole shape.
fn credential_field(reason: &str) -> String {
    const PATHS: [&str; 12] = [
        "hmac_sha256",
        "bearer",
        "authorization",
        "jwt_hs256",
        "url_token_param",
        "url_token",
        "basic.password",
        "basic.username",
        "insecure_skip_verification",
        "ed25519_public_key",
        "auth_token",
        "shared_key",
    ];
    let path = reason.split(' ').next().unwrap_or_default();
    match PATHS.iter().find(|known| **known == path) {
        Some(known) => alloc::format!("credentials.{known}"),
        None => String::from("credentials"),
    }
}

/// What the field should have held, when the error knows.
fn expected_of(error: &Error) -> Option<String> {
    let text: &str = match error {
        Error::UnknownProvider { known, .. } => {
            return Some(alloc::format!("one of {}", known.join(", ")));
        }
        Error::MethodNotAllowed => "POST",
        Error::BodyTooLarge { limit, .. } => return Some(alloc::format!("at most {limit} bytes")),
        Error::InvalidSignatureFormat { reason, .. }
        | Error::InvalidAuthorizationFormat { reason }
        | Error::JwtMalformed { reason } => reason,
        Error::TooManySignatures { limit, .. } => {
            return Some(alloc::format!("at most {limit} signatures"))
        }
        Error::TimestampOutOfTolerance { tolerance_secs, .. } => {
            return Some(alloc::format!(
                "UNIX seconds within {tolerance_secs} s of the receiver's clock"
            ))
        }
        Error::JwtAlgorithmNotAllowed => "HS256",
        Error::UnsupportedSignatureAlgorithm { expected, .. } => expected,
        Error::MalformedJson { .. } => "JSON",
        Error::MalformedNestedJson { .. } => "a JSON object encoded as a string",
        Error::InvalidTimestamp { .. } => "a readable timestamp in range",
        Error::InvalidClock => "UNIX seconds between 2000-01-01 and 9999-12-31",
        Error::InvalidOption { expected, .. } => expected,
        _ => return None,
    };
    Some(text.into())
}

pub type Result<T> = core::result::Result<T, Failure>;

fn invalid(reason: &str) -> Failure {
    Failure::from(Error::InvalidRequest {
        reason: reason.into(),
    })
}

/// A request from its parts.
pub fn request(
    method: String,
    url: Option<String>,
    headers: Vec<(String, String)>,
    body: impl Into<Body>,
) -> WebhookRequest {
    WebhookRequest {
        method,
        url,
        headers,
        body: body.into(),
    }
}

/// Header pairs from a flat `[name, value, name, value, …]` list (Node's `rawHeaders` form).
pub fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut headers = Vec::with_capacity(flat.len() / 2);
    let mut items = flat.into_iter();
    while let (Some(name), Some(value)) = (items.next(), items.next()) {
        headers.push((name, value));
    }
    headers
}

/// A clock reading given as a float (JavaScript numbers): whole UNIX seconds, or
/// `invalid_clock` (a configuration error, so a 5xx, never a 4xx Lisoloo would drop on).
pub fn seconds(now: f64) -> Result<i64> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let whole = now as i64; // saturates; NaN is 0
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    if now.abs() < 9.0e15 && whole as f64 == now {
        Ok(whole)
    } else {
        Err(Error::InvalidClock.into())
    }
}

/// Any core value as JSON text, for runtimes that parse it natively (`JSON.parse`).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    // serde_json's first size.
    let mut text = String::with_capacity(128);
    write_json(&mut text, value)?;
    Ok(text)
}

/// [`to_json`], appended to `out`.
fn write_json<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<()> {
    crate::json_text::serializer::write(out, value).map_err(|_| invalid("serialization failed"))
}

/// About what an event's text takes besides `raw` (its fields, a short message text written
/// twice): 600-1,000 bytes on the bench payloads.
const EVENT_TEXT_BESIDE_RAW: usize = 1024;

/// A message text at least this long is held and handed to a host once, not twice
/// ([`shared_text_path`], [`event_text`]). Below it, a copy costs less than the search.
pub const SHARED_TEXT_MIN_BYTES: usize = 256;

/// One step from `raw` to a value inside it: an object's key or an array's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TextStep {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
}

/// Where `raw` holds the event's message text, when the text is long
/// ([`SHARED_TEXT_MIN_BYTES`]): the steps from `raw` to the string equal to it.
///
/// The text is a copy of a string in `raw` (a LimePhone `message_content`, a Twilio `Body`).
/// A host whose strings are immutable (JS, Python) then builds it once and gives `message.text`
/// the very string it built for `raw`: the text is written, decoded, built and held once
/// instead of twice. Linear in the size of `raw` (a string of another length costs one
/// comparison); `None` for a text `raw` does not hold as one string (parts joined, say).
pub fn shared_text_path(event: &NormalizedEvent) -> Option<Vec<TextStep>> {
    let text = event.message.as_ref()?.text.as_deref()?;
    if text.len() < SHARED_TEXT_MIN_BYTES {
        return None;
    }
    let mut steps = Vec::new();
    if !path_to(&event.raw, text, &mut steps) {
        return None;
    }
    Some(
        steps
            .into_iter()
            .map(|step| match step {
                Step::Key(key) => TextStep::Key(key.into()),
                Step::Index(index) => TextStep::Index(index),
            })
            .collect(),
    )
}

/// An event for a host that builds it with its own JSON parser (`JSON.parse`): its JSON text
/// and, apart from it, its long message text ([`shared_text_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventText {
    /// The event's JSON; with a `text` apart, then a line feed and the JSON array of the steps
    /// from `raw` to where the text belongs (JSON text never holds a raw line feed, and the
    /// whole then ends in `]`, where an event ends in `}`). `message.text` and the string at
    /// those steps are written as `null`: the host sets both to `text`.
    pub json: String,
    /// The long message text, moved out of `raw`: it crosses to the host as a string of its
    /// own, never escaped into JSON and parsed back.
    pub text: Option<String>,
}

/// The event as an [`EventText`].
///
/// A long message text is held in `raw` and again as `message.text`. It is moved out of `raw`
/// and handed over apart, once, where a host's immutable strings (JS) let both places hold the
/// one string it builds. In Node at 64 KiB, `JSON.parse` of an event holding its text took
/// 23.5 µs against 5.2 µs for the event without it and the text decoded on its own, and the
/// parsed copy was a second body's worth of the request's peak memory.
///
/// `raw_size_hint` is about what `raw` takes as JSON (the body's length): the text is written
/// into one buffer of that size plus the event's, not grown by doubling, which at 1 MiB reserved
/// a second megabyte of wasm memory. `raw`, most of the text, is written by
/// `json_text` (core/src/json_text.rs), whose string escaping checks eight bytes at a time.
pub fn event_text(mut event: NormalizedEvent, raw_size_hint: usize) -> Result<EventText> {
    let path = shared_text_path(&event);
    let mut raw = core::mem::take(&mut event.raw);
    let text = path
        .as_ref()
        .and_then(|steps| text_taken_at(&mut raw, steps));
    if let (Some(message), Some(_)) = (event.message.as_mut(), &text) {
        // Dropped before the event is written: the host's copy is the one taken from `raw`.
        message.text = None;
    }
    let raw_size_hint = raw_size_hint.saturating_sub(text.as_ref().map_or(0, String::len));
    let mut json = String::with_capacity(raw_size_hint + EVENT_TEXT_BESIDE_RAW);
    write_json(&mut json, &event)?;
    // `raw` is the event's last field; its `null` here marks where its JSON goes.
    const RAW_NULL: &str = "\"raw\":null}";
    if !json.ends_with(RAW_NULL) {
        return Err(invalid("serialization failed"));
    }
    json.truncate(json.len() - RAW_NULL.len());
    json.push_str("\"raw\":");
    crate::json_text::write_value(&mut json, &raw);
    json.push('}');
    if let (Some(path), Some(_)) = (path, &text) {
        json.push('\n');
        json.push_str(&to_json(&path)?);
    }
    Ok(EventText { json, text })
}

/// The string at `steps` in `raw`, moved out and `null` left in its place. Not `raw` itself
/// (no steps): a host sets the text inside `raw`, and every provider's `raw` is an object.
fn text_taken_at(raw: &mut Value, steps: &[TextStep]) -> Option<String> {
    if steps.is_empty() {
        return None;
    }
    let mut at = raw;
    for step in steps {
        at = match step {
            TextStep::Key(key) => at.get_mut(key.as_str())?,
            TextStep::Index(index) => at.get_mut(*index)?,
        };
    }
    match core::mem::take(at) {
        Value::String(text) => Some(text),
        other => {
            *at = other;
            None
        }
    }
}

/// A step of [`path_to`], borrowed from `raw`.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// How deep [`path_to`] looks: a text nested deeper is held twice, as it was before.
const SHARED_TEXT_MAX_DEPTH: usize = 16;

/// Whether `value` holds the string `text`, with the steps that lead to it pushed onto `path`.
/// Linear in the size of `value`: a string of another length costs one comparison.
fn path_to<'a>(value: &'a Value, text: &str, path: &mut Vec<Step<'a>>) -> bool {
    match value {
        Value::String(candidate) => same_text(candidate, text),
        Value::Object(map) if path.len() < SHARED_TEXT_MAX_DEPTH => {
            map.iter().any(|(key, item)| {
                path.push(Step::Key(key));
                path_to(item, text, path) || {
                    path.pop();
                    false
                }
            })
        }
        Value::Array(items) if path.len() < SHARED_TEXT_MAX_DEPTH => {
            items.iter().enumerate().any(|(index, item)| {
                path.push(Step::Index(index));
                path_to(item, text, path) || {
                    path.pop();
                    false
                }
            })
        }
        _ => false,
    }
}

/// `a == b`. In wasm, `memcmp` is compiler-builtins' byte loop: comparing a 64 KiB message with
/// its copy in `raw` was 9 % of a 64 KiB Node call (CPU profile). There, eight bytes at a time;
/// natively `==`, whose `memcmp` is vectorized.
fn same_text(a: &str, b: &str) -> bool {
    if cfg!(target_arch = "wasm32") {
        same_words(a.as_bytes(), b.as_bytes())
    } else {
        a == b
    }
}

/// `a == b`, compared as 64-bit words.
fn same_words(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |bytes: &[u8]| <[u8; 8]>::try_from(bytes).map_or(0, u64::from_le_bytes);
    let (mut a_words, mut b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    a_words
        .by_ref()
        .zip(b_words.by_ref())
        .all(|(x, y)| word(x) == word(y))
        && a_words.remainder() == b_words.remainder()
}

fn value_of<T: Serialize + ?Sized>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|_| invalid("serialization failed"))
}

fn json<'a, T: serde::Deserialize<'a>>(text: &'a str, expected: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| invalid(expected))
}

/// A configured receiver: provider (or detection), credentials and options parsed and checked
/// once, when it is built, so that misconfiguration fails at start-up.
#[derive(Debug)]
pub struct Receiver {
    provider: Option<Provider>,
    credentials: Credentials,
    /// The configured values the redaction rules search for, from `credentials`.
    redacted_values: crate::redact::PreparedValues,
    options: Options,
}

impl Receiver {
    /// `credentials_json` and `options_json` are JSON text (`"null"` for none / defaults).
    pub fn new(provider: Option<&str>, credentials_json: &str, options_json: &str) -> Result<Self> {
        let provider = provider.map(Provider::from_name).transpose()?;
        let credentials =
            Credentials::from_json_value(json(credentials_json, "credentials: expected JSON")?)?;
        // Checked once here, never on each request ([`crate::normalize_keeping`]): the fields
        // are private, so they cannot change after.
        crate::check_credentials(provider, &credentials)?;
        crate::check_configuration(provider, &credentials)?;
        let options = Options::from_json_value(json(options_json, "options: expected JSON")?)?;
        Ok(Receiver {
            provider,
            redacted_values: crate::redact::PreparedValues::new(&credentials),
            credentials,
            options,
        })
    }

    /// Verifies and normalizes.
    pub fn normalize(&self, request: &WebhookRequest, now: i64) -> Result<NormalizedEvent> {
        self.normalize_keeping(request, now, &mut None)
    }

    /// [`Receiver::normalize`], keeping in `inflated` the body it read when the request's was
    /// gzipped.
    fn normalize_keeping(
        &self,
        request: &WebhookRequest,
        now: i64,
        inflated: &mut Option<Body>,
    ) -> Result<NormalizedEvent> {
        Ok(crate::normalize_keeping(
            self.provider,
            request,
            (&self.credentials, &self.redacted_values),
            now,
            &self.options,
            inflated,
        )?)
    }

    /// Verifies only; the provider's name.
    pub fn verify(&self, request: &WebhookRequest, now: i64) -> Result<&'static str> {
        Ok(crate::verify(self.provider, request, &self.credentials, now)?.name())
    }

    /// The body cap in bytes: adapters stop reading a body past it.
    pub fn max_body_bytes(&self) -> usize {
        self.options.max_body_bytes
    }
}

/// `Receiver(provider=…, credentials=…)`; credentials' Debug shows counts only, never a secret.
impl fmt::Display for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.provider {
            Some(p) => write!(f, "Receiver(provider={:?}, ", p.name())?,
            None => f.write_str("Receiver(provider=None, ")?,
        }
        write!(f, "credentials={:?})", self.credentials)
    }
}

type Pairs = Vec<(String, String)>;

/// One delivery through the receive machine, held by a binding between its steps: the settings
/// and the delivery's state stay on the core's side instead of crossing as JSON at every step
/// (in Node that was ~37 µs of a ~120 µs request, bench/PROFILE.md), the request's method, URL
/// and headers are kept from [`Flow::start`] for the normalize step, and normalizing feeds its
/// outcome to the machine in the same call.
#[derive(Debug, Clone)]
pub struct Flow {
    delivery: receive::machine::Delivery,
    request: WebhookRequest,
    /// The body of an event sent gzipped, inflated: what an adapter gives back to the request
    /// its handler reads (`request.get_json()` of the gzip member failed every delivery).
    inflated: Option<Body>,
}

impl Flow {
    /// The delivery's first step (its method and declared length) and the action it asks for.
    pub fn start(
        settings: receive::machine::Settings,
        method: String,
        url: Option<String>,
        headers: Pairs,
    ) -> (Flow, receive::machine::Action) {
        let request = request(method, url, headers, Vec::new());
        let (delivery, action) = receive::machine::Delivery::start_request(settings, &request);
        let flow = Flow {
            delivery,
            request,
            inflated: None,
        };
        (flow, action)
    }

    /// The next action, given what happened ([`receive::machine::Delivery::next`]).
    pub fn next(&mut self, input: receive::machine::Input) -> receive::machine::Action {
        self.delivery.next(input)
    }

    /// The normalize step: verifies and normalizes `body` with `receiver`, tells the machine the
    /// outcome, and returns the next action with the event, or the error that refused it.
    pub fn normalize(
        &mut self,
        receiver: &Receiver,
        body: impl Into<Body>,
        now: f64,
    ) -> (receive::machine::Action, Result<NormalizedEvent>) {
        self.request.body = body.into();
        let mut inflated = None;
        let normalized = seconds(now)
            .and_then(|now| receiver.normalize_keeping(&self.request, now, &mut inflated));
        self.request.body = Body::default();
        self.inflated = inflated.filter(|_| normalized.is_ok());
        let input = match &normalized {
            Ok(event) => receive::machine::Input::Normalized {
                provider: event.provider,
                event_id: event.id.clone(),
            },
            Err(failure) => receive::machine::Input::Refused {
                code: failure.code.into(),
            },
        };
        let action = self.delivery.next(input);
        // A refusal the machine answers as a body that is gone (a parser's decoding refused for
        // its bytes): the error told is that one, as the answer's code says.
        let gone = crate::ErrorCode::RawBodyUnavailable.as_str();
        let normalized = match (&action, normalized) {
            (receive::machine::Action::Answer { answer, .. }, Err(failure))
                if answer.code == gone && failure.code != gone =>
            {
                Err(Failure::from(Error::RawBodyUnavailable))
            }
            (_, normalized) => normalized,
        };
        (action, normalized)
    }

    /// The configured provider, then the one the event came from.
    pub fn provider(&self) -> Option<Provider> {
        self.delivery.provider
    }

    /// The event's body inflated, when it was sent gzipped (`None` otherwise, and after it was
    /// taken): the body the handler's request reads, as adapters give it back. Taken, so that
    /// the flow (and a snapshot of it) holds no copy of up to `max_body_bytes` for the rest of
    /// the delivery (a review).
    pub fn take_inflated_body(&mut self) -> Option<Body> {
        self.inflated.take()
    }
}

/// Receive settings from their JSON text, checked ([`receive::machine::Settings::from_json_value`]).
pub fn receive_settings(settings_json: &str) -> Result<receive::machine::Settings> {
    Ok(receive::machine::Settings::from_json_value(json(
        settings_json,
        "settings: a JSON object of receiver settings",
    )?)?)
}

/// A machine input from its JSON text (`{"input": "body_read"}`, …).
pub fn machine_input(input_json: &str) -> Result<receive::machine::Input> {
    json(input_json, "input: a receive machine input")
}

/// Every entry point but the receiver's, by name; `args` is a JSON array of its arguments and
/// `bytes` the body or capture, for the entry points that take one. The result is its JSON text.
///
/// | name | args | result |
/// |---|---|---|
/// | `parse` | `[provider]` + body | the typed payload (with `inspect`) |
/// | `detect_provider` | `[method, url, [[name, value]…]]` + body | provider name |
/// | `retry_policy` | `[provider]` | [`crate::RetryPolicy`] |
/// | `ack` | `[provider, outcome]` | [`crate::Ack`] |
/// | `status_wins` | `[current or null, incoming]` | bool |
/// | `parse_time` | `[text]` | UNIX seconds |
/// | `parse_http_capture` | `[]` + capture | request (`headers` pairs, `body_base64`, `shown`: its redacted `Debug`; with `inspect`) |
/// | `decide` | `[step]` | [`crate::Answer`] |
/// | `check_now` | `[now]` | null, or `invalid_clock` |
/// | `raw_body_unavailable` | `[]` | the error's [`Failure`] (returned, not raised) |
/// | `sign` | `[provider, credentials, now, scheme or null, url or null]` + body (url: the receiver's full URL, for Twilio) | request (`body_base64`, `shown`) |
/// | `target_url` | `[base, signed url or null]` | `base` with each pair of the signed query it lacks ([`sign::target_url_for`]) |
/// | `sample` | `[provider, event_kind, overrides or null]` | the body (text) |
/// | `event_kinds` | `[provider]` | names, the default first |
/// | `identity` | `[provider, event_kind, serial]` | the overrides that make a sample event `serial` |
/// | `ledger_apply` | `[state or null, event]` | `{verdict, state}` |
/// | `ledger_update` | `[event]` | the store's flat values |
/// | `ledger_stores` | `[]` | each store's write and its parameter names |
/// | `dedupe_stores` | `[]` | the dedupe stores' shared texts ([`receive::stores::STORE_TEXTS`]: key prefix, Redis scripts) |
/// | `storage_key` | `[event_id]` | the name it is stored under ([`receive::stores::storage_key`]) |
/// | `receive_settings` | `[settings]` | the checked [`receive::machine::Settings`] (`invalid_option`) |
/// | `inbox_policy` | `[options]` | the checked [`crate::inbox::InboxPolicy`] (`invalid_option`) |
/// | `inbox_enqueued` | `[now]` | a new [`crate::inbox::InboxRecord`] |
/// | `orphaned_claim` | `[state or null, input]` | `{state, action}` ([`receive::orphan`]) |
/// | `inbox_step` | `[policy, record, event, now]` | `{record}` or `{refused: "not_due" \| "not_processing" \| "processing" \| "not_waiting"}` |
pub fn call(name: &str, args: &str, bytes: &[u8]) -> Result<String> {
    let args = Args::read(args)?;
    #[cfg(feature = "kit")]
    if let Some(output) = kit_entry(name, &args, bytes)? {
        return Ok(output);
    }
    entry_point(name)?(&args, bytes)
}

/// One entry point of [`call`]: its arguments and the body or capture in, its result's JSON
/// text out (each writes its own type, with no enum of every result type between).
type EntryPoint = fn(&Args<'_>, &[u8]) -> Result<String>;

/// The entry point of that name. Each is its own function, reached through a pointer (which
/// neither LLVM nor wasm-opt inlines), and writes its own result: inlined into one dispatch,
/// with one serializer for every result type, they made a 68 KB wasm function that V8 compiled
/// whole on the first call of any of them — ~3 ms of a Worker's first request, which builds its
/// handler and checks its clock through here (bench/PROFILE.md, 2026-12-04, thirteenth
/// session). A first call now compiles what it runs.
fn entry_point(name: &str) -> Result<EntryPoint> {
    Ok(match name {
        #[cfg(feature = "inspect")]
        "parse" => parse_entry,
        "detect_provider" => detect_provider_entry,
        "retry_policy" => retry_policy_entry,
        "ack" => ack_entry,
        "status_wins" => status_wins_entry,
        "parse_time" => parse_time_entry,
        #[cfg(feature = "inspect")]
        "parse_http_capture" => parse_http_capture_entry,
        "decide" => decide_entry,
        "receive_settings" => receive_settings_entry,
        "inbox_policy" => inbox_policy_entry,
        "inbox_enqueued" => inbox_enqueued_entry,
        "inbox_step" => inbox_step_entry,
        "orphaned_claim" => orphaned_claim_entry,
        "check_now" => check_now_entry,
        "raw_body_unavailable" => |_, _| to_json(&Failure::from(Error::RawBodyUnavailable)),
        "method_not_allowed" => |_, _| to_json(&Failure::from(Error::MethodNotAllowed)),
        "ledger_apply" => ledger_apply_entry,
        "ledger_update" => ledger_update_entry,
        "ledger_stores" => |_, _| to_json(&ledger::stores::STORE_TEXTS),
        "dedupe_stores" => |_, _| to_json(&receive::stores::STORE_TEXTS),
        "storage_key" => storage_key_entry,
        _ => return Err(invalid("no entry point of that name")),
    })
}

#[cfg(feature = "inspect")]
#[inline(never)]
fn parse_entry(args: &Args<'_>, bytes: &[u8]) -> Result<String> {
    to_json(&crate::parse(args.provider(0)?, bytes)?)
}

#[inline(never)]
fn detect_provider_entry(args: &Args<'_>, bytes: &[u8]) -> Result<String> {
    let headers: Pairs = args.get(2)?;
    let request = request(args.get(0)?, args.get(1)?, headers, bytes.to_vec());
    to_json(crate::detect_provider(&request)?.name())
}

#[inline(never)]
fn retry_policy_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&crate::retry_policy(args.provider(0)?))
}

#[inline(never)]
fn ack_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&crate::ack(args.provider(0)?, args.get(1)?))
}

#[inline(never)]
fn status_wins_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    let status = |i| {
        let name: String = args.get(i)?;
        DeliveryStatus::from_name(&name).ok_or_else(|| invalid("unknown delivery status"))
    };
    let current = match args.get::<Option<String>>(0)? {
        Some(_) => Some(status(0)?),
        None => None,
    };
    to_json(&crate::status_wins(current, status(1)?))
}

#[inline(never)]
fn storage_key_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&receive::stores::storage_key(&args.get::<String>(0)?))
}

#[inline(never)]
fn parse_time_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&time::parse_unix_seconds(&args.get::<String>(0)?, "now")?)
}

#[cfg(feature = "inspect")]
#[inline(never)]
fn parse_http_capture_entry(_: &Args<'_>, bytes: &[u8]) -> Result<String> {
    to_json(&with_shown(&WebhookRequest::from_http1(bytes)?))
}

/// A request's JSON form with `shown`: what a binding's repr or inspect of it prints (the
/// request's `Debug`: header values and query values of credentials `[REDACTED]`, the body's
/// size), so that no binding writes that rule again. A capture's repr showed its
/// `Authorization` and URL token (a review).
#[cfg(any(feature = "inspect", feature = "kit"))]
fn with_shown(request: &WebhookRequest) -> Value {
    let mut json = request.to_json_value();
    if let Value::Object(fields) = &mut json {
        fields.insert("shown".into(), Value::String(alloc::format!("{request:?}")));
    }
    json
}

#[inline(never)]
fn decide_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&receive::decide_json(args.raw(0)?)?)
}

#[inline(never)]
fn receive_settings_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&receive::machine::Settings::from_json_value(args.get(0)?)?)
}

#[inline(never)]
fn inbox_policy_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    // Through a `Value`, whose keys are sorted, as the inbox's records have always crossed.
    to_json(&value_of(&crate::inbox::InboxPolicy::from_json_value(
        &args.get::<Value>(0)?,
    )?)?)
}

#[inline(never)]
fn inbox_enqueued_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&value_of(&crate::inbox::enqueued(args.get(0)?))?)
}

#[inline(never)]
fn inbox_step_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    let policy = crate::inbox::InboxPolicy::from_json_value(&args.get::<Value>(0)?)?;
    let record: crate::inbox::InboxRecord = args.get(1)?;
    let event: crate::inbox::InboxEvent = args.get(2)?;
    to_json(
        &match crate::inbox::step(&policy, &record, &event, args.get(3)?) {
            Ok(record) => serde_json::json!({ "record": value_of(&record)? }),
            Err(refusal) => serde_json::json!({ "refused": value_of(&refusal)? }),
        },
    )
}

#[inline(never)]
fn orphaned_claim_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&receive::orphan::step_json(
        &args.get::<Value>(0)?,
        &args.get::<Value>(1)?,
    )?)
}

/// A clock's first reading, at creation: a number of UNIX seconds, nothing else
/// (`undefined`/`None`, text, a Date's object). Which value it was is not told.
#[inline(never)]
fn check_now_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    let reading = args.get::<serde_json::Value>(0)?.as_f64().ok_or_else(|| {
        crate::request::invalid_option("clock", "a function returning UNIX seconds (a number)")
    })?;
    crate::check_now(seconds(reading)?)?;
    Ok(String::from("null"))
}

#[inline(never)]
fn ledger_apply_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&ledger::apply_json(args.raw(0)?, args.raw(1)?)?)
}

#[inline(never)]
fn ledger_update_entry(args: &Args<'_>, _: &[u8]) -> Result<String> {
    to_json(&StatusUpdate::from_event_json(args.raw(0)?)?)
}

/// The test kit's entry points (`sign`, `sample`, `event_kinds`, `identity`) and, with
/// `inspect`, `parse` and `parse_http_capture`: what the kit's own wasm module exports, so that
/// the module a receiver loads holds no signing, sample or typed-payload code.
#[cfg(feature = "kit")]
pub fn call_kit(name: &str, args: &str, bytes: &[u8]) -> Result<String> {
    let args = Args::read(args)?;
    if let Some(output) = kit_entry(name, &args, bytes)? {
        return Ok(output);
    }
    match name {
        #[cfg(feature = "inspect")]
        "parse" | "parse_http_capture" => entry_point(name)?(&args, bytes),
        _ => Err(invalid("no entry point of that name")),
    }
}

#[cfg(feature = "kit")]
fn kit_entry(name: &str, args: &Args<'_>, bytes: &[u8]) -> Result<Option<String>> {
    Ok(Some(match name {
        "sign" => {
            let (provider, now, scheme): (String, f64, Option<String>) =
                (args.get(0)?, args.get(2)?, args.get(3)?);
            let provider = Provider::from_name(&provider)?;
            let credentials = Credentials::from_json_value(args.get(1)?)?;
            let scheme = scheme.as_deref().map(sign::Scheme::from_name).transpose()?;
            // The receiver's full URL, for a provider that signs the URL it calls (Twilio);
            // optional: older callers pass four arguments.
            let url: Option<String> = match args.raw(4) {
                Ok(_) => args.get(4)?,
                Err(_) => None,
            };
            // How its parameters travel (`body`, `form`, `query`); optional like `url`.
            let transport: Option<String> = match args.raw(5) {
                Ok(_) => args.get(5)?,
                Err(_) => None,
            };
            let transport = transport
                .as_deref()
                .map(sign::Transport::from_name)
                .transpose()?;
            let now = seconds(now)?;
            let signed = match (url, transport) {
                (url, Some(transport)) if transport != sign::Transport::Body => {
                    let url = url.as_deref().unwrap_or(sign::DEFAULT_URL);
                    sign::sign_as(provider, bytes, &credentials, now, scheme, url, transport)?
                }
                (Some(url), _) => {
                    sign::sign_for_url(provider, bytes, &credentials, now, scheme, &url)?
                }
                (None, _) => sign::sign(provider, bytes, &credentials, now, scheme)?,
            };
            to_json(&with_shown(&signed))?
        }
        "sample" => {
            let (provider, kind): (String, String) = (args.get(0)?, args.get(1)?);
            let overrides: Value = serde_json::from_slice(args.raw(2)?)
                .map_err(|_| invalid("overrides: expected JSON text"))?;
            let body = sample::sample(Provider::from_name(&provider)?, &kind, &overrides)?;
            to_json(&String::from_utf8(body).map_err(|_| invalid("sample: not UTF-8"))?)?
        }
        "identity" => {
            let (provider, kind, serial): (String, String, u64) =
                (args.get(0)?, args.get(1)?, args.get(2)?);
            to_json(&sample::identity_overrides(
                Provider::from_name(&provider)?,
                &kind,
                serial,
            ))?
        }
        "target_url" => {
            let (base, signed_url): (String, Option<String>) = (args.get(0)?, args.get(1)?);
            to_json(&sign::target_url_for(&base, signed_url.as_deref()))?
        }
        "event_kinds" => {
            let provider = Provider::from_name(&args.get::<String>(0)?)?;
            to_json(
                &sample::event_kinds(provider)
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>(),
            )?
        }
        _ => return Ok(None),
    }))
}

/// The arguments of one [`call`], each read as its own type when the entry point needs it.
struct Args<'a>(Vec<&'a RawValue>);

impl<'a> Args<'a> {
    /// The arguments from their JSON array (out of line: see [`entry_point`]).
    #[inline(never)]
    fn read(args: &'a str) -> Result<Self> {
        json(
            args,
            "arguments: a JSON array of the entry point's arguments",
        )
        .map(Args)
    }

    fn raw(&self, index: usize) -> Result<&'a [u8]> {
        match self.0.get(index) {
            Some(raw) => Ok(raw.get().as_bytes()),
            None => Err(invalid("arguments: fewer than the entry point takes")),
        }
    }

    fn get<T: serde::Deserialize<'a>>(&self, index: usize) -> Result<T> {
        let raw = self.raw(index)?;
        serde_json::from_slice(raw).map_err(|_| invalid("arguments: one has the wrong type"))
    }

    fn provider(&self, index: usize) -> Result<Provider> {
        Ok(Provider::from_name(&self.get::<String>(index)?)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::indexing_slicing, clippy::panic)] // a test: a panic is its failure report
    fn a_flow_keeps_the_delivery_and_feeds_its_normalize_step_to_the_machine() {
        use receive::machine::{Action, Input};
        let payload: Value =
            serde_json::from_str(include_str!("../../bench/payloads/limephone.json")).unwrap();
        let credentials = payload["credentials"].to_string();
        let receiver = Receiver::new(Some("limephone"), &credentials, "null").unwrap();
        let settings = receive_settings(
            r#"{"provider":"limephone","max_body_bytes":4096,"store":true,"lease_secs":60}"#,
        )
        .unwrap();
        let headers: Pairs = payload["request"]["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().into()))
            .collect();
        let body = payload["request"]["body"]
            .as_str()
            .unwrap()
            .as_bytes()
            .to_vec();
        let now = payload["now"].as_f64().unwrap();

        let (mut flow, action) = Flow::start(settings, "POST".into(), None, headers.clone());
        assert_eq!(action, Action::ReadBody { max_bytes: 4096 });
        assert_eq!(
            flow.next(Input::BodyRead {
                length: body.len() as u64
            }),
            Action::Normalize
        );
        let (action, event) = flow.normalize(&receiver, body.clone(), now);
        let event = event.unwrap();
        assert_eq!(event.provider, Provider::LimePhone);
        assert_eq!(
            action,
            Action::Claim {
                key: event.id.clone(),
                lease_secs: 60,
                deadline_ms: 1_000
            }
        );
        assert_eq!(flow.provider(), Some(Provider::LimePhone));
        assert_eq!(flow.take_inflated_body(), None);

        // Sent gzipped: the event's body inflated is kept for the handler's request.
        let mut gzipped_headers = headers.clone();
        gzipped_headers.push(("Content-Encoding".into(), "gzip".into()));
        let mut gzipped = alloc::vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        gzipped.extend(miniz_oxide::deflate::compress_to_vec(&body, 6));
        gzipped.extend(
            [0, 0, 0, 0]
                .iter()
                .chain(&(body.len() as u32).to_le_bytes()),
        );
        let (mut inflated, _) = Flow::start(settings, "POST".into(), None, gzipped_headers);
        inflated.next(Input::BodyRead {
            length: gzipped.len() as u64,
        });
        let (_, same) = inflated.normalize(&receiver, gzipped, now);
        assert_eq!(same.unwrap().id, event.id);
        assert_eq!(inflated.take_inflated_body().as_deref(), Some(&body[..]));
        assert_eq!(inflated.take_inflated_body(), None);

        // One byte changed: refused by verification, and the machine answers that refusal.
        let (mut forged, _) = Flow::start(settings, "POST".into(), None, headers);
        forged.next(Input::BodyRead {
            length: body.len() as u64,
        });
        let tampered = body
            .iter()
            .map(|byte| if *byte == b'1' { b'2' } else { *byte });
        let (action, refused) = forged.normalize(&receiver, tampered.collect::<Vec<u8>>(), now);
        let refused = refused.unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Verification);
        let Action::Answer { answer, .. } = action else {
            panic!("a refused body is answered, not {action:?}")
        };
        assert_eq!(answer.code, refused.code);
        // A clock that is not whole seconds is refused as the clock, before any verification.
        let (mut clock, _) = Flow::start(settings, "POST".into(), None, Vec::new());
        clock.next(Input::BodyRead { length: 2 });
        assert_eq!(
            clock.normalize(&receiver, body, 1.5).1.unwrap_err().code,
            "invalid_clock"
        );
    }

    /// The vector's event, normalized by the core.
    #[allow(clippy::indexing_slicing)] // a test: a panic is its failure report
    fn vector_event(vector: &str) -> NormalizedEvent {
        let vector: Value = serde_json::from_str(vector).unwrap();
        let request = WebhookRequest::from_json_value(vector["request"].clone()).unwrap();
        let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
        let provider = Provider::from_json(&vector["provider"]).unwrap();
        crate::normalize_event(
            provider,
            &request,
            &credentials,
            vector["now"].as_i64().unwrap(),
        )
        .unwrap()
    }

    #[test]
    #[allow(clippy::indexing_slicing)] // a test: a panic is its failure report
    fn a_long_message_text_crosses_once_apart_and_the_event_reads_the_same() {
        let short = vector_event(include_str!(
            "../../tests/vectors/limephone/doc_sms_received.json"
        ));
        // No long text: the event's plain JSON, whatever the size hint.
        for hint in [0, 1, 16 * 1024] {
            assert_eq!(
                event_text(short.clone(), hint).unwrap(),
                EventText {
                    json: to_json(&short).unwrap(),
                    text: None
                }
            );
        }
        for (vector, path) in [
            (
                include_str!("../../tests/vectors/limephone/long_message_text.json"),
                r#"["message_content"]"#,
            ),
            (
                include_str!("../../tests/vectors/limephone/long_message_text_24k.json"),
                r#"["message_content"]"#,
            ),
            (
                include_str!("../../tests/vectors/telnyx/message_received_long_text.json"),
                r#"["data","payload","text"]"#,
            ),
        ] {
            let event = vector_event(vector);
            let expected = serde_json::to_value(&event).unwrap();
            let long_text = event.message.as_ref().unwrap().text.clone().unwrap();
            for hint in [0, 16 * 1024, 30_000] {
                let EventText { json, text } = event_text(event.clone(), hint).unwrap();
                assert_eq!(text.as_deref(), Some(long_text.as_str()));
                let (json, written_path) = json.rsplit_once('\n').unwrap();
                assert_eq!(written_path, path);
                // Neither place holds the text in the JSON: it crosses once, apart.
                assert!(!json.contains(&long_text[..64]));
                let mut host: Value = serde_json::from_str(json).unwrap();
                assert_eq!(host["message"]["text"], Value::Null);
                // What the host does: the text goes at the path in raw and in message.text.
                let steps: Vec<String> = serde_json::from_str(written_path).unwrap();
                let slot = steps
                    .iter()
                    .fold(&mut host["raw"], |value, step| &mut value[step.as_str()]);
                assert_eq!(*slot, Value::Null);
                *slot = Value::String(long_text.clone());
                host["message"]["text"] = Value::String(long_text.clone());
                assert_eq!(host, expected);
            }
            // A long text that raw does not hold as one string (parts joined, say) is written.
            let mut joined = event.clone();
            if let Some(message) = joined.message.as_mut() {
                message.text = Some("x".repeat(SHARED_TEXT_MIN_BYTES));
            }
            assert_eq!(
                event_text(joined.clone(), 16 * 1024).unwrap(),
                EventText {
                    json: to_json(&joined).unwrap(),
                    text: None
                }
            );
        }
        // Nested in an array too: an index is a step.
        let mut listed = short.clone();
        let text = "y".repeat(SHARED_TEXT_MIN_BYTES);
        listed.raw = serde_json::json!({"parts": [{"body": "a"}, {"body": text}]});
        if let Some(message) = listed.message.as_mut() {
            message.text = Some(text.clone());
        }
        let written = event_text(listed, 0).unwrap();
        assert!(
            written
                .json
                .ends_with("{\"body\":null}]}}\n[\"parts\",1,\"body\"]"),
            "{}",
            written.json
        );
        assert_eq!(written.text, Some(text.clone()));
        // `raw` that is itself the text (no provider gives one): written whole, nothing apart.
        let mut whole = short;
        whole.raw = Value::String(text.clone());
        if let Some(message) = whole.message.as_mut() {
            message.text = Some(text);
        }
        assert_eq!(
            event_text(whole.clone(), 0).unwrap(),
            EventText {
                json: to_json(&whole).unwrap(),
                text: None
            }
        );
    }

    proptest::proptest! {
        /// wasm's comparison answers as `==`: equal texts, one byte changed anywhere, lengths
        /// that differ.
        #[test]
        fn words_compare_as_bytes_do(text in proptest::collection::vec(proptest::num::u8::ANY, 0..40), at in 0..40usize, by in 1..=255u8) {
            proptest::prop_assert!(same_words(&text, &text));
            let mut changed = text.clone();
            if let Some(byte) = changed.get_mut(at) {
                *byte = byte.wrapping_add(by);
                proptest::prop_assert!(!same_words(&text, &changed));
            }
            proptest::prop_assert!(!same_words(&text, &[text.as_slice(), b"x"].concat()));
        }
    }

    #[test]
    fn errors_cross_with_their_field_and_what_was_expected() {
        let failure = Failure::from(Error::MissingSignature {
            header: "X-Lime-Signature",
        });
        assert_eq!(failure.code, "missing_signature");
        assert_eq!(failure.kind, ErrorKind::Verification);
        assert_eq!(failure.field.as_deref(), Some("headers.x-lime-signature"));
        let clock = call("check_now", "[1780000000000]", b"").unwrap_err();
        assert_eq!(
            (clock.code, clock.field.as_deref()),
            ("invalid_clock", Some("now"))
        );
        assert!(clock.expected.unwrap().contains("UNIX seconds"));
        // A clock that returned no number (undefined, None, text) names the option.
        for reading in ["[null]", r#"["2026-01-21"]"#, "[true]"] {
            let clock = call("check_now", reading, b"").unwrap_err();
            assert_eq!(
                (clock.code, clock.kind, clock.field.as_deref()),
                ("invalid_option", ErrorKind::Configuration, Some("clock"))
            );
            assert!(!clock.message.contains("2026"));
        }
        // Receiver settings: each wrong one by its name.
        for (settings, option) in [
            (
                r#"[{"max_body_bytes": 10, "store": true, "lease_secs": -1}]"#,
                "lease_secs",
            ),
            (
                r#"[{"max_body_bytes": 10, "store": true, "dedupe_ttl_secs": "1h"}]"#,
                "dedupe_ttl_secs",
            ),
            (
                r#"[{"max_body_bytes": 10, "store": true, "store_deadline_ms": 1.5}]"#,
                "store_deadline_ms",
            ),
            (
                r#"[{"max_body_bytes": 10, "store": true, "lease": 5}]"#,
                "lease",
            ),
            (
                r#"[{"max_body_bytes": 0, "store": true}]"#,
                "max_body_bytes",
            ),
        ] {
            let error = call("receive_settings", settings, b"").unwrap_err();
            assert_eq!(
                (error.code, error.field.as_deref()),
                ("invalid_option", Some(option))
            );
            assert!(!error.message.contains("1h") && !error.message.contains("1.5"));
        }
        let json = Failure::from(Error::MethodNotAllowed).to_json();
        assert!(
            json.contains(r#""field":"method","expected":"POST""#),
            "{json}"
        );
    }

    #[test]
    fn entry_points_read_their_arguments_by_name() {
        assert_eq!(
            call("status_wins", r#"[null, "sent"]"#, b"").unwrap(),
            "true"
        );
        assert_eq!(
            call("parse_time", r#"["2026-01-21T12:53:20Z"]"#, b"").unwrap(),
            "1769000000"
        );
        let ack = call("ack", r#"["lisoloo", "accepted"]"#, b"").unwrap();
        assert!(ack.starts_with(r#"{"status":200,"#), "{ack}");
        for (name, args) in [("ack", "[\"lisoloo\"]"), ("nope", "[]"), ("decide", "{")] {
            assert_eq!(call(name, args, b"").unwrap_err().code, "invalid_request");
        }
        assert_eq!(
            call("retry_policy", r#"["nobody"]"#, b"").unwrap_err().code,
            "unknown_provider"
        );
    }

    /// Each entry point (its own function since the dispatch was split) gives the JSON text of
    /// what its core function returns for those arguments.
    #[test]
    #[allow(clippy::indexing_slicing, clippy::panic)] // a test: a panic is its failure report
    fn each_entry_point_writes_its_core_functions_result() {
        // A message status event as the ledger reads it: the first of a ledger vector's.
        let vector: Value = serde_json::from_str(include_str!(
            "../../tests/ledger/gatewayapi_many_reports_one_message.json"
        ))
        .unwrap();
        let event = vector["events"][0].to_string();
        let settings =
            serde_json::json!({"provider": "lisoloo", "store": true, "max_body_bytes": 1024});
        let detect = request(
            "POST".into(),
            None,
            alloc::vec![("x-lisoloo-signature".into(), "x".into())],
            b"{}".to_vec(),
        );
        #[allow(unused_mut)] // without `inspect`, nothing is added
        let mut expected: Vec<(&str, String, &[u8], String)> = alloc::vec![
            ("check_now", "[1780000000]".into(), b"", "null".into()),
            (
                "status_wins",
                r#"[null, "sent"]"#.into(),
                b"",
                "true".into(),
            ),
            (
                "parse_time",
                r#"["2026-01-21T12:53:20Z"]"#.into(),
                b"",
                "1769000000".into(),
            ),
            (
                "detect_provider",
                r#"["POST", null, [["x-lisoloo-signature", "x"]]]"#.into(),
                b"{}",
                to_json(crate::detect_provider(&detect).unwrap().name()).unwrap(),
            ),
            (
                "inbox_enqueued",
                "[1780000000]".into(),
                b"",
                to_json(&value_of(&crate::inbox::enqueued(1_780_000_000)).unwrap()).unwrap(),
            ),
            (
                "retry_policy",
                r#"["lisoloo"]"#.into(),
                b"",
                to_json(&crate::retry_policy(Provider::Lisoloo)).unwrap(),
            ),
            (
                "ack",
                r#"["lisoloo", "accepted"]"#.into(),
                b"",
                to_json(&crate::ack(
                    Provider::Lisoloo,
                    serde_json::from_str(r#""accepted""#).unwrap(),
                ))
                .unwrap(),
            ),
            (
                "decide",
                r#"[{"step":"handled","provider":"limephone","status":204}]"#.into(),
                b"",
                to_json(
                    &receive::decide_json(
                        br#"{"step":"handled","provider":"limephone","status":204}"#,
                    )
                    .unwrap(),
                )
                .unwrap(),
            ),
            (
                "raw_body_unavailable",
                "[]".into(),
                b"",
                to_json(&Failure::from(Error::RawBodyUnavailable)).unwrap(),
            ),
            (
                "ledger_apply",
                alloc::format!("[null, {event}]"),
                b"",
                to_json(&ledger::apply_json(b"null", event.as_bytes()).unwrap()).unwrap(),
            ),
            (
                "ledger_update",
                alloc::format!("[{event}]"),
                b"",
                to_json(&StatusUpdate::from_event_json(event.as_bytes()).unwrap()).unwrap(),
            ),
            (
                "ledger_stores",
                "[]".into(),
                b"",
                to_json(&ledger::stores::STORE_TEXTS).unwrap(),
            ),
            (
                "receive_settings",
                alloc::format!("[{settings}]"),
                b"",
                to_json(&receive::machine::Settings::from_json_value(settings.clone()).unwrap())
                    .unwrap(),
            ),
        ];
        #[cfg(feature = "inspect")]
        {
            let lisoloo = br#"{"event_id": "e1", "event_type": "message.delivered"}"#;
            let capture = b"POST /hook HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{}";
            expected.push((
                "parse",
                r#"["lisoloo"]"#.into(),
                lisoloo,
                to_json(&crate::parse(Provider::Lisoloo, lisoloo).unwrap()).unwrap(),
            ));
            expected.push((
                "parse_http_capture",
                "[]".into(),
                capture,
                to_json(&with_shown(&WebhookRequest::from_http1(capture).unwrap())).unwrap(),
            ));
        }
        for (name, args, bytes, text) in expected {
            let written =
                call(name, &args, bytes).unwrap_or_else(|failure| panic!("{name}: {failure:?}"));
            assert_eq!(written, text, "{name}");
        }
    }

    #[test]
    fn the_receiver_checks_its_configuration_when_built() {
        let missing = Receiver::new(Some("lisoloo"), "null", "null").unwrap_err();
        assert_eq!(missing.code, "missing_credentials");
        let zero = Receiver::new(
            None,
            r#"{"insecure_skip_verification": true}"#,
            r#"{"max_body_bytes": 0}"#,
        );
        let zero = zero.unwrap_err();
        assert_eq!(
            (zero.code, zero.kind, zero.field.as_deref()),
            (
                "invalid_option",
                ErrorKind::Configuration,
                Some("max_body_bytes")
            )
        );
        // An empty or blank secret names the exact credential, as a missing one does.
        for (credentials, field) in [
            (r#"{"hmac_sha256": ""}"#, "credentials.hmac_sha256"),
            (r#"{"bearer": ["ok-token", " "]}"#, "credentials.bearer"),
            (
                r#"{"basic": {"username": "u", "password": ""}}"#,
                "credentials.basic.password",
            ),
            (r#"{"hmac_sha256": 7}"#, "credentials"),
        ] {
            let blank = Receiver::new(Some("lisoloo"), credentials, "null").unwrap_err();
            assert_eq!(
                (blank.code, blank.field.as_deref()),
                ("invalid_credentials", Some(field)),
                "{credentials}"
            );
        }
        let receiver = Receiver::new(None, r#"{"insecure_skip_verification": true}"#, "null");
        assert!(receiver
            .unwrap()
            .to_string()
            .starts_with("Receiver(provider=None"));
    }
}
