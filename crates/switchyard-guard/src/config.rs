//! [`GuardConfig`] (the `[guard]` section) and [`Action`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What the guard does with a finding.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Ignore it (do not even record it).
    #[default]
    Off,
    /// Forward the request unchanged; record the finding.
    Log,
    /// Replace the value with `[REDACTED:<kind>]` before forwarding; record it.
    Redact,
    /// Refuse the request with a 403; record it.
    Block,
}

impl Action {
    /// The name used in config, journals and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Off => "off",
            Action::Log => "log",
            Action::Redact => "redact",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[guard]` section: the default action, per-kind overrides, an allow-list.
///
/// ```toml
/// [guard]
/// mode = "redact"                     # off | log | redact | block
/// allow = ['@example\.com$']          # regexes; a value that matches one is no finding
/// [guard.actions]
/// email = "log"                       # a kind's own action
/// private_key = "block"
/// pii = "log"                         # or a group: `pii`, `credentials`
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// The action for every kind without its own (`off`: the guard does not run).
    pub mode: Action,
    /// Actions by kind name (`email`, `aws_access_key` ...) or group (`pii`, `credentials`).
    pub actions: BTreeMap<String, Action>,
    /// Regexes; a found value that matches any of them is not a finding.
    pub allow: Vec<String>,
}
