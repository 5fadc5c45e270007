//! wasm-bindgen glue over `telhook_core::api`: type conversion only, no rules.
//!
//! Results cross as JSON text for `JSON.parse`, not through serde-wasm-bindgen: measured in
//! Node 20 on the five bench payloads, building the event with serde-wasm-bindgen
//! (json_compatible) was 1.16-1.52x slower than JSON text + `JSON.parse` (one call into V8's
//! native parser beats one boundary crossing per value). Errors are thrown as the JSON text of
//! `api::Failure`. The body is taken as `Vec<u8>`: one copy, moved into the request.
#![forbid(unsafe_code)]

use telhook_core::api::{self, Failure};
use wasm_bindgen::prelude::*;

fn thrown(failure: Failure) -> JsValue {
    JsValue::from_str(&failure.to_json())
}

/// `api::Receiver`: credentials and options (JSON text) parsed and checked once.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Receiver(api::Receiver);

#[wasm_bindgen]
impl Receiver {
    #[wasm_bindgen(constructor)]
    pub fn new(
        provider: Option<String>,
        credentials: &str,
        options: &str,
    ) -> Result<Receiver, JsValue> {
        api::Receiver::new(provider.as_deref(), credentials, options)
            .map(Receiver)
            .map_err(thrown)
    }

    /// The event as JSON text; `headers` is the flat `[name, value, …]` list.
    pub fn normalize(
        &self,
        method: String,
        url: Option<String>,
        headers: Vec<String>,
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        let request = api::request(method, url, api::pairs(headers), body);
        let event = self
            .0
            .normalize(&request, api::seconds(now).map_err(thrown)?);
        event.and_then(|event| api::to_json(&event)).map_err(thrown)
    }

    /// The provider's name.
    pub fn verify(
        &self,
        method: String,
        url: Option<String>,
        headers: Vec<String>,
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        let request = api::request(method, url, api::pairs(headers), body);
        let now = api::seconds(now).map_err(thrown)?;
        self.0.verify(&request, now).map(Into::into).map_err(thrown)
    }

    #[wasm_bindgen(getter = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        f64::from(u32::try_from(self.0.max_body_bytes()).unwrap_or(u32::MAX))
    }
}

/// `api::call`: any other entry point by name, arguments as a JSON array; the result as JSON text.
#[wasm_bindgen]
pub fn call(name: &str, args: &str, bytes: &[u8]) -> Result<String, JsValue> {
    api::call(name, args, bytes)
        .and_then(|value| api::to_json(&value))
        .map_err(thrown)
}
