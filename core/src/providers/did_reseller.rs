//! The DID/VoIP reseller's record web hooks: `{type, schema, data}` where `data` is the
//! changed record as a JSON *string*, or the error form `{type, schema, status, verbose}`.
//!
//! Auth: none is documented, so the receiver protects its URL: a secret `?token=` (parameter
//! name configurable) or HTTP Basic; either configured scheme that is present must pass.
//! Idempotency key: no event id exists, so `did_reseller:sha256:<hex of the raw body>`. The
//! payloads carry no event id, time or sequence either, so two identical bodies may be two
//! real changes (a setting switched on, off and on again; a second "already provisioned"):
//! the dedupe window is only as long as a redelivery could come (`RETRY` below).
//! Unknown schemas normalize as generic record changes; a `type` outside
//! insert/update/delete (the doc names exactly those three) is an `other` event.

use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Context;
use super::{defaults, Provider, Spec, BodyKeys};
use crate::credentials::Credentials;
use crate::fields::Fields;
use crate::error::{Error, Result};
use crate::event::{EventType, NormalizedEvent, Record, RecordAction};
use crate::kit::SampleKind;
use crate::kit::{self, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify as scheme;

/// The DID reseller documents no retries: assume none. Its bodies carry no id, so the dedupe
/// window is twice the one delivery's horizon (30 s), not the 24 h other providers get: a
/// record switched on → off → on sends the same bytes twice, and the third change is real.
const RETRY: RetrySchedule = RetrySchedule {
    documented: false,
    timeout_secs: 15,
    retry_delays_secs: &[],
    jitter: false,
    ack_statuses: StatusRange::ANY_2XX,
    permanent_failure_statuses: None,
    identical_bodies_can_be_new_events: true,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify: |request, credentials, _now| verify(request, credentials),
    named_by_headers: defaults::named_by_no_header,
    body_matches,
    #[cfg(feature = "inspect")]
    parse: |raw| Ok(super::Payload::DidReseller(super::from_value(raw)?)),
    normalize,
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: None,
    #[cfg(feature = "kit")]
    sign: |scheme, request, credentials, _now| sign(scheme, request, credentials),
    #[cfg(feature = "kit")]
    sign_expired: defaults::cannot_expire,
    #[cfg(feature = "kit")]
    sample_kinds: SAMPLE_KINDS,
    #[cfg(feature = "kit")]
    sample,
    #[cfg(feature = "kit")]
    encode_sample: encode_sample_data,
    #[cfg(feature = "kit")]
    identity,
    redacted_keys: &["wireless_pin", "inbox_pin", "account_number", "credit_line"],
    json_text_field: Some("data"),
    out_of_order: None,
    methods: defaults::POST_ONLY,
    decode: defaults::json_body,
    signed_apart: defaults::body_signed,
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
            Some(Value::String(text)) => crate::json_read::from_str::<Value>(text)
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

/// Nothing is documented; these are the two ways a receiver can protect its URL.
const SCHEMES: &[Scheme] = &[Scheme::UrlToken, Scheme::Basic];

fn sign(
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
) -> Result<()> {
    match scheme {
        Scheme::UrlToken => {
            kit::add_url_token(request, credentials, Provider::DidReseller, DEFAULT_TOKEN_PARAM)
        }
        _ => kit::add_basic(request, credentials, Provider::DidReseller),
    }
}

/// By the keys present, never their types (a verified body of an odd type is still the reseller's).
fn body_matches(body: &BodyKeys<'_>) -> bool {
    body.has("schema") && body.has("type")
}

/// `data` holds the record as JSON text (an object is read too); it is decoded once, and
/// `raw` carries the decoded record, the form a receiver reads. Text that is not a JSON
/// object leaves `record.data` null and `data` unread; the event is still produced.
fn decode_data(raw: &mut Value) -> bool {
    let Some(Value::String(text)) = raw.get("data") else {
        return true;
    };
    match crate::json_read::from_str::<Value>(text) {
        Ok(decoded @ Value::Object(_)) => {
            if let Value::Object(envelope) = raw {
                envelope.insert(String::from("data"), decoded);
            }
            true
        }
        _ => false,
    }
}

fn normalize(mut raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    // Already redacted (normalize redacts the body first, JSON inside strings included), and
    // `data` already decoded there when it holds an object (`json_text_field`).
    let decoded = decode_data(&mut raw);
    let mut fields = Fields::new(&raw);
    let change = fields.text("type").unwrap_or("unknown");
    let action = match change {
        "insert" => Some(RecordAction::Created),
        "update" => Some(RecordAction::Updated),
        "delete" => Some(RecordAction::Deleted),
        _ => None,
    };
    let is_error = fields
        .text("status")
        .is_some_and(|s| s.eq_ignore_ascii_case("error"));
    let data = if is_error || !decoded {
        if !decoded {
            fields.mark_unread("data");
        }
        None
    } else {
        fields.object("data")
    };
    let event_type = match (is_error, action) {
        (true, _) => EventType::ProvisioningFailed,
        (false, Some(RecordAction::Created)) => EventType::RecordCreated,
        (false, Some(RecordAction::Updated)) => EventType::RecordUpdated,
        (false, Some(RecordAction::Deleted)) => EventType::RecordDeleted,
        (false, None) => EventType::Other,
    };
    let schema = fields.text("schema").unwrap_or("unknown");
    let provider_event_type = alloc::format!("{schema}.{change}");
    let mut event = context.event(context.derived_key(), event_type, &provider_event_type, Value::Null);
    event.record = action.map(|action| Record {
        action,
        schema: String::from(schema),
        id: data.and_then(|_| fields.id("data.id")),
        data: data.cloned().map(Value::Object),
        error: is_error.then(|| String::from(fields.text("verbose").unwrap_or_default())),
    });
    event.unread_fields = fields.into_unread();
    event.raw = raw;
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
