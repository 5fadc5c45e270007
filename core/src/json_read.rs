//! A provider's JSON text read as serde_json reads it, except that an escaped lone UTF-16
//! surrogate (`"\ud83d"` not followed by its other half) reads as U+FFFD.
//!
//! RFC 8259's grammar allows any `\uXXXX` escape, and the senders providers run write these:
//! since ES2019 `JSON.stringify` escapes a lone surrogate instead of writing it raw, and Python's
//! `json.dumps` escapes one by default, so a message text cut at a UTF-16 length in the middle
//! of an emoji arrives as `"…\ud83d"`. serde_json refuses such a text (a Rust `String` cannot
//! hold a lone surrogate; serde-rs/json#495). That refused a verified delivery as
//! `malformed_json`, and left a JSON text nested in a string unread by the redaction rules that
//! need its keys. U+FFFD is what Go's `encoding/json`, `TextEncoder` and every lossy UTF-16 to
//! UTF-8 conversion give, and what a lone surrogate crossing from JavaScript into this package
//! already became; the replacement keeps the text's length, so an error's position is unchanged.
//!
//! Hand-written: serde_json has no option for it (it reads lone surrogates only into bytes, as
//! WTF-8), and only a text serde_json refused is rewritten and read again, so a valid text costs
//! nothing more.

use alloc::string::String;
use alloc::vec::Vec;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `serde_json::from_str`, with each escaped lone surrogate read as U+FFFD. A text refused for
/// another reason is refused with the error of that reason: the rewritten text has the same
/// length, so the error's line and column are the original's.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    match serde_json::from_str(text) {
        Err(refused) => match lone_surrogates_replaced(text.as_bytes()) {
            // ASCII digits replaced by ASCII digits: still UTF-8.
            Some(replaced) => match String::from_utf8(replaced) {
                Ok(replaced) => serde_json::from_str(&replaced),
                Err(_) => Err(refused),
            },
            None => Err(refused),
        },
        read => read,
    }
}

/// `serde_json::from_slice`, faster: a text that is UTF-8 as a whole (every body a provider
/// sends) is checked once and read by [`from_str`], where serde_json checks each string it reads
/// (2.5 % of a small call's wall clock, perf). Any other text is read as bytes, so its error is
/// the one `from_slice` gives.
///
/// One leading UTF-8 byte order mark is passed over, as RFC 8259 §8.1 lets a parser do: a .NET
/// sender writing through `Encoding.UTF8` puts one there (SharePoint's webhooks do; n8n#13577),
/// and a hand-written receiver reads past it (`json.loads` of the bytes, `JSON.parse` of what
/// `TextDecoder` gives), where serde_json refused the verified delivery.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let bytes = without_byte_order_mark(bytes);
    match core::str::from_utf8(bytes) {
        Ok(text) => from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Whether `bytes` start like a JSON object, as [`from_bytes`] reads them (past one byte order
/// mark and any whitespace): what tells a JSON body from a form where a provider takes both.
pub(crate) fn opens_an_object(bytes: &[u8]) -> bool {
    without_byte_order_mark(bytes)
        .trim_ascii_start()
        .starts_with(b"{")
}

/// Whether an object of the JSON `text`, at any depth, repeats a key, given `read`, the value
/// read from it: the reading keeps the last value of a repeated key and drops the others, which
/// stay in the text. Every `:` outside a string of a JSON text separates one object member's key
/// from its value, so the text repeats a key exactly when it has more of them than `read` has
/// members. One pass over the bytes and one walk of the tree, no second parse (a parse with a
/// set of keys per object took a 1 MiB text of 100,000 keys from 19-22 to 37-48 ms, and 1.9 KB
/// of the wasm module).
pub(crate) fn repeats_a_key(text: &str, read: &Value) -> bool {
    colons_outside_strings(text.as_bytes()) != members(read)
}

fn colons_outside_strings(bytes: &[u8]) -> usize {
    let (mut colons, mut in_string, mut escaped) = (0, false, false);
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if byte == b':' {
            colons += 1;
        }
    }
    colons
}

fn members(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.len() + map.values().map(members).sum::<usize>(),
        Value::Array(items) => items.iter().map(members).sum(),
        _ => 0,
    }
}

/// `bytes` past one leading UTF-8 byte order mark, as [`from_bytes`] reads a body.
pub(crate) fn without_byte_order_mark(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// `text` with every `\uXXXX` escape of a surrogate that is not half of an escaped pair
/// rewritten as `\ufffd`, or `None` when it has none. Escapes are walked in order, so the `u`
/// after an escaped backslash (`\\ud800`, literal text) is never taken for one.
pub(crate) fn lone_surrogates_replaced(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut replaced: Option<Vec<u8>> = None;
    let mut at = 0;
    while let Some(found) = bytes.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let escape = at + found;
        if bytes.get(escape + 1) != Some(&b'u') {
            // The escaped byte never starts another escape.
            at = escape + 2;
            continue;
        }
        let Some(unit) = hex_unit(bytes, escape + 2) else {
            at = escape + 2;
            continue;
        };
        let lone = match unit {
            0xD800..=0xDBFF => {
                let low = bytes.get(escape + 6..escape + 8) == Some(b"\\u".as_slice())
                    && matches!(hex_unit(bytes, escape + 8), Some(0xDC00..=0xDFFF));
                if low {
                    at = escape + 12;
                    continue;
                }
                true
            }
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let out = replaced.get_or_insert_with(|| bytes.to_vec());
            if let Some(digits) = out.get_mut(escape + 2..escape + 6) {
                digits.copy_from_slice(b"fffd");
            }
        }
        at = escape + 6;
    }
    replaced
}

