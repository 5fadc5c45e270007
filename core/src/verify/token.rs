//! Static tokens: `Authorization: Bearer`, a whole configured Authorization value, a URL token.

use super::{constant_time_eq, split_auth_scheme};
use crate::credentials::Secret;
use crate::error::{Error, Result};

fn matches_any(secrets: &[Secret], presented: &[u8]) -> bool {
    let mut matched = false;
    for secret in secrets {
        matched |= constant_time_eq(presented, secret.expose());
    }
    matched
}

/// `Authorization: Bearer <token>`.
pub fn verify_bearer(tokens: &[Secret], header: &str) -> Result<()> {
    let token = split_auth_scheme(header, "Bearer").ok_or(Error::InvalidAuthorizationFormat {
        reason: "expected the Bearer scheme",
    })?;
    if token.is_empty() {
        return Err(Error::InvalidAuthorizationFormat {
            reason: "empty Bearer token",
        });
    }
    verify_token(tokens, token)
}

/// A whole header value or URL token compared with the configured ones.
pub fn verify_token(tokens: &[Secret], presented: &str) -> Result<()> {
    if presented.is_empty() {
        return Err(Error::InvalidAuthorizationFormat {
            reason: "empty token",
        });
    }
    if matches_any(tokens, presented.as_bytes()) {
        Ok(())
    } else {
        Err(Error::AuthorizationMismatch)
    }
}
