//! What logins remember between each other: the last accepted time step (replay), the times
//! of recent checks (rate limit) and remembered hosts.

use serde::{Deserialize, Serialize};

/// Replay, rate-limit and remembered-host state, kept in the same file so one write updates
/// everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginState {
    /// Highest time step accepted so far; codes at or below it are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<u64>,
    /// Unix times of recent code checks, oldest first.
    #[serde(default)]
    pub checks: Vec<u64>,
    /// Hosts a code was given from (`remember=`), most recent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remembered: Vec<crate::remember::RememberedHost>,
}
