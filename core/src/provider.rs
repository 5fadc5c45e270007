//! The provider names and the shape of what each provider's file declares about it (its retry
//! schedule): a leaf module (it imports only the error type), so every other module can name a
//! provider without depending on the providers' code — `event.rs` did, and
//! `providers/` depends on `event.rs`: the one import cycle the crate had
//! (`core/tests/module_graph.rs` keeps it from coming back).

use alloc::string::{String, ToString};
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The registry of providers: one line each, `module Variant`. The module is
/// `providers/<module>.rs`, which declares everything about its provider in a `SPEC`
/// (see `providers::Spec`), and the module's name is the provider's stable name. Adding a
/// provider is that file plus one line here; the enum, its names, the module declarations,
/// the `Payload` variants and the dispatch are generated from this list.
macro_rules! each_provider {
    ($then:ident) => {
        $then! {
            looplookup LoopLookup,
            did_reseller DidReseller,
            limephone LimePhone,
            lisoloo Lisoloo,
            gatewayapi GatewayApi,
            vonage Vonage,
            telnyx Telnyx,
            twilio Twilio,
        }
    };
}
pub(crate) use each_provider;

macro_rules! define_provider_enum {
    ($($module:ident $variant:ident,)*) => {
        /// The supported providers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Provider {
            $($variant,)*
        }

        impl Provider {
            /// Every provider's stable name, in [`Provider::ALL`]'s order.
            pub const NAMES: [&'static str; [$(stringify!($module)),*].len()] =
                [$(stringify!($module)),*];

            pub const ALL: [Provider; Provider::NAMES.len()] = [$(Provider::$variant),*];

            /// The stable name used in events, vectors and every binding.
            pub fn name(self) -> &'static str {
                match self {
                    $(Provider::$variant => stringify!($module),)*
                }
            }
        }
    };
}
each_provider!(define_provider_enum);

impl Provider {
    /// Looks a provider up by name; case, `-` and `_` are ignored (`GatewayAPI`, `did-reseller`).
    pub fn from_name(name: &str) -> Result<Provider> {
        // ASCII, compared byte by byte: every name is ASCII, and Unicode's case and space
        // tables were most of what a JS runtime compiled for this in `new Receiver`.
        fn squashed(name: &str) -> impl Iterator<Item = u8> + '_ {
            name.bytes()
                .filter(|b| !matches!(b, b'_' | b'-'))
                .map(|b| b.to_ascii_lowercase())
        }
        let wanted = name.trim_ascii();
        Provider::ALL
            .into_iter()
            .find(|p| squashed(p.name()).eq(squashed(wanted)))
            .ok_or_else(|| Error::UnknownProvider {
                name: name.to_string(),
                known: &Provider::NAMES,
            })
    }
}

/// `"twilio".parse::<Provider>()`, as [`Provider::from_name`].
impl core::str::FromStr for Provider {
    type Err = Error;

    fn from_str(name: &str) -> Result<Provider> {
        Provider::from_name(name)
    }
}

impl Provider {
    /// The JSON form a binding or vector names a provider in: a name, or `null` to detect.
    pub fn from_json(value: &serde_json::Value) -> Result<Option<Provider>> {
        match value {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(name) => Provider::from_name(name).map(Some),
            _ => Err(Error::InvalidRequest {
                reason: String::from("provider must be a string or null"),
            }),
        }
    }
}

/// By name, exactly as [`Provider::name`] spells it.
impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// By exact name only (as a derived enum would read its renamed variants); lenient lookup is
/// [`Provider::from_name`].
impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> core::result::Result<Self, D::Error> {
        struct NameVisitor;
        impl serde::de::Visitor<'_> for NameVisitor {
            type Value = Provider;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a provider name")
            }
            fn visit_str<E: serde::de::Error>(
                self,
                name: &str,
            ) -> core::result::Result<Provider, E> {
                Provider::ALL
                    .into_iter()
                    .find(|p| p.name() == name)
                    .ok_or_else(|| E::unknown_variant(name, &Provider::NAMES))
            }
        }
        deserializer.deserialize_str(NameVisitor)
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
    /// True when two identical deliveries can be two real events: the payload carries no
    /// event id, time or sequence, so its id is a hash of the body. Its dedupe window then
    /// covers the redeliveries only (no 24 h floor), or it would swallow real repeats.
    pub identical_bodies_can_be_new_events: bool,
}

/// Long enough for every provider whose ids tell real repeats from redeliveries.
const MIN_DEDUPE_TTL_SECS: u32 = 24 * 60 * 60;

impl RetrySchedule {
    /// First delivery plus every retry.
    pub const fn max_deliveries(&self) -> u32 {
        self.retry_delays_secs.len() as u32 + 1
    }

    /// The delays summed: when the last redelivery comes at the earliest after the first
    /// attempt (0 for a provider that sends none).
    pub const fn last_redelivery_secs(&self) -> u32 {
        let mut delays = 0u32;
        let mut remaining = self.retry_delays_secs;
        while let [first, rest @ ..] = remaining {
            delays += *first;
            remaining = rest;
        }
        delays
    }

    /// Worst case from first delivery to last retry: the delays plus a timeout per attempt.
    pub const fn retry_horizon_secs(&self) -> u32 {
        self.last_redelivery_secs() + self.max_deliveries() * self.timeout_secs
    }

    /// How long a receiver must remember an idempotency key to catch every redelivery:
    /// twice the horizon, and at least 24 h — except for a provider whose identical bodies can
    /// be new events (the DID reseller), where it is twice the horizon only: a longer window
    /// would answer a real repeat "duplicate".
    pub const fn dedupe_ttl_secs(&self) -> u32 {
        let doubled = self.retry_horizon_secs() * 2;
        if self.identical_bodies_can_be_new_events || doubled > MIN_DEDUPE_TTL_SECS {
            doubled
        } else {
            MIN_DEDUPE_TTL_SECS
        }
    }
}
