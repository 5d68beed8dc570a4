//! [`Leases`]: local allowances of limits kept in a shared store, so the
//! store is asked once per slice, not once per request.
//!
//! Each instance holds, per limit, a balance of units the store granted it
//! for the current window. A request spends from the balance under a short
//! lock (no await). When the balance cannot cover a request, that request
//! (and only it) asks the store for a slice (`max(slice, what is missing)`);
//! the store grants at most what is left under the cap, atomically, so the
//! instances together never hold more than the cap. A background sync (every
//! `sync_interval`) tops up balances that are running low, gives back
//! balances left idle and the units of windows that are over, and charges
//! debts (answers that cost more than their reservation).
//!
//! A refusal the store gave is remembered until its retry time (capped at one
//! sync interval), so a limit that is used up costs no store round trip either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use crate::store::{Limit, LimitKey, Remote, StoreError, Taken};

/// How the leases behave.
#[derive(Clone, Copy, Debug)]
pub struct LeaseOptions {
    /// The share of a limit's capacity taken per store call (at least one unit).
    pub slice: f64,
    /// How often balances are topped up, given back and settled.
    pub sync_interval: Duration,
    /// A balance unused this long goes back to the store.
    pub idle_return: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            slice: 0.05,
            sync_interval: Duration::from_millis(100),
            idle_return: Duration::from_millis(500),
        }
    }
}

#[derive(Debug)]
struct Lease {
    limit: Limit,
    window: u64,
    /// Units in hand for `window`; negative: owed to the store.
    balance: i64,
    /// Refuse locally until then (ms since the epoch) ...
    denied_until: u64,
    /// ... answering that the next unit fits at this time.
    retry_at: u64,
    /// What the store said was free at its last answer.
    room: u64,
    /// The store failed: until then, requests short of units do not wait on it again.
    down_until: u64,
    last_used: u64,
    used_since_sync: bool,
    /// Units of past windows to give back / to charge.
    returns: Vec<(u64, u64)>,
    debts: Vec<(u64, u64)>,
}

impl Lease {
    fn roll(&mut self, now_ms: u64) {
        let w = self.limit.period.window(now_ms);
        if w == self.window {
            return;
        }
        match self.balance {
            b if b > 0 => self.returns.push((self.window, b as u64)),
            b if b < 0 => self.debts.push((self.window, b.unsigned_abs())),
            _ => {}
        }
        self.window = w;
        self.balance = 0;
        self.denied_until = 0;
        self.room = self.limit.cap;
    }
}

/// One limit's lease, and the turn to ask the store for more (one call in
/// flight per limit: requests short at the same time wait for it and then
/// spend what it brought).
struct Cell {
    lease: Mutex<Lease>,
    filling: tokio::sync::Mutex<()>,
}

/// What a local try found.
pub(crate) enum Local {
    /// Spent from the balance: the window, and the units still free (an estimate).
    Took { window: u64, remaining: u64 },
    /// Refused without asking the store: the next unit fits in this many ms (`None`: never).
    Refused(Option<u64>),
    /// The balance cannot cover it: ask the store.
    Short,
}

/// Local allowances of limits held in a [`Remote`] store.
pub struct Leases {
    remote: Arc<dyn Remote>,
    options: LeaseOptions,
    cells: RwLock<HashMap<LimitKey, Arc<Cell>>>,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Leases {
    /// Leases over `remote`.
    pub fn new(remote: Arc<dyn Remote>, options: LeaseOptions) -> Self {
        Leases {
            remote,
            options,
            cells: RwLock::default(),
        }
    }

    /// The options.
    pub fn options(&self) -> &LeaseOptions {
        &self.options
    }

    fn cell(&self, limit: &Limit, now_ms: u64) -> Arc<Cell> {
        if let Some(c) = self
            .cells
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&limit.name)
        {
            return c.clone();
        }
        let mut cells = self.cells.write().unwrap_or_else(|p| p.into_inner());
        cells
            .entry(limit.name.clone())
            .or_insert_with(|| {
                Arc::new(Cell {
                    filling: tokio::sync::Mutex::new(()),
                    lease: Mutex::new(Lease {
                        limit: limit.clone(),
                        window: limit.period.window(now_ms),
                        balance: 0,
                        denied_until: 0,
                        retry_at: 0,
                        room: limit.cap,
                        down_until: 0,
                        last_used: now_ms,
                        used_since_sync: false,
                        returns: Vec::new(),
                        debts: Vec::new(),
                    }),
                })
            })
            .clone()
    }

