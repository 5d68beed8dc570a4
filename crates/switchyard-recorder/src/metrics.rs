//! [`MetricsHook`]: metrics of every exchange, through the `metrics` facade.
//!
//! Names follow the OpenTelemetry GenAI semantic conventions where one
//! exists, as a Prometheus exporter spells them (dots become underscores,
//! the unit is a suffix); the rest are `switchyard_*`.
//!
//! | Metric | Type | Labels |
//! |---|---|---|
//! | `gen_ai_client_token_usage` | histogram (tokens) | `gen_ai_token_type` (`input`/`output`), `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model` |
//! | `gen_ai_client_operation_duration_seconds` | histogram | `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`, `error_type` |
//! | `gen_ai_server_time_to_first_token_seconds` | histogram | `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model` |
//! | `gen_ai_server_time_per_output_token_seconds` | histogram | same |
//! | `switchyard_requests_total` | counter | `endpoint`, `provider`, `model`, `status`, `error_type` |
//! | `switchyard_active_requests` | gauge | — |
//! | `switchyard_tokens_total` | counter | `provider`, `model`, `type` (`input`/`output`/`cached`/`reasoning`) |
//! | `switchyard_cost_usd_total` | gauge that only goes up (USD; the facade's counters are integers) | `provider`, `model` |
//! | `switchyard_generation_tokens_per_second` | histogram | `provider`, `model` |
//! | `switchyard_overhead_seconds` | histogram | `endpoint` |
//! | `switchyard_failover_attempts_total` | counter | `provider`, `model`, `error` (attempts that failed and were retried) |
//!
//! `provider` and `model` are the ones that served the answer (empty when
//! none did); `error_type` is empty on success.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use metrics::{Counter, Gauge, Histogram};

use crate::hooks::{OnRecord, Started};
use crate::record::Record;

/// Token usage per request (OTel `gen_ai.client.token.usage`).
pub const TOKEN_USAGE: &str = "gen_ai_client_token_usage";
/// End-to-end duration (OTel `gen_ai.client.operation.duration`).
pub const OPERATION_DURATION: &str = "gen_ai_client_operation_duration_seconds";
/// Time to first token (OTel `gen_ai.server.time_to_first_token`).
pub const TIME_TO_FIRST_TOKEN: &str = "gen_ai_server_time_to_first_token_seconds";
/// Time per output token after the first (OTel `gen_ai.server.time_per_output_token`).
pub const TIME_PER_OUTPUT_TOKEN: &str = "gen_ai_server_time_per_output_token_seconds";
/// Requests by endpoint, provider, model, status, error type.
pub const REQUESTS: &str = "switchyard_requests_total";
/// Requests in flight.
pub const ACTIVE_REQUESTS: &str = "switchyard_active_requests";
/// Tokens by provider, model and type.
pub const TOKENS: &str = "switchyard_tokens_total";
/// Cost in USD by provider and model.
pub const COST: &str = "switchyard_cost_usd_total";
/// Output tokens per second after the first token.
pub const GENERATION_SPEED: &str = "switchyard_generation_tokens_per_second";
/// Time spent in the gateway before the answer's head, upstream wait excluded.
pub const OVERHEAD: &str = "switchyard_overhead_seconds";
/// Failed attempts that were followed by another one.
pub const FAILOVER_ATTEMPTS: &str = "switchyard_failover_attempts_total";

/// Histogram buckets per metric, for the exporter.
pub const BUCKETS: &[(&str, &[f64])] = &[
    // OTel's advice for gen_ai.client.token.usage.
    (
        TOKEN_USAGE,
        &[
            1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
            4194304.0, 16777216.0, 67108864.0,
        ],
    ),
    (
        OPERATION_DURATION,
        &[
            0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
        ],
    ),
    (
        TIME_TO_FIRST_TOKEN,
        &[
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
            10.0,
        ],
    ),
    (
        TIME_PER_OUTPUT_TOKEN,
        &[
            0.001, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
            1.0, 2.5,
        ],
    ),
    (
        GENERATION_SPEED,
        &[
            1.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0, 1000.0,
        ],
    ),
    (
        OVERHEAD,
        &[
            0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05, 0.1,
        ],
    ),
];

