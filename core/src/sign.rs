//! The sending side, for tests: the complete request a provider would send for a body, signed
//! with every authentication scheme the receiver configured, and the forgeries a receiver must
//! refuse. Each provider's file says which schemes it uses and how it applies them; this module
//! holds what they share. The primitives are the ones verification uses (`verify::hmac`,
//! `verify::jwt`, `verify::basic`), so a signature made here is checked by the same code.
//! Secret bytes are read here and in `verify/` only: the providers' files go through the
//! helpers below.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::credentials::{Credentials, Secret};
use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::providers::{parse_json_object, spec};
use crate::request::WebhookRequest;

pub use crate::kit::Scheme;

/// The schemes `provider` authenticates deliveries with, in the order `sign` applies them.
pub fn schemes(provider: Provider) -> &'static [Scheme] {
    spec(provider).schemes
}

/// The request `provider` would send with `body`: POST to `/` (plus the URL token's query),
/// the provider's headers, and the credentials of `scheme` — or, when `scheme` is `None`, of
/// every scheme of the provider that `credentials` configures (LimePhone checks each one that
/// is configured, so a request signed for a receiver must carry them all). The first value
/// of each configured list is used: after a rotation, put the new secret first.
///
/// ```
/// use telhook_core::{normalize_event, sign::sign, Credentials, Provider};
///
/// let credentials = Credentials::none().with_hmac_sha256("whsec").with_bearer("token");
/// let body = telhook_core::sample::sample(Provider::LimePhone, "sms_received", &serde_json::Value::Null).unwrap();
/// let request = sign(Provider::LimePhone, &body, &credentials, 1_769_000_000, None).unwrap();
/// let event = normalize_event(Some(Provider::LimePhone), &request, &credentials, 1_769_000_000).unwrap();
/// assert_eq!(event.provider_event_type, "sms_received");
/// ```
pub fn sign(
    provider: Provider,
    body: &[u8],
    credentials: &Credentials,
    now: i64,
    scheme: Option<Scheme>,
) -> Result<WebhookRequest> {
    credentials.validate()?;
    let credentials = own_credentials(provider, credentials)?;
    let chosen = chosen_schemes(provider, credentials, scheme)?;
    let mut request = unsigned(provider, body);
    for scheme in chosen {
        apply(provider, scheme, &mut request, credentials, now)?;
    }
    Ok(request)
}

/// [`sign`] for the request sent to `url`, the receiver's full URL: what a provider that signs
/// the URL it calls (Twilio) signs. [`target_url`] then sends it to that very URL.
pub fn sign_for_url(
    provider: Provider,
    body: &[u8],
    credentials: &Credentials,
    now: i64,
    scheme: Option<Scheme>,
    url: &str,
) -> Result<WebhookRequest> {
    let mut request = unsigned(provider, body);
    request.url = Some(url.to_owned());
    sign_request(provider, request, credentials, now, scheme)
}

/// [`sign`] for a request of your own (its method, URL and headers kept): for a provider that
/// signs the URL it calls (Twilio), give the URL the receiver is reached at.
pub fn sign_request(
    provider: Provider,
    mut request: WebhookRequest,
    credentials: &Credentials,
    now: i64,
    scheme: Option<Scheme>,
) -> Result<WebhookRequest> {
    credentials.validate()?;
    let credentials = own_credentials(provider, credentials)?;
    for scheme in chosen_schemes(provider, credentials, scheme)? {
        apply(provider, scheme, &mut request, credentials, now)?;
    }
    Ok(request)
}

/// How a signed request's parameters travel: as the provider's usual body (JSON, or Twilio's
/// form), or — for a provider that also sends them so, like Vonage's SMS API — as a form or a
/// GET query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Body,
    Form,
    Query,
}

impl Transport {
    /// `body`, `form` or `query`.
    pub fn from_name(name: &str) -> Result<Transport> {
        match name {
            "body" => Ok(Transport::Body),
            "form" => Ok(Transport::Form),
            "query" => Ok(Transport::Query),
            _ => Err(Error::InvalidRequest {
                reason: "transport: expected body, form or query".into(),
            }),
        }
    }
}

