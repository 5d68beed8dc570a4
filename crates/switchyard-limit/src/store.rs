//! Counters: the in-memory store, and the [`Remote`] contract a shared store (Redis) meets.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use futures_util::future::BoxFuture;

use crate::check::{Scope, Unit};
use crate::period::Period;

/// Which counter: whose, of what, over which window.
///
/// Displayed as `<scope>:<subject>:<req|tok|usd>:<min|day|month>` (`team:ml:tok:min`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LimitKey {
    /// Whose limit.
    pub scope: Scope,
    /// The key id, team or model.
    pub subject: Arc<str>,
    /// What it counts.
    pub unit: Unit,
    /// The window it counts over.
    pub period: Period,
}

impl fmt::Display for LimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.scope.as_str(),
            self.subject,
            self.unit.short(),
            self.period.as_str()
        )
    }
}

/// One counter with a capacity: `name` counts over `period`, at most `cap` units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The counter.
    pub name: LimitKey,
    /// The window it counts over.
    pub period: Period,
    /// The most units a window may hold.
    pub cap: u64,
}

/// What a take left behind: the units granted and the window's counts after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Taken {
    /// Units granted (all asked for, fewer, or none).
    pub granted: u64,
    /// The previous window's count (sliding windows).
    pub prev: u64,
    /// The current window's count, this grant included.
    pub curr: u64,
}

impl Taken {
    /// Units still free under `cap` at `now_ms`.
    pub fn remaining(&self, limit: &Limit, now_ms: u64) -> u64 {
        limit
            .cap
            .saturating_sub(limit.period.used(self.prev, self.curr, now_ms))
    }
}

/// A shared store failed (unreachable, timed out, or answered nonsense).
#[derive(Clone, Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// A store several gateway instances share, asked for whole slices of a limit
/// (never once per request): take up to `ask` units of window `window`
/// atomically (all of them when `force`, for charges that are owed), and give
/// back units taken earlier and not used.
pub trait Remote: Send + Sync + 'static {
    /// Takes up to `ask` units (exactly `ask` when `force`) of `limit` in window `window`.
    fn take<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        ask: u64,
        force: bool,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Taken, StoreError>>;

    /// Gives back `amount` unused units of `limit` taken in window `window`.
    fn give<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        amount: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

#[derive(Debug, Default)]
struct Counter {
    window: u64,
    prev: u64,
    curr: u64,
}

impl Counter {
    fn roll(&mut self, w: u64) {
        if w == self.window {
            return;
        }
        self.prev = if w == self.window + 1 { self.curr } else { 0 };
        self.curr = 0;
        self.window = w;
    }
}

/// Counters in this process's memory: a map lookup and a short lock per limit.
#[derive(Debug, Default)]
pub struct MemoryStore {
    cells: RwLock<HashMap<LimitKey, Arc<Mutex<Counter>>, foldhash::fast::RandomState>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn cell(&self, name: &LimitKey) -> Arc<Mutex<Counter>> {
        if let Some(c) = self
            .cells
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return c.clone();
        }
        let mut cells = self.cells.write().unwrap_or_else(|p| p.into_inner());
        cells.entry(name.clone()).or_default().clone()
    }

    /// Takes up to `ask` units of `limit` (exactly `ask` when `force`) at `now_ms`.
    pub fn take(&self, limit: &Limit, ask: u64, force: bool, now_ms: u64) -> Taken {
        let cell = self.cell(&limit.name);
        let mut c = lock(&cell);
        c.roll(limit.period.window(now_ms));
        let granted = if force {
            ask
        } else {
            let used = limit.period.used(c.prev, c.curr, now_ms);
            ask.min(limit.cap.saturating_sub(used))
        };
        c.curr = c.curr.saturating_add(granted);
        Taken {
            granted,
            prev: c.prev,
            curr: c.curr,
        }
    }

    /// Gives back `amount` units taken in window `window` (ignored once that
    /// window no longer counts).
    pub fn give(&self, limit: &Limit, window: u64, amount: u64, now_ms: u64) {
        let cell = self.cell(&limit.name);
        let mut c = lock(&cell);
        c.roll(limit.period.window(now_ms));
        if window == c.window {
            c.curr = c.curr.saturating_sub(amount);
        } else if window + 1 == c.window && limit.period.slides() {
            c.prev = c.prev.saturating_sub(amount);
        }
    }

    /// The counts of `limit` at `now_ms` (previous window, current window).
    pub fn counts(&self, limit: &Limit, now_ms: u64) -> (u64, u64) {
        let cell = self.cell(&limit.name);
        let mut c = lock(&cell);
        c.roll(limit.period.window(now_ms));
        (c.prev, c.curr)
    }
}

/// The memory store as a shared store: what tests use to play several instances in one process.
impl Remote for MemoryStore {
    fn take<'a>(
        &'a self,
        limit: &'a Limit,
        _window: u64,
        ask: u64,
        force: bool,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Taken, StoreError>> {
        Box::pin(async move { Ok(MemoryStore::take(self, limit, ask, force, now_ms)) })
    }

    fn give<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        amount: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            MemoryStore::give(self, limit, window, amount, crate::period::now_ms());
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(cap: u64, period: Period) -> Limit {
        Limit {
            name: LimitKey {
                scope: Scope::Model,
                subject: Arc::from("t"),
                unit: Unit::Requests,
                period,
            },
            period,
            cap,
        }
    }

    #[test]
    fn takes_up_to_the_cap_and_gives_back() {
        let s = MemoryStore::new();
        let l = limit(5, Period::Minute);
        let t0 = 1_000 * 60_000;
        assert_eq!(s.take(&l, 3, false, t0).granted, 3);
        assert_eq!(s.take(&l, 3, false, t0).granted, 2);
        assert_eq!(s.take(&l, 1, false, t0).granted, 0);
        // A charge that is owed goes through over the cap.
        assert_eq!(s.take(&l, 2, true, t0).curr, 7);
        s.give(&l, 1_000, 4, t0);
        assert_eq!(s.counts(&l, t0), (0, 3));
        // Next window: the previous one still counts, weighted.
        assert_eq!(s.counts(&l, t0 + 60_000), (3, 0));
        s.give(&l, 1_000, 1, t0 + 60_000);
        assert_eq!(s.counts(&l, t0 + 60_000), (2, 0));
        // Two windows on: nothing left.
        assert_eq!(s.counts(&l, t0 + 180_000), (0, 0));
    }
}
