#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Runs every status-ledger vector under tests/ledger/: each run applies the events in its
//! order to an empty ledger; every verdict and the final state must match. The Node, workerd
//! and Python runners do the same through their bindings.

use std::fs;
use std::path::Path;

use serde_json::Value;
use telhook_core::ledger::{apply_json, Applied};

fn ledger_vectors() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ledger");
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_slice(&fs::read(&path).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_ledger_vector_ends_in_its_state_in_every_order() {
    let vectors = ledger_vectors();
    assert!(vectors.len() >= 20, "{} ledger vectors", vectors.len());
    for (name, vector) in vectors {
        let events = vector["events"].as_array().unwrap();
        for run in vector["runs"].as_array().unwrap() {
            let mut state = Value::Null;
            let mut verdicts = Vec::new();
            let mut error = None;
            for index in run["order"].as_array().unwrap() {
                let event = &events[usize::try_from(index.as_u64().unwrap()).unwrap()];
                match apply_json(state.to_string().as_bytes(), event.to_string().as_bytes()) {
                    Ok(Applied {
                        verdict,
                        state: next,
                    }) => {
                        verdicts.push(serde_json::to_value(verdict).unwrap());
                        state = serde_json::to_value(next).unwrap();
                    }
                    Err(e) => {
                        error = Some(e.code());
                        break;
                    }
                }
            }
            match vector["expect"].get("error") {
                Some(code) => assert_eq!(error, code.as_str(), "{name}"),
                None => {
                    assert_eq!(error, None, "{name}");
                    assert_eq!(&Value::Array(verdicts), &run["verdicts"], "{name}");
                    assert_eq!(state, vector["expect"]["state"], "{name}");
                }
            }
        }
    }
}
