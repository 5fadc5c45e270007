//! Credentials the receiver configured for a provider. Several values per scheme are
//! accepted at once so that a secret can be rotated without dropping events.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// A secret value. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Secret(value.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Secret(s.into_bytes()))
    }
}

/// A username/password pair for HTTP Basic.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicCredential {
    pub username: String,
    pub password: Secret,
}

impl fmt::Debug for BasicCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The username is not secret, but it is half of the credential: keep it out of logs too.
        f.write_str("BasicCredential([REDACTED])")
    }
}

/// Everything a receiver may configure. Each provider reads the schemes it uses:
///
/// | field           | used by                                                   |
/// |-----------------|-----------------------------------------------------------|
/// | `hmac_sha256`   | LimePhone `X-LimePhone-Signature`, GatewayAPI `Signature: v1=` |
/// | `bearer`        | LimePhone `Authorization: Bearer`                          |
/// | `authorization` | LoopLookup's dashboard-configured `Authorization` value    |
/// | `basic`         | Lisoloo, DID reseller                                      |
/// | `jwt_hs256`     | GatewayAPI legacy `X-Gwapi-Signature`                      |
/// | `url_token`     | DID reseller `?token=` (parameter name: `url_token_param`) |
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default, deserialize_with = "one_or_many")]
    pub hmac_sha256: Vec<Secret>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub bearer: Vec<Secret>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub authorization: Vec<Secret>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub basic: Vec<BasicCredential>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub jwt_hs256: Vec<Secret>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub url_token: Vec<Secret>,
    #[serde(default)]
    pub url_token_param: Option<String>,
    /// Only settable through [`Credentials::insecure_skip_verification`] or the JSON key of
    /// the same name, so that skipping authentication is always spelled out.
    #[serde(default)]
    insecure_skip_verification: bool,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: how many of each are configured is useful when debugging rotation.
        f.debug_struct("Credentials")
            .field("hmac_sha256", &self.hmac_sha256.len())
            .field("bearer", &self.bearer.len())
            .field("authorization", &self.authorization.len())
            .field("basic", &self.basic.len())
            .field("jwt_hs256", &self.jwt_hs256.len())
            .field("url_token", &self.url_token.len())
            .field(
                "insecure_skip_verification",
                &self.insecure_skip_verification,
            )
            .finish()
    }
}

fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => alloc::vec![one],
        OneOrMany::Many(many) => many,
    })
}

impl Credentials {
    /// No credentials. Verification fails with `missing_credentials` until some are added.
    pub fn none() -> Self {
        Self::default()
    }

    /// Accept every request without checking who sent it. Only for local experiments and
    /// tests; the name is long on purpose.
    pub fn insecure_skip_verification() -> Self {
        Credentials {
            insecure_skip_verification: true,
            ..Self::default()
        }
    }

    pub fn skips_verification(&self) -> bool {
        self.insecure_skip_verification
    }

    pub fn with_hmac_sha256(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_sha256.push(Secret::new(secret));
        self
    }
    pub fn with_bearer(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.bearer.push(Secret::new(token));
        self
    }
    pub fn with_authorization(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.authorization.push(Secret::new(value));
        self
    }
    pub fn with_basic(mut self, username: impl Into<String>, password: impl Into<Vec<u8>>) -> Self {
        self.basic.push(BasicCredential {
            username: username.into(),
            password: Secret::new(password),
        });
        self
    }
    pub fn with_jwt_hs256(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.jwt_hs256.push(Secret::new(secret));
        self
    }
    pub fn with_url_token(mut self, token: impl Into<Vec<u8>>) -> Self {
        self.url_token.push(Secret::new(token));
        self
    }

    /// Parses the JSON form used by vectors, the CLI and the bindings.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self> {
        if value.is_null() {
            return Ok(Self::none());
        }
        let credentials: Credentials = serde_json::from_value(value).map_err(|_| {
            // serde's message could quote a secret; name the accepted keys instead.
            Error::InvalidCredentials {
                reason: "expected an object with hmac_sha256, bearer, authorization, basic [{username, password}], jwt_hs256, url_token, url_token_param or insecure_skip_verification",
            }
        })?;
        credentials.validate()?;
        Ok(credentials)
    }

    /// An empty secret would make every HMAC trivially forgeable by anyone who guesses
    /// that the receiver forgot to set it, and a blank one is an unset variable padded by a
    /// template: both are refused up front, naming the field (never the value).
    pub fn validate(&self) -> Result<()> {
        let blank = |secret: &Secret| secret.expose().iter().all(u8::is_ascii_whitespace);
        let secrets: [(&'static str, &[Secret]); 5] = [
            ("hmac_sha256 is empty or blank", &self.hmac_sha256),
            ("bearer is empty or blank", &self.bearer),
            ("authorization is empty or blank", &self.authorization),
            ("jwt_hs256 is empty or blank", &self.jwt_hs256),
            ("url_token is empty or blank", &self.url_token),
        ];
        for (reason, values) in secrets {
            if values.iter().any(blank) {
                return Err(Error::InvalidCredentials { reason });
            }
        }
        if self.basic.iter().any(|b| blank(&b.password)) {
            return Err(Error::InvalidCredentials {
                reason: "basic.password is empty or blank",
            });
        }
        if self.basic.iter().any(|b| b.username.trim().is_empty()) {
            return Err(Error::InvalidCredentials {
                reason: "basic.username is empty or blank",
            });
        }
        Ok(())
    }
}
