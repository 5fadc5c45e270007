//! Provider timestamps to RFC 3339 UTC (`2025-01-30T14:00:00Z`, fractions only when present).
//!
//! Accepted: UNIX seconds (JSON integer or a string of digits), RFC 3339 / ISO 8601 with `Z`
//! or an offset, ISO 8601 without a zone (read as UTC, as every provider here documents UTC),
//! and bare dates (midnight UTC). Years outside 1970–9999 are refused: RFC 3339 has four-digit
//! years, and no webhook describes an event before the UNIX epoch.

use alloc::string::String;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::error::{Error, Result};

/// The last second of 9999-12-31.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Formats UNIX seconds as RFC 3339 UTC.
pub fn from_unix_seconds(seconds: i64, field: &'static str) -> Result<String> {
    datetime_of(seconds, field).map(format)
}

fn datetime_of(seconds: i64, field: &'static str) -> Result<DateTime<Utc>> {
    if !(0..=MAX_UNIX_SECONDS).contains(&seconds) {
        return Err(Error::InvalidTimestamp { field });
    }
    DateTime::<Utc>::from_timestamp(seconds, 0).ok_or(Error::InvalidTimestamp { field })
}

fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses a textual timestamp.
pub fn parse_text(text: &str, field: &'static str) -> Result<String> {
    let time = parse_datetime(text, field)?;
    // Most provider times are already in the output's form (`2025-01-30T14:00:00Z`): once
    // chrono has read them, their text is the answer, without formatting it again
    // (callgrind: ~300 instructions a time). Seconds `60` are rewritten, so never taken as is.
    let text = crate::request::trimmed(text);
    if is_canonical(text) && time.timestamp_subsec_nanos() == 0 {
        return Ok(String::from(text));
    }
    Ok(format(time))
}

/// Whether `text` is spelled as [`format`] writes a whole second: `YYYY-MM-DDTHH:MM:SSZ`,
/// seconds below 60.
fn is_canonical(text: &str) -> bool {
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    text.len() == shape.len()
        && text
            .bytes()
            .zip(shape.iter())
            .all(|(byte, expected)| match expected {
                b'd' => byte.is_ascii_digit(),
                _ => byte == *expected,
            })
        && text.as_bytes().get(17).is_some_and(|tens| *tens < b'6')
}

/// Parses a textual timestamp to UNIX seconds (used for `--now` and binding arguments).
pub fn parse_unix_seconds(text: &str, field: &'static str) -> Result<i64> {
    parse_datetime(text, field).map(|t| t.timestamp())
}

fn parse_datetime(text: &str, field: &'static str) -> Result<DateTime<Utc>> {
    let text = crate::request::trimmed(text);
    let invalid = Error::InvalidTimestamp { field };
    if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().map_err(|_| invalid.clone())?;
        return datetime_of(seconds, field);
    }
    // Every accepted form is rewritten into RFC 3339 and read by chrono's dedicated RFC 3339
    // parser: its generic strftime-style parser would add ~20 KB to the WebAssembly build.
    let rfc3339 = if text.as_bytes().get(10) == Some(&b'T')
        && has_zone(text)
        && !text.contains(' ')
        && basic_offset(text).is_none()
    {
        // Already RFC 3339 in shape (most provider times): read as it is, no copy.
        alloc::borrow::Cow::Borrowed(text)
    } else {
        let mut normalized = String::with_capacity(text.len() + 10);
        normalized.push_str(text);
        if text.len() == 10 {
            normalized.push_str("T00:00:00");
        } else if text.as_bytes().get(10) == Some(&b' ') {
            normalized.replace_range(10..11, "T");
        }
        join_zone(&mut normalized);
        match basic_offset(&normalized) {
            Some((sign_at, 4)) => normalized.insert(sign_at + 3, ':'),
            Some(_) => normalized.push_str(":00"),
            None => {}
        }
        if !has_zone(&normalized) {
            normalized.push('Z');
        }
        alloc::borrow::Cow::Owned(normalized)
    };
    let Ok(parsed) = DateTime::parse_from_rfc3339(&rfc3339) else {
        // RFC 2822 (`Tue, 21 Jan 2026 12:53:20 +0000`): Twilio's and TeXML's `Timestamp`.
        let seconds = rfc2822_seconds(text).ok_or(invalid)?;
        return datetime_of(seconds, field);
    };
    let parsed = parsed.with_timezone(&Utc);
    datetime_of(parsed.timestamp(), field)?;
    without_leap_second(parsed).ok_or(invalid)
}

/// A zone written apart from the time (`2020-01-01 12:00:00 +0000`, the SMS API's
/// `message-timestamp` in Vonage's docs) joined to it; its missing colon is then
/// [`basic_offset`]'s, as for a zone written attached.
fn join_zone(text: &mut String) {
    let bytes = text.as_bytes();
    let Some(sign_at) = bytes.iter().rposition(|b| *b == b'+' || *b == b'-') else {
        return;
    };
    if sign_at >= 20 && bytes.get(sign_at - 1) == Some(&b' ') {
        text.remove(sign_at - 1);
    }
}

/// ISO 8601's basic offset written right after the time (`+0200`, `+02`: PHP's `DATE_ISO8601`,
/// Java's `Z` pattern), which RFC 3339 writes `+02:00`: where its sign is and how many digits
/// follow it.
fn basic_offset(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let sign_at = bytes.iter().rposition(|b| *b == b'+' || *b == b'-')?;
    let digits = bytes.get(sign_at + 1..)?;
    let attached = sign_at >= 19 && bytes.get(sign_at - 1).is_some_and(u8::is_ascii_digit);
    let basic = matches!(digits.len(), 2 | 4) && digits.iter().all(u8::is_ascii_digit);
    (attached && basic).then_some((sign_at, digits.len()))
}