    fn all(&self) -> Vec<Arc<Cell>> {
        let cells = self.cells.read().unwrap_or_else(|p| p.into_inner());
        cells.values().cloned().collect()
    }

    fn slice(&self, cap: u64) -> u64 {
        ((cap as f64 * self.options.slice).ceil() as u64).max(1)
    }

    /// Spends `amount` from the local balance, if it can (never awaits).
    pub(crate) fn try_local(&self, limit: &Limit, amount: u64, now_ms: u64) -> Local {
        let cell = self.cell(limit, now_ms);
        let mut l = lock(&cell.lease);
        l.limit.cap = limit.cap; // a reload may have changed it
        l.roll(now_ms);
        if amount > limit.cap {
            return Local::Refused(None);
        }
        if now_ms < l.denied_until {
            return Local::Refused(Some(l.retry_at.saturating_sub(now_ms).max(1)));
        }
        if l.balance >= amount as i64 {
            l.balance -= amount as i64;
            l.last_used = now_ms;
            l.used_since_sync = true;
            let remaining = l.room.saturating_add(l.balance.max(0) as u64);
            return Local::Took {
                window: l.window,
                remaining,
            };
        }
        Local::Short
    }

    /// Asks the store for what the balance lacks, then spends `amount`.
    pub(crate) async fn fill(
        &self,
        limit: &Limit,
        amount: u64,
        now_ms: u64,
    ) -> Result<Local, StoreError> {
        let cell = self.cell(limit, now_ms);
        let _turn = cell.filling.lock().await;
        // Whoever asked before us may have brought enough.
        let now_ms = now_ms.max(crate::period::now_ms());
        if let got @ (Local::Took { .. } | Local::Refused(_)) =
            self.try_local(limit, amount, now_ms)
        {
            return Ok(got);
        }
        let (window, short, down) = {
            let mut l = lock(&cell.lease);
            l.roll(now_ms);
            (l.window, amount as i64 - l.balance, now_ms < l.down_until)
        };
        if down {
            // It failed moments ago: answer by the policy at once rather than
            // queue every request behind another timeout.
            return Err(StoreError("the limit store failed moments ago".into()));
        }
        let ask = self.slice(limit.cap).max(short.max(0) as u64);
        crate::metrics::store_call("admit");
        let taken = match self.remote.take(limit, window, ask, false, now_ms).await {
            Ok(t) => t,
            Err(e) => {
                let pause = self.options.sync_interval.as_millis() as u64;
                lock(&cell.lease).down_until = crate::period::now_ms() + pause.max(1);
                return Err(e);
            }
        };
        let (got, back) = self.spend_grant(&cell, limit, window, amount, &taken, now_ms);
        // What this instance held could not serve this request: give it back
        // at once so another instance (or a smaller request) can use it.
        if back > 0 && self.remote.give(limit, window, back).await.is_err() {
            lock(&cell.lease).returns.push((window, back));
        }
        Ok(got)
    }

    /// Adds a grant to the balance and spends `amount` from it; on a refusal,
    /// also what to give back.
    fn spend_grant(
        &self,
        cell: &Cell,
        limit: &Limit,
        window: u64,
        amount: u64,
        taken: &Taken,
        now_ms: u64,
    ) -> (Local, u64) {
        let mut l = lock(&cell.lease);
        l.roll(now_ms);
        if l.window != window {
            l.returns.push((window, taken.granted));
            return (Local::Short, 0);
        }
        l.balance += taken.granted as i64;
        l.room = taken.remaining(limit, now_ms);
        if l.balance >= amount as i64 {
            l.balance -= amount as i64;
            l.last_used = now_ms;
            l.used_since_sync = true;
            let remaining = l.room.saturating_add(l.balance.max(0) as u64);
            return (Local::Took { window, remaining }, 0);
        }
        let need = (amount as i64 - l.balance.max(0)) as u64;
        let retry = retry_after(limit, need, taken, now_ms);
        if let Some(ms) = retry {
            let cap = self.options.sync_interval.as_millis() as u64;
            l.denied_until = now_ms + ms.min(cap.max(1));
            l.retry_at = now_ms + ms;
        }
        let back = l.balance.max(0) as u64;
        l.balance -= back as i64;
        (Local::Refused(retry), back)
    }

