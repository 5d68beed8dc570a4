//! [`Prober`]: active health checks that mark whole providers down or up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use switchyard_core::HealthBoard;

/// A check of one provider: resolves `true` when it is healthy.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// One provider to probe.
#[derive(Clone)]
pub struct ProbeTarget {
    /// Provider id.
    pub provider: Arc<str>,
    /// Time between probes.
    pub interval: Duration,
    /// Failed probes in a row that mark the provider down.
    pub failures_to_down: u32,
    /// The check.
    pub check: Check,
}

impl std::fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("provider", &self.provider)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Runs each target's check on its interval and writes the result to a [`HealthBoard`].
///
/// A provider failing `failures_to_down` probes in a row is marked down (all its
/// models) until a probe succeeds again; routing and failover then skip it.
#[derive(Debug)]
pub struct Prober {
    health: HealthBoard,
    targets: Vec<ProbeTarget>,
}

impl Prober {
    /// Probes `targets`, reporting to `health`.
    pub fn new(health: HealthBoard, targets: Vec<ProbeTarget>) -> Self {
        Prober { health, targets }
    }

    /// Starts one task per target, each probing once per interval (the first after one
    /// interval); abort the handles to stop.
    pub fn spawn(self) -> Vec<tokio::task::JoinHandle<()>> {
        self.targets
            .into_iter()
            .map(|t| {
                let health = self.health.clone();
                tokio::spawn(async move {
                    let failures = AtomicU32::new(0);
                    // Start optimistic: the first probe comes one interval in.
                    loop {
                        tokio::time::sleep(t.interval).await;
                        probe_once(&health, &t, &failures).await;
                    }
                })
            })
            .collect()
    }
}

async fn probe_once(health: &HealthBoard, t: &ProbeTarget, failures: &AtomicU32) {
    let ok = tokio::time::timeout(t.interval.max(Duration::from_secs(1)), (t.check)())
        .await
        .unwrap_or(false);
    if ok {
        if failures.swap(0, Ordering::Relaxed) >= t.failures_to_down.max(1) {
            tracing::info!(provider = %t.provider, "health probe passed; provider marked up");
        }
        health.mark_up(&t.provider, None);
        crate::metrics::provider_up(&t.provider, true);
        return;
    }
    let n = failures.fetch_add(1, Ordering::Relaxed) + 1;
    if n >= t.failures_to_down.max(1) {
        if n == t.failures_to_down.max(1) {
            tracing::warn!(provider = %t.provider, failures = n, "health probe failing; provider marked down");
        }
        // Down until well past the next probe; each failing probe extends it.
        let until = std::time::Instant::now() + t.interval * 3;
        health.mark_down(&t.provider, None, until);
        crate::metrics::provider_up(&t.provider, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use switchyard_core::TargetHealth;

    #[tokio::test]
    async fn marks_down_after_failures_and_up_on_success() {
        let healthy = Arc::new(AtomicBool::new(false));
        let h = healthy.clone();
        let t = ProbeTarget {
            provider: "p".into(),
            interval: Duration::from_secs(60),
            failures_to_down: 2,
            check: Arc::new(move || {
                let ok = h.load(Ordering::Relaxed);
                Box::pin(async move { ok })
            }),
        };
        let board = HealthBoard::new();
        let failures = AtomicU32::new(0);
        probe_once(&board, &t, &failures).await;
        assert!(board.is_healthy("p", "m"), "one failure is not enough");
        probe_once(&board, &t, &failures).await;
        assert!(!board.is_healthy("p", "m"));
        assert!(!board.is_healthy("p", "other-model"), "the whole provider");
        healthy.store(true, Ordering::Relaxed);
        probe_once(&board, &t, &failures).await;
        assert!(board.is_healthy("p", "m"));
    }
}
