//! `telhook`: normalize captured webhook requests and print provider retry policies.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use telhook_core::{retry_policy, Credentials, Options, Outcome, Provider, WebhookRequest};

mod delivery;
mod simulate;

#[derive(Parser)]
#[command(
    name = "telhook",
    version,
    about = "Verify and normalize telephony/SMS provider webhooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify and normalize one request; print the event as JSON.
    ///
    /// REQUEST is a file (or `-`/absent for stdin) holding either a raw HTTP/1.1 request as
    /// captured (request line, headers, blank line, body), a request as JSON
    /// ({method, url, headers, body | body_base64}), or a whole conformance vector (its
    /// provider and now are used unless given here; never its credentials).
    ///
    /// Credentials come only from --credentials FILE or the TELHOOK_CREDENTIALS environment
    /// variable (the JSON itself): a request cannot bring the keys that verify it.
    #[command(verbatim_doc_comment)]
    Normalize {
        /// The provider's name (`limephone`, `gatewayapi`, …; an unknown name lists them all);
        /// detected when absent.
        #[arg(long)]
        provider: Option<String>,
        /// JSON file: {"hmac_sha256": [...], "bearer": [...], "authorization": [...],
        /// "basic": [{"username", "password"}], "jwt_hs256": [...], "url_token": [...],
        /// "ed25519_public_key": [...], "auth_token": [...], "shared_key": [...]}.
        #[arg(long, value_name = "FILE")]
        credentials: Option<String>,
        /// Accept the request without checking who sent it (local experiments only; prints a
        /// warning). Credentials that say `insecure_skip_verification` need this flag too.
        #[arg(long, alias = "insecure-skip-verification")]
        insecure: bool,
        /// The receive time: UNIX seconds or RFC 3339. Default: the system clock.
        #[arg(long, value_name = "T")]
        now: Option<String>,
        /// Refuse bodies larger than this (default 1 MiB).
        #[arg(long, value_name = "BYTES")]
        max_body_bytes: Option<usize>,
        /// Leave the provider's payload (`raw`) out of the printed event.
        #[arg(long)]
        omit_raw: bool,
        #[arg(value_name = "REQUEST")]
        request: Option<String>,
    },
    /// Print a provider's retry policy as JSON.
    Policy { provider: String },
    /// Print the HTTP status to answer for an outcome:
    /// accepted, duplicate, verification_failed, malformed or internal_error.
    Ack { provider: String, outcome: String },
    /// Print which provider a request comes from, judged by its headers and body.
    Detect {
        #[arg(value_name = "REQUEST")]
        request: Option<String>,
    },
    /// Print the signed request a provider would send: raw HTTP (default), curl or JSON.
    ///
    /// `telhook sign --provider lisoloo --credentials creds.json | telhook normalize
    /// --provider lisoloo --credentials creds.json` round-trips.
    #[command(verbatim_doc_comment)]
    Sign {
        #[command(flatten)]
        signed: SignArgs,
        /// http (a raw HTTP/1.1 request), curl (a command line) or json.
        #[arg(long, default_value = "http")]
        format: String,
        /// The endpoint the request is for (default http://localhost/).
        #[arg(long)]
        url: Option<String>,
    },
    /// Send one signed delivery to URL; print the answer and what the provider does next.
    /// Exits 1 unless the provider would count the delivery as acknowledged.
    Send {
        url: String,
        #[command(flatten)]
        signed: SignArgs,
    },
    /// Play the provider's delivery pattern against URL and judge the endpoint: events lost,
    /// processed twice (with --count-url), forgeries accepted. Exits 1 on any of them.
    Simulate {
        url: String,
        #[arg(long)]
        provider: String,
        /// JSON credentials file, as for normalize.
        #[arg(long, value_name = "FILE")]
        credentials: String,
        /// Divide the provider's retry delays by this (timeouts stay real). Default: the
        /// fastest schedule whose every retry still waits at least the provider's timeout, so
        /// that a handler as slow as the provider allows has answered before the retry comes
        /// (a higher speed is warned about: it can report losses and duplicates the real
        /// schedule would not cause).
        #[arg(long)]
        speed: Option<f64>,
        /// A URL answering how often the endpoint processed each event: {"<event id>": n}
        /// or ["<event id>", ...].
        #[arg(long)]
        count_url: Option<String>,
        /// One JSON report instead of the table.
        #[arg(long)]
        json: bool,
        /// Signing time: UNIX seconds or RFC 3339. Default: the system clock.
        #[arg(long, value_name = "T")]
        now: Option<String>,
        /// The URL the receiver is configured with when it is not URL (its `public_url`
        /// option: Twilio's console URL, behind a proxy): deliveries are signed for it and
        /// sent to URL. Default: URL itself.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
    },
    /// Print the registered providers' names, one a line.
    Providers,
}

