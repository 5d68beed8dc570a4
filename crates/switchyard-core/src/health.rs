//! [`TargetHealth`]: the health signal routes read and failover writes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::context::Candidate;

/// Whether a target (provider + model) should get traffic now.
///
/// Read by health-aware route strategies; written by whoever watches
/// outcomes (a failover layer's circuit breakers, a health checker). Keep
/// implementations cheap: routes ask once per target per request.
pub trait TargetHealth: Send + Sync + fmt::Debug {
    /// Whether `provider` serving `model` is believed healthy.
    fn is_healthy(&self, provider: &str, model: &str) -> bool;
}

/// A shared, writable [`TargetHealth`]: targets or whole providers marked
/// down until an instant, or until marked up again. Cloning shares it.
///
/// ```
/// use std::time::{Duration, Instant};
/// use switchyard_core::{HealthBoard, TargetHealth};
/// let board = HealthBoard::new();
/// board.mark_down("openai", Some("gpt-4o"), Instant::now() + Duration::from_secs(30));
/// assert!(!board.is_healthy("openai", "gpt-4o"));
/// assert!(board.is_healthy("openai", "gpt-4o-mini"));
/// board.mark_down("local", None, Instant::now() + Duration::from_secs(30));
/// assert!(!board.is_healthy("local", "llama3"));
/// board.mark_up("local", None);
/// assert!(board.is_healthy("local", "llama3"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct HealthBoard {
    down: Arc<RwLock<DownMap>>,
}

/// (provider, model or all its models) -> down until.
type DownMap = HashMap<(Arc<str>, Option<Arc<str>>), Instant>;

impl HealthBoard {
    /// A board where everything is healthy.
    pub fn new() -> Self {
        HealthBoard::default()
    }

    /// Marks `provider` (all its models when `model` is `None`) down until `until`.
    pub fn mark_down(&self, provider: &str, model: Option<&str>, until: Instant) {
        let key = (Arc::from(provider), model.map(Arc::from));
        self.down
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, until);
    }

    /// Marks `provider` (or one of its models) healthy again.
    pub fn mark_up(&self, provider: &str, model: Option<&str>) {
        let key = (Arc::from(provider), model.map(Arc::from));
        self.down
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    }

    /// Marks the candidate's target down until `until`.
    pub fn mark_candidate_down(&self, candidate: &Candidate, until: Instant) {
        self.mark_down(&candidate.provider, Some(&candidate.model), until);
    }
}

impl TargetHealth for HealthBoard {
    fn is_healthy(&self, provider: &str, model: &str) -> bool {
        let map = self.down.read().unwrap_or_else(|p| p.into_inner());
        if map.is_empty() {
            return true;
        }
        let now = Instant::now();
        let down = |m: Option<&str>| {
            map.iter()
                .any(|((p, pm), until)| &**p == provider && pm.as_deref() == m && *until > now)
        };
        !(down(None) || down(Some(model)))
    }
}

/// Everything is healthy: the signal when nothing watches health.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysHealthy;

impl TargetHealth for AlwaysHealthy {
    fn is_healthy(&self, _provider: &str, _model: &str) -> bool {
        true
    }
}
