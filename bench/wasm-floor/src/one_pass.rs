//! Sketches of the one-pass core for two deliveries (a LimePhone `sms_received`, a LisoLoo
//! `sms.failed`), built to measure what that design would cost before the core is rewritten for
//! it (issue 27; see bench/PROFILE.md, sixteenth session). Not telhook, and not receivers: each
//! builds only its event and answers `None` wherever telhook would do anything it does not (another event, a
//! string a redaction rule would rewrite, a time not already in canonical form). bench/node
//! checks that each event equals telhook's before timing it. Plain Rust: bench/wasm-floor wraps it
//! for wasm, bench/native-sketch (which includes this file) for N-API.
//!
//! What they do that telhook does for these deliveries, each once (LimePhone's):
//! - the signature header's HMAC-SHA256 over the body, compared in constant time, and the
//!   Bearer token compared in constant time;
//! - the body read in one pass into its top-level members, keys and strings borrowed from it
//!   (no tree of owned values);
//! - every key and string at any depth looked at by the redaction rules' own tests: a key named
//!   like a secret, a configured value in the text (first and last bytes, then `contains`), the
//!   bytes the URL, query and nested-JSON rules need;
//! - the fields read, the numbers brought to E.164, the time checked, the idempotency key;
//! - the event written as JSON by hand (strings without escapes copied, as telhook's own
//!   writer does), with `raw` the body's own text (nothing was redacted) in place of a tree
//!   written back.
//!
//! What it leaves out, so that it reads a little fast: `raw`'s keys stay in the body's order
//! (telhook's are sorted, as a `Value` holds them: a core that wrote the body's text would sort
//! each object's members; the event is equal either way, as JavaScript compares objects), and
//! the replay, method and content-type checks (a few comparisons).

use core::fmt;
use std::borrow::Cow;

use hmac::{Hmac, Mac};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use sha2::Sha256;

/// A JSON string, borrowed from the body when it holds no escape.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// One object's members in the body's order, each value as its own JSON text.
struct Members<'a>(Vec<(Text<'a>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(16);
                while let Some(member) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl<'a> Members<'a> {
    /// The last member named `key` (JSON's duplicate keys: the last wins, as in a `Value`).
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(name, _)| name.0 == key)
            .map(|(_, value)| *value)
    }

    /// `Some(None)` when `key` is absent or null, `None` when it holds anything but a string.
    fn optional_text(&self, key: &str) -> Option<Option<Cow<'a, str>>> {
        match self.get(key) {
            None => Some(None),
            Some(value) if value.get() == "null" => Some(None),
            Some(_) => self.text(key).map(Some),
        }
    }

    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        let value = self.get(key)?;
        serde_json::from_str::<Text<'a>>(value.get())
            .ok()
            .map(|text| text.0)
    }
}

/// The redaction rules' tests, as telhook's `Redactor` runs them on every key and string.
struct Redaction {
    /// The configured values redaction looks for, longest first.
    values: Vec<String>,
}

impl Redaction {
    fn new(values: &[&str]) -> Redaction {
        let mut values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        values.sort_by_key(|value| core::cmp::Reverse(value.len()));
        Redaction { values }
    }

    fn clean_members(&self, members: &Members) -> bool {
        members
            .0
            .iter()
            .all(|(key, item)| self.clean_key(&key.0) && self.clean(item))
    }

    fn clean_key(&self, key: &str) -> bool {
        !secret_named(key) && self.clean_text(key)
    }

    /// Whether no redaction rule would rewrite `value` or anything inside it.
    fn clean(&self, value: &RawValue) -> bool {
        let json = value.get();
        match json.as_bytes().first() {
            Some(b'{') => serde_json::from_str::<Members>(json)
                .is_ok_and(|members| self.clean_members(&members)),
            Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(json)
                .is_ok_and(|items| items.iter().all(|item| self.clean(item))),
            Some(b'"') => {
                serde_json::from_str::<Text>(json).is_ok_and(|text| self.clean_text(&text.0))
            }
            // telhook rewrites in `raw` any number not written as a plain integer within
            // ±(2^53 - 1) (`canonicalize_numbers`); the sketch copies the body, so it stops there.
            Some(b'-' | b'0'..=b'9') => plain_integer(json),
            _ => true,
        }
    }

    fn clean_text(&self, text: &str) -> bool {
        let fits = self.values.last().is_some_and(|v| v.len() <= text.len());
        if fits
            && self
                .values
                .iter()
                .any(|v| may_hold(text.as_bytes(), v.as_bytes()) && text.contains(v.as_str()))
        {
            return false;
        }
        // The URL, query and nested-JSON rules need one of these (telhook's table); the sketch
        // stops there.
        text.bytes()
            .fold(0u8, |seen, byte| seen | RULE_BYTES[usize::from(byte)])
            == 0
    }
}

