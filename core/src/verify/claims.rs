//! Exact comparison of a JSON body with the signed claims that are meant to carry it (the JWT
//! that signs its claims rather than the body bytes).
//!
//! Hand-written because `serde_json::Value` equality cannot see the differences that matter
//! here: without `arbitrary_precision` it rounds numbers beyond 2^53 (and 2^64) to the same
//! `f64`, and it keeps only the last of repeated keys — so a body could differ from the signed
//! claims and still compare equal. Here numbers compare by exact decimal value, a repeated key
//! is a mismatch, and the body is walked once, against claims parsed once.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// Nesting deeper than serde_json's own limit is refused while reading the claims.
const MAX_DEPTH: usize = 128;

/// A JSON value with numbers kept exact and object entries kept in order (repeats refused).
#[derive(Debug, PartialEq)]
enum Exact {
    Null,
    Bool(bool),
    Number(Decimal),
    Text(String),
    Array(Vec<Exact>),
    /// Sorted by name, so a body's key is found by binary search.
    Object(Vec<(String, Exact)>),
}

/// A JSON number as sign, significant digits (no leading or trailing zeros) and a power of
/// ten: `1`, `1.0`, `10e-1` and `0.1e1` are the same value; `-0` is zero.
#[derive(Debug, PartialEq)]
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    /// `text` has already been accepted by serde_json as a JSON number.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent_text) = match unsigned.find(['e', 'E']) {
            Some(at) => (unsigned.get(..at)?, unsigned.get(at + 1..)?),
            None => (unsigned, "0"),
        };
        let (exponent_negative, exponent_digits) = match exponent_text.as_bytes().first() {
            Some(b'-') => (true, exponent_text.get(1..)?),
            Some(b'+') => (false, exponent_text.get(1..)?),
            _ => (false, exponent_text),
        };
        // Saturates: serde_json already refused values outside f64's range, so only a long
        // run of zeros can make this text long.
        let mut exponent: i64 = 0;
        for digit in exponent_digits.bytes() {
            exponent = exponent
                .saturating_mul(10)
                .saturating_add(i64::from(digit.wrapping_sub(b'0')));
        }
        if exponent_negative {
            exponent = -exponent;
        }
        let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let fraction_len = i64::try_from(fraction.len()).ok()?;
        exponent = exponent.saturating_sub(fraction_len);
        let mut digits: Vec<u8> = integer.bytes().chain(fraction.bytes()).collect();
        let leading = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..leading);
        while digits.last() == Some(&b'0') {
            digits.pop();
            exponent = exponent.saturating_add(1);
        }
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        Some(Decimal {
            negative,
            digits,
            exponent,
        })
    }
}

fn exact_of(raw: &RawValue, depth: usize) -> Option<Exact> {
    if depth > MAX_DEPTH {
        return None;
    }
    let text = raw.get();
    Some(match text.as_bytes().first()? {
        b'{' => {
            let Entries(entries) = serde_json::from_str(text).ok()?;
            // Sorted, a repeated key sits beside itself, and each body key is found in log n:
            // comparing every pair made a token of many claims quadratic (a review: 128 KiB,
            // 0.8 s).
            let sorted = crate::fields::sorted_names(entries.iter().map(|(key, _)| key.as_str()));
            if sorted
                .windows(2)
                .any(|pair| matches!(pair, [(a, _), (b, _)] if a == b))
            {
                return None;
            }
            let mut object: Vec<(String, Exact)> = Vec::with_capacity(entries.len());
            for &(key, index) in &sorted {
                let (_, value) = entries.get(index)?;
                object.push((String::from(key), exact_of(value, depth + 1)?));
            }
            Exact::Object(object)
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            let mut array = Vec::with_capacity(items.len());
            for item in items {
                array.push(exact_of(item, depth + 1)?);
            }
            Exact::Array(array)
        }
        b'"' => Exact::Text(serde_json::from_str(text).ok()?),
        b't' => Exact::Bool(true),
        b'f' => Exact::Bool(false),
        b'n' => Exact::Null,
        _ => Exact::Number(Decimal::parse(text)?),
    })
}

