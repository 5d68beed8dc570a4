//! The `[limits]` configuration and the [`Policy`] built from it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};
use switchyard_core::{Cost, Quota};

use crate::lease::LeaseOptions;

/// What to do when the shared store (Redis) cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStoreError {
    /// Admit the request uncounted and count the failure in
    /// `switchyard_limit_store_errors_total` (the default).
    #[default]
    Open,
    /// Refuse with 503 in the client's shape.
    Closed,
}

/// Rates and budgets of one key or team (`[limits.keys]`, `[limits.teams.<team>]`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute.
    pub tpm: Option<u64>,
    /// USD per UTC day.
    pub budget_daily_usd: Option<f64>,
    /// USD per UTC calendar month.
    pub budget_monthly_usd: Option<f64>,
}

/// Rates of the models a glob matches, each model counted on its own (`[limits.models."<glob>"]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateConfig {
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute.
    pub tpm: Option<u64>,
}

/// The `[limits]` table.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Share limits with other instances through this Redis (`redis://host:port/db`);
    /// unset: counters in memory. A change needs a restart.
    pub redis_url: Option<String>,
    /// When Redis cannot be reached: `open` (admit, count the error) or `closed` (503).
    pub on_redis_error: OnStoreError,
    /// How often local allowances are synchronised with Redis, in milliseconds.
    pub sync_interval_ms: u64,
    /// The share of a limit an instance takes from Redis at once (0 < x <= 1).
    pub lease_fraction: f64,
    /// Output tokens reserved for a request that sets no `max_tokens`.
    pub default_max_tokens: u64,
    /// End a stream whose running cost crosses the budget left, with an error event.
    pub cutoff_streams: bool,
    /// Defaults for every client key; a key's own quota overrides them field by field.
    pub keys: QuotaConfig,
    /// Per team.
    pub teams: BTreeMap<String, QuotaConfig>,
    /// Per model, by glob on the routed model name; the first matching glob (in
    /// name order) applies.
    pub models: BTreeMap<String, RateConfig>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            redis_url: None,
            on_redis_error: OnStoreError::Open,
            sync_interval_ms: 100,
            lease_fraction: 0.05,
            default_max_tokens: 4096,
            cutoff_streams: false,
            keys: QuotaConfig::default(),
            teams: BTreeMap::new(),
            models: BTreeMap::new(),
        }
    }
}

/// The limits of one request's key, team and model, ready to check: built
/// once per configuration.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub(crate) keys: Quota,
    pub(crate) teams: HashMap<String, Quota>,
    pub(crate) models: Vec<(GlobMatcher, RateConfig)>,
    pub(crate) default_max_tokens: u64,
    pub(crate) cutoff_streams: bool,
    pub(crate) fail_open: bool,
}

impl QuotaConfig {
    fn quota(&self, at: &str) -> Result<Quota, String> {
        let usd = |name: &str, v: Option<f64>| -> Result<Option<Cost>, String> {
            match v {
                Some(x) if !(x.is_finite() && x >= 0.0) => Err(format!(
                    "{at}: `{name}` must be a number of USD >= 0, got {x}"
                )),
                Some(x) => Ok(Some(Cost::from_usd(x))),
                None => Ok(None),
            }
        };
        Ok(Quota {
            requests_per_minute: self.rpm,
            tokens_per_minute: self.tpm,
            budget_daily: usd("budget_daily_usd", self.budget_daily_usd)?,
            budget_monthly: usd("budget_monthly_usd", self.budget_monthly_usd)?,
        })
    }
}

