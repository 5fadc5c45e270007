//! A `Value` written as compact JSON text, byte for byte what `serde_json::to_string` writes (a
//! property test compares the two).
//!
//! Hand-written for its string escaping only: serde_json looks up every byte of every string in
//! a table, one at a time, before it copies a run. Here eight bytes are checked at once (a word's
//! bytes compared with `"`, `\` and the controls by bit arithmetic, no SIMD, which the wasm build
//! does not have). Measured natively on the bench payloads' bodies: limephone 626 -> 280 ns,
//! looplookup 939 -> 672 ns, a 64 KiB message 99.7 -> 14.9 µs. The event's `raw` crosses to
//! JavaScript as this text, and the nested-JSON redaction rule writes a record it changed.

use alloc::string::String;
use core::fmt::Write as _;
use serde_json::Value;

#[cfg(feature = "binding-api")]
pub(crate) mod serializer;

/// `value` as compact JSON text, appended to `out`.
pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // As serde_json writes them: integers by itoa (directly: `core::fmt` costs ~300
        // instructions a number), floats by `Number`'s `Display` (zmij).
        Value::Number(number) => {
            if let Some(integer) = number.as_u64() {
                out.push_str(itoa::Buffer::new().format(integer));
            } else if let Some(integer) = number.as_i64() {
                out.push_str(itoa::Buffer::new().format(integer));
            } else {
                let _ = write!(out, "{number}");
            }
        }
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// `value` as compact JSON text.
pub(crate) fn to_text(value: &Value) -> String {
    // serde_json's first size: most texts written here are a record of a few hundred bytes.
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

/// `text` as a JSON string, escaped as serde_json escapes it: `"`, `\` and the controls below
/// U+0020 (the short forms `\b \t \n \f \r`, the others `\u00xx`); everything else as is.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut rest = text;
    loop {
        let plain = plain_prefix_len(rest.as_bytes());
        let (run, tail) = rest.split_at_checked(plain).unwrap_or((rest, ""));
        out.push_str(run);
        let mut chars = tail.chars();
        let Some(special) = chars.next() else { break };
        match special {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            control => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let code = u32::from(control);
                out.push_str("\\u00");
                for nibble in [code >> 4, code & 0xf] {
                    let digit = usize::try_from(nibble).ok().and_then(|n| HEX.get(n));
                    out.push(char::from(digit.copied().unwrap_or(b'0')));
                }
            }
        }
        rest = chars.as_str();
    }
    out.push('"');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// How many bytes at the start of `bytes` need no escape.
fn plain_prefix_len(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut plain = 0;
    for word in words.by_ref() {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        if may_need_escape(u64::from_le_bytes(word)) {
            break;
        }
        plain += 8;
    }
    plain
        + bytes
            .get(plain..)
            .unwrap_or_default()
            .iter()
            .position(|&byte| needs_escape(byte))
            .unwrap_or(bytes.len() - plain)
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Whether any byte of `word` may be `"`, `\` or below 0x20. The classic zero-byte test
/// (`(x - 0x01…) & !x & 0x80…`) can flag a byte above a true one by a borrow, never miss one;
/// a flagged word is then scanned byte by byte, so a false alarm costs time, not output.
fn may_need_escape(word: u64) -> bool {
    let has_zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH_BITS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
    (below_space
        | has_zero_byte(word ^ (ONES * u64::from(b'"')))
        | has_zero_byte(word ^ (ONES * u64::from(b'\\'))))
        != 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, every control, DEL, multi-byte characters, long plain runs.
        proptest::collection::vec(
            prop_oneof![
                proptest::char::range('\u{0}', '\u{7f}').prop_map(String::from),
                Just(String::from("\"")),
                Just(String::from("\\")),
                Just(String::from("é€😀")),
                "[a-z ]{8,40}",
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    pub(super) fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(text(), inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn writes_what_serde_json_writes(value in value()) {
            prop_assert_eq!(to_text(&value), serde_json::to_string(&value).unwrap());
        }
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_escapes_it() {
        for code in 0..=0x7f_u8 {
            for at in 0..17 {
                let mut text = "a".repeat(at);
                text.push(char::from(code));
                text.push_str("bcdefgh");
                let value = Value::String(text);
                assert_eq!(to_text(&value), serde_json::to_string(&value).unwrap());
            }
        }
    }
}
