//! HMAC-SHA256 of the raw body, as used by LimePhone and GatewayAPI's Messaging API.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::constant_time_eq;
use crate::credentials::Secret;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;
const DIGEST_LEN: usize = 32;

/// Computes the HMAC-SHA256 of `body` with `secret` (for tests, the CLI and senders).
pub fn sign(secret: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    // new_from_slice only fails for fixed-size-key MACs; HMAC accepts any key length.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return [0; DIGEST_LEN],
    };
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex of [`sign`].
pub fn sign_hex(secret: &[u8], body: &[u8]) -> alloc::string::String {
    hex::encode(sign(secret, body))
}

/// Decodes a signature given as 64 hex digits (either case) or as standard/url-safe base64
/// of the 32 digest bytes. Anything else — empty, short, long, garbled — is rejected
/// before any comparison, so an empty signature can never match.
pub fn decode_signature(text: &str, header: &'static str) -> Result<[u8; DIGEST_LEN]> {
    let text = crate::request::trimmed(text);
    let mut out = [0u8; DIGEST_LEN];
    if text.is_empty() {
        return Err(Error::InvalidSignatureFormat {
            header,
            reason: "empty",
        });
    }
    if text.len() == DIGEST_LEN * 2 && decode_hex(text.as_bytes(), &mut out) {
        return Ok(out);
    }
    if matches!(text.len(), 43 | 44) {
        let trimmed = text.trim_end_matches('=');
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed));
        if let Ok(bytes) = decoded {
            if bytes.len() == DIGEST_LEN {
                out.copy_from_slice(&bytes);
                return Ok(out);
            }
        }
    }
    Err(Error::InvalidSignatureFormat {
        header,
        reason: "expected 64 hex digits or base64 of a 32-byte HMAC-SHA256",
    })
}

