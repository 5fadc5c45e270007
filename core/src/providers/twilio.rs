//! Twilio webhooks: Messaging status callbacks, inbound SMS/MMS and Voice status callbacks,
//! sent as `application/x-www-form-urlencoded` POSTs or as GETs (a Voice URL may be set to
//! GET), and JSON bodies whose hash is in the URL (`bodySHA256`).
//!
//! Auth: `X-Twilio-Signature` = base64 HMAC-SHA1 keyed with the account's Auth Token
//! (`auth_token`; several for rotation) over the full URL Twilio called followed by every form
//! parameter, names sorted, each distinct value of a name sorted, as `name` + `value`
//! (twilio-python `request_validator.py`, twilio-node `webhooks.ts`). A GET carries its
//! parameters in the URL, which is signed as it is. A JSON body is not a parameter: the
//! signature covers the URL alone and the URL's `bodySHA256` must be the hex SHA-256 of the raw
//! body — **always checked** (a validator that skips it lets one captured signature carry any
//! body). The URL forms the official validators accept are all tried: as received, without
//! its port, with the scheme's default port added (Twilio signs either), and each with the query
//! as Node's WHATWG `URL` re-encodes it (`'` → `%27`) and as Node's legacy `querystring`
//! re-serializes it — at most nine HMACs per Auth Token, each over the URL and the parameters.
//!
//! Shared keys (public beta, twilio.com/docs/usage/webhooks/webhook-shared-keys): when one of
//! the account's Webhooks Rules matches the URL, Twilio signs with that Setting's SharedKey
//! secret and algorithm instead, and says so in `X-Twilio-Webhooks-Signature-Settings:
//! key=<key id>,algorithm=HMAC_SHA256` (or `HMAC_SHA1`). Only the MAC changes: the same string
//! is signed (URL + parameters, or the URL with `bodySHA256`) and the signature is base64 in
//! `X-Twilio-Signature`. The header decides the key, as twilio-node's middleware does: present,
//! only the configured `shared_key`s are tried with the algorithm it names (never the Auth
//! Token, which would let a forger downgrade); absent, only the Auth Token with HMAC-SHA1
//! (never a shared key).
//!
//! The URL is the one the *receiver* was called at: the request's absolute `url`, else
//! `https://` followed by its `Host` and path; behind a proxy or TLS terminator set the `public_url` option (or trust
//! `X-Forwarded-*`, see [`crate::Options`]). A signature that matches none names the URL used.
//!
//! Idempotency key: `twilio:<MessageSid>:<MessageStatus>` for a message status (one message
//! gets several callbacks), `twilio:<MessageSid>` for an inbound message,
//! `twilio:<CallSid>:<CallStatus>` for a Voice status callback, `twilio:<CallSid>:incoming` for
//! an incoming call; else the `I-Twilio-Idempotency-Token` header (the same on Twilio's
//! redeliveries of one request), else the hash of the body (of the query for a GET).
//! `occurred_at` is null for messages: Twilio's Messaging callbacks carry no time (the order
//! comes from the status rank); Voice status callbacks carry `Timestamp` (RFC 2822).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{defaults, Context, HeaderNames, Provider, Spec};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::event::{
    Call, DeliveryStatus, Direction, EventType, Message, NormalizedEvent, ProviderError,
    StatusInfo,
};
use crate::fields::Fields;
use crate::kit::{self, SampleKind, Scheme};
use crate::provider::{RetrySchedule, StatusRange};
use crate::request::WebhookRequest;
use crate::verify::{self as scheme, constant_time_eq};

/// twilio.com/docs/api/errors/11205 and /usage/webhooks/webhooks-connection-overrides: Twilio
/// waits 15 s for an answer (a 10 s connect timeout within it) and by default does not retry
/// an HTTP request; it calls the fallback URL if one is set (a second delivery of the same
/// event, which the dedupe catches). Connection overrides in the configured URL's fragment
/// (`#rc=` retry count up to 5, `#ct=` connect and `#rt=` read timeouts, `#tt=` total time)
/// change that per URL; the fragment never reaches the receiver, so the policy states the
/// default and the dedupe window (24 h) covers the longest override.
const RETRY: RetrySchedule = RetrySchedule {
    documented: true,
    timeout_secs: 15,
    retry_delays_secs: &[],
    jitter: false,
    ack_statuses: StatusRange::ANY_2XX,
    permanent_failure_statuses: None,
    identical_bodies_can_be_new_events: false,
};

/// Everything the generic code reads about this provider.
pub(crate) const SPEC: Spec = Spec {
    retry: RETRY,
    verify,
    named_by_headers,
    body_matches: |_| false,
    #[cfg(feature = "inspect")]
    parse: |raw| Ok(super::Payload::Twilio(raw.clone())),
    normalize,
    message_parts: defaults::one_part,
    schemes: SCHEMES,
    user_agent: Some("TwilioProxy/1.1"),
    #[cfg(feature = "kit")]
    sign,
    #[cfg(feature = "kit")]
    sign_expired: defaults::cannot_expire,
    #[cfg(feature = "kit")]
    sample_kinds: SAMPLE_KINDS,
    #[cfg(feature = "kit")]
    sample,
    #[cfg(feature = "kit")]
    encode_sample: as_form,
    #[cfg(feature = "kit")]
    identity,
    redacted_keys: &[],
    json_text_field: None,
    out_of_order: Some(OUT_OF_ORDER),
    methods: &["POST", "GET"],
    decode,
    signed_apart: defaults::body_signed,
};

/// The top-level payload type (`Payload::Twilio`): an object of every parameter by its name
/// (a repeated parameter is a list of its values), or the JSON body `bodySHA256` signs. A plain
/// `Value`: its serializer is the one `raw` already uses (a typed map would add its own).
pub type Body = Value;