/// `body` (a sample, or yours) as an unsigned request of `transport` for `url`: `None` when it
/// cannot travel that way (only a flat object of text, or a form, becomes parameters) or when it
/// would be the usual body again. The one shaping the CLI's `simulate` and the test kits use.
pub fn shaped(body: &[u8], transport: Transport, url: &str) -> Option<WebhookRequest> {
    let form = if body.trim_ascii_start().starts_with(b"{") {
        let serde_json::Value::Object(fields) = serde_json::from_slice(body).ok()? else {
            return None;
        };
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &fields {
            form.append_pair(name, value.as_str()?);
        }
        form.finish()
    } else {
        // Already a form: as a body it is the usual delivery.
        if transport == Transport::Form {
            return None;
        }
        String::from_utf8(body.to_vec()).ok()?
    };
    match transport {
        Transport::Body => None,
        Transport::Form => Some(WebhookRequest {
            method: "POST".to_owned(),
            url: Some(url.to_owned()),
            headers: alloc::vec![(
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )],
            body: form.into_bytes().into(),
        }),
        Transport::Query => {
            let joint = if url.contains('?') { '&' } else { '?' };
            Some(WebhookRequest {
                method: "GET".to_owned(),
                url: Some(alloc::format!("{url}{joint}{form}")),
                headers: Vec::new(),
                body: Vec::new().into(),
            })
        }
    }
}

/// [`sign_for_url`] with `body`'s parameters sent as `transport` ([`shaped`]): a form or a GET
/// query needs a flat JSON object of text (or a form), else `invalid_request` naming it.
pub fn sign_as(
    provider: Provider,
    body: &[u8],
    credentials: &Credentials,
    now: i64,
    scheme: Option<Scheme>,
    url: &str,
    transport: Transport,
) -> Result<WebhookRequest> {
    if transport == Transport::Body {
        return sign_for_url(provider, body, credentials, now, scheme, url);
    }
    let request = shaped(body, transport, url).ok_or(Error::InvalidRequest {
        reason: "transport: form and query take a flat JSON object of text, or a form (form: a body that is not one already)".into(),
    })?;
    sign_request(provider, request, credentials, now, scheme)
}

/// `provider`'s set of per-provider credentials (or the one-provider form itself).
fn own_credentials(provider: Provider, credentials: &Credentials) -> Result<&Credentials> {
    credentials
        .for_provider(provider)
        .ok_or(Error::MissingCredentials {
            provider: provider.name(),
        })
}

/// A request a receiver must refuse. See [`forge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forgery {
    /// Signed with secrets (or passwords, tokens) the receiver does not have.
    WrongSecret,
    /// Correctly signed, then the body changed in transit.
    TamperedBody,
    /// Correctly signed, but the signed timestamp has passed.
    ExpiredTimestamp,
    /// Sent with no authentication at all (no signature header, token or password): what a
    /// receiver that checks a signature only when one is present would accept.
    Unsigned,
}

impl Forgery {
    pub const ALL: [Forgery; 4] = [
        Forgery::WrongSecret,
        Forgery::TamperedBody,
        Forgery::ExpiredTimestamp,
        Forgery::Unsigned,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Forgery::WrongSecret => "wrong_secret",
            Forgery::TamperedBody => "tampered_body",
            Forgery::ExpiredTimestamp => "expired_timestamp",
            Forgery::Unsigned => "unsigned",
        }
    }
}

/// A forged variant of what [`sign`] would send, or `None` when `credentials` cannot tell
/// it from a real delivery. The receiver checks every configured scheme, so a tampered body
/// is detectable as soon as one of them binds the body (an HMAC signs the body whatever
/// else is configured; a Basic password or a Bearer token alone does not), and only
/// GatewayAPI's JWT carries a timestamp (`exp`) that can expire.
pub fn forge(
    provider: Provider,
    body: &[u8],
    credentials: &Credentials,
    now: i64,
    forgery: Forgery,
) -> Result<Option<WebhookRequest>> {
    forge_request(
        provider,
        unsigned(provider, body),
        credentials,
        now,
        forgery,
    )
}

/// [`forge`] for the request sent to `url`, the receiver's full URL (as [`sign_for_url`]):
/// for a provider that signs the URL it calls (Twilio), the forgery is then refused for its
/// secret or its body, not for a URL the receiver never had.
pub fn forge_for_url(
    provider: Provider,
    body: &[u8],
    credentials: &Credentials,
    now: i64,
    forgery: Forgery,
    url: &str,
) -> Result<Option<WebhookRequest>> {
    let mut request = unsigned(provider, body);
    request.url = Some(url.to_owned());
    forge_request(provider, request, credentials, now, forgery)
}

