//! Verification schemes, one module each. Every comparison of secret material goes through
//! [`constant_time_eq()`], constant time.

pub mod basic;
pub mod claims;
pub mod digest;
pub mod ed25519;
pub mod hmac;
pub mod jwt;
pub mod token;

/// Compares two secrets in time independent of their contents (the `constant_time_eq` crate:
/// one optimization barrier a comparison, where `subtle`, and `Mac::verify_slice` through it,
/// put one on every byte, 1.7 % of a small call's wall clock). Only whether the
/// lengths are equal is observable — as with Python's `hmac.compare_digest` — which tells an
/// attacker nothing useful about a random token. (Hashing both sides first would hide even
/// that, but cost four SHA-256 runs per Basic credential: 35% of a Lisoloo call natively,
/// far more in WebAssembly, which has no SHA instructions.)
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time_eq::constant_time_eq(a, b)
}

/// Splits `Scheme value` from an Authorization header, scheme compared case-insensitively.
pub(crate) fn split_auth_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (found, rest) = header.split_once(' ')?;
    found.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}