/// Alternatives, not layers: a request carries one `X-Twilio-Signature`. Signing with both
/// (`scheme: None`, both configured) signs with the Auth Token, applied last — Twilio's
/// default when no Webhooks Rule matches.
const SCHEMES: &[Scheme] = &[Scheme::SharedKey, Scheme::AuthToken];
const HEADER: &str = "X-Twilio-Signature";
/// Names the shared key and algorithm of a shared-key signature (absent: the Auth Token).
const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";
/// Bounds on the settings header, checked before it is split: Twilio sends two short entries.
const SETTINGS_MAX_BYTES: usize = 256;
const SETTINGS_MAX_ENTRIES: usize = 8;
const SETTINGS_FORMAT: &str =
    "expected comma-separated name=value entries with one algorithm, e.g. key=<key id>,algorithm=HMAC_SHA256";
const SETTINGS_ALGORITHMS: &str = "algorithm=HMAC_SHA1 or algorithm=HMAC_SHA256";
const BODY_HASH_PARAM: &str = "bodySHA256";
const IDEMPOTENCY_HEADER: &str = "I-Twilio-Idempotency-Token";

/// The MAC of a signature: HMAC-SHA1 with the Auth Token, or a shared key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    HmacSha1,
    HmacSha256,
}

/// A decoded `X-Twilio-Signature`, of the algorithm's length.
enum Signature {
    Sha1([u8; 20]),
    Sha256([u8; 32]),
}

fn named_by_headers(headers: &HeaderNames<'_>) -> bool {
    headers.has(HEADER)
}

// ------------------------------------------------------------------------------ verification

fn verify(request: &WebhookRequest, credentials: &Credentials, _now: i64) -> Result<()> {
    if credentials.auth_token.is_empty() && credentials.shared_key.is_empty() {
        return Err(Error::MissingCredentials { provider: "twilio" });
    }
    let given = request
        .header(HEADER)?
        .ok_or(Error::MissingSignature { header: HEADER })?;
    // The settings header alone decides the key: present, the shared keys with the algorithm
    // it names and never the Auth Token (a forger could otherwise downgrade to it); absent,
    // the Auth Token with HMAC-SHA1 and never a shared key.
    //
    // A request whose key is not configured here is the receiver's misconfiguration, not a
    // forgery we can tell: the same `missing_credentials` (a configuration error, answered
    // 500 by the receive machine) as a receiver with no Twilio credentials at all. A 4xx
    // would tell Twilio the delivery failed for good and lose authentic events until someone
    // noticed; a 500 is logged as an error, names the credential to add, and keeps the event
    // recoverable (Twilio's fallback URL and error log, its retries when configured).
    // twilio-node's middleware answers this case 500 too. A forger can provoke it only by
    // adding the header, which earns the same nothing as any other refused request.
    let (secrets, algorithm) = match request.header(SETTINGS_HEADER)? {
        Some(settings) => {
            let algorithm = settings_algorithm(settings)?;
            if credentials.shared_key.is_empty() {
                return Err(Error::CredentialNotConfigured {
                    provider: "twilio",
                    credential: "shared_key",
                    because: "the request's X-Twilio-Webhooks-Signature-Settings header says it is signed with a Webhooks Setting's shared key",
                });
            }
            (&credentials.shared_key, algorithm)
        }
        None => {
            if credentials.auth_token.is_empty() {
                return Err(Error::CredentialNotConfigured {
                    provider: "twilio",
                    credential: "auth_token",
                    because: "the request has no X-Twilio-Webhooks-Signature-Settings header, so it is signed with the Auth Token",
                });
            }
            (&credentials.auth_token, Algorithm::HmacSha1)
        }
    };
    let signature = decode_signature(given, algorithm)?;
    let urls = called_urls(request)?;
    let body_hash = body_hash(request)?;
    let params = if body_hash.is_some() || is_get(request) {
        String::new()
    } else {
        signed_params(&request.body)
    };
    let signs = |url: &str| {
        let parts = [url.as_bytes(), params.as_bytes()];
        match &signature {
            Signature::Sha1(signature) => scheme::hmac::sha1_matches_any(secrets, &parts, signature),
            Signature::Sha256(signature) => {
                scheme::hmac::sha256_matches_any(secrets, &parts, signature)
            }
        }
    };
    // The URL as it came first, and the other forms an official validator accepts (port added
    // or dropped, the query as WHATWG or the legacy parser writes it) built and tried only when
    // it does not sign: nearly every delivery is signed over the URL it arrives at, and building
    // the forms and an HMAC of each cost 21 k of a 76 k delivery (callgrind, twilio-python's
    // example). Stopping at the first match tells a timer nothing it could use: the MACs are
    // compared in constant time, and which form matched is no secret. twilio-python stops there
    // too (`… or …`).
    let matched = urls.iter().any(|url| {
        signs(url) || other_url_forms(url).iter().any(|form| signs(form))
    });
    if !matched {
        let mut shown = urls.iter().map(|url| shown_url(url));
        let mut url = shown.next().unwrap_or_default();
        for other in shown {
            url.push_str(" or ");
            url.push_str(&other);
        }
        // The URL comes from the request (path, query names, Host): a configured value in it
        // must not reach the error's text (found by the normalize_twilio fuzz target).
        let url = crate::redact::Redactor::new(credentials).without_configured_values(&url);
        return Err(Error::UrlSignatureMismatch { header: HEADER, url });
    }
    if let Some(expected) = body_hash {
        let actual = hex::encode(Sha256::digest(&request.body));
        if !constant_time_eq(expected.to_ascii_lowercase().as_bytes(), actual.as_bytes()) {
            return Err(Error::BodyHashMismatch {
                parameter: BODY_HASH_PARAM,
            });
        }
    }
    Ok(())
}

fn is_get(request: &WebhookRequest) -> bool {
    request.method.eq_ignore_ascii_case("GET")
}

/// The URL's `bodySHA256`, which makes the body JSON (signed through its hash).
fn body_hash(request: &WebhookRequest) -> Result<Option<String>> {
    if is_get(request) {
        return Ok(None);
    }
    request.query_param(BODY_HASH_PARAM)
}

