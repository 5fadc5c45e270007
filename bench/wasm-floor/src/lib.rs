//! The floor of a WebAssembly receiver (see Cargo.toml): no verification rule, no redaction,
//! no normalization — only the work every design that verifies in wasm and returns the parsed
//! body as JSON does.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasm_bindgen::prelude::*;

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

    /// The body's HMAC-SHA256 (its first byte kept so the work cannot be skipped) and the body
    /// parsed and written back as JSON: `[tag byte, body]`.
    pub fn event(&self, body: &[u8]) -> Result<String, JsError> {
        let mut mac = self.keyed.clone();
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| JsError::new(&e.to_string()))?;
        let first = tag.first().copied().unwrap_or(0);
        Ok(format!("[{first},{}]", value))
    }
}
