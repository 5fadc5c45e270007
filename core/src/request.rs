//! The HTTP request as the receiver saw it: method, URL, headers and the raw body bytes.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Default cap on the body size: generous for webhooks (the largest documented payload is a
/// few KB) while keeping a flood of large bodies from costing memory and CPU.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Limits applied before any work is done on a request, and the URL the provider called.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// Bodies (and declared Content-Lengths) above this are refused with `body_too_large`.
    pub max_body_bytes: usize,
    /// The URL the provider calls, as configured at the provider (`https://hooks.example.com/sms`,
    /// no query), for a provider that signs the URL (Twilio; twilio-node's `url` option): the
    /// request's query is appended to it, its own scheme, host, port and path are not used.
    /// Needed behind a reverse proxy or TLS terminator, where the receiver sees another URL
    /// than the provider called.
    pub public_url: Option<String>,
    /// Read the public scheme, host and port from `X-Forwarded-Proto`, `-Host` and `-Port`
    /// (their first value). Only when every request passes a proxy that sets them: a client
    /// could set them itself otherwise. `public_url`, when set, wins.
    pub trust_forwarded_headers: bool,
}

/// `public_url` may carry credentials (`https://user:password@host/sms`, a Twilio URL with
/// HTTP authentication, which Twilio signs with them): Debug shows it with the password
/// replaced, as every output does.
impl core::fmt::Debug for Options {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let public_url = self
            .public_url
            .as_deref()
            .map(|url| crate::redact::redact_userinfo(url).unwrap_or_else(|| String::from(url)));
        f.debug_struct("Options")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("public_url", &public_url)
            .field("trust_forwarded_headers", &self.trust_forwarded_headers)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            public_url: None,
            trust_forwarded_headers: false,
        }
    }
}

impl Options {
    /// Options from their JSON form; `null` (or a `null` field) means the default. Every
    /// mistake is an `invalid_option` naming the option and what it takes, never its value:
    /// an unknown name (a typo such as `max_body`), a cap that is not a whole number of at
    /// least 1 (`-1`, `"1mb"`, `1.5`), or options that are not an object.
    pub fn from_json_value(value: serde_json::Value) -> Result<Options> {
        let mut options = Options::default();
        let map = match value {
            serde_json::Value::Null => return Ok(options),
            serde_json::Value::Object(map) => map,
            _ => {
                return Err(invalid_option(
                    "options",
                    "an object such as {\"max_body_bytes\": 1048576}",
                ))
            }
        };
        for (name, value) in &map {
            match name.as_str() {
                // A zero cap refuses every delivery with a 413, which Lisoloo takes as "drop
                // the event": refused when the receiver is built instead.
                "max_body_bytes" => {
                    if let Some(bytes) = positive_option(name, value, MAX_BODY_BYTES_EXPECTED)? {
                        options.max_body_bytes = usize::try_from(bytes)
                            .map_err(|_| invalid_option(name, MAX_BODY_BYTES_EXPECTED))?;
                    }
                }
                "public_url" => match value {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(url) if is_base_url(url) => {
                        options.public_url = Some(url.clone());
                    }
                    _ => return Err(invalid_option(name, PUBLIC_URL_EXPECTED)),
                },
                "trust_forwarded_headers" => match value {
                    serde_json::Value::Null => {}
                    serde_json::Value::Bool(trust) => options.trust_forwarded_headers = *trust,
                    _ => return Err(invalid_option(name, "true or false")),
                },
                _ => {
                    return Err(invalid_option(
                        name,
                        "a known option: max_body_bytes, public_url, trust_forwarded_headers",
                    ))
                }
            }
        }
        Ok(options)
    }

    /// The checks of [`Options::from_json_value`], for options built as a Rust struct: run
    /// before each request, so that a zero cap or an unusable `public_url` is a 500
    /// (`invalid_option`, retried) and never a 413 or 401, which Lisoloo takes as "drop".
    pub fn check(&self) -> Result<()> {
        if self.max_body_bytes == 0 {
            return Err(invalid_option("max_body_bytes", MAX_BODY_BYTES_EXPECTED));
        }
        match &self.public_url {
            Some(url) if !is_base_url(url) => {
                Err(invalid_option("public_url", PUBLIC_URL_EXPECTED))
            }
            _ => Ok(()),
        }
    }
}

