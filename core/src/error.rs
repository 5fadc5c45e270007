//! The one error type. Every variant has a stable `code()` that all runtimes expose unchanged.
//!
//! Messages are built only from static text, header *names*, provider names and positions —
//! never from a credential or a signature value — so they are safe to log.

use alloc::string::String;
use core::fmt;

/// Which family an error belongs to; bindings map it to their exception classes and `ack`
/// maps it to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request is not authentic (or its credentials are absent/garbled).
    Verification,
    /// The request is authentic (or unchecked) but its body cannot be understood.
    Parse,
    /// The receiver is misconfigured: nothing the sender can fix.
    Configuration,
    /// The request itself is unacceptable before any parsing (size, method, shape).
    Request,
}

/// Every failure telhook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A provider name that telhook does not know.
    UnknownProvider { name: String },
    /// No provider was named and none matched the request's headers or body.
    ProviderNotDetected,
    /// Webhooks are POSTed; anything else is refused before verification.
    MethodNotAllowed { method: String },
    /// The body is longer than the configured limit.
    BodyTooLarge { limit: usize, actual: usize },
    /// The provider's verification needs credentials and none were configured.
    MissingCredentials { provider: &'static str },
    /// The configured credentials are unusable (e.g. an empty secret).
    InvalidCredentials { reason: &'static str },
    /// A required signature header is absent.
    MissingSignature { header: &'static str },
    /// A signature header is present but not in the expected encoding or length.
    InvalidSignatureFormat {
        header: &'static str,
        reason: &'static str,
    },
    /// A well-formed signature that no configured secret produces.
    SignatureMismatch { header: &'static str },
    /// A required Authorization header, URL token or Basic credential is absent.
    MissingAuthorization,
    /// The Authorization header or URL token is present but garbled.
    InvalidAuthorizationFormat { reason: &'static str },
    /// Well-formed credentials that match none of the configured ones.
    AuthorizationMismatch,
    /// A security-relevant header or parameter appears twice with different values.
    AmbiguousHeader { header: String },
    /// The JWT is not three base64url parts of JSON.
    JwtMalformed { reason: &'static str },
    /// The JWT names an algorithm other than HS256.
    JwtAlgorithmNotAllowed,
    /// The JWT carries an `exp` claim that is in the past.
    JwtExpired,
    /// The JWT carries an `nbf` claim that is in the future.
    JwtNotYetValid,
    /// The JWT is valid but its claims do not match the request body.
    JwtPayloadMismatch,
    /// The body is not JSON (or not UTF-8, or nested too deep).
    MalformedJson {
        line: usize,
        column: usize,
        category: &'static str,
    },
    /// A JSON document embedded in a string field is not valid JSON.
    MalformedNestedJson { field: &'static str },
    /// Valid JSON of the wrong shape for the provider.
    InvalidPayload { reason: String },
    /// A timestamp field is present but unreadable or out of range.
    InvalidTimestamp { field: &'static str },
    /// The request could not be converted into a `WebhookRequest` (bindings, CLI, vectors).
    InvalidRequest { reason: String },
}

impl Error {
    /// The stable machine-readable code; identical in Rust, JS and Python.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownProvider { .. } => "unknown_provider",
            Error::ProviderNotDetected => "provider_not_detected",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::MissingCredentials { .. } => "missing_credentials",
            Error::InvalidCredentials { .. } => "invalid_credentials",
            Error::MissingSignature { .. } => "missing_signature",
            Error::InvalidSignatureFormat { .. } => "invalid_signature_format",
            Error::SignatureMismatch { .. } => "signature_mismatch",
            Error::MissingAuthorization => "missing_authorization",
            Error::InvalidAuthorizationFormat { .. } => "invalid_authorization_format",
            Error::AuthorizationMismatch => "authorization_mismatch",
            Error::AmbiguousHeader { .. } => "ambiguous_header",
            Error::JwtMalformed { .. } => "jwt_malformed",
            Error::JwtAlgorithmNotAllowed => "jwt_algorithm_not_allowed",
            Error::JwtExpired => "jwt_expired",
            Error::JwtNotYetValid => "jwt_not_yet_valid",
            Error::JwtPayloadMismatch => "jwt_payload_mismatch",
            Error::MalformedJson { .. } => "malformed_json",
            Error::MalformedNestedJson { .. } => "malformed_nested_json",
            Error::InvalidPayload { .. } => "invalid_payload",
            Error::InvalidTimestamp { .. } => "invalid_timestamp",
            Error::InvalidRequest { .. } => "invalid_request",
        }
    }

    /// The family of the error, for exception classes and HTTP answers.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownProvider { .. }
            | Error::MissingCredentials { .. }
            | Error::InvalidCredentials { .. } => ErrorKind::Configuration,
            Error::MissingSignature { .. }
            | Error::InvalidSignatureFormat { .. }
            | Error::SignatureMismatch { .. }
            | Error::MissingAuthorization
            | Error::InvalidAuthorizationFormat { .. }
            | Error::AuthorizationMismatch
            | Error::AmbiguousHeader { .. }
            | Error::JwtMalformed { .. }
            | Error::JwtAlgorithmNotAllowed
            | Error::JwtExpired
            | Error::JwtNotYetValid
            | Error::JwtPayloadMismatch => ErrorKind::Verification,
            Error::MalformedJson { .. }
            | Error::MalformedNestedJson { .. }
            | Error::InvalidPayload { .. }
            | Error::InvalidTimestamp { .. } => ErrorKind::Parse,
            Error::ProviderNotDetected
            | Error::MethodNotAllowed { .. }
            | Error::BodyTooLarge { .. }
            | Error::InvalidRequest { .. } => ErrorKind::Request,
        }
    }

    pub(crate) fn invalid_payload(reason: impl fmt::Display) -> Self {
        Error::InvalidPayload {
            reason: alloc::format!("{reason}"),
        }
    }

    /// serde_json's message for a syntax error can quote the input; keep only its position
    /// and category so that a body (which may carry PII) never leaks into logs via an error.
    pub(crate) fn from_json_syntax(err: &serde_json::Error) -> Self {
        let category = match err.classify() {
            serde_json::error::Category::Eof => "unexpected end of input",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Data => "invalid data",
        };
        Error::MalformedJson {
            line: err.line(),
            column: err.column(),
            category,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownProvider { name } => write!(
                f,
                "unknown provider {:?}; expected one of looplookup, did_reseller, limephone, lisoloo, gatewayapi",
                Truncated(name)
            ),
            Error::ProviderNotDetected => {
                f.write_str("no provider matches this request's headers or body; name the provider explicitly")
            }
            Error::MethodNotAllowed { method } => {
                write!(f, "webhooks are delivered with POST, not {:?}", Truncated(method))
            }
            Error::BodyTooLarge { limit, actual } => {
                write!(f, "body is {actual} bytes, over the limit of {limit} bytes")
            }
            Error::MissingCredentials { provider } => write!(
                f,
                "no credentials configured for {provider}; configure them, or opt out explicitly with insecure_skip_verification"
            ),
            Error::InvalidCredentials { reason } => write!(f, "invalid credentials: {reason}"),
            Error::MissingSignature { header } => write!(f, "missing signature header {header}"),
            Error::InvalidSignatureFormat { header, reason } => {
                write!(f, "signature header {header} is malformed: {reason}")
            }
            Error::SignatureMismatch { header } => {
                write!(f, "signature in {header} does not match any configured secret")
            }
            Error::MissingAuthorization => f.write_str("missing Authorization header or URL token"),
            Error::InvalidAuthorizationFormat { reason } => {
                write!(f, "authorization is malformed: {reason}")
            }
            Error::AuthorizationMismatch => {
                f.write_str("authorization does not match any configured credential")
            }
            Error::AmbiguousHeader { header } => write!(
                f,
                "{:?} appears more than once with different values",
                Truncated(header)
            ),
            Error::JwtMalformed { reason } => write!(f, "JWT is malformed: {reason}"),
            Error::JwtAlgorithmNotAllowed => f.write_str("JWT algorithm is not HS256"),
            Error::JwtExpired => f.write_str("JWT has expired (exp is in the past)"),
            Error::JwtNotYetValid => f.write_str("JWT is not valid yet (nbf is in the future)"),
            Error::JwtPayloadMismatch => {
                f.write_str("JWT claims do not match the request body")
            }
            Error::MalformedJson { line, column, category } => {
                write!(f, "body is not valid JSON: {category} at line {line} column {column}")
            }
            Error::MalformedNestedJson { field } => {
                write!(f, "field {field:?} must hold a JSON object encoded as a string")
            }
            Error::InvalidPayload { reason } => write!(f, "unexpected payload shape: {reason}"),
            Error::InvalidTimestamp { field } => {
                write!(f, "field {field:?} is not a readable timestamp in range")
            }
            Error::InvalidRequest { reason } => write!(f, "invalid request: {reason}"),
        }
    }
}

/// Caps attacker-controlled text echoed in messages.
struct Truncated<'a>(&'a str);

impl fmt::Debug for Truncated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self
            .0
            .char_indices()
            .nth(40)
            .map_or(self.0.len(), |(i, _)| i);
        let head = self.0.get(..end).unwrap_or_default();
        if end < self.0.len() {
            write!(f, "{:?}…", head)
        } else {
            write!(f, "{:?}", head)
        }
    }
}

impl core::error::Error for Error {}

pub type Result<T, E = Error> = core::result::Result<T, E>;

/// `{"code", "kind", "message"}`: the form every binding hands to its host language.
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Error", 3)?;
        state.serialize_field("code", self.code())?;
        state.serialize_field("kind", &self.kind())?;
        state.serialize_field("message", &alloc::string::ToString::to_string(self))?;
        state.end()
    }
}
