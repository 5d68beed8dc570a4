//! [`TargetSet`]: resolved targets and the strategy that orders them per request.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use switchyard_core::{Candidate, TargetHealth};

use crate::stats::TargetStat;
use crate::target::{Sticky, StickyKey, Strategy};

/// A target ready to route to.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) candidate: Candidate,
    pub(crate) weight: u32,
    /// Blended price per million tokens.
    pub(crate) price: Option<f64>,
    pub(crate) quality: f64,
    pub(crate) stat: Arc<TargetStat>,
}

/// Targets, their strategy and their sticky table.
#[derive(Debug)]
pub(crate) struct TargetSet {
    pub(crate) targets: Vec<Resolved>,
    pub(crate) strategy: Strategy,
    sticky: Option<StickyTable>,
    next: AtomicUsize,
}

impl TargetSet {
    pub(crate) fn new(targets: Vec<Resolved>, strategy: Strategy, sticky: Option<Sticky>) -> Self {
        TargetSet {
            targets,
            strategy,
            sticky: sticky.map(StickyTable::new),
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn sticky_key(&self) -> Option<&StickyKey> {
        self.sticky.as_ref().map(|s| &s.config.key)
    }

    /// The candidates, best first, for a request with this sticky key value.
    pub(crate) fn order(&self, health: &dyn TargetHealth, sticky: Option<&[u8]>) -> Vec<Candidate> {
        let healthy: Vec<bool> = self
            .targets
            .iter()
            .map(|t| health.is_healthy(&t.candidate.provider, &t.candidate.model))
            .collect();
        let mut order = match (&self.sticky, sticky) {
            (Some(table), Some(key)) => {
                let key = hash(key);
                match table.get(key).filter(|&i| healthy.get(i) == Some(&true)) {
                    Some(i) => {
                        let mut order = self.indices(&healthy);
                        order.retain(|&j| j != i);
                        order.insert(0, i);
                        order
                    }
                    None => {
                        let order = self.indices(&healthy);
                        if let Some(&first) = order.first() {
                            table.put(key, first);
                        }
                        order
                    }
                }
            }
            _ => self.indices(&healthy),
        };
        order.dedup();
        order
            .into_iter()
            .map(|i| self.targets[i].candidate.clone())
            .collect()
    }

    /// Target indices in strategy order (health-aware where the strategy is).
    pub(crate) fn indices(&self, healthy: &[bool]) -> Vec<usize> {
        let n = self.targets.len();
        let t = &self.targets;
        let mut order: Vec<usize> = (0..n).collect();
        match self.strategy {
            Strategy::Pinned => return order,
            Strategy::FirstAvailable => {}
            Strategy::RoundRobin => {
                let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
                order.rotate_left(start);
            }
            Strategy::Random => fastrand::shuffle(&mut order),
            Strategy::Weighted => order = weighted_order(t, healthy),
            Strategy::Cheapest { max_price } => {
                if let Some(max) = max_price {
                    order.retain(|&i| t[i].price.is_some_and(|p| p <= max));
                }
                sort_by_key(&mut order, |i| t[i].price.unwrap_or(f64::INFINITY));
            }
            Strategy::Fastest => {
                sort_by_key(&mut order, |i| t[i].stat.latency_ms().unwrap_or(0.0));
            }
            Strategy::HighestThroughput => {
                sort_by_key(&mut order, |i| {
                    -t[i].stat.tokens_per_sec().unwrap_or(f64::INFINITY)
                });
            }
            Strategy::QualityCost { quality_bias } => {
                let max = t
                    .iter()
                    .filter_map(|r| r.price)
                    .fold(0.0_f64, f64::max)
                    .max(f64::MIN_POSITIVE);
                sort_by_key(&mut order, |i| {
                    let cost = t[i].price.map_or(1.0, |p| p / max);
                    -(quality_bias * t[i].quality - (1.0 - quality_bias) * cost)
                });
            }
            Strategy::LeastLoaded => order = least_loaded(t, healthy),
        }
        // Healthy first, keeping the strategy's order within each group.
        order.sort_by_key(|&i| !healthy.get(i).copied().unwrap_or(true));
        order
    }
}

fn sort_by_key(order: &mut [usize], key: impl Fn(usize) -> f64) {
    order.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
}

/// Weighted sampling without replacement among healthy targets, then the rest.
fn weighted_order(t: &[Resolved], healthy: &[bool]) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..t.len())
        .filter(|&i| healthy[i] && t[i].weight > 0)
        .collect();
    let mut order = Vec::with_capacity(t.len());
    while !pool.is_empty() {
        let total: u64 = pool.iter().map(|&i| u64::from(t[i].weight)).sum();
        let mut pick = fastrand::u64(0..total);
        let mut at = 0;
        for (k, &i) in pool.iter().enumerate() {
            let w = u64::from(t[i].weight);
            if pick < w {
                at = k;
                break;
            }
            pick -= w;
        }
        order.push(pool.swap_remove(at));
    }
    let rest: Vec<usize> = (0..t.len()).filter(|i| !order.contains(i)).collect();
    order.extend(rest);
    order
}

/// The load the `least_loaded` strategy compares.
fn load(t: &Resolved, mean_latency: f64) -> f64 {
    let latency = t.stat.load_latency_ms().unwrap_or(mean_latency).max(0.001);
    (t.stat.in_flight() as f64 + 1.0) * latency
}

/// Power of two choices over healthy targets, then everyone by load.
fn least_loaded(t: &[Resolved], healthy: &[bool]) -> Vec<usize> {
    let known: Vec<f64> = t.iter().filter_map(|r| r.stat.load_latency_ms()).collect();
    let mean = if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    let loads: Vec<f64> = t.iter().map(|r| load(r, mean)).collect();
    let mut order: Vec<usize> = (0..t.len()).collect();
    order.sort_by(|&a, &b| loads[a].total_cmp(&loads[b]));
    let pool: Vec<usize> = (0..t.len()).filter(|&i| healthy[i]).collect();
    if pool.len() >= 2 {
        let a = pool[fastrand::usize(0..pool.len())];
        let mut b = pool[fastrand::usize(0..pool.len() - 1)];
        if b == a {
            b = pool[pool.len() - 1];
        }
        let first = if loads[b] < loads[a] { b } else { a };
        order.retain(|&i| i != first);
        order.insert(0, first);
    }
    order
}

fn hash(key: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// Sticky bindings: key hash -> target index, each with an expiry.
#[derive(Debug)]
struct StickyTable {
    config: Sticky,
    map: Mutex<HashMap<u64, (usize, Instant)>>,
}

impl StickyTable {
    fn new(config: Sticky) -> Self {
        StickyTable {
            config,
            map: Mutex::default(),
        }
    }

    fn get(&self, key: u64) -> Option<usize> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match map.get_mut(&key) {
            Some((i, expires)) if *expires > now => {
                *expires = now + self.config.ttl;
                Some(*i)
            }
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: u64, target: usize) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= self.config.capacity {
            map.retain(|_, (_, expires)| *expires > now);
            if map.len() >= self.config.capacity {
                // Still full of live keys: forget the older half rather than grow.
                let mut ages: Vec<Instant> = map.values().map(|(_, e)| *e).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, (_, expires)| *expires > cut);
            }
        }
        map.insert(key, (target, now + self.config.ttl));
    }
}
