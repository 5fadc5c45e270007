#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `telhook send` and `telhook simulate` against real receivers on loopback, started here:
//! a correct one (verifies with the core, dedupes, refuses forgeries) must pass for every
//! provider; a broken one (refuses a stale status with 400, processes duplicates again) must
//! make simulate exit non-zero and name each loss.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use telhook_core::sign::Scheme;
use telhook_core::{normalize_event, Credentials, ErrorKind, Provider, WebhookRequest};

const NOW: &str = "1769000000";

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// Dedupes on the event id (concurrent copies wait for the first), 401 for forgeries.
    Correct,
    /// Processes every delivery, and answers 400 to a status older than the one it holds.
    Broken,
    /// Like Correct, but fails (500) the first delivery of every event: retries must save it.
    FailsFirstAttempt,
    /// Like Correct, but the very first delivery is processed and answered after the
    /// provider's timeout: the provider retries an event the receiver already has.
    SlowFirstAnswer,
}

#[derive(Default)]
struct State {
    processed: HashMap<String, u64>,
    attempts: HashMap<String, u64>,
    latest_rank: HashMap<String, u8>,
}

struct Receiver {
    base: String,
    url: String,
    count_url: String,
}

fn start(provider: Provider, credentials: Credentials, behaviour: Behaviour) -> Receiver {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let state = Arc::new(Mutex::new(State::default()));
    // Several workers, so concurrent copies really overlap.
    for _ in 0..4 {
        let (server, state, credentials) = (server.clone(), state.clone(), credentials.clone());
        std::thread::spawn(move || loop {
            let Ok(mut request) = server.recv() else {
                return;
            };
            let (status, body) = answer(provider, &credentials, behaviour, &state, &mut request);
            let _ =
                request.respond(tiny_http::Response::from_string(body).with_status_code(status));
        });
    }
    Receiver {
        base: format!("http://127.0.0.1:{port}"),
        url: format!("http://127.0.0.1:{port}/hooks"),
        count_url: format!("http://127.0.0.1:{port}/count"),
    }
}

fn answer(
    provider: Provider,
    credentials: &Credentials,
    behaviour: Behaviour,
    state: &Mutex<State>,
    request: &mut tiny_http::Request,
) -> (u16, String) {
    if request.url() == "/count" {
        let state = state.lock().unwrap();
        return (200, serde_json::to_string(&state.processed).unwrap());
    }
    let mut body = Vec::new();
    request.as_reader().read_to_end(&mut body).unwrap();
    let webhook = WebhookRequest {
        method: request.method().to_string(),
        url: Some(request.url().to_owned()),
        headers: request
            .headers()
            .iter()
            .map(|h| (h.field.to_string(), h.value.to_string()))
            .collect(),
        body,
    };
    let event = match normalize_event(Some(provider), &webhook, credentials, NOW.parse().unwrap()) {
        Ok(event) => event,
        Err(error) if error.kind() == ErrorKind::Verification => return (401, error.code().into()),
        Err(error) => return (400, error.code().into()),
    };
    // Holding the lock while "processing" makes a concurrent copy wait for the first.
    let mut state = state.lock().unwrap();
    std::thread::sleep(Duration::from_millis(10));
    match behaviour {
        Behaviour::Correct | Behaviour::FailsFirstAttempt | Behaviour::SlowFirstAnswer => {
            let attempts = state.attempts.entry(event.id.clone()).or_default();
            *attempts += 1;
            if behaviour == Behaviour::FailsFirstAttempt && *attempts == 1 {
                return (500, "database down".into());
            }
            state.processed.entry(event.id).or_insert(1);
            let slow = behaviour == Behaviour::SlowFirstAnswer
                && state.attempts.len() == 1
                && state.attempts.values().sum::<u64>() == 1;
            drop(state);
            if slow {
                // LimePhone waits 5 s.
                std::thread::sleep(Duration::from_millis(5_500));
            }
            (200, "ok".into())
        }
        Behaviour::Broken => {
            if let (Some(status), Some(message)) = (&event.status, &event.message) {
                let key = message.id.clone().unwrap_or_default();
                let held = state.latest_rank.get(&key).copied().unwrap_or(0);
                if status.rank < held {
                    return (400, "stale status".into());
                }
                state.latest_rank.insert(key, status.rank);
            }
            *state.processed.entry(event.id).or_default() += 1;
            (200, "ok".into())
        }
    }
}

