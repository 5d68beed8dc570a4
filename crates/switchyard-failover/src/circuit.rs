//! [`Circuits`]: a circuit breaker per target (provider + model), shared across reloads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard_core::{Candidate, HealthBoard};
use tokio::time::Instant;

use crate::policy::CircuitPolicy;

/// The state of one target's circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    /// Traffic flows.
    Closed,
    /// Skipped until the cool-down ends.
    Open,
    /// One trial request decides whether it closes again.
    HalfOpen,
}

impl CircuitState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_since: Option<Instant> },
}

#[derive(Debug)]
struct Breaker {
    state: State,
    consecutive: u32,
    recent: VecDeque<bool>,
    opened: u64,
}

impl Breaker {
    fn new() -> Self {
        Breaker {
            state: State::Closed,
            consecutive: 0,
            recent: VecDeque::new(),
            opened: 0,
        }
    }

    fn public_state(&self, now: Instant) -> CircuitState {
        match self.state {
            State::Closed => CircuitState::Closed,
            State::Open { until } if now < until => CircuitState::Open,
            State::Open { .. } | State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }
}

/// One target's circuit, for `/health` and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitSnapshot {
    /// Provider id.
    pub provider: Arc<str>,
    /// Model.
    pub model: Arc<str>,
    /// Current state.
    pub state: CircuitState,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// How many times it has opened.
    pub times_opened: u64,
    /// Time until a trial is allowed, when open.
    pub retry_in: Option<Duration>,
}

type Key = (Arc<str>, Arc<str>);

/// Circuit breakers keyed by target; cloning shares them, so they outlive a config reload.
///
/// Opening a circuit marks the target down on the [`HealthBoard`] (which
/// health-aware routing reads) until the cool-down ends; closing marks it up.
#[derive(Clone, Debug, Default)]
pub struct Circuits {
    /// foldhash, not SipHash: looked up twice per attempt, keyed by config ids.
    inner: Arc<Mutex<foldhash::HashMap<Key, Breaker>>>,
    health: HealthBoard,
}

impl Circuits {
    /// Breakers that report to `health`.
    pub fn new(health: HealthBoard) -> Self {
        Circuits {
            inner: Arc::default(),
            health,
        }
    }

    /// The health board the breakers write.
    pub fn health(&self) -> &HealthBoard {
        &self.health
    }

    fn with<R>(&self, c: &Candidate, f: impl FnOnce(&mut Breaker) -> R) -> R {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = (c.provider.clone(), c.model.clone());
        f(map.entry(key).or_insert_with(Breaker::new))
    }

    /// Whether a request may go to `c` now. An open circuit past its cool-down
    /// lets exactly one trial through (half-open); a trial abandoned for longer
    /// than the cool-down lets another through.
    pub fn allow(&self, policy: &CircuitPolicy, c: &Candidate) -> bool {
        if !policy.enabled {
            return true;
        }
        let now = Instant::now();
        let cooldown = Duration::from_secs_f64(policy.cooldown_secs);
        self.with(c, |b| match b.state {
            State::Closed => true,
            State::Open { until } if now < until => false,
            State::Open { .. } => {
                b.state = State::HalfOpen {
                    trial_since: Some(now),
                };
                crate::metrics::circuit(c, CircuitState::HalfOpen);
                true
            }
            State::HalfOpen {
                trial_since: Some(t),
            } if now.duration_since(t) < cooldown => false,
            State::HalfOpen { .. } => {
                b.state = State::HalfOpen {
                    trial_since: Some(now),
                };
                true
            }
        })
    }

