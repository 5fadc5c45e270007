//! Each provider's redelivery behaviour, and the HTTP status a receiver should answer.

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::provider::Provider;
pub use crate::provider::{RetrySchedule, StatusRange};

/// What the provider does with the HTTP status a receiver answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryResult {
    /// The event counts as delivered; no retry.
    Acknowledged,
    /// The event is dropped without retry.
    PermanentFailure,
    /// The event will be sent again (until the schedule runs out).
    Retry,
}

/// How a provider redelivers webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    pub provider: Provider,
    /// False when the provider documents no retry behaviour and these are assumptions.
    pub documented: bool,
    /// How long the provider waits for an answer before counting the attempt as failed.
    pub timeout_secs: u32,
    /// Delay before each redelivery after a failed attempt, in order.
    pub retry_delays_secs: &'static [u32],
    /// True when the provider randomizes the delays (they are then typical values).
    pub jitter: bool,
    /// First delivery plus every retry.
    pub max_deliveries: u32,
    /// Worst case from first delivery to last retry: the delays plus a timeout per attempt.
    pub retry_horizon_secs: u32,
    /// How long a receiver must remember an idempotency key to catch every redelivery:
    /// twice the horizon, and at least 24 h — except for a provider whose identical bodies can
    /// be new events (the DID reseller), where it is twice the horizon only: a longer window
    /// would answer a real repeat "duplicate". Receivers let a user who knows better set it.
    pub dedupe_ttl_secs: u32,
    /// How long a dedupe claim of a delivery still being handled holds off redeliveries. A
    /// worker that dies mid-handler leaves its claim behind; the lease lets a later
    /// redelivery take over. It is shorter than the time to the provider's last redelivery,
    /// so a crashed attempt never costs the event (tested for every provider).
    pub in_progress_lease_secs: u32,
    /// Statuses that acknowledge.
    pub ack_statuses: StatusRange,
    /// Statuses that drop the event without retry (if the provider has any).
    pub permanent_failure_statuses: Option<StatusRange>,
}

/// Long enough for any handler that answers within a provider's timeout (5-15 s) many times
/// over; short enough that every provider with retries still redelivers after it expires.
const IN_PROGRESS_LEASE_SECS: u32 = 300;

/// The lease of a provider: [`IN_PROGRESS_LEASE_SECS`], or half the time to its last
/// redelivery when that is shorter (Telnyx redelivers within seconds): a crashed attempt's
/// claim must expire while redeliveries still come, or the event is lost.
const fn in_progress_lease_secs(schedule: &RetrySchedule) -> u32 {
    let delays = schedule.last_redelivery_secs();
    if delays == 0 || delays / 2 >= IN_PROGRESS_LEASE_SECS {
        IN_PROGRESS_LEASE_SECS
    } else {
        delays / 2
    }
}

impl RetryPolicy {
    const fn new(provider: Provider, schedule: &RetrySchedule) -> Self {
        let RetrySchedule {
            documented,
            timeout_secs,
            retry_delays_secs,
            jitter,
            ack_statuses,
            permanent_failure_statuses,
            ..
        } = *schedule;
        RetryPolicy {
            provider,
            documented,
            timeout_secs,
            retry_delays_secs,
            jitter,
            max_deliveries: schedule.max_deliveries(),
            retry_horizon_secs: schedule.retry_horizon_secs(),
            dedupe_ttl_secs: schedule.dedupe_ttl_secs(),
            in_progress_lease_secs: in_progress_lease_secs(schedule),
            ack_statuses,
            permanent_failure_statuses,
        }
    }

    /// What the provider will do when the receiver answers `status`.
    pub fn classify(&self, status: u16) -> DeliveryResult {
        if self.ack_statuses.contains(status) {
            DeliveryResult::Acknowledged
        } else if self
            .permanent_failure_statuses
            .is_some_and(|r| r.contains(status))
        {
            DeliveryResult::PermanentFailure
        } else {
            DeliveryResult::Retry
        }
    }
}

/// The redelivery policy of `provider`, from the schedule its file declares.
pub fn retry_policy(provider: Provider) -> RetryPolicy {
    RetryPolicy::new(provider, crate::providers::retry_schedule(provider))
}