const MAX_BODY_BYTES_EXPECTED: &str = "an integer of at least 1 (bytes; default 1048576)";
const PUBLIC_URL_EXPECTED: &str =
    "an http(s) URL without query, fragment or whitespace (a line's end read with it?), such as \"https://hooks.example.com/sms\"";

/// `http(s)://host[:port][/prefix]`, nothing after the path. No whitespace or control byte
/// anywhere: a URL read from a file or `.env` with its line's end would sign no Twilio
/// delivery, each refused 401 as if forged (Twilio does not retry), under an error showing a
/// URL that looks right.
fn is_base_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    matches!(rest, Some(rest) if !rest.is_empty()
        && !rest.starts_with('/')
        && !rest.bytes().any(|b| matches!(b, b'?' | b'#') || b.is_ascii_whitespace() || b.is_ascii_control()))
}

impl Options {
    /// The request with its URL as the provider called it, when an option says so: the
    /// request's query after `public_url`, or its path and query after the `X-Forwarded-*`
    /// scheme, host and port when those are trusted. Borrowed (no copy) when no option applies.
    pub fn public_request<'a>(
        &self,
        request: &'a WebhookRequest,
    ) -> Result<alloc::borrow::Cow<'a, WebhookRequest>> {
        use alloc::borrow::Cow;
        if self.public_url.is_none() && !self.trust_forwarded_headers {
            return Ok(Cow::Borrowed(request));
        }
        let url = request.url.as_deref().unwrap_or("/");
        let path = path_and_query(url);
        let public = if let Some(public_url) = &self.public_url {
            match path.split_once('?') {
                Some((_, query)) => alloc::format!("{public_url}?{query}"),
                None => public_url.clone(),
            }
        } else {
            // Each header's first value: of its first line, whether a proxy chain appended its
            // own value to the line (`https, http`) or sent it as a line of its own (as hyper
            // hands repeated headers over). Not the ambiguity check of `header`: that made a
            // second line a 401 for every provider, Lisoloo's (dropped) among them.
            let first = |name: &str| -> Result<Option<String>> {
                Ok(request
                    .headers
                    .iter()
                    .find(|(header, _)| is_header_named(header, name))
                    .and_then(|(_, value)| value.split(',').next())
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty()))
            };
            let (own_scheme, own_host) = match url.split_once("://") {
                Some((scheme, rest)) => (
                    Some(scheme.to_owned()),
                    rest.split(['/', '?']).next().map(str::to_owned),
                ),
                None => (None, None),
            };
            // A scheme is case-insensitive (RFC 3986), and a provider signs it lower-case: a
            // proxy's `X-Forwarded-Proto: HTTPS` made every Twilio delivery a 401 (a review).
            let scheme = first("x-forwarded-proto")?
                .or(own_scheme)
                .map_or_else(|| "https".to_owned(), |scheme| scheme.to_ascii_lowercase());
            let Some(mut host) = first("x-forwarded-host")?.or(own_host).or(first("host")?) else {
                return Ok(Cow::Borrowed(request));
            };
            if let Some(port) = first("x-forwarded-port")? {
                let host_part = host.rsplit('@').next().unwrap_or_default();
                let has_port = host_part
                    .rfind(':')
                    .is_some_and(|at| host_part.rfind(']').map_or(true, |b| b < at));
                if !has_port && port.bytes().all(|b| b.is_ascii_digit()) {
                    host = alloc::format!("{host}:{port}");
                }
            }
            alloc::format!("{scheme}://{host}{path}")
        };
        let mut rewritten = request.clone();
        rewritten.url = Some(public);
        Ok(Cow::Owned(rewritten))
    }
}