/// [`forge`] for a request of your own (its method, URL and headers kept, as
/// [`sign_request`]): a GET's tampering changes its query, which is what it signs.
pub fn forge_request(
    provider: Provider,
    mut request: WebhookRequest,
    credentials: &Credentials,
    now: i64,
    forgery: Forgery,
) -> Result<Option<WebhookRequest>> {
    credentials.validate()?;
    let credentials = own_credentials(provider, credentials)?;
    let chosen = chosen_schemes(provider, credentials, None)?;
    match forgery {
        Forgery::WrongSecret => {
            let wrong = wrong_credentials(credentials);
            for scheme in chosen {
                apply(provider, scheme, &mut request, &wrong, now)?;
            }
            Ok(Some(request))
        }
        Forgery::TamperedBody => {
            if !chosen.iter().any(|scheme| scheme.protects_body()) {
                return Ok(None);
            }
            for scheme in chosen {
                apply(provider, scheme, &mut request, credentials, now)?;
            }
            if request.method.eq_ignore_ascii_case("GET") {
                // A GET's parameters are its query: one more parameter there.
                let url = request.url.take().unwrap_or_else(|| "/".to_owned());
                let joint = if url.contains('?') { '&' } else { '?' };
                request.url = Some(alloc::format!("{url}{joint}tampered=true"));
            } else {
                // The signed body (a provider that signs within its parameters adds to it).
                request.body = tampered(&request.body)?.into();
            }
            Ok(Some(request))
        }
        Forgery::ExpiredTimestamp => {
            let signed = (spec(provider).sign_expired)(&mut request, credentials, now)?;
            Ok(signed.then_some(request))
        }
        Forgery::Unsigned => Ok(Some(request)),
    }
}

/// Joins a receiver's base URL with the query a signed request carries (the URL token), so
/// a request from [`sign`] can be sent to a real endpoint.
pub fn target_url(base: &str, signed: &WebhookRequest) -> String {
    target_url_for(base, signed.url.as_deref())
}

/// [`target_url`] for the URL a request was signed with: `base` with each pair of that URL's
/// query it lacks appended. The one rule of the CLI and the test kits' `url_for`/`toRequest`:
/// a base that already holds the query (the console's URL, `?tenant=a`, given whole) got it a
/// second time, and the receiver rightly refused the signature (a review).
pub fn target_url_for<'a>(base: &'a str, signed_url: Option<&'a str>) -> String {
    if signed_url == Some(base) {
        return base.to_owned();
    }
    // A URL's query, up to its fragment.
    let query_of = |url: &'a str| {
        url.split_once('?')
            .map(|(_, query)| query.split_once('#').map_or(query, |(query, _)| query))
    };
    let Some(query) = signed_url.and_then(query_of) else {
        return base.to_owned();
    };
    let base_query = query_of(base).unwrap_or("");
    let mut had: Vec<&str> = base_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .collect();
    had.sort_unstable();
    let missing: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && had.binary_search(pair).is_err())
        .collect();
    if missing.is_empty() {
        return base.to_owned();
    }
    let (before_fragment, fragment) = base
        .split_once('#')
        .map_or((base, None), |(b, f)| (b, Some(f)));
    let joint = match before_fragment.as_bytes().last() {
        _ if !before_fragment.contains('?') => "?",
        Some(b'?' | b'&') => "",
        _ => "&",
    };
    let mut url = alloc::format!("{before_fragment}{joint}{}", missing.join("&"));
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

