//! E.164 canonicalization: small and predictable on purpose. Deciding whether a number is
//! *assigned* needs libphonenumber's metadata (hundreds of KB) — not a webhook receiver's
//! job — so this only puts numbers the providers send into one canonical spelling.
//!
//! Rules, in order:
//! 1. Strip an optional `tel:` prefix and the separators ` `, `-`, `.`, `(`, `)`, `/`.
//! 2. `+digits` or `00digits` is international.
//! 3. Without a leading `+`/`00`, a country calling code hint decides:
//!    a national trunk `0` is replaced by the code; for NANP (`1`) ten digits get the `1`
//!    prefix and eleven digits starting with `1` are taken as they are; other lengths get
//!    the code prepended.
//! 4. Without a hint, bare digits are taken as international without the `+` (GatewayAPI's
//!    integer MSISDN); a national-looking number with a parenthesised area code is refused.
//! 5. The result must be 7–15 digits (E.164's maximum) not starting with 0; otherwise the
//!    value is not a phone number (an email, "anonymous", a short code) and `None` is returned.

use alloc::string::String;

/// Canonicalizes `raw` to `+<digits>`, or `None` when it is not a phone number.
pub fn to_e164(raw: &str, calling_code_hint: Option<&str>) -> Option<String> {
    let text = crate::request::trimmed(raw);
    let text = text.strip_prefix("tel:").unwrap_or(text);
    // The result is built in place, after its `+`: one allocation a number, not two.
    let mut out = String::with_capacity(text.len() + 1);
    out.push('+');
    let mut plus = false;
    let mut parenthesised = false;
    for (index, ch) in text.char_indices() {
        match ch {
            '0'..='9' => out.push(ch),
            '+' if index == 0 => plus = true,
            '(' | ')' => parenthesised = true,
            ' ' | '-' | '.' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let digits = out.get(1..).unwrap_or_default();
    if !plus {
        if digits.starts_with("00") {
            out.replace_range(1..3, "");
        } else if let Some(code) = calling_code_hint.filter(|c| is_calling_code(c)) {
            out = alloc::format!("+{}", with_calling_code(digits, code));
        } else if parenthesised {
            return None;
        }
    }
    let international = out.get(1..).unwrap_or_default();
    let valid = (7..=15).contains(&international.len()) && !international.starts_with('0');
    valid.then_some(out)
}

/// A call's party as a phone number: E.164 as [`to_e164`] reads it, else `None` — a withheld
/// caller, an app user, a SIP user or extension (`sip:1001@pbx`, `sip:alice@…`). A SIP URI whose
/// user part is a global number (`sip:+13125550100@acme.sip.twilio.com`, RFC 3261 §19.1.6) is that
/// number only on the provider's own `sip_domain` (a host under it), where the provider
/// authenticated the caller (a Twilio SIP Domain's credential list or IP ACL): on another host its
/// user part is whatever the caller wrote (a connection taking SIP URI calls from anyone), no
/// number to report as the caller's (a review). Its user part is `+` and digits with RFC 3966's
/// visual separators only (`-` `.` `(` `)`), a password or parameters after it dropped.
pub fn call_party(raw: &str, sip_domain: Option<&str>) -> Option<String> {
    let text = crate::request::trimmed(raw);
    let uri = ["sip:", "sips:"].into_iter().find_map(|scheme| {
        text.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .and_then(|_| text.get(scheme.len()..))
    });
    let Some(uri) = uri else {
        return to_e164(text, None);
    };
    let (user, rest) = uri.split_once('@')?;
    let host = rest.split([';', ':', '?', '>']).next().unwrap_or_default();
    if !sip_domain.is_some_and(|domain| is_under(host, domain)) {
        return None;
    }
    // The user's parameters (`;isub=`, `;npdi`) and a password (`:secret`) follow the number.
    let number = user.split([';', ':']).next().unwrap_or_default();
    let digits = number.strip_prefix('+')?;
    let readable = !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'(' | b')'));
    if readable {
        to_e164(number, None)
    } else {
        None
    }
}

/// Whether `host` is `domain` or a name under it, as DNS compares names (ASCII case ignored).
fn is_under(host: &str, domain: &str) -> bool {
    let (host, domain) = (host.as_bytes(), domain.as_bytes());
    match host.len().checked_sub(domain.len()) {
        Some(0) => host.eq_ignore_ascii_case(domain),
        Some(start) => {
            host.get(start - 1) == Some(&b'.')
                && host
                    .get(start..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(domain))
        }
        None => false,
    }
}

fn is_calling_code(code: &str) -> bool {
    (1..=3).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && !code.starts_with('0')
}

fn with_calling_code(national: &str, code: &str) -> String {
    if let Some(rest) = national.strip_prefix('0') {
        return alloc::format!("{code}{rest}");
    }
    if code == "1" && national.len() == 11 && national.starts_with('1') {
        return String::from(national);
    }
    alloc::format!("{code}{national}")
}