/// What to sign and with what.
#[derive(Args)]
struct SignArgs {
    #[arg(long)]
    provider: String,
    /// One of the provider's event kinds (default: its first); see the error for the list.
    #[arg(long = "event")]
    event_kind: Option<String>,
    /// Send this file's bytes instead of a sample.
    #[arg(long, value_name = "FILE")]
    body: Option<String>,
    /// JSON merged into the sample (merge patch), e.g. '{"message_id": "m-1"}'.
    #[arg(long = "set", value_name = "JSON")]
    overrides: Option<String>,
    /// JSON credentials file, as for normalize.
    #[arg(long, value_name = "FILE")]
    credentials: String,
    /// Sign with this scheme only (default: every configured one of the provider).
    #[arg(long)]
    scheme: Option<String>,
    /// Signing time: UNIX seconds or RFC 3339. Default: the system clock.
    #[arg(long, value_name = "T")]
    now: Option<String>,
}

/// A failure with the stable error code the library gives it.
struct Failure {
    code: &'static str,
    message: String,
}

impl From<telhook_core::Error> for Failure {
    fn from(error: telhook_core::Error) -> Self {
        Failure {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// An `http://` or `https://` URL with a host, checked before anything is sent: a typo is a
/// usage error, not a delivery the provider would retry (nor hours of retries for simulate).
fn http_url(option: &str, url: &str) -> Result<(), Failure> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(host)
            if !host.is_empty()
                && !host.starts_with(':')
                && !host.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(usage(format!(
            "{option}: expected an http:// or https:// URL with a host"
        ))),
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: "usage",
        message: message.into(),
    }
}

/// What a command prints, and whether it counts as success.
struct Done {
    output: String,
    success: bool,
    /// Printed exactly, without a trailing newline (a raw HTTP body must stay byte-exact).
    exact: bool,
}

impl From<String> for Done {
    fn from(output: String) -> Self {
        Done {
            output,
            success: true,
            exact: false,
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(done) => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`telhook sign | head`) is the reader's choice, not an error.
            let _ = if done.output.is_empty() {
                Ok(())
            } else if done.exact {
                stdout.write_all(done.output.as_bytes())
            } else {
                writeln!(stdout, "{}", done.output)
            };
            if done.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(failure) => {
            eprintln!("telhook: {}: {}", failure.code, failure.message);
            ExitCode::from(if failure.code == "usage" { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> Result<Done, Failure> {
    match cli.command {
        Command::Sign {
            signed,
            format,
            url,
        } => {
            let url = url.as_deref().unwrap_or("http://localhost/");
            let (_, request) = signed_request(&signed, url)?;
            Ok(match format.as_str() {
                "http" => Done {
                    output: String::from_utf8_lossy(&raw_http(url, &request)).into_owned(),
                    success: true,
                    exact: true,
                },
                "curl" => curl_command(url, &request).into(),
                "json" => to_json(&request.to_json_value())?.into(),
                _ => return Err(usage("--format: expected http, curl or json")),
            })
        }
        Command::Send { url, signed } => {
            http_url("URL", &url)?;
            let (provider, request) = signed_request(&signed, &url)?;
            let policy = retry_policy(provider);
            let answer = delivery::deliver(&delivery::agent(&policy), provider, &url, &request);
            let next = delivery::next_step(&policy, 1, answer.provider_action);
            let mut output = format!(
                "{} in {} ms: {provider} {next}",
                answer.text(),
                answer.latency_ms
            );
            if answer.outcome.as_deref() == Some("duplicate") {
                output.push_str(
                    "\nduplicate: the receiver already had this event and did not run the handler \
                     (give the sample a new id with --set)",
                );
            }
            Ok(Done {
                output,
                success: answer.provider_action == telhook_core::DeliveryResult::Acknowledged,
                exact: false,
            })
        }
        Command::Simulate {
            url,
            provider,
            credentials,
            speed,
            count_url,
            json,
            now,
            public_url,
        } => {
            if speed.is_some_and(|speed| !(speed.is_finite() && speed >= 1.0)) {
                return Err(usage("--speed: expected a number of at least 1"));
            }
            http_url("URL", &url)?;
            if let Some(count_url) = &count_url {
                http_url("--count-url", count_url)?;
            }
            if let Some(public_url) = &public_url {
                http_url("--public-url", public_url)?;
            }
            let provider = Provider::from_name(&provider)?;
            let settings = simulate::Settings {
                provider,
                url,
                public_url,
                credentials: read_credentials(&credentials)?,
                now: now_or_system(now.as_deref())?,
                speed: speed.unwrap_or_else(|| simulate::true_speed(provider)),
                count_url,
                json,
            };
            let report = simulate::run(&settings)?;
            Ok(Done {
                output: if json {
                    to_json(&report)?
                } else {
                    String::new()
                },
                success: report.passed,
                exact: false,
            })
        }
        Command::Normalize {
            provider,
            credentials,
            insecure,
            now,
            max_body_bytes,
            omit_raw,
            request,
        } => {
            let input = read_input(request.as_deref())?;
            let (request, vector) = parse_request(&input)?;
            let provider = match provider {
                Some(name) => Some(Provider::from_name(&name)?),
                None => {
                    Provider::from_json(vector.as_ref().map_or(&Value::Null, |v| &v["provider"]))?
                }
            };
            let credentials = if insecure {
                eprintln!(
                    "telhook: warning: --insecure: the request is NOT verified; anyone could have sent it"
                );
                Credentials::insecure_skip_verification()
            } else {
                let configured = configured_credentials(credentials.as_deref())?;
                let skips = Provider::ALL
                    .iter()
                    .filter_map(|p| configured.for_provider(*p))
                    .any(Credentials::skips_verification);
                if skips {
                    return Err(usage(
                        "the credentials skip verification: pass --insecure to mean it",
                    ));
                }
                configured
            };
            let now = match now {
                Some(text) => telhook_core::time::parse_unix_seconds(&text, "--now")?,
                None => match vector.as_ref().and_then(|v| v["now"].as_i64()) {
                    Some(now) => now,
                    None => system_now(),
                },
            };
            let mut options = match vector.as_ref().and_then(|v| v.get("options")) {
                Some(value) => Options::from_json_value(value.clone())?,
                None => Options::default(),
            };
            if let Some(limit) = max_body_bytes {
                options.max_body_bytes = limit;
            }
            let event = telhook_core::normalize_event_with(
                provider,
                &request,
                &credentials,
                now,
                &options,
            )?;
            let mut json = serde_json::to_value(&event)
                .map_err(|e| usage(format!("cannot serialize: {e}")))?;
            if omit_raw {
                if let Some(object) = json.as_object_mut() {
                    object.remove("raw");
                }
            }
            to_json(&json).map(Done::from)
        }
        Command::Providers => Ok(Provider::NAMES.join("\n").into()),
        Command::Policy { provider } => {
            to_json(&telhook_core::retry_policy(Provider::from_name(&provider)?)).map(Done::from)
        }
        Command::Ack { provider, outcome } => {
            let provider = Provider::from_name(&provider)?;
            let outcome: Outcome = serde_json::from_value(Value::String(outcome.clone())).map_err(|_| {
                usage(format!(
                    "unknown outcome {outcome:?}; use accepted, duplicate, verification_failed, malformed or internal_error"
                ))
            })?;
            to_json(&telhook_core::ack(provider, outcome)).map(Done::from)
        }
        Command::Detect { request } => {
            let (request, _) = parse_request(&read_input(request.as_deref())?)?;
            Ok(telhook_core::detect_provider(&request)?
                .name()
                .to_owned()
                .into())
        }
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn read_input(path: Option<&str>) -> Result<Vec<u8>, Failure> {
    match path {
        None | Some("-") => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .map_err(|e| usage(format!("cannot read stdin: {e}")))?;
            Ok(buffer)
        }
        Some(path) => std::fs::read(path).map_err(|e| usage(format!("cannot read {path}: {e}"))),
    }
}

/// JSON (a request or a whole vector) when it starts with `{`, else a raw HTTP/1.1 capture.
fn parse_request(input: &[u8]) -> Result<(WebhookRequest, Option<Value>), Failure> {
    let starts_json = input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !starts_json {
        return Ok((WebhookRequest::from_http1(input)?, None));
    }
    let value: Value = serde_json::from_slice(input)
        .map_err(|e| usage(format!("REQUEST is not valid JSON: {e}")))?;
    if let Some(request) = value.get("request") {
        Ok((
            WebhookRequest::from_json_value(request.clone())?,
            Some(value),
        ))
    } else {
        Ok((WebhookRequest::from_json_value(value)?, None))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map_err(|e| usage(format!("cannot serialize: {e}")))
}

/// The environment variable that may hold the credentials JSON (for `normalize`).
const CREDENTIALS_ENV: &str = "TELHOOK_CREDENTIALS";

/// `--credentials FILE`, else `$TELHOOK_CREDENTIALS`, else none (a `missing_credentials` error
/// follows): never the input, which is what is being verified.
fn configured_credentials(path: Option<&str>) -> Result<Credentials, Failure> {
    if let Some(path) = path {
        return read_credentials(path);
    }
    match std::env::var(CREDENTIALS_ENV) {
        Ok(text) => {
            let value: Value = serde_json::from_str(&text)
                .map_err(|_| usage(format!("{CREDENTIALS_ENV} is not JSON")))?;
            Ok(Credentials::from_json_value(value)?)
        }
        Err(_) => Ok(Credentials::none()),
    }
}

fn read_credentials(path: &str) -> Result<Credentials, Failure> {
    let text = std::fs::read(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
    let value: Value =
        serde_json::from_slice(&text).map_err(|e| usage(format!("{path} is not JSON: {e}")))?;
    Ok(Credentials::from_json_value(value)?)
}

fn now_or_system(now: Option<&str>) -> Result<i64, Failure> {
    match now {
        Some(text) => Ok(telhook_core::time::parse_unix_seconds(text, "--now")?),
        None => Ok(system_now()),
    }
}

/// The body (a file or a sample) signed as `args` say.
fn signed_request(args: &SignArgs, url: &str) -> Result<(Provider, WebhookRequest), Failure> {
    let provider = Provider::from_name(&args.provider)?;
    let credentials = read_credentials(&args.credentials)?;
    let body = match &args.body {
        Some(path) => read_input(Some(path))?,
        None => {
            let overrides: Value = match &args.overrides {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| usage(format!("--set is not JSON: {e}")))?,
                None => Value::Null,
            };
            let kinds = telhook_core::sample::event_kinds(provider);
            let kind = match &args.event_kind {
                Some(kind) => kind.as_str(),
                None => kinds.first().map_or("", |k| k.name),
            };
            telhook_core::sample::sample(provider, kind, &overrides)?
        }
    };
    let scheme = args
        .scheme
        .as_deref()
        .map(telhook_core::sign::Scheme::from_name)
        .transpose()?;
    let now = now_or_system(args.now.as_deref())?;
    // Signed for the URL it is sent to (Twilio signs the URL it calls).
    let request =
        telhook_core::sign::sign_for_url(provider, &body, &credentials, now, scheme, url)?;
    Ok((provider, request))
}

/// `scheme://host[:port]/path?query` split into the Host header and the request target.
fn host_and_target(url: &str, request: &WebhookRequest) -> (String, String) {
    let full = telhook_core::sign::target_url(url, request);
    let without_scheme = full
        .split_once("://")
        .map_or(full.as_str(), |(_, rest)| rest);
    match without_scheme.find(['/', '?']) {
        Some(at) => {
            let (host, target) = without_scheme.split_at(at);
            let target = if target.starts_with('?') {
                format!("/{target}")
            } else {
                target.to_owned()
            };
            (host.to_owned(), target)
        }
        None => (without_scheme.to_owned(), "/".to_owned()),
    }
}

/// The request as it goes over the wire (and as `telhook normalize` reads a capture).
fn raw_http(url: &str, request: &WebhookRequest) -> Vec<u8> {
    let (host, target) = host_and_target(url, request);
    let mut head = format!("{} {target} HTTP/1.1\r\nHost: {host}\r\n", request.method);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    bytes
}

/// A POSIX shell command; every argument single-quoted.
fn curl_command(url: &str, request: &WebhookRequest) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let mut command = format!(
        "curl -sS -X {} {}",
        request.method,
        quote(&telhook_core::sign::target_url(url, request))
    );
    for (name, value) in &request.headers {
        command.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    command.push_str(&format!(
        " --data-binary {}",
        quote(&String::from_utf8_lossy(&request.body))
    ));
    command
}