/// An object's entries in order, repeats included (a map would hide them).
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> core::result::Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> core::result::Result<Entries<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Checks that the JSON object `body` is carried by the claims `claims_json`: every body
/// field, once, as a claim of exactly equal value (nested objects and arrays equal in full).
/// Claims the body lacks are allowed (GatewayAPI's docs print a token whose `callback_url` and
/// `api` their callback example leaves out): the event is read from the claims, so a body that
/// leaves some out is the same event with the same key. An empty body covers nothing.
pub fn check_body_covered(claims_json: &[u8], body: &[u8]) -> Result<()> {
    // The body as the event reads it: past one leading byte order mark. (Claims are a JWT
    // library's JSON, read as they are.)
    let body = crate::json_read::without_byte_order_mark(body);
    let refused = match covered_as_sent(claims_json, body) {
        Err(refused) => refused,
        covered => return covered,
    };
    // An escaped lone surrogate reads as U+FFFD in the event (crate::json_read), so the two
    // are compared as read: the same event, whichever lone half each one escaped.
    let claims = crate::json_read::lone_surrogates_replaced(claims_json);
    let body_read = crate::json_read::lone_surrogates_replaced(body);
    if claims.is_none() && body_read.is_none() {
        return Err(refused);
    }
    covered_as_sent(
        claims.as_deref().unwrap_or(claims_json),
        body_read.as_deref().unwrap_or(body),
    )
    .map_err(|_| refused)
}

fn covered_as_sent(claims_json: &[u8], body: &[u8]) -> Result<()> {
    let claims_text = core::str::from_utf8(claims_json).map_err(|_| Error::JwtMalformed {
        reason: "claims are not UTF-8",
    })?;
    let claims_raw: &RawValue =
        serde_json::from_str(claims_text).map_err(|_| Error::JwtMalformed {
            reason: "claims are not JSON",
        })?;
    // A claims object with a repeated key cannot say which value it signs.
    let Some(Exact::Object(claims)) = exact_of(claims_raw, 0) else {
        return Err(Error::JwtPayloadMismatch);
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let covered = deserializer
        .deserialize_map(ObjectVisitor {
            entries: &claims,
            top_level: true,
        })
        .and_then(|()| deserializer.end());
    covered.map_err(|_| Error::JwtPayloadMismatch)
}

/// Deserializes a body value only if it equals `self.0`.
struct Expect<'e>(&'e Exact);

fn mismatch<E: de::Error>() -> E {
    E::custom("differs from the claims")
}

impl<'de> DeserializeSeed<'de> for Expect<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> core::result::Result<(), D::Error> {
        match self.0 {
            Exact::Object(entries) => deserializer.deserialize_map(ObjectVisitor {
                entries,
                top_level: false,
            }),
            Exact::Array(items) => deserializer.deserialize_seq(ArrayVisitor(items)),
            Exact::Text(expected) => deserializer.deserialize_str(TextVisitor(expected)),
            Exact::Bool(expected) => {
                if <bool as serde::Deserialize>::deserialize(deserializer)? == *expected {
                    Ok(())
                } else {
                    Err(mismatch())
                }
            }
            Exact::Null => <() as serde::Deserialize>::deserialize(deserializer),
            Exact::Number(expected) => {
                let raw = <&RawValue as serde::Deserialize>::deserialize(deserializer)?;
                if Decimal::parse(raw.get()).as_ref() == Some(expected) {
                    Ok(())
                } else {
                    Err(mismatch())
                }
            }
        }
    }
}

struct ObjectVisitor<'e> {
    entries: &'e [(String, Exact)],
    top_level: bool,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object equal to the claims")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> core::result::Result<(), A::Error> {
        let mut seen = alloc::vec![false; self.entries.len()];
        let mut count = 0;
        while let Some(key) = map.next_key::<alloc::borrow::Cow<'de, str>>()? {
            let index = self
                .entries
                .binary_search_by(|(name, _)| name.as_str().cmp(&key))
                .map_err(|_| mismatch())?;
            let (Some(slot), Some((_, expected))) = (seen.get_mut(index), self.entries.get(index))
            else {
                return Err(mismatch());
            };
            if *slot {
                return Err(mismatch());
            }
            *slot = true;
            count += 1;
            map.next_value_seed(Expect(expected))?;
        }
        let complete = if self.top_level {
            count > 0
        } else {
            count == self.entries.len()
        };
        if complete {
            Ok(())
        } else {
            Err(mismatch())
        }
    }
}