/// The path and query of a URL (absolute or not), starting with `/`; no fragment.
fn path_and_query(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let tail = match url.split_once("://") {
        Some((_, rest)) => rest
            .find(['/', '?'])
            .and_then(|at| rest.get(at..))
            .unwrap_or(""),
        None => url,
    };
    if tail.starts_with('/') {
        tail.to_owned()
    } else {
        alloc::format!("/{tail}")
    }
}

/// `invalid_option` for `option` (as the caller spelled it).
pub(crate) fn invalid_option(option: &str, expected: &'static str) -> Error {
    Error::InvalidOption {
        option: option.to_owned(),
        expected,
    }
}

/// An option that is a whole number of at least 1, or `null` for its default: anything else
/// (a negative, fractional or text value, a boolean) is `invalid_option` with `expected`.
pub(crate) fn positive_option(
    option: &str,
    value: &serde_json::Value,
    expected: &'static str,
) -> Result<Option<u64>> {
    match value {
        serde_json::Value::Null => Ok(None),
        _ => match value.as_u64() {
            Some(number) if number >= 1 => Ok(Some(number)),
            _ => Err(invalid_option(option, expected)),
        },
    }
}

/// The methods a receiver accepts: a few upper-case names, in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodSet {
    pub get: bool,
    pub post: bool,
}

impl MethodSet {
    pub fn of(methods: &[&str]) -> MethodSet {
        let mut set = MethodSet {
            get: false,
            post: false,
        };
        set.add(methods);
        set
    }

    pub(crate) fn add(&mut self, methods: &[&str]) {
        for method in methods {
            match *method {
                "GET" => self.get = true,
                "POST" => self.post = true,
                _ => {}
            }
        }
    }

    /// Whether `method` (any case, as Fetch upper-cases it) is one of them.
    pub fn allows(self, method: &str) -> bool {
        (self.post && method.eq_ignore_ascii_case("POST"))
            || (self.get && method.eq_ignore_ascii_case("GET"))
    }

    /// The `Allow` header's value.
    pub fn allow_header(self) -> &'static str {
        match (self.get, self.post) {
            (true, true) => "GET, POST",
            (true, false) => "GET",
            _ => "POST",
        }
    }
}

/// One received webhook request. Verification always runs on `body` exactly as received.
/// Its `Debug` shows no credential: see the `impl` below.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub method: String,
    /// The request URL (absolute or path + query), as the provider called it: needed for
    /// URL-token verification, Twilio's signature (over the URL) and GET query parameters.
    pub url: Option<String>,
    /// Header pairs in arrival order; names compare case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The raw bytes (a `Vec<u8>` converts with `.into()`; reads as `&[u8]`).
    pub body: Body,
}

/// A request's raw body: bytes it owns, or bytes it shares with their owner. Shared, a body
/// is not copied: the Python binding hands over the `bytes` object it was given, where a copy
/// was a third of a 64 KiB call's peak memory (body copy, its parse, the event's text).
#[derive(Clone, Default)]
pub struct Body(Bytes);

#[derive(Clone)]
enum Bytes {
    Owned(Vec<u8>),
    Shared(alloc::sync::Arc<dyn AsRef<[u8]> + Send + Sync>),
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Owned(Vec::new())
    }
}

impl Body {
    /// A body whose bytes stay with `owner` (read through `AsRef<[u8]>`, never copied).
    pub fn shared(owner: alloc::sync::Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        Body(Bytes::Shared(owner))
    }

    /// The bytes as a `Vec` (copied when shared).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Bytes::Owned(bytes) => bytes,
            Bytes::Shared(owner) => (*owner).as_ref().to_vec(),
        }
    }
}

impl core::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Bytes::Owned(bytes) => bytes,
            Bytes::Shared(owner) => (**owner).as_ref(),
        }
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body(Bytes::Owned(bytes))
    }
}

impl From<Body> for Vec<u8> {
    fn from(body: Body) -> Self {
        body.into_vec()
    }
}

