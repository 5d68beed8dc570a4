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

use std::sync::Arc;

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
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsHook {
    _priv: (),
}

impl MetricsHook {
    /// A hook; call [`describe`](Self::describe) once to register help texts.
    pub fn new() -> Self {
        MetricsHook { _priv: () }
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
        metrics::gauge!(ACTIVE_REQUESTS).increment(1.0);
    }

    fn on_complete(&self, r: &Arc<Record>) {
        metrics::gauge!(ACTIVE_REQUESTS).decrement(1.0);
        let provider = r.provider.clone().unwrap_or_default();
        let model = r.model.clone().unwrap_or_default();
        let error = r.error_type.unwrap_or_default();
        let op = operation(r.endpoint);
        metrics::counter!(REQUESTS,
            "endpoint" => r.endpoint, "provider" => provider.clone(), "model" => model.clone(),
            "status" => r.status.to_string(), "error_type" => error)
        .increment(1);
        let genai = [
            ("gen_ai_operation_name", op.to_owned()),
            ("gen_ai_provider_name", provider.clone()),
            ("gen_ai_request_model", model.clone()),
        ];
        let mut with_error = genai.to_vec();
        with_error.push(("error_type", error.to_owned()));
        metrics::histogram!(OPERATION_DURATION, &with_error).record(r.duration_ms / 1000.0);
        if let Some(us) = r.overhead_us {
            metrics::histogram!(OVERHEAD, "endpoint" => r.endpoint).record(us as f64 / 1e6);
        }
        if let Some(ttft) = r.ttft_ms.filter(|_| r.stream) {
            metrics::histogram!(TIME_TO_FIRST_TOKEN, &genai).record(ttft / 1000.0);
        }
        if let Some(speed) = r.tokens_per_second {
            metrics::histogram!(GENERATION_SPEED, "provider" => provider.clone(), "model" => model.clone())
                .record(speed);
            if speed > 0.0 {
                metrics::histogram!(TIME_PER_OUTPUT_TOKEN, &genai).record(1.0 / speed);
            }
        }
        if let Some(u) = &r.usage {
            for (kind, n) in [("input", u.input_tokens), ("output", u.output_tokens)] {
                let mut labels = genai.to_vec();
                labels.push(("gen_ai_token_type", kind.to_owned()));
                metrics::histogram!(TOKEN_USAGE, &labels).record(n as f64);
            }
            for (kind, n) in [
                ("input", u.input_tokens),
                ("output", u.output_tokens),
                ("cached", u.cached_tokens),
                ("reasoning", u.reasoning_tokens),
            ] {
                if n > 0 {
                    metrics::counter!(TOKENS, "provider" => provider.clone(), "model" => model.clone(), "type" => kind)
                        .increment(n);
                }
            }
        }
        if let Some(cost) = r.cost_usd {
            // The facade's counters are integers: dollars go up in a gauge.
            metrics::gauge!(COST, "provider" => provider, "model" => model).increment(cost);
        }
        for failed in r.attempts.iter().rev().skip(1) {
            metrics::counter!(FAILOVER_ATTEMPTS,
                "provider" => failed.provider.clone(), "model" => failed.model.clone(),
                "error" => failed.error.clone().unwrap_or_default())
            .increment(1);
        }
    }
}
