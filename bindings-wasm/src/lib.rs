//! wasm-bindgen glue over `telhook_core::api`: type conversion only, no rules.
//!
//! Results cross as JSON text for `JSON.parse`, not through serde-wasm-bindgen: measured in
//! Node 20 on the five bench payloads, building the event with serde-wasm-bindgen
//! (json_compatible) was 1.16-1.52x slower than JSON text + `JSON.parse` (one call into V8's
//! native parser beats one boundary crossing per value). Errors are thrown as the JSON text of
//! `api::Failure`. The body is taken as `Vec<u8>`: one copy, moved into the request.
#![forbid(unsafe_code)]

use core::cell::Cell;

use telhook_core::api::{self, Failure};
use telhook_core::receive::machine::{Action, Input};
use wasm_bindgen::prelude::*;

fn thrown(failure: Failure) -> JsValue {
    JsValue::from_str(&failure.to_json())
}

/// The headers, from their names and values joined into one text and each one's length in
/// UTF-16 code units (JavaScript's `length`, known without encoding): one string crossing
/// instead of one a name and one a value — wasm-bindgen hands a `Vec<String>` over an element
/// at a time, each a call back into JS (Node 20: 0.15 µs a string, ~2 µs a request's dozen).
/// The text arrives as UTF-8 with each lone surrogate as U+FFFD (one unit, as it was), which is
/// what each string crossing alone gave; a high surrogate ending one part and a low one starting
/// the next, which the join made a pair, give U+FFFD on each side, as they did alone.
fn header_pairs(text: &str, lengths: &[u32]) -> Vec<(String, String)> {
    let parts = if text.is_ascii() {
        ascii_parts(text, lengths)
    } else {
        utf16_parts(text, lengths)
    };
    api::pairs(parts)
}

/// [`header_pairs`]'s parts, counted in UTF-16 units char by char.
fn utf16_parts(text: &str, lengths: &[u32]) -> Vec<String> {
    let mut parts = Vec::with_capacity(lengths.len());
    let mut chars = text.char_indices().peekable();
    let mut split_pair = false;
    for &length in lengths {
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        let mut part = String::new();
        let mut units = 0;
        if split_pair && length > 0 {
            part.push('\u{FFFD}');
            units = 1;
            split_pair = false;
        }
        let start = chars.peek().map_or(text.len(), |&(at, _)| at);
        let mut end = start;
        while units < length {
            let Some(&(at, next)) = chars.peek() else {
                break;
            };
            if units + next.len_utf16() > length {
                part.push_str(text.get(start..end).unwrap_or_default());
                part.push('\u{FFFD}');
                chars.next();
                split_pair = true;
                end = start;
                break;
            }
            chars.next();
            units += next.len_utf16();
            end = at + next.len_utf8();
        }
        part.push_str(text.get(start..end).unwrap_or_default());
        parts.push(part);
    }
    parts
}

/// [`header_pairs`]'s parts of an ASCII text, where a UTF-16 unit is a byte: its slices. Headers
/// are ASCII, as HTTP/1.1 and Fetch send them, and the char-by-char walk above cost 2.5 % of a
/// LimePhone call in Node (CPU profile, bench/PROFILE.md, fifteenth session).
fn ascii_parts(text: &str, lengths: &[u32]) -> Vec<String> {
    let mut rest = text;
    lengths
        .iter()
        .map(|&length| {
            let length = usize::try_from(length)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (part, tail) = rest.split_at(length);
            rest = tail;
            String::from(part)
        })
        .collect()
}

/// `api::Receiver`: credentials and options (JSON text) parsed and checked once.
#[wasm_bindgen]
pub struct Receiver {
    receiver: api::Receiver,
    /// The last event's long message text (`api::EventText::text`), until `sharedText` takes it.
    shared_text: Cell<Option<String>>,
}

/// The receiver's Debug (credentials as counts, never a secret); the kept text is not shown.
impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.receiver.fmt(f)
    }
}

#[wasm_bindgen]
impl Receiver {
    #[wasm_bindgen(constructor)]
    pub fn new(
        provider: Option<String>,
        credentials: &str,
        options: &str,
    ) -> Result<Receiver, JsValue> {
        api::Receiver::new(provider.as_deref(), credentials, options)
            .map(|receiver| Receiver {
                receiver,
                shared_text: Cell::new(None),
            })
            .map_err(thrown)
    }

