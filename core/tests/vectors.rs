#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Runs every conformance vector under tests/vectors/ through the core and compares the
//! result exactly. `TELHOOK_BLESS=1` fills in expected events that are still null (new or
//! changed inputs); review the diff before committing.

mod common;

use std::fs;
use std::path::Path;

use common::vectors as all_vectors;
use serde_json::{json, Value};
use telhook_core::normalize_json;

fn result_of(vector: &Value) -> Result<telhook_core::NormalizedEvent, telhook_core::Error> {
    normalize_json(
        &vector["provider"],
        vector["request"].clone(),
        vector["credentials"].clone(),
        vector["now"].as_i64().unwrap(),
        vector.get("options").cloned().unwrap_or(Value::Null),
    )
}

/// The runner every runtime implements: `{"event": …}` or `{"error": code}`.
fn run(vector: &Value) -> Value {
    match result_of(vector) {
        Ok(event) => json!({ "event": serde_json::to_value(event).unwrap() }),
        Err(error) => json!({ "error": error.code() }),
    }
}

#[test]
fn every_vector_matches_exactly() {
    let bless = std::env::var_os("TELHOOK_BLESS").is_some();
    let vectors = all_vectors();
    assert!(
        vectors.len() >= 60,
        "expected at least 60 vectors, found {}",
        vectors.len()
    );
    let mut failures = Vec::new();
    for (path, mut vector) in vectors {
        let actual = run(&vector);
        let expected = &vector["expect"];
        if bless
            && expected.get("event").is_some_and(Value::is_null)
            && actual.get("event").is_some()
        {
            vector["expect"] = actual;
            fs::write(&path, serde_json::to_string_pretty(&vector).unwrap() + "\n").unwrap();
            continue;
        }
        if &actual != expected {
            failures.push(format!(
                "{}\n  expected: {}\n  actual:   {}",
                path.display(),
                serde_json::to_string(expected).unwrap(),
                serde_json::to_string(&actual).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn coverage_per_provider_and_errors() {
    let vectors = all_vectors();
    // Every registered provider (the registry, not a list typed here): a provider added
    // without its vectors, handler vectors and events fails `make test`.
    let handlers = common::handler_vectors();
    for provider in telhook_core::Provider::NAMES {
        let own: Vec<_> = vectors
            .iter()
            .filter(|(p, _)| p.parent().unwrap().ends_with(provider))
            .collect();
        let events = own
            .iter()
            .filter(|(_, v)| v["expect"].get("event").is_some())
            .count();
        assert!(own.len() >= 12, "{provider} has {} vectors", own.len());
        assert!(events >= 5, "{provider} has {events} vectors of events");
        let receive = handlers
            .iter()
            .filter(|(_, v)| v["provider"] == provider)
            .count();
        assert!(receive >= 8, "{provider} has {receive} handler vectors");
    }
    let errors = vectors
        .iter()
        .filter(|(_, v)| v["expect"].get("error").is_some())
        .count();
    assert!(errors >= 15, "only {errors} vectors expect an error");
}

#[test]
fn every_event_validates_against_the_published_schema() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/normalized-event.v1.json");
    let schema: Value = serde_json::from_slice(&fs::read(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    for (path, vector) in all_vectors() {
        if let Some(event) = vector["expect"].get("event") {
            let errors: Vec<String> = validator
                .iter_errors(event)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(
                errors.is_empty(),
                "{}: {}",
                path.display(),
                errors.join("; ")
            );
            // The live output too, not only the stored expectation.
            let live = run(&vector);
            assert!(validator.is_valid(&live["event"]), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} events checked");
    // The schema is not vacuous: a broken event fails it.
    let (_, sample) = all_vectors()
        .into_iter()
        .find(|(_, v)| v["expect"].get("event").is_some())
        .unwrap();
    let mut broken = sample["expect"]["event"].clone();
    broken["type"] = json!("message.exploded");
    assert!(!validator.is_valid(&broken));
    broken = sample["expect"]["event"].clone();
    broken["from"] = json!("3231112233");
    assert!(!validator.is_valid(&broken));
}

/// No error message or Debug output produced by any vector contains a configured secret.
#[test]
fn errors_never_contain_secrets() {
    let mut checked = 0;
    for (path, vector) in all_vectors() {
        let secrets = collect_strings(&vector["credentials"]);
        let result = result_of(&vector);
        let credentials = telhook_core::Credentials::from_json_value(vector["credentials"].clone());
        let mut texts = vec![format!("{credentials:?}")];
        if let Err(error) = result {
            texts.push(error.to_string());
            texts.push(format!("{error:?}"));
            checked += 1;
        }
        for text in texts {
            for secret in secrets.iter().filter(|s| s.len() >= 6) {
                assert!(
                    !text.contains(secret.as_str()),
                    "{}: {text:?} leaks a secret",
                    path.display()
                );
            }
        }
    }
    assert!(checked >= 15);
}

fn collect_strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(collect_strings).collect(),
        Value::Object(map) => map.values().flat_map(collect_strings).collect(),
        _ => vec![],
    }
}

/// The vectors are signed by the generators' own Python (an independent implementation);
/// here the core's `sign` must produce the very same credentials for the same body, so the
/// test kit and the generators agree byte for byte. Every vector whose credentials pass
/// (it normalizes, or fails only later, parsing) is compared, scheme by scheme; JWTs by their
/// claims (the generators keep the payload's key order, serde_json sorts keys).
#[test]
fn the_cores_sign_reproduces_every_generated_signature() {
    use base64::Engine as _;
    use telhook_core::sign::{schemes, sign};
    use telhook_core::{Credentials, ErrorKind, Provider};
    let claims = |token: &str| -> Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let (mut compared, mut hostile) = (0, 0);
    for (path, vector) in all_vectors() {
        let name = path.file_stem().unwrap().to_str().unwrap();
        // Vectors that deliberately sign differently from the first configured secret.
        let deliberate = [
            "rotated",
            "upper_hex",
            "base64",
            "two_entries",
            "custom_token",
            "eight_entries",
            "garbled_entry_first",
            "numbers_compared_by_value",
            // Signed at another time than `now`, or another spelling of it (the Telnyx
            // timestamp edges).
            "signed_earlier",
            "signed_later",
            "timestamp_leading_zeros",
            // Signed with another method than the test kit's (Vonage SMS API: HMAC-SHA256), or
            // with the hex case changed.
            "sms_method_",
            "_case_hex",
            // Signed for the public URL a proxy hides (the receiver learns it from its options).
            "proxy_",
            // The SDKs' cases, signed over whichever URL form their test used.
            "sdk_",
            // Signed with a Twilio shared key's HMAC_SHA1, or with the settings header spelled
            // otherwise than the test kit's `key=,algorithm=HMAC_SHA256`.
            "shared_key_hmac_sha1",
            "algorithm_case_and_spaces",
            // Claims escaping a lone surrogate, which the test kit (reading the body as the
            // event does) writes as U+FFFD.
            "jwt_lone_surrogate_",
            // Claims the body does not repeat (GatewayAPI's legacy JWT; the event is the
            // claims'), or that a JWT library adds (iat, jti, …).
            "jwt_registered_claims_",
            "body_without_",
            "body_leaves_out_",
            "claims_without_ids_",
        ];
        let verified = match result_of(&vector) {
            Ok(_) => true,
            Err(error) => error.kind() == ErrorKind::Parse,
        };
        if !verified
            || deliberate.iter().any(|d| name.contains(d))
            || vector["credentials"]
                .get("insecure_skip_verification")
                .is_some()
        {
            continue;
        }
        let Some(provider) = vector["provider"].as_str() else {
            continue;
        };
        let provider = Provider::from_name(provider).unwrap();
        // A signature over the URL the provider called (Twilio): `sign` signs for the URL the
        // request carries, so it is given the vector's URL (and Host) before signing.
        let signs_url = schemes(provider).contains(&telhook_core::sign::Scheme::AuthToken);
        let received = common::request_of(&vector["request"]);
        if received.has_header("content-encoding") {
            // Signed (by the generator) over the inflated body, which `sign` is not given here:
            // every_vector_matches_exactly verifies them.
            continue;
        }
        let credentials = Credentials::from_json_value(vector["credentials"].clone()).unwrap();
        let now = vector["now"].as_i64().unwrap();
        let jwt_only = received.header("x-gwapi-signature").unwrap().is_some()
            && received.header("signature").unwrap().is_none();
        if jwt_only
            && sign(
                provider,
                &received.body,
                &credentials,
                now,
                Some(telhook_core::sign::Scheme::JwtHs256),
            )
            .is_err()
        {
            // The generator signed claims the body cannot be: no JSON object to make them from.
            continue;
        }
        // Twilio's alternatives: the settings header says which key signed (shared or Auth Token).
        let shared_key_signed = received
            .header("x-twilio-webhooks-signature-settings")
            .unwrap()
            .is_some();
        let mut matched_any = false;
        for scheme in schemes(provider) {
            if signs_url && shared_key_signed != (*scheme == telhook_core::sign::Scheme::SharedKey)
            {
                continue;
            }
            // A JWT can only carry a JSON object: hostile bodies have none to sign.
            let signed = if signs_url {
                let mut request = received.clone();
                request.headers.retain(|(name, _)| {
                    !name.eq_ignore_ascii_case("x-twilio-signature")
                        && !name.eq_ignore_ascii_case("x-twilio-webhooks-signature-settings")
                });
                telhook_core::sign::sign_request(
                    provider,
                    request,
                    &credentials,
                    now,
                    Some(*scheme),
                )
            } else {
                sign(provider, &received.body, &credentials, now, Some(*scheme))
            };
            let Ok(signed) = signed else {
                continue;
            };
            for (header, value) in &signed.headers {
                let Some(theirs) = received.header(header).unwrap() else {
                    continue;
                };
                if ["content-type", "user-agent"].contains(&header.to_ascii_lowercase().as_str()) {
                    continue;
                }
                if header.eq_ignore_ascii_case("x-gwapi-signature") {
                    assert_eq!(claims(value), claims(theirs), "{name}: JWT claims");
                } else if let (Some(ours), Some(theirs)) = (
                    value.strip_prefix("Bearer ey"),
                    theirs.strip_prefix("Bearer ey"),
                ) {
                    // A Bearer JWT (Vonage): the same claims but the issue time and the JWT id,
                    // which the signer picks per signing.
                    let stable = |token: &str| {
                        let mut claims = claims(&format!("ey{token}"));
                        claims
                            .as_object_mut()
                            .unwrap()
                            .retain(|k, _| k != "iat" && k != "jti");
                        claims
                    };
                    assert_eq!(stable(ours), stable(theirs), "{name}: JWT claims");
                } else {
                    assert_eq!(value, theirs, "{name}: {header}");
                }
                matched_any = true;
            }
            if let (Some(ours), Some(theirs)) = (&signed.url, &received.url) {
                if ours.contains('?') {
                    // The provider's URL may carry other parameters (wp-gatewayapi's
                    // `action=`): every pair the core signs must be there, verbatim.
                    let pairs = |url: &str| -> Vec<String> {
                        url.rsplit_once('?')
                            .map(|(_, q)| q.split('&').map(str::to_owned).collect())
                            .unwrap_or_default()
                    };
                    let theirs = pairs(theirs);
                    for pair in pairs(ours) {
                        assert!(theirs.contains(&pair), "{name}: URL token {pair}");
                    }
                    matched_any = true;
                }
            }
        }
        if !matched_any {
            // A signature within the parameters (the Vonage SMS API's `sig`): the kit, given the
            // received request, signs its parameters again; they must come out the same.
            if let Ok(signed) = telhook_core::sign::sign_request(
                provider,
                received.clone(),
                &credentials,
                now,
                None,
            ) {
                let (ours, theirs) = (params_of(&signed), params_of(&received));
                if !theirs.is_empty() {
                    assert_eq!(ours, theirs, "{name}: signed parameters");
                    matched_any = true;
                }
            }
        }
        assert!(matched_any, "{name}: no credential compared");
        compared += 1;
        hostile += usize::from(path.components().any(|c| c.as_os_str() == "hostile"));
    }
    assert!(compared >= 250, "only {compared} vectors compared");
    assert!(hostile >= 150, "only {hostile} hostile vectors compared");
}

/// Issue 12: no configured credential value appears anywhere in an accepted event (its typed
/// fields and `raw`), whatever the payload echoes back.
#[test]
fn events_never_contain_configured_secrets() {
    let mut checked = 0;
    for (path, vector) in all_vectors() {
        let Ok(event) = result_of(&vector) else {
            continue;
        };
        let text = serde_json::to_string(&event).unwrap() + &format!("{event:?}");
        for secret in secret_values(&vector["credentials"])
            .iter()
            .filter(|s| s.len() >= 6)
        {
            assert!(
                !text.contains(secret.as_str()),
                "{}: the event shows a configured secret",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} events");
}

/// The secret values of a credentials object: every string but Basic usernames and the URL
/// token's parameter name, which are not secrets (a URL keeps its username).
fn secret_values(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(secret_values).collect(),
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "username" | "url_token_param"))
            .flat_map(|(_, value)| secret_values(value))
            .collect(),
        _ => vec![],
    }
}

/// A request's parameters, sorted: its JSON object's (values as JSON), a GET's query, or a
/// form body's.
fn params_of(request: &telhook_core::WebhookRequest) -> Vec<(String, Value)> {
    let mut pairs: Vec<(String, Value)> = if request.body.trim_ascii_start().starts_with(b"{") {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(object)) => object.into_iter().collect(),
            _ => Vec::new(),
        }
    } else {
        let bytes = if request.method.eq_ignore_ascii_case("GET") {
            let url = request.url.as_deref().unwrap_or_default();
            url.split_once('?')
                .map_or("", |(_, query)| query)
                .as_bytes()
                .to_vec()
        } else {
            request.body.clone().into()
        };
        url_pairs(&bytes)
    };
    pairs.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.to_string().cmp(&b.1.to_string()))
    });
    pairs
}

