//! HMAC JWTs (RFC 7519: HS256, HS384, HS512), for a provider that sends one in a header
//! (GatewayAPI's legacy signature): the provider's file names the header, which errors report.
//! All three are an HMAC with the same shared secret (GatewayAPI's PHP SDK accepts all
//! three); no other algorithm is accepted, so `none` and RS256 key confusion cannot happen.
//!
//! Written here rather than taken from a JWT crate: the well-known ones (jsonwebtoken,
//! jwt-simple) need std and pull RSA/EC stacks; we need the HMAC family only, pinned, with
//! the clock passed in — about eighty lines on top of `hmac`.

use alloc::string::String;
use base64::Engine as _;
use serde_json::{Map, Value};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

use crate::credentials::Secret;
use crate::error::{Error, Result};

fn b64url(part: &str) -> Result<alloc::vec::Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| Error::JwtMalformed {
            reason: "a part is not base64url",
        })
}

/// True when any secret signs `signed` to `signature` with the HMAC `M`. Every secret is
/// tried (rotation), each compared in constant time; a signature of another length never matches.
fn matches_any<M: Mac + KeyInit>(secrets: &[Secret], signed: &[u8], signature: &[u8]) -> bool {
    let mut matched = false;
    for secret in secrets {
        if let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret.expose()) {
            mac.update(signed);
            matched |= super::constant_time_eq(&mac.finalize().into_bytes(), signature);
        }
    }
    matched
}

/// Verifies an HMAC JWT with any of `secrets` and returns its claims.
/// `alg` must be exactly `HS256`, `HS384` or `HS512` (no `none`, no RS256 key confusion);
/// `exp`/`nbf`, when
/// present, are checked against `now` (Unix seconds). `header_name` is where the token came from.
pub fn verify(
    secrets: &[Secret],
    header_name: &'static str,
    token: &str,
    now: i64,
) -> Result<Map<String, Value>> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::JwtMalformed {
            reason: "expected three dot-separated parts",
        });
    };
    let header: Value =
        serde_json::from_slice(&b64url(header_b64)?).map_err(|_| Error::JwtMalformed {
            reason: "header is not JSON",
        })?;
    type Matcher = fn(&[Secret], &[u8], &[u8]) -> bool;
    let (matches, signature_len): (Matcher, usize) = match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => (matches_any::<Hmac<Sha256>>, 32),
        Some(Value::String(alg)) if alg == "HS384" => (matches_any::<Hmac<Sha384>>, 48),
        Some(Value::String(alg)) if alg == "HS512" => (matches_any::<Hmac<Sha512>>, 64),
        Some(_) => return Err(Error::JwtAlgorithmNotAllowed),
        None => {
            return Err(Error::JwtMalformed {
                reason: "header has no alg",
            })
        }
    };
    let signature = b64url(signature_b64)?;
    if signature.len() != signature_len {
        return Err(Error::JwtMalformed {
            reason: "signature length does not fit its alg",
        });
    }
    let signed_len = header_b64.len() + 1 + claims_b64.len();
    let signed = token.as_bytes().get(..signed_len).unwrap_or_default();
    if !matches(secrets, signed, &signature) {
        return Err(Error::SignatureMismatch {
            header: header_name,
        });
    }
    // A provider's text inside them may hold an escaped lone surrogate, read as the body's
    // (json_read); no byte order mark is passed over: claims are a JWT library's JSON.
    let claims_bytes = b64url(claims_b64)?;
    let claims: Value = core::str::from_utf8(&claims_bytes)
        .ok()
        .and_then(|text| crate::json_read::from_str(text).ok())
        .ok_or(Error::JwtMalformed {
            reason: "claims are not JSON",
        })?;
    let Value::Object(claims) = claims else {
        return Err(Error::JwtMalformed {
            reason: "claims are not a JSON object",
        });
    };
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_i64().ok_or(Error::JwtMalformed {
            reason: "exp is not an integer",
        })?;
        if now >= exp {
            return Err(Error::JwtExpired);
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_i64().ok_or(Error::JwtMalformed {
            reason: "nbf is not an integer",
        })?;
        if now < nbf {
            return Err(Error::JwtNotYetValid);
        }
    }
    Ok(claims)
}

/// [`verify`], then checks that the claims carry `body` exactly (see
/// [`super::claims::check_body_covered`]): for a JWT that signs its claims instead of the
/// body, the body must not say anything the signed claims do not.
pub fn verify_covering_body(
    secrets: &[Secret],
    header_name: &'static str,
    token: &str,
    now: i64,
    body: &[u8],
) -> Result<()> {
    verify(secrets, header_name, token, now)?;
    super::claims::check_body_covered(&claims_json(token)?, body)
}

/// The claims part of `token`, decoded (not verified): the JSON text its signature covers.
pub fn claims_json(token: &str) -> Result<alloc::vec::Vec<u8>> {
    b64url(token.trim().split('.').nth(1).unwrap_or_default())
}

/// The claims a JWT library adds beside a payload (RFC 7519 §4.1).
const REGISTERED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The payload `token` signs (not verified): its claims without the registered ones (a sender
/// minting a fresh `iat` or `jti` per retry must not make each retry another payload), written
/// again only when it has one (GatewayAPI's tokens carry none: their claims stay the text
/// signed).
pub fn payload_json(token: &str) -> Result<alloc::vec::Vec<u8>> {
    let claims = claims_json(token)?;
    let Ok(Value::Object(mut payload)) = crate::json_read::from_bytes::<Value>(&claims) else {
        return Ok(claims);
    };
    let before = payload.len();
    for name in REGISTERED_CLAIMS {
        payload.remove(name);
    }
    if payload.len() == before {
        return Ok(claims);
    }
    // The core's own writer: serde_json's serializer would add 1.1 KB to the module.
    Ok(crate::json_text::to_text(&Value::Object(payload)).into_bytes())
}

/// Encodes `claims` as an HS256 JWT (for senders, tests and the CLI).
pub fn sign(secret: &[u8], claims: &Value) -> alloc::string::String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = engine.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = alloc::format!("{header}.{claims}");
    let signature = engine.encode(crate::verify::hmac::sign(secret, signing_input.as_bytes()));
    alloc::format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7515_a1_style_token_round_trips_and_rejects_tampering() {
        let secrets = [Secret::new(*b"shh")];
        let token = sign(b"shh", &serde_json::json!({"id": 1, "status": "DELIVERED"}));
        assert!(verify(&secrets, "X-Test-Jwt", &token, 0).is_ok());
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            verify(&secrets, "X-Test-Jwt", &tampered, 0)
                .map_err(|e| e.code())
                .err(),
            Some("signature_mismatch")
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = alloc::format!(
            "{}.{}.",
            engine.encode(br#"{"alg":"none"}"#),
            engine.encode(br#"{"id":1}"#)
        );
        assert_eq!(
            verify(&[Secret::new(*b"k")], "X-Test-Jwt", &token, 0).err(),
            Some(Error::JwtAlgorithmNotAllowed)
        );
    }
}