fn chosen_schemes(
    provider: Provider,
    credentials: &Credentials,
    scheme: Option<Scheme>,
) -> Result<Vec<Scheme>> {
    let supported = schemes(provider);
    let missing = Error::MissingCredentials {
        provider: provider.name(),
    };
    match scheme {
        Some(scheme) if !supported.contains(&scheme) => Err(Error::InvalidRequest {
            reason: alloc::format!(
                "scheme: {provider} authenticates with {}",
                supported
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }),
        Some(scheme) if !scheme.is_configured(credentials) => Err(missing),
        Some(scheme) => Ok(alloc::vec![scheme]),
        None => {
            let configured: Vec<Scheme> = supported
                .iter()
                .copied()
                .filter(|s| s.is_configured(credentials))
                .collect();
            if configured.is_empty() && !credentials.skips_verification() {
                Err(missing)
            } else {
                Ok(configured)
            }
        }
    }
}

/// The URL a request is signed for when none is given.
pub const DEFAULT_URL: &str = "/";

/// Method, URL and the headers every delivery of `provider` carries, without credentials.
fn unsigned(provider: Provider, body: &[u8]) -> WebhookRequest {
    let mut headers = alloc::vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(agent) = spec(provider).user_agent {
        headers.push(("User-Agent".to_owned(), agent.to_owned()));
    }
    WebhookRequest {
        method: "POST".to_owned(),
        url: Some(DEFAULT_URL.to_owned()),
        headers,
        body: body.into(),
    }
}

fn apply(
    provider: Provider,
    scheme: Scheme,
    request: &mut WebhookRequest,
    credentials: &Credentials,
    now: i64,
) -> Result<()> {
    (spec(provider).sign)(scheme, request, credentials, now)
}

/// The credentials with every secret, password and token changed: what a forger who does
/// not know them would send.
fn wrong_credentials(credentials: &Credentials) -> Credentials {
    let wrong = |secrets: &[Secret]| -> Vec<Secret> {
        secrets
            .iter()
            .map(|secret| {
                let mut bytes = b"forged-".to_vec();
                bytes.extend_from_slice(secret.expose());
                Secret::new(bytes)
            })
            .collect()
    };
    let mut forged = credentials.clone();
    forged.hmac_sha256 = wrong(&credentials.hmac_sha256);
    forged.bearer = wrong(&credentials.bearer);
    forged.authorization = wrong(&credentials.authorization);
    forged.jwt_hs256 = wrong(&credentials.jwt_hs256);
    forged.url_token = wrong(&credentials.url_token);
    forged.ed25519_public_key =
        crate::kit::unconfigured_ed25519_keys(&credentials.ed25519_public_key);
    forged.auth_token = wrong(&credentials.auth_token);
    forged.shared_key = wrong(&credentials.shared_key);
    for pair in &mut forged.basic {
        pair.password = wrong(core::slice::from_ref(&pair.password))
            .pop()
            .unwrap_or_else(|| Secret::new(*b"forged"));
    }
    forged
}

/// The body with one more top-level field: still valid JSON of the same shape, so only the
/// signature check can notice the change.
fn tampered(body: &[u8]) -> Result<Vec<u8>> {
    if !crate::json_read::opens_an_object(body) {
        // A form body (Twilio): one more parameter.
        let mut tampered = body.to_vec();
        tampered.extend_from_slice(b"&tampered=true");
        return Ok(tampered);
    }
    let mut value = parse_json_object(body)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("tampered".to_owned(), serde_json::Value::Bool(true));
    }
    serde_json::to_vec(&value).map_err(|_| Error::invalid_payload("the body must be a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::target_url_for;

    #[test]
    fn a_signed_query_is_added_to_a_base_once() {
        let cases = [
            // The URL token of a request signed for a path.
            (
                "http://127.0.0.1:3000/hooks",
                Some("/hooks?token=t1"),
                "http://127.0.0.1:3000/hooks?token=t1",
            ),
            (
                "http://l/hooks?tenant=a",
                Some("/hooks?token=t1"),
                "http://l/hooks?tenant=a&token=t1",
            ),
            // Signed for the console's URL with its query, sent to a local base given whole.
            (
                "http://l/hooks?tenant=a",
                Some("https://pub.example/hooks?tenant=a"),
                "http://l/hooks?tenant=a",
            ),
            (
                "http://l/hooks",
                Some("https://pub.example/hooks?tenant=a"),
                "http://l/hooks?tenant=a",
            ),
            ("http://l/hooks?", Some("/h?x=1"), "http://l/hooks?x=1"),
            (
                "http://l/hooks#top",
                Some("/h?x=1"),
                "http://l/hooks?x=1#top",
            ),
            (
                "https://pub.example/h?a=1",
                Some("https://pub.example/h?a=1"),
                "https://pub.example/h?a=1",
            ),
            ("http://l/hooks", Some("/hooks"), "http://l/hooks"),
            ("http://l/hooks", None, "http://l/hooks"),
        ];
        for (base, signed, expected) in cases {
            assert_eq!(target_url_for(base, signed), expected, "{base} {signed:?}");
        }
    }
}
