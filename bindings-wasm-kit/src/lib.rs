//! The test kit's own wasm module (`telhook/testing`): signing, samples and forgeries, built
//! from the same core as the receiver's module (bindings-wasm) but apart from it, so that the
//! module a receiver loads carries none of it. Built on its own (`cargo build -p
//! telhook-wasm-kit`): built together with bindings-wasm, Cargo would unify the core's
//! features and give the receiver's module the kit too.
#![forbid(unsafe_code)]

use telhook_core::api;
use wasm_bindgen::prelude::*;

/// `api::call_kit`: `sign`, `sample`, `event_kinds`, `identity`, `parse` and `parse_http_capture`
/// by name, arguments as a JSON array; the result as JSON text, a failure thrown as the JSON text
/// of `api::Failure`.
#[wasm_bindgen]
pub fn call(name: &str, args: &str, bytes: &[u8]) -> Result<String, JsValue> {
    api::call_kit(name, args, bytes).map_err(|failure| JsValue::from_str(&failure.to_json()))
}