/// Records each exchange's metrics with the global `metrics` recorder (the
/// binary installs a Prometheus exporter; without one this costs nothing).
///
/// Metric handles are looked up once per label set and kept, so a request
/// costs a map lookup, not a dozen registry lookups. Clones share the cache.
#[derive(Clone, Default)]
pub struct MetricsHook {
    cache: Arc<RwLock<Cache>>,
    active: Arc<OnceLock<Gauge>>,
}

/// provider -> model -> (endpoint, status, error type) -> handles.
type Cache = HashMap<String, HashMap<String, Vec<(Series, Arc<Handles>)>>>;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Series {
    endpoint: &'static str,
    status: u16,
    error: Option<&'static str>,
}

/// Every handle one label set writes.
struct Handles {
    requests: Counter,
    duration: Histogram,
    overhead: Histogram,
    ttft: Histogram,
    per_token: Histogram,
    speed: Histogram,
    usage_in: Histogram,
    usage_out: Histogram,
    tokens: [Counter; 4],
    cost: Gauge,
}

impl Handles {
    fn new(provider: &str, model: &str, s: Series) -> Self {
        let (p, m) = (provider.to_owned(), model.to_owned());
        let op = operation(s.endpoint);
        let genai = [
            ("gen_ai_operation_name", op.to_owned()),
            ("gen_ai_provider_name", p.clone()),
            ("gen_ai_request_model", m.clone()),
        ];
        let with = |k: &'static str, v: &str| {
            let mut l = genai.to_vec();
            l.push((k, v.to_owned()));
            l
        };
        let token = |kind: &'static str| metrics::counter!(TOKENS, "provider" => p.clone(), "model" => m.clone(), "type" => kind);
        Handles {
            requests: metrics::counter!(REQUESTS,
                "endpoint" => s.endpoint, "provider" => p.clone(), "model" => m.clone(),
                "status" => s.status.to_string(), "error_type" => s.error.unwrap_or_default()),
            duration: metrics::histogram!(
                OPERATION_DURATION,
                &with("error_type", s.error.unwrap_or_default())
            ),
            overhead: metrics::histogram!(OVERHEAD, "endpoint" => s.endpoint),
            ttft: metrics::histogram!(TIME_TO_FIRST_TOKEN, &genai),
            per_token: metrics::histogram!(TIME_PER_OUTPUT_TOKEN, &genai),
            speed: metrics::histogram!(GENERATION_SPEED, "provider" => p.clone(), "model" => m.clone()),
            usage_in: metrics::histogram!(TOKEN_USAGE, &with("gen_ai_token_type", "input")),
            usage_out: metrics::histogram!(TOKEN_USAGE, &with("gen_ai_token_type", "output")),
            tokens: [
                token("input"),
                token("output"),
                token("cached"),
                token("reasoning"),
            ],
            cost: metrics::gauge!(COST, "provider" => p.clone(), "model" => m.clone()),
        }
    }
}

impl std::fmt::Debug for MetricsHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHook").finish_non_exhaustive()
    }
}

impl MetricsHook {
    /// A hook; call [`describe`](Self::describe) once to register help texts.
    pub fn new() -> Self {
        MetricsHook::default()
    }

    fn active(&self) -> &Gauge {
        self.active.get_or_init(|| metrics::gauge!(ACTIVE_REQUESTS))
    }

