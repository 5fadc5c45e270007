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
    serde_json::from_value(value).map_err(|e| Error::InvalidRequest {
        reason: alloc::format!("options: {e}"),
    })
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