    /// Returns `amount` units spent in `window` (a refused request's other
    /// limits, or the unused part of a reservation).
    pub(crate) fn refund(&self, limit: &Limit, window: u64, amount: u64, now_ms: u64) {
        let cell = self.cell(limit, now_ms);
        let mut l = lock(&cell.lease);
        l.roll(now_ms);
        if l.window == window {
            l.balance += amount as i64;
        } else {
            l.returns.push((window, amount));
        }
    }

    /// Charges `amount` more units to `window` (an answer that cost more than reserved).
    pub(crate) fn charge(&self, limit: &Limit, window: u64, amount: u64, now_ms: u64) {
        let cell = self.cell(limit, now_ms);
        let mut l = lock(&cell.lease);
        l.roll(now_ms);
        if l.window == window {
            l.balance -= amount as i64;
        } else {
            l.debts.push((window, amount));
        }
    }

    /// One round of synchronisation with the store: gives back what past
    /// windows and idle balances hold, charges debts, tops up balances in use.
    /// Returns how many store calls failed.
    pub async fn sync(&self, now_ms: u64) -> usize {
        let cells = self.all();
        let idle = self.options.idle_return.as_millis() as u64;
        let mut failures = 0;
        for cell in cells {
            let (limit, window, returns, debts, top_up) = {
                let mut l = lock(&cell.lease);
                l.roll(now_ms);
                let mut returns = std::mem::take(&mut l.returns);
                let mut debts = std::mem::take(&mut l.debts);
                let w = l.window;
                if l.balance < 0 {
                    debts.push((w, l.balance.unsigned_abs()));
                    l.balance = 0;
                } else if l.balance > 0 && now_ms.saturating_sub(l.last_used) >= idle {
                    returns.push((w, l.balance as u64));
                    l.balance = 0;
                }
                let slice = self.slice(l.limit.cap);
                let low = l.used_since_sync
                    && (l.balance as u64) < slice.div_ceil(2)
                    && now_ms >= l.denied_until;
                l.used_since_sync = false;
                let top_up = low.then(|| slice - l.balance as u64);
                (l.limit.clone(), w, returns, debts, top_up)
            };
            for (w, n) in returns {
                if n > 0 && self.remote.give(&limit, w, n).await.is_err() {
                    failures += 1;
                }
                crate::metrics::store_call("sync");
            }
            for (w, n) in debts {
                if self.remote.take(&limit, w, n, true, now_ms).await.is_err() {
                    failures += 1;
                }
                crate::metrics::store_call("sync");
            }
            if let Some(ask) = top_up {
                crate::metrics::store_call("sync");
                match self.remote.take(&limit, window, ask, false, now_ms).await {
                    Ok(t) => {
                        let mut l = lock(&cell.lease);
                        l.roll(now_ms);
                        if l.window == window {
                            l.balance += t.granted as i64;
                            l.room = t.remaining(&limit, now_ms);
                        } else {
                            l.returns.push((window, t.granted));
                        }
                    }
                    Err(_) => failures += 1,
                }
            }
        }
        failures
    }

    /// Gives back every balance (on shutdown, so other instances can use it).
    pub async fn release(&self, now_ms: u64) {
        let cells = self.all();
        for cell in cells {
            let (limit, w, n) = {
                let mut l = lock(&cell.lease);
                l.roll(now_ms);
                let n = l.balance.max(0) as u64;
                l.balance = 0;
                (l.limit.clone(), l.window, n)
            };
            if n > 0 {
                let _ = self.remote.give(&limit, w, n).await;
            }
        }
    }
}

/// When `need` more units of `limit` fit, judging by the store's counts.
pub(crate) fn retry_after(limit: &Limit, need: u64, t: &Taken, now_ms: u64) -> Option<u64> {
    limit
        .period
        .retry_after_ms(limit.cap, need, t.prev, t.curr, now_ms)
}