/// UNIX seconds of `[Day,] DD Mon YYYY HH:MM:SS ±HHMM` (or `GMT`/`UT`/`Z`), the form Twilio
/// and Telnyx's TeXML send. By hand: chrono's RFC 2822 parser brings its whole format machinery into the wasm.
pub(crate) fn rfc2822_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.split_once(',').map_or(text, |(_, rest)| rest).trim();
    let mut parts = text.split_ascii_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))
        .and_then(|index| u32::try_from(index + 1).ok())?;
    let year: i32 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let (hour, minute) = (clock.next()?.parse().ok()?, clock.next()?.parse().ok()?);
    let second = clock.next().map_or(Some(0), |s| s.parse().ok())?;
    let zone = parts.next().unwrap_or("+0000");
    if parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    let offset_secs: i64 = match zone {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        _ => {
            let (sign, digits) = match zone.as_bytes().first()? {
                b'+' => (1, zone.get(1..)?),
                b'-' => (-1, zone.get(1..)?),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits.get(..2)?.parse().ok()?;
            let minutes: i64 = digits.get(2..)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let local = chrono::NaiveDate::from_ymd_opt(year, month, day)?
        .and_hms_opt(hour, minute, second)?
        .and_utc()
        .timestamp();
    local.checked_sub(offset_secs)
}

/// Seconds `60`: chrono reads it at any minute, but a leap second only exists as the last
/// second of a UTC day (23:59:60Z, or the same instant in another offset). That one is kept
/// as 23:59:59 with its fraction, the way UNIX time counts it, because most consumers cannot
/// parse `:60` (JavaScript's `Date`, Python's `datetime`); every other `:60` is refused.
fn without_leap_second(time: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let nanos = time.timestamp_subsec_nanos();
    if nanos < 1_000_000_000 {
        return Some(time);
    }
    let last_second_of_day = time.timestamp().rem_euclid(86_400) == 86_399;
    if !last_second_of_day {
        return None;
    }
    DateTime::<Utc>::from_timestamp(time.timestamp(), nanos - 1_000_000_000)
}

/// Whether an ISO 8601 date-time ends in `Z` or a `±hh:mm` offset (after the time part).
fn has_zone(text: &str) -> bool {
    let time = text.get(11..).unwrap_or_default();
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

/// Reads a JSON timestamp field: whole seconds (integer or whole float) or text. `null` reads
/// as absent.
pub fn parse_value(value: &Value, field: &'static str) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => parse_text(text, field).map(Some),
        // A whole-number float (`1616404260.0`, as GatewayAPI's legacy reports send) is the
        // same number of seconds; a fraction of a second is not a time any provider sends.
        Value::Number(number) => crate::event::whole_number(number)
            .ok_or(Error::InvalidTimestamp { field })
            .and_then(|s| from_unix_seconds(s, field))
            .map(Some),
        _ => Err(Error::InvalidTimestamp { field }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let ok: &[(&str, &str)] = &[
            ("2025-01-30T14:00:00Z", "2025-01-30T14:00:00Z"),
            ("2025-01-30T16:00:00+02:00", "2025-01-30T14:00:00Z"),
            ("2025-01-30T16:00:00+0200", "2025-01-30T14:00:00Z"),
            ("2025-01-30T14:00:00+0000", "2025-01-30T14:00:00Z"),
            ("2025-01-30T16:00:00.5+02", "2025-01-30T14:00:00.500Z"),
            ("2025-01-30T11:00:00-0300", "2025-01-30T14:00:00Z"),
            ("2025-01-30 16:00:00+0200", "2025-01-30T14:00:00Z"),
            ("2025-01-30 16:00:00 +0200", "2025-01-30T14:00:00Z"),
            ("2025-01-30 16:00:00 +02:00", "2025-01-30T14:00:00Z"),
            ("2025-01-30T14:00:00.250Z", "2025-01-30T14:00:00.250Z"),
            ("2025-01-30T14:00:00", "2025-01-30T14:00:00Z"),
            ("2025-01-30 14:00:00", "2025-01-30T14:00:00Z"),
            ("2022-12-13", "2022-12-13T00:00:00Z"),
            ("1738245600", "2025-01-30T14:00:00Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
            ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:59.500Z"),
            ("2017-01-01T00:59:60+01:00", "2016-12-31T23:59:59Z"),
            ("2025-01-30t14:00:00z", "2025-01-30T14:00:00Z"),
            (" 2024-02-29T23:59:59Z\t", "2024-02-29T23:59:59Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ];
        for (input, expected) in ok {
            assert_eq!(parse_text(input, "t").as_deref(), Ok(*expected), "{input}");
            // The same through chrono's formatter, which the canonical spelling skips.
            let formatted = parse_datetime(input, "t").map(format);
            assert_eq!(formatted.as_deref(), Ok(*expected), "{input}");
        }
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "1969-12-31T23:59:59Z",
            "99999999999999",
            "2025-01-30T14:00:60Z",
            "2016-12-31T23:58:60Z",
            "2016-12-31T23:59:61Z",
            "2025-02-29T00:00:00Z",
            "2025-01-30T24:00:00Z",
            "2025-01-30T14:60:00Z",
            "2025-01-30T14:00:00+020",
            "2025-01-30T14:00:00+2500",
        ] {
            assert_eq!(
                parse_text(bad, "t").map_err(|e| e.code()),
                Err("invalid_timestamp"),
                "{bad}"
            );
        }
    }
}
