//! Ed25519 signatures (RFC 8032), checked with `ed25519-dalek` (no_std, audited) against every
//! configured public key, so a key can be rotated without dropping events. Strict
//! verification: small-order keys and non-canonical signatures are refused (honest signers
//! never produce them).

use alloc::string::String;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey};

use crate::credentials::PublicKey;
use crate::error::{Error, Result};

/// Checks `signature_b64` (standard base64 of 64 bytes, from `header`) over `message` with
/// each key in turn.
pub fn verify(
    keys: &[PublicKey],
    message: &[u8],
    signature_b64: &str,
    header: &'static str,
) -> Result<()> {
    let malformed = Error::InvalidSignatureFormat {
        header,
        reason: "expected the standard base64 of a 64-byte Ed25519 signature",
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| malformed.clone())?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| malformed)?;
    let signature = Signature::from_bytes(&bytes);
    let verified = keys
        .iter()
        .filter_map(PublicKey::verifying_key)
        .any(|key| key.verify_strict(message, &signature).is_ok());
    if verified {
        Ok(())
    } else {
        Err(Error::SignatureMismatch { header })
    }
}

/// The standard base64 of the signature of `message` with the private key `seed` (the test
/// kit's sending side; the core holds no private key of any provider).
pub(crate) fn sign_base64(seed: &[u8; 32], message: &[u8]) -> String {
    let signature = SigningKey::from_bytes(seed).sign(message);
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

/// The public key of the private key `seed`.
pub(crate) fn public_key_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}
