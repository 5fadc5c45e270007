//! The floor of a WebAssembly receiver (see Cargo.toml): no verification rule, no redaction,
//! no normalization — only the work every design that verifies and reads the body in wasm
//! does. It returns nothing but a byte: `raw`, which any such design must hand to JavaScript,
//! is cheapest made by `JSON.parse` of the body in JS (bench/node/bench.mjs does that beside
//! each call), not written as JSON in wasm and parsed again.

use hmac::{Hmac, Mac};
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

mod one_pass;

/// The one-pass sketches (one_pass.rs) for JavaScript.
#[wasm_bindgen]
pub struct OnePassLimephone(one_pass::OnePassLimephone);

#[wasm_bindgen]
impl OnePassLimephone {
    #[wasm_bindgen(constructor)]
    pub fn new(secret: &str, bearer: &str) -> Result<OnePassLimephone, JsError> {
        one_pass::OnePassLimephone::new(secret, bearer)
            .map(OnePassLimephone)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The event's JSON text, or `None` where the sketch does not build telhook's event.
    pub fn normalize(
        &self,
        headers: &str,
        lengths: &[u32],
        body: &[u8],
        now: f64,
    ) -> Option<String> {
        self.0.normalize(headers, lengths, body, now)
    }
}

#[wasm_bindgen]
pub struct Floor {
    /// Keyed once, as telhook keeps a secret's key schedule.
    keyed: Hmac<Sha256>,
}

#[wasm_bindgen]
impl Floor {
    #[wasm_bindgen(constructor)]
    pub fn new(secret: &[u8]) -> Result<Floor, JsError> {
        let keyed =
            Hmac::<Sha256>::new_from_slice(secret).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Floor { keyed })
    }

    /// The body's HMAC-SHA256 and the body checked as a JSON object (the least any reading of
    /// its fields does): 1 + the tag's first byte, or 0 when the body is no JSON object.
    pub fn check(&self, body: &[u8]) -> u32 {
        let mut mac = self.keyed.clone();
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        if is_json_object(body) {
            1 + u32::from(tag.first().copied().unwrap_or(0))
        } else {
            0
        }
    }
}

/// [`Floor::check`] without the HMAC: the floor of a provider that signs nothing (Basic or a
/// token: one comparison).
#[wasm_bindgen]
pub fn check_unsigned(body: &[u8]) -> bool {
    is_json_object(body)
}

/// The DID reseller's least possible work in wasm: the body checked and its `data` read, the
/// record inside it (a JSON document in a string) checked, and the SHA-256 of the body, its
/// idempotency key (`did_reseller:sha256:<hex>`). No HMAC: the reseller signs nothing. JS then
/// parses the body and the record for `raw` and `record.data` (one object for both).
#[wasm_bindgen]
pub fn did_reseller_key(body: &[u8]) -> Option<String> {
    // Only `data` is read: the envelope's other values are checked and skipped.
    let envelope: BTreeMap<&str, &RawValue> = serde_json::from_slice(body).ok()?;
    let data: String = serde_json::from_str(envelope.get("data")?.get()).ok()?;
    serde_json::from_str::<IgnoredAny>(&data).ok()?;
    // Written with the `hex` crate, as the core writes telhook's key.
    Some(format!(
        "did_reseller:sha256:{}",
        hex::encode(Sha256::digest(body))
    ))
}

/// The body checked as JSON and skipped (`IgnoredAny`): the least any reading of its fields
/// does, cheaper than building a `Value`.
fn is_json_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

#[wasm_bindgen]
pub struct OnePassLisoloo(one_pass::OnePassLisoloo);

#[wasm_bindgen]
impl OnePassLisoloo {
    #[wasm_bindgen(constructor)]
    pub fn new(user: &str, password: &str) -> OnePassLisoloo {
        OnePassLisoloo(one_pass::OnePassLisoloo::new(user, password))
    }

    /// The event's JSON text, or `None` where the sketch does not build telhook's event.
    pub fn normalize(
        &self,
        headers: &str,
        lengths: &[u32],
        body: &[u8],
        now: f64,
    ) -> Option<String> {
        self.0.normalize(headers, lengths, body, now)
    }
}