impl From<&[u8]> for Body {
    fn from(bytes: &[u8]) -> Self {
        Body(Bytes::Owned(bytes.to_vec()))
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Body {}

impl PartialEq<[u8]> for Body {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<Vec<u8>> for Body {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

/// The length only: a body can carry a credential or a person's data.
impl core::fmt::Debug for Body {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Body({} bytes)", self.len())
    }
}

/// `text.trim()`, answered at once when both ends are visible ASCII: `str::trim` decodes a
/// char at each end through a generic searcher, and header values, signatures, numbers and
/// times are trimmed on every request (perf: 2 % of a LimePhone call).
pub(crate) fn trimmed(text: &str) -> &str {
    let visible = |byte: Option<&u8>| byte.is_some_and(|b| b.is_ascii_graphic());
    if visible(text.as_bytes().first()) && visible(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

/// Whether a received header name (`key`, untrimmed) is `name` (trimmed), ignoring ASCII
/// case: `key.trim().eq_ignore_ascii_case(name)`, without trimming the names that cannot match
/// by their length (a detection looks for a dozen names among every header of a request:
/// callgrind, 2 k instructions of a LimePhone call in `trim`).
pub(crate) fn is_header_named(key: &str, name: &str) -> bool {
    match key.len().cmp(&name.len()) {
        core::cmp::Ordering::Less => false,
        core::cmp::Ordering::Equal => key.eq_ignore_ascii_case(name),
        core::cmp::Ordering::Greater => trimmed(key).eq_ignore_ascii_case(name),
    }
}

/// `text` split at each of the ASCII bytes `separators` (as `str::split` with a char array),
/// searched as bytes: `str::split` decodes every char, 15 instructions each (callgrind, a
/// signature header split for its entries).
pub(crate) fn split_at_ascii<'a>(
    text: &'a str,
    separators: &'static [u8],
) -> impl Iterator<Item = &'a str> + Clone {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        let bytes = current.as_bytes();
        // memchr's searchers for up to three separators (a 64-hex signature header: the byte
        // loop was 2.7 % of a GatewayAPI call's wall clock).
        let found = match *separators {
            [one] => memchr::memchr(one, bytes),
            [one, two] => memchr::memchr2(one, two, bytes),
            [one, two, three] => memchr::memchr3(one, two, three, bytes),
            _ => bytes.iter().position(|byte| separators.contains(byte)),
        };
        match found {
            Some(at) => {
                // `at` is an ASCII byte's index, so a char boundary.
                let (piece, tail) = current.split_at(at);
                rest = tail.get(1..);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

impl WebhookRequest {
    /// A POST with the given headers and body.
    pub fn post(headers: Vec<(String, String)>, body: impl Into<Vec<u8>>) -> Self {
        WebhookRequest {
            method: "POST".to_owned(),
            url: None,
            headers,
            body: Body::from(body.into()),
        }
    }

    /// Whether the request declares a form body (`Content-Type:
    /// application/x-www-form-urlencoded`, parameters after `;` aside).
    pub(crate) fn declares_form(&self) -> Result<bool> {
        Ok(self.header("content-type")?.is_some_and(|value| {
            let media_type = value.split(';').next().unwrap_or_default().trim();
            media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }))
    }

    /// The value of a header, matched case-insensitively and trimmed.
    ///
    /// A header repeated with *different* values is an error rather than "first wins":
    /// proxies and frameworks disagree on which copy they keep, and that disagreement is a
    /// classic way to smuggle a second credential past a check.
    pub fn header(&self, name: &str) -> Result<Option<&str>> {
        let mut found: Option<&str> = None;
        for (key, value) in &self.headers {
            if is_header_named(key, name) {
                for value in header_lines(name, value) {
                    let value = trimmed(value);
                    match found {
                        Some(previous) if previous != value => {
                            return Err(Error::AmbiguousHeader {
                                header: name.to_owned(),
                            })
                        }
                        _ => found = Some(value),
                    }
                }
            }
        }
        Ok(found)
    }

    /// The Authorization header, which the caller's scheme requires.
    pub fn authorization(&self) -> Result<&str> {
        self.header("authorization")?
            .ok_or(Error::MissingAuthorization)
    }

    /// Whether a header is present at all (value ignored).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(key, _)| is_header_named(key, name))
    }

    /// A percent-decoded query parameter of `url`; repeated with different values is an error.
    pub fn query_param(&self, name: &str) -> Result<Option<String>> {
        let Some(url) = self.url.as_deref() else {
            return Ok(None);
        };
        // A server never receives a fragment: whatever follows `#` (even a `?`) is not a query.
        let url = url.split('#').next().unwrap_or_default();
        let Some((_, query)) = url.split_once('?') else {
            return Ok(None);
        };
        let mut found: Option<String> = None;
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if decode_component(key) != name {
                continue;
            }
            let value = decode_component(value);
            match &found {
                Some(previous) if *previous != value => {
                    return Err(Error::AmbiguousHeader {
                        header: alloc::format!("?{name}"),
                    })
                }
                _ => found = Some(value),
            }
        }
        Ok(found)
    }

    pub(crate) fn check_method(&self, methods: MethodSet) -> Result<()> {
        // The Fetch standard upper-cases "post" before a Worker sees it, so every runtime
        // reads the method case-insensitively, as Fetch does, to answer the same everywhere.
        if methods.allows(&self.method) {
            Ok(())
        } else {
            Err(Error::MethodNotAllowed)
        }
    }

    pub(crate) fn check_size(&self, limit: usize) -> Result<()> {
        if self.body.len() > limit {
            return Err(Error::BodyTooLarge {
                limit,
                actual: self.body.len(),
            });
        }
        self.check_declared_size(limit)
    }

    /// The declared `Content-Length`: ASCII digits only (`u64::from_str` would also take a
    /// leading `+`), as Node and Python read it before the body; anything else is no declared
    /// length at all.
    pub(crate) fn declared_length(&self) -> Result<Option<u64>> {
        Ok(self.header("content-length")?.and_then(|declared| {
            let digits = declared.trim();
            digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<u64>().ok())
                .flatten()
        }))
    }

    /// The declared `Content-Length` against the cap, before any of the body is read.
    pub(crate) fn check_declared_size(&self, limit: usize) -> Result<()> {
        // A declared length over the cap is refused too: a receiver that streams the body can
        // call telhook before reading it, and a lying Content-Length must not buy an exemption.
        match self.declared_length()? {
            Some(declared) if declared > limit as u64 => Err(Error::BodyTooLarge {
                limit,
                actual: usize::try_from(declared).unwrap_or(usize::MAX),
            }),
            _ => Ok(()),
        }
    }
}

/// The lines a header value stands for. Fetch's `Headers` (Workers, Deno, Bun, Node's fetch)
/// and most Python servers join a repeated header into one value, `a, b`, where node:http
/// keeps both lines. An `Authorization` value that is a comma-separated list of `scheme
/// token68` credentials (RFC 9110 §11.4: Basic, Bearer, a JWT) is not one credential under
/// the grammar, only such a join: it is read as its lines, so every runtime sees the same
/// repeated header (two different credentials are `ambiguous_header`, the same one twice is
/// one). Any other comma (auth-params, a LoopLookup dashboard value) is left whole.
fn header_lines<'a>(name: &str, value: &'a str) -> HeaderLines<'a> {
    let joined = name.eq_ignore_ascii_case("authorization")
        && value.contains(',')
        && value.split(',').all(is_one_credential);
    if joined {
        HeaderLines::Joined(value.split(','))
    } else {
        HeaderLines::One(Some(value))
    }
}

/// [`header_lines`] without an allocation on the per-request path.
enum HeaderLines<'a> {
    One(Option<&'a str>),
    Joined(core::str::Split<'a, char>),
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        match self {
            HeaderLines::One(value) => value.take(),
            HeaderLines::Joined(lines) => lines.next(),
        }
    }
}

fn is_one_credential(text: &str) -> bool {
    let Some((scheme, token)) = text.trim().split_once(' ') else {
        return false;
    };
    let token = token.trim_start().trim_end_matches('=');
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+.^_`|~-".contains(c);
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
    !scheme.is_empty()
        && scheme.chars().all(tchar)
        && !token.is_empty()
        && token.chars().all(token68)
}

/// Percent-decoding only: `+` stays `+`. Reading it as a space (the HTML-form convention) would
/// refuse every token that contains a `+` and accept a forged `+` for a configured space.
/// Requests end up in logs and panic messages: `Debug` keeps the shape (method, path, query
/// names, header names, body size) and hides every value that can carry a credential or a
/// person's data — query values, URL userinfo, the fragment, the body, and every header value
/// but those of a few headers that never hold either (content type, length and encoding, the
/// user agent, the host, a timestamp): a name-based secret rule let `X-Webhook-Password` and
/// `X-Forwarded-For` through (a review).
impl core::fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct Url<'a>(&'a str);
        impl core::fmt::Debug for Url<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let url = self.0.split('#').next().unwrap_or_default();
                let (path, query) = url.split_once('?').unwrap_or((url, ""));
                let path = match path.split_once("://") {
                    Some((scheme, rest)) => {
                        let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                        let host = authority.rsplit('@').next().unwrap_or_default();
                        f.write_str(scheme)?;
                        f.write_str("://")?;
                        if authority.contains('@') {
                            f.write_str("[REDACTED]@")?;
                        }
                        f.write_str(host)?;
                        tail
                    }
                    None => path,
                };
                f.write_str(path)?;
                for (index, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
                    let name = pair.split('=').next().unwrap_or_default();
                    f.write_str(if index == 0 { "?" } else { "&" })?;
                    f.write_str(name)?;
                    f.write_str("=[REDACTED]")?;
                }
                Ok(())
            }
        }
        struct Headers<'a>(&'a [(String, String)]);
        impl core::fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(name, value)| {
                        let shown = if is_plain_header(name) {
                            value.as_str()
                        } else {
                            "[REDACTED]"
                        };
                        (name.as_str(), shown)
                    }))
                    .finish()
            }
        }
        struct Size(usize);
        impl core::fmt::Debug for Size {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "<{} bytes>", self.0)
            }
        }
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_deref().map(Url))
            .field("headers", &Headers(&self.headers))
            .field("body", &Size(self.body.len()))
            .finish()
    }
}

/// Headers whose value `Debug` shows: they describe the message, never a credential or a
/// person (an allowlist: any other header may be either).
fn is_plain_header(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    matches!(
        name.as_str(),
        "content-type"
            | "content-length"
            | "content-encoding"
            | "transfer-encoding"
            | "user-agent"
            | "host"
    ) || name.ends_with("timestamp")
}

fn decode_component(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The request as JSON, the form used by the conformance vectors, the CLI and the bindings:
/// `{method?, url?, headers: {name: value} | [[name, value], ...], body? | body_base64?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    #[serde(default = "default_method")]
    method: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: WireHeaders,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
}

fn default_method() -> String {
    "POST".to_owned()
}

#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
enum WireHeaders {
    #[default]
    None,
    Map(serde_json::Map<String, serde_json::Value>),
    Pairs(Vec<(String, String)>),
}

impl WebhookRequest {
    /// Builds a request from its JSON form: `{method?, url?, headers: {name: value} |
    /// [[name, value], ...], body? | body_base64?}`.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self> {
        let wire: WireRequest =
            serde_json::from_value(value).map_err(|e| Error::InvalidRequest {
                reason: without_request_values(&e),
            })?;
        let headers = match wire.headers {
            WireHeaders::None => Vec::new(),
            WireHeaders::Pairs(pairs) => pairs,
            WireHeaders::Map(map) => {
                let mut headers = Vec::with_capacity(map.len());
                for (name, value) in map {
                    match value {
                        serde_json::Value::String(s) => headers.push((name, s)),
                        // A list value stands for a repeated header.
                        serde_json::Value::Array(items) => {
                            for item in items {
                                let serde_json::Value::String(s) = item else {
                                    return Err(header_type_error());
                                };
                                headers.push((name.clone(), s));
                            }
                        }
                        _ => return Err(header_type_error()),
                    }
                }
                headers
            }
        };
        let body = match (wire.body, wire.body_base64) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidRequest {
                    reason: "give either body or body_base64, not both".to_owned(),
                })
            }
            (Some(text), None) => text.into_bytes(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| Error::InvalidRequest {
                    reason: "body_base64 is not valid base64".to_owned(),
                })?,
            (None, None) => Vec::new(),
        };
        Ok(WebhookRequest {
            method: wire.method,
            url: wire.url,
            headers,
            body: body.into(),
        })
    }

    /// The JSON form (`headers` as pairs, `body_base64`): the inverse of [`Self::from_json_value`].
    pub fn to_json_value(&self) -> serde_json::Value {
        let headers: Vec<serde_json::Value> = self
            .headers
            .iter()
            .map(|(name, value)| serde_json::json!([name, value]))
            .collect();
        serde_json::json!({
            "method": self.method,
            "url": self.url,
            "headers": headers,
            "body_base64": base64::engine::general_purpose::STANDARD.encode(&self.body),
        })
    }

    /// Builds a request from its JSON text form.
    pub fn from_json_slice(json: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| Error::InvalidRequest {
                reason: alloc::format!("{e}"),
            })?;
        Self::from_json_value(value)
    }
}