    fn handles(&self, provider: &str, model: &str, series: Series) -> Arc<Handles> {
        let found = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(provider)
            .and_then(|m| m.get(model))
            .and_then(|v| v.iter().find(|(s, _)| *s == series))
            .map(|(_, h)| h.clone());
        if let Some(h) = found {
            return h;
        }
        let h = Arc::new(Handles::new(provider, model, series));
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        let list = cache
            .entry(provider.to_owned())
            .or_default()
            .entry(model.to_owned())
            .or_default();
        match list.iter().find(|(s, _)| *s == series) {
            Some((_, existing)) => existing.clone(),
            None => {
                list.push((series, h.clone()));
                h
            }
        }
    }

    /// Registers each metric's description and unit with the global recorder.
    pub fn describe() {
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_histogram!(
            TOKEN_USAGE,
            Unit::Count,
            "Tokens used per request, by type (input, output)."
        );
        describe_histogram!(
            OPERATION_DURATION,
            Unit::Seconds,
            "Duration of requests, to the end of the answer."
        );
        describe_histogram!(
            TIME_TO_FIRST_TOKEN,
            Unit::Seconds,
            "Time to the first token of streamed answers."
        );
        describe_histogram!(
            TIME_PER_OUTPUT_TOKEN,
            Unit::Seconds,
            "Time per output token after the first."
        );
        describe_counter!(
            REQUESTS,
            Unit::Count,
            "Requests, by endpoint, provider, model, status and error type."
        );
        describe_gauge!(ACTIVE_REQUESTS, Unit::Count, "Requests in flight.");
        describe_counter!(TOKENS, Unit::Count, "Tokens, by provider, model and type.");
        describe_gauge!(
            COST,
            "Cost in US dollars since start, by provider and model (only increases)."
        );
        describe_histogram!(
            GENERATION_SPEED,
            "Output tokens per second after the first token."
        );
        describe_histogram!(
            OVERHEAD,
            Unit::Seconds,
            "Time spent in the gateway before the answer's head, upstream wait excluded."
        );
        describe_counter!(
            FAILOVER_ATTEMPTS,
            Unit::Count,
            "Failed attempts followed by another attempt."
        );
    }
}

fn operation(endpoint: &str) -> &'static str {
    match endpoint {
        "chat_completions" | "messages" | "responses" => "chat",
        "completions" => "text_completion",
        "embeddings" => "embeddings",
        _ => "other",
    }
}

impl OnRecord for MetricsHook {
    fn on_start(&self, _started: &Started) {
        self.active().increment(1.0);
    }

    fn on_complete(&self, r: &Arc<Record>) {
        self.active().decrement(1.0);
        let series = Series {
            endpoint: r.endpoint,
            status: r.status,
            error: r.error_type,
        };
        let h = self.handles(
            r.provider.as_deref().unwrap_or_default(),
            r.model.as_deref().unwrap_or_default(),
            series,
        );
        h.requests.increment(1);
        h.duration.record(r.duration_ms / 1000.0);
        if let Some(us) = r.overhead_us {
            h.overhead.record(us as f64 / 1e6);
        }
        if let Some(ttft) = r.ttft_ms.filter(|_| r.stream) {
            h.ttft.record(ttft / 1000.0);
        }
        if let Some(speed) = r.tokens_per_second {
            h.speed.record(speed);
            if speed > 0.0 {
                h.per_token.record(1.0 / speed);
            }
        }
        if let Some(u) = &r.usage {
            h.usage_in.record(u.input_tokens as f64);
            h.usage_out.record(u.output_tokens as f64);
            let counts = [
                u.input_tokens,
                u.output_tokens,
                u.cached_tokens,
                u.reasoning_tokens,
            ];
            for (counter, n) in h.tokens.iter().zip(counts) {
                if n > 0 {
                    counter.increment(n);
                }
            }
        }
        if let Some(cost) = r.cost_usd {
            h.cost.increment(cost);
        }
        for failed in r.attempts.iter().rev().skip(1) {
            metrics::counter!(FAILOVER_ATTEMPTS,
                "provider" => failed.provider.clone(), "model" => failed.model.clone(),
                "error" => failed.error.clone().unwrap_or_default())
            .increment(1);
        }
    }
}
