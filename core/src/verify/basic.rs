//! HTTP Basic (RFC 7617), as used by Lisoloo and optionally the DID reseller.

use base64::Engine as _;

use super::{constant_time_eq, split_auth_scheme};
use crate::credentials::BasicCredential;
use crate::error::{Error, Result};

/// Checks an `Authorization: Basic …` value against the configured pairs.
pub fn verify_header(configured: &[BasicCredential], header: &str) -> Result<()> {
    let encoded = split_auth_scheme(header, "Basic").ok_or(Error::InvalidAuthorizationFormat {
        reason: "expected the Basic scheme",
    })?;
    if encoded.is_empty() {
        return Err(Error::InvalidAuthorizationFormat {
            reason: "empty Basic credentials",
        });
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Error::InvalidAuthorizationFormat {
            reason: "Basic credentials are not base64",
        })?;
    let colon =
        decoded
            .iter()
            .position(|&b| b == b':')
            .ok_or(Error::InvalidAuthorizationFormat {
                reason: "Basic credentials lack a ':'",
            })?;
    let (username, password) = decoded.split_at(colon);
    let password = password.get(1..).unwrap_or_default();
    let mut matched = false;
    for pair in configured {
        // Both halves compared every time, so timing does not tell which half was wrong.
        let user_ok = constant_time_eq(username, pair.username.as_bytes());
        let pass_ok = constant_time_eq(password, pair.password.expose());
        matched |= user_ok & pass_ok;
    }
    if matched {
        Ok(())
    } else {
        Err(Error::AuthorizationMismatch)
    }
}

/// `Basic base64(username:password)`, for senders and tests.
pub fn header_value(username: &str, password: &str) -> alloc::string::String {
    let joined = alloc::format!("{username}:{password}");
    alloc::format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(joined)
    )
}