/// What happened to a request on the receiver's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Verified, normalized and handed to the application (or queued).
    Accepted,
    /// Verified, but the idempotency key was seen before.
    Duplicate,
    /// Authentication failed.
    VerificationFailed,
    /// Authentic (or unchecked) but unreadable.
    Malformed,
    /// The receiver failed (storage down, misconfiguration): the event must come again.
    InternalError,
}

impl Outcome {
    /// Every outcome, for the vocabularies generated from the core.
    pub const ALL: [Outcome; 5] = [
        Outcome::Accepted,
        Outcome::Duplicate,
        Outcome::VerificationFailed,
        Outcome::Malformed,
        Outcome::InternalError,
    ];
}

impl Outcome {
    /// The outcome an error stands for. Configuration errors are the receiver's fault, so
    /// they ask for a retry instead of losing real events while someone fixes the config.
    pub fn from_error(error: &Error) -> Self {
        Self::from_kind(error.kind())
    }

    /// The outcome for an error family (bindings that only kept the kind).
    pub fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Verification => Outcome::VerificationFailed,
            ErrorKind::Parse | ErrorKind::Request => Outcome::Malformed,
            ErrorKind::Configuration => Outcome::InternalError,
        }
    }
}

/// The answer to give the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub status: u16,
    /// What the provider will do with that status.
    pub provider_action: DeliveryResult,
}

/// The HTTP status to answer for `outcome`.
///
/// Accepted and duplicate events are acknowledged with 200, which every provider accepts
/// (LoopLookup and LimePhone accept nothing else). A forged or unreadable request gets a
/// 4xx: it stops Lisoloo for good (4xx is permanent there); elsewhere the provider has no
/// permanent failure status, and a forger never retries anyway. An internal failure gets
/// 500 so that real events come again once the receiver recovers.
pub fn ack(provider: Provider, outcome: Outcome) -> Ack {
    let status = ack_status(outcome);
    Ack {
        status,
        provider_action: retry_policy(provider).classify(status),
    }
}

/// The status alone, for when no provider could be determined (detection failed).
pub fn ack_status(outcome: Outcome) -> u16 {
    match outcome {
        Outcome::Accepted | Outcome::Duplicate => 200,
        Outcome::VerificationFailed => 401,
        Outcome::Malformed => 400,
        Outcome::InternalError => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looplookup_schedule_is_thirty_retries_over_about_three_hours() {
        let policy = retry_policy(Provider::LoopLookup);
        assert_eq!(policy.max_deliveries, 31);
        assert_eq!(
            policy.retry_delays_secs.iter().sum::<u32>(),
            10 * 30 + 10 * 180 + 10 * 900
        );
        assert_eq!(policy.retry_horizon_secs, 11_100 + 31 * 15);
        assert!(policy.dedupe_ttl_secs >= policy.retry_horizon_secs + policy.timeout_secs);
        assert_eq!(policy.classify(201), DeliveryResult::Retry);
    }

    #[test]
    fn lisoloo_4xx_is_permanent_and_ack_uses_it_for_forgeries() {
        let forged = ack(Provider::Lisoloo, Outcome::VerificationFailed);
        assert_eq!(
            forged,
            Ack {
                status: 401,
                provider_action: DeliveryResult::PermanentFailure
            }
        );
        let failed = ack(Provider::Lisoloo, Outcome::InternalError);
        assert_eq!(failed.provider_action, DeliveryResult::Retry);
    }

    #[test]
    fn a_crashed_claim_expires_before_every_provider_stops_redelivering() {
        for provider in Provider::ALL {
            let policy = retry_policy(provider);
            let last_redelivery: u32 = policy.retry_delays_secs.iter().sum();
            if policy.retry_delays_secs.is_empty() {
                continue; // no redeliveries to wait for (the DID reseller documents none)
            }
            assert!(
                policy.in_progress_lease_secs < last_redelivery,
                "{provider:?}: lease outlives the schedule"
            );
            assert!(policy.in_progress_lease_secs > 4 * policy.timeout_secs);
        }
    }

    #[test]
    fn gatewayapi_horizon_reaches_a_day() {
        let policy = retry_policy(Provider::GatewayApi);
        assert!(policy.retry_horizon_secs >= 24 * 3600);
        assert!(policy.dedupe_ttl_secs >= policy.retry_horizon_secs + policy.timeout_secs);
    }
}
