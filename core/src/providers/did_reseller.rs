//! The DID/VoIP reseller's record web hooks: `{type, schema, data}` where `data` is the
//! changed record as a JSON *string*, or the error form `{type, schema, status, verbose}`.
//!
//! Auth: none is documented, so the receiver protects its URL: a secret `?token=` (parameter
//! name configurable) or HTTP Basic; either configured scheme that is present must pass.
//! Idempotency key: no event id exists, so `did_reseller:sha256:<hex of the raw body>`.
//! Unknown schemas normalize as generic record changes; `type` outside insert/update/delete
//! is an `invalid_payload` error (the doc names exactly those three).

use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Context;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{redact, EventType, NormalizedEvent, Record, RecordAction};
use crate::request::WebhookRequest;
use crate::verify as scheme;

const DEFAULT_TOKEN_PARAM: &str = "token";

/// The web hook envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordHook {
    #[serde(rename = "type")]
    pub change: String,
    pub schema: String,
    /// The record, JSON-encoded in a string (an already-decoded object is accepted too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbose: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RecordHook {
    /// The record, decoded from its string form.
    pub fn decoded_data(&self) -> Result<Option<Map<String, Value>>> {
        let decoded = match &self.data {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) => serde_json::from_str::<Value>(text)
                .map_err(|_| Error::MalformedNestedJson { field: "data" })?,
            Some(other) => other.clone(),
        };
        match decoded {
            Value::Object(map) => Ok(Some(map)),
            _ => Err(Error::invalid_payload("data must hold a JSON object")),
        }
    }
}

pub(crate) fn verify(request: &WebhookRequest, credentials: &Credentials) -> Result<()> {
    if credentials.url_token.is_empty() && credentials.basic.is_empty() {
        return Err(Error::MissingCredentials {
            provider: "did_reseller",
        });
    }
    if !credentials.url_token.is_empty() {
        let param = credentials
            .url_token_param
            .as_deref()
            .unwrap_or(DEFAULT_TOKEN_PARAM);
        if let Some(token) = request.query_param(param)? {
            return scheme::token::verify_token(&credentials.url_token, &token);
        }
    }
    if !credentials.basic.is_empty() {
        if let Some(authorization) = request.header("authorization")? {
            return scheme::basic::verify_header(&credentials.basic, authorization);
        }
    }
    Err(Error::MissingAuthorization)
}

pub(crate) fn body_matches(body: &Map<String, Value>) -> bool {
    body.contains_key("schema") && body.get("type").is_some_and(Value::is_string)
}

pub(crate) fn normalize(
    payload: RecordHook,
    mut raw: Value,
    context: &Context<'_>,
) -> Result<NormalizedEvent> {
    let action = match payload.change.as_str() {
        "insert" => RecordAction::Created,
        "update" => RecordAction::Updated,
        "delete" => RecordAction::Deleted,
        _ => {
            return Err(Error::invalid_payload(
                "type must be insert, update or delete",
            ))
        }
    };
    let is_error = payload
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("error"));
    let data = if is_error {
        None
    } else {
        payload.decoded_data()?
    };
    if !is_error && data.is_none() {
        return Err(Error::invalid_payload(
            "a record change needs data (or status \"error\")",
        ));
    }
    let mut data = data.map(Value::Object);
    if let Some(data) = data.as_mut() {
        redact(data);
        // raw carries the decoded record so that its secrets can be redacted too.
        if let Value::Object(envelope) = &mut raw {
            envelope.insert(String::from("data"), data.clone());
        }
    }
    let event_type = match (is_error, action) {
        (true, _) => EventType::ProvisioningFailed,
        (false, RecordAction::Created) => EventType::RecordCreated,
        (false, RecordAction::Updated) => EventType::RecordUpdated,
        (false, RecordAction::Deleted) => EventType::RecordDeleted,
    };
    let record_id = data
        .as_ref()
        .and_then(|d| d.get("id"))
        .and_then(|id| match id {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
    let provider_event_type = alloc::format!("{}.{}", payload.schema, payload.change);
    let mut event = context.event(context.derived_key(), event_type, &provider_event_type, raw);
    event.record = Some(Record {
        action,
        schema: payload.schema,
        id: record_id,
        data,
        error: if is_error {
            Some(payload.verbose.unwrap_or_default())
        } else {
            None
        },
    });
    Ok(event)
}
