#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Security checks that are not vectors: compare discipline, length handling, size cap.

use std::fs;
use std::path::Path;

use telhook_core::verify::{hmac, token};
use telhook_core::{
    normalize_event, Credentials, Provider, Secret, WebhookRequest, DEFAULT_MAX_BODY_BYTES,
};

/// Secret bytes are only reachable through `Secret::expose`, and that is called only by the
/// verification modules, which compare in constant time (`constant_time_eq` or
/// `Mac::verify_slice`) — and by `sign.rs`, which writes them into test requests and compares
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
                || relative == "sign.rs";
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
    for (json, field) in cases {
        let error = Credentials::from_json_value(serde_json::from_str(json).unwrap()).unwrap_err();
        assert_eq!(error.code(), "invalid_credentials", "{json}");
        let text = error.to_string();
        assert!(text.contains(field), "{text} does not name {field}");
        assert!(!text.contains("s3cret"), "{text} shows a secret");
    }
}
