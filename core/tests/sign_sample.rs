#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The test kit against the receiver: for every provider × scheme × sample kind, what `sign`
//! makes from `sample` verifies and normalizes to the kind's event, is detected as its
//! provider, and every applicable forgery of it is refused as a verification failure.

use proptest::prelude::*;
use telhook_core::sample::{event_kinds, identity_overrides, out_of_order_statuses, sample};
use telhook_core::sign::{forge, schemes, sign, target_url, Forgery, Scheme};
use telhook_core::{
    normalize_event, status_wins, Credentials, ErrorKind, NormalizedEvent, Provider, WebhookRequest,
};

/// Secrets as a provider dashboard shows them: visible ASCII (a header value is trimmed, so
/// surrounding whitespace could not survive any sender).
#[derive(Debug, Clone)]
struct Secrets {
    hmac: String,
    token: String,
    username: String,
    password: String,
    jwt: String,
    url_param: Option<String>,
}

fn secrets() -> impl Strategy<Value = Secrets> {
    (
        "[!-~]{1,40}",
        "[!-~]{1,40}",
        "[!-9;-~]{1,16}",
        "[!-~]{1,24}",
        "[!-~]{1,40}",
        proptest::option::of("[a-z_]{1,8}"),
    )
        .prop_map(
            |(hmac, token, username, password, jwt, url_param)| Secrets {
                hmac,
                token,
                username,
                password,
                jwt,
                url_param,
            },
        )
}

fn credentials_for(schemes: &[Scheme], s: &Secrets) -> Credentials {
    let mut credentials = Credentials::none();
    for scheme in schemes {
        credentials = match scheme {
            Scheme::HmacSha256 => credentials.with_hmac_sha256(s.hmac.as_str()),
            Scheme::Bearer => credentials.with_bearer(s.token.as_str()),
            Scheme::Authorization => credentials.with_authorization(s.token.as_str()),
            Scheme::Basic => credentials.with_basic(s.username.as_str(), s.password.as_str()),
            Scheme::JwtHs256 => credentials.with_jwt_hs256(s.jwt.as_str()),
            Scheme::AuthToken => credentials.with_auth_token(s.hmac.as_str()),
            Scheme::SharedKey => credentials.with_shared_key(s.jwt.as_str()),
            Scheme::UrlToken => {
                let mut c = credentials.with_url_token(s.token.as_str());
                c.url_token_param = s.url_param.clone();
                c
            }
            // The test kit signs Ed25519 only with the RFC 8032 test keys (test-only).
            Scheme::Ed25519PublicKey => {
                credentials.with_ed25519_public_key(telhook_core::kit::ED25519_TEST_KEYS[0].1)
            }
        };
    }
    credentials
}

/// Each scheme alone, then all of the provider's schemes at once (`scheme: None`).
fn scheme_choices(provider: Provider) -> Vec<(Option<Scheme>, Vec<Scheme>)> {
    let all = schemes(provider);
    let mut choices: Vec<_> = all.iter().map(|s| (Some(*s), vec![*s])).collect();
    choices.push((None, all.to_vec()));
    choices
}