/// Credentials with every scheme the provider has, written where the CLI can read them.
fn credentials_file(provider: Provider) -> (Credentials, tempfile_path::Path) {
    let mut value = serde_json::Map::new();
    for scheme in telhook_core::sign::schemes(provider) {
        let secret = format!("sim-{}-{}", provider.name(), scheme.name());
        let configured = match scheme {
            Scheme::Basic => json!({"username": "sim", "password": secret}),
            Scheme::Authorization => json!(format!("Token {secret}")),
            _ => json!(secret),
        };
        value.insert(scheme.name().to_string(), configured);
    }
    let value = serde_json::Value::Object(value);
    let path = tempfile_path::Path::new(&format!("creds-{}", provider.name()));
    std::fs::File::create(&path.0)
        .unwrap()
        .write_all(value.to_string().as_bytes())
        .unwrap();
    (Credentials::from_json_value(value).unwrap(), path)
}

/// A file removed when dropped (no tempfile crate needed for one JSON file).
mod tempfile_path {
    pub struct Path(pub std::path::PathBuf);
    impl Path {
        /// Unique per call: tests run in parallel threads of one process, and two of them
        /// writing (and dropping) the same provider's file would delete it under the other.
        pub fn new(name: &str) -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Path(std::env::temp_dir().join(format!(
                "telhook-simulate-{}-{serial}-{name}.json",
                std::process::id()
            )))
        }
        pub fn as_str(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn telhook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telhook"))
        .args(args)
        .output()
        .unwrap()
}

fn simulate(provider: Provider, behaviour: Behaviour, json_output: bool) -> (Output, Value) {
    let (credentials, path) = credentials_file(provider);
    let receiver = start(provider, credentials, behaviour);
    let mut args = vec![
        "simulate",
        receiver.url.as_str(),
        "--provider",
        provider.name(),
        "--credentials",
        path.as_str(),
        "--speed",
        "100000",
        "--now",
        NOW,
        "--count-url",
        receiver.count_url.as_str(),
    ];
    if json_output {
        args.push("--json");
    }
    let out = telhook(&args);
    let report = if json_output {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
    } else {
        Value::Null
    };
    (out, report)
}

#[test]
fn a_correct_receiver_passes_for_every_provider() {
    for provider in Provider::ALL {
        let (out, report) = simulate(provider, Behaviour::Correct, true);
        assert!(out.status.success(), "{provider}: {report:#}");
        let verdict = &report["verdict"];
        assert_eq!(verdict["lost"], json!([]), "{provider}");
        assert_eq!(verdict["duplicated"], json!([]), "{provider}");
        assert_eq!(verdict["forgeries_accepted"], json!([]), "{provider}");
        assert_eq!(report["passed"], true);
        let deliveries = report["deliveries"].as_array().unwrap();
        // 3 kinds at most + redelivery + 3 concurrent copies (+ 2 out of order) + forgeries.
        let concurrent = deliveries
            .iter()
            .filter(|d| d["event"].as_str().unwrap().contains("3 concurrent copies"))
            .count();
        assert_eq!(concurrent, 3, "{provider}");
        let forged: Vec<&Value> = deliveries
            .iter()
            .filter(|d| d["event"].as_str().unwrap().starts_with("forged:"))
            .collect();
        assert!(!forged.is_empty(), "{provider}");
        assert!(forged.iter().all(|d| d["status"] == 401), "{provider}");
        let expired = forged
            .iter()
            .any(|d| d["event"] == "forged: expired_timestamp");
        assert_eq!(expired, provider == Provider::GatewayApi, "{provider}");
    }
}

#[test]
fn a_receiver_that_drops_stale_statuses_and_reprocesses_duplicates_fails_naming_each_loss() {
    let (out, report) = simulate(Provider::Lisoloo, Behaviour::Broken, true);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["passed"], false);
    let verdict = &report["verdict"];
    let lost = verdict["lost"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "{verdict:#}");
    let reason = lost[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("sms.sent") && reason.ends_with("dropped (permanent failure)"),
        "{reason}"
    );
    // The sequential redelivery was processed twice, the three concurrent copies three times.
    let mut times: Vec<u64> = verdict["duplicated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["times_processed"].as_u64().unwrap())
        .collect();
    times.sort_unstable();
    assert_eq!(times, vec![2, 3]);
    assert_eq!(verdict["forgeries_accepted"], json!([]));
}

#[test]
fn retries_follow_the_providers_schedule_and_save_the_event() {
    let (out, report) = simulate(Provider::LimePhone, Behaviour::FailsFirstAttempt, true);
    assert!(out.status.success(), "{report:#}");
    let first = &report["deliveries"][0];
    assert_eq!(first["status"], 500);
    assert_eq!(first["next_step"], "retry at T+1m (delivery 2 of 5)");
    let second = &report["deliveries"][1];
    assert_eq!(second["attempt"], 2);
    assert_eq!(second["status"], 200);
    assert_eq!(second["next_step"], "acknowledged");
}

#[test]
fn an_answer_slower_than_the_providers_timeout_is_a_failed_attempt_and_is_retried() {
    let (out, report) = simulate(Provider::LimePhone, Behaviour::SlowFirstAnswer, true);
    assert!(out.status.success(), "{report:#}");
    let first = &report["deliveries"][0];
    assert_eq!(first["status"], Value::Null);
    assert_eq!(first["failure"], "no answer within 5 s");
    assert_eq!(first["next_step"], "retry at T+1m (delivery 2 of 5)");
    assert_eq!(report["deliveries"][1]["status"], 200);
    // Processed once although delivered twice: the receiver deduped the retry.
    assert_eq!(report["verdict"]["duplicated"], json!([]));
    assert!(report["verdict"]["slowest_answer_ms"].as_u64().unwrap() >= 5_000);
}

#[test]
fn plain_output_off_a_terminal_prints_the_table_and_the_verdict() {
    let (out, _) = simulate(Provider::GatewayApi, Behaviour::Correct, false);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("provider's next step"), "{text}");
    assert!(text.contains("forged: expired_timestamp"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("verdict: 0 lost, 0 duplicated, 0 forgeries accepted"),
        "{text}"
    );
}

#[test]
fn send_prints_the_answer_and_what_the_provider_does_next() {
    let (credentials, path) = credentials_file(Provider::Lisoloo);
    let receiver = start(Provider::Lisoloo, credentials, Behaviour::Correct);
    let args = |event: &str| {
        vec![
            "send".to_owned(),
            receiver.url.clone(),
            "--provider".into(),
            "lisoloo".into(),
            "--event".into(),
            event.into(),
            "--credentials".into(),
            path.as_str().into(),
            "--now".into(),
            NOW.into(),
        ]
    };
    let run = |args: Vec<String>| telhook(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(args("sms.delivered"));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("200 in "), "{text}");
    assert!(text.trim_end().ends_with("lisoloo acknowledged"), "{text}");
    // A body of an unexpected shape is still an event (authenticity is the only gate).
    let mut odd = args("sms.delivered");
    odd.extend(["--set".into(), r#"{"event_id": null}"#.into()]);
    let out = run(odd);
    assert!(out.status.success());
    // A delivery signed with another password: 401, which Lisoloo treats as final.
    let wrong = tempfile_path::Path::new("creds-lisoloo-wrong");
    std::fs::write(
        &wrong.0,
        r#"{"basic":{"username":"sim","password":"not-it"}}"#,
    )
    .unwrap();
    let mut bad = args("sms.delivered");
    let at = bad.iter().position(|arg| arg == path.as_str()).unwrap();
    bad[at] = wrong.as_str().into();
    let out = run(bad);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.trim_end()
            .ends_with("lisoloo dropped (permanent failure)"),
        "{text}"
    );
}

#[test]
fn sign_output_round_trips_through_normalize_as_raw_http() {
    for provider in Provider::ALL {
        let (_, path) = credentials_file(provider);
        let signed = telhook(&[
            "sign",
            "--provider",
            provider.name(),
            "--credentials",
            path.as_str(),
            "--now",
            NOW,
            "--url",
            "http://127.0.0.1:8000/hooks/x?src=test",
        ]);
        assert!(signed.status.success());
        let capture = std::env::temp_dir().join(format!(
            "telhook-sign-{}-{}.http",
            std::process::id(),
            provider.name()
        ));
        std::fs::write(&capture, &signed.stdout).unwrap();
        let out = telhook(&[
            "normalize",
            "--provider",
            provider.name(),
            "--credentials",
            path.as_str(),
            "--now",
            NOW,
            capture.to_str().unwrap(),
        ]);
        let _ = std::fs::remove_file(&capture);
        assert!(
            out.status.success(),
            "{provider}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let event: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(event["provider"], provider.name());
    }
}

/// The README's shell example, run as written against a correct Lisoloo receiver (only the
/// address and the binary's path are substituted).
#[test]
fn the_readme_shell_example_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("\n## Testing your receiver\n")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let block = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let (credentials, path) = credentials_file(Provider::Lisoloo);
    let receiver = start(Provider::Lisoloo, credentials, Behaviour::Correct);
    let dir = std::env::temp_dir().join(format!("telhook-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&path.0, dir.join("creds.json")).unwrap();
    let script = block
        .replace("telhook ", &format!("{} ", env!("CARGO_BIN_EXE_telhook")))
        .replace("http://127.0.0.1:8000", &receiver.base);
    let out = Command::new("sh")
        .args(["-e", "-c", &script])
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(r#""provider_event_type": "sms.sent""#),
        "{text}"
    );
    assert!(text.contains("lisoloo acknowledged"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("verdict: 0 lost, 0 duplicated, 0 forgeries accepted"),
        "{text}"
    );
}
