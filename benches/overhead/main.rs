//! End-to-end overhead bench: what putting Switchyard in front of a provider
//! costs a client.
//!
//! Starts a fast local upstream (a minimal hyper server answering a fixed
//! OpenAI chat completion, or ~20 streamed chunks), the release `switchyard`
//! binary with its default stack, and a bare passthrough stack (this
//! executable re-run as a gateway), each gateway pinned to one core with one
//! runtime worker; the upstream and the load generator run on another core.
//! Then, interleaved over direct / default / bare: closed-loop throughput,
//! open-loop latency at a fixed rate, gateway CPU per request and memory,
//! streaming first-byte, per-chunk and end-of-stream delays, a 1 MiB body,
//! and memory with thousands of streams held open. Prints a table and one
//! JSON line.
//!
//! ```text
//! scripts/bench-overhead            # cargo build --release, then this bench
//! scripts/bench-overhead --quick    # ~30 s
//! cargo bench --bench overhead -- --help
//! ```
//!
//! Run by `cargo test` (no `--bench` argument) it does a short smoke run
//! without pinning and fails if any exchange failed or a stream was stalled.
#![forbid(unsafe_code)]

mod bare;
mod callgrind;
mod client;
mod load;
mod massif;
mod opts;
mod procs;
mod report;
mod scenarios;
mod upstream;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use crate::opts::{Opts, Plan};
use crate::scenarios::Target;
use crate::upstream::Upstream;