/// The four hex digits at `at`, as a UTF-16 unit.
fn hex_unit(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    let mut unit = 0u16;
    for &digit in digits {
        let value = char::from(digit).to_digit(16)?;
        unit = unit << 4 | value as u16;
    }
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use serde_json::Value;

    fn read(text: &str) -> Result<Value, String> {
        from_str::<Value>(text).map_err(|e| alloc::format!("{e}"))
    }

    /// `from_bytes` gives what `serde_json::from_slice` gives: the value, or the same
    /// error at the same place, for bodies with and without invalid UTF-8; except that an
    /// escaped lone surrogate, which `from_slice` refuses, reads as U+FFFD, and that one
    /// leading byte order mark is passed over.
    #[test]
    fn from_bytes_answers_as_from_slice() {
        assert_eq!(
            from_bytes::<Value>(b"{\"a\":\"\\ud800\"}").ok(),
            Some(serde_json::json!({"a": "\u{fffd}"}))
        );
        assert_eq!(
            from_bytes::<Value>(b"\xef\xbb\xbf{\"a\":1}").ok(),
            Some(serde_json::json!({"a": 1}))
        );
        let bodies: [&[u8]; 9] = [
            b"{\"a\":\"b\",\"n\":[1,2.5,null]}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\xc3\"}",
            b"\xef\xbb\xbf\xef\xbb\xbf{}",
            b"{\"a\":",
            b"{\"\xe2\x82\":1}",
            b"",
            b"{\"a\":1,}",
            "{\"é\":\"\u{1F600}\"}".as_bytes(),
        ];
        for body in bodies {
            let ours = from_bytes::<Value>(body).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Value>(body).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{body:?}");
        }
    }

    #[test]
    fn a_lone_surrogate_escape_reads_as_the_replacement_character() {
        for (text, expected) in [
            (r#""\ud800""#, "\u{fffd}"),
            (r#""\uDFFF""#, "\u{fffd}"),
            // An emoji cut after its first half, as `JSON.stringify("😀".slice(0, 1))` writes it.
            (r#""Hi \ud83d""#, "Hi \u{fffd}"),
            (r#""\ud83d\ude00 \ud83d""#, "\u{1f600} \u{fffd}"),
            // Reversed halves: each alone.
            (r#""\ude00\ud83d""#, "\u{fffd}\u{fffd}"),
            // A high half followed by another escape, or by a second high half and its pair.
            (r#""\ud83d\u0061""#, "\u{fffd}a"),
            (r#""\ud83d\ud83d\ude00""#, "\u{fffd}\u{1f600}"),
            (r#""\ud83d\n""#, "\u{fffd}\n"),
            // An escaped backslash then `ud800` is text, not an escape; left as it is.
            (r#""\\ud800""#, "\\ud800"),
            (r#""\\\ud800""#, "\\\u{fffd}"),
        ] {
            assert_eq!(read(text), Ok(Value::String(expected.into())), "{text}");
        }
        assert_eq!(
            read(r#"{"\ud800":[1,"\udc00"]}"#),
            Ok(serde_json::json!({"\u{fffd}": [1, "\u{fffd}"]}))
        );
    }

    #[test]
    fn anything_else_is_read_or_refused_as_serde_json_does() {
        for text in [
            r#""\ud83d\ude00""#,
            r#"{"a":"\u00e9\n\"\\"}"#,
            r#""\u12""#,
            r#""\ud8""#,
            r#""\uZZZZ""#,
            "\"\\",
            "\"\\u",
            r#"{"a":1,}"#,
            "[1,2",
            "",
        ] {
            let theirs = serde_json::from_str::<Value>(text).map_err(|e| alloc::format!("{e}"));
            assert_eq!(read(text), theirs, "{text}");
        }
    }

    #[test]
    fn a_text_refused_for_another_reason_is_refused_where_that_reason_is() {
        let theirs =
            serde_json::from_str::<Value>(r#"["\ufffd",]"#).map_err(|e| alloc::format!("{e}"));
        assert_eq!(read(r#"["\ud800",]"#), theirs);
        assert!(read(r#"["\ud800",]"#).is_err_and(|e| e.contains("column 11")));
        assert!(read(r#"["\ud800" x]"#).is_err());
    }

    #[test]
    fn repeated_keys_are_found_at_any_depth() {
        for (text, repeats) in [
            (r#"{"a":1,"b":2}"#, false),
            (r#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#, false),
            (r#"{"a:":"b:\":{\\","c":"{\"d\":1,\"d\":2}"}"#, false),
            (r#"{"a":1,"a":1}"#, true),
            (r#"{"x":[1,{"b":{"a":1,"\u0061":2}}]}"#, true),
            (r#"[{"k":1},{"k":2,"k":3}]"#, true),
            (r#"{"\ud800":1,"\udbff":2}"#, true),
            (r#"{ "a" : 1 , "b" : { } , "a" : [ ] }"#, true),
        ] {
            let read = read(text).unwrap_or_default();
            assert_eq!(repeats_a_key(text, &read), repeats, "{text}");
        }
    }
}
