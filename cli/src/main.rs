//! `telhook`: normalize captured webhook requests and print provider retry policies.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use serde_json::Value;
use telhook_core::{wire, Credentials, Options, Outcome, Provider, WebhookRequest};

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
    /// provider, credentials and now are used unless given here).
    #[command(verbatim_doc_comment)]
    Normalize {
        /// looplookup, did_reseller, limephone, lisoloo or gatewayapi; detected when absent.
        #[arg(long)]
        provider: Option<String>,
        /// JSON file: {"hmac_sha256": [...], "bearer": [...], "authorization": [...],
        /// "basic": [{"username", "password"}], "jwt_hs256": [...], "url_token": [...]}.
        #[arg(long, value_name = "FILE")]
        credentials: Option<String>,
        /// Accept the request without checking who sent it (local experiments only).
        #[arg(long)]
        insecure_skip_verification: bool,
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

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: "usage",
        message: message.into(),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(output) => {
            #[allow(clippy::print_stdout)]
            {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("telhook: {}: {}", failure.code, failure.message);
            ExitCode::from(if failure.code == "usage" { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> Result<String, Failure> {
    match cli.command {
        Command::Normalize {
            provider,
            credentials,
            insecure_skip_verification,
            now,
            max_body_bytes,
            omit_raw,
            request,
        } => {
            let input = read_input(request.as_deref())?;
            let (request, vector) = parse_request(&input)?;
            let provider = match provider {
                Some(name) => Some(Provider::from_name(&name)?),
                None => wire::provider_from_json(
                    vector.as_ref().map_or(&Value::Null, |v| &v["provider"]),
                )?,
            };
            let credentials = if insecure_skip_verification {
                Credentials::insecure_skip_verification()
            } else if let Some(path) = credentials {
                let text =
                    std::fs::read(&path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
                let value: Value = serde_json::from_slice(&text)
                    .map_err(|e| usage(format!("{path} is not JSON: {e}")))?;
                Credentials::from_json_value(value)?
            } else {
                Credentials::from_json_value(
                    vector
                        .as_ref()
                        .map_or(Value::Null, |v| v["credentials"].clone()),
                )?
            };
            let now = match now {
                Some(text) => telhook_core::time::parse_unix_seconds(&text, "--now")?,
                None => match vector.as_ref().and_then(|v| v["now"].as_i64()) {
                    Some(now) => now,
                    None => system_now(),
                },
            };
            let mut options = match vector.as_ref().and_then(|v| v.get("options")) {
                Some(value) => wire::options_from_json(value.clone())?,
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
            to_json(&json)
        }
        Command::Policy { provider } => {
            to_json(&telhook_core::retry_policy(Provider::from_name(&provider)?))
        }
        Command::Ack { provider, outcome } => {
            let provider = Provider::from_name(&provider)?;
            let outcome: Outcome = serde_json::from_value(Value::String(outcome.clone())).map_err(|_| {
                usage(format!(
                    "unknown outcome {outcome:?}; use accepted, duplicate, verification_failed, malformed or internal_error"
                ))
            })?;
            to_json(&telhook_core::ack(provider, outcome))
        }
        Command::Detect { request } => {
            let (request, _) = parse_request(&read_input(request.as_deref())?)?;
            Ok(telhook_core::detect_provider(&request)?.name().to_owned())
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
