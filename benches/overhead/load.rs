//! The load generator's loops: closed-loop throughput, open-loop fixed-rate
//! latency (timed from the scheduled send, so a stall is never hidden by the
//! generator waiting for it), streams, a large body, and held-open streams.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio::sync::Semaphore;

use crate::client::{self, Conn};
use crate::procs;
use crate::upstream::{Upstream, now_ns};

/// Nanosecond histogram, 1 ns to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant bounds are valid")
}

/// Failures seen in a run: how many, and the first one's message.
#[derive(Default, Debug, Clone)]
pub struct Errors {
    pub count: u64,
    pub first: Option<String>,
}

impl Errors {
    fn add(errors: &Mutex<Errors>, e: String) {
        if let Ok(mut errs) = errors.lock() {
            errs.count += 1;
            errs.first.get_or_insert(e);
        }
    }

    fn take(errors: &Mutex<Errors>) -> Errors {
        errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn merge(&mut self, other: Errors) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

async fn connect_all(addr: SocketAddr, n: usize) -> Result<Vec<Conn>, String> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(client::connect(addr, None).await?);
    }
    Ok(conns)
}

/// One closed-loop throughput window.
pub struct Throughput {
    pub rps: f64,
    /// Gateway CPU per request, in µs (when a gateway pid was given).
    pub cpu_us: Option<f64>,
    pub errors: Errors,
}

/// `concurrency` workers, each on its own connection, send `body` back to back:
/// `warmup` seconds unmeasured, then `secs` measured.
pub async fn closed_loop(
    addr: SocketAddr,
    concurrency: usize,
    body: &Bytes,
    warmup: f64,
    secs: f64,
    pid: Option<u32>,
) -> Result<Throughput, String> {
    let conns = connect_all(addr, concurrency).await?;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Errors::default()));
    let mut workers = Vec::with_capacity(concurrency);
    for mut conn in conns {
        let (done, stop, errors, body) = (done.clone(), stop.clone(), errors.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match client::exchange(&mut conn, &body).await {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        Errors::add(&errors, e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if let Ok(c) = client::connect(addr, None).await {
                            conn = c;
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    let (n0, c0, t0) = (
        done.load(Ordering::Relaxed),
        pid.map(procs::cpu_us),
        now_ns(),
    );
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let (n1, c1, t1) = (
        done.load(Ordering::Relaxed),
        pid.map(procs::cpu_us),
        now_ns(),
    );
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let n = n1.saturating_sub(n0);
    let elapsed = (t1 - t0) as f64 / 1e9;
    Ok(Throughput {
        rps: n as f64 / elapsed,
        cpu_us: match (c0, c1) {
            (Some(a), Some(b)) if n > 0 => Some(b.saturating_sub(a) as f64 / n as f64),
            _ => None,
        },
        errors: Errors::take(&errors),
    })
}

/// What an open-loop slice measured.
pub struct Latency {
    pub hist: Histogram<u64>,
    pub requests: u64,
    pub cpu_us: u64,
    pub errors: Errors,
}

/// Sends at a fixed `rate` for `secs` over a pool of kept-alive connections;
/// each latency runs from the request's scheduled time to its last byte.
pub async fn open_loop(
    addr: SocketAddr,
    rate: f64,
    secs: f64,
    body: &Bytes,
    pid: Option<u32>,
) -> Result<Latency, String> {
    const POOL: usize = 64;
    let pool = Arc::new(Mutex::new(connect_all(addr, POOL).await?));
    let permits = Arc::new(Semaphore::new(POOL));
    let hist = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(Mutex::new(Errors::default()));
    let total = (rate * secs).round().max(1.0) as u64;
    let period = (1e9 / rate) as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cpu0 = pid.map(procs::cpu_us);
    let start = now_ns() + 1_000_000;
    // tokio's timer ticks in milliseconds; a thread sleeping to each send time
    // keeps the schedule within the kernel's timer slack (~50 µs).
    let pacer = std::thread::spawn(move || {
        for i in 0..total {
            let at = start + i * period;
            let now = now_ns();
            if at > now {
                std::thread::sleep(Duration::from_nanos(at - now));
            }
            if tx.send(at).is_err() {
                break;
            }
        }
    });
    let mut tasks = Vec::with_capacity(total as usize);
    while let Some(at) = rx.recv().await {
        let (pool, permits, hist, errors, body) = (
            pool.clone(),
            permits.clone(),
            hist.clone(),
            errors.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            let Some(mut conn) = pool.lock().ok().and_then(|mut p| p.pop()) else {
                return;
            };
            let result = client::exchange(&mut conn, &body).await;
            let latency = now_ns().saturating_sub(at);
            match result {
                Ok(()) => {
                    if let Ok(mut h) = hist.lock() {
                        let _ = h.record(latency.max(1));
                    }
                    if let Ok(mut p) = pool.lock() {
                        p.push(conn);
                    }
                }
                Err(e) => {
                    Errors::add(&errors, e);
                    if let (Ok(c), Ok(mut p)) = (client::connect(addr, None).await, pool.lock()) {
                        p.push(c);
                    }
                }
            }
        }));
    }
    let _ = pacer.join();
    for t in tasks {
        let _ = t.await;
    }
    let cpu1 = pid.map(procs::cpu_us);
    let hist = hist
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| histogram());
    Ok(Latency {
        requests: hist.len(),
        hist,
        cpu_us: match (cpu0, cpu1) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => 0,
        },
        errors: Errors::take(&errors),
    })
}