/// Each byte's value as a hex digit (either case), or `NOT_HEX`.
const NOT_HEX: u8 = 0xff;
// Indexed at compile time: an index out of bounds fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const HEX_DIGITS: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        table[b"0123456789abcdef"[digit] as usize] = digit as u8;
        table[b"0123456789ABCDEF"[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

/// Decodes hex digits of either case into `out` (two digits a byte); false, with `out` left
/// partly written, at the first byte that is not a digit. By hand, with a table: the `hex`
/// crate's decoder validates and converts through a `Result` per digit, ~20 instructions each,
/// 2 % of a whole LimePhone call (callgrind).
fn decode_hex(digits: &[u8], out: &mut [u8]) -> bool {
    let value = |digit: u8| {
        HEX_DIGITS
            .get(usize::from(digit))
            .copied()
            .unwrap_or(NOT_HEX)
    };
    digits.len() == out.len() * 2
        && digits
            .chunks_exact(2)
            .zip(out.iter_mut())
            .all(|(pair, byte)| {
                let (high, low) = match pair {
                    [high, low] => (value(*high), value(*low)),
                    _ => (NOT_HEX, NOT_HEX),
                };
                *byte = high << 4 | low;
                high != NOT_HEX && low != NOT_HEX
            })
}

/// True when any secret signs `body` to `signature`. Every secret is tried (rotation), each
/// compared in constant time.
pub fn matches_any(secrets: &[Secret], body: &[u8], signature: &[u8; DIGEST_LEN]) -> bool {
    let mut matched = false;
    for secret in secrets {
        if let Some(mut mac) = secret.hmac_sha256() {
            mac.update(body);
            matched |= constant_time_eq(&mac.finalize().into_bytes(), signature);
        }
    }
    matched
}

/// HMAC-SHA1 of `parts` in turn (Twilio's `X-Twilio-Signature`: the URL, then the
/// parameters), for the test kit.
pub fn sha1(secret: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    // new_from_slice only fails for fixed-size-key MACs; HMAC accepts any key length.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return [0; 20];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `parts` in turn (Twilio's shared-key signature with `HMAC_SHA256`), for the
/// test kit.
pub fn sha256_parts(secret: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    // new_from_slice only fails for fixed-size-key MACs; HMAC accepts any key length.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return [0; DIGEST_LEN];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// True when any secret's MAC `M` of `parts` is `signature`. Every secret is tried (rotation),
/// each compared in constant time (a signature of another length never matches).
fn parts_match_any<M: Mac + hmac::digest::KeyInit>(
    secrets: &[Secret],
    parts: &[&[u8]],
    signature: &[u8],
) -> bool {
    let mut matched = false;
    for secret in secrets {
        if let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret.expose()) {
            for part in parts {
                mac.update(part);
            }
            matched |= constant_time_eq(&mac.finalize().into_bytes(), signature);
        }
    }
    matched
}

/// True when any secret's HMAC-SHA1 of `parts` is `signature` (constant time).
pub fn sha1_matches_any(secrets: &[Secret], parts: &[&[u8]], signature: &[u8; 20]) -> bool {
    parts_match_any::<Hmac<sha1::Sha1>>(secrets, parts, signature)
}

/// True when any secret's HMAC-SHA256 of `parts` is `signature` (constant time); the sibling of [`sha1_matches_any`] (Twilio's shared keys with `HMAC_SHA256`).
pub fn sha256_matches_any(
    secrets: &[Secret],
    parts: &[&[u8]],
    signature: &[u8; DIGEST_LEN],
) -> bool {
    parts_match_any::<HmacSha256>(secrets, parts, signature)
}

/// The most signatures one header may list. Senders list two during a rotation; eight leaves
/// room for that and refuses padding before any MAC is computed.
pub const MAX_LISTED_SIGNATURES: usize = 8;

/// Checks a header that lists several signatures (`entries`, already split) against the
/// configured secrets: each secret's MAC of the body is computed once and compared with every
/// listed signature, so the cost is one HMAC pass per secret whatever the list holds.
/// More than [`MAX_LISTED_SIGNATURES`] entries are refused before any work; a well-formed
/// signature that does not match is reported rather than a malformed neighbour.
pub fn verify_listed<'a>(
    secrets: &[Secret],
    body: &[u8],
    entries: impl Iterator<Item = &'a str> + Clone,
    header: &'static str,
) -> Result<()> {
    if entries.clone().count() > MAX_LISTED_SIGNATURES {
        return Err(Error::TooManySignatures {
            header,
            limit: MAX_LISTED_SIGNATURES,
        });
    }
    // On the stack: at most MAX_LISTED_SIGNATURES (checked above), no allocation a request.
    let mut slots = [[0; DIGEST_LEN]; MAX_LISTED_SIGNATURES];
    let mut count = 0;
    let mut format_error = None;
    for entry in entries {
        match (decode_signature(entry, header), slots.get_mut(count)) {
            (Ok(signature), Some(slot)) => {
                *slot = signature;
                count += 1;
            }
            (Ok(_), None) => {}
            (Err(error), _) => format_error = format_error.or(Some(error)),
        }
    }
    let decoded = slots.get(..count).unwrap_or_default();
    if decoded.is_empty() {
        return Err(format_error.unwrap_or(Error::InvalidSignatureFormat {
            header,
            reason: "no signature listed",
        }));
    }
    let mut matched = false;
    for secret in secrets {
        let Some(mut mac) = secret.hmac_sha256() else {
            continue;
        };
        mac.update(body);
        let expected: [u8; DIGEST_LEN] = mac.finalize().into_bytes().into();
        for signature in decoded {
            matched |= constant_time_eq(&expected, signature);
        }
    }
    if matched {
        Ok(())
    } else {
        Err(Error::SignatureMismatch { header })
    }
}

/// Checks a single-signature header (hex or base64) against the configured secrets.
pub fn verify_header(
    secrets: &[Secret],
    body: &[u8],
    value: &str,
    header: &'static str,
) -> Result<()> {
    let signature = decode_signature(value, header)?;
    if matches_any(secrets, body, &signature) {
        Ok(())
    } else {
        Err(Error::SignatureMismatch { header })
    }
}

/// The request's `header` must be present and hold an HMAC-SHA256 of its body by one of
/// `secrets` (LimePhone, Lisoloo's announced signature).
pub fn verify_request_header(
    secrets: &[Secret],
    request: &crate::request::WebhookRequest,
    header: &'static str,
) -> Result<()> {
    let value = request
        .header(header)?
        .ok_or(Error::MissingSignature { header })?;
    verify_header(secrets, &request.body, value, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A malformed entry listed before a valid one does not hide it (each decoded signature
    /// takes the next free slot, whatever failed before it).
    #[test]
    fn a_valid_signature_listed_after_a_malformed_one_verifies() {
        let secret = [Secret::new(b"Jefe".to_vec())];
        let body = b"what do ya want for nothing?";
        let valid = hex::encode(sign(b"Jefe", body));
        for entries in [
            ["not-a-signature", valid.as_str(), ""],
            ["zz", "", valid.as_str()],
            [valid.as_str(), "zz", "zz"],
        ] {
            let listed = entries.into_iter().filter(|entry| !entry.is_empty());
            assert_eq!(
                verify_listed(&secret, body, listed, "X"),
                Ok(()),
                "{entries:?}"
            );
        }
        let forged = ["zz", "00"].into_iter();
        assert!(verify_listed(&secret, body, forged, "X").is_err());
    }

    #[test]
    fn hex_signatures_decode_in_either_case_and_only_as_hex() {
        let digest = sign(b"Jefe", b"what do ya want for nothing?");
        let lower = hex::encode(digest);
        for text in [
            lower.clone(),
            lower.to_uppercase(),
            alloc::format!(" {lower}\t"),
        ] {
            assert_eq!(decode_signature(&text, "X").ok(), Some(digest), "{text}");
        }
        for position in [0, 1, 31, 62, 63] {
            for bad in ['g', 'G', '-', '/', '\u{e9}'] {
                let text: alloc::string::String = lower
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i == position { bad } else { c })
                    .collect();
                assert!(decode_signature(&text, "X").is_err(), "{text}");
            }
        }
    }

    #[test]
    fn rejects_empty_short_and_long_signatures() {
        for bad in [
            "",
            "   ",
            "abcd",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec384",
            "zz",
        ] {
            assert_eq!(
                decode_signature(bad, "X").map_err(|e| e.code()),
                Err("invalid_signature_format")
            );
        }
    }

    #[test]
    fn accepts_upper_hex_and_base64() {
        let sig = sign(b"k", b"body");
        let upper = hex::encode_upper(sig);
        let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
        assert_eq!(decode_signature(&upper, "X"), Ok(sig));
        assert_eq!(decode_signature(&b64, "X"), Ok(sig));
    }
}
