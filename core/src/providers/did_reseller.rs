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
use super::{defaults, from_value, Payload, Provider, Spec};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{EventType, NormalizedEvent, Record, RecordAction};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// The DID reseller documents no retries: assume none (retry.rs keeps the 24 h minimum dedupe
/// window).
const RETRY: RetrySchedule = RetrySchedule {
    documented: false,
    timeout_secs: 15,
    retry_delays_secs: &[],
    jitter: false,
    ack_statuses: StatusRange::ANY_2XX,
    permanent_failure_statuses: None,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify: |request, credentials, _now| verify(request, credentials),
    named_by_headers: defaults::named_by_no_header,
    body_matches,
    parse: |raw| Ok(Payload::DidReseller(from_value(raw)?)),
    normalize: |raw, context| normalize(from_value(&raw)?, raw, context),
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: None,
    sign: |scheme, request, credentials, _now| sign(scheme, request, credentials),
    sign_expired: defaults::cannot_expire,
    sample_kinds: SAMPLE_KINDS,
    sample,
    encode_sample: encode_sample_data,
    identity,
    redacted_keys: &["wireless_pin", "inbox_pin", "account_number", "credit_line"],
    out_of_order: None,
};

/// The top-level payload type (`Payload::DidReseller`).
pub type Body = RecordHook;

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

fn verify(request: &WebhookRequest, credentials: &Credentials) -> Result<()> {
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

/// Percent-encodes all but RFC 3986's unreserved characters, so a token reads as it was
/// configured wherever that is possible.
const URL_UNRESERVED_KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Nothing is documented; these are the two ways a receiver can protect its URL.
const SCHEMES: &[Scheme] = &[Scheme::UrlToken, Scheme::Basic];

fn sign(
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
) -> Result<()> {
    match scheme {
        Scheme::UrlToken => {
            let token = kit::text(kit::first(&credentials.url_token, Provider::DidReseller)?)?;
            let param = credentials
                .url_token_param
                .as_deref()
                .unwrap_or(DEFAULT_TOKEN_PARAM);
            let encode = |text: &str| {
                percent_encoding::utf8_percent_encode(text, URL_UNRESERVED_KEPT).to_string()
            };
            let path = request.url.as_deref().unwrap_or("/");
            let separator = if path.contains('?') { '&' } else { '?' };
            request.url = Some(alloc::format!(
                "{path}{separator}{}={}",
                encode(param),
                encode(token)
            ));
            Ok(())
        }
        _ => kit::add_basic(request, credentials, Provider::DidReseller),
    }
}

fn body_matches(body: &Map<String, Value>) -> bool {
    body.contains_key("schema") && body.get("type").is_some_and(Value::is_string)
}

fn normalize(
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
    // Already redacted (normalize redacts the body first, JSON inside strings included).
    let data = data.map(Value::Object);
    if let Some(data) = data.as_ref() {
        // raw carries the decoded record, the form a receiver reads.
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

/// Record changes for several schemas named in the docs, and the error form.
const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("dids.update", EventType::RecordUpdated),
    SampleKind::new("dids.insert", EventType::RecordCreated),
    SampleKind::new("dids.delete", EventType::RecordDeleted),
    SampleKind::new("lnp_requests.insert", EventType::RecordCreated),
    SampleKind::new("voicemail_inboxes.update", EventType::RecordUpdated),
    SampleKind::new("faxes.insert", EventType::RecordCreated),
    SampleKind::new("sms_enablement.error", EventType::ProvisioningFailed),
];

/// `data` is an object here so that overrides can reach into it; `encode_sample_data`
/// turns it into the JSON string the reseller sends.
fn sample(kind: &str) -> Option<Value> {
    if kind == "sms_enablement.error" {
        return Some(serde_json::json!({
            "type": "update", "schema": "sms_enablement", "status": "error",
            "verbose": "already provisioned",
        }));
    }
    let (schema, change) = kind.split_once('.')?;
    let data = match schema {
        "dids" if change == "delete" => serde_json::json!({"id": 48213}),
        "dids" => serde_json::json!({
            "id": 48213, "user_id": 311, "call_flow_id": 12, "channel_group_id": null,
            "voicemail_inbox_id": 7, "number": "3035551234", "number_type": "local",
            "state": "CO", "ratecenter": "DENVER", "sms_enabled": 1, "xmpp_enabled": 0,
            "inbound_cnam": 1,
        }),
        "lnp_requests" => serde_json::json!({
            "id": 902, "user_id": 311, "btn": "3035550000", "location_type": "business",
            "business_name": "Acme", "account_number": "ACCT-99812", "service_state": "CO",
            "service_zip": "80202", "partial_port": 0, "wireless_number": 1,
            "wireless_pin": "4321", "request_status": "submitted", "foc_date": "2026-02-01",
        }),
        "voicemail_inboxes" => serde_json::json!({
            "id": 7, "user_id": 311, "inbox_number": "100", "inbox_name": "Sales",
            "inbox_pin": "0000", "transcribe": 1,
        }),
        "faxes" => serde_json::json!({
            "id": 55, "did_id": 48213, "fax_status": "received", "direction": "inbound",
            "source_did": "3035559876", "destination_did": "3035551234", "pages": 2,
        }),
        _ => return None,
    };
    SAMPLE_KINDS.iter().find(|k| k.name == kind)?;
    Some(serde_json::json!({"type": change, "schema": schema, "data": data}))
}

/// The reseller sends `data` JSON-encoded inside a string.
fn encode_sample_data(sample: &mut Value) {
    if let Some(data) = sample.get_mut("data") {
        if data.is_object() {
            *data = Value::String(data.to_string());
        }
    }
}

/// The key is a hash of the body, so a different record id (or error text) is a new event.
fn identity(kind: &str, serial: u64) -> Value {
    if kind == "sms_enablement.error" {
        serde_json::json!({"verbose": alloc::format!("already provisioned (request {serial})")})
    } else {
        serde_json::json!({"data": {"id": serial}})
    }
}