/// What a streaming slice measured, all in ns.
pub struct Streams {
    pub ttfb: Histogram<u64>,
    /// Delivery delay of every event after the first.
    pub chunk: Histogram<u64>,
    /// From the last event's write to the client seeing the end of the body.
    pub end: Histogram<u64>,
    pub errors: Errors,
}

impl Streams {
    pub fn new() -> Self {
        Streams {
            ttfb: histogram(),
            chunk: histogram(),
            end: histogram(),
            errors: Errors::default(),
        }
    }

    pub fn merge(&mut self, other: Streams) {
        let _ = self.ttfb.add(&other.ttfb);
        let _ = self.chunk.add(&other.chunk);
        let _ = self.end.add(&other.end);
        self.errors.merge(other.errors);
    }
}

/// `concurrency` workers stream back to back on kept-alive connections for `secs`.
pub async fn streams(
    addr: SocketAddr,
    concurrency: usize,
    secs: f64,
    body: &Bytes,
    chunks: usize,
) -> Result<Streams, String> {
    let conns = connect_all(addr, concurrency).await?;
    let out = Arc::new(Mutex::new(Streams::new()));
    let deadline = now_ns() + (secs * 1e9) as u64;
    let mut workers = Vec::new();
    for mut conn in conns {
        let (out, body) = (out.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            while now_ns() < deadline {
                let started = now_ns();
                let result = client::stream(&mut conn, &body, started, chunks).await;
                let Ok(mut out) = out.lock() else { return };
                match result {
                    Ok(t) => {
                        let _ = out.ttfb.record(t.ttfb.max(1));
                        for d in t.delays.iter().skip(1) {
                            let _ = out.chunk.record((*d).max(1));
                        }
                        let _ = out.end.record(t.end.max(1));
                    }
                    Err(e) => {
                        out.errors.count += 1;
                        out.errors.first.get_or_insert(e);
                        return;
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let mut result = Streams::new();
    if let Ok(mut out) = out.lock() {
        result.merge(std::mem::replace(&mut *out, Streams::new()));
    }
    Ok(result)
}

/// Latencies of `n` sequential requests with `body` on one kept-alive connection.
pub async fn sequential(
    addr: SocketAddr,
    n: usize,
    body: &Bytes,
) -> Result<(Histogram<u64>, Errors), String> {
    let mut conn = client::connect(addr, None).await?;
    let mut hist = histogram();
    let mut errors = Errors::default();
    for _ in 0..n {
        let t = now_ns();
        match client::exchange(&mut conn, body).await {
            Ok(()) => {
                let _ = hist.record((now_ns() - t).max(1));
            }
            Err(e) => {
                errors.count += 1;
                errors.first.get_or_insert(e);
                conn = client::connect(addr, None).await?;
            }
        }
    }
    Ok((hist, errors))
}

/// The gateway's memory while `n` streams are held open through it.
pub struct Held {
    pub opened: usize,
    pub rss_kib: u64,
    pub errors: Errors,
    pub open_secs: f64,
}

/// Opens `n` streams at once through the gateway at `addr` (each on its own
/// connection, from source addresses 127.0.0.`ip_base`.. so as not to run out
/// of ports), samples the gateway's RSS while the upstream holds them all
/// open (and calls `on_held` then), then releases them and checks each ends
/// with `[DONE]`.
pub async fn hold_streams(
    addr: SocketAddr,
    n: usize,
    body: &Bytes,
    upstream: &Upstream,
    pid: u32,
    ip_base: u8,
    on_held: impl FnOnce(),
) -> Result<Held, String> {
    const PER_IP: usize = 4_000;
    let opening = Arc::new(Semaphore::new(256));
    let opened = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(Errors::default()));
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    upstream.release(false);
    let t0 = now_ns();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let ip = Ipv4Addr::new(127, 0, 0, ip_base.saturating_add((i / PER_IP) as u8));
        let (opening, opened, failed, errors, body, mut go) = (
            opening.clone(),
            opened.clone(),
            failed.clone(),
            errors.clone(),
            body.clone(),
            go_rx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = opening.acquire().await;
            let fail = |e: String| {
                failed.fetch_add(1, Ordering::Relaxed);
                Errors::add(&errors, e);
            };
            let mut conn = match client::connect(addr, Some(ip)).await {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            let stream = match client::open_stream(&mut conn, &body).await {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            drop(permit);
            opened.fetch_add(1, Ordering::Relaxed);
            let _ = go.wait_for(|go| *go).await;
            if let Err(e) = client::finish_stream(stream).await {
                Errors::add(&errors, e);
            }
            drop(conn);
        }));
    }
    let limit = now_ns() + 120_000_000_000;
    while (opened.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed)) < n as u64
        && now_ns() < limit
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_secs = (now_ns() - t0) as f64 / 1e9;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_kib = procs::mem_kib(pid, "VmRSS");
    on_held();
    let count = opened.load(Ordering::Relaxed) as usize;
    upstream.release(true);
    let _ = go_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    upstream.release(false);
    Ok(Held {
        opened: count,
        rss_kib,
        errors: Errors::take(&errors),
        open_secs,
    })
}
