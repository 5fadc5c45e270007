#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Security checks that are not vectors: compare discipline, length handling, size cap.

mod common;

use std::fs;
use std::path::Path;

use telhook_core::verify::{hmac, token};
use telhook_core::{
    normalize_event, Credentials, Provider, Secret, WebhookRequest, DEFAULT_MAX_BODY_BYTES,
};

/// Secret bytes are only reachable through `Secret::expose`, and that is called only by the
/// verification modules, which compare in constant time (`constant_time_eq` or
/// `Mac::verify_slice`) — and by `sign.rs` and `kit.rs` (the test kit), which write them into test requests and compares
/// nothing. Any new use elsewhere fails this test and gets reviewed.
#[test]
fn secret_bytes_are_only_exposed_to_the_constant_time_verifiers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            let relative = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let allowed = relative.starts_with("verify/")
                || relative == "credentials.rs"
                || relative == "sign.rs"
                || relative == "kit.rs";
            if text.contains(".expose()") && !allowed {
                offenders.push(relative);
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "secret bytes exposed outside verify/: {offenders:?}"
    );
    // And in verify/, no `==` on exposed secrets.
    for file in [
        "verify/token.rs",
        "verify/basic.rs",
        "verify/hmac.rs",
        "verify/jwt.rs",
    ] {
        let text = fs::read_to_string(src.join(file)).unwrap();
        for line in text.lines().filter(|l| l.contains(".expose()")) {
            assert!(
                !line.contains("==") && !line.contains("!="),
                "{file}: non-constant-time compare: {line}"
            );
        }
    }
}

#[test]
fn signatures_of_every_length_fail_cleanly() {
    let secrets = [Secret::new("s3cret-value")];
    let body = b"{\"event\":\"sms_sent\"}";
    for length in 0..200 {
        let candidate = "a".repeat(length);
        let result = hmac::verify_header(&secrets, body, &candidate, "X-Sig");
        let code = result.map_err(|e| e.code()).err();
        assert!(
            matches!(
                code,
                Some("invalid_signature_format" | "signature_mismatch")
            ),
            "{length}: {code:?}"
        );
    }
    for length in 0..100 {
        let presented = "t".repeat(length);
        assert!(token::verify_token(&secrets, &presented).is_err());
    }
}