    /// Records an attempt's outcome for `c`.
    pub fn record(&self, policy: &CircuitPolicy, c: &Candidate, success: bool) {
        if !policy.enabled {
            return;
        }
        let now = Instant::now();
        let cooldown = Duration::from_secs_f64(policy.cooldown_secs);
        let change = self.with(c, |b| {
            b.recent.push_back(success);
            while b.recent.len() > policy.window.max(1) as usize {
                b.recent.pop_front();
            }
            if success {
                b.consecutive = 0;
                if matches!(b.state, State::Closed) {
                    return None;
                }
                b.state = State::Closed;
                b.recent.clear();
                return Some(None);
            }
            b.consecutive += 1;
            let failures = b.recent.iter().filter(|ok| !**ok).count();
            let rate_trips = b.recent.len() >= policy.min_requests.max(1) as usize
                && failures as f64 / b.recent.len() as f64 >= policy.error_rate;
            let trips = match b.state {
                State::HalfOpen { .. } => true,
                State::Closed => b.consecutive >= policy.consecutive_failures || rate_trips,
                State::Open { .. } => false,
            };
            if !trips {
                return None;
            }
            let until = now + cooldown;
            b.state = State::Open { until };
            b.opened += 1;
            Some(Some(until))
        });
        match change {
            Some(Some(until)) => {
                crate::metrics::circuit(c, CircuitState::Open);
                tracing::warn!(provider = %c.provider, model = %c.model, cooldown_secs = policy.cooldown_secs, "circuit opened");
                self.health
                    .mark_down(&c.provider, Some(&c.model), until.into_std());
            }
            Some(None) => {
                crate::metrics::circuit(c, CircuitState::Closed);
                tracing::info!(provider = %c.provider, model = %c.model, "circuit closed");
                self.health.mark_up(&c.provider, Some(&c.model));
            }
            None => {}
        }
    }

    /// The state of `c`'s circuit.
    pub fn state(&self, c: &Candidate) -> CircuitState {
        let now = Instant::now();
        self.with(c, |b| b.public_state(now))
    }

    /// Every known target's circuit, sorted by provider and model.
    pub fn snapshot(&self) -> Vec<CircuitSnapshot> {
        let now = Instant::now();
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = map
            .iter()
            .map(|((p, m), b)| CircuitSnapshot {
                provider: p.clone(),
                model: m.clone(),
                state: b.public_state(now),
                consecutive_failures: b.consecutive,
                times_opened: b.opened,
                retry_in: match b.state {
                    State::Open { until } if now < until => Some(until - now),
                    _ => None,
                },
            })
            .collect();
        out.sort_by(|a, b| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_core::TargetHealth;

    fn policy() -> CircuitPolicy {
        CircuitPolicy {
            consecutive_failures: 3,
            cooldown_secs: 10.0,
            min_requests: 4,
            window: 8,
            error_rate: 0.5,
            enabled: true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_then_half_opens() {
        let c = Candidate::new("a", "m");
        let circuits = Circuits::default();
        let p = policy();
        for _ in 0..2 {
            assert!(circuits.allow(&p, &c));
            circuits.record(&p, &c, false);
        }
        assert_eq!(circuits.state(&c), CircuitState::Closed);
        circuits.record(&p, &c, false);
        assert_eq!(circuits.state(&c), CircuitState::Open);
        assert!(!circuits.allow(&p, &c));
        assert!(!circuits.health().is_healthy("a", "m"));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(circuits.allow(&p, &c), "one trial after the cool-down");
        assert!(!circuits.allow(&p, &c), "only one");
        circuits.record(&p, &c, false);
        assert_eq!(
            circuits.state(&c),
            CircuitState::Open,
            "a failed trial reopens"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(circuits.allow(&p, &c));
        circuits.record(&p, &c, true);
        assert_eq!(circuits.state(&c), CircuitState::Closed);
        assert!(circuits.health().is_healthy("a", "m"));
        assert_eq!(circuits.snapshot()[0].times_opened, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn error_rate_opens_too() {
        let c = Candidate::new("a", "m");
        let circuits = Circuits::default();
        let p = policy();
        for ok in [true, false, true, false] {
            circuits.record(&p, &c, ok);
        }
        assert_eq!(
            circuits.state(&c),
            CircuitState::Open,
            "2 of 4 failed = 50%"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_trial_is_retried_after_a_cooldown() {
        let c = Candidate::new("a", "m");
        let circuits = Circuits::default();
        let p = policy();
        for _ in 0..3 {
            circuits.record(&p, &c, false);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(circuits.allow(&p, &c));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(circuits.allow(&p, &c), "the first trial never reported");
    }

    #[test]
    fn disabled_never_opens() {
        let c = Candidate::new("a", "m");
        let circuits = Circuits::default();
        let p = CircuitPolicy {
            enabled: false,
            ..policy()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            for _ in 0..10 {
                circuits.record(&p, &c, false);
            }
            assert!(circuits.allow(&p, &c));
        });
    }
}
