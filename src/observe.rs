//! Observability of the default binary: the recorder's hooks (journal,
//! metrics, live events), the usage layer's pricing, and their config.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use switchyard_journal::Journal;
use switchyard_recorder::{EventFeed, MetricsHook, RecorderLayer};
use switchyard_usage::{ModelCatalog, ModelInfo, Pricing, UsageLayer};

use crate::config::{Config, ProviderConfig, ProviderKind};

/// The `[usage]` section: pricing and token estimates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageConfig {
    /// A catalog file replacing the built-in one (same shape as `config/models.toml`).
    pub catalog: Option<PathBuf>,
    /// Entries over the catalog: `[usage.models."name"]` or `[usage.models."provider/name"]`.
    pub models: BTreeMap<String, ModelInfo>,
    /// Providers whose models the catalog does not price cost 0, besides
    /// `mock` providers and those whose `base_url` is on this machine.
    pub local_providers: Vec<String>,
    /// Do not estimate token counts a provider did not report (count 0 instead).
    pub no_estimates: bool,
    /// Do not add `stream_options.include_usage` to OpenAI-format streams
    /// (for upstreams that refuse the field; their streams are then estimated).
    pub no_stream_usage: bool,
}

/// The `[metrics]` section: the Prometheus endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Export metrics at all (default `true`).
    pub enabled: bool,
    /// Serve `GET /metrics` on this address instead of the main listener.
    pub listen: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            listen: None,
        }
    }
}

/// The hooks the recorder calls: metrics, the live feed, the journal.
pub type Hooks = (MetricsHook, EventFeed, Option<Journal>);

/// Everything the binary observes with, shared by the stack and the admin API.
pub struct Observe {
    /// The journal, unless `journal.enabled = false`.
    pub journal: Option<Journal>,
    /// The live feed of `/admin/events`.
    pub feed: EventFeed,
    /// The Prometheus exporter's handle, unless metrics are off.
    pub prometheus: Option<PrometheusHandle>,
    /// Prices of the usage layer.
    pub pricing: Arc<Pricing>,
    recorder: RecorderLayer<Hooks>,
    usage: UsageLayer,
}

impl Observe {
    /// Builds pricing and the journal (opened by [`start`](Self::start)) and
    /// installs the metrics exporter.
    pub fn new(config: &Config) -> Result<Observe, String> {
        let pricing = Arc::new(pricing(config)?);
        let journal = if config.journal.enabled {
            Some(Journal::new(&config.journal).map_err(|e| format!("journal: {e}"))?)
        } else {
            None
        };
        let prometheus = config.metrics.enabled.then(prometheus).transpose()?;
        let feed = EventFeed::new(1024);
        let hooks: Hooks = (MetricsHook::new(), feed.clone(), journal.clone());
        // Records are built and handed to the hooks after the answer's last
        // frame went out, so the end of an answer never waits for them.
        let recorder = RecorderLayer::new()
            .max_body_bytes(config.journal.max_body_bytes)
            .finish_after_send(true)
            .hooks(hooks);
        let usage = UsageLayer::new(pricing.clone())
            .estimate(!config.usage.no_estimates)
            .request_stream_usage(!config.usage.no_stream_usage);
        Ok(Observe {
            journal,
            feed,
            prometheus,
            pricing,
            recorder,
            usage,
        })
    }

    /// The recorder, to stack just inside `ParseLayer`.
    pub fn recorder_layer(&self) -> RecorderLayer<Hooks> {
        self.recorder.clone()
    }

    /// The usage layer, to stack after routing and before the providers.
    pub fn usage_layer(&self) -> UsageLayer {
        self.usage.clone()
    }

    /// Opens the journal's sinks (creating the database) and starts its writer.
    pub fn start(&self) -> Result<(), String> {
        match &self.journal {
            Some(j) => j.start().map_err(|e| format!("journal: {e}")),
            None => Ok(()),
        }
    }

    /// Keeps the exporter's histograms drained; abort the handle to stop.
    ///
    /// The tokenizers are not built here: each is built on the first estimate
    /// that needs it (tens of MB each), and most providers report usage.
    pub fn spawn_upkeep(&self) -> tokio::task::JoinHandle<()> {
        let handle = self.prometheus.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if let Some(h) = &handle {
                    h.run_upkeep();
                }
            }
        })
    }

    /// Writes every queued record and closes the journal (a clean shutdown loses none).
    pub fn shutdown(&self) {
        self.recorder.flush();
        if let Some(j) = &self.journal {
            j.close(Duration::from_secs(30));
            tracing::info!(
                written = j.written(),
                dropped = j.dropped(),
                "journal closed"
            );
        }
    }
}

/// The catalog (built-in or `usage.catalog`) with `usage.models` over it,
/// and the local providers.
fn pricing(config: &Config) -> Result<Pricing, String> {
    let mut catalog = match &config.usage.catalog {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("usage.catalog `{}`: {e}", path.display()))?;
            ModelCatalog::from_toml(&text)
                .map_err(|e| format!("usage.catalog `{}`: {e}", path.display()))?
        }
        None => ModelCatalog::builtin(),
    };
    for (name, info) in &config.usage.models {
        catalog
            .insert(name.clone(), info.clone())
            .map_err(|e| format!("usage.models: {e}"))?;
    }
    let mut pricing = Pricing::new(catalog);
    for p in config.providers.iter().filter(|p| is_local(p)) {
        pricing = pricing.local_provider(p.id.clone());
    }
    for id in &config.usage.local_providers {
        pricing = pricing.local_provider(id.clone());
    }
    Ok(pricing)
}

/// A mock, or a provider whose `base_url` is on this machine.
fn is_local(p: &ProviderConfig) -> bool {
    if p.kind == ProviderKind::Mock {
        return true;
    }
    let Some(url) = p.base_url.as_deref() else {
        return false;
    };
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The process's Prometheus recorder, installed once.
fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            for (name, buckets) in switchyard_recorder::metrics::BUCKETS {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
                    .map_err(|e| format!("metrics: {e}"))?;
            }
            let handle = builder
                .install_recorder()
                .map_err(|e| format!("installing the metrics exporter: {e}"))?;
            MetricsHook::describe();
            switchyard_failover::metrics::describe();
            switchyard_limit::metrics::describe();
            metrics::describe_counter!(
                switchyard_journal::DROPPED_METRIC,
                "Journal records dropped (queue full, write failed, or after close)."
            );
            metrics::describe_counter!(
                switchyard_journal::WRITTEN_METRIC,
                "Journal records written."
            );
            metrics::describe_gauge!(
                switchyard_journal::QUEUE_METRIC,
                "Journal records waiting to be written."
            );
            // Present from the start, so a scrape shows them before the first drop.
            metrics::counter!(switchyard_journal::DROPPED_METRIC).absolute(0);
            Ok(handle)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(kind: ProviderKind, url: Option<&str>) -> ProviderConfig {
        let mut p = crate::config::providers_from_env(|_| None).remove(0);
        p.kind = kind;
        p.base_url = url.map(str::to_owned);
        p
    }

    #[test]
    fn local_providers() {
        assert!(is_local(&provider(ProviderKind::Mock, None)));
        for url in [
            "http://127.0.0.1:11434/v1",
            "http://localhost/v1",
            "http://[::1]:8000/v1",
        ] {
            assert!(
                is_local(&provider(ProviderKind::Openai, Some(url))),
                "{url}"
            );
        }
        for url in ["https://api.openai.com/v1", "http://10.0.0.5:8000/v1"] {
            assert!(
                !is_local(&provider(ProviderKind::Openai, Some(url))),
                "{url}"
            );
        }
    }
}
