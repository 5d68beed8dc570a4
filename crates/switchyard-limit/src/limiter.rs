//! [`Limiter`]: the counters of every limit, in memory or leased from a shared
//! store; outlives configuration reloads.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::check::Check;
use crate::lease::{LeaseOptions, Leases, Local};
use crate::store::{Limit, MemoryStore, Remote, StoreError};

/// The state of every limit: counters in this process, or leases of a shared store.
///
/// Cheap to clone (one `Arc`). Keep one for the life of the process and hand
/// it to each new [`LimitLayer`](crate::LimitLayer), so a configuration
/// reload keeps what was counted.
#[derive(Clone, Debug)]
pub struct Limiter {
    backend: Arc<Backend>,
    gauges: Arc<crate::metrics::BudgetGauges>,
}

#[derive(Debug)]
enum Backend {
    Memory(MemoryStore),
    Leased(Leases, OnceLock<()>),
}

/// Units a request holds of one limit until its answer settles.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub limit: Limit,
    pub window: u64,
    pub taken: u64,
    /// Admitted without counting (the store was down and the policy is to fail open).
    pub free: bool,
}

/// What admission decided.
pub(crate) enum Admission {
    /// Every check fits: what is held of each (in order) and what is left of each.
    Admitted {
        held: Vec<Held>,
        remaining: Vec<u64>,
    },
    /// Check `index` does not fit; the next unit fits in `retry_ms` (`None`: never).
    Refused { index: usize, retry_ms: Option<u64> },
    /// The shared store failed and the policy is to fail closed.
    Unavailable,
}

impl Limiter {
    /// Counters in this process's memory (one instance; the default).
    pub fn in_memory() -> Limiter {
        Limiter {
            backend: Arc::new(Backend::Memory(MemoryStore::new())),
            gauges: Arc::default(),
        }
    }

    /// Leases of limits kept in `remote`, shared with other instances.
    pub fn shared(remote: Arc<dyn Remote>, options: LeaseOptions) -> Limiter {
        Limiter {
            backend: Arc::new(Backend::Leased(
                Leases::new(remote, options),
                OnceLock::new(),
            )),
            gauges: Arc::default(),
        }
    }

    /// Leases of limits kept in the Redis at `url` (connected lazily: the
    /// gateway starts while Redis is down).
    pub fn redis(url: &str, options: LeaseOptions) -> Result<Limiter, String> {
        let remote = crate::redis::RedisStore::open(
            url,
            options.sync_interval.max(Duration::from_millis(250)),
        )?;
        Ok(Limiter::shared(Arc::new(remote), options))
    }

    /// Whether limits are shared through a store.
    pub fn is_shared(&self) -> bool {
        matches!(*self.backend, Backend::Leased(..))
    }

    /// Admits without awaiting, or `None` when a shared store must be asked.
    pub(crate) fn admit_now(&self, checks: &[Check], now_ms: u64) -> Option<Admission> {
        let mut held = Vec::with_capacity(checks.len());
        let mut remaining = Vec::with_capacity(checks.len());
        for (index, c) in checks.iter().enumerate() {
            let got = match &*self.backend {
                Backend::Memory(store) => memory_take(store, c, now_ms),
                Backend::Leased(leases, _) => leases.try_local(&c.limit, c.amount, now_ms),
            };
            match got {
                Local::Took {
                    window,
                    remaining: left,
                } => {
                    held.push(Held {
                        limit: c.limit.clone(),
                        window,
                        taken: c.amount,
                        free: false,
                    });
                    remaining.push(left);
                }
                Local::Refused(retry_ms) => {
                    self.undo(&held, now_ms);
                    return Some(Admission::Refused { index, retry_ms });
                }
                Local::Short => {
                    self.undo(&held, now_ms);
                    return None;
                }
            }
        }
        Some(Admission::Admitted { held, remaining })
    }

    /// Admits, asking the shared store for what local balances lack.
    pub(crate) async fn admit_slow(
        &self,
        checks: &[Check],
        now_ms: u64,
        fail_open: bool,
    ) -> Admission {
        let Backend::Leased(leases, _) = &*self.backend else {
            return self
                .admit_now(checks, now_ms)
                .unwrap_or(Admission::Refused {
                    index: 0,
                    retry_ms: Some(1),
                });
        };
        self.ensure_sync();
        let mut held = Vec::with_capacity(checks.len());
        let mut remaining = Vec::with_capacity(checks.len());
        for (index, c) in checks.iter().enumerate() {
            match decide(leases, c, now_ms).await {
                Ok(Local::Took {
                    window,
                    remaining: left,
                }) => {
                    held.push(Held {
                        limit: c.limit.clone(),
                        window,
                        taken: c.amount,
                        free: false,
                    });
                    remaining.push(left);
                }
                Ok(Local::Refused(retry_ms)) => {
                    self.undo(&held, now_ms);
                    return Admission::Refused { index, retry_ms };
                }
                // The window turned twice while asking: try again in a moment.
                Ok(Local::Short) => {
                    self.undo(&held, now_ms);
                    return Admission::Refused {
                        index,
                        retry_ms: Some(1),
                    };
                }
                Err(e) if fail_open => {
                    tracing::warn!(error = %e, limit = %c.limit.name, "limit store failed; admitting (on_redis_error = open)");
                    crate::metrics::store_error("open");
                    held.push(Held {
                        limit: c.limit.clone(),
                        window: 0,
                        taken: 0,
                        free: true,
                    });
                    remaining.push(c.limit.cap);
                }
                Err(e) => {
                    tracing::warn!(error = %e, limit = %c.limit.name, "limit store failed; refusing (on_redis_error = closed)");
                    crate::metrics::store_error("closed");
                    self.undo(&held, now_ms);
                    return Admission::Unavailable;
                }
            }
        }
        Admission::Admitted { held, remaining }
    }

