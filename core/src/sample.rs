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
    // A provider that sends no JSON (Twilio's forms) encodes its body as one string.
    if let Value::String(text) = value {
        return Ok(text.into_bytes());
    }
    serde_json::to_vec(&value).map_err(|_| Error::InvalidRequest {
        reason: "overrides: expected JSON that serializes".to_owned(),
    })
}

/// [`sample`] as its own event: [`identity_overrides`] of `serial` with `overrides` merged
/// over them, so an id the caller names (pins) wins. The templates carry one fixed id per
/// kind; give each call its own serial (a random number, say) and no two samples share an
/// idempotency key, so a dedupe store that outlives a test run still calls the handler the
/// next time. The same serial gives the same event, and two kinds with the same serial
/// concern the same message.
///
/// ```
/// use telhook_core::{sample::unique_sample, Provider};
///
/// let first = unique_sample(Provider::Lisoloo, "sms.sent", 1, &serde_json::Value::Null).unwrap();
/// let second = unique_sample(Provider::Lisoloo, "sms.sent", 2, &serde_json::Value::Null).unwrap();
/// assert_ne!(first, second);
/// let pinned = serde_json::json!({"event_id": "e-1"});
/// let value: serde_json::Value =
///     serde_json::from_slice(&unique_sample(Provider::Lisoloo, "sms.sent", 3, &pinned).unwrap()).unwrap();
/// assert_eq!(value["event_id"], "e-1");
/// ```
pub fn unique_sample(
    provider: Provider,
    event_kind: &str,
    serial: u64,
    overrides: &Value,
) -> Result<Vec<u8>> {
    if !(overrides.is_null() || overrides.is_object()) {
        return Err(Error::InvalidRequest {
            reason: "overrides: expected a JSON object or null".to_owned(),
        });
    }
    let mut patch = identity_overrides(provider, event_kind, serial);
    compose_patches(&mut patch, overrides);
    sample(provider, event_kind, &patch)
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

/// `(kind, field, value)` as `(kind, {field: value})`; a dotted field nests
/// (`data.occurred_at` is `{"data": {"occurred_at": value}}`).
fn status_step(
    (kind, field, value): (&'static str, &'static str, &'static str),
) -> (&'static str, Value) {
    let overrides = field
        .rsplit('.')
        .fold(Value::String(value.to_owned()), |inner, key| {
            let mut object = serde_json::Map::new();
            object.insert(key.to_owned(), inner);
            Value::Object(object)
        });
    (kind, overrides)
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

/// `first` becomes one merge patch that does what applying `first`, then `second`, does: a
/// `null` of `second` stays (it still removes the field), objects merge.
fn compose_patches(first: &mut Value, second: &Value) {
    match (first, second) {
        (_, Value::Null) => {}
        (Value::Object(fields), Value::Object(more)) => {
            for (key, value) in more {
                match fields.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        compose_patches(existing, value);
                    }
                    _ => {
                        fields.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (first, second) => *first = second.clone(),
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
    fn composed_patches_do_what_applying_both_in_turn_does() {
        let target = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4});
        let first = serde_json::json!({"a": 5, "b": {"c": 6}, "f": 7});
        let second = serde_json::json!({"a": null, "b": {"d": null, "g": 8}, "e": {"h": 9}});
        let mut in_turn = target.clone();
        merge_patch(&mut in_turn, &first);
        merge_patch(&mut in_turn, &second);
        let mut composed = first.clone();
        compose_patches(&mut composed, &second);
        let mut at_once = target;
        merge_patch(&mut at_once, &composed);
        assert_eq!(at_once, in_turn);
    }

    #[test]
    fn uuid_like_differs_per_label_and_serial() {
        let a = uuid_like("sms.sent", 1);
        assert_eq!(a.len(), 36);
        assert_ne!(a, uuid_like("sms.sent", 2));
        assert_ne!(a, uuid_like("sms.delivered", 1));
    }
}
