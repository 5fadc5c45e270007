//! The provider names: a leaf module (it imports only the error type), so every other module
//! can name a provider without depending on the providers' code — `event.rs` did, and
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