fn check(
    provider: Provider,
    kind: &str,
    request: &WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> NormalizedEvent {
    let event = normalize_event(Some(provider), request, credentials, now)
        .unwrap_or_else(|e| panic!("{provider} {kind}: {}", e.code()));
    // Detection reads credentials per provider.
    let per_provider = Credentials::none().with_provider(provider, credentials.clone());
    let detected = normalize_event(None, request, &per_provider, now)
        .unwrap_or_else(|e| panic!("{provider} {kind} detected: {}", e.code()));
    assert_eq!(detected, event, "{provider} {kind}: detection");
    event
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_signed_sample_verifies_and_every_forgery_is_refused(
        s in secrets(),
        now in 1_000_000_000i64..4_000_000_000,
        serial in any::<u64>(),
    ) {
        for provider in Provider::ALL {
            for (scheme, configured) in scheme_choices(provider) {
                let credentials = credentials_for(&configured, &s);
                for kind in event_kinds(provider) {
                    let body = sample(provider, kind.name, &identity_overrides(provider, kind.name, serial)).unwrap();
                    let request = sign(provider, &body, &credentials, now, scheme).unwrap();
                    // The body is sent as sampled — or, for a provider that signs within its
                    // parameters (the Vonage SMS API's `sig`), with the signature added to them.
                    if request.body != body {
                        let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
                        let sampled: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        for (key, value) in sampled.as_object().unwrap() {
                            prop_assert_eq!(&sent[key], value, "{} {}: {} changed", provider, kind.name, key);
                        }
                    }
                    let event = check(provider, kind.name, &request, &credentials, now);
                    prop_assert_eq!(event.provider, provider);
                    prop_assert_eq!(event.event_type, kind.event_type, "{} {}", provider, kind.name);
                    if kind.name != "sms_enablement.error" {
                        prop_assert_eq!(&event.provider_event_type, kind.name);
                    }
                    // The JSON form every binding and the CLI use carries the request unchanged.
                    let round_trip = WebhookRequest::from_json_value(request.to_json_value()).unwrap();
                    prop_assert_eq!(&round_trip, &request);
                    for forgery in Forgery::ALL {
                        if let Some(forged) = forge(provider, &body, &credentials, now, forgery).unwrap() {
                            let refused = normalize_event(Some(provider), &forged, &credentials, now)
                                .expect_err("a forgery was accepted");
                            prop_assert_eq!(refused.kind(), ErrorKind::Verification, "{} {} {:?}: {}", provider, kind.name, forgery, refused.code());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn identities_give_distinct_keys_and_the_same_serial_the_same_message(
        a in any::<u64>(), b in any::<u64>(),
    ) {
        prop_assume!(a != b);
        let credentials = Credentials::insecure_skip_verification();
        for provider in Provider::ALL {
            for kind in event_kinds(provider) {
                let event_of = |serial| {
                    let body = sample(provider, kind.name, &identity_overrides(provider, kind.name, serial)).unwrap();
                    let request = sign(provider, &body, &credentials, 0, None).unwrap();
                    normalize_event(Some(provider), &request, &credentials, 1_769_000_000).unwrap()
                };
                let (first, second) = (event_of(a), event_of(b));
                prop_assert_ne!(&first.id, &second.id, "{} {}", provider, kind.name);
                prop_assert_eq!(event_of(a).id, first.id);
            }
        }
    }
}

#[test]
fn out_of_order_statuses_are_two_events_of_one_message_later_status_first() {
    let credentials = Credentials::insecure_skip_verification();
    let mut providers_with_statuses = 0;
    for provider in Provider::ALL {
        let Some(steps) = out_of_order_statuses(provider) else {
            continue;
        };
        providers_with_statuses += 1;
        let events: Vec<NormalizedEvent> = steps
            .iter()
            .map(|(kind, overrides)| {
                // The status over the message's identity, encoded as the provider sends it
                // (JSON, or Twilio's form) by `sample` itself.
                let mut patch = identity_overrides(provider, kind, 7);
                merge(&mut patch, overrides);
                let body = sample(provider, kind, &patch).unwrap();
                let request = sign(provider, &body, &credentials, 0, None).unwrap();
                normalize_event(Some(provider), &request, &credentials, 1_769_000_000).unwrap()
            })
            .collect();
        assert_ne!(events[0].id, events[1].id, "{provider}");
        let subject = |e: &NormalizedEvent| {
            e.message
                .as_ref()
                .and_then(|m| m.id.clone())
                .or(e.call.as_ref().and_then(|c| c.id.clone()))
        };
        assert_eq!(subject(&events[0]), subject(&events[1]), "{provider}");
        assert!(subject(&events[0]).is_some(), "{provider}");
        if let (Some(later), Some(earlier)) = (&events[0].status, &events[1].status) {
            assert!(
                !status_wins(Some(later.value), earlier.value),
                "{provider}: the second status must be the earlier one"
            );
        }
    }
    let declared = Provider::ALL
        .iter()
        .filter(|p| out_of_order_statuses(**p).is_some())
        .count();
    assert!(declared >= 4, "{declared}");
    assert_eq!(providers_with_statuses, declared);
}

fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    for (key, value) in patch.as_object().unwrap() {
        if value.is_object() && target[key].is_object() {
            merge(&mut target[key], value);
        } else {
            target[key] = value.clone();
        }
    }
}

#[test]
fn sign_refuses_schemes_the_provider_does_not_use_and_unconfigured_ones() {
    let credentials = Credentials::none().with_basic("u", "p");
    let err = sign(
        Provider::Lisoloo,
        b"{}",
        &credentials,
        0,
        Some(Scheme::JwtHs256),
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert_eq!(
        err.to_string(),
        "invalid request: scheme: lisoloo authenticates with basic or hmac_sha256"
    );
    let err = sign(
        Provider::Lisoloo,
        b"{}",
        &credentials,
        0,
        Some(Scheme::HmacSha256),
    )
    .unwrap_err();
    assert_eq!(err.code(), "missing_credentials");
    let err = sign(Provider::LimePhone, b"{}", &credentials, 0, None).unwrap_err();
    assert_eq!(err.code(), "missing_credentials");
    let err = sample(
        Provider::Lisoloo,
        "sms.teleported",
        &serde_json::Value::Null,
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert!(err
        .to_string()
        .contains("event_kind: lisoloo sends one of sms.delivered"));
    let err = sample(Provider::Lisoloo, "sms.sent", &serde_json::json!([1])).unwrap_err();
    assert_eq!(err.code(), "invalid_request");
}

#[test]
fn did_reseller_token_travels_percent_encoded_and_joins_a_base_url() {
    let mut credentials = Credentials::none().with_url_token("a+b&c=d/é");
    credentials.url_token_param = Some("k".into());
    let body = sample(
        Provider::DidReseller,
        "dids.update",
        &serde_json::Value::Null,
    )
    .unwrap();
    let request = sign(Provider::DidReseller, &body, &credentials, 0, None).unwrap();
    assert_eq!(request.url.as_deref(), Some("/?k=a%2Bb%26c%3Dd%2F%C3%A9"));
    assert_eq!(
        target_url("http://127.0.0.1:9/hook?src=did", &request),
        "http://127.0.0.1:9/hook?src=did&k=a%2Bb%26c%3Dd%2F%C3%A9"
    );
    let relative = WebhookRequest {
        url: Some(target_url("/hook", &request)),
        ..request
    };
    assert!(normalize_event(
        Some(Provider::DidReseller),
        &relative,
        &credentials,
        1_769_000_000
    )
    .is_ok());
}

#[test]
fn sample_overrides_reach_into_did_data_before_it_is_encoded() {
    let body = sample(
        Provider::DidReseller,
        "dids.update",
        &serde_json::json!({"data": {"number": "7205550100", "state": null}}),
    )
    .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let data: serde_json::Value = serde_json::from_str(value["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["number"], "7205550100");
    assert!(data.get("state").is_none());
    assert_eq!(data["ratecenter"], "DENVER");
}

#[test]
fn gatewayapi_jwt_carries_the_payload_and_an_expired_one_is_refused_as_expired() {
    let credentials = Credentials::none().with_jwt_hs256("jwt-secret");
    let body = sample(
        Provider::GatewayApi,
        "delivery_report",
        &serde_json::Value::Null,
    )
    .unwrap();
    let expired = forge(
        Provider::GatewayApi,
        &body,
        &credentials,
        1_769_000_000,
        Forgery::ExpiredTimestamp,
    )
    .unwrap()
    .unwrap();
    let err = normalize_event(
        Some(Provider::GatewayApi),
        &expired,
        &credentials,
        1_769_000_000,
    )
    .unwrap_err();
    assert_eq!(err.code(), "jwt_expired");
    // Only GatewayAPI's JWT carries a time; the others have nothing that can expire.
    for provider in [Provider::LimePhone, Provider::Lisoloo, Provider::LoopLookup] {
        let credentials = Credentials::none()
            .with_hmac_sha256("h")
            .with_bearer("b")
            .with_basic("u", "p")
            .with_authorization("a");
        assert_eq!(
            forge(provider, b"{}", &credentials, 0, Forgery::ExpiredTimestamp).unwrap(),
            None
        );
    }
    // Basic alone does not bind the body: a tampered body cannot be told from a real one.
    let basic = Credentials::none().with_basic("u", "p");
    assert_eq!(
        forge(Provider::Lisoloo, b"{}", &basic, 0, Forgery::TamperedBody).unwrap(),
        None
    );
}

/// LimePhone checks every configured scheme: with HMAC + Bearer the HMAC still signs the
/// body, so a tampered body is a forgery to try (and is refused). Bearer alone cannot tell.
#[test]
fn a_tampered_body_is_tried_whenever_one_configured_scheme_signs_the_body() {
    let body = sample(
        Provider::LimePhone,
        "sms_received",
        &serde_json::Value::Null,
    )
    .unwrap();
    let both = Credentials::none()
        .with_hmac_sha256("whsec")
        .with_bearer("token");
    let forged = forge(
        Provider::LimePhone,
        &body,
        &both,
        1_769_000_000,
        Forgery::TamperedBody,
    )
    .unwrap()
    .expect("HMAC signs the body");
    let refused = normalize_event(Some(Provider::LimePhone), &forged, &both, 1_769_000_000)
        .expect_err("a tampered body was accepted");
    assert_eq!(refused.kind(), ErrorKind::Verification);
    let bearer = Credentials::none().with_bearer("token");
    let none = forge(
        Provider::LimePhone,
        &body,
        &bearer,
        1_769_000_000,
        Forgery::TamperedBody,
    )
    .unwrap();
    assert!(none.is_none());
}

/// Each serial its own event for every kind; an id the caller names is kept.
#[test]
fn unique_samples_differ_per_serial_unless_the_caller_pins_the_id() {
    use telhook_core::sample::unique_sample;
    let credentials = Credentials::insecure_skip_verification();
    for provider in Provider::ALL {
        for kind in event_kinds(provider) {
            let key = |serial: u64, overrides: &serde_json::Value| {
                let body = unique_sample(provider, kind.name, serial, overrides).unwrap();
                let request = sign(provider, &body, &credentials, 0, None).unwrap();
                normalize_event(Some(provider), &request, &credentials, 1_769_000_000)
                    .unwrap()
                    .id
            };
            let none = serde_json::Value::Null;
            assert_ne!(key(1, &none), key(2, &none), "{provider} {}", kind.name);
            assert_eq!(key(1, &none), key(1, &none), "{provider} {}", kind.name);
        }
    }
    let pinned = serde_json::json!({"event_id": "pinned"});
    let body = unique_sample(Provider::Lisoloo, "sms.sent", 9, &pinned).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(value["event_id"], "pinned");
}
