//! Issue 25: every official-SDK vector that verifies (tests/vectors/{twilio,telnyx,vonage}/sdk_*)
//! stops verifying when any one byte of a signed part changes: the body, the parts of the URL
//! the provider signs, and the signature headers. One byte at a time, each replaced by another
//! character of its own class (digit by digit, letter by letter of the same case, anything else
//! by `x`), so that a change never leaves the request merely re-spelt. Long bodies are sampled.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::print_stdout)]

mod common;

use serde_json::Value;
use telhook_core::normalize_json;

/// The headers whose value each provider signs or signs with.
fn signed_headers(provider: &str) -> &'static [&'static str] {
    match provider {
        "twilio" => &["x-twilio-signature"],
        "telnyx" => &["telnyx-signature-ed25519", "telnyx-timestamp"],
        "vonage" => &["authorization"],
        _ => &[],
    }
}

/// Indexes of the URL's bytes the provider signs. Twilio signs the whole URL except the port
/// (its validators try the URL with and without it); Vonage's SMS API signs the query's
/// parameters. Telnyx and Vonage's Messages API sign no part of the URL.
fn signed_url_bytes(provider: &str, url: &str) -> Vec<usize> {
    match provider {
        "twilio" => {
            let authority_start = url.find("://").map_or(0, |i| i + 3);
            let authority_end = url[authority_start..]
                .find(['/', '?'])
                .map_or(url.len(), |i| authority_start + i);
            let port = url[authority_start..authority_end]
                .rfind(':')
                .map_or(authority_end..authority_end, |colon| {
                    authority_start + colon..authority_end
                });
            (0..url.len()).filter(|i| !port.contains(i)).collect()
        }
        "vonage" => url
            .find('?')
            .map_or(Vec::new(), |q| (q + 1..url.len()).collect()),
        _ => Vec::new(),
    }
}

fn changed(byte: u8) -> u8 {
    match byte {
        b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => byte + 1,
        b'9' => b'0',
        b'z' => b'a',
        b'Z' => b'A',
        _ => b'x',
    }
}

fn with_byte_changed(text: &str, index: usize) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    bytes[index] = changed(bytes[index]);
    String::from_utf8(bytes).ok()
}

fn verifies(vector: &Value, request: Value) -> bool {
    normalize_json(
        &vector["provider"],
        request,
        vector["credentials"].clone(),
        vector["now"].as_i64().unwrap(),
        vector.get("options").cloned().unwrap_or(Value::Null),
    )
    .is_ok()
}

#[test]
fn a_one_byte_change_to_any_signed_part_of_an_sdk_vector_fails_it() {
    let (mut vectors_checked, mut changes_checked) = (0, 0);
    let mut still_verified = Vec::new();
    for (path, vector) in common::vectors() {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let provider = vector["provider"].as_str().unwrap_or_default();
        if !name.starts_with("sdk_")
            || !["twilio", "telnyx", "vonage"].contains(&provider)
            || vector["expect"].get("event").is_none()
        {
            continue;
        }
        let request = vector["request"].clone();
        assert!(
            verifies(&vector, request.clone()),
            "{name}: does not verify unchanged"
        );
        vectors_checked += 1;
        let mut changes: Vec<(String, Value)> = Vec::new();
        if let Some(body) = request["body"].as_str() {
            // Every byte of a short body; of a long one (Telnyx's JSON) every byte of its first
            // and last 64 and an even spread of 128 in between, so the test stays seconds long.
            let step = (body.len() / 128).max(1);
            let sampled =
                (0..body.len()).filter(|&i| i < 64 || i + 64 >= body.len() || i % step == 0);
            for index in sampled {
                if let Some(body) = with_byte_changed(body, index) {
                    let mut changed_request = request.clone();
                    changed_request["body"] = Value::String(body);
                    changes.push((format!("body byte {index}"), changed_request));
                }
            }
        }
        if let Some(url) = request["url"].as_str() {
            for index in signed_url_bytes(provider, url) {
                if let Some(url) = with_byte_changed(url, index) {
                    let mut changed_request = request.clone();
                    changed_request["url"] = Value::String(url);
                    changes.push((format!("URL byte {index}"), changed_request));
                }
            }
        }
        for (header, value) in request["headers"].as_object().unwrap() {
            if !signed_headers(provider).contains(&header.to_ascii_lowercase().as_str()) {
                continue;
            }
            let value = value.as_str().unwrap();
            for index in 0..value.len() {
                if let Some(value) = with_byte_changed(value, index) {
                    let mut changed_request = request.clone();
                    changed_request["headers"][header] = Value::String(value);
                    changes.push((format!("{header} byte {index}"), changed_request));
                }
            }
        }
        assert!(!changes.is_empty(), "{name}: nothing signed to change");
        for (what, changed_request) in changes {
            changes_checked += 1;
            if verifies(&vector, changed_request) {
                still_verified.push(format!("{name}: {what}"));
            }
        }
    }
    assert!(
        vectors_checked >= 20,
        "only {vectors_checked} SDK vectors verify"
    );
    assert!(
        still_verified.is_empty(),
        "{} of {changes_checked} one-byte changes still verified:\n{}",
        still_verified.len(),
        still_verified.join("\n")
    );
    println!("{vectors_checked} SDK vectors, {changes_checked} one-byte changes, each refused");
}
