#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The CLI end to end: raw HTTP captures and JSON vectors in, events or error codes out.

use std::process::{Command, Output};

fn telhook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telhook"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

#[test]
fn normalizes_a_raw_http_capture() {
    let out = telhook(&[
        "normalize",
        "--provider",
        "limephone",
        "--credentials",
        "examples/limephone/credentials.json",
        "--now",
        "2026-01-21T12:53:20Z",
        "examples/limephone/07_doc_sms_received.http",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["provider"], "limephone");
    assert_eq!(event["type"], "message.received");
    assert_eq!(event["from"], "+18887654321");
    assert_eq!(event["received_at"], "2026-01-21T12:53:20Z");
}

fn telhook_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telhook"))
        .args(args)
        .env_remove("TELHOOK_CREDENTIALS")
        .envs(env.iter().copied())
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap()
}

const VECTOR: &str = "tests/vectors/gatewayapi/legacy_dlr_jwt.json";

fn vector_credentials(path: &str) -> String {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    let vector: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    vector["credentials"].to_string()
}

/// Issue 12: the input is what is being verified, so it never supplies the keys.
#[test]
fn a_vector_file_brings_its_clock_but_never_its_credentials() {
    let out = telhook_with_env(&["normalize", "--omit-raw", VECTOR], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing_credentials"));

    let credentials = vector_credentials(VECTOR);
    let out = telhook_with_env(
        &["normalize", "--omit-raw", VECTOR],
        &[("TELHOOK_CREDENTIALS", credentials.as_str())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        event["id"],
        "gatewayapi:dlr:1000001:4512345678:DELIVERED:CAPTURED"
    );
    assert!(event.get("raw").is_none());
}

#[test]
fn skipping_verification_needs_the_insecure_flag_and_warns() {
    let skip = r#"{"insecure_skip_verification": true}"#;
    let out = telhook_with_env(&["normalize", VECTOR], &[("TELHOOK_CREDENTIALS", skip)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure"));

    let out = telhook_with_env(&["normalize", "--insecure", "--omit-raw", VECTOR], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: --insecure"));
}

#[test]
fn a_forgery_exits_non_zero_with_the_error_code() {
    let vector = "tests/vectors/limephone/err_wrong_secret.json";
    let credentials = vector_credentials(vector);
    let out = telhook_with_env(
        &["normalize", vector],
        &[("TELHOOK_CREDENTIALS", credentials.as_str())],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("telhook: signature_mismatch: "),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_credentials_is_an_error_not_a_pass() {
    let out = telhook(&[
        "normalize",
        "--provider",
        "lisoloo",
        "examples/lisoloo/01_sms_pending.http",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing_credentials"));
}

#[test]
fn policy_ack_and_detect() {
    let out = telhook(&["policy", "looplookup"]);
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(policy["max_deliveries"], 31);
    assert_eq!(policy["timeout_secs"], 15);
    let out = telhook(&["ack", "lisoloo", "malformed"]);
    let ack: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ack["status"], 400);
    assert_eq!(ack["provider_action"], "permanent_failure");
    let out = telhook(&["detect", "examples/looplookup/01_doc_full_result.http"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "looplookup");
    let out = telhook(&["policy", "sinch"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_provider"));
}

/// Every provider of the core's registry (not a list typed here) has conformance vectors —
/// events and refusals — and examples that `make demo` runs: a sample capture or more and the
/// credentials, each capture normalizing to an event of that provider at the demo's clock. A
/// provider registered without them fails `make test` here (its vectors' depth is checked by
/// core/tests/vectors.rs).
#[test]
fn every_registered_provider_has_conformance_vectors_and_examples() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let listed = telhook(&["providers"]);
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        telhook_core::Provider::NAMES,
        "make demo iterates over `telhook providers`"
    );
    let files = |dir: &std::path::Path, extension: &str| -> Vec<std::path::PathBuf> {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|entry| entry.unwrap().path())
                    .filter(|path| path.extension().is_some_and(|e| e == extension))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let mut missing = Vec::new();
    for provider in telhook_core::Provider::NAMES {
        let vectors: Vec<serde_json::Value> =
            files(&root.join("tests/vectors").join(provider), "json")
                .iter()
                .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
                .collect();
        let events = vectors
            .iter()
            .filter(|v| v["expect"].get("event").is_some())
            .count();
        let errors = vectors
            .iter()
            .filter(|v| v["expect"].get("error").is_some())
            .count();
        if events == 0 || errors == 0 {
            missing.push(format!(
                "{provider}: tests/vectors/{provider}/ has {events} event and {errors} error vectors"
            ));
        }
        let examples = root.join("examples").join(provider);
        let captures = files(&examples, "http");
        let credentials = examples.join("credentials.json");
        if captures.is_empty() || !credentials.is_file() {
            missing.push(format!(
                "{provider}: examples/{provider}/ has {} captures{} (examples/build.py writes them)",
                captures.len(),
                if credentials.is_file() { "" } else { " and no credentials.json" }
            ));
            continue;
        }
        for capture in &captures {
            let out = telhook(&[
                "normalize",
                "--provider",
                provider,
                "--credentials",
                credentials.to_str().unwrap(),
                "--now",
                "2026-01-21T12:53:20Z",
                "--omit-raw",
                capture.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}: {}",
                capture.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(event["provider"], provider, "{}", capture.display());
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