struct ArrayVisitor<'e>(&'e [Exact]);

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array equal to the claims")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<(), A::Error> {
        for expected in self.0 {
            if seq.next_element_seed(Expect(expected))?.is_none() {
                return Err(mismatch());
            }
        }
        // One more element than the claims hold is a difference; read it as anything.
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(mismatch());
        }
        Ok(())
    }
}

struct TextVisitor<'e>(&'e str);

impl<'de> Visitor<'de> for TextVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string equal to the claims")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> core::result::Result<(), E> {
        if text == self.0 {
            Ok(())
        } else {
            Err(mismatch())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(claims: &str, body: &str) -> bool {
        check_body_covered(claims.as_bytes(), body.as_bytes()).is_ok()
    }

    #[test]
    fn equal_documents_and_extra_claims_are_covered() {
        let claims = r#"{"id":1,"n":[1,{"a":"x"}],"s":"A","b":true,"z":null,"iat":5}"#;
        assert!(covered(
            claims,
            r#"{"id":1,"n":[1,{"a":"x"}],"s":"A","b":true,"z":null}"#
        ));
        assert!(covered(claims, r#"{ "s" : "\u0041", "id" : 1.0 }"#));
        assert!(covered(r#"{"v":-0}"#, r#"{"v":0e5}"#));
        assert!(covered(r#"{"v":1.5e3}"#, r#"{"v":1500}"#));
    }

    #[test]
    fn any_difference_is_refused() {
        let claims = r#"{"id":1,"n":[1,{"a":"x"}],"big":45000000000000000000001}"#;
        for body in [
            r#"{"id":1,"userref":"x"}"#,
            r#"{"id":2}"#,
            r#"{"id":"1"}"#,
            r#"{"id":1,"id":1}"#,
            r#"{"n":[1]}"#,
            r#"{"n":[1,{"a":"x"},2]}"#,
            r#"{"n":[1,{"a":"x","b":1}]}"#,
            r#"{"n":[1,{}]}"#,
            r#"{"big":45000000000000000000002}"#,
            r#"{"big":4.5e22}"#,
            r#"{}"#,
            r#"{"id":1} {}"#,
        ] {
            assert!(!covered(claims, body), "{body}");
        }
        assert!(!covered(r#"{"a":1,"a":2}"#, r#"{"a":2}"#));
    }

    /// The event reads an escaped lone surrogate as U+FFFD (crate::json_read): so does the
    /// comparison, on either side, keys too; any other difference is still one.
    #[test]
    fn lone_surrogates_compare_as_the_event_reads_them() {
        let claims = r#"{"text":"Hi \ud83d","\udc00k":1,"iat":5}"#;
        assert!(covered(claims, r#"{"text":"Hi \ud83d","\udc00k":1}"#));
        assert!(covered(claims, r#"{"text":"Hi \udbff","\ud800k":1}"#));
        assert!(covered(claims, r#"{"text":"Hi \ufffd","\ufffdk":1}"#));
        assert!(!covered(
            claims,
            r#"{"text":"Hi \ud83d\ude00","\udc00k":1}"#
        ));
        assert!(!covered(claims, r#"{"text":"Hi","\udc00k":1}"#));
        assert!(!covered(claims, r#"{"text":"Hi \ud83d","\udc00k":2}"#));
    }

    /// The body as the event reads it: past one byte order mark (not two); the claims as a
    /// JWT library writes them, with none.
    #[test]
    fn a_byte_order_mark_is_read_past_in_the_body_only() {
        let claims = r#"{"id":1,"s":"A"}"#;
        assert!(covered(claims, "\u{feff}{\"id\":1,\"s\":\"A\"}"));
        assert!(!covered(claims, "\u{feff}\u{feff}{\"id\":1,\"s\":\"A\"}"));
        assert!(!covered("\u{feff}{\"id\":1}", r#"{"id":1}"#));
    }

    #[test]
    fn decimal_forms_of_one_value_agree() {
        let one = Decimal::parse("1");
        for text in ["1.0", "10e-1", "0.1e1", "100E-2", "0001.000"] {
            assert_eq!(Decimal::parse(text), one, "{text}");
        }
        assert_ne!(Decimal::parse("-1"), one);
        assert_eq!(Decimal::parse("-0.0"), Decimal::parse("0"));
    }
}