#[test]
fn body_cap_defaults_to_one_mebibyte() {
    assert_eq!(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
    let credentials = Credentials::insecure_skip_verification();
    let over = WebhookRequest::post(vec![], vec![b' '; DEFAULT_MAX_BODY_BYTES + 1]);
    let error =
        normalize_event(Some(Provider::Lisoloo), &over, &credentials, 1_769_000_000).unwrap_err();
    assert_eq!(error.code(), "body_too_large");
    assert!(error.to_string().contains("1048576"));
    // At the cap, the size check passes and the parser gives its own verdict.
    let at = WebhookRequest::post(vec![], vec![b' '; DEFAULT_MAX_BODY_BYTES]);
    let error =
        normalize_event(Some(Provider::Lisoloo), &at, &credentials, 1_769_000_000).unwrap_err();
    assert_eq!(error.code(), "malformed_json");
}

#[test]
fn debug_output_never_shows_secrets() {
    let credentials = Credentials::none()
        .with_hmac_sha256("debug-SECRET-1")
        .with_bearer("debug-SECRET-2")
        .with_basic("user-x", "debug-SECRET-3")
        .with_jwt_hs256("debug-SECRET-4");
    let text = format!(
        "{credentials:?} {:?} {:#?}",
        Secret::new("debug-SECRET-5"),
        credentials
    );
    assert!(!text.contains("debug-SECRET"), "{text}");
    assert!(!text.contains("user-x"));
}

#[test]
fn a_requests_debug_shows_its_shape_and_no_credential() {
    let request = WebhookRequest {
        method: "POST".into(),
        url: Some(
            "https://user:debug-PASS-1@h.example/did?token=debug-TOKEN-2&n=debug-Q-3#debug-F-4"
                .into(),
        ),
        headers: vec![
            ("Authorization".into(), "Bearer debug-AUTH-5".into()),
            ("X-Lisoloo-Signature".into(), "debug-SIG-6".into()),
            ("X-Gwapi-Signature".into(), "debug-JWT-7".into()),
            ("Cookie".into(), "session=debug-COOKIE-8".into()),
            // Names no secret rule knows (a review): every value but a few plain ones hidden.
            ("X-Webhook-Password".into(), "debug-PASSWORD-10".into()),
            ("X-Passcode".into(), "debug-PASSCODE-11".into()),
            ("X-Forwarded-For".into(), "debug-IP-12".into()),
            ("Content-Type".into(), "application/json".into()),
            ("Telnyx-Timestamp".into(), "1769000000".into()),
        ],
        body: b"{\"to\":\"debug-BODY-9\"}".to_vec().into(),
    };
    for text in [format!("{request:?}"), format!("{request:#?}")] {
        assert!(!text.contains("debug-"), "{text}");
        for shape in [
            "h.example/did",
            "token=[REDACTED]",
            "Content-Type",
            "application/json",
            "1769000000",
            "X-Forwarded-For",
            "<21 bytes>",
        ] {
            assert!(text.contains(shape), "{shape} missing from {text}");
        }
    }
}

#[test]
fn a_url_token_is_percent_decoded_only_so_a_plus_is_a_plus() {
    let request = WebhookRequest {
        method: "POST".into(),
        url: Some("/did?token=did+URL%2Btoken-77aa".into()),
        headers: vec![],
        body: Vec::new().into(),
    };
    assert_eq!(
        request.query_param("token").unwrap().as_deref(),
        Some("did+URL+token-77aa")
    );
}

#[test]
fn a_binary_secret_given_through_rust_may_start_or_end_with_any_byte() {
    // Only text is read with a line's end by mistake; a random HMAC key can hold 0x0a or 0x20.
    let key = vec![b'\n', 0xff, 0x00, 0x9c, b' '];
    let binary = telhook_core::Credentials::none().with_hmac_sha256(key);
    assert!(binary.validate().is_ok());
    let text = telhook_core::Credentials::none().with_hmac_sha256("secret\n");
    assert_eq!(text.validate().unwrap_err().code(), "invalid_credentials");
}

#[test]
fn blank_credentials_are_refused_naming_the_field_never_the_value() {
    let cases = [
        (
            r#"{"hmac_sha256":["s3cret-never-shown"," "]}"#,
            "hmac_sha256",
        ),
        (
            r#"{"bearer":"\t","hmac_sha256":"s3cret-never-shown"}"#,
            "bearer",
        ),
        (r#"{"authorization":""}"#, "authorization"),
        (r#"{"jwt_hs256":["s3cret-never-shown","\n"]}"#, "jwt_hs256"),
        (r#"{"url_token":"  "}"#, "url_token"),
        (
            r#"{"basic":{"username":"u","password":" "}}"#,
            "basic.password",
        ),
        (
            r#"{"basic":{"username":" ","password":"s3cret-never-shown"}}"#,
            "basic.username",
        ),
    ];
    // A secret read with its line's end would fail every delivery: refused too.
    let padded = [
        (r#"{"hmac_sha256":"s3cret-never-shown\n"}"#, "hmac_sha256"),
        (r#"{"auth_token":" s3cret-never-shown"}"#, "auth_token"),
        (r#"{"shared_key":"s3cret-never-shown\r\n"}"#, "shared_key"),
        (
            r#"{"basic":{"username":"u","password":"s3cret-never-shown\n"}}"#,
            "basic.password",
        ),
        (
            r#"{"basic":{"username":"u\n","password":"s3cret-never-shown"}}"#,
            "basic.username",
        ),
    ];
    for (json, field) in cases.into_iter().chain(padded) {
        let error = Credentials::from_json_value(serde_json::from_str(json).unwrap()).unwrap_err();
        assert_eq!(error.code(), "invalid_credentials", "{json}");
        let text = error.to_string();
        assert!(text.contains(field), "{text} does not name {field}");
        assert!(!text.contains("s3cret"), "{text} shows a secret");
    }
}

/// A list of secrets given empty (`process.env.SECRETS.split(",").filter(Boolean)` with the
/// variable unset) is refused naming the field: read as "not configured" it switched that
/// scheme's check off while another configured one still verified (a LimePhone body nobody
/// signed was accepted on its Bearer token alone; GatewayAPI's `?token=` stopped being asked for).
#[test]
fn a_list_of_secrets_given_empty_is_refused_naming_the_field() {
    let fields = [
        ("hmac_sha256", "hmac_sha256"),
        ("bearer", "bearer"),
        ("authorization", "authorization"),
        ("basic", "basic"),
        ("jwt_hs256", "jwt_hs256"),
        ("signature_secret", "jwt_hs256"),
        ("url_token", "url_token"),
        ("ed25519_public_key", "ed25519_public_key"),
        ("auth_token", "auth_token"),
        ("shared_key", "shared_key"),
    ];
    for (key, field) in fields {
        let other = if key == "auth_token" {
            "bearer"
        } else {
            "auth_token"
        };
        for json in [
            format!(r#"{{"{key}":[],"{other}":"s3cret-never-shown"}}"#),
            format!(r#"{{"lisoloo":{{"{key}":[],"{other}":"s3cret-never-shown"}}}}"#),
        ] {
            let error =
                Credentials::from_json_value(serde_json::from_str(&json).unwrap()).unwrap_err();
            assert_eq!(error.code(), "invalid_credentials", "{json}");
            let text = error.to_string();
            assert!(
                text.contains(field) && text.contains("empty list"),
                "{text} does not name {field}"
            );
            assert!(!text.contains("s3cret"), "{text} shows a secret");
        }
    }
    // One secret, or a list of one or more, is still each scheme's configuration.
    for json in [
        r#"{"bearer":["b"],"hmac_sha256":"h"}"#,
        r#"{"url_token":"t","hmac_sha256":["h","h2"]}"#,
    ] {
        let credentials = Credentials::from_json_value(serde_json::from_str(json).unwrap());
        assert!(credentials.is_ok(), "{json}");
    }
}

/// A list where an object is expected is refused: serde's derived reader took it by position,
/// so `{"gatewayapi": ["old", "new"]}` (a rotation written as a list) configured `old` as
/// `hmac_sha256` and `new` as `bearer`, which GatewayAPI never reads: every delivery signed with
/// the new secret failed, and nothing said why.
#[test]
fn a_list_where_an_object_is_expected_is_refused_not_read_by_position() {
    for json in [
        r#"["s3cret-never-shown","s3cret-next"]"#,
        r#"[]"#,
        r#"{"gatewayapi":["s3cret-never-shown","s3cret-next"]}"#,
        r#"{"basic":["user","s3cret-never-shown"]}"#,
        r#"{"lisoloo":{"basic":["user","s3cret-never-shown"]}}"#,
        r#"{"basic":{"username":"u","password":"s3cret-never-shown","realm":"x"}}"#,
        r#"{"jwt_hs256":"s3cret-never-shown","signature_secret":"s3cret-next"}"#,
        r#"{"gatewayapi":{"hmac_sha256":"s3cret-never-shown"},"bearer":"s3cret-next"}"#,
        r#"{"hmac_sha256":null}"#,
        r#"{"insecure_skip_verification":"true"}"#,
    ] {
        let error = Credentials::from_json_value(serde_json::from_str(json).unwrap()).unwrap_err();
        assert_eq!(error.code(), "invalid_credentials", "{json}");
        assert!(
            !error.to_string().contains("s3cret"),
            "{error} shows a secret"
        );
    }
    // Read through serde (a Rust app's own configuration), a repeated key is refused at any
    // depth, as the derived reader refused it: a `Value` keeps the last one.
    for json in [
        r#"{"insecure_skip_verification":false,"insecure_skip_verification":true}"#,
        r#"{"hmac_sha256":"s3cret-never-shown","hmac_sha256":"s3cret-next"}"#,
        r#"{"lisoloo":{"basic":{"username":"u","username":"v","password":"s3cret-never-shown"}}}"#,
    ] {
        let refused = serde_json::from_str::<Credentials>(json)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("repeated") && !refused.contains("s3cret"),
            "{refused}"
        );
    }
    assert!(serde_json::from_str::<Credentials>(
        r#"{"lisoloo":{"basic":{"username":"u","password":"p"}}}"#
    )
    .is_ok());
    // The forms that are meant: one value, a list of them, one object per provider.
    let rotated = Credentials::from_json_value(
        serde_json::from_str(r#"{"gatewayapi":{"hmac_sha256":["old","new"]},"lisoloo":{"basic":{"username":"u","password":"p"}},"vonage":{"signature_secret":"s","url_token_param":null}}"#)
            .unwrap(),
    )
    .unwrap();
    let gatewayapi = rotated.for_provider(Provider::GatewayApi).unwrap();
    assert_eq!(
        (gatewayapi.hmac_sha256.len(), gatewayapi.bearer.len()),
        (2, 0)
    );
    assert_eq!(
        rotated.for_provider(Provider::Lisoloo).unwrap().basic[0].username,
        "u"
    );
    assert_eq!(
        rotated
            .for_provider(Provider::Vonage)
            .unwrap()
            .jwt_hs256
            .len(),
        1
    );
    assert!(rotated.for_provider(Provider::LimePhone).is_none());
    assert_eq!(
        Credentials::from_json_value(serde_json::from_str("{}").unwrap()).unwrap(),
        Credentials::none()
    );
}

/// The query parameter a URL token is read from: empty (an unset variable), read with its
/// line's end, or holding a byte no query name has, it names no parameter a provider sends,
/// and every genuine delivery was refused as unauthenticated (the DID reseller never retries).
#[test]
fn a_url_token_param_that_names_no_query_parameter_is_refused() {
    for name in [
        "",
        " ",
        "token\n",
        "token\r\n",
        " token",
        "to ken",
        "a&b",
        "a=b",
        "a#b",
        "a?b",
        "a+b",
        "a%20b",
    ] {
        let json = serde_json::json!({"url_token": "s3cret-never-shown", "url_token_param": name});
        let error = Credentials::from_json_value(json).unwrap_err();
        assert_eq!(error.code(), "invalid_credentials", "{name:?}");
        let text = error.to_string();
        assert!(
            text.contains("url_token_param") && !text.contains("s3cret"),
            "{text}"
        );
    }
    for name in ["token", "api_key", "X-Token", "t.k~1"] {
        let json = serde_json::json!({"url_token": "s3cret-never-shown", "url_token_param": name});
        assert!(Credentials::from_json_value(json).is_ok(), "{name:?}");
    }
}

/// Issue 12: whatever provider a verified body is read as, its idempotency key cannot change
/// — a body is only ever accepted as one provider. Every accepted conformance body, read as
/// each other provider with verification skipped (the strongest replay: a shared secret), is
/// refused; and the per-provider form of its own credentials gives the same event.
/// Since a verified body is never refused for its shape (issue 26), a body whose shape is no
/// provider's (`{}`, an array) is an event wherever it is authentic: this holds for every body
/// whose shape names a provider — every body a provider really sends.
#[test]
fn a_body_is_accepted_as_one_provider_only() {
    let (mut checked, mut shapeless) = (0, 0);
    for (_, vector) in common::vectors() {
        let Some(event) = vector["expect"].get("event") else {
            continue;
        };
        let own = Provider::from_name(event["provider"].as_str().unwrap()).unwrap();
        let request = common::request_of(&vector["request"]);
        let body_only = WebhookRequest::post(vec![], request.body.clone());
        if telhook_core::detect_provider(&body_only).is_err() {
            shapeless += 1;
            continue;
        }
        let now = vector["now"].as_i64().unwrap();
        for other in Provider::ALL.into_iter().filter(|p| *p != own) {
            let skip =
                Credentials::none().with_provider(other, Credentials::insecure_skip_verification());
            let read_as_other = normalize_event(Some(other), &request, &skip, now);
            assert!(
                read_as_other.is_err(),
                "{} accepted as {other}",
                vector["description"]
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 150,
        "only {checked} accepted vectors ({shapeless} shapeless)"
    );
}

#[test]
fn detection_needs_per_provider_credentials_and_reads_only_its_own() {
    let body =
        br#"{"event_id":"e-1","event_type":"sms.sent","data":{"recipient_phone":"+4512345678"}}"#;
    let request = WebhookRequest::post(
        vec![(
            "Authorization".into(),
            telhook_core::verify::basic::header_value("hook", "pass-word-1"),
        )],
        body.to_vec(),
    );
    let pool = Credentials::none().with_basic("hook", "pass-word-1");
    let error = normalize_event(None, &request, &pool, 1_769_000_000).unwrap_err();
    assert_eq!(error.code(), "invalid_credentials");
    assert_eq!(
        pool.check_for(None).unwrap_err().code(),
        "invalid_credentials"
    );
    assert!(pool.check_for(Some(Provider::Lisoloo)).is_ok());
    let per_provider = Credentials::none()
        .with_provider(Provider::Lisoloo, pool.clone())
        .with_provider(
            Provider::GatewayApi,
            Credentials::none().with_hmac_sha256("gw-secret-x"),
        );
    assert!(per_provider.check_for(None).is_ok());
    let event = normalize_event(None, &request, &per_provider, 1_769_000_000).unwrap();
    assert_eq!(event.id, "lisoloo:e-1");
    // Another provider's entry never stands in for a missing one.
    let only_gatewayapi = Credentials::none().with_provider(
        Provider::GatewayApi,
        Credentials::none().with_basic("hook", "pass-word-1"),
    );
    let error = normalize_event(None, &request, &only_gatewayapi, 1_769_000_000).unwrap_err();
    assert_eq!(error.code(), "missing_credentials");
    let debug = format!("{per_provider:?}");
    assert!(
        debug.contains("lisoloo") && !debug.contains("pass-word-1"),
        "{debug}"
    );
}

/// Issue 12 item 5: a canary planted in every value of every malformed request (tests/canary,
/// generated once for every runtime) never reaches an error's message or Debug.
#[test]
fn no_error_quotes_a_value_of_the_request() {
    let (mut errors, mut events) = (0, 0);
    let vectors = common::canary_vectors();
    assert!(vectors.len() >= 200, "{} canary requests", vectors.len());
    for (path, vector) in vectors {
        let canary = vector["canary"].as_str().unwrap();
        let number = vector["canary_number"].as_str().unwrap();
        // The JSON entry point every binding calls (an unknown provider name is an error too).
        match telhook_core::normalize_json(
            &vector["provider"],
            vector["request"].clone(),
            vector["credentials"].clone(),
            vector["now"].as_i64().unwrap(),
            serde_json::Value::Null,
        ) {
            Err(error) => {
                errors += 1;
                let text = format!("{error} {error:?} {error:#?}");
                assert!(
                    !text.contains(canary) && !text.contains(number),
                    "{}: {text}",
                    path.display()
                );
            }
            // A verified body of any shape is an event: its unread paths are the provider's
            // own field names, never a (planted) key or value of the request.
            Ok(event) => {
                events += 1;
                let listed = event.unread_fields.join(" ");
                assert!(!listed.contains(canary), "{}: {listed}", path.display());
            }
        }
    }
    // Both kinds must be seen, or the test proves nothing about one of them.
    assert!(
        errors >= 30 && events >= 150,
        "{errors} errors, {events} events"
    );
}

/// A verified body of the wrong shape is an event, never an error (authenticity is the only
/// gate), and what the event says about it — the unread fields — names paths, never a value
/// from the request: a phone number or message text put where the payload wants something else
/// must not reach `unread_fields` (which adapters log).
#[test]
fn wrong_shapes_are_events_whose_unread_fields_never_quote_the_request() {
    let marker = "+4512345678 call me at home";
    let bodies = [
        (
            format!(
                r#"{{"event_id":"e1","event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","message_id":"m1","data":"{marker}"}}"#
            ),
            "data",
        ),
        (
            format!(
                r#"{{"event_id":"e1","event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","message_id":{{"x":"{marker}"}},"data":{{}}}}"#
            ),
            "message_id",
        ),
        (
            format!(
                r#"{{"event_id":["{marker}"],"event_type":"sms.delivered","timestamp":"2026-05-27T10:15:08Z","message_id":"m1","data":{{}}}}"#
            ),
            "event_id",
        ),
    ];
    let credentials = Credentials::insecure_skip_verification();
    for (body, unread) in bodies {
        let request = WebhookRequest::post(vec![], body.into_bytes());
        let event = telhook_core::normalize_event(
            Some(Provider::Lisoloo),
            &request,
            &credentials,
            1_780_000_000,
        )
        .expect("a verified body is never refused for its shape");
        assert_eq!(event.unread_fields, [unread]);
        let listed = event.unread_fields.join(" ");
        assert!(!listed.contains("4512345678"), "{listed}");
        assert!(!listed.contains("call me"), "{listed}");
    }
}

/// GatewayAPI's legacy JWT signs its claims, and the event is read from them, but only when
/// the JWT is what verified the request, with the credentials that verified it (found in
/// review: the per-provider form read the body; a top-level JWT secret beside a per-provider
/// HMAC one read an unverified token's claims).
#[test]
fn a_gatewayapi_event_comes_from_the_bytes_its_credentials_verified() {
    use telhook_core::verify::jwt;
    let now = 1_769_000_000;
    let claims = serde_json::json!({"id": 7, "msisdn": 4512345678_u64, "status": "DELIVERED"});
    let token = jwt::sign(b"gw-jwt-secret-1", &claims);
    // The body without its id, re-spaced: the claims' event, keyed by their id, whichever
    // form the credentials take.
    let body = br#"{ "msisdn": 4512345678, "status": "DELIVERED" }"#.to_vec();
    let request = WebhookRequest::post(vec![("X-Gwapi-Signature".into(), token)], body);
    let jwt_only = Credentials::none().with_jwt_hs256("gw-jwt-secret-1");
    let per_provider = Credentials::none().with_provider(Provider::GatewayApi, jwt_only.clone());
    for (provider, credentials) in [
        (Some(Provider::GatewayApi), &jwt_only),
        (Some(Provider::GatewayApi), &per_provider),
        (None, &per_provider),
    ] {
        let event = normalize_event(provider, &request, credentials, now).unwrap();
        assert_eq!(event.id, "gatewayapi:dlr:7:4512345678:DELIVERED");
    }
    // An HMAC-signed body with a forged JWT beside it, the JWT secret configured at the top
    // level and the HMAC one for GatewayAPI: the body's event, never the token's.
    let body = br#"{"id":1,"msisdn":4512345678,"status":"DELIVERED"}"#.to_vec();
    let forged = jwt::sign(
        b"not-the-secret",
        &serde_json::json!({"id": 999, "msisdn": 4599999999_u64, "status": "DELIVERED"}),
    );
    let request = WebhookRequest::post(
        vec![
            (
                "Signature".into(),
                format!("v1={}", hex_hmac(b"gw-hmac-secret-1", &body)),
            ),
            ("X-Gwapi-Signature".into(), forged.clone()),
        ],
        body,
    );
    let mixed = Credentials::none()
        .with_provider(
            Provider::GatewayApi,
            Credentials::none().with_hmac_sha256("gw-hmac-secret-1"),
        )
        .with_jwt_hs256("gw-jwt-secret-1");
    let event = normalize_event(Some(Provider::GatewayApi), &request, &mixed, now).unwrap();
    assert_eq!(event.id, "gatewayapi:dlr:1:4512345678:DELIVERED");
    // Verification skipped: the body, never an unverified token.
    let skip = Credentials::insecure_skip_verification().with_jwt_hs256("gw-jwt-secret-1");
    let event = normalize_event(Some(Provider::GatewayApi), &request, &skip, now).unwrap();
    assert_eq!(event.id, "gatewayapi:dlr:1:4512345678:DELIVERED");
}

fn hex_hmac(key: &[u8], body: &[u8]) -> String {
    hmac::sign(key, body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Twilio signs a webhook URL that carries HTTP authentication credentials
/// (`https://user:pass@host/…`) with them, and no server sees them in the request: the URL
/// given whole as `public_url` verifies (twilio-node's fixture), and without its userinfo it
/// does not; the password never shows in `Options`' Debug.
#[test]
fn a_twilio_url_with_credentials_verifies_through_public_url() {
    let (_, vector) = common::vectors()
        .into_iter()
        .find(|(path, _)| path.ends_with("twilio/sdk_15.json"))
        .expect("twilio/sdk_15.json");
    let signed_url = vector["request"]["url"].as_str().unwrap().to_owned();
    assert!(signed_url.starts_with("https://user:pass@"));
    let mut request = vector["request"].clone();
    // What a server sees: the path and query, the host in a header.
    request["url"] = serde_json::json!("/myapp.php?foo=1&bar=2");
    let run = |public_url: &str| {
        telhook_core::normalize_json(
            &serde_json::json!("twilio"),
            request.clone(),
            vector["credentials"].clone(),
            vector["now"].as_i64().unwrap_or(1_769_000_000),
            serde_json::json!({"public_url": public_url}),
        )
        .map(|event| event.id)
        .map_err(|error| error.code())
    };
    let whole = signed_url.split('?').next().unwrap();
    assert!(run(whole).is_ok(), "{:?}", run(whole));
    assert_eq!(
        run("https://mycompany.com/myapp.php"),
        Err("signature_mismatch")
    );
    let options =
        telhook_core::Options::from_json_value(serde_json::json!({"public_url": whole})).unwrap();
    assert!(!format!("{options:?}").contains(":pass@"));
}

/// `Options` built as a Rust struct skip `from_json_value`'s checks: they run before each
/// request instead, so a zero cap or a `public_url` without its scheme is a configuration
/// error (a 500, retried), never a 413 or 401 that Lisoloo would take as "drop the event".
#[test]
fn options_built_as_a_struct_are_checked_before_each_request() {
    let credentials = Credentials::insecure_skip_verification();
    let request = WebhookRequest::post(vec![], b"{}".to_vec());
    let run = |options: telhook_core::Options| {
        telhook_core::normalize_event_with(
            Some(Provider::Lisoloo),
            &request,
            &credentials,
            1_769_000_000,
            &options,
        )
        .map(|event| event.provider)
    };
    let zero_cap = run(telhook_core::Options {
        max_body_bytes: 0,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(zero_cap.code(), "invalid_option");
    assert_eq!(zero_cap.kind(), telhook_core::ErrorKind::Configuration);
    assert!(zero_cap.to_string().contains("max_body_bytes"));
    let no_scheme = run(telhook_core::Options {
        public_url: Some("receiver.internal/sms".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(no_scheme.code(), "invalid_option");
    assert!(no_scheme.to_string().contains("public_url"));
    assert!(!no_scheme.to_string().contains("receiver.internal"));
    // The defaults pass the check, and the verified body is an event of any shape.
    assert_eq!(run(telhook_core::Options::default()), Ok(Provider::Lisoloo));
}

#[test]
fn an_unknown_provider_name_is_not_echoed_and_names_parse() {
    // A route may take the name from its URL (`/hooks/<provider>`): a request's value.
    let error = "query-VAL-88".parse::<Provider>().unwrap_err();
    assert_eq!(error.code(), "unknown_provider");
    assert!(!error.to_string().contains("VAL-88"), "{error}");
    assert!(error.to_string().contains("twilio"), "{error}");
    assert_eq!(
        "Did-Reseller".parse::<Provider>().unwrap(),
        Provider::DidReseller
    );
}

/// A malformed set of credentials is told what is wrong with it — a misspelled key, one of the
/// receiver's options given among the credentials, Vonage's two names for one field given both,
/// scheme keys beside provider names — by kind, without quoting the key or a value (a review:
/// all four got one generic text).
#[test]
fn a_malformed_set_of_credentials_is_told_what_is_wrong_by_kind() {
    for (json, says) in [
        (
            r#"{"auth_tokn":"s3cret-never-shown"}"#,
            "neither a scheme's",
        ),
        (
            r#"{"twilio":{"auth_tokn":"s3cret-never-shown"}}"#,
            "neither a scheme's",
        ),
        (
            r#"{"limephon":{"hmac_sha256":"s3cret-never-shown"}}"#,
            "neither a scheme's",
        ),
        (
            r#"{"auth_token":"s3cret-never-shown","public_url":"https://hooks.example.com/t"}"#,
            "an option (public_url",
        ),
        (
            r#"{"twilio":{"auth_token":"s3cret-never-shown"},"trust_forwarded_headers":true}"#,
            "an option (public_url",
        ),
        (
            r#"{"jwt_hs256":"s3cret-never-shown","signature_secret":"s3cret-next"}"#,
            "name one field",
        ),
        (
            r#"{"vonage":{"jwt_hs256":"s3cret-never-shown","signature_secret":"s3cret-next"}}"#,
            "name one field",
        ),
        (
            r#"{"twilio":{"auth_token":"s3cret-never-shown"},"hmac_sha256":"s3cret-next"}"#,
            "scheme keys beside provider names",
        ),
        (r#"{"hmac_sha256":7}"#, "expected an object with"),
        (
            r#"{"twilio":"s3cret-never-shown"}"#,
            "expected an object with",
        ),
    ] {
        let error = Credentials::from_json_value(serde_json::from_str(json).unwrap()).unwrap_err();
        assert_eq!(error.code(), "invalid_credentials", "{json}");
        let text = error.to_string();
        assert!(text.contains(says), "{json}: {text}");
        for quoted in ["s3cret", "auth_tokn", "limephon\""] {
            assert!(!text.contains(quoted), "{json}: {text} quotes {quoted}");
        }
    }
}