/// The algorithm `X-Twilio-Webhooks-Signature-Settings` names: comma-separated `name=value`
/// entries (names case-insensitive, `algorithm` and `key` at most once each, other names
/// ignored so that a parameter Twilio adds later does not refuse its deliveries), bounded in
/// length and entries before it is split. The key id is not needed: every configured shared
/// key is tried, as the Auth Tokens are. Errors name the header and what was expected, never
/// a value of the request.
fn settings_algorithm(value: &str) -> Result<Algorithm> {
    let invalid = Error::InvalidSignatureFormat {
        header: SETTINGS_HEADER,
        reason: SETTINGS_FORMAT,
    };
    if value.len() > SETTINGS_MAX_BYTES || value.split(',').count() > SETTINGS_MAX_ENTRIES {
        return Err(invalid);
    }
    let (mut algorithm, mut key) = (None, None);
    for entry in value.split(',') {
        let (name, entry_value) = entry.split_once('=').ok_or_else(|| invalid.clone())?;
        let (name, entry_value) = (name.trim(), entry_value.trim());
        let slot = if name.eq_ignore_ascii_case("algorithm") {
            &mut algorithm
        } else if name.eq_ignore_ascii_case("key") {
            &mut key
        } else if name.is_empty() {
            return Err(invalid);
        } else {
            continue;
        };
        if slot.replace(entry_value).is_some() {
            return Err(invalid);
        }
    }
    match algorithm {
        None => Err(invalid),
        Some(name) if name.eq_ignore_ascii_case("HMAC_SHA256") => Ok(Algorithm::HmacSha256),
        Some(name) if name.eq_ignore_ascii_case("HMAC_SHA1") => Ok(Algorithm::HmacSha1),
        Some(_) => Err(Error::UnsupportedSignatureAlgorithm {
            header: SETTINGS_HEADER,
            expected: SETTINGS_ALGORITHMS,
        }),
    }
}

/// The base64 MAC of `algorithm` (20 bytes for HMAC-SHA1, 32 for HMAC-SHA256); anything else
/// is refused before any HMAC.
fn decode_signature(text: &str, algorithm: Algorithm) -> Result<Signature> {
    let (reason, chars) = match algorithm {
        Algorithm::HmacSha1 => ("expected base64 of a 20-byte HMAC-SHA1", 28),
        Algorithm::HmacSha256 => (
            "expected base64 of a 32-byte HMAC-SHA256 (the algorithm the X-Twilio-Webhooks-Signature-Settings header names)",
            44,
        ),
    };
    let invalid = Error::InvalidSignatureFormat {
        header: HEADER,
        reason,
    };
    let text = text.trim();
    if text.len() != chars {
        return Err(invalid);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| invalid.clone())?;
    match algorithm {
        Algorithm::HmacSha1 => <[u8; 20]>::try_from(bytes.as_slice()).map(Signature::Sha1),
        Algorithm::HmacSha256 => <[u8; 32]>::try_from(bytes.as_slice()).map(Signature::Sha256),
    }
    .map_err(|_| invalid)
}


/// The decoded form parameters as Twilio signs them: names sorted, each distinct value of a
/// name sorted, `name` + `value` concatenated.
fn signed_params(body: &[u8]) -> String {
    let mut params: Vec<(String, String)> = super::defaults::form_pairs(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    // Names sorted, then values; repeated pairs once: O(n log n) in the number of parameters.
    params.sort_unstable();
    params.dedup();
    let mut joined = String::with_capacity(body.len());
    for (name, value) in &params {
        joined.push_str(name);
        joined.push_str(value);
    }
    joined
}

/// The absolute URLs the receiver may have been called at: the request's own when absolute,
/// else its `Host` and path under `https://` and `http://` — a path-only URL (node:http's
/// `req.url`, a WSGI path) does not say which scheme the client used, and either signs the same
/// way (the `public_url` and `X-Forwarded-*` options rewrite the request's URL before
/// verification). Without a host there is no URL to check.
fn called_urls(request: &WebhookRequest) -> Result<Vec<String>> {
    let url = called_url(request)?;
    let plain = url
        .strip_prefix("https://")
        .filter(|_| !request.url.as_deref().unwrap_or("/").contains("://"))
        .map(|rest| alloc::format!("http://{rest}"));
    Ok(core::iter::once(url).chain(plain).collect())
}

/// The first of [`called_urls`]: the request's absolute URL, else `https://` + `Host` + path.
fn called_url(request: &WebhookRequest) -> Result<String> {
    let url = request.url.as_deref().unwrap_or("/");
    let url = url.split('#').next().unwrap_or_default();
    if url.contains("://") {
        return Ok(String::from(url));
    }
    let host = request
        .header("host")?
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::InvalidRequest {
            reason: String::from(
                "url: a path only and no Host header; set the public_url option to the URL Twilio calls",
            ),
        })?;
    let path = if url.starts_with('/') { "" } else { "/" };
    Ok(alloc::format!("https://{host}{path}{url}"))
}

/// A URL split at its authority and port: `(scheme://userinfo@host, port, rest)`.
fn split_port(url: &str) -> Option<(&str, Option<&str>, &str)> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host = authority.get(host_start..)?;
    // The port follows the last ':' outside an IPv6 literal's brackets.
    let port_at = host
        .rfind(':')
        .filter(|at| host.rfind(']').map_or(true, |bracket| bracket < *at));
    let head_len = scheme.len() + 3 + host_start;
    match port_at {
        Some(at) => Some((
            url.get(..head_len + at)?,
            host.get(at + 1..),
            rest,
        )),
        None => Some((url.get(..head_len + host.len())?, None, rest)),
    }
}