fn main() -> ExitCode {
    if std::env::var(bare::ROLE_ENV).is_ok_and(|r| r == "bare") {
        return bare::main();
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let opts = if smoke {
        Opts::parse_from(["overhead", "--quick", "--nagle-canary"])
    } else {
        Opts::parse()
    };
    let mut plan = opts.plan();
    if smoke {
        plan = Plan {
            warmup: 0.2,
            duration: 0.5,
            rounds: 1,
            latency_slice: 0.5,
            latency_rounds: 1,
            stream_slice: 0.4,
            stream_concurrency: 4,
            large_requests: 10,
            streams: vec![200],
        };
    }
    let tools: [(_, fn() -> bool, _); 2] = [
        (
            &opts.callgrind,
            callgrind::available,
            "--callgrind needs valgrind",
        ),
        (
            &opts.massif,
            massif::available,
            "--massif needs valgrind and vgdb",
        ),
    ];
    for (dir, available, needs) in tools {
        let Some(dir) = dir else { continue };
        if !available() {
            eprintln!("overhead: {needs} (apt-get install valgrind)");
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("overhead: {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    if opts.callgrind.is_some() && opts.massif.is_some() {
        eprintln!(
            "overhead: --callgrind and --massif each run the gateways under valgrind: pick one"
        );
        return ExitCode::FAILURE;
    }
    let profiled = opts.callgrind.is_some() || opts.massif.is_some();
    let pin = !smoke && !profiled && procs::can_pin();
    if pin {
        if let Err(e) = pin_self(opts.load_core) {
            eprintln!("overhead: {e}");
            return ExitCode::FAILURE;
        }
    } else if !smoke && !profiled {
        eprintln!("overhead: `taskset` not found: nothing is pinned, figures are less comparable");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("overhead: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&opts, &plan, pin, smoke)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("overhead: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Pins this process (the upstream, the load generator and every thread they
/// start) to `core`.
fn pin_self(core: usize) -> Result<(), String> {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let id = ids
        .into_iter()
        .find(|c| c.id == core)
        .ok_or_else(|| format!("no CPU core {core} (use --load-core)"))?;
    if core_affinity::set_for_current(id) {
        Ok(())
    } else {
        Err(format!("cannot pin to core {core}"))
    }
}

/// Raises the open-files limit for `streams` held-open streams; returns the
/// largest stream count the limit allows (see [`fds_per_stream`]).
fn raise_fd_limit(streams: usize, http2: bool) -> usize {
    use rlimit::Resource;
    let want = (fds_per_stream(streams, http2) as u64) + 4_096;
    if rlimit::setrlimit(Resource::NOFILE, want, want).is_err() {
        let _ = rlimit::increase_nofile_limit(want);
    }
    let (soft, _) = rlimit::getrlimit(Resource::NOFILE).unwrap_or((1_024, 1_024));
    let room = soft.saturating_sub(400) as usize;
    if http2 { room * 100 / 101 } else { room / 2 }
}

/// File descriptors a process needs for `streams` open streams: the
/// gateway's client side plus its upstream side (one connection per stream
/// over HTTP/1.1, one per 100 over HTTP/2), as many in the bench process.
fn fds_per_stream(streams: usize, http2: bool) -> usize {
    if http2 {
        streams + streams.div_ceil(100)
    } else {
        streams * 2
    }
}

/// What the default gateway turns on besides the binary's defaults, so the
/// bench measures the full stack: a virtual key (the one the load generator
/// sends) with limits and budgets far above what a run uses, which makes the
/// limits layer count every request, and the prompt guard scanning every
/// prompt in `log` mode.
const FULL_STACK: &str = r#"[auth]
mode = "virtual_keys"

[[auth.keys]]
id = "bench"
team = "bench"
project = "overhead"
key = "sk-bench"
rpm = 1000000000
tpm = 4000000000
budget_daily_usd = 1000000
budget_monthly_usd = 10000000

[guard]
mode = "log"
"#;

struct Gateways {
    procs: Vec<procs::Proc>,
    dir: PathBuf,
}

impl Drop for Gateways {
    fn drop(&mut self) {
        self.procs.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_gateway(
    name: &str,
    opts: &Opts,
    upstream: &Upstream,
    dir: &Path,
    core: Option<usize>,
    wrap: Vec<OsString>,
) -> Result<procs::Proc, String> {
    let base_url = format!("http://{}/v1", upstream.addr);
    let log = dir.join(format!("{name}.log"));
    match name {
        "default" | "baseline" => {
            let bin = match (name, &opts.baseline_bin) {
                ("baseline", Some(bin)) => bin.clone(),
                _ => procs::gateway_binary()?,
            };
            let config = dir.join(format!("{name}.toml"));
            std::fs::write(
                &config,
                format!(
                    "listen = \"127.0.0.1:0\"\nworkers = 1\n\n[[providers]]\nid = \"bench\"\nkind = \"openai\"\nbase_url = \"{base_url}\"\napi_key = \"sk-bench\"\nmodels = [\"*\"]\ndiscover = false\n{}\n{}\n{}\n",
                    // Only when asked: builds before the key refuse it.
                    if opts.upstream_http2 { "http2_prior_knowledge = true\n" } else { "" },
                    if opts.plain_default { "" } else { FULL_STACK },
                    match (name, &opts.baseline_config_extra) {
                        ("baseline", Some(extra)) => extra,
                        _ => &opts.config_extra,
                    }
                ),
            )
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
            procs::spawn(procs::Launch {
                program: &bin,
                args: vec![
                    "--config".into(),
                    config.into_os_string(),
                    "--workers".into(),
                    "1".into(),
                ],
                wrap,
                envs: vec![],
                core,
                log: &log,
            })
        }
        "bare" => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            procs::spawn(procs::Launch {
                program: &exe,
                args: vec![],
                wrap,
                envs: vec![
                    (bare::ROLE_ENV, OsString::from("bare")),
                    (bare::UPSTREAM_ENV, OsString::from(base_url)),
                    (
                        bare::UPSTREAM_HTTP2_ENV,
                        OsString::from(if opts.upstream_http2 { "1" } else { "" }),
                    ),
                    ("SWITCHYARD_WORKERS", OsString::from("1")),
                ],
                core,
                log: &log,
            })
        }
        other => Err(format!(
            "unknown target `{other}` (direct, default, bare, baseline)"
        )),
    }
}

async fn run(opts: &Opts, plan: &Plan, pin: bool, smoke: bool) -> Result<bool, String> {
    let max_streams = plan.streams.iter().copied().max().unwrap_or(0);
    let allowed = raise_fd_limit(max_streams, opts.upstream_http2);
    // A count the open-files limit cannot hold becomes the largest it can
    // (in steps of 500), and the report extrapolates from there.
    let mut counts: Vec<usize> = Vec::new();
    for &n in &plan.streams {
        let n = if n <= allowed {
            n
        } else {
            let fit = allowed / 500 * 500;
            eprintln!(
                "overhead: {n} open streams need {} file descriptors per process; the open-files limit allows {fit} streams: measuring {fit}",
                fds_per_stream(n, opts.upstream_http2) + 512
            );
            fit
        };
        if n > 0 && !counts.contains(&n) {
            counts.push(n);
        }
    }
    let gap = Duration::from_millis(opts.chunk_gap_ms);
    let upstream = Upstream::start(opts.chunks, gap, opts.upstream_http2)
        .await
        .map_err(|e| format!("upstream: {e}"))?;
    let dir = std::env::temp_dir().join(format!("switchyard-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut gateways = Gateways {
        procs: Vec::new(),
        dir: dir.clone(),
    };
    let core = pin.then_some(opts.gateway_core);
    let mut targets = Vec::new();
    let mut names = opts.targets.clone();
    if opts.baseline_bin.is_some() && !names.iter().any(|n| n == "baseline") {
        names.push("baseline".into());
    }
    for name in &names {
        let name: &'static str = match name.as_str() {
            "direct" => "direct",
            "default" => "default",
            "bare" => "bare",
            "baseline" if opts.baseline_bin.is_some() => "baseline",
            other => return Err(format!("unknown target `{other}` (direct, default, bare)")),
        };
        if name == "direct" {
            targets.push(Target::new(name, upstream.addr, None));
            continue;
        }
        let wrap = match (&opts.callgrind, &opts.massif) {
            (Some(out), _) => callgrind::wrapper(out, name),
            (None, Some(out)) => massif::wrapper(out, name),
            (None, None) => Vec::new(),
        };
        let p = start_gateway(name, opts, &upstream, &dir, core, wrap)?;
        targets.push(Target::new(name, p.addr, Some(p.pid)));
        gateways.procs.push(p);
    }
    // Idle memory: started, one request served (lazy initialisation done), settled.
    let body = client::chat_body(opts.body_bytes, "bench-fast", false);
    for t in &mut targets {
        let mut conn = client::connect(t.addr, None).await?;
        client::exchange(&mut conn, &body)
            .await
            .map_err(|e| format!("{}: first request: {e}", t.name))?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Some(out) = &opts.callgrind {
        let stream_body = client::chat_body(opts.body_bytes, "bench-stream", true);
        let large_body = client::chat_body(opts.large_body_bytes, "bench-fast", false);
        let counts = callgrind::count(
            &targets,
            out,
            opts.callgrind_requests,
            callgrind::Bodies {
                plain: &body,
                stream: &stream_body,
                large: &large_body,
            },
            opts.chunks,
        )
        .await?;
        let line = json!({
            "bench": "switchyard-overhead-callgrind",
            "commit": commit(),
            "body_bytes": body.len(),
            "large_body_bytes": large_body.len(),
            "chunks": opts.chunks,
            "instructions_per_request": counts,
        });
        println!("{line}");
        return Ok(true);
    }
    if let Some(out) = &opts.massif {
        let stream_body = client::chat_body(opts.body_bytes, "bench-hold", true);
        let heap = massif::measure(
            &targets,
            out,
            opts.massif_streams.min(allowed),
            &upstream,
            (&body, &stream_body),
        )
        .await?;
        let line = json!({
            "bench": "switchyard-overhead-massif",
            "commit": commit(),
            "body_bytes": body.len(),
            "heap": heap,
        });
        println!("{line}");
        return Ok(true);
    }
    for t in &mut targets {
        t.figures.rss_idle_kib = t.pid.map(|p| procs::mem_kib(p, "VmRSS"));
    }
    let machine = procs::machine();
    if machine["loadavg_1m_at_start"]
        .as_f64()
        .is_some_and(|l| l > 0.5)
    {
        eprintln!(
            "overhead: load average {} before the run: other processes compete for the cores; figures will be noisy",
            machine["loadavg_1m_at_start"]
        );
    }
    eprintln!(
        "overhead: {} ({} cores); gateways {}; body {} B; stream {} chunks {} ms apart; upstream over HTTP/{}",
        machine["cpu"].as_str().unwrap_or("?"),
        machine["cores"],
        if pin {
            format!(
                "pinned to core {} with 1 worker, upstream + load on core {}",
                opts.gateway_core, opts.load_core
            )
        } else {
            "not pinned".into()
        },
        body.len(),
        opts.chunks,
        opts.chunk_gap_ms,
        if opts.upstream_http2 {
            "2 (h2c)"
        } else {
            "1.1"
        },
    );
    scenarios::throughput(
        &mut targets,
        &opts.concurrency,
        plan.rounds,
        plan.warmup,
        plan.duration,
        &body,
    )
    .await?;
    scenarios::latency(
        &mut targets,
        opts.rate,
        plan.latency_rounds,
        plan.latency_slice,
        &body,
    )
    .await?;
    let stream_body = client::chat_body(opts.body_bytes, "bench-stream", true);
    let mut canary = opts
        .nagle_canary
        .then(|| Target::new("direct-nagle", upstream.nagle_addr, None));
    {
        let mut all: Vec<Target> = std::mem::take(&mut targets);
        all.extend(canary.take());
        scenarios::streaming(
            &mut all,
            plan.stream_concurrency,
            plan.rounds.max(2),
            plan.stream_slice,
            &stream_body,
            opts.chunks,
        )
        .await?;
        if all.last().is_some_and(|t| t.name == "direct-nagle") {
            canary = all.pop();
        }
        targets = all;
    }
    let large_body = client::chat_body(opts.large_body_bytes, "bench-fast", false);
    scenarios::large(&mut targets, plan.rounds, plan.large_requests, &large_body).await?;
    for t in &mut targets {
        t.figures.hwm_kib = t.pid.map(|p| procs::mem_kib(p, "VmHWM"));
    }
    let hold_body = client::chat_body(opts.body_bytes, "bench-hold", true);
    scenarios::held(&mut targets, &counts, &upstream, &hold_body).await?;
    if let Some(dir) = &opts.perf {
        profile(&targets, dir, &body).await?;
    }

    let checks = report::checks(&targets);
    let settings = json!({
        "commit": commit(),
        "pinned": pin,
        "upstream_http2": opts.upstream_http2,
        "gateway_core": opts.gateway_core,
        "load_core": opts.load_core,
        "gateway_workers": 1,
        "body_bytes": body.len(),
        "concurrency": opts.concurrency,
        "rate": opts.rate,
        "chunks": opts.chunks,
        "chunk_gap_ms": opts.chunk_gap_ms,
        "stream_concurrency": plan.stream_concurrency,
        "large_body_bytes": large_body.len(),
        "open_streams": counts,
        "seconds_per_window": plan.duration,
        "rounds": plan.rounds,
        "quick": opts.quick,
    });
    let line = report::json_line(
        machine,
        settings,
        &targets,
        canary.as_ref(),
        &opts.concurrency,
        &checks,
    );
    println!();
    if smoke {
        println!("smoke run (debug build, not pinned, short windows): the figures mean nothing");
    }
    println!(
        "{}",
        report::table(
            &targets,
            canary.as_ref(),
            &opts.concurrency,
            opts.rate,
            &counts
        )
    );
    let comparable =
        targets.iter().any(|t| t.name == "default") && targets.iter().any(|t| t.name == "direct");
    if comparable && !smoke {
        println!("{}", report::checks_table(&checks));
    }
    if !smoke {
        println!("{line}");
    }
    if let Some(path) = &opts.json {
        std::fs::write(path, format!("{line}\n"))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let errors: u64 = targets.iter().map(|t| t.figures.errors.count).sum();
    let mut ok = errors == 0;
    if errors > 0 {
        eprintln!("overhead: {errors} exchange(s) failed; the figures above are not trustworthy");
    }
    if smoke {
        ok &= smoke_checks(&targets, canary.as_ref());
    }
    drop(gateways);
    Ok(ok)
}

/// What `cargo test` holds the bench to: every path answered, and no stream
/// through a gateway was held back the way Nagle's algorithm holds it (~40 ms).
fn smoke_checks(targets: &[Target], canary: Option<&Target>) -> bool {
    let mut ok = true;
    for t in targets {
        if t.figures
            .throughput
            .values()
            .flatten()
            .any(|(rps, _)| *rps <= 0.0)
        {
            eprintln!("smoke: {} served nothing", t.name);
            ok = false;
        }
        let Some(s) = &t.figures.streams else {
            eprintln!("smoke: {} streamed nothing", t.name);
            ok = false;
            continue;
        };
        // Nagle's algorithm with delayed ACKs holds chunks back ~40 ms: the
        // per-chunk tail shows it. The end of a stream is judged by its median,
        // which a slow debug build's end-of-stream work stays far below.
        let (chunk, end) = (
            s.chunk.value_at_quantile(0.99),
            s.end.value_at_quantile(0.5),
        );
        if s.end.is_empty() || chunk > 30_000_000 || end > 30_000_000 {
            eprintln!(
                "smoke: {}: streamed chunks arrive late (p99 {:.1} ms per chunk, p50 {:.1} ms at the end)",
                t.name,
                chunk as f64 / 1e6,
                end as f64 / 1e6
            );
            ok = false;
        }
        if t.pid.is_some() && t.figures.held.iter().any(|(n, h)| h.opened != *n) {
            eprintln!("smoke: {}: not every stream could be held open", t.name);
            ok = false;
        }
    }
    if let Some(s) = canary.and_then(|c| c.figures.streams.as_ref()) {
        eprintln!(
            "smoke: Nagle canary (upstream without TCP_NODELAY): per chunk p99 {:.1} ms",
            s.chunk.value_at_quantile(0.99) as f64 / 1e6
        );
    }
    ok
}

/// Records a `perf` profile of each gateway under c=32 load (not part of the figures).
async fn profile(targets: &[Target], dir: &Path, body: &bytes::Bytes) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for t in targets {
        let Some(pid) = t.pid else { continue };
        let out = dir.join(format!("{}.perf.data", t.name));
        let mut perf = std::process::Command::new("perf")
            .args([
                "record",
                "-e",
                "cpu-clock",
                "-F",
                "999",
                "--call-graph",
                "dwarf,16384",
                "-p",
            ])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&out)
            .args(["--", "sleep", "6"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("starting perf: {e}"))?;
        let r = load::closed_loop(t.addr, 32, body, 0.5, 6.0, Some(pid)).await?;
        let _ = perf.wait();
        eprintln!(
            "  profiled {:<13} {:.0} req/s under perf -> {}",
            t.name,
            r.rps,
            out.display()
        );
    }
    Ok(())
}

/// The source revision the bench was built from (`git describe --always --dirty`).
fn commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--exclude", "*"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
