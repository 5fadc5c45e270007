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

/// [`Floor::event`] without the HMAC: the floor of a provider that signs nothing (Basic or a
/// token: one comparison), the body parsed and written back as JSON.
#[wasm_bindgen]
pub fn unsigned_event(body: &[u8]) -> Result<String, JsError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(value.to_string())
}

/// The DID reseller's least possible work (as core/benches/common `did_reseller_minimum`):
/// the body parsed, the record inside `data` parsed, the SHA-256 of the body (its idempotency
/// key) and the record twice (`record.data` and `raw.data`), written back as JSON. No HMAC:
/// the reseller signs nothing.
#[wasm_bindgen]
pub fn did_reseller_minimum(body: &[u8]) -> Result<String, JsError> {
    use sha2::Digest as _;
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| JsError::new(&e.to_string()))?;
    let text = value["data"].as_str().unwrap_or("{}");
    let record: serde_json::Value =
        serde_json::from_str(text).map_err(|e| JsError::new(&e.to_string()))?;
    let key: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let copy = record.clone();
    value["data"] = record;
    Ok(format!(
        r#"{{"id":"did_reseller:sha256:{key}","record":{copy},"raw":{value}}}"#
    ))
}