/// The forms of `url` other than itself that an official validator accepts, without repeats
/// (at most eight): the port added or dropped, and each of those with its query as WHATWG and
/// as the legacy parser writes it.
fn other_url_forms(url: &str) -> Vec<String> {
    let mut ports: Vec<String> = alloc::vec![String::from(url)];
    if let Some((head, port, rest)) = split_port(url) {
        match port {
            Some(_) => ports.push(alloc::format!("{head}{rest}")),
            None => {
                let default = match url.split_once("://").map(|(s, _)| s.to_ascii_lowercase()) {
                    Some(scheme) if scheme == "https" => Some("443"),
                    Some(scheme) if scheme == "http" => Some("80"),
                    _ => None,
                };
                if let Some(default) = default {
                    ports.push(alloc::format!("{head}:{default}{rest}"));
                }
            }
        }
    }
    let mut forms: Vec<String> = Vec::with_capacity(8);
    for port_form in ports {
        let whatwg = whatwg_query(&port_form);
        let legacy = legacy_query(&whatwg);
        for form in [port_form, whatwg, legacy] {
            if form != url && !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

/// The query as WHATWG `URL` serializes it for a special scheme (twilio-node parses the URL
/// with `new URL()`): the special-query percent-encode set — controls, space, `"`, `#`, `<`,
/// `>`, `'` and every non-ASCII byte — percent-encoded.
fn whatwg_query(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return String::from(url);
    };
    let mut out = String::with_capacity(url.len() + 8);
    out.push_str(head);
    out.push('?');
    for byte in query.bytes() {
        if byte <= 0x20 || byte >= 0x7f || matches!(byte, b'"' | b'#' | b'<' | b'>' | b'\'') {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0')));
            out.push(char::from(HEX.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0')));
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

/// twilio-node's `withLegacyQuerystring`: `querystring.stringify(querystring.parse(query))` —
/// decoded (`+` is a space), repeated names grouped where the name first appears, re-encoded
/// with all but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` percent-encoded.
fn legacy_query(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return String::from(url);
    };
    // Each name's values together, the names in the order first seen: the pairs sorted by
    // name (then position), and each name's run written out where its first pair stood.
    // Searching a list of names for each pair made a URL of many names quadratic before any
    // signature was checked (a review: 16,000 names, 0.8 s).
    let pairs: Vec<_> = super::defaults::form_pairs(query.as_bytes()).collect();
    let sorted = crate::fields::sorted_names(pairs.iter().map(|(name, _)| name.as_ref()));
    // Each run of one name in `sorted`, kept at the position of its first pair (the run's
    // first entry: `sorted` orders a name's pairs by position).
    let mut run_first_at: Vec<Option<(usize, usize)>> = alloc::vec![None; pairs.len()];
    let mut start = 0;
    for end in 1..=sorted.len() {
        let name_at = |at: usize| sorted.get(at).map(|(name, _)| *name);
        if end == sorted.len() || name_at(end) != name_at(start) {
            if let Some(slot) = sorted
                .get(start)
                .and_then(|&(_, first)| run_first_at.get_mut(first))
            {
                *slot = Some((start, end));
            }
            start = end;
        }
    }
    let order = run_first_at.iter().flatten().flat_map(|&(start, end)| {
        sorted
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|&(_, index)| index)
    });
    let mut out = String::with_capacity(url.len() + 8);
    out.push_str(head);
    out.push('?');
    for (at, (name, value)) in order.filter_map(|index| pairs.get(index)).enumerate() {
        if at > 0 {
            out.push('&');
        }
        out.push_str(&node_escape(name));
        out.push('=');
        out.push_str(&node_escape(value));
    }
    out
}

/// Node's `querystring.escape`.
fn node_escape(text: &str) -> String {
    const KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')');
    percent_encoding::utf8_percent_encode(text, KEPT).to_string()
}

/// The URL for an error message: scheme, host, port and path, the query's names only, no
/// userinfo (the receiver's own URL, but it may carry credentials of its own).
fn shown_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut shown = match base.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let host = authority.rsplit('@').next().unwrap_or_default();
            alloc::format!("{scheme}://{host}{path}")
        }
        None => String::from(base),
    };
    for (index, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        shown.push(if index == 0 { '?' } else { '&' });
        shown.push_str(pair.split('=').next().unwrap_or_default());
        shown.push_str("=…");
    }
    shown
}

// ------------------------------------------------------------------------------ body

/// The parameters as one JSON object: a GET's query, a form body, or the JSON body that
/// `bodySHA256` signs.
fn decode(request: &WebhookRequest) -> Result<Value> {
    if is_get(request) {
        let url = request.url.as_deref().unwrap_or_default();
        let url = url.split('#').next().unwrap_or_default();
        let query = url.split_once('?').map_or("", |(_, query)| query);
        return Ok(defaults::form_object(query.as_bytes()));
    }
    if body_hash(request)?.is_some() {
        return crate::json_read::from_bytes(&request.body).map_err(|e| Error::from_json_syntax(&e));
    }
    // Another provider's JSON body is never read as Twilio's form (whose key would be the
    // whole body): a body is only ever accepted as one provider.
    if crate::json_read::opens_an_object(&request.body) {
        if let Ok(Value::Object(body)) = crate::json_read::from_bytes::<Value>(&request.body) {
            if super::provider_named_by_body(&body)?.is_some() {
                return Err(Error::AmbiguousProvider {
                    reason: "its body has the shape of another provider than the one it is read as",
                });
            }
        }
    }
    Ok(defaults::form_object(&request.body))
}

// ------------------------------------------------------------------------------ events

/// Messaging statuses (twilio.com/docs/messaging/api/message-resource#message-status-values).
/// `partially_delivered` (some segments never arrived) is a failure of the message as a
/// whole: it ranks below `delivered`, which the handset's confirmation would be.
fn status_of(word: &str) -> DeliveryStatus {
    match word {
        "accepted" | "scheduled" => DeliveryStatus::Accepted,
        "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "undelivered" | "failed" | "partially_delivered" => DeliveryStatus::Failed,
        "canceled" => DeliveryStatus::Canceled,
        _ => DeliveryStatus::Unknown,
    }
}

/// The domain every Twilio SIP Domain is under (`acme.sip.twilio.com`; twilio-go's
/// AccountsSIPDomainsApi: domain names "must end with sip.twilio.com"): a call through one
/// names its parties as SIP URIs there, the caller authenticated by the Domain.
const SIP_DOMAIN: &str = "sip.twilio.com";

/// Whose address is read: a message's sender or recipient may be a short code or a sender ID;
/// a call's party is a phone number (a SIP URI of one on a SIP Domain too:
/// [`crate::phone::call_party`]) or nothing (`Anonymous`, `client:alice`, `sip:alice@…`).
#[derive(Clone, Copy, PartialEq)]
enum Party {
    Message,
    Call,
}

/// Twilio prefixes non-SMS channels' addresses (`whatsapp:+1415…`, `rcs:+1800…`,
/// twilio.com/docs/rcs/onboarding): the number is read. Behind `rcs:` only a phone number is an
/// address: a brand's agent id (`rcs:brand_agent`) is no sender ID.
fn address(fields: &mut Fields<'_>, path: &str, party: Party) -> Option<String> {
    let text = fields.text(path)?;
    // Twilio sends a parameter it has no value for as empty (`FromCity=`): absent.
    if text.trim().is_empty() {
        return None;
    }
    let address = match text.strip_prefix("rcs:") {
        Some(number) => crate::phone::to_e164(number, None),
        None => {
            let number = text.strip_prefix("whatsapp:").unwrap_or(text);
            match party {
                Party::Call => crate::phone::call_party(number, Some(SIP_DOMAIN)),
                Party::Message => crate::phone::message_address(number),
            }
        }
    };
    if address.is_none() {
        fields.mark_unread(path);
    }
    address
}

fn normalize(raw: Value, context: &Context<'_>) -> Result<NormalizedEvent> {
    let mut fields = Fields::new(&raw);
    let message_sid = match fields.id("MessageSid") {
        Some(sid) => Some(sid),
        None => fields.id("SmsSid"),
    };
    let message_status = match fields.text("MessageStatus") {
        Some(word) => Some(word),
        None => fields.text("SmsStatus"),
    };
    let call_sid = fields.id("CallSid");
    let fallback = || match context.header(IDEMPOTENCY_HEADER) {
        Some(token) => context.key(&["token", token]),
        None => context.derived_key(),
    };
    let mut event;
    let mut party = Party::Message;
    // Conversations names its actions `onMessageAdded`, `onParticipantAdded`, …; a WhatsApp
    // status callback carries an `EventType` too (`DELIVERED`, `READ`) beside its
    // `MessageStatus`, and is a message status (a test of BotBuilderCommunity's Twilio WhatsApp
    // adapter, a logged capture).
    let conversations_action = fields.text("EventType").filter(|action| action.starts_with("on"));
    if let Some(action) = conversations_action {
        event = conversations_event(&mut fields, context, action, message_sid, &fallback);
    } else if message_sid.is_some() || message_status.is_some() {
        let word = message_status.unwrap_or_default();
        let inbound = word == "received" || (word.is_empty() && fields.has("Body"));
        let (event_type, name) = if inbound {
            (EventType::MessageReceived, "inbound_message")
        } else {
            (EventType::MessageStatus, "message_status")
        };
        let id = match (&message_sid, inbound) {
            (Some(sid), true) => context.key(&[sid]),
            (Some(sid), false) if !word.is_empty() => context.key(&[sid, word]),
            _ => fallback(),
        };
        event = context.event(id, event_type, name, Value::Null);
        if !inbound {
            event.status = Some(StatusInfo::new(status_of(word), word));
        }
        let code = fields.id("ErrorCode").filter(|code| code != "0");
        let description = fields.text("ErrorMessage").map(String::from);
        let error = (code.is_some() || description.is_some())
            .then_some(ProviderError { code, description });
        if fields.has("NumMedia") {
            fields.count("NumMedia");
        }
        event.message = Some(Message {
            id: message_sid,
            direction: Some(if inbound || word == "receiving" {
                Direction::Inbound
            } else {
                Direction::Outbound
            }),
            text: fields.text("Body").map(String::from),
            reference: None,
            error,
        });
    } else if let Some(sid) = call_sid {
        party = Party::Call;
        let word = fields.text("CallStatus").unwrap_or_default();
        let inbound = fields.text("Direction") == Some("inbound");
        // The status callback says the call ended: `CallbackSource` where events were chosen
        // (`statusCallbackEvent`), `CallDuration` in the one a number's or a call's plain
        // StatusCallback sends as it ends (no `<Gather>`/`<Record>` action carries it; a peer's
        // handler test sends `CallStatus=completed&CallDuration=42`: a review found it
        // `call.status`).
        let status_callback = fields.has("CallbackSource") || fields.has("CallDuration");
        // A transcription's callback repeats `CallStatus=completed` (a Spring app's controller
        // test, Twilio's own body): never a second `call.completed`.
        let about_a_recording = defaults::recording_callback(&mut fields).map(|(kind, ..)| kind);
        let event_type = match word {
            _ if about_a_recording.is_some() => EventType::Other,
            // Only the status callback says the call ended; a request of the call made after it
            // (a `<Record>` action after the hang-up) repeats `completed`.
            "completed" if status_callback => EventType::CallCompleted,
            "ringing" if inbound && !status_callback => EventType::CallIncoming,
            "busy" | "no-answer" | "canceled" | "failed" if inbound => EventType::CallMissed,
            _ => EventType::CallStatus,
        };
        let id = if event_type == EventType::CallIncoming {
            context.key(&[&sid, "incoming"])
        } else if status_callback && !word.is_empty() {
            context.key(&[&sid, word])
        } else {
            // A request of a running call (a <Gather> action, a redirect): no status names it.
            fallback()
        };
        let name = match about_a_recording {
            Some(name) => name,
            None if status_callback => "call_status",
            None => "voice_request",
        };
        event = context.event(id, event_type, name, Value::Null);
        event.occurred_at = rfc2822(&mut fields, "Timestamp");
        let direction = fields.text("Direction").map(|d| {
            if d == "inbound" {
                Direction::Inbound
            } else {
                Direction::Outbound
            }
        });
        event.call = Some(Call {
            id: Some(sid),
            direction,
            status: Call::status_from(word),
            voicemail_url: None,
            duration_seconds: fields.count("CallDuration"),
        });
    } else {
        event = context.event(fallback(), EventType::Other, "unknown", Value::Null);
    }
    event.from = address(&mut fields, "From", party);
    event.to = address(&mut fields, "To", party);
    event.unread_fields = fields.into_unread();
    event.raw = raw;
    Ok(event)
}

/// A Conversations webhook (`EventType`: `onMessageAdded`, `onMessageUpdated`,
/// `onMessageRemoved`, `onParticipantAdded`, …; twilio.com/docs/conversations/
/// conversations-webhooks). A message's edits and removal carry its `MessageSid` and `Body`
/// again, so the key names the action, its subject and its time (`RetryCount` changes on a
/// redelivery, so the body's hash would not do); a posted message is `message.received`, every
/// other action `other`.
fn conversations_event(
    fields: &mut Fields<'_>,
    context: &Context<'_>,
    action: &str,
    message_sid: Option<String>,
    fallback: &dyn Fn() -> String,
) -> NormalizedEvent {
    // A delivery receipt is one participant's (its DY sid); a message's action is the
    // message's; anything else a participant's or the conversation's.
    let subject = match fields.id("DeliveryReceiptSid") {
        Some(receipt) => Some(receipt),
        None => match &message_sid {
            Some(sid) => Some(sid.clone()),
            None => fields.id("ParticipantSid").or_else(|| fields.id("ConversationSid")),
        },
    };
    let status = fields.text("Status");
    let (when_path, when) = ["DateRemoved", "DateUpdated", "DateCreated"]
        .into_iter()
        .find_map(|path| Some((path, fields.text(path)?)))
        .unzip();
    // A pre-action webhook (`onMessageAdd`, …) fires before its resource exists: no sid of it
    // and no time, so every message a participant sends would share one key. Those, and any
    // action without a time, go by the idempotency token or the body.
    let id = match (&subject, when) {
        (Some(subject), Some(when)) => {
            let mut key = alloc::vec![action, subject.as_str()];
            key.extend(status);
            key.push(when);
            context.key(&key)
        }
        _ => fallback(),
    };
    let added = action == "onMessageAdded";
    let event_type = if added {
        EventType::MessageReceived
    } else {
        EventType::Other
    };
    let mut event = context.event(id, event_type, action, Value::Null);
    // The action's own time (a logged delivery: tigerfarm/tfpecho's README, `DateCreated`).
    event.occurred_at = when_path.and_then(|path| fields.time(path));
    if added {
        event.message = Some(Message {
            id: message_sid,
            direction: Some(Direction::Inbound),
            text: fields.text("Body").map(String::from),
            reference: None,
            error: None,
        });
    }
    event
}

/// A Voice `Timestamp` (`Tue, 21 Jan 2026 12:53:20 +0000`) as RFC 3339 UTC.
fn rfc2822(fields: &mut Fields<'_>, path: &str) -> Option<String> {
    let text = fields.text(path)?;
    // Twilio sends a parameter it has no value for as empty (`FromCity=`): absent.
    if text.trim().is_empty() {
        return None;
    }
    let parsed = crate::time::rfc2822_seconds(text)
        .and_then(|seconds| crate::time::from_unix_seconds(seconds, "Timestamp").ok());
    if parsed.is_none() {
        fields.mark_unread(path);
    }
    parsed
}


// ------------------------------------------------------------------------------ test kit

/// Signs as Twilio does: the form body's parameters after the request's URL, with the Auth
/// Token (HMAC-SHA1) or a shared key (HMAC-SHA256, named in the settings header). A signature
/// already on the request is replaced: Twilio sends one.
fn sign(
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
    _now: i64,
) -> Result<()> {
    let shared = scheme == Scheme::SharedKey;
    let secret = if shared {
        kit::first(&credentials.shared_key, Provider::Twilio)?
    } else {
        kit::first(&credentials.auth_token, Provider::Twilio)?
    };
    request.headers.retain(|(name, _)| {
        !name.eq_ignore_ascii_case(HEADER) && !name.eq_ignore_ascii_case(SETTINGS_HEADER)
    });
    if !is_get(request) && body_hash(request)?.is_none() {
        request
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        kit::add_header(request, "Content-Type", String::from(FORM_TYPE));
    }
    let relative = !request.url.as_deref().unwrap_or("/").contains("://");
    if relative && request.header("host")?.is_none() {
        // The test kit's requests have a path only: they are signed for this host, which the
        // request names so that a receiver reading it alone (no public_url) verifies it.
        kit::add_header(request, "Host", String::from(KIT_HOST));
    }
    let url = called_url(request)?;
    let params = if body_hash(request)?.is_some() || is_get(request) {
        String::new()
    } else {
        signed_params(&request.body)
    };
    let parts = [url.as_bytes(), params.as_bytes()];
    if shared {
        kit::add_header(request, HEADER, kit::hmac_sha256_base64(secret, &parts));
        kit::add_header(
            request,
            SETTINGS_HEADER,
            String::from("key=,algorithm=HMAC_SHA256"),
        );
    } else {
        kit::add_header(request, HEADER, kit::hmac_sha1_base64(secret, &parts));
    }
    Ok(())
}

/// The host the test kit signs a path-only request for.
const KIT_HOST: &str = "telhook.test";

const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// A sample's parameters sent as Twilio sends them: form-encoded (lists as repeated names,
/// `null` left out), as one string that `sample` writes out unquoted.
fn as_form(sample: &mut Value) {
    let Value::Object(map) = sample else {
        return;
    };
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in map.iter() {
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            other => alloc::vec![other],
        };
        for value in values {
            match value {
                Value::String(text) => form.append_pair(name, text),
                Value::Null => continue,
                other => form.append_pair(name, &other.to_string()),
            };
        }
    }
    *sample = Value::String(form.finish());
}