    /// The event's JSON (`api::event_text`), its long message text kept for `sharedText`; the
    /// headers are `[name, value, …]` joined into `header_text`,
    /// with each one's `length` in `header_lengths` (see `header_pairs`).
    pub fn normalize(
        &self,
        method: String,
        url: Option<String>,
        header_text: &str,
        header_lengths: &[u32],
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        self.shared_text.set(None);
        let headers = header_pairs(header_text, header_lengths);
        let body_size = body.len();
        let request = api::request(method, url, headers, body);
        let event = self
            .receiver
            .normalize(&request, api::seconds(now).map_err(thrown)?);
        // The body's copy is freed before the event is written: at 1 MiB the two would be
        // megabytes of wasm memory at once, and wasm memory never shrinks.
        drop(request);
        let written = event
            .and_then(|event| api::event_text(event, body_size))
            .map_err(thrown)?;
        self.shared_text.set(written.text);
        Ok(written.json)
    }

    /// The long message text of the event `normalize` just gave (once): its JSON ends in `]`
    /// when there is one (`api::EventText`).
    #[wasm_bindgen(js_name = sharedText)]
    pub fn shared_text(&self) -> Option<String> {
        self.shared_text.take()
    }

    /// The provider's name.
    pub fn verify(
        &self,
        method: String,
        url: Option<String>,
        header_text: &str,
        header_lengths: &[u32],
        body: Vec<u8>,
        now: f64,
    ) -> Result<String, JsValue> {
        self.shared_text.set(None);
        let headers = header_pairs(header_text, header_lengths);
        let request = api::request(method, url, headers, body);
        let now = api::seconds(now).map_err(thrown)?;
        self.receiver
            .verify(&request, now)
            .map(Into::into)
            .map_err(thrown)
    }

    #[wasm_bindgen(getter = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        f64::from(u32::try_from(self.receiver.max_body_bytes()).unwrap_or(u32::MAX))
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
    /// The action not yet taken by `action()`: the first one.
    action: Option<String>,
    failure: Option<String>,
    /// The normalized event's long message text (`api::EventText::text`), until `sharedText`.
    shared_text: Option<String>,
}

fn action_json(action: &Action) -> String {
    // An action is a small enum of strings and integers: serializing it cannot fail.
    api::to_json(action).unwrap_or_default()
}

