//! HS256 JWTs (RFC 7519), for a provider that sends one in a header (GatewayAPI's legacy
//! signature): the provider's file names the header, which errors report.
//!
//! Written here rather than taken from a JWT crate: the well-known ones (jsonwebtoken,
//! jwt-simple) need std and pull RSA/EC stacks; we need exactly one algorithm, pinned,
//! with the clock passed in — about sixty lines on top of `hmac`.

use alloc::string::String;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::verify::hmac::matches_any;

fn b64url(part: &str) -> Result<alloc::vec::Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| Error::JwtMalformed {
            reason: "a part is not base64url",
        })
}

/// Verifies an HS256 JWT with any of `secrets` and returns its claims.
/// `alg` must be exactly `HS256` (no `none`, no RS256 key confusion); `exp`/`nbf`, when
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
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(_) => return Err(Error::JwtAlgorithmNotAllowed),
        None => {
            return Err(Error::JwtMalformed {
                reason: "header has no alg",
            })
        }
    }
    let signature = b64url(signature_b64)?;
    let signature: [u8; 32] = signature
        .as_slice()
        .try_into()
        .map_err(|_| Error::JwtMalformed {
            reason: "signature is not 32 bytes",
        })?;
    let signed_len = header_b64.len() + 1 + claims_b64.len();
    let signed = token.as_bytes().get(..signed_len).unwrap_or_default();
    if !matches_any(secrets, signed, &signature) {
        return Err(Error::SignatureMismatch {
            header: header_name,
        });
    }
    let claims: Value =
        serde_json::from_slice(&b64url(claims_b64)?).map_err(|_| Error::JwtMalformed {
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
    let claims_b64 = token.trim().split('.').nth(1).unwrap_or_default();
    super::claims::check_body_covered(&b64url(claims_b64)?, body)
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