impl WebhookRequest {
    /// Parses a request captured off the wire: request line, headers, blank line, body.
    /// Accepts CRLF or bare LF line ends; a chunked body is de-chunked.
    pub fn from_http1(bytes: &[u8]) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidRequest {
            reason: reason.to_owned(),
        };
        let (head, body) =
            split_head(bytes).ok_or_else(|| invalid("no blank line after the headers"))?;
        let head = core::str::from_utf8(head).map_err(|_| invalid("request head is not UTF-8"))?;
        let mut lines = head.lines().map(|l| l.trim_end_matches('\r'));
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("request line must be METHOD TARGET HTTP/1.x"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(invalid("only HTTP/1.x captures are supported"));
        }
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid("a header line lacks ':'"))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let mut request = WebhookRequest {
            method: method.to_owned(),
            url: Some(target.to_owned()),
            headers,
            body: body.into(),
        };
        if request
            .header("transfer-encoding")?
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            request.body = dechunk(body)
                .ok_or_else(|| invalid("malformed chunked body"))?
                .into();
        }
        Ok(request)
    }
}

fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (a, b) => a.or(b)?,
    };
    Some((bytes.get(..at)?, bytes.get(at + len..)?))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.iter().position(|&b| b == b'\n')?;
        let size_line = core::str::from_utf8(body.get(..line_end)?).ok()?;
        let size_text = size_line.trim().split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        body = body.get(line_end + 1..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size..)?;
        body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))?;
    }
}