/// A message delivered, reported before its `sent` status.
const OUT_OF_ORDER: [(&str, &str, &str); 2] = [
    ("message_status", "MessageStatus", "delivered"),
    ("message_status", "MessageStatus", "sent"),
];

const SAMPLE_KINDS: &[SampleKind] = &[
    SampleKind::new("message_status", EventType::MessageStatus),
    SampleKind::new("inbound_message", EventType::MessageReceived),
    SampleKind::new("call_status", EventType::CallCompleted),
];


/// The parameters of Twilio's docs (Messaging status callback, inbound SMS, Voice status
/// callback), as the form fields arrive (every value text; synthetic values).
const MESSAGE_STATUS: &[(&str, &str)] = &[
    ("MessageSid", "SM2f3e1a0c9b8d7e6f5a4b3c2d1e0f9a8b"),
    ("SmsSid", "SM2f3e1a0c9b8d7e6f5a4b3c2d1e0f9a8b"),
    ("MessageStatus", "delivered"),
    ("SmsStatus", "delivered"),
    ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("From", "+15017122661"),
    ("To", "+15558675310"),
    ("ApiVersion", "2010-04-01"),
];
const INBOUND_MESSAGE: &[(&str, &str)] = &[
    ("MessageSid", "SMb3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8"),
    ("SmsSid", "SMb3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8"),
    ("SmsMessageSid", "SMb3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8"),
    ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("From", "+15558675310"),
    ("To", "+15017122661"),
    ("Body", "Hello from Twilio"),
    ("NumMedia", "0"),
    ("NumSegments", "1"),
    ("SmsStatus", "received"),
    ("ApiVersion", "2010-04-01"),
];
const CALL_STATUS: &[(&str, &str)] = &[
    ("CallSid", "CA5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"),
    ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("From", "+15558675310"),
    ("To", "+15017122661"),
    ("CallStatus", "completed"),
    ("Direction", "inbound"),
    ("CallDuration", "42"),
    ("ApiVersion", "2010-04-01"),
    ("CallbackSource", "call-progress-events"),
    ("SequenceNumber", "3"),
    ("Timestamp", "Wed, 21 Jan 2026 12:50:00 +0000"),
];

