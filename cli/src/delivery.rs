//! Sending signed requests the way a provider does: one POST with the provider's timeout,
//! classified by the provider's own retry policy from the core.

use std::time::{Duration, Instant};

use serde::Serialize;
use telhook_core::sign::target_url;
use telhook_core::{retry_policy, DeliveryResult, Provider, RetryPolicy, WebhookRequest};

/// What one attempt got back.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The HTTP status, or `None` when no answer came (timeout, refused connection).
    pub status: Option<u16>,
    /// Why no status came; never includes the request.
    pub failure: Option<String>,
    pub latency_ms: u64,
    /// What the receiver said it did, when it answers as telhook's receivers do
    /// (`{"outcome": "accepted" | "duplicate"}` or `{"error": "<code>"}`).
    pub outcome: Option<String>,
    /// What the provider does with this answer.
    pub provider_action: DeliveryResult,
}

impl Answer {
    /// The status and the receiver's outcome (`200 duplicate`), or why no status came.
    pub fn text(&self) -> String {
        match (self.status, &self.failure) {
            (Some(status), _) => match &self.outcome {
                Some(outcome) => format!("{status} {outcome}"),
                None => status.to_string(),
            },
            (None, Some(failure)) => failure.clone(),
            (None, None) => "-".to_owned(),
        }
    }
}

/// The outcome or error code of a telhook receiver's answer; `None` for any other body.
fn outcome_of(body: &str) -> Option<String> {
    telhook_core::receive::answer_code_of(body.trim_end())
}

/// An HTTP client configured like the provider: its timeout, statuses not treated as errors.
pub fn agent(policy: &RetryPolicy) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(u64::from(policy.timeout_secs))))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// One delivery attempt of `request` to `base_url`, with the request's method (GET or POST).
pub fn deliver(
    agent: &ureq::Agent,
    provider: Provider,
    base_url: &str,
    request: &WebhookRequest,
) -> Answer {
    let policy = retry_policy(provider);
    let url = target_url(base_url, request);
    let started = Instant::now();
    // A GET (Vonage's SMS API, Twilio's Voice set to GET) carries its parameters in the URL.
    let result = if request.method.eq_ignore_ascii_case("GET") {
        let mut builder = agent.get(url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.call()
    } else {
        let mut builder = agent.post(url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.send(&request.body[..])
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_string()
                .unwrap_or_default();
            Answer {
                status: Some(status),
                failure: None,
                latency_ms,
                outcome: outcome_of(&body),
                provider_action: policy.classify(status),
            }
        }
        Err(error) => Answer {
            status: None,
            failure: Some(match error {
                ureq::Error::Timeout(_) => format!("no answer within {} s", policy.timeout_secs),
                ureq::Error::Io(io) => format!("connection failed: {}", io.kind()),
                other => format!("request failed: {other}"),
            }),
            latency_ms,
            outcome: None,
            // No answer is a failed attempt for every provider.
            provider_action: DeliveryResult::Retry,
        },
    }
}

/// The provider's next step after attempt number `attempt` (1-based), in words.
pub fn next_step(policy: &RetryPolicy, attempt: u32, action: DeliveryResult) -> String {
    match action {
        DeliveryResult::Acknowledged => "acknowledged".to_owned(),
        DeliveryResult::PermanentFailure => "dropped (permanent failure)".to_owned(),
        DeliveryResult::Retry => match retry_delay(policy, attempt) {
            Some(delay) => format!(
                "retry at T+{} (delivery {} of {})",
                human_duration(delay),
                attempt + 1,
                policy.max_deliveries
            ),
            None if policy.max_deliveries <= 1 => "dropped (no retries)".to_owned(),
            None => "dropped (retries exhausted)".to_owned(),
        },
    }
}

/// The delay before the retry that follows attempt `attempt` (1-based), if any is left.
pub fn retry_delay(policy: &RetryPolicy, attempt: u32) -> Option<u32> {
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    policy.retry_delays_secs.get(index).copied()
}

fn human_duration(seconds: u32) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_is_read_from_telhooks_answers_only() {
        assert_eq!(
            outcome_of(r#"{"outcome":"duplicate"}"#).as_deref(),
            Some("duplicate")
        );
        assert_eq!(
            outcome_of(r#"{"error":"handler_failed"}"#).as_deref(),
            Some("handler_failed")
        );
        assert_eq!(outcome_of("ok"), None);
        assert_eq!(outcome_of(r#"{"outcome":"Some text, not a code"}"#), None);
        // Twilio's acknowledging answer: empty TwiML, the code in a comment.
        let twilio = telhook_core::decide(&telhook_core::Step::Handled {
            provider: telhook_core::Provider::Twilio,
            result: telhook_core::receive::HandlerResult::Outcome {
                outcome: telhook_core::HandlerOutcome::Ok,
            },
        });
        assert!(twilio.body.ends_with("<Response/>"), "{}", twilio.body);
        assert_eq!(outcome_of(&twilio.body).as_deref(), Some("accepted"));
        assert_eq!(outcome_of("<?xml version=\"1.0\"?><Response/>"), None);
    }

    #[test]
    fn next_step_follows_the_providers_schedule() {
        let lisoloo = retry_policy(Provider::Lisoloo);
        assert_eq!(
            next_step(&lisoloo, 1, DeliveryResult::Retry),
            "retry at T+30s (delivery 2 of 5)"
        );
        assert_eq!(
            next_step(&lisoloo, 4, DeliveryResult::Retry),
            "retry at T+1h (delivery 5 of 5)"
        );
        assert_eq!(
            next_step(&lisoloo, 5, DeliveryResult::Retry),
            "dropped (retries exhausted)"
        );
        assert_eq!(
            next_step(&lisoloo, 1, lisoloo.classify(400)),
            "dropped (permanent failure)"
        );
        let did = retry_policy(Provider::DidReseller);
        assert_eq!(
            next_step(&did, 1, DeliveryResult::Retry),
            "dropped (no retries)"
        );
    }
}