fn url_pairs(bytes: &[u8]) -> Vec<(String, Value)> {
    let text = String::from_utf8_lossy(bytes).replace('+', " ");
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |part: &str| {
                percent_encoding::percent_decode_str(part)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(name), Value::String(decode(value)))
        })
        .collect()
}

/// The bindings' JSON writer gives every vector's event byte for byte as serde_json writes it,
/// and the event text a host parses holds that event (`raw` written by `json_text`).
#[cfg(feature = "binding-api")]
#[test]
fn the_bindings_write_every_event_as_serde_json_does() {
    let mut events = 0;
    for (path, vector) in all_vectors() {
        let Ok(event) = result_of(&vector) else {
            continue;
        };
        events += 1;
        let expected = serde_json::to_string(&event).unwrap();
        assert_eq!(
            telhook_core::api::to_json(&event).unwrap(),
            expected,
            "{}",
            path.display()
        );
        let written = telhook_core::api::event_text(event.clone(), 0).unwrap();
        let (event_part, steps_text) = match written.json.split_once('\n') {
            Some((json, steps)) => (json, Some(steps)),
            None => (written.json.as_str(), None),
        };
        let mut parsed: Value = serde_json::from_str(event_part).unwrap();
        if let (Some(steps_text), Some(text)) = (steps_text, written.text) {
            // The message text crosses apart: the host sets it in raw and in message.text.
            let steps: Vec<Value> = serde_json::from_str(steps_text).unwrap();
            let mut slot = &mut parsed["raw"];
            for step in &steps {
                slot = match step {
                    Value::String(key) => &mut slot[key.as_str()],
                    other => &mut slot[usize::try_from(other.as_u64().unwrap()).unwrap()],
                };
            }
            assert_eq!(*slot, Value::Null);
            *slot = Value::String(text.clone());
            parsed["message"]["text"] = Value::String(text);
        }
        assert_eq!(
            parsed,
            serde_json::to_value(&event).unwrap(),
            "{}",
            path.display()
        );
    }
    assert!(events >= 60, "expected at least 60 events, found {events}");
}

/// `NormalizedEvent` reads back what it wrote (an inbox's stored event, in a Rust worker): every
/// vector's expected event, read and written again, is the same JSON; a status whose `final` or
/// `rank` is not its value's is refused.
#[test]
fn every_expected_event_reads_back_as_written() {
    let mut read = 0;
    for (path, vector) in all_vectors() {
        let Some(event) = vector["expect"].get("event").filter(|e| !e.is_null()) else {
            continue;
        };
        let typed: telhook_core::NormalizedEvent = serde_json::from_value(event.clone())
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            &serde_json::to_value(&typed).unwrap(),
            event,
            "{}",
            path.display()
        );
        read += 1;
    }
    assert!(read >= 490, "only {read} events read back");
    let mut forged = serde_json::json!({"value": "delivered", "final": false, "rank": 9, "provider_status": "delivered"});
    assert!(serde_json::from_value::<telhook_core::event::StatusInfo>(forged.clone()).is_err());
    forged["final"] = serde_json::json!(true);
    forged["rank"] = serde_json::json!(telhook_core::event::DeliveryStatus::Delivered.rank());
    assert!(serde_json::from_value::<telhook_core::event::StatusInfo>(forged).is_ok());
}
