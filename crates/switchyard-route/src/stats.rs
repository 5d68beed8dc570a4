//! [`TargetStats`]: observed latency, throughput and load per target, kept across reloads.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

/// Weight of a new sample in the moving averages.
const ALPHA: f64 = 0.3;

#[derive(Clone, Copy, Debug, Default)]
struct Averages {
    latency_ms: Option<f64>,
    latency_at: Option<Instant>,
    tokens_per_sec: Option<f64>,
}

/// How fast an unrefreshed latency estimate fades for load balancing.
const LOAD_DECAY: Duration = Duration::from_secs(10);

/// What has been observed of one target (provider + model).
#[derive(Default)]
pub struct TargetStat {
    in_flight: AtomicU64,
    averages: Mutex<Averages>,
}

impl fmt::Debug for TargetStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetStat")
            .field("in_flight", &self.in_flight())
            .field("latency_ms", &self.latency_ms())
            .field("tokens_per_sec", &self.tokens_per_sec())
            .finish()
    }
}

fn ewma(old: Option<f64>, sample: f64) -> Option<f64> {
    Some(match old {
        None => sample,
        Some(old) => old + ALPHA * (sample - old),
    })
}

impl TargetStat {
    fn averages(&self) -> Averages {
        *self.averages.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests sent to the target and not finished (body streamed to the end or dropped).
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The moving average of the time to the answer's head, if observed.
    pub fn latency_ms(&self) -> Option<f64> {
        self.averages().latency_ms
    }

    /// The moving average of output tokens per second, if observed.
    pub fn tokens_per_sec(&self) -> Option<f64> {
        self.averages().tokens_per_sec
    }

    /// The latency estimate for load balancing: the moving average, fading
    /// (time constant 10 s) while no new sample comes, so a target that went
    /// quiet after a slow answer is tried again (as linkerd's peak EWMA does).
    pub fn load_latency_ms(&self) -> Option<f64> {
        let a = self.averages();
        let latency = a.latency_ms?;
        let idle = a.latency_at.map_or(Duration::ZERO, |t| t.elapsed());
        Some(latency * (-idle.as_secs_f64() / LOAD_DECAY.as_secs_f64()).exp())
    }

    /// Adds a latency sample.
    pub fn observe_latency(&self, latency: Duration) {
        let mut a = self.averages.lock().unwrap_or_else(|p| p.into_inner());
        a.latency_ms = ewma(a.latency_ms, latency.as_secs_f64() * 1000.0);
        a.latency_at = Some(Instant::now());
    }

    /// Adds a throughput sample: `tokens` output in `elapsed`.
    pub fn observe_throughput(&self, tokens: u64, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if tokens == 0 || secs <= 0.0 {
            return;
        }
        let mut a = self.averages.lock().unwrap_or_else(|p| p.into_inner());
        a.tokens_per_sec = ewma(a.tokens_per_sec, tokens as f64 / secs);
    }

    /// Counts a request in flight until the guard drops.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// A request in flight to a target; dropping it ends the count.
#[derive(Debug)]
pub struct InFlight(Arc<TargetStat>);

impl InFlight {
    /// The target's stats.
    pub fn stat(&self) -> &Arc<TargetStat> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Per-target observations (provider + model): in-flight requests and moving
/// averages of latency and throughput, read by the `fastest`,
/// `highest_throughput` and `least_loaded` strategies.
///
/// Cloning shares it. Keep one for the life of the process and hand it to
/// every rebuilt [`Rules`](crate::Rules): what was learned survives a reload.
///
/// ```
/// use std::time::Duration;
/// use switchyard_route::TargetStats;
/// let stats = TargetStats::new();
/// let s = stats.get("openai", "gpt-4o");
/// s.observe_latency(Duration::from_millis(100));
/// s.observe_latency(Duration::from_millis(200));
/// assert_eq!(s.latency_ms(), Some(130.0)); // 100 + 0.3 * (200 - 100)
/// let guard = s.start();
/// assert_eq!(stats.get("openai", "gpt-4o").in_flight(), 1);
/// drop(guard);
/// assert_eq!(s.in_flight(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TargetStats {
    map: Arc<RwLock<ByProvider>>,
}

type ByProvider = HashMap<Arc<str>, HashMap<Arc<str>, Arc<TargetStat>, RandomState>, RandomState>;
type RandomState = foldhash::fast::RandomState;

impl TargetStats {
    /// An empty registry.
    pub fn new() -> Self {
        TargetStats::default()
    }

    /// The stats of `provider` serving `model`, created on first use.
    pub fn get(&self, provider: &str, model: &str) -> Arc<TargetStat> {
        {
            let map = self.map.read().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = map.get(provider).and_then(|m| m.get(model)) {
                return s.clone();
            }
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.entry(Arc::from(provider))
            .or_default()
            .entry(Arc::from(model))
            .or_default()
            .clone()
    }

    /// Every target observed so far, as (provider, model, stats).
    pub fn snapshot(&self) -> Vec<(Arc<str>, Arc<str>, Arc<TargetStat>)> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .flat_map(|(p, models)| {
                models
                    .iter()
                    .map(move |(m, s)| (p.clone(), m.clone(), s.clone()))
            })
            .collect()
    }
}