fn sample(kind: &str) -> Option<Value> {
    let pairs = match kind {
        "message_status" => MESSAGE_STATUS,
        "inbound_message" => INBOUND_MESSAGE,
        "call_status" => CALL_STATUS,
        _ => return None,
    };
    Some(Value::Object(
        pairs
            .iter()
            .map(|(name, value)| (String::from(*name), Value::String(String::from(*value))))
            .collect(),
    ))
}

/// The key is the SID (and status): a new SID is a new event.
fn identity(kind: &str, serial: u64) -> Value {
    let sid = alloc::format!(
        "{}{}",
        if kind == "call_status" { "CA" } else { "SM" },
        kit::uuid_like(kind, serial).replace('-', "")
    );
    match kind {
        "call_status" => serde_json::json!({"CallSid": sid}),
        _ => serde_json::json!({"MessageSid": sid, "SmsSid": sid}),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::rfc2822_seconds;

    #[test]
    fn the_url_a_mismatch_names_never_shows_a_configured_value() {
        let token = "twilio-auth-TOKEN-5f1c";
        let credentials = Credentials::none().with_auth_token(token);
        for url in [
            alloc::format!("https://hooks.example.com/hook?{token}"),
            alloc::format!("https://hooks.example.com/{token}/hook?a=1"),
            String::from("https://hooks.example.com/hook?twilio%2Dauth%2DTOKEN%2D5f1c"),
        ] {
            let mut request =
                WebhookRequest::post(alloc::vec![(HEADER.into(), "A".repeat(27) + "=")], "Body=x");
            request.url = Some(url);
            let error = verify(&request, &credentials, 0).unwrap_err();
            let shown = alloc::format!("{error} {error:?}");
            assert_eq!(error.code(), "signature_mismatch");
            assert!(!shown.contains(token), "{shown}");
            assert!(!shown.contains("%2Dauth"), "{shown}");
        }
    }

    #[test]
    fn url_forms_are_the_validators_ones() {
        let url = "https://user:pass@example.com/path?test=param'x";
        let forms = other_url_forms(url);
        assert!(forms.contains(&String::from(
            "https://user:pass@example.com:443/path?test=param%27x"
        )));
        assert!(!forms.iter().any(|form| form == url));
        assert!(forms.len() <= 8);
        let forms = other_url_forms("http://[::1]:8080/p");
        assert!(forms.contains(&String::from("http://[::1]/p")));
        assert_eq!(
            shown_url("https://u:p@h.example/p?token=1&b=2"),
            "https://h.example/p?token=…&b=…"
        );
    }

    #[test]
    fn a_mismatch_names_the_urls_checked_without_query_values() {
        let request = WebhookRequest {
            method: String::from("POST"),
            url: Some(String::from("/sms?key=s3cret-value")),
            headers: alloc::vec![
                (String::from("Host"), String::from("127.0.0.1:8000")),
                (
                    String::from(HEADER),
                    String::from("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
                ),
            ],
            body: b"a=b".to_vec().into(),
        };
        let credentials = Credentials::none().with_auth_token("12345");
        let error = verify(&request, &credentials, 0).unwrap_err();
        assert_eq!(error.code(), "signature_mismatch");
        let text = alloc::string::ToString::to_string(&error);
        assert!(text.contains("https://127.0.0.1:8000/sms?key=…"), "{text}");
        assert!(text.contains("or http://127.0.0.1:8000/sms?key=…"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn voice_timestamps_read_as_rfc_2822() {
        assert_eq!(
            rfc2822_seconds("Wed, 21 Jan 2026 12:53:20 +0000"),
            Some(1_769_000_000)
        );
        assert_eq!(
            rfc2822_seconds("21 Jan 2026 13:53:20 +0100"),
            Some(1_769_000_000)
        );
        for bad in ["", "Wed, 32 Jan 2026 12:53:20 +0000", "21 Foo 2026 1:2:3", "21 Jan 2026 12:53:20 +00"] {
            assert_eq!(rfc2822_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_settings_header_names_the_algorithm_strictly() {
        for (text, algorithm) in [
            ("key=,algorithm=HMAC_SHA256", Algorithm::HmacSha256),
            ("key=KS0123,algorithm=HMAC_SHA256", Algorithm::HmacSha256),
            (" Algorithm = hmac_sha1 , key = ks ", Algorithm::HmacSha1),
            ("algorithm=HMAC_SHA256,future=1", Algorithm::HmacSha256),
            ("key=a=b,algorithm=HMAC_SHA256", Algorithm::HmacSha256),
        ] {
            assert_eq!(settings_algorithm(text), Ok(algorithm), "{text}");
        }
        let long = alloc::format!("algorithm=HMAC_SHA256,key={}", "k".repeat(300));
        let many = "a=1,".repeat(8) + "algorithm=HMAC_SHA256";
        for text in [
            "",
            "key=",
            "algorithm",
            "HMAC_SHA256",
            "algorithm=HMAC_SHA256,",
            "=x,algorithm=HMAC_SHA256",
            "algorithm=HMAC_SHA256,algorithm=HMAC_SHA1",
            "key=a,key=b,algorithm=HMAC_SHA256",
            long.as_str(),
            many.as_str(),
        ] {
            let error = settings_algorithm(text).unwrap_err();
            assert_eq!(error.code(), "invalid_signature_format", "{text}");
            assert!(error.to_string().contains(SETTINGS_HEADER));
        }
        for text in [
            "algorithm=HMAC_SHA512-s3cret",
            "algorithm=",
            "algorithm=RSA_SHA256",
            "algorithm=HMAC_SHA256;key=x",
        ] {
            let error = settings_algorithm(text).unwrap_err();
            assert_eq!(error.code(), "unsupported_signature_algorithm", "{text}");
            let message = error.to_string();
            assert!(message.contains(SETTINGS_HEADER), "{message}");
            assert!(message.contains("HMAC_SHA256"), "{message}");
            assert!(!message.contains("s3cret") && !message.contains("RSA"), "{message}");
        }
    }

    fn shared_key_request(key: &str, settings: Option<&str>, sha256: bool) -> WebhookRequest {
        let url = "https://hooks.example.com/sms";
        let parts: [&[u8]; 2] = [url.as_bytes(), b"ab"];
        let signature = if sha256 {
            base64::engine::general_purpose::STANDARD
                .encode(scheme::hmac::sha256_parts(key.as_bytes(), &parts))
        } else {
            base64::engine::general_purpose::STANDARD
                .encode(scheme::hmac::sha1(key.as_bytes(), &parts))
        };
        let mut headers = alloc::vec![(String::from(HEADER), signature)];
        if let Some(settings) = settings {
            headers.push((String::from(SETTINGS_HEADER), String::from(settings)));
        }
        WebhookRequest {
            method: String::from("POST"),
            url: Some(String::from(url)),
            headers,
            body: b"a=b".to_vec().into(),
        }
    }

    #[test]
    fn the_settings_header_alone_decides_the_key() {
        let both = Credentials::none()
            .with_auth_token("auth-token")
            .with_shared_key("old-shared")
            .with_shared_key("shared-key");
        let sha256 = Some("key=,algorithm=HMAC_SHA256");
        let sha1 = Some("key=KS1,algorithm=HMAC_SHA1");
        let code = |request: &WebhookRequest, credentials: &Credentials| {
            verify(request, credentials, 0).map_err(|e| e.code())
        };
        // The shared keys (either, rotation) with the algorithm named; the Auth Token without.
        assert_eq!(code(&shared_key_request("shared-key", sha256, true), &both), Ok(()));
        assert_eq!(code(&shared_key_request("old-shared", sha1, false), &both), Ok(()));
        assert_eq!(code(&shared_key_request("auth-token", None, false), &both), Ok(()));
        // Never the other key: no downgrade to the Auth Token, no shared key without the header.
        for request in [
            shared_key_request("auth-token", sha256, true),
            shared_key_request("auth-token", sha1, false),
            shared_key_request("shared-key", None, false),
        ] {
            assert_eq!(code(&request, &both), Err("signature_mismatch"));
        }
        // The algorithm's length: a SHA-1 signature under HMAC_SHA256, and the reverse.
        assert_eq!(
            code(&shared_key_request("shared-key", sha256, false), &both),
            Err("invalid_signature_format")
        );
        assert_eq!(
            code(&shared_key_request("shared-key", None, true), &both),
            Err("invalid_signature_format")
        );
        // The key the request asks for is not configured: the receiver's misconfiguration.
        let auth_only = Credentials::none().with_auth_token("auth-token");
        let error = verify(&shared_key_request("shared-key", sha256, true), &auth_only, 0)
            .unwrap_err();
        assert_eq!(error.code(), "missing_credentials");
        assert_eq!(error.kind(), crate::ErrorKind::Configuration);
        assert!(error.to_string().contains("shared_key"), "{error}");
        let shared_only = Credentials::none().with_shared_key("shared-key");
        assert_eq!(code(&shared_key_request("shared-key", sha256, true), &shared_only), Ok(()));
        let error = verify(&shared_key_request("auth-token", None, false), &shared_only, 0)
            .unwrap_err();
        assert_eq!(error.code(), "missing_credentials");
        assert!(error.to_string().contains("auth_token"), "{error}");
        // A receiver with only a shared key is a complete configuration (its probe is unsigned).
        assert_eq!(crate::check_configuration(Some(Provider::Twilio), &shared_only), Ok(()));
    }

    #[test]
    fn params_sort_by_name_then_distinct_value() {
        assert_eq!(
            signed_params(b"b=2&a=2&a=1&a=2&c"),
            "a1a2b2c"
        );
    }
}
