//! The JSON forms of the inputs — the shape used by the conformance vectors, the CLI and the
//! bindings — so that every runtime converts them with this one piece of code.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::{
    normalize_event_with, Credentials, NormalizedEvent, Options, Provider, WebhookRequest,
};

/// `null`/absent means "detect"; anything else must name a provider.
pub fn provider_from_json(value: &Value) -> Result<Option<Provider>> {
    match value {
        Value::Null => Ok(None),
        Value::String(name) => Provider::from_name(name).map(Some),
        _ => Err(Error::InvalidRequest {
            reason: alloc::string::String::from("provider must be a string or null"),
        }),
    }
}

/// Options from JSON; `null` means defaults.
pub fn options_from_json(value: Value) -> Result<Options> {
    if value.is_null() {
        return Ok(Options::default());
    }
    let options: Options = serde_json::from_value(value).map_err(|e| Error::InvalidRequest {
        reason: alloc::format!("options: {e}"),
    })?;
    // A zero cap refuses every delivery with a 413, which Lisoloo takes as "drop the event":
    // refuse it when the receiver is built instead.
    if options.max_body_bytes == 0 {
        return Err(Error::InvalidRequest {
            reason: alloc::string::String::from("options: max_body_bytes must be at least 1"),
        });
    }
    Ok(options)
}

/// [`normalize_event_with`] on the JSON forms of its inputs.
pub fn normalize_json(
    provider: &Value,
    request: Value,
    credentials: Value,
    now: i64,
    options: Value,
) -> Result<NormalizedEvent> {
    let provider = provider_from_json(provider)?;
    let request = WebhookRequest::from_json_value(request)?;
    let credentials = Credentials::from_json_value(credentials)?;
    let options = options_from_json(options)?;
    normalize_event_with(provider, &request, &credentials, now, &options)
}

/// [`crate::sign::sign`] on JSON forms: the provider's name, credentials as JSON, the scheme's
/// name or `None`; the request comes back in the JSON form (`body_base64`).
pub fn sign_json(
    provider: &str,
    body: &[u8],
    credentials: Value,
    now: i64,
    scheme: Option<&str>,
) -> Result<Value> {
    let provider = Provider::from_name(provider)?;
    let credentials = Credentials::from_json_value(credentials)?;
    let scheme = scheme.map(crate::sign::Scheme::from_name).transpose()?;
    crate::sign::sign(provider, body, &credentials, now, scheme).map(|r| r.to_json_value())
}

/// [`crate::sample::sample`] with the overrides as JSON text (`"null"` for none).
pub fn sample_json(
    provider: &str,
    event_kind: &str,
    overrides_json: &str,
) -> Result<alloc::vec::Vec<u8>> {
    let provider = Provider::from_name(provider)?;
    let overrides: Value =
        serde_json::from_str(overrides_json).map_err(|_| Error::InvalidRequest {
            reason: alloc::string::String::from("overrides: expected JSON text"),
        })?;
    crate::sample::sample(provider, event_kind, &overrides)
}

/// The names of [`crate::sample::event_kinds`], for bindings.
pub fn event_kind_names(provider: &str) -> Result<alloc::vec::Vec<&'static str>> {
    let provider = Provider::from_name(provider)?;
    Ok(crate::sample::event_kinds(provider)
        .iter()
        .map(|k| k.name)
        .collect())
}
