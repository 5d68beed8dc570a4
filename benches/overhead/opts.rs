//! Command-line options of the overhead bench.

use clap::Parser;

/// End-to-end overhead of the gateway over a direct connection to a fast upstream.
#[derive(Parser, Debug, Clone)]
#[command(name = "overhead", about)]
pub struct Opts {
    /// A short run (~30 s) with fewer rounds and at most 1,000 open streams.
    #[arg(long)]
    pub quick: bool,
    /// Paths to measure, in interleaving order: direct, default, bare (and
    /// baseline, added by `--baseline-bin`).
    #[arg(long, value_delimiter = ',', default_value = "direct,default,bare")]
    pub targets: Vec<String>,
    /// Concurrency levels of the closed-loop throughput runs.
    #[arg(long, value_delimiter = ',', default_value = "32,256")]
    pub concurrency: Vec<usize>,
    /// Seconds measured per target per round in each throughput run (after warm-up).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Rounds of each interleaved scenario (results are averaged over rounds).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Fixed request rate (req/s) of the open-loop latency run.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Size of the chat request body, in bytes.
    #[arg(long, default_value_t = 2048)]
    pub body_bytes: usize,
    /// Chunks per streamed reply.
    #[arg(long, default_value_t = 20)]
    pub chunks: usize,
    /// Milliseconds between streamed chunks at the upstream.
    #[arg(long, default_value_t = 2)]
    pub chunk_gap_ms: u64,
    /// Counts of concurrent open streams whose gateway memory is measured.
    #[arg(long, value_delimiter = ',')]
    pub streams: Option<Vec<usize>>,
    /// Size of the large request body (added latency of a big prompt), in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub large_body_bytes: usize,
    /// Also stream from an upstream socket without TCP_NODELAY, to show what a
    /// Nagle stall looks like in the per-chunk figures.
    #[arg(long)]
    pub nagle_canary: bool,
    /// CPU core for the gateway (pinned with `taskset`, one runtime worker).
    #[arg(long, default_value_t = 0)]
    pub gateway_core: usize,
    /// CPU core for the upstream and the load generator.
    #[arg(long, default_value_t = 1)]
    pub load_core: usize,
    /// Record a `perf` profile of each gateway during its first c=32 throughput
    /// window, into this directory (`<target>.perf.data`).
    #[arg(long)]
    pub perf: Option<std::path::PathBuf>,
    /// Count instructions per request with valgrind's callgrind instead of
    /// timing anything (repeatable on a busy machine; see `callgrind.rs`);
    /// the profiles go to this directory.
    #[arg(long)]
    pub callgrind: Option<std::path::PathBuf>,
    /// Non-streamed requests counted per gateway with `--callgrind` (a tenth
    /// as many streamed ones follow).
    #[arg(long, default_value_t = 2000)]
    pub callgrind_requests: usize,
    /// Heap per open stream by allocation site, from valgrind's massif,
    /// instead of timing anything (see `massif.rs`); the snapshots go to
    /// this directory. The gateway must use the system allocator: build it
    /// with `--no-default-features`.
    #[arg(long)]
    pub massif: Option<std::path::PathBuf>,
    /// Streams held open for `--massif`.
    #[arg(long, default_value_t = 1000)]
    pub massif_streams: usize,
    /// Another `switchyard` build (e.g. the previous commit's) to measure as
    /// target `baseline`, with the default stack's config, interleaved with
    /// the others: before/after figures of a change from one run.
    #[arg(long)]
    pub baseline_bin: Option<std::path::PathBuf>,
    /// Measure the default target without the virtual key, limits and guard
    /// the bench otherwise turns on (the binary's stack with no config).
    #[arg(long)]
    pub plain_default: bool,
    /// TOML appended to the default gateway's generated config (e.g.
    /// `[journal]` / `enabled = false`), to measure what a setting costs.
    #[arg(long, default_value = "")]
    pub config_extra: String,
    /// TOML appended to the `baseline` target's config instead of
    /// `--config-extra` (with `--baseline-bin` set to the same build: what a
    /// setting costs, from one interleaved run).
    #[arg(long)]
    pub baseline_config_extra: Option<String>,
    /// The upstream serves h2c too, and the gateways speak HTTP/2 to it with
    /// prior knowledge (`http2_prior_knowledge = true`): all open streams
    /// share a few connections. The direct path stays HTTP/1.1.
    #[arg(long)]
    pub upstream_http2: bool,
    /// Also write the JSON line to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Ignored: cargo passes it to every bench.
    #[arg(long, hide = true)]
    pub bench: bool,
}

/// The effective settings of a run, after `--quick` and defaults.
#[derive(Debug, Clone)]
pub struct Plan {
    pub warmup: f64,
    pub duration: f64,
    pub rounds: usize,
    pub latency_slice: f64,
    pub latency_rounds: usize,
    pub stream_slice: f64,
    pub stream_concurrency: usize,
    pub large_requests: usize,
    pub streams: Vec<usize>,
}

impl Opts {
    /// What this run will do.
    pub fn plan(&self) -> Plan {
        let quick = self.quick;
        Plan {
            warmup: if quick { 0.3 } else { 0.5 },
            duration: self.duration.unwrap_or(if quick { 1.0 } else { 3.0 }),
            rounds: self.rounds.unwrap_or(if quick { 1 } else { 2 }),
            latency_slice: if quick { 1.0 } else { 2.0 },
            latency_rounds: self
                .rounds
                .map_or(if quick { 1 } else { 5 }, |r| r.max(1) * 2),
            stream_slice: if quick { 0.5 } else { 1.0 },
            stream_concurrency: 8,
            large_requests: if quick { 40 } else { 150 },
            streams: self.streams.clone().unwrap_or_else(|| {
                if quick {
                    vec![1_000]
                } else {
                    vec![1_000, 10_000]
                }
            }),
        }
    }
}
