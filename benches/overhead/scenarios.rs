//! The scenarios, each run over every target in rotating order, round after
//! round, so drift (thermal, noisy neighbours) spreads evenly over targets.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use hdrhistogram::Histogram;

use crate::load::{self, Errors, Held, Streams};
use crate::upstream::Upstream;

/// One path under test.
pub struct Target {
    pub name: &'static str,
    pub addr: SocketAddr,
    /// The gateway process, if any (direct has none).
    pub pid: Option<u32>,
    pub figures: Figures,
}

impl Target {
    pub fn new(name: &'static str, addr: SocketAddr, pid: Option<u32>) -> Self {
        Target {
            name,
            addr,
            pid,
            figures: Figures::default(),
        }
    }
}

/// Everything measured for one target.
#[derive(Default)]
pub struct Figures {
    /// Per concurrency, per round: req/s and gateway CPU µs per request.
    pub throughput: BTreeMap<usize, Vec<(f64, Option<f64>)>>,
    pub latency: Option<Histogram<u64>>,
    pub latency_requests: u64,
    pub latency_cpu_us: u64,
    pub streams: Option<Streams>,
    pub large: Option<Histogram<u64>>,
    pub rss_idle_kib: Option<u64>,
    pub hwm_kib: Option<u64>,
    pub held: Vec<(usize, Held)>,
    pub errors: Errors,
}

fn rotation(n: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |k| (round + k) % n)
}

fn progress(what: &str, target: &str, figure: String) {
    eprintln!("  {what:<28} {target:<13} {figure}");
}

/// Closed-loop throughput at each concurrency.
pub async fn throughput(
    targets: &mut [Target],
    levels: &[usize],
    rounds: usize,
    warmup: f64,
    secs: f64,
    body: &Bytes,
) -> Result<(), String> {
    for &c in levels {
        for round in 0..rounds {
            for i in rotation(targets.len(), round) {
                let t = &mut targets[i];
                let r = load::closed_loop(t.addr, c, body, warmup, secs, t.pid).await?;
                let cpu = r
                    .cpu_us
                    .map_or(String::new(), |c| format!(", {c:.1} µs CPU/req"));
                progress(
                    &format!("throughput c={c} round {}", round + 1),
                    t.name,
                    format!("{:.0} req/s{cpu}", r.rps),
                );
                t.figures
                    .throughput
                    .entry(c)
                    .or_default()
                    .push((r.rps, r.cpu_us));
                t.figures.errors.merge(r.errors);
            }
        }
    }
    Ok(())
}

/// Open-loop latency at a fixed rate, in interleaved slices.
pub async fn latency(
    targets: &mut [Target],
    rate: f64,
    rounds: usize,
    slice: f64,
    body: &Bytes,
) -> Result<(), String> {
    for round in 0..rounds {
        for i in rotation(targets.len(), round) {
            let t = &mut targets[i];
            let r = load::open_loop(t.addr, rate, slice, body, t.pid).await?;
            let p50 = r.hist.value_at_quantile(0.5) as f64 / 1e6;
            progress(
                &format!("latency {rate:.0}/s slice {}", round + 1),
                t.name,
                format!("p50 {p50:.3} ms"),
            );
            let f = &mut t.figures;
            f.latency
                .get_or_insert_with(load::histogram)
                .add(&r.hist)
                .map_err(|e| e.to_string())?;
            f.latency_requests += r.requests;
            f.latency_cpu_us += r.cpu_us;
            f.errors.merge(r.errors);
        }
    }
    Ok(())
}

/// Streamed replies on kept-alive connections.
pub async fn streaming(
    targets: &mut [Target],
    concurrency: usize,
    rounds: usize,
    slice: f64,
    body: &Bytes,
    chunks: usize,
) -> Result<(), String> {
    for round in 0..rounds {
        for i in rotation(targets.len(), round) {
            let t = &mut targets[i];
            let r = load::streams(t.addr, concurrency, slice, body, chunks).await?;
            let chunk = r.chunk.value_at_quantile(0.5) as f64 / 1e6;
            progress(
                &format!("streaming round {}", round + 1),
                t.name,
                format!("{} streams, chunk p50 {chunk:.3} ms", r.end.len()),
            );
            t.figures.streams.get_or_insert_with(Streams::new).merge(r);
        }
    }
    for t in targets.iter_mut() {
        if let Some(s) = &mut t.figures.streams {
            t.figures.errors.merge(std::mem::take(&mut s.errors));
        }
    }
    Ok(())
}

/// Sequential requests with a large body.
pub async fn large(
    targets: &mut [Target],
    rounds: usize,
    requests: usize,
    body: &Bytes,
) -> Result<(), String> {
    let per_round = requests.div_ceil(rounds.max(1));
    for round in 0..rounds {
        for i in rotation(targets.len(), round) {
            let t = &mut targets[i];
            let (hist, errors) = load::sequential(t.addr, per_round, body).await?;
            progress(
                &format!("large body round {}", round + 1),
                t.name,
                format!("p50 {:.3} ms", hist.value_at_quantile(0.5) as f64 / 1e6),
            );
            t.figures
                .large
                .get_or_insert_with(load::histogram)
                .add(&hist)
                .map_err(|e| e.to_string())?;
            t.figures.errors.merge(errors);
        }
    }
    Ok(())
}

/// Gateway memory with `counts` streams held open, one count after another.
pub async fn held(
    targets: &mut [Target],
    counts: &[usize],
    upstream: &Upstream,
    body: &Bytes,
) -> Result<(), String> {
    let mut ip_base: u8 = 10;
    for &n in counts {
        for t in targets.iter_mut() {
            let Some(pid) = t.pid else { continue };
            let h = load::hold_streams(t.addr, n, body, upstream, pid, ip_base, || ()).await?;
            ip_base = ip_base.saturating_add(n.div_ceil(4_000) as u8);
            progress(
                &format!("{n} open streams"),
                t.name,
                format!(
                    "{} open in {:.1} s, RSS {:.1} MB",
                    h.opened,
                    h.open_secs,
                    h.rss_kib as f64 / 1024.0
                ),
            );
            t.figures.errors.merge(h.errors.clone());
            t.figures.held.push((n, h));
        }
    }
    Ok(())
}
