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

/// A receiver's checked receive settings (`api::receive_settings`), held in wasm for its deliveries.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ReceiveSettings(telhook_core::receive::machine::Settings);

#[wasm_bindgen]
impl ReceiveSettings {
    #[wasm_bindgen(constructor)]
    pub fn new(settings: &str) -> Result<ReceiveSettings, JsValue> {
        api::receive_settings(settings)
            .map(ReceiveSettings)
            .map_err(thrown)
    }
}

/// One delivery through the receive machine (`api::Flow`): each step takes the input and gives
/// the next action as small JSON texts; the settings and the delivery's state stay here.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Delivery {
    flow: api::Flow,
    /// The action not yet taken by `action()`: the first one, then the normalize step's.
    action: Option<String>,
    event: Option<String>,
    failure: Option<String>,
}

fn action_json(action: &telhook_core::receive::machine::Action) -> String {
    // An action is a small enum of strings and integers: serializing it cannot fail.
    api::to_json(action).unwrap_or_default()
}

#[wasm_bindgen]
impl Delivery {
    /// The delivery's start: `headers` is the flat `[name, value, …]` list; `action()` then
    /// gives the first action.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: &ReceiveSettings,
        method: String,
        url: Option<String>,
        headers: Vec<String>,
    ) -> Delivery {
        let (flow, action) = api::Flow::start(settings.0, method, url, api::pairs(headers));
        Delivery {
            flow,
            action: Some(action_json(&action)),
            event: None,
            failure: None,
        }
    }

    /// The action waiting to be taken, as JSON text (once).
    pub fn action(&mut self) -> Option<String> {
        self.action.take()
    }

    /// The next action, given the JSON text of what happened.
    pub fn next(&mut self, input: &str) -> Result<String, JsValue> {
        let input = api::machine_input(input).map_err(thrown)?;
        Ok(action_json(&self.flow.next(input)))
    }

    /// The normalize step with `receiver`; the next action as JSON text, and the event's
    /// (`event()`) or the refusal's (`failure()`).
    pub fn normalize(&mut self, receiver: &Receiver, body: Vec<u8>, now: f64) -> String {
        let (action, normalized) = self.flow.normalize(&receiver.0, body, now);
        match normalized.and_then(|event| api::to_json(&event)) {
            Ok(event) => self.event = Some(event),
            Err(failure) => self.failure = Some(failure.to_json()),
        }
        action_json(&action)
    }

    /// The normalized event's JSON text (once).
    pub fn event(&mut self) -> Option<String> {
        self.event.take()
    }

    /// The normalize step's error, as `api::Failure` JSON text (once).
    pub fn failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    /// The configured provider, then the one the event came from.
    #[wasm_bindgen(getter)]
    pub fn provider(&self) -> Option<String> {
        self.flow.provider().map(|provider| provider.name().into())
    }
}

/// `api::call`: any other entry point by name, arguments as a JSON array; the result as JSON text.
#[wasm_bindgen]
pub fn call(name: &str, args: &str, bytes: &[u8]) -> Result<String, JsValue> {
    api::call(name, args, bytes)
        .and_then(|value| api::to_json(&value))
        .map_err(thrown)
}