/// The headers' values named `wanted` (lower case), from headers packed as npm packs them
/// (names and values joined, each one's length in `lengths`).
fn header_values<'a, const N: usize>(
    headers: &'a str,
    lengths: &[u32],
    wanted: [&str; N],
) -> Option<[Option<&'a str>; N]> {
    let mut found = [None; N];
    let mut at = 0usize;
    for pair in lengths.chunks_exact(2) {
        let name_end = at + pair[0] as usize;
        let value_end = name_end + pair[1] as usize;
        let name = headers.get(at..name_end)?;
        let value = headers.get(name_end..value_end)?;
        if let Some(slot) = wanted.iter().position(|w| name.eq_ignore_ascii_case(w)) {
            found[slot] = Some(value);
        }
        at = value_end;
    }
    Some(found)
}

pub struct OnePassLimephone {
    keyed: Hmac<Sha256>,
    bearer: Vec<u8>,
    redaction: Redaction,
}

impl OnePassLimephone {
    pub fn new(
        secret: &str,
        bearer: &str,
    ) -> Result<OnePassLimephone, hmac::digest::InvalidLength> {
        let keyed = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
        Ok(OnePassLimephone {
            keyed,
            bearer: format!("Bearer {bearer}").into_bytes(),
            redaction: Redaction::new(&[secret, bearer]),
        })
    }

    /// The event's JSON text, from headers packed as telhook's glue packs them (names and
    /// values joined, each one's length in `lengths`), or `None`.
    pub fn normalize(
        &self,
        headers: &str,
        lengths: &[u32],
        body: &[u8],
        now: f64,
    ) -> Option<String> {
        let [signature, authorization] =
            header_values(headers, lengths, ["x-limephone-signature", "authorization"])?;
        let given = hex::decode(signature?.trim()).ok()?;
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.verify_slice(&given).ok()?;
        if !constant_time_eq::constant_time_eq(authorization?.trim().as_bytes(), &self.bearer) {
            return None;
        }

        let text = std::str::from_utf8(body).ok()?;
        let members: Members = serde_json::from_str(text).ok()?;
        if !self.redaction.clean_members(&members) {
            return None;
        }
        let event = members.text("event")?;
        if event != "sms_received" {
            return None;
        }
        let message_id = members.text("message_id")?;
        let to = e164(&members.text("virtual_number")?)?;
        let from = e164(&members.text("sender_number")?)?;
        // A field present but not a string is `unread_fields` in telhook's event: not built here.
        let content = members.optional_text("message_content")?;
        let occurred_at = members.text("timestamp")?;
        if !canonical_time(&occurred_at) {
            return None;
        }
        let received_at = time_text(now as i64);
        // The event's JSON, written by hand as telhook's own writer does (serde_json's escapes
        // each string byte by byte): strings that need no escape are copied.
        let mut out = String::with_capacity(body.len() + 640);
        out.push_str("{\"schema_version\":1,\"provider\":\"limephone\",\"id\":\"limephone:");
        push_unquoted(&mut out, &event);
        out.push(':');
        push_unquoted(&mut out, &message_id);
        out.push_str("\",\"type\":\"message.received\",\"provider_event_type\":");
        push_string(&mut out, &event);
        out.push_str(",\"occurred_at\":");
        push_string(&mut out, &occurred_at);
        out.push_str(",\"received_at\":");
        push_string(&mut out, &received_at);
        out.push_str(",\"from\":");
        push_string(&mut out, &from);
        out.push_str(",\"to\":");
        push_string(&mut out, &to);
        out.push_str(",\"status\":null,\"message\":{\"id\":");
        push_string(&mut out, &message_id);
        out.push_str(",\"direction\":\"inbound\",\"text\":");
        match &content {
            Some(content) => push_string(&mut out, content),
            None => out.push_str("null"),
        }
        out.push_str(",\"reference\":null,\"error\":null},\"call\":null,\"lookup\":null,\"record\":null,\"unread_fields\":[],\"raw\":");
        // Nothing was redacted and the body was read whole above: `raw` is its own text.
        out.push_str(text.trim());
        out.push('}');
        Some(out)
    }
}

/// LisoLoo's `sms.failed` (Basic auth, the status and the provider's error), as telhook gives it.
pub struct OnePassLisoloo {
    /// `Basic <base64 of user:password>`, made once. telhook decodes the header on each request
    /// instead and compares user and password (core/src/verify/basic.rs): tens of nanoseconds
    /// more, in this sketch's favour.
    expected: Vec<u8>,
    redaction: Redaction,
}

impl OnePassLisoloo {
    pub fn new(user: &str, password: &str) -> OnePassLisoloo {
        let encoded = base64_encode(format!("{user}:{password}").as_bytes());
        OnePassLisoloo {
            expected: format!("Basic {encoded}").into_bytes(),
            // The values telhook's redaction looks for with Basic credentials (credentials.rs
            // `redaction_values`): the password and the encoded pair, not the user name.
            redaction: Redaction::new(&[password, &encoded]),
        }
    }

