//! Realistic bodies for every event kind of every provider, for tests and the CLI. The
//! templates live in each provider's file; this module merges overrides into them and gives
//! each sample its own identity when a test needs many distinct events.

use alloc::borrow::ToOwned;
use alloc::vec::Vec;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::providers::spec;

pub use crate::kit::SampleKind;

/// Every event kind [`sample`] knows for `provider`; the first is the default.
pub fn event_kinds(provider: Provider) -> &'static [SampleKind] {
    spec(provider).sample_kinds
}

/// A body `provider` sends for `event_kind` (one of [`event_kinds`]), with `overrides` merged
/// in as a JSON merge patch (RFC 7386: objects merge, `null` removes a field, anything else
/// replaces). The DID reseller's `data` is overridden as an object and sent JSON-encoded in a
/// string, as the reseller does. `Value::Null` means no overrides.
///
/// ```
/// use telhook_core::{sample::sample, Provider};
///
/// let body = sample(Provider::Lisoloo, "sms.delivered", &serde_json::json!({"message_id": "m-1"})).unwrap();
/// let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(value["event_type"], "sms.delivered");
/// assert_eq!(value["message_id"], "m-1");
/// ```
pub fn sample(provider: Provider, event_kind: &str, overrides: &Value) -> Result<Vec<u8>> {
    let mut value = template(provider, event_kind)?;
    if !(overrides.is_null() || overrides.is_object()) {
        return Err(Error::InvalidRequest {
            reason: "overrides: expected a JSON object or null".to_owned(),
        });
    }
    merge_patch(&mut value, overrides);
    (spec(provider).encode_sample)(&mut value);
    serde_json::to_vec(&value).map_err(|_| Error::InvalidRequest {
        reason: "overrides: expected JSON that serializes".to_owned(),
    })
}

/// Overrides that give a sample of `event_kind` its own idempotency key and its own message
/// (call, lookup, record) number `serial`. Two kinds with the same serial concern the same
/// message — how a test sends `sent` and `delivered` for one SMS.
pub fn identity_overrides(provider: Provider, event_kind: &str, serial: u64) -> Value {
    (spec(provider).identity)(event_kind, serial)
}

/// Two status events of one message in the order a receiver must survive: the later status
/// first. Each is `(event kind, overrides)`; apply [`identity_overrides`] of the same serial
/// to both. `None` for providers that send no status events.
pub fn out_of_order_statuses(provider: Provider) -> Option<[(&'static str, Value); 2]> {
    spec(provider)
        .out_of_order
        .map(|steps| steps.map(status_step))
}

/// `(kind, field, value)` as `(kind, {field: value})`.
fn status_step(
    (kind, field, value): (&'static str, &'static str, &'static str),
) -> (&'static str, Value) {
    let mut overrides = serde_json::Map::new();
    overrides.insert(field.to_owned(), Value::String(value.to_owned()));
    (kind, Value::Object(overrides))
}

fn template(provider: Provider, event_kind: &str) -> Result<Value> {
    (spec(provider).sample)(event_kind).ok_or_else(|| {
        let known: Vec<&str> = event_kinds(provider).iter().map(|k| k.name).collect();
        Error::InvalidRequest {
            reason: alloc::format!("event_kind: {provider} sends one of {}", known.join(", ")),
        }
    })
}

/// RFC 7386 JSON merge patch. Hand-written: the `json-patch` crate needs std, and the rule
/// is five lines.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        if !patch.is_null() {
            *target = patch.clone();
        }
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(fields) = target {
        for (key, value) in patch {
            if value.is_null() {
                fields.remove(key);
            } else {
                merge_patch(fields.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::uuid_like;

    #[test]
    fn merge_patch_follows_rfc7386_examples() {
        let mut target = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(
            &mut target,
            &serde_json::json!({"a": "z", "c": {"f": null}}),
        );
        assert_eq!(target, serde_json::json!({"a": "z", "c": {"d": "e"}}));
        let mut target = serde_json::json!({"a": [1]});
        merge_patch(&mut target, &serde_json::json!({"a": {"b": "c"}}));
        assert_eq!(target, serde_json::json!({"a": {"b": "c"}}));
    }

    #[test]
    fn uuid_like_differs_per_label_and_serial() {
        let a = uuid_like("sms.sent", 1);
        assert_eq!(a.len(), 36);
        assert_ne!(a, uuid_like("sms.sent", 2));
        assert_ne!(a, uuid_like("sms.delivered", 1));
    }
}