    fn undo(&self, held: &[Held], now_ms: u64) {
        for h in held {
            self.adjust(h, 0, now_ms);
        }
    }

    /// Replaces what `held` reserved with what was really used.
    pub(crate) fn adjust(&self, held: &Held, actual: u64, now_ms: u64) {
        if held.free || actual == held.taken {
            return;
        }
        match &*self.backend {
            Backend::Memory(store) => {
                if actual < held.taken {
                    store.give(&held.limit, held.window, held.taken - actual, now_ms);
                } else if held.limit.period.window(now_ms) == held.window {
                    store.take(&held.limit, actual - held.taken, true, now_ms);
                }
            }
            Backend::Leased(leases, _) => {
                if actual < held.taken {
                    leases.refund(&held.limit, held.window, held.taken - actual, now_ms);
                } else {
                    leases.charge(&held.limit, held.window, actual - held.taken, now_ms);
                }
            }
        }
    }

    /// Sets the remaining-budget gauge of `limit` (see [`BUDGET_REMAINING`](crate::metrics::BUDGET_REMAINING)).
    pub(crate) fn report_budget(&self, limit: &Limit, usd: f64) {
        self.gauges.set(&limit.name, usd);
    }

    /// What is left of `limit` at `now_ms` (memory store: exact; shared: not known without asking).
    pub(crate) fn remaining(&self, limit: &Limit, now_ms: u64) -> Option<u64> {
        match &*self.backend {
            Backend::Memory(store) => {
                let (prev, curr) = store.counts(limit, now_ms);
                Some(
                    limit
                        .cap
                        .saturating_sub(limit.period.used(prev, curr, now_ms)),
                )
            }
            Backend::Leased(..) => None,
        }
    }

    /// Starts the background synchronisation with the shared store, once per
    /// limiter (later calls and the memory store: nothing); the first request
    /// that asks the store starts it too. It runs until the runtime stops.
    pub fn ensure_sync(&self) {
        let Backend::Leased(leases, started) = &*self.backend else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        started.get_or_init(|| {
            let every = leases.options().sync_interval;
            // A weak handle: the task ends once every clone of the limiter is gone.
            let weak = Arc::downgrade(&self.backend);
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let Some(backend) = weak.upgrade() else {
                        return;
                    };
                    if let Backend::Leased(leases, _) = &*backend {
                        let failed = leases.sync(crate::period::now_ms()).await;
                        for _ in 0..failed {
                            crate::metrics::store_error("sync");
                        }
                    }
                }
            });
        });
    }

    /// One synchronisation round now (tests; the background task does this every interval).
    pub async fn sync_now(&self) {
        if let Backend::Leased(leases, _) = &*self.backend {
            leases.sync(crate::period::now_ms()).await;
        }
    }

    /// Gives every unused lease back to the shared store (call on shutdown).
    pub async fn release(&self) {
        if let Backend::Leased(leases, _) = &*self.backend {
            leases.release(crate::period::now_ms()).await;
        }
    }
}

/// Spends from the local balance, asking the store when it is short.
async fn decide(leases: &Leases, c: &Check, now_ms: u64) -> Result<Local, StoreError> {
    let mut got = leases.try_local(&c.limit, c.amount, now_ms);
    for _ in 0..2 {
        if !matches!(got, Local::Short) {
            break;
        }
        got = leases.fill(&c.limit, c.amount, now_ms).await?;
    }
    Ok(got)
}

fn memory_take(store: &MemoryStore, c: &Check, now_ms: u64) -> Local {
    if c.amount > c.limit.cap {
        return Local::Refused(None);
    }
    let t = store.take(&c.limit, c.amount, false, now_ms);
    let window = c.limit.period.window(now_ms);
    if t.granted == c.amount {
        return Local::Took {
            window,
            remaining: t.remaining(&c.limit, now_ms),
        };
    }
    if t.granted > 0 {
        store.give(&c.limit, window, t.granted, now_ms);
    }
    let curr = t.curr - t.granted;
    Local::Refused(
        c.limit
            .period
            .retry_after_ms(c.limit.cap, c.amount, t.prev, curr, now_ms),
    )
}