fn header_type_error() -> Error {
    Error::InvalidRequest {
        reason: "header values must be strings".to_owned(),
    }
}

/// serde's message for a request that does not fit its JSON form, without the value it found
/// (`invalid type: integer `12345678`, expected a string` quotes the request): error text
/// never carries a value from the request.
fn without_request_values(error: &serde_json::Error) -> String {
    let text = alloc::format!("{error}");
    for (opening, what) in [
        ("invalid type: ", "a value of another type"),
        ("invalid value: ", "a value out of range"),
        ("invalid length ", "a list of another length"),
        ("unknown variant ", "an unknown name"),
    ] {
        if text.starts_with(opening) {
            let expected = text
                .find(", expected")
                .and_then(|at| text.get(at + 2..))
                .unwrap_or("");
            return alloc::format!("{what}, {expected}");
        }
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{is_header_named, split_at_ascii, trimmed, WebhookRequest};

    #[test]
    fn options_debug_never_shows_the_password_of_a_public_url() {
        let options = super::Options {
            public_url: Some("https://hook:s3cret-pw@hooks.example.com/sms".into()),
            ..super::Options::default()
        };
        let shown = alloc::format!("{options:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("https://hook:"), "{shown}");
        assert!(shown.contains("@hooks.example.com/sms"), "{shown}");
    }

    #[test]
    fn a_public_url_with_whitespace_or_a_control_byte_is_refused() {
        for url in [
            "https://hooks.example.com/sms\n",
            "https://hooks.example.com/sms\r\n",
            "https://hooks.example.com/sms\t",
            " https://hooks.example.com/sms",
            "https://hooks.example.com/s ms",
            "https://hooks.example.com/sms\u{0}",
        ] {
            let options = super::Options {
                public_url: Some(url.into()),
                ..super::Options::default()
            };
            let error = options.check().unwrap_err();
            assert_eq!(error.code(), "invalid_option", "{url:?}");
            assert!(alloc::format!("{error}").contains("public_url"), "{url:?}");
            let json = serde_json::json!({ "public_url": url });
            assert!(super::Options::from_json_value(json).is_err(), "{url:?}");
        }
        let fine = super::Options {
            public_url: Some("https://hooks.example.com/sms".into()),
            ..super::Options::default()
        };
        assert!(fine.check().is_ok());
    }

    #[test]
    fn forwarded_headers_read_the_first_value_of_a_repeated_header_as_of_a_joined_one() {
        let options = super::Options {
            trust_forwarded_headers: true,
            ..super::Options::default()
        };
        let request = |headers: &[(&str, &str)]| WebhookRequest {
            method: "POST".into(),
            url: Some("/hooks/sms?x=1".into()),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
            body: Vec::new().into(),
        };
        let joined = request(&[
            ("Host", "internal:8080"),
            ("X-Forwarded-Proto", "https, http"),
            ("X-Forwarded-Host", "hooks.example.com"),
        ]);
        let lines = request(&[
            ("Host", "internal:8080"),
            ("X-Forwarded-Proto", "https"),
            ("x-forwarded-proto", "http"),
            ("X-Forwarded-Host", "hooks.example.com"),
            ("X-Forwarded-Host", "proxy.internal"),
        ]);
        // A scheme spelled upper-case by the proxy is the same scheme, signed lower-case.
        let upper = request(&[
            ("Host", "internal:8080"),
            ("X-Forwarded-Proto", "HTTPS"),
            ("X-Forwarded-Host", "hooks.example.com"),
        ]);
        for request in [joined, lines, upper] {
            let public = options.public_request(&request).unwrap();
            assert_eq!(
                public.url.as_deref(),
                Some("https://hooks.example.com/hooks/sms?x=1")
            );
        }
    }

    #[test]
    fn a_request_of_the_wrong_json_shape_is_refused_without_quoting_its_values() {
        let error = WebhookRequest::from_json_value(serde_json::json!({
            "method": 12_345_678, "headers": {}, "body": ""
        }))
        .unwrap_err();
        assert_eq!(error.code(), "invalid_request");
        let text = alloc::format!("{error}");
        assert!(!text.contains("12345678"), "{text}");
        assert!(text.contains("expected a string"), "{text}");
    }

    #[test]
    fn trimmed_is_str_trim() {
        for text in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{a0}a",
            "a\u{2003}",
            "é",
            " é ",
            "a b",
            "\ta\n",
        ] {
            assert_eq!(trimmed(text), text.trim(), "{text:?}");
        }
    }
    use alloc::vec::Vec;

    #[test]
    fn splits_at_ascii_bytes_as_str_split_does() {
        for text in ["", ",", "v1=a, v1=b", " a,,b ", "é,à b", "abc"] {
            let mine: Vec<&str> = split_at_ascii(text, b", ").collect();
            let std: Vec<&str> = text.split([',', ' ']).collect();
            assert_eq!(mine, std, "{text:?}");
        }
    }

    #[test]
    fn header_names_compare_trimmed_and_ignoring_ascii_case() {
        for (key, name, expected) in [
            ("X-Sig", "x-sig", true),
            (" X-Sig\t", "x-sig", true),
            ("\u{a0}X-Sig", "x-sig", true),
            ("X-Sig2", "x-sig", false),
            ("X-Si", "x-sig", false),
            ("X Sig", "x-sig", false),
            ("", "x-sig", false),
        ] {
            assert_eq!(is_header_named(key, name), expected, "{key:?}");
            assert_eq!(key.trim().eq_ignore_ascii_case(name), expected, "{key:?}");
        }
    }
}