#[wasm_bindgen]
impl Delivery {
    /// The delivery's start (the headers as `Receiver::normalize` takes them); `action()` then
    /// gives the first action.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: &ReceiveSettings,
        method: String,
        url: Option<String>,
        header_text: &str,
        header_lengths: &[u32],
    ) -> Delivery {
        let headers = header_pairs(header_text, header_lengths);
        let (flow, action) = api::Flow::start(settings.0, method, url, headers);
        Delivery {
            flow,
            action: Some(action_json(&action)),
            failure: None,
            shared_text: None,
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

    // The inputs of every delivery, typed: their JSON text cost a `serde_json::Value` parse a
    // step (natively ~2.5 k instructions of a delivery's ~22 k) and a `JSON.stringify` in JS.
    // The rare inputs (refusals, failures, a handler's own status) keep `next`.

    /// `next({"input": "claimed", "state": state})`.
    pub fn claimed(&mut self, state: String) -> String {
        action_json(&self.flow.next(Input::Claimed { state }))
    }

    /// `next({"input": "handled", "status": null})`: the handler returned no status of its own.
    pub fn handled(&mut self) -> String {
        action_json(&self.flow.next(Input::Handled { status: None }))
    }

    /// `next({"input": "settled"})`.
    pub fn settled(&mut self) -> String {
        action_json(&self.flow.next(Input::Settled))
    }

    /// The normalize step with `receiver`: the next action as JSON text, then `\n` and the
    /// event's text (`api::event_text`) when it normalized (one string crossing for both: JSON
    /// text never holds a raw line feed); the refusal's error is `failure()`'s.
    pub fn normalize(&mut self, receiver: &Receiver, body: Vec<u8>, now: f64) -> String {
        let body_size = body.len();
        let (action, normalized) = self.flow.normalize(&receiver.receiver, body, now);
        let mut text = action_json(&action);
        match normalized.and_then(|event| api::event_text(event, body_size)) {
            Ok(event) => {
                text.push('\n');
                text.push_str(&event.json);
                self.shared_text = event.text;
            }
            Err(failure) => self.failure = Some(failure.to_json()),
        }
        text
    }

    /// `next({"input": "body_read", "length": body.length, "decoded": decoded})`, then the
    /// normalize step as `normalize` takes it when the machine asks for it next (it does
    /// whenever a body was to be read): one call where a delivery made two. When it asks for
    /// anything else, that action's JSON text alone. `decoded`: the body is a parser's decoding
    /// that nothing confirms as sent (`Input::DecodedBodyRead`).
    #[wasm_bindgen(js_name = bodyReadAndNormalize)]
    pub fn body_read_and_normalize(
        &mut self,
        receiver: &Receiver,
        body: Vec<u8>,
        now: f64,
        decoded: bool,
    ) -> String {
        let length = body.len() as u64;
        let action = self.flow.next(if decoded {
            Input::DecodedBodyRead { length }
        } else {
            Input::BodyRead { length }
        });
        if action == Action::Normalize {
            self.normalize(receiver, body, now)
        } else {
            action_json(&action)
        }
    }

    /// The long message text of the event the normalize step gave (once), as `Receiver.sharedText`.
    #[wasm_bindgen(js_name = sharedText)]
    pub fn shared_text(&mut self) -> Option<String> {
        self.shared_text.take()
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

    /// The event's body inflated, when it was sent gzipped (`api::Flow::take_inflated_body`):
    /// what the handler's request gives back.
    #[wasm_bindgen(js_name = takeInflatedBody)]
    pub fn take_inflated_body(&mut self) -> Option<Vec<u8>> {
        self.flow
            .take_inflated_body()
            .map(telhook_core::Body::into_vec)
    }
}

/// `api::call`: any other entry point by name, arguments as a JSON array; the result as JSON text.
#[wasm_bindgen]
pub fn call(name: &str, args: &str, bytes: &[u8]) -> Result<String, JsValue> {
    api::call(name, args, bytes).map_err(thrown)
}

#[cfg(test)]
mod tests {
    use super::header_pairs;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn headers_come_apart_by_their_utf16_lengths() {
        assert_eq!(header_pairs("", &[]), pairs(&[]));
        assert_eq!(
            header_pairs("x-aab\u{e9}content-type", &[3, 3, 12, 0]),
            pairs(&[("x-a", "ab\u{e9}"), ("content-type", "")])
        );
        // "😀" is two UTF-16 units (one four-byte char in UTF-8).
        assert_eq!(
            header_pairs("n\u{1F600}vm", &[1, 3, 1, 0]),
            pairs(&[("n", "\u{1F600}v"), ("m", "")])
        );
        // A name with no value (an odd count) is dropped, as `api::pairs` drops it.
        assert_eq!(header_pairs("ab", &[1, 1, 0]), pairs(&[("a", "b")]));
    }

    #[test]
    fn ascii_headers_come_apart_as_the_utf16_walk_takes_them_apart() {
        let texts = ["", "a", "content-typeapplication/json", "x-sig=v1,abc"];
        let lengths: [&[u32]; 6] = [&[], &[0], &[1, 2], &[12, 16], &[3, 0, 40], &[u32::MAX, 1]];
        for text in texts {
            for lengths in lengths {
                assert_eq!(
                    super::ascii_parts(text, lengths),
                    super::utf16_parts(text, lengths),
                    "{text:?} {lengths:?}"
                );
            }
        }
    }

    #[test]
    fn a_pair_split_between_two_parts_is_two_replacement_characters() {
        // JS parts "a\uD83D" and "\uDE00b": their join is "a😀b" in UTF-8.
        assert_eq!(
            header_pairs("a\u{1F600}b", &[2, 2]),
            pairs(&[("a\u{FFFD}", "\u{FFFD}b")])
        );
        assert_eq!(
            header_pairs("a\u{1F600}bc", &[2, 0, 0, 2]),
            pairs(&[("a\u{FFFD}", ""), ("", "\u{FFFD}b")])
        );
    }
}