/// A message's sender or recipient: a phone number in E.164 (always `+digits`); else a short
/// code (3–6 digits after separators and a leading `+` are removed, GatewayAPI's `1204` or
/// `451204`) as its digits; else an alphanumeric sender ID (GSM allows at most 11 characters;
/// letters, digits, spaces and the `-` `_` `&` `+` Twilio's AlphaSender resource allows, at
/// least one letter, not starting with `+`) as sent, trimmed. Neither of the last two starts
/// with `+`, so they cannot be mistaken for E.164. Anything else is `None`.
pub fn message_address(raw: &str) -> Option<String> {
    if let Some(number) = to_e164(raw, None) {
        return Some(number);
    }
    let text = crate::request::trimmed(raw);
    let digits: String = text
        .strip_prefix('+')
        .unwrap_or(text)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if (3..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(digits);
    }
    let alphanumeric = (1..=11).contains(&text.chars().count())
        && !text.starts_with('+')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '&' | '+'))
        && text.chars().any(|c| c.is_ascii_alphabetic());
    alphanumeric.then(|| String::from(text))
}

/// True for something shaped like an email address (LoopLookup `contact`).
pub fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.contains('@'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{call_party, message_address, to_e164};

    #[test]
    fn call_parties_are_numbers_or_sip_uris_of_numbers_on_the_providers_domain() {
        let twilio = Some("sip.twilio.com");
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("+13125550100", None, Some("+13125550100")),
            ("tel:+13125550100", None, Some("+13125550100")),
            ("anonymous", twilio, None),
            ("client:alice", twilio, None),
            (
                "sip:+13125550100@acme.sip.twilio.com",
                twilio,
                Some("+13125550100"),
            ),
            (
                "SIPS:+1-312-555-0100@ACME.SIP.TWILIO.COM:5061;transport=tls",
                twilio,
                Some("+13125550100"),
            ),
            (
                "sip:+1-212-555-1212:1234@acme.sip.twilio.com;user=phone",
                twilio,
                Some("+12125551212"),
            ),
            (
                "sip:+13125550100;npdi@acme.sip.twilio.com",
                twilio,
                Some("+13125550100"),
            ),
            (
                "sip:+13125550100@sip.twilio.com",
                twilio,
                Some("+13125550100"),
            ),
            // Another host: the user part is whatever the caller wrote.
            ("sip:+13125550100@attacker.example", twilio, None),
            ("sip:+13125550100@evilsip.twilio.com", twilio, None),
            (
                "sip:+13125550100@sip.twilio.com.attacker.example",
                twilio,
                None,
            ),
            ("sip:+13125550100@acme.sip.twilio.com", None, None),
            // No number: an extension, a name, no `+`, separators a number never has, no host.
            ("sip:1001@acme.sip.twilio.com", twilio, None),
            ("sip:alice@acme.sip.twilio.com", twilio, None),
            ("sip:13125550100@acme.sip.twilio.com", twilio, None),
            ("sip:+13125550100/12@acme.sip.twilio.com", twilio, None),
            ("sip:+1 312 555 0100@acme.sip.twilio.com", twilio, None),
            ("sip:+@acme.sip.twilio.com", twilio, None),
            ("sip:+13125550100@", twilio, None),
            ("sip:+13125550100", twilio, None),
            ("sip:", twilio, None),
        ];
        for (raw, domain, expected) in cases {
            assert_eq!(call_party(raw, *domain).as_deref(), *expected, "{raw}");
        }
    }

    #[test]
    fn canonical_forms() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("+13231112233", None, Some("+13231112233")),
            ("+1 323-111-2233", None, Some("+13231112233")),
            ("(323) 111-2233", Some("1"), Some("+13231112233")),
            ("(323) 111-2233", None, None),
            ("1 (323) 111-2233", Some("1"), Some("+13231112233")),
            ("tel:+1-323-111-2233", None, Some("+13231112233")),
            ("4512345678", None, Some("+4512345678")),
            ("0045 12 34 56 78", None, Some("+4512345678")),
            ("07700 900123", Some("44"), Some("+447700900123")),
            ("anonymous", None, None),
            ("user@example.com", None, None),
            ("1204", None, None),
            ("+1234567890123456", None, None),
            ("", None, None),
            ("+", None, None),
        ];
        for (raw, hint, expected) in cases {
            assert_eq!(
                to_e164(raw, *hint).as_deref(),
                *expected,
                "{raw:?} with {hint:?}"
            );
        }
    }

    #[test]
    fn message_addresses() {
        let cases: &[(&str, Option<&str>)] = &[
            ("4587654321", Some("+4587654321")),
            ("+4587654321", Some("+4587654321")),
            ("1204", Some("1204")),
            ("451204", Some("451204")),
            ("+45 1204", Some("451204")),
            ("Telhook", Some("Telhook")),
            ("My Shop 24", Some("My Shop 24")),
            ("M&S", Some("M&S")),
            ("Shop-24", Some("Shop-24")),
            ("ACME_UK", Some("ACME_UK")),
            ("+ACME", None),
            ("a@b", None),
            ("TwelveChars1", None),
            ("12", None),
            ("1234567890123456", None),
            ("a@b.example", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(message_address(raw).as_deref(), *expected, "{raw:?}");
        }
    }

    #[test]
    fn idempotent() {
        for raw in ["+13231112233", "(323) 111-2233", "4512345678"] {
            if let Some(once) = to_e164(raw, Some("1")) {
                assert_eq!(to_e164(&once, Some("1")).as_deref(), Some(once.as_str()));
                assert_eq!(to_e164(&once, None).as_deref(), Some(once.as_str()));
            }
        }
    }
}
