//! Verification schemes, one module each. Every comparison of secret material goes through
//! [`constant_time_eq`] or `Mac::verify_slice`, both constant time.

pub mod basic;
pub mod hmac;
pub mod jwt;
pub mod token;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Compares two secrets without leaking where they differ — nor their lengths: both sides
/// are hashed first so that the comparison always runs over 32 bytes.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let a = Sha256::digest(a);
    let b = Sha256::digest(b);
    a.ct_eq(&b).into()
}

/// Splits `Scheme value` from an Authorization header, scheme compared case-insensitively.
pub(crate) fn split_auth_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (found, rest) = header.split_once(' ')?;
    found.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}
