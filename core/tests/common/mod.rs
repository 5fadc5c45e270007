//! The one vector reader of the Rust tests (`mod common;` in each test crate that runs vectors):
//! the vector files, and a vector's request form as a `WebhookRequest` through the core's own
//! JSON reader (`WebhookRequest::from_json_value`), plus the handler vectors' `body_repeat`.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use telhook_core::WebhookRequest;

fn tests_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests")
        .join(name)
}

fn json_files(dir: &Path, recursive: bool) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if recursive {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "json") {
                let vector: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
                out.push((path, vector));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every conformance and hostile vector (tests/vectors/*/*.json), sorted by path.
pub fn vectors() -> Vec<(PathBuf, Value)> {
    json_files(&tests_dir("vectors"), true)
}

/// Every receive-path vector (tests/handlers/*.json), sorted by path.
pub fn handler_vectors() -> Vec<(PathBuf, Value)> {
    json_files(&tests_dir("handlers"), false)
}

/// Every inbox-mode vector (tests/inbox/*.json), sorted by path.
pub fn inbox_vectors() -> Vec<(PathBuf, Value)> {
    json_files(&tests_dir("inbox"), false)
}

/// Every canary request (tests/canary/*.json, issue 12), sorted by path.
pub fn canary_vectors() -> Vec<(PathBuf, Value)> {
    json_files(&tests_dir("canary"), false)
}

/// Runs every vector, at least `minimum` of them, and fails with every failure listed.
pub fn run_all(
    vectors: &[(PathBuf, Value)],
    minimum: usize,
    run: impl Fn(&Value) -> Result<(), String>,
) {
    assert!(vectors.len() >= minimum, "only {} vectors", vectors.len());
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|(path, vector)| {
            run(vector)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A request form (`{method?, url?, headers, body | body_base64 | body_repeat}`) as a request.
pub fn request_of(form: &Value) -> WebhookRequest {
    let mut form = form.clone();
    if let Some(repeat) = form.as_object_mut().unwrap().remove("body_repeat") {
        let times = usize::try_from(repeat["times"].as_u64().unwrap()).unwrap();
        form["body"] = Value::String(repeat["text"].as_str().unwrap().repeat(times));
    }
    WebhookRequest::from_json_value(form).unwrap()
}
