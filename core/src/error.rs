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

impl ErrorKind {
    /// Every kind, for the vocabularies generated from the core.
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Verification,
        ErrorKind::Parse,
        ErrorKind::Configuration,
        ErrorKind::Request,
    ];
}

/// Every failure telhook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A provider name that telhook does not know.
    UnknownProvider {
        name: String,
        /// Every provider's name (`Provider::NAMES`; this module cannot name the registry).
        known: &'static [&'static str],
    },
    /// No provider was named and none matched the request's headers or body.
    ProviderNotDetected,
    /// Webhooks are POSTed; anything else is refused before verification.
    MethodNotAllowed,
    /// The body is longer than the configured limit: `actual` bytes, or for a gzipped body
    /// the `limit + 1` bytes at which inflating it stopped.
    BodyTooLarge { limit: usize, actual: usize },
    /// The provider's verification needs credentials and none were configured.
    MissingCredentials { provider: &'static str },
    /// The request names a scheme whose credential is not configured (Twilio's settings
    /// header names a shared key, and no `shared_key` is set): the receiver's misconfiguration,
    /// code `missing_credentials` like the variant above, naming the credential to add.
    CredentialNotConfigured {
        provider: &'static str,
        /// The credentials field to configure (`shared_key`).
        credential: &'static str,
        /// What in the request asks for it (a header name and what it says).
        because: &'static str,
    },
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
    /// A header names a signature algorithm telhook does not verify (Twilio's
    /// `X-Twilio-Webhooks-Signature-Settings: algorithm=`): refused, never guessed.
    UnsupportedSignatureAlgorithm {
        header: &'static str,
        expected: &'static str,
    },
    /// A signed timestamp (Telnyx `telnyx-timestamp`) further from the receiver's clock than
    /// the provider's tolerance, in either direction: a replay, or a clock far off.
    TimestampOutOfTolerance {
        header: &'static str,
        tolerance_secs: u32,
    },
    /// A signature over the URL the provider called (Twilio) that matches none of the forms of
    /// `url`: the receiver's own URL as it was checked (userinfo dropped, query values elided),
    /// named so that a proxy in front of the receiver can be told from a forgery.
    UrlSignatureMismatch { header: &'static str, url: String },
    /// The body's SHA-256 is not the one the signed URL's `parameter` carries (Twilio's
    /// `bodySHA256`).
    BodyHashMismatch { parameter: &'static str },
    /// A header lists more signatures than any sender needs for rotation; refused before any
    /// HMAC is computed, so a padded header cannot multiply the work per request.
    TooManySignatures { header: &'static str, limit: usize },
    /// A required Authorization header, URL token or Basic credential is absent.
    MissingAuthorization,
    /// The Authorization header or URL token is present but garbled.
    InvalidAuthorizationFormat { reason: &'static str },
    /// Well-formed credentials that match none of the configured ones.
    AuthorizationMismatch,
    /// A security-relevant header or parameter appears twice with different values.
    AmbiguousHeader { header: String },
    /// The request carries the authentication headers of more than one provider, or its body
    /// has the shape of another provider than the one it is read as: accepting it would let a
    /// request verified for one provider be processed again as another.
    AmbiguousProvider { reason: &'static str },
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
    /// The receiver's clock reading is not plausible UNIX seconds (milliseconds, say): a
    /// configuration error, so the provider retries instead of dropping the event.
    InvalidClock,
    /// A receiver option (`lease_secs`, `store_deadline_ms`, …) is out of its range: refused
    /// when the receiver is built, never answered to a provider.
    InvalidOption {
        /// The option as the caller spelled it (an unknown one included); never its value.
        option: String,
        expected: &'static str,
    },
    /// A body parser consumed the request stream before the receiver could read the raw
    /// bytes (Express's `express.json()` mounted first): nothing can be verified. A
    /// configuration error, so the provider retries until the mounting is fixed.
    RawBodyUnavailable,
}

/// Every error code, defined once: bindings, schemas and type stubs list these (and tests
/// check that they do), and the receive contract maps a code back to its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    UnknownProvider,
    ProviderNotDetected,
    MethodNotAllowed,
    BodyTooLarge,
    MissingCredentials,
    InvalidCredentials,
    MissingSignature,
    InvalidSignatureFormat,
    SignatureMismatch,
    UnsupportedSignatureAlgorithm,
    TimestampOutOfTolerance,
    TooManySignatures,
    MissingAuthorization,
    InvalidAuthorizationFormat,
    AuthorizationMismatch,
    AmbiguousHeader,
    AmbiguousProvider,
    JwtMalformed,
    JwtAlgorithmNotAllowed,
    JwtExpired,
    JwtNotYetValid,
    JwtPayloadMismatch,
    MalformedJson,
    MalformedNestedJson,
    InvalidPayload,
    InvalidTimestamp,
    InvalidRequest,
    InvalidClock,
    InvalidOption,
    RawBodyUnavailable,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::UnknownProvider,
        ErrorCode::ProviderNotDetected,
        ErrorCode::MethodNotAllowed,
        ErrorCode::BodyTooLarge,
        ErrorCode::MissingCredentials,
        ErrorCode::InvalidCredentials,
        ErrorCode::MissingSignature,
        ErrorCode::InvalidSignatureFormat,
        ErrorCode::SignatureMismatch,
        ErrorCode::UnsupportedSignatureAlgorithm,
        ErrorCode::TimestampOutOfTolerance,
        ErrorCode::TooManySignatures,
        ErrorCode::MissingAuthorization,
        ErrorCode::InvalidAuthorizationFormat,
        ErrorCode::AuthorizationMismatch,
        ErrorCode::AmbiguousHeader,
        ErrorCode::AmbiguousProvider,
        ErrorCode::JwtMalformed,
        ErrorCode::JwtAlgorithmNotAllowed,
        ErrorCode::JwtExpired,
        ErrorCode::JwtNotYetValid,
        ErrorCode::JwtPayloadMismatch,
        ErrorCode::MalformedJson,
        ErrorCode::MalformedNestedJson,
        ErrorCode::InvalidPayload,
        ErrorCode::InvalidTimestamp,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClock,
        ErrorCode::InvalidOption,
        ErrorCode::RawBodyUnavailable,
    ];

    /// The stable snake_case text of the code.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnknownProvider => "unknown_provider",
            ErrorCode::ProviderNotDetected => "provider_not_detected",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::MissingCredentials => "missing_credentials",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::MissingSignature => "missing_signature",
            ErrorCode::InvalidSignatureFormat => "invalid_signature_format",
            ErrorCode::SignatureMismatch => "signature_mismatch",
            ErrorCode::UnsupportedSignatureAlgorithm => "unsupported_signature_algorithm",
            ErrorCode::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            ErrorCode::TooManySignatures => "too_many_signatures",
            ErrorCode::MissingAuthorization => "missing_authorization",
            ErrorCode::InvalidAuthorizationFormat => "invalid_authorization_format",
            ErrorCode::AuthorizationMismatch => "authorization_mismatch",
            ErrorCode::AmbiguousHeader => "ambiguous_header",
            ErrorCode::AmbiguousProvider => "ambiguous_provider",
            ErrorCode::JwtMalformed => "jwt_malformed",
            ErrorCode::JwtAlgorithmNotAllowed => "jwt_algorithm_not_allowed",
            ErrorCode::JwtExpired => "jwt_expired",
            ErrorCode::JwtNotYetValid => "jwt_not_yet_valid",
            ErrorCode::JwtPayloadMismatch => "jwt_payload_mismatch",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::MalformedNestedJson => "malformed_nested_json",
            ErrorCode::InvalidPayload => "invalid_payload",
            ErrorCode::InvalidTimestamp => "invalid_timestamp",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClock => "invalid_clock",
            ErrorCode::InvalidOption => "invalid_option",
            ErrorCode::RawBodyUnavailable => "raw_body_unavailable",
        }
    }

    /// The family of errors the code belongs to.
    pub fn kind(self) -> ErrorKind {
        match self {
            ErrorCode::UnknownProvider
            | ErrorCode::MissingCredentials
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidClock
            | ErrorCode::InvalidOption
            | ErrorCode::RawBodyUnavailable => ErrorKind::Configuration,
            ErrorCode::MissingSignature
            | ErrorCode::InvalidSignatureFormat
            | ErrorCode::SignatureMismatch
            | ErrorCode::UnsupportedSignatureAlgorithm
            | ErrorCode::TimestampOutOfTolerance
            | ErrorCode::TooManySignatures
            | ErrorCode::MissingAuthorization
            | ErrorCode::InvalidAuthorizationFormat
            | ErrorCode::AuthorizationMismatch
            | ErrorCode::AmbiguousHeader
            | ErrorCode::AmbiguousProvider
            | ErrorCode::JwtMalformed
            | ErrorCode::JwtAlgorithmNotAllowed
            | ErrorCode::JwtExpired
            | ErrorCode::JwtNotYetValid
            | ErrorCode::JwtPayloadMismatch => ErrorKind::Verification,
            ErrorCode::MalformedJson
            | ErrorCode::MalformedNestedJson
            | ErrorCode::InvalidPayload
            | ErrorCode::InvalidTimestamp => ErrorKind::Parse,
            ErrorCode::ProviderNotDetected
            | ErrorCode::MethodNotAllowed
            | ErrorCode::BodyTooLarge
            | ErrorCode::InvalidRequest => ErrorKind::Request,
        }
    }

    /// The code with this text, if there is one.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == name)
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Error {
    /// The stable machine-readable code; identical in Rust, JS and Python.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The family of the error, for exception classes and HTTP answers.
    pub fn kind(&self) -> ErrorKind {
        self.error_code().kind()
    }

    /// The variant's code as a value.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Error::UnknownProvider { .. } => ErrorCode::UnknownProvider,
            Error::ProviderNotDetected => ErrorCode::ProviderNotDetected,
            Error::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Error::BodyTooLarge { .. } => ErrorCode::BodyTooLarge,
            Error::MissingCredentials { .. } | Error::CredentialNotConfigured { .. } => {
                ErrorCode::MissingCredentials
            }
            Error::InvalidCredentials { .. } => ErrorCode::InvalidCredentials,
            Error::MissingSignature { .. } => ErrorCode::MissingSignature,
            Error::InvalidSignatureFormat { .. } => ErrorCode::InvalidSignatureFormat,
            Error::UnsupportedSignatureAlgorithm { .. } => ErrorCode::UnsupportedSignatureAlgorithm,
            Error::TimestampOutOfTolerance { .. } => ErrorCode::TimestampOutOfTolerance,
            Error::SignatureMismatch { .. }
            | Error::UrlSignatureMismatch { .. }
            | Error::BodyHashMismatch { .. } => ErrorCode::SignatureMismatch,
            Error::TooManySignatures { .. } => ErrorCode::TooManySignatures,
            Error::MissingAuthorization => ErrorCode::MissingAuthorization,
            Error::InvalidAuthorizationFormat { .. } => ErrorCode::InvalidAuthorizationFormat,
            Error::AuthorizationMismatch => ErrorCode::AuthorizationMismatch,
            Error::AmbiguousHeader { .. } => ErrorCode::AmbiguousHeader,
            Error::AmbiguousProvider { .. } => ErrorCode::AmbiguousProvider,
            Error::JwtMalformed { .. } => ErrorCode::JwtMalformed,
            Error::JwtAlgorithmNotAllowed => ErrorCode::JwtAlgorithmNotAllowed,
            Error::JwtExpired => ErrorCode::JwtExpired,
            Error::JwtNotYetValid => ErrorCode::JwtNotYetValid,
            Error::JwtPayloadMismatch => ErrorCode::JwtPayloadMismatch,
            Error::MalformedJson { .. } => ErrorCode::MalformedJson,
            Error::MalformedNestedJson { .. } => ErrorCode::MalformedNestedJson,
            Error::InvalidPayload { .. } => ErrorCode::InvalidPayload,
            Error::InvalidTimestamp { .. } => ErrorCode::InvalidTimestamp,
            Error::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            Error::InvalidClock => ErrorCode::InvalidClock,
            Error::InvalidOption { .. } => ErrorCode::InvalidOption,
            Error::RawBodyUnavailable => ErrorCode::RawBodyUnavailable,
        }
    }

    /// `reason` may be serde's message, which quotes the offending value ("invalid type:
    /// string \"+4512345678 …\", expected …"): only the kind of value and what was expected
    /// are kept, so no request value reaches an error (or the logs it is written to).
    pub(crate) fn invalid_payload(reason: impl fmt::Display) -> Self {
        Error::InvalidPayload {
            reason: without_request_values(&alloc::format!("{reason}")),
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
            Error::UnknownProvider { name, known } => {
                // Not the name: a route that takes it from the URL (`/hooks/<provider>`) would
                // put a request's value in the message (its length only, for a typo's sake).
                write!(f, "provider: an unknown name of {} characters; expected one of ", name.chars().count())?;
                for (i, known) in known.iter().enumerate() {
                    f.write_str(if i == 0 { "" } else { ", " })?;
                    f.write_str(known)?;
                }
                Ok(())
            }
            Error::ProviderNotDetected => {
                f.write_str("no provider matches this request's headers or body; name the provider explicitly")
            }
            Error::MethodNotAllowed => f.write_str("method: webhooks are delivered with POST"),
            Error::BodyTooLarge { limit, actual } => {
                write!(f, "body is {actual} bytes or more, over the limit of {limit} bytes")
            }
            Error::MissingCredentials { provider } => write!(
                f,
                "no credentials configured for {provider}; configure them, or opt out explicitly with insecure_skip_verification"
            ),
            Error::CredentialNotConfigured {
                provider,
                credential,
                because,
            } => write!(
                f,
                "no {credential} configured for {provider}, and {because}; configure {credential}"
            ),
            Error::InvalidCredentials { reason } => write!(f, "invalid credentials: {reason}"),
            Error::MissingSignature { header } => write!(f, "missing signature header {header}"),
            Error::InvalidSignatureFormat { header, reason } => {
                write!(f, "signature header {header} is malformed: {reason}")
            }
            Error::SignatureMismatch { header } => {
                write!(f, "signature in {header} does not match any configured secret")
            }
            Error::UnsupportedSignatureAlgorithm { header, expected } => write!(
                f,
                "header {header} names a signature algorithm telhook does not verify; expected {expected}"
            ),
            Error::TimestampOutOfTolerance {
                header,
                tolerance_secs,
            } => write!(
                f,
                "timestamp in {header} is more than {tolerance_secs} s from the receiver's clock (a replay, or a clock that is off)"
            ),
            Error::UrlSignatureMismatch { header, url } => write!(
                f,
                "signature in {header} does not match any configured secret for the URL {url} (behind a proxy or a framework that rewrites the URL, public_url must be exactly the URL the provider calls, as its console shows it)"
            ),
            Error::BodyHashMismatch { parameter } => {
                write!(f, "the URL's {parameter} is not the SHA-256 of the body")
            }
            Error::TooManySignatures { header, limit } => {
                write!(f, "signature header {header} lists more than {limit} signatures")
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
            Error::AmbiguousProvider { reason } => {
                write!(f, "the request matches more than one provider: {reason}")
            }
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
            Error::InvalidClock => f.write_str(
                "now must be UNIX seconds between 2000-01-01 and 9999-12-31 (a clock in milliseconds?)",
            ),
            Error::InvalidOption { option, expected } => {
                write!(f, "option {option}: expected {expected}")
            }
            Error::RawBodyUnavailable => f.write_str(
                "request body: something read it before telhook (a body parser or middleware: Express's express.json(), Hono's c.req.json(), a Fetch Request whose body was used, an ASGI middleware that read the stream); give telhook the raw bytes or an unread request (mount it before the parser, or clone the request before reading it: request.clone(), Hono's cloneRawRequest)",
            ),
        }
    }
}

/// serde's data errors, with the request's value replaced by its kind. serde writes
/// `invalid type: <unexpected>, expected <what>` (and `invalid value`, `unknown variant`,
/// `unknown field`), where `<unexpected>` quotes the value (`string "…"`, `integer \`5\``).
/// `<what>` comes from our own types. Any other message that quotes something is replaced
/// whole: better a vaguer message than a phone number in a log.
fn without_request_values(message: &str) -> String {
    const VALUE_FIRST: [&str; 4] = [
        "invalid type: ",
        "invalid value: ",
        "unknown variant ",
        "unknown field ",
    ];
    for prefix in VALUE_FIRST {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let Some((unexpected, expected)) = rest.rsplit_once(", expected ") else {
            break;
        };
        // The kind is serde's own first word (string, integer, map, …); variants and field
        // names are the sender's text and are dropped.
        let kind = match prefix {
            "invalid type: " | "invalid value: " => unexpected
                .split([' ', '`', '"'])
                .next()
                .filter(|word| word.chars().all(|c| c.is_ascii_lowercase()))
                .unwrap_or("value"),
            _ => "",
        };
        let head = prefix.trim_end_matches([':', ' ']);
        return if kind.is_empty() {
            alloc::format!("{head}, expected {expected}")
        } else {
            alloc::format!("{head}: a {kind}, expected {expected}")
        };
    }
    // These name a field of our own types, never a value of the request.
    let names_our_field =
        message.starts_with("missing field ") || message.starts_with("duplicate field ");
    if message.contains(['"', '`']) && !names_our_field {
        String::from("a field has the wrong type or value for this provider's payload")
    } else {
        String::from(message)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_keep_the_kind_and_lose_the_value() {
        let cases = [
            (
                r#"invalid type: string "+4512345678 call me", expected struct LisolooData"#,
                "invalid type: a string, expected struct LisolooData",
            ),
            (
                "invalid value: integer `-5`, expected u64",
                "invalid value: a integer, expected u64",
            ),
            (
                "unknown variant `secret-ish`, expected one of `a`, `b`",
                "unknown variant, expected one of `a`, `b`",
            ),
            ("missing field `event_id`", "missing field `event_id`"),
            (
                r#"something "quoted" we did not foresee"#,
                "a field has the wrong type or value for this provider's payload",
            ),
        ];
        for (serde, safe) in cases {
            assert_eq!(without_request_values(serde), safe);
        }
    }
}
