//! `telhook simulate`: plays a provider's delivery pattern against a live endpoint — its real
//! retry schedule (compressed by `--speed`), redeliveries, concurrent duplicates, statuses
//! out of order, forgeries and an expired timestamp — and judges whether any event was lost,
//! processed twice, or forged in. Event ids are new on every run (a receiver's dedupe store
//! outlives the run), and every event's processing count is checked, acknowledged or not.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use telhook_core::sample::{event_kinds, out_of_order_statuses, unique_sample};
use telhook_core::sign::{
    forge_for_url, forge_request, shaped, sign_for_url, sign_request, Forgery, Transport,
};
use telhook_core::{
    normalize_event, retry_policy, Credentials, DeliveryResult, Provider, RetryPolicy,
    WebhookRequest,
};

use crate::delivery::{agent, deliver, next_step, retry_delay, Answer};

pub struct Settings {
    pub provider: Provider,
    pub url: String,
    /// The URL the receiver is configured with (Twilio's console URL), when it is not `url`:
    /// requests are signed for it and sent to `url`, as through a proxy.
    pub public_url: Option<String>,
    pub credentials: Credentials,
    pub now: i64,
    /// Retry delays are divided by this.
    pub speed: f64,
    pub count_url: Option<String>,
    pub json: bool,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub event: String,
    pub attempt: u32,
    #[serde(flatten)]
    pub answer: Answer,
    pub next_step: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Loss {
    pub event: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub event: String,
    pub times_processed: u64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Verdict {
    /// Events the endpoint never processed (with `--count-url`), else never acknowledged.
    pub lost: Vec<Loss>,
    /// Events processed more than once, acknowledged or not.
    pub duplicated: Vec<Duplicate>,
    /// Handler calls beyond the first, over every duplicated event.
    pub extra_calls: u64,
    /// Events processed but never acknowledged: the provider counts them as failed (and may
    /// alert or disable the endpoint), though nothing was lost.
    pub unacknowledged: Vec<Loss>,
    pub forgeries_accepted: Vec<String>,
    /// Checks the provider's scheme cannot support (e.g. no signed timestamp to expire).
    pub not_applicable: Vec<String>,
    /// Whether `duplicated` was measured (it needs `--count-url`).
    pub duplicates_measured: bool,
    pub slowest_answer_ms: u64,
    pub provider_timeout_ms: u64,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.forgeries_accepted.is_empty()
    }

    fn summary(&self) -> String {
        let duplicated = match (self.duplicates_measured, self.duplicated.len()) {
            (false, _) => "? (no --count-url) duplicated".to_owned(),
            (true, 0) => "0 duplicated".to_owned(),
            (true, n) => format!(
                "{n} duplicated ({} extra handler call{})",
                self.extra_calls,
                if self.extra_calls == 1 { "" } else { "s" }
            ),
        };
        let mut summary = format!(
            "{} lost, {duplicated}, {} forgeries accepted",
            self.lost.len(),
            self.forgeries_accepted.len()
        );
        if !self.unacknowledged.is_empty() {
            summary.push_str(&format!(
                ", {} never acknowledged",
                self.unacknowledged.len()
            ));
        }
        summary
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub provider: Provider,
    pub url: String,
    /// The URL the deliveries were signed for, when not `url`.
    pub public_url: Option<String>,
    /// The speed the retry delays were divided by, and what it may distort.
    pub speed: f64,
    pub warnings: Vec<String>,
    pub deliveries: Vec<Delivery>,
    pub verdict: Verdict,
    pub passed: bool,
}

/// The highest `--speed` at which every compressed retry still comes at least the provider's
/// timeout after the failed attempt: a handler may take that long, and has then answered
/// before its retry arrives — as it has at the real schedule. At least 1.
pub fn true_speed(provider: Provider) -> f64 {
    let policy = retry_policy(provider);
    match policy.retry_delays_secs.iter().min() {
        Some(&shortest) if policy.timeout_secs > 0 => {
            (f64::from(shortest) / f64::from(policy.timeout_secs)).max(1.0)
        }
        _ => 1.0,
    }
}

/// Why `speed` may report losses and duplicates the real schedule would not cause, if it can.
fn speed_warning(policy: &RetryPolicy, speed: f64) -> Option<String> {
    let shortest = *policy.retry_delays_secs.iter().min()?;
    let compressed_ms = f64::from(shortest) * 1000.0 / speed;
    let timeout_ms = f64::from(policy.timeout_secs) * 1000.0;
    (compressed_ms < timeout_ms).then(|| {
        format!(
            "warning: at --speed {speed} a retry comes {compressed_ms:.0} ms after a failed attempt, \
             less than the provider's {} s timeout: a handler slower than that is still running \
             when its retry arrives, which the real schedule ({shortest} s) never does — losses \
             and duplicates below may be the speed's, not the endpoint's (true results up to \
             --speed {})",
            policy.timeout_secs,
            true_speed(policy.provider)
        )
    })
}

/// Column widths of the table: the longest event label, and the answer column.
struct Columns {
    event: usize,
}

/// Wide enough for every status with its outcome and every failure `deliver` reports.
const ANSWER_WIDTH: usize = 36;

impl Columns {
    fn header(&self) -> String {
        format!(
            "{:<width$} {:>7}  {:<ANSWER_WIDTH$} {:>10}  provider's next step",
            "event",
            "attempt",
            "answer",
            "latency",
            width = self.event
        )
    }

    fn row(&self, delivery: &Delivery) -> String {
        let mut answer = delivery.answer.text();
        if answer.chars().count() > ANSWER_WIDTH {
            answer = answer.chars().take(ANSWER_WIDTH - 1).collect::<String>() + "…";
        }
        format!(
            "{:<width$} {:>7}  {:<ANSWER_WIDTH$} {:>7} ms  {}",
            delivery.event,
            delivery.attempt,
            answer,
            delivery.answer.latency_ms,
            delivery.next_step,
            width = self.event
        )
    }
}

/// A real event the endpoint must process exactly once.
struct Genuine {
    label: String,
    key: String,
    request: WebhookRequest,
    /// Copies delivered at the same moment (1 = a single delivery).
    copies: usize,
    /// A delivery of an event already delivered, sent as if its acknowledgement was lost: the
    /// provider would never send it after giving the event up, so it says nothing about
    /// whether the event was lost; a receiver that refuses it is reported never acknowledged.
    redelivery: bool,
}

struct Forged {
    label: String,
    request: WebhookRequest,
    /// The id the forged event would have once accepted (read without verifying): with
    /// --count-url, a count for it is a forgery processed, whatever the receiver answered.
    key: Option<String>,
}

/// Where the rows go: a progress bar on a terminal, plain lines otherwise, nothing for --json.
struct Output {
    json: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Output {
    fn new(json: bool, steps: usize) -> Self {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(u64::try_from(steps).unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Output { json, bar }
    }

    fn line(&self, text: &str) {
        if self.json {
            return;
        }
        #[allow(clippy::print_stdout)]
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    fn step(&self, label: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(label.to_owned());
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn run(settings: &Settings) -> Result<Report, telhook_core::Error> {
    let provider = settings.provider;
    let (genuine, forged, not_applicable) = plan(settings)?;
    let policy = retry_policy(provider);
    let client = agent(&policy);
    // The count endpoint asked once before anything is sent: a typo found after an hour of
    // retries would lose the run's verdict.
    if let Some(url) = &settings.count_url {
        fetch_counts(&client, url)?;
    }
    let output = Output::new(settings.json, genuine.len() + forged.len());
    let columns = Columns {
        event: genuine
            .iter()
            .map(|g| g.label.chars().count())
            .chain(forged.iter().map(|f| f.label.chars().count()))
            .chain(["event".len()])
            .max()
            .unwrap_or(0),
    };
    output.line(&format!(
        "simulating {provider} against {}{} ({} {} max per event, timeout {} s, schedule / {})",
        settings.url,
        settings
            .public_url
            .as_deref()
            .map_or_else(String::new, |public| format!(" (signed for {public})")),
        policy.max_deliveries,
        if policy.max_deliveries == 1 {
            "delivery"
        } else {
            "deliveries"
        },
        policy.timeout_secs,
        settings.speed
    ));
    let warnings: Vec<String> = speed_warning(&policy, settings.speed).into_iter().collect();
    for warning in &warnings {
        output.line(warning);
    }
    output.line(&columns.header());
    let mut deliveries = Vec::new();
    // By the provider's own deliveries of each event (its redeliveries and copies count for
    // the event only when the first delivery was acknowledged or its copies raced it).
    let mut acknowledged: BTreeMap<String, bool> = BTreeMap::new();
    // Redeliveries the receiver never acknowledged: label, key, how the flow ended.
    let mut redeliveries_refused: Vec<(String, String, String)> = Vec::new();
    // With --count-url, the counts taken before the first redelivery: an event the provider
    // gave up before then was lost, even if the redelivery this run invents processed it.
    let mut counts_before_redeliveries: Option<BTreeMap<String, u64>> = None;
    // The plan delivers every event once before its first redelivery: those are the events
    // the counts before the redeliveries can judge.
    let first_redelivery = genuine
        .iter()
        .position(|event| event.redelivery)
        .unwrap_or(genuine.len());
    let mut verdict = Verdict {
        not_applicable,
        duplicates_measured: settings.count_url.is_some(),
        provider_timeout_ms: u64::from(policy.timeout_secs) * 1000,
        ..Verdict::default()
    };
    // When the last attempt that got no answer ended: its handler may still be running.
    let mut last_unanswered: Option<std::time::Instant> = None;
    // Events processed after their answer: stored by a receiver's inbox (`200 queued`, a worker
    // processes them later), or sent to a handler that outlived the provider's timeout (no
    // answer; it may still finish). Counted once they are, up to INBOX_WORKER_WAIT.
    let mut queued: BTreeSet<String> = BTreeSet::new();
    for event in &genuine {
        if event.redelivery && counts_before_redeliveries.is_none() {
            if let Some(url) = &settings.count_url {
                settle(&output, last_unanswered, &policy);
                counts_before_redeliveries =
                    Some(counts_once_processed(&client, url, &queued, &output)?);
            }
        }
        output.step(&event.label);
        let flows: Vec<Vec<Delivery>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..event.copies)
                .map(|_| scope.spawn(|| retrying_flow(settings, &client, event)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if flows.iter().flatten().any(|d| d.answer.status.is_none()) {
            last_unanswered = Some(std::time::Instant::now());
        }
        for flow in flows {
            let acked = flow
                .iter()
                .any(|d| d.answer.provider_action == DeliveryResult::Acknowledged);
            if flow
                .iter()
                .any(|d| d.answer.outcome.as_deref() == Some("queued") || d.answer.status.is_none())
            {
                queued.insert(event.key.clone());
            }
            if event.redelivery {
                if !acked {
                    let ended = flow
                        .last()
                        .map_or("never delivered", |d| d.next_step.as_str());
                    redeliveries_refused.push((
                        event.label.clone(),
                        event.key.clone(),
                        ended.to_owned(),
                    ));
                }
            } else {
                *acknowledged.entry(event.key.clone()).or_default() |= acked;
            }
            for delivery in flow {
                output.line(&columns.row(&delivery));
                deliveries.push(delivery);
            }
        }
    }
    for forgery in &forged {
        output.step(&forgery.label);
        let answer = deliver(&client, provider, &settings.url, &forgery.request);
        let accepted = answer.status.is_some_and(|s| (200..300).contains(&s));
        let delivery = Delivery {
            event: forgery.label.clone(),
            attempt: 1,
            next_step: if accepted {
                "ACCEPTED (must be refused)".to_owned()
            } else {
                "refused".to_owned()
            },
            answer,
        };
        output.line(&columns.row(&delivery));
        if accepted {
            verdict.forgeries_accepted.push(forgery.label.clone());
        }
        deliveries.push(delivery);
    }
    output.finish();
    verdict.slowest_answer_ms = deliveries
        .iter()
        .map(|d| d.answer.latency_ms)
        .max()
        .unwrap_or(0);
    let counts = match &settings.count_url {
        Some(url) => {
            settle(&output, last_unanswered, &policy);
            Some(counts_once_processed(&client, url, &queued, &output)?)
        }
        None => None,
    };
    // A forged event the receiver processed though it refused every forgery of it (one it
    // answered 2xx is listed already): the forgeries of one body share its event's id.
    if let Some(counts) = &counts {
        let genuine_keys: BTreeSet<&str> = genuine.iter().map(|g| g.key.as_str()).collect();
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for forgery in &forged {
            if let Some(key) = forgery
                .key
                .as_deref()
                .filter(|key| !genuine_keys.contains(key))
            {
                by_key.entry(key).or_default().push(forgery.label.as_str());
            }
        }
        for (key, labels) in by_key {
            let processed = counts.get(key).is_some_and(|n| *n > 0);
            let answered_2xx = labels.iter().any(|label| {
                verdict
                    .forgeries_accepted
                    .iter()
                    .any(|accepted| accepted == label)
            });
            if processed && !answered_2xx {
                verdict.forgeries_accepted.push(format!(
                    "{} (refused, but its event was processed)",
                    labels.join(" / ")
                ));
            }
        }
    }
    // Redeliveries of one event share its key: judge each key once, by how often the endpoint
    // processed it (when --count-url tells) whether or not the provider saw it acknowledged.
    let mut judged = BTreeSet::new();
    for (index, event) in genuine.iter().enumerate() {
        if !judged.insert(event.key.clone()) {
            continue;
        }
        let acked = acknowledged.get(&event.key).copied().unwrap_or(false);
        let last_step = || {
            let step = deliveries
                .iter()
                .rev()
                .find(|d| d.event == event.label)
                .map_or_else(|| "never delivered".to_owned(), |d| d.next_step.clone());
            format!("{}: {step}", event.label)
        };
        let processed = counts
            .as_ref()
            .map(|c| c.get(&event.key).copied().unwrap_or(0));
        // Given up by the provider before this run's own redelivery came: lost unless it had
        // been processed by then.
        let processed_when_given_up = counts_before_redeliveries
            .as_ref()
            .filter(|_| !acked && index < first_redelivery)
            .map(|c| c.get(&event.key).copied().unwrap_or(0));
        if processed_when_given_up == Some(0) && processed.is_some_and(|n| n > 0) {
            verdict.lost.push(Loss {
                event: event.key.clone(),
                reason: format!(
                    "{}; processed only by the redelivery this run sent after the provider had given it up",
                    last_step()
                ),
            });
            continue;
        }
        match processed {
            // Unmeasured: an acknowledgement is all there is to go by.
            None if !acked => verdict.lost.push(Loss {
                event: event.key.clone(),
                reason: last_step(),
            }),
            None => {}
            Some(0) => verdict.lost.push(Loss {
                event: event.key.clone(),
                reason: if acked {
                    format!("{}: acknowledged but never processed", event.label)
                } else {
                    last_step()
                },
            }),
            Some(times) => {
                if times > 1 {
                    verdict.duplicated.push(Duplicate {
                        event: event.key.clone(),
                        times_processed: times,
                    });
                    verdict.extra_calls += times - 1;
                }
                if !acked {
                    verdict.unacknowledged.push(Loss {
                        event: event.key.clone(),
                        reason: format!(
                            "{}; processed {times} time{}",
                            last_step(),
                            if times == 1 { "" } else { "s" }
                        ),
                    });
                }
            }
        }
    }
    for (label, key, ended) in redeliveries_refused {
        let judged = |losses: &[Loss]| losses.iter().any(|loss| loss.event == key);
        if judged(&verdict.lost) || judged(&verdict.unacknowledged) {
            continue;
        }
        verdict.unacknowledged.push(Loss {
            event: key,
            reason: format!("{label}: {ended} (a redelivery must be acknowledged, as a duplicate)"),
        });
    }
    for loss in &verdict.lost {
        output.line(&format!("LOST {} ({})", loss.event, loss.reason));
    }
    for duplicate in &verdict.duplicated {
        output.line(&format!(
            "PROCESSED {} TIMES {}",
            duplicate.times_processed, duplicate.event
        ));
    }
    for unacknowledged in &verdict.unacknowledged {
        output.line(&format!(
            "NEVER ACKNOWLEDGED {} ({})",
            unacknowledged.event, unacknowledged.reason
        ));
    }
    for forgery in &verdict.forgeries_accepted {
        output.line(&format!("FORGERY ACCEPTED {forgery}"));
    }
    for skipped in &verdict.not_applicable {
        output.line(&format!("not applicable: {skipped}"));
    }
    output.line(&format!(
        "slowest answer {} ms of the provider's {} ms timeout",
        verdict.slowest_answer_ms, verdict.provider_timeout_ms
    ));
    output.line(&format!("verdict: {}", verdict.summary()));
    Ok(Report {
        provider,
        url: settings.url.clone(),
        public_url: settings.public_url.clone(),
        speed: settings.speed,
        warnings,
        passed: verdict.passed(),
        deliveries,
        verdict,
    })
}

/// Waits, once the provider has given up on an attempt that got no answer, another timeout:
/// its handler may still finish, and then counts as processed, not lost.
fn settle(output: &Output, last_unanswered: Option<std::time::Instant>, policy: &RetryPolicy) {
    let Some(ended) = last_unanswered else {
        return;
    };
    let settle = Duration::from_secs(u64::from(policy.timeout_secs));
    if let Some(left) = settle.checked_sub(ended.elapsed()) {
        output.line(&format!(
            "waiting {} ms for handlers still running after the provider's timeout",
            left.as_millis()
        ));
        std::thread::sleep(left);
    }
}

/// Delivers until acknowledged, dropped or out of retries, sleeping the provider's delays
/// divided by `--speed` in between.
fn retrying_flow(settings: &Settings, client: &ureq::Agent, event: &Genuine) -> Vec<Delivery> {
    let policy = retry_policy(settings.provider);
    let mut flow = Vec::new();
    for attempt in 1..=policy.max_deliveries {
        let answer = deliver(client, settings.provider, &settings.url, &event.request);
        let action = answer.provider_action;
        flow.push(Delivery {
            event: event.label.clone(),
            attempt,
            next_step: next_step(&policy, attempt, action),
            answer,
        });
        if action != DeliveryResult::Retry {
            break;
        }
        let Some(delay) = retry_delay(&policy, attempt) else {
            break;
        };
        std::thread::sleep(Duration::from_secs_f64(
            f64::from(delay) / settings.speed.max(1.0),
        ));
    }
    flow
}

type Plan = (Vec<Genuine>, Vec<Forged>, Vec<String>);

/// What the table's label adds for a shape.
fn suffix(transport: Transport) -> &'static str {
    match transport {
        Transport::Body => "",
        Transport::Form => " (form)",
        Transport::Query => " (GET)",
    }
}

/// The URL requests are signed for: the receiver's public URL when it has one (Twilio signs
/// the URL it calls), with the query of the URL they are sent to (a receiver appends the
/// request's query to its `public_url`); else the URL they are sent to.
fn signing_url(settings: &Settings) -> String {
    match &settings.public_url {
        Some(public) => match settings.url.split_once('?') {
            Some((_, query)) if !query.is_empty() => format!("{public}?{query}"),
            _ => public.clone(),
        },
        None => settings.url.clone(),
    }
}

/// A request signed for the public URL, re-addressed to the URL it is delivered to, with the
/// whole query it was signed with: what a proxy in front of the receiver does. Never sent to
/// the public URL itself.
fn addressed(mut request: WebhookRequest, settings: &Settings) -> WebhookRequest {
    if settings.public_url.is_some() {
        let base = settings
            .url
            .split_once('?')
            .map_or(settings.url.as_str(), |(base, _)| base);
        let query = request
            .url
            .as_deref()
            .and_then(|url| url.split_once('?'))
            .map(|(_, query)| query.to_owned());
        request.url = Some(match query {
            Some(query) if !query.is_empty() => format!("{base}?{query}"),
            _ => base.to_owned(),
        });
    }
    request
}

/// The scenario: every kind as the provider usually sends it, then as a form and as a GET
/// where the provider sends it so (a shape is tried only when the core itself accepts it), a
/// sequential redelivery of each shape, concurrent duplicates, two statuses out of order, then
/// the forgeries — of the first kind, and of each other shape.
fn plan(settings: &Settings) -> Result<Plan, telhook_core::Error> {
    let provider = settings.provider;
    let credentials = &settings.credentials;
    let now = settings.now;
    let signed_for = signing_url(settings);
    let url = signed_for.as_str();
    let genuine_of = |label: String,
                      kind: &str,
                      serial: u64,
                      extra: &Value,
                      copies: usize|
     -> Result<Genuine, telhook_core::Error> {
        let body = unique_sample(provider, kind, serial, extra)?;
        let request = sign_for_url(provider, &body, credentials, now, None, url)?;
        let key = normalize_event(Some(provider), &request, credentials, now)?.id;
        Ok(Genuine {
            label,
            key,
            request: addressed(request, settings),
            copies,
            redelivery: false,
        })
    };
    // A kind in another shape, when the core accepts it signed that way.
    let shaped_of = |kind: &str, transport: Transport, serial: u64| -> Option<Genuine> {
        let body = unique_sample(provider, kind, serial, &Value::Null).ok()?;
        let unsigned = shaped(&body, transport, url)?;
        let request = sign_request(provider, unsigned, credentials, now, None).ok()?;
        let key = normalize_event(Some(provider), &request, credentials, now)
            .ok()?
            .id;
        Some(Genuine {
            label: format!("{kind}{}", suffix(transport)),
            key,
            request: addressed(request, settings),
            copies: 1,
            redelivery: false,
        })
    };
    let run_id = run_id();
    let kinds = event_kinds(provider);
    let mut genuine = Vec::new();
    for (index, kind) in kinds.iter().enumerate() {
        let serial = run_id + u64::try_from(index).unwrap_or(0);
        genuine.push(genuine_of(
            kind.name.to_owned(),
            kind.name,
            serial,
            &Value::Null,
            1,
        )?);
    }
    // Serials 400 on: the other shapes (100, 200, 300 are taken below).
    let mut serial = run_id + 400;
    let mut other_shapes: Vec<(&str, Transport)> = Vec::new();
    for kind in kinds {
        for transport in [Transport::Form, Transport::Query] {
            serial += 1;
            if let Some(event) = shaped_of(kind.name, transport, serial) {
                genuine.push(event);
                other_shapes.push((kind.name, transport));
            }
        }
    }
    // A redelivery of the first event, and of the first event of each other transport.
    let mut redelivered: Vec<Transport> = Vec::new();
    let mut redeliveries = Vec::new();
    for event in &genuine {
        let transport = [Transport::Query, Transport::Form]
            .into_iter()
            .find(|t| event.label.ends_with(suffix(*t)))
            .unwrap_or(Transport::Body);
        if redelivered.contains(&transport) {
            continue;
        }
        redelivered.push(transport);
        redeliveries.push(Genuine {
            label: format!("{} (redelivery)", event.label),
            key: event.key.clone(),
            request: event.request.clone(),
            copies: 1,
            redelivery: true,
        });
    }
    genuine.extend(redeliveries);
    let first_kind = kinds.first().map_or("", |k| k.name);
    genuine.push(genuine_of(
        format!("{first_kind} (3 concurrent copies)"),
        first_kind,
        run_id + 100,
        &Value::Null,
        3,
    )?);
    let mut not_applicable = Vec::new();
    match out_of_order_statuses(provider) {
        Some(steps) => {
            for (position, (kind, overrides)) in steps.iter().enumerate() {
                let order = if position == 0 {
                    "later status first"
                } else {
                    "earlier status second"
                };
                genuine.push(genuine_of(
                    format!("{kind} {} [{order}]", describe(overrides)),
                    kind,
                    run_id + 200,
                    overrides,
                    1,
                )?);
            }
        }
        None => not_applicable.push(format!(
            "out-of-order statuses: {provider} sends no status events"
        )),
    }
    let mut forged = Vec::new();
    let body = unique_sample(provider, first_kind, run_id + 300, &Value::Null)?;
    for forgery in Forgery::ALL {
        match forge_for_url(provider, &body, credentials, now, forgery, url)? {
            Some(request) => forged.push(Forged {
                label: format!("forged: {}", forgery.name()),
                key: unverified_key(provider, &request, now),
                request: addressed(request, settings),
            }),
            None => not_applicable.push(match forgery {
                Forgery::ExpiredTimestamp => {
                    format!("expired timestamp: {provider}'s configured schemes sign no timestamp")
                }
                _ => format!(
                    "{}: {provider}'s configured schemes do not sign the body",
                    forgery.name()
                ),
            }),
        }
    }
    // The other shapes are signed otherwise (Vonage's SMS API: `sig`, not the Messages API's
    // JWT): each is forged too, the first kind that has it; one its schemes cannot tell from
    // a real delivery is left out, as above.
    let mut forged_shapes: Vec<Transport> = Vec::new();
    for (kind, transport) in other_shapes {
        if forged_shapes.contains(&transport) {
            continue;
        }
        forged_shapes.push(transport);
        serial += 1;
        let body = unique_sample(provider, kind, serial, &Value::Null)?;
        let Some(unsigned) = shaped(&body, transport, url) else {
            continue;
        };
        for forgery in Forgery::ALL {
            if let Some(request) =
                forge_request(provider, unsigned.clone(), credentials, now, forgery)?
            {
                forged.push(Forged {
                    label: format!("forged: {} [{kind}{}]", forgery.name(), suffix(transport)),
                    key: unverified_key(provider, &request, now),
                    request: addressed(request, settings),
                });
            }
        }
    }
    Ok((genuine, forged, not_applicable))
}

/// A number of its own for this run, a multiple of 1000 (the plan adds small offsets), below
/// 2^53 so that an id made of it survives any JSON reader: two runs — even in the same second,
/// with the same `--now` — never share an event id, so a dedupe store that outlives a run
/// cannot answer the next one "duplicate".
fn run_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    (hasher.finish() % 1_000_000_000_000) * 1000
}

fn describe(overrides: &Value) -> String {
    // The texts at any depth: Telnyx's status sits in data.payload.to[0].status.
    fn texts<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::String(text) => out.push(text),
            Value::Array(items) => items.iter().for_each(|item| texts(item, out)),
            Value::Object(fields) => fields.values().for_each(|field| texts(field, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    texts(overrides, &mut out);
    out.join(" ")
}

/// The id a forged request's event would have, read without verifying it (`None` when its
/// body is not the provider's, as a tampered one may be).
fn unverified_key(provider: Provider, request: &WebhookRequest, now: i64) -> Option<String> {
    let unverified = Credentials::insecure_skip_verification();
    normalize_event(Some(provider), request, &unverified, now)
        .ok()
        .map(|event| event.id)
}

/// How long the counts wait for an inbox's worker to process what it stored.
const INBOX_WORKER_WAIT: Duration = Duration::from_secs(30);
/// How long a worker's late duplicate may take to show once every stored event has run.
const INBOX_QUIET: Duration = Duration::from_secs(1);

/// The counts, once every event an inbox stored (`queued`) has been processed by its worker,
/// or [`INBOX_WORKER_WAIT`] has passed: read at once, every queued event was "lost" (a review
/// ran the README's inbox under its worker, which processed each event once, and got 11 lost).
/// After they are all in, one more reading a moment later, so a worker's duplicate shows.
fn counts_once_processed(
    client: &ureq::Agent,
    url: &str,
    queued: &BTreeSet<String>,
    output: &Output,
) -> Result<BTreeMap<String, u64>, telhook_core::Error> {
    let mut counts = fetch_counts(client, url)?;
    let processed = |counts: &BTreeMap<String, u64>| {
        queued
            .iter()
            .all(|key| counts.get(key).is_some_and(|n| *n > 0))
    };
    if queued.is_empty() {
        return Ok(counts);
    }
    let started = std::time::Instant::now();
    if !processed(&counts) {
        output.line(&format!(
            "waiting up to {} s for {} events processed after their answer (stored by an inbox, or whose handler outlived the provider's timeout)",
            INBOX_WORKER_WAIT.as_secs(),
            queued.len()
        ));
    }
    while !processed(&counts) && started.elapsed() < INBOX_WORKER_WAIT {
        std::thread::sleep(Duration::from_millis(200));
        counts = fetch_counts(client, url)?;
    }
    std::thread::sleep(INBOX_QUIET);
    fetch_counts(client, url)
}

/// The endpoint's processing counts: `{"<event id>": n, …}` or a list of processed ids.
fn fetch_counts(
    client: &ureq::Agent,
    url: &str,
) -> Result<BTreeMap<String, u64>, telhook_core::Error> {
    let invalid = |reason: &str| telhook_core::Error::InvalidRequest {
        reason: format!("--count-url: {reason}"),
    };
    let mut response = client
        .get(url)
        .call()
        .map_err(|_| invalid("the endpoint did not answer"))?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|_| invalid("the answer is not text"))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|_| invalid("expected JSON: {id: count} or [id, …]"))?;
    let mut counts = BTreeMap::new();
    match value {
        Value::Object(fields) => {
            for (key, count) in fields {
                let count = count
                    .as_u64()
                    .ok_or_else(|| invalid("counts must be non-negative integers"))?;
                counts.insert(key, count);
            }
        }
        Value::Array(ids) => {
            for id in ids {
                let id = id.as_str().ok_or_else(|| invalid("ids must be strings"))?;
                *counts.entry(id.to_owned()).or_insert(0) += 1;
            }
        }
        _ => return Err(invalid("expected JSON: {id: count} or [id, …]")),
    }
    Ok(counts)
}