impl LimitsConfig {
    /// Checks the values and builds the policy.
    pub fn policy(&self) -> Result<Policy, String> {
        self.lease_options()?;
        if let Some(url) = &self.redis_url {
            // The URL may hold a password: the error names the problem, not the URL.
            redis::Client::open(url.as_str()).map_err(|e| format!("[limits]: `redis_url`: {e}"))?;
        }
        let mut models = Vec::with_capacity(self.models.len());
        for (glob, rates) in &self.models {
            let m = Glob::new(glob)
                .map_err(|e| format!("[limits.models.\"{glob}\"]: {e}"))?
                .compile_matcher();
            models.push((m, rates.clone()));
        }
        let mut teams = HashMap::with_capacity(self.teams.len());
        for (team, q) in &self.teams {
            teams.insert(team.clone(), q.quota(&format!("[limits.teams.{team}]"))?);
        }
        Ok(Policy {
            keys: self.keys.quota("[limits.keys]")?,
            teams,
            models,
            default_max_tokens: self.default_max_tokens,
            cutoff_streams: self.cutoff_streams,
            fail_open: self.on_redis_error == OnStoreError::Open,
        })
    }

    /// The lease options for a shared store.
    pub fn lease_options(&self) -> Result<LeaseOptions, String> {
        if !(self.lease_fraction > 0.0 && self.lease_fraction <= 1.0) {
            return Err(format!(
                "[limits]: `lease_fraction` must be in (0, 1], got {}",
                self.lease_fraction
            ));
        }
        if !(10..=10_000).contains(&self.sync_interval_ms) {
            return Err(format!(
                "[limits]: `sync_interval_ms` must be between 10 and 10000, got {}",
                self.sync_interval_ms
            ));
        }
        let sync = Duration::from_millis(self.sync_interval_ms);
        Ok(LeaseOptions {
            slice: self.lease_fraction,
            sync_interval: sync,
            idle_return: sync * 5,
        })
    }
}

impl Policy {
    /// A policy from the configuration (see [`LimitsConfig::policy`]).
    pub fn new(config: &LimitsConfig) -> Result<Policy, String> {
        config.policy()
    }

    /// The rates of the first glob matching `model`.
    pub(crate) fn model(&self, model: &str) -> Option<&RateConfig> {
        self.models
            .iter()
            .find(|(m, _)| m.is_match(model))
            .map(|(_, r)| r)
    }

    /// Whether any limit is configured (keys may still bring their own).
    pub fn is_empty(&self) -> bool {
        self.keys == Quota::default() && self.teams.is_empty() && self.models.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let c: LimitsConfig = toml::from_str(
            r#"
            on_redis_error = "closed"
            [keys]
            rpm = 60
            [teams.ml]
            tpm = 1000
            budget_daily_usd = 2.5
            [models."gpt-4o*"]
            rpm = 5
            "#,
        )
        .unwrap();
        let p = c.policy().unwrap();
        assert!(!p.fail_open);
        assert_eq!(p.keys.requests_per_minute, Some(60));
        assert_eq!(p.teams["ml"].budget_daily, Some(Cost::from_usd(2.5)));
        assert_eq!(p.model("gpt-4o-mini").unwrap().rpm, Some(5));
        assert!(p.model("claude").is_none());
        let bad = |s: &str| {
            toml::from_str::<LimitsConfig>(s)
                .map_err(|e| e.to_string())
                .and_then(|c| c.policy().map(|_| ()))
        };
        assert!(
            bad("lease_fraction = 0.0")
                .unwrap_err()
                .contains("lease_fraction")
        );
        assert!(
            bad("sync_interval_ms = 1")
                .unwrap_err()
                .contains("sync_interval_ms")
        );
        assert!(
            bad("[teams.a]\nbudget_daily_usd = -1.0")
                .unwrap_err()
                .contains("budget_daily_usd")
        );
        assert!(bad("[models.\"a[\"]\nrpm = 1").unwrap_err().contains("a["));
        assert!(
            bad("on_redis_error = \"maybe\"")
                .unwrap_err()
                .contains("maybe")
        );
        assert!(bad("rpm = 3").unwrap_err().contains("rpm"));
        assert!(
            bad("redis_url = \"http://x\"")
                .unwrap_err()
                .contains("redis_url")
        );
        assert!(bad("redis_url = \"redis://127.0.0.1:1/0\"").is_ok());
    }
}
