//! Keyed hex digests of a signing string, by algorithm: the secret appended to the message
//! and MD5-hashed (`md5(message + secret)`, a secret-suffix MAC), or an HMAC with MD5, SHA-1,
//! SHA-256 or SHA-512 (RustCrypto). Used where the sender's account setting picks one of these
//! and the request does not say which (the Vonage SMS API's `sig`).

use alloc::vec::Vec;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};

use crate::credentials::Secret;

/// A keyed digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `md5(message + secret)`.
    Md5Suffix,
    HmacMd5,
    HmacSha1,
    HmacSha256,
    HmacSha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Md5Suffix,
        Algorithm::HmacMd5,
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha512,
    ];

    /// The digest's length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5Suffix | Algorithm::HmacMd5 => 16,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha512 => 64,
        }
    }

    /// The algorithms whose digests are `len` bytes long.
    pub fn of_len(len: usize) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| a.digest_len() == len)
    }
}

fn hmac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> Vec<u8> {
    // new_from_slice only fails for fixed-size-key MACs; HMAC accepts any key length.
    match <M as hmac::digest::KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The digest of `message` keyed with `secret`.
pub fn digest(algorithm: Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Md5Suffix => {
            let mut hasher = Md5::new();
            hasher.update(message);
            hasher.update(secret);
            hasher.finalize().to_vec()
        }
        Algorithm::HmacMd5 => hmac::<Hmac<Md5>>(secret, message),
        Algorithm::HmacSha1 => hmac::<Hmac<sha1::Sha1>>(secret, message),
        Algorithm::HmacSha256 => hmac::<Hmac<sha2::Sha256>>(secret, message),
        Algorithm::HmacSha512 => hmac::<Hmac<sha2::Sha512>>(secret, message),
    }
}

/// True when any secret's digest of any of `messages` with `algorithm` is `expected`. Every
/// pair is computed and compared in constant time ([`super::constant_time_eq`]).
pub fn matches_any(
    algorithm: Algorithm,
    secrets: &[Secret],
    messages: &[&[u8]],
    expected: &[u8],
) -> bool {
    let mut matched = false;
    for secret in secrets {
        for message in messages {
            matched |=
                super::constant_time_eq(&digest(algorithm, secret.expose(), message), expected);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 2202 test case 2 (HMAC-MD5, HMAC-SHA1) and RFC 4231 test case 2 (SHA-256/512).
        let (key, data) = (
            b"Jefe".as_slice(),
            b"what do ya want for nothing?".as_slice(),
        );
        let hex = |a| hex::encode(digest(a, key, data));
        assert_eq!(hex(Algorithm::HmacMd5), "750c783e6ab0b503eaa86e310a5db738");
        assert_eq!(
            hex(Algorithm::HmacSha1),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(Algorithm::HmacSha256),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(hex(Algorithm::HmacSha512).starts_with("164b7a7bfcf819e2e395fbe73b56e0a3"));
        // md5("abc") with an empty secret.
        assert_eq!(
            hex::encode(digest(Algorithm::Md5Suffix, b"", b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        for algorithm in Algorithm::ALL {
            assert_eq!(digest(algorithm, key, data).len(), algorithm.digest_len());
        }
    }
}
