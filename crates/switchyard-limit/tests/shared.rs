//! Several instances sharing one store through leases: the over-admission
//! bound under concurrent load, idle leases given back, and both policies
//! when the store goes down.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use switchyard_limit::{
    LeaseOptions, Limit, LimitKey, Limiter, MemoryStore, Period, Remote, Scope, StoreError, Taken,
    Unit,
};

use support::*;

/// A shared store that counts its calls and can be taken down.
#[derive(Default)]
struct Flaky {
    store: MemoryStore,
    down: AtomicBool,
    /// Down and slow: each call fails after 200 ms (a Redis that hangs).
    hung: AtomicBool,
    calls: AtomicU64,
}

impl Flaky {
    async fn check(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.hung.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Err(StoreError("timed out".into()));
        }
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError("connection refused".into()));
        }
        Ok(())
    }
}

impl Remote for Flaky {
    fn take<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        ask: u64,
        force: bool,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Taken, StoreError>> {
        Box::pin(async move {
            self.check().await?;
            Remote::take(&self.store, limit, window, ask, force, now_ms).await
        })
    }

    fn give<'a>(
        &'a self,
        limit: &'a Limit,
        window: u64,
        amount: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.check().await?;
            Remote::give(&self.store, limit, window, amount).await
        })
    }
}

const OPTIONS: LeaseOptions = LeaseOptions {
    slice: 0.05,
    sync_interval: Duration::from_millis(10),
    idle_return: Duration::from_millis(50),
};

fn model_limit(cap: u64) -> Limit {
    Limit {
        name: LimitKey {
            scope: Scope::Model,
            subject: "m1".into(),
            unit: Unit::Requests,
            period: Period::Minute,
        },
        period: Period::Minute,
        cap,
    }
}

async fn fire(limiter: &Limiter, config: &str, n: usize) -> Vec<u16> {
    let svc = service(limiter, config, None, json_upstream(1));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let mut svc = svc.clone();
            tokio::spawn(async move {
                call(&mut svc, request("/v1/chat/completions", CHAT))
                    .await
                    .0
                    .status
                    .as_u16()
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_admit_more_than_the_shared_limit() {
    let remote = Arc::new(Flaky::default());
    let a = Limiter::shared(remote.clone(), OPTIONS);
    let b = Limiter::shared(remote.clone(), OPTIONS);
    a.ensure_sync();
    b.ensure_sync();
    let config = "models.m1.rpm = 200";
    let (ra, rb) = tokio::join!(fire(&a, config, 300), fire(&b, config, 300));
    let admitted = ra.iter().chain(&rb).filter(|s| **s == 200).count() as u64;
    let refused = ra.iter().chain(&rb).filter(|s| **s == 429).count() as u64;
    assert_eq!(admitted + refused, 600);
    // Never over the limit; under it by at most what the other instance held
    // in its lease when the load stopped (one slice of 10 each).
    assert!(admitted <= 200, "admitted {admitted}");
    assert!(admitted >= 200 - 2 * 10, "admitted {admitted}");
    // The store was asked per slice, not per request.
    let calls = remote.calls.load(Ordering::Relaxed);
    eprintln!("2 instances, limit 200, 600 requests: {admitted} admitted, {calls} store calls");
    assert!(calls < 150, "{calls} store calls for 600 requests");
    // Idle leases go back: the store then counts exactly what was admitted.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (prev, curr) = remote.store.counts(&model_limit(200), now());
    assert_eq!(prev + curr, admitted);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_fails_open_when_so_configured() {
    let remote = Arc::new(Flaky::default());
    let limiter = Limiter::shared(remote.clone(), OPTIONS);
    let config = "on_redis_error = \"open\"\nmodels.m1.rpm = 10";
    // Up: the limit holds.
    let statuses = fire(&limiter, config, 15).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10);
    // Down: every request passes uncounted.
    remote.down.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let statuses = fire(&limiter, config, 20).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_fails_closed_when_so_configured() {
    let remote = Arc::new(Flaky::default());
    let limiter = Limiter::shared(remote.clone(), OPTIONS);
    let config = "on_redis_error = \"closed\"\nmodels.m1.rpm = 1000";
    assert!(fire(&limiter, config, 5).await.iter().all(|s| *s == 200));
    remote.down.store(true, Ordering::Relaxed);
    // What the instance holds in its lease (at most one slice of 50) may still
    // be spent; then every request gets a 503.
    let statuses = fire(&limiter, config, 100).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!(ok <= 50, "{ok} admitted with the store down");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    let svc = service(&limiter, config, None, json_upstream(1));
    let (parts, body) = call(&mut svc.clone(), request("/v1/messages", CHAT)).await;
    assert_eq!(parts.status, 503);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "gateway_error");
    // Back up: served again.
    remote.down.store(false, Ordering::Relaxed);
    // After a failure the store is left alone for one sync interval.
    tokio::time::sleep(OPTIONS.sync_interval * 2).await;
    assert!(fire(&limiter, config, 5).await.iter().all(|s| *s == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_store_costs_one_timeout_not_one_per_request() {
    let remote = Arc::new(Flaky::default());
    let limiter = Limiter::shared(remote.clone(), OPTIONS);
    let config = "on_redis_error = \"closed\"\nmodels.m1.rpm = 1";
    remote.hung.store(true, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let statuses = fire(&limiter, config, 30).await;
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    // One store call times out; the requests queued behind it answer at once.
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "{took:?} for 30 requests"
    );
    assert!(remote.calls.load(Ordering::Relaxed) < 5);
}
