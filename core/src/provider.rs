//! The provider names and the shape of what each provider's file declares about it (its retry
//! schedule): a leaf module (it imports only the error type), so every other module can name a
//! provider without depending on the providers' code — `event.rs` did, and
//! `providers/` depends on `event.rs`: the one import cycle the crate had
//! (`core/tests/module_graph.rs` keeps it from coming back).

use alloc::string::{String, ToString};
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The supported providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Provider {
    #[serde(rename = "looplookup")]
    LoopLookup,
    #[serde(rename = "did_reseller")]
    DidReseller,
    #[serde(rename = "limephone")]
    LimePhone,
    #[serde(rename = "lisoloo")]
    Lisoloo,
    #[serde(rename = "gatewayapi")]
    GatewayApi,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Provider::LoopLookup,
        Provider::DidReseller,
        Provider::LimePhone,
        Provider::Lisoloo,
        Provider::GatewayApi,
    ];

    /// The stable name used in events, vectors and every binding.
    pub fn name(self) -> &'static str {
        match self {
            Provider::LoopLookup => "looplookup",
            Provider::DidReseller => "did_reseller",
            Provider::LimePhone => "limephone",
            Provider::Lisoloo => "lisoloo",
            Provider::GatewayApi => "gatewayapi",
        }
    }

    /// Looks a provider up by name; case, `-` and `_` are ignored (`GatewayAPI`, `did-reseller`).
    pub fn from_name(name: &str) -> Result<Provider> {
        let squash = |s: &str| -> String {
            s.chars()
                .filter(|c| *c != '_' && *c != '-')
                .flat_map(char::to_lowercase)
                .collect()
        };
        let wanted = squash(name.trim());
        Provider::ALL
            .into_iter()
            .find(|p| squash(p.name()) == wanted)
            .ok_or_else(|| Error::UnknownProvider {
                name: name.to_string(),
            })
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    pub min: u16,
    pub max: u16,
}

impl StatusRange {
    pub const fn contains(self, status: u16) -> bool {
        status >= self.min && status <= self.max
    }
}

impl StatusRange {
    pub const ONLY_200: StatusRange = StatusRange { min: 200, max: 200 };
    pub const ANY_2XX: StatusRange = StatusRange { min: 200, max: 299 };
    pub const ANY_4XX: StatusRange = StatusRange { min: 400, max: 499 };
}

/// How a provider redelivers, as its file declares it (`providers/<name>.rs`, `RETRY`);
/// `retry.rs` derives the rest (horizon, dedupe TTL, lease) the same way for every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// False when the provider documents no retry behaviour and these are assumptions.
    pub documented: bool,
    /// How long the provider waits for an answer before counting the attempt as failed.
    pub timeout_secs: u32,
    /// Delay before each redelivery after a failed attempt, in order.
    pub retry_delays_secs: &'static [u32],
    /// True when the provider randomizes the delays (they are then typical values).
    pub jitter: bool,
    /// Statuses that acknowledge.
    pub ack_statuses: StatusRange,
    /// Statuses that drop the event without retry (if the provider has any).
    pub permanent_failure_statuses: Option<StatusRange>,
}