    /// The event's JSON text, or `None` where the sketch does not build telhook's event.
    pub fn normalize(
        &self,
        headers: &str,
        lengths: &[u32],
        body: &[u8],
        now: f64,
    ) -> Option<String> {
        let [authorization] = header_values(headers, lengths, ["authorization"])?;
        if !constant_time_eq::constant_time_eq(authorization?.trim().as_bytes(), &self.expected) {
            return None;
        }
        let text = std::str::from_utf8(body).ok()?;
        let members: Members = serde_json::from_str(text).ok()?;
        // `data` is read once, for the redaction tests and the fields both.
        let data: Members = serde_json::from_str(members.get("data")?.get()).ok()?;
        let clean = members.0.iter().all(|(key, item)| {
            self.redaction.clean_key(&key.0) && (key.0 == "data" || self.redaction.clean(item))
        }) && self.redaction.clean_members(&data);
        if !clean {
            return None;
        }
        let event_type = members.text("event_type")?;
        // The one status this sketch maps (telhook: `failed`, final, rank 40).
        if event_type != "sms.failed" {
            return None;
        }
        let event_id = members.text("event_id")?;
        let message_id = members.text("message_id")?;
        let occurred_at = members.text("timestamp")?;
        if !canonical_time(&occurred_at) {
            return None;
        }
        let to = e164(&data.text("recipient_phone")?)?;
        let code = data.get("error_code")?.get();
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let description = data.optional_text("error_message")?;
        let received_at = time_text(now as i64);
        let mut out = String::with_capacity(body.len() + 640);
        out.push_str("{\"schema_version\":1,\"provider\":\"lisoloo\",\"id\":\"lisoloo:");
        push_unquoted(&mut out, &event_id);
        out.push_str("\",\"type\":\"message.status\",\"provider_event_type\":");
        push_string(&mut out, &event_type);
        out.push_str(",\"occurred_at\":");
        push_string(&mut out, &occurred_at);
        out.push_str(",\"received_at\":");
        push_string(&mut out, &received_at);
        out.push_str(",\"from\":null,\"to\":");
        push_string(&mut out, &to);
        out.push_str(",\"status\":{\"value\":\"failed\",\"final\":true,\"rank\":40,\"provider_status\":\"failed\"},\"message\":{\"id\":");
        push_string(&mut out, &message_id);
        out.push_str(
            ",\"direction\":\"outbound\",\"text\":null,\"reference\":null,\"error\":{\"code\":\"",
        );
        out.push_str(code);
        out.push_str("\",\"description\":");
        match &description {
            Some(description) => push_string(&mut out, description),
            None => out.push_str("null"),
        }
        out.push_str(
            "}},\"call\":null,\"lookup\":null,\"record\":null,\"unread_fields\":[],\"raw\":",
        );
        out.push_str(text.trim());
        out.push('}');
        Some(out)
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A JSON integer of at most 15 digits (so within ±(2^53 - 1)), not `-0`: a number telhook's
/// `canonicalize_numbers` leaves as it is.
fn plain_integer(json: &str) -> bool {
    let digits = json.strip_prefix('-').unwrap_or(json);
    !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && json != "-0"
}

const RULE_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    table[b'@' as usize] = 1;
    table[b'=' as usize] = 1;
    table[b'{' as usize] = 1;
    table[b'[' as usize] = 1;
    table[b'%' as usize] = 1;
    table
};

fn needs_escape(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

fn push_string(out: &mut String, text: &str) {
    if needs_escape(text) {
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// Inside a string already opened.
fn push_unquoted(out: &mut String, text: &str) {
    if needs_escape(text) {
        let quoted = serde_json::to_string(text).unwrap_or_default();
        out.push_str(&quoted[1..quoted.len() - 1]);
    } else {
        out.push_str(text);
    }
}

fn squashed(name: &str) -> impl DoubleEndedIterator<Item = u8> + '_ {
    name.bytes()
        .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' '))
        .map(|b| b.to_ascii_lowercase())
}

/// telhook's key rule: a name that ends, squashed, with one of these.
fn secret_named(key: &str) -> bool {
    ["password", "secret", "apikey", "token", "pin"]
        .iter()
        .any(|suffix| {
            let mut tail = squashed(key).rev();
            suffix.bytes().rev().all(|b| tail.next() == Some(b))
        })
}

fn may_hold(text: &[u8], needle: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else {
        return true;
    };
    let span = needle.len() - 1;
    let Some(starts) = text.len().checked_sub(span) else {
        return false;
    };
    text[..starts]
        .iter()
        .enumerate()
        .any(|(at, &b)| b == first && text.get(at + span) == Some(&last))
}

/// `+` and digits only (the form this delivery sends); anything else is the sketch's `None`.
fn e164(number: &str) -> Option<String> {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+{digits}"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` with its fields in range: the form telhook gives back as it is.
fn canonical_time(text: &str) -> bool {
    let b = text.as_bytes();
    let number = |range: core::ops::Range<usize>| {
        b.get(range).and_then(|digits| {
            digits.iter().try_fold(0u32, |n, &d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        })
    };
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && number(0..4).is_some()
        && number(5..7).is_some_and(|m| (1..=12).contains(&m))
        && number(8..10).is_some_and(|d| (1..=31).contains(&d))
        && number(11..13).is_some_and(|h| h < 24)
        && number(14..16).is_some_and(|m| m < 60)
        && number(17..19).is_some_and(|s| s < 60)
}

/// UNIX seconds as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's days-to-civil).
fn time_text(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}
