//! The table, the JSON line, and the default stack's figures against the
//! targets of the performance issue.

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::scenarios::Target;

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn q(h: &Histogram<u64>, quantile: f64) -> u64 {
    h.value_at_quantile(quantile)
}

/// Added milliseconds of `h` over `base` at `quantile` (negative: faster than direct).
fn added(h: &Histogram<u64>, base: &Histogram<u64>, quantile: f64) -> f64 {
    (q(h, quantile) as f64 - q(base, quantile) as f64) / 1e6
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Mean req/s over rounds at concurrency `c`.
pub fn rps(t: &Target, c: usize) -> Option<f64> {
    mean(t.figures.throughput.get(&c)?.iter().map(|(r, _)| *r))
}

/// Mean gateway CPU µs per request over rounds at concurrency `c`.
pub fn cpu_sat(t: &Target, c: usize) -> Option<f64> {
    mean(cpu_rounds(t, c).into_iter())
}

/// Gateway CPU µs per request of each round at concurrency `c`.
pub fn cpu_rounds(t: &Target, c: usize) -> Vec<f64> {
    t.figures
        .throughput
        .get(&c)
        .map(|v| v.iter().filter_map(|(_, c)| *c).collect())
        .unwrap_or_default()
}

/// Gateway CPU µs per request in the fixed-rate run.
pub fn cpu_rate(t: &Target) -> Option<f64> {
    let f = &t.figures;
    (t.pid.is_some() && f.latency_requests > 0)
        .then(|| f.latency_cpu_us as f64 / f.latency_requests as f64)
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A plain-text table: first column left-aligned, the rest right-aligned.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: Vec<String>) -> Self {
        Table { rows: vec![header] }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            for (c, cell) in row.iter().enumerate() {
                let pad = width[c] - cell.chars().count();
                if c == 0 {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str("  ");
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            out.push('\n');
        }
        out
    }
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

/// The human-readable report.
pub fn table(
    targets: &[Target],
    canary: Option<&Target>,
    levels: &[usize],
    rate: f64,
    stream_counts: &[usize],
) -> String {
    let direct = targets.iter().find(|t| t.name == "direct");
    let mut header = vec![String::new()];
    header.extend(targets.iter().map(|t| t.name.to_owned()));
    let mut tab = Table::new(header);
    let section = |tab: &mut Table, title: &str| tab.row(vec![title.to_owned()]);
    let row = |tab: &mut Table, name: &str, f: &dyn Fn(&Target) -> Option<String>| {
        let mut cells = vec![format!("  {name}")];
        cells.extend(targets.iter().map(|t| or_dash(f(t))));
        tab.row(cells);
    };
    section(&mut tab, "throughput, non-streaming (closed loop)");
    for &c in levels {
        row(&mut tab, &format!("c={c}: req/s"), &|t| {
            rps(t, c).map(|r| format!("{r:.0}"))
        });
        row(&mut tab, &format!("c={c}: % of direct"), &|t| {
            Some(format!("{:.0}%", 100.0 * rps(t, c)? / rps(direct?, c)?))
        });
        row(&mut tab, &format!("c={c}: gateway CPU µs/req"), &|t| {
            cpu_sat(t, c).map(|v| format!("{v:.1}"))
        });
        // The spread over rounds: how far this run's own noise goes.
        if targets.iter().any(|t| cpu_rounds(t, c).len() > 1) {
            row(&mut tab, &format!("c={c}: CPU, rounds min-max"), &|t| {
                let r = cpu_rounds(t, c);
                let min = r.iter().copied().reduce(f64::min)?;
                let max = r.iter().copied().reduce(f64::max)?;
                Some(format!("{min:.1}-{max:.1}"))
            });
        }
    }
    section(
        &mut tab,
        &format!("latency at {rate:.0} req/s (open loop), ms"),
    );
    fn lat(t: &Target) -> Option<&Histogram<u64>> {
        t.figures.latency.as_ref()
    }
    for (name, quant) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        row(&mut tab, name, &|t| {
            lat(t).map(|h| format!("{:.3}", ms(q(h, quant))))
        });
    }
    for (name, quant) in [
        ("added p50", 0.5),
        ("added p99", 0.99),
        ("added p99.9", 0.999),
    ] {
        row(&mut tab, name, &|t| {
            (t.name != "direct").then_some(())?;
            Some(format!("{:+.3}", added(lat(t)?, lat(direct?)?, quant)))
        });
    }
    row(&mut tab, "gateway CPU µs/req", &|t| {
        cpu_rate(t).map(|v| format!("{v:.1}"))
    });
    section(&mut tab, "streaming (kept-alive connections), added ms");
    fn st(t: &Target) -> Option<&crate::load::Streams> {
        t.figures.streams.as_ref()
    }
    let added_row = |tab: &mut Table,
                     name: &str,
                     pick: fn(&crate::load::Streams) -> &Histogram<u64>,
                     quant: f64| {
        row(tab, name, &|t| {
            (t.name != "direct").then_some(())?;
            Some(format!(
                "{:+.3}",
                added(pick(st(t)?), pick(st(direct?)?), quant)
            ))
        });
    };
    added_row(&mut tab, "first byte p50", |s| &s.ttfb, 0.5);
    added_row(&mut tab, "first byte p99", |s| &s.ttfb, 0.99);
    added_row(&mut tab, "per chunk p50", |s| &s.chunk, 0.5);
    added_row(&mut tab, "per chunk p99", |s| &s.chunk, 0.99);
    added_row(&mut tab, "end of stream p50", |s| &s.end, 0.5);
    added_row(&mut tab, "end of stream p99", |s| &s.end, 0.99);
    section(&mut tab, "1 MiB request body (sequential), added ms");
    fn lg(t: &Target) -> Option<&Histogram<u64>> {
        t.figures.large.as_ref()
    }
    row(&mut tab, "p50", &|t| {
        (t.name != "direct").then_some(())?;
        Some(format!("{:+.3}", added(lg(t)?, lg(direct?)?, 0.5)))
    });
    section(&mut tab, "gateway memory, MB");
    row(&mut tab, "RSS idle", &|t| {
        t.figures.rss_idle_kib.map(|k| format!("{:.1}", mib(k)))
    });
    row(&mut tab, "peak RSS under load", &|t| {
        t.figures.hwm_kib.map(|k| format!("{:.1}", mib(k)))
    });
    for &n in stream_counts {
        row(&mut tab, &format!("RSS, {n} open streams"), &|t| {
            let (_, h) = t.figures.held.iter().find(|(m, _)| *m == n)?;
            Some(if h.opened == n {
                format!("{:.1}", mib(h.rss_kib))
            } else {
                format!("{:.1} ({} open)", mib(h.rss_kib), h.opened)
            })
        });
    }
    if !stream_counts.contains(&10_000) && stream_counts.len() >= 2 {
        row(&mut tab, "RSS, 10000 streams (extrapolated)", &|t| {
            rss_at_10k(t).map(|m| format!("{m:.1}"))
        });
    }
    row(&mut tab, "errors", &|t| {
        Some(t.figures.errors.count.to_string())
    });
    let mut out = tab.render();
    if let (Some(c), Some(d)) = (canary, direct)
        && let (Some(cs), Some(ds)) = (c.figures.streams.as_ref(), d.figures.streams.as_ref())
    {
        out.push_str(&format!(
            "Nagle canary (upstream socket without TCP_NODELAY): per chunk p50 {:+.3} ms, end of stream p50 {:+.3} ms over direct\n",
            added(&cs.chunk, &ds.chunk, 0.5),
            added(&cs.end, &ds.end, 0.5),
        ));
    }
    for t in targets.iter().chain(canary) {
        if let Some(e) = &t.figures.errors.first {
            out.push_str(&format!(
                "{}: {} error(s), first: {e}\n",
                t.name, t.figures.errors.count
            ));
        }
    }
    out
}

/// One figure of the default stack against its target.
pub struct Check {
    pub what: &'static str,
    pub target: &'static str,
    pub measured: Option<f64>,
    pub unit: &'static str,
    pub limit: f64,
    /// `true`: the measured value must be at most `limit`; `false`: at least.
    pub at_most: bool,
}

impl Check {
    pub fn pass(&self) -> Option<bool> {
        let m = self.measured?;
        Some(if self.at_most {
            m <= self.limit
        } else {
            m >= self.limit
        })
    }
}

/// The targets for the full default stack, checked against `default`.
pub fn checks(targets: &[Target]) -> Vec<Check> {
    let find = |name: &str| targets.iter().find(|t| t.name == name);
    let (d, g) = (find("direct"), find("default"));
    let both = |f: &dyn Fn(&Target, &Target) -> Option<f64>| match (d, g) {
        (Some(d), Some(g)) => f(d, g),
        _ => None,
    };
    let st_added = |pick: fn(&crate::load::Streams) -> &Histogram<u64>| {
        both(&|d, g| {
            Some(added(
                pick(g.figures.streams.as_ref()?),
                pick(d.figures.streams.as_ref()?),
                0.5,
            ))
        })
    };
    vec![
        Check {
            what: "CPU per request at saturation (c=32)",
            target: "<= 25 µs",
            measured: g.and_then(|g| cpu_sat(g, 32)),
            unit: "µs",
            limit: 25.0,
            at_most: true,
        },
        Check {
            what: "CPU per request at a fixed rate",
            target: "<= 60 µs",
            measured: g.and_then(cpu_rate),
            unit: "µs",
            limit: 60.0,
            at_most: true,
        },
        Check {
            what: "throughput at c=32, share of direct",
            target: ">= 75 %",
            measured: both(&|d, g| Some(100.0 * rps(g, 32)? / rps(d, 32)?)),
            unit: "%",
            limit: 75.0,
            at_most: false,
        },
        Check {
            what: "added p50 at the fixed rate",
            target: "<= 0.1 ms",
            measured: both(&|d, g| {
                Some(added(
                    g.figures.latency.as_ref()?,
                    d.figures.latency.as_ref()?,
                    0.5,
                ))
            }),
            unit: "ms",
            limit: 0.1,
            at_most: true,
        },
        Check {
            what: "added p99 at the fixed rate",
            target: "<= 0.5 ms",
            measured: both(&|d, g| {
                Some(added(
                    g.figures.latency.as_ref()?,
                    d.figures.latency.as_ref()?,
                    0.99,
                ))
            }),
            unit: "ms",
            limit: 0.5,
            at_most: true,
        },
        Check {
            what: "added time to first streamed byte (p50)",
            target: "<= 0.1 ms",
            measured: st_added(|s| &s.ttfb),
            unit: "ms",
            limit: 0.1,
            at_most: true,
        },
        Check {
            what: "added time at the end of a stream (p50)",
            target: "none (<= 0.1 ms)",
            measured: st_added(|s| &s.end),
            unit: "ms",
            limit: 0.1,
            at_most: true,
        },
        Check {
            what: "RSS idle",
            target: "<= 30 MB",
            measured: g.and_then(|g| g.figures.rss_idle_kib).map(mib),
            unit: "MB",
            limit: 30.0,
            at_most: true,
        },
        Check {
            what: "RSS with 10,000 open streams",
            target: "<= 150 MB",
            measured: g.and_then(rss_at_10k),
            unit: "MB",
            limit: 150.0,
            at_most: true,
        },
        Check {
            what: "added latency of a 1 MiB body (p50)",
            target: "<= 1 ms",
            measured: both(&|d, g| {
                Some(added(
                    g.figures.large.as_ref()?,
                    d.figures.large.as_ref()?,
                    0.5,
                ))
            }),
            unit: "ms",
            limit: 1.0,
            at_most: true,
        },
    ]
}

/// Gateway RSS with 10,000 open streams: measured, or (when the open-files
/// limit kept the run lower) extrapolated linearly from the two largest counts.
pub fn rss_at_10k(t: &Target) -> Option<f64> {
    let mut held: Vec<(usize, u64)> = t
        .figures
        .held
        .iter()
        .filter(|(n, h)| h.opened == *n)
        .map(|(n, h)| (*n, h.rss_kib))
        .collect();
    held.sort_unstable();
    if let Some((_, kib)) = held.iter().find(|(n, _)| *n == 10_000) {
        return Some(mib(*kib));
    }
    let [.., (n1, r1), (n2, r2)] = held[..] else {
        return None;
    };
    let per_stream = (r2 as f64 - r1 as f64) / (n2 - n1) as f64;
    Some(mib(
        (r2 as f64 + per_stream * (10_000 - n2 as i64) as f64).max(0.0) as u64,
    ))
}

/// The checks as text.
pub fn checks_table(checks: &[Check]) -> String {
    let mut tab = Table::new(vec![
        "default stack vs target".into(),
        "target".into(),
        "measured".into(),
        String::new(),
    ]);
    for c in checks {
        let verdict = match c.pass() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        tab.row(vec![
            format!("  {}", c.what),
            c.target.into(),
            c.measured
                .map_or("-".into(), |m| format!("{m:.3} {}", c.unit)),
            verdict.into(),
        ]);
    }
    tab.render()
}

fn hist_json(h: Option<&Histogram<u64>>) -> Value {
    match h {
        Some(h) => json!({
            "p50_ms": round3(ms(q(h, 0.5))),
            "p99_ms": round3(ms(q(h, 0.99))),
            "p999_ms": round3(ms(q(h, 0.999))),
            "max_ms": round3(ms(h.max())),
            "count": h.len(),
        }),
        None => Value::Null,
    }
}

fn target_json(t: &Target, levels: &[usize]) -> Value {
    let f = &t.figures;
    let throughput: serde_json::Map<String, Value> = levels
        .iter()
        .map(|&c| {
            let rounds: Vec<f64> = f
                .throughput
                .get(&c)
                .map(|v| v.iter().map(|(r, _)| r.round()).collect())
                .unwrap_or_default();
            (
                format!("c{c}"),
                json!({
                    "rps": rps(t, c).map(f64::round),
                    "rps_rounds": rounds,
                    "cpu_us_per_req": cpu_sat(t, c).map(|v| (v * 10.0).round() / 10.0),
                    "cpu_us_per_req_rounds": cpu_rounds(t, c)
                        .iter()
                        .map(|v| (v * 10.0).round() / 10.0)
                        .collect::<Vec<_>>(),
                }),
            )
        })
        .collect();
    json!({
        "throughput": throughput,
        "latency": hist_json(f.latency.as_ref()),
        "cpu_us_per_req_at_rate": cpu_rate(t).map(|v| (v * 10.0).round() / 10.0),
        "stream": f.streams.as_ref().map(|s| json!({
            "ttfb": hist_json(Some(&s.ttfb)),
            "chunk": hist_json(Some(&s.chunk)),
            "end": hist_json(Some(&s.end)),
        })),
        "large_body": hist_json(f.large.as_ref()),
        "rss_idle_mb": f.rss_idle_kib.map(mib),
        "rss_peak_mb": f.hwm_kib.map(mib),
        "rss_10k_streams_mb": rss_at_10k(t),
        "rss_10k_streams_extrapolated": !f.held.iter().any(|(n, h)| *n == 10_000 && h.opened == *n),
        "open_streams": f.held.iter().map(|(n, h)| json!({"streams": n, "opened": h.opened, "rss_mb": mib(h.rss_kib), "open_secs": round3(h.open_secs)})).collect::<Vec<_>>(),
        "errors": f.errors.count,
    })
}

/// The JSON line.
pub fn json_line(
    machine: Value,
    settings: Value,
    targets: &[Target],
    canary: Option<&Target>,
    levels: &[usize],
    checks: &[Check],
) -> Value {
    let mut per_target = serde_json::Map::new();
    for t in targets.iter().chain(canary) {
        per_target.insert(t.name.to_owned(), target_json(t, levels));
    }
    let checks: Vec<Value> = checks
        .iter()
        .map(|c| json!({"what": c.what, "target": c.target, "measured": c.measured.map(round3), "unit": c.unit, "met": c.pass()}))
        .collect();
    json!({
        "bench": "switchyard-overhead",
        "version": env!("CARGO_PKG_VERSION"),
        "machine": machine,
        "settings": settings,
        "targets": per_target,
        "default_vs_targets": checks,
    })
}
