//! telhook's core behind N-API: the same `api::Receiver` and `api::event_text` the wasm binding
//! calls, the headers packed as npm packs them (ASCII here: the bench's headers are), the event
//! handed back as its JSON text for `JSON.parse`. Only what the measurement needs. Beside it, the
//! one-pass sketch (bench/wasm-floor/src/one_pass.rs) built natively: the two levers at once.

use napi::bindgen_prelude::{Buffer, Error, Result, Uint32Array};
use napi_derive::napi;
use telhook_core::api;

#[path = "../../wasm-floor/src/one_pass.rs"]
mod one_pass;

fn thrown(error: impl core::fmt::Debug) -> Error {
    Error::from_reason(format!("{error:?}"))
}

#[napi]
pub struct NativeReceiver(api::Receiver);

#[napi]
impl NativeReceiver {
    #[napi(constructor)]
    pub fn new(provider: Option<String>, credentials: String) -> Result<Self> {
        api::Receiver::new(provider.as_deref(), &credentials, "null")
            .map(NativeReceiver)
            .map_err(thrown)
    }

    #[napi]
    pub fn normalize(
        &self,
        method: String,
        url: Option<String>,
        header_text: String,
        header_lengths: Uint32Array,
        body: Buffer,
        now: f64,
    ) -> Result<String> {
        let mut parts = Vec::with_capacity(header_lengths.len());
        let mut at = 0usize;
        for &length in header_lengths.iter() {
            let end = at + length as usize;
            parts.push(header_text.get(at..end).unwrap_or_default().to_owned());
            at = end;
        }
        let body_size = body.len();
        let request = api::request(method, url, api::pairs(parts), body.to_vec());
        let event = self
            .0
            .normalize(&request, api::seconds(now).map_err(thrown)?);
        drop(request);
        let written = event
            .and_then(|event| api::event_text(event, body_size))
            .map_err(thrown)?;
        match written.text {
            None => Ok(written.json),
            // npm takes such a text through a second call (`sharedText`); the bench payloads'
            // texts are short, and the sketch times those only.
            Some(_) => Err(Error::from_reason(
                "a long message text crosses apart: not what this sketch times",
            )),
        }
    }
}

#[napi]
pub struct NativeOnePassLimephone(one_pass::OnePassLimephone);

#[napi]
impl NativeOnePassLimephone {
    #[napi(constructor)]
    pub fn new(secret: String, bearer: String) -> Result<Self> {
        one_pass::OnePassLimephone::new(&secret, &bearer)
            .map(NativeOnePassLimephone)
            .map_err(thrown)
    }

    /// The event's JSON text, or `null` where the sketch does not build telhook's event.
    #[napi]
    pub fn normalize(
        &self,
        header_text: String,
        header_lengths: Uint32Array,
        body: Buffer,
        now: f64,
    ) -> Option<String> {
        self.0.normalize(&header_text, &header_lengths, &body, now)
    }
}

#[napi]
pub struct NativeOnePassLisoloo(one_pass::OnePassLisoloo);

#[napi]
impl NativeOnePassLisoloo {
    #[napi(constructor)]
    pub fn new(user: String, password: String) -> Self {
        NativeOnePassLisoloo(one_pass::OnePassLisoloo::new(&user, &password))
    }

    /// The event's JSON text, or `null` where the sketch does not build telhook's event.
    #[napi]
    pub fn normalize(
        &self,
        header_text: String,
        header_lengths: Uint32Array,
        body: Buffer,
        now: f64,
    ) -> Option<String> {
        self.0.normalize(&header_text, &header_lengths, &body, now)
    }
}
