//! Assembles the default stack and the HTTP surface of the binary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::json;
use switchyard_core::TargetHealth;
use switchyard_core::{CatchLayer, Endpoint, ErrorType, ParseLayer, Protocol, Rejection};
use switchyard_failover::{Circuits, FailoverLayer, ProbeTarget, Prober};
use switchyard_providers::{
    ClientOptions, Mock, MockConfig, OpenAi, OpenAiConfig, ProviderSet, http_client,
};
use switchyard_route::{ModelDirectory, RouteLayer, RouteTable, Rules, TargetStats};
use tower::ServiceBuilder;

use crate::config::{Config, ProviderConfig, ProviderKind};

/// State that outlives a configuration reload: health and circuit breakers,
/// routing statistics, discovered models, and the journal, metrics and live
/// feed (which also means `[journal]`, `[metrics]` and `[usage]` changes need
/// a restart).
#[derive(Clone)]
pub struct Shared {
    /// Target health, written by circuit breakers and probes, read by routing.
    pub board: switchyard_core::HealthBoard,
    /// Circuit breakers per target.
    pub circuits: Circuits,
    /// Observed latency, throughput and in-flight counts per target.
    pub stats: TargetStats,
    /// Models discovered from upstreams.
    pub directory: ModelDirectory,
    /// Journal, metrics exporter, live feed, pricing.
    pub observe: Arc<crate::observe::Observe>,
    /// Keys created through the admin API (`[auth] store`).
    pub keys: switchyard_auth::KeyStore,
    /// Rate-limit and budget counters (`[limits]`; `redis_url` needs a restart).
    pub limiter: switchyard_limit::Limiter,
}

impl Shared {
    /// Opens the journal, installs the metrics exporter, and starts with empty registries.
    pub fn new(config: &Config) -> Result<Shared, String> {
        let board = switchyard_core::HealthBoard::new();
        Ok(Shared {
            circuits: Circuits::new(board.clone()),
            board,
            stats: TargetStats::new(),
            directory: ModelDirectory::new(),
            observe: Arc::new(crate::observe::Observe::new(config)?),
            keys: config.auth.open_store()?,
            limiter: crate::limits::limiter(config)?,
        })
    }
}

/// The assembled gateway: the axum router and what its background tasks need.
pub struct Gateway {
    router: Router,
    state: Arc<AppState>,
    observe: Arc<crate::observe::Observe>,
}

struct AppState {
    started: Instant,
    circuits: Circuits,
    probes: Vec<ProbeTarget>,
    table: Arc<RouteTable>,
    rules: Arc<Rules>,
    route_layers: RouteLayers,
    routing_discovery: Arc<crate::routing::Discovery>,
    discoverable: Vec<OpenAi>,
    discovery_interval: Duration,
    providers: Vec<ProviderSummary>,
}

/// The layers that decide a request's fate before it leaves for a provider,
/// as the serving stack has them (see [`Gateway::route_layers`]).
#[derive(Clone)]
pub struct RouteLayers {
    /// Client keys.
    pub auth: switchyard_auth::AuthLayer,
    /// Secrets and PII in prompts.
    pub guard: switchyard_guard::GuardLayer,
    /// Request tags.
    pub classify: switchyard_classify::ClassifyLayer,
    /// Rules, virtual models and the provider table.
    pub rules: Arc<Rules>,
    /// Parameter profiles per target.
    pub params: switchyard_params::ParamsLayer,
}

struct ProviderSummary {
    id: String,
    kind: ProviderKind,
    base_url: Option<String>,
    patterns: Vec<String>,
}

impl Gateway {
    /// Builds providers, the route table and the default stack from `config`,
    /// with fresh [`Shared`] state.
    pub fn new(config: &Config) -> Result<Gateway, String> {
        Gateway::build(config, &Shared::new(config)?)
    }

    /// Builds the gateway for `config` around state that outlives it (a reload
    /// builds a new gateway around the same [`Shared`]).
    pub fn build(config: &Config, shared: &Shared) -> Result<Gateway, String> {
        let options = ClientOptions {
            connect_timeout: Duration::from_secs_f64(config.connect_timeout_secs),
            ..ClientOptions::default()
        };
        let client = http_client(&options).map_err(|e| format!("building the HTTP client: {e}"))?;
        let mut table = RouteTable::builder().directory(shared.directory.clone());
        let mut set = ProviderSet::<axum::body::Body>::new();
        let mut discoverable = Vec::new();
        // The health signal routes read: circuit breakers (passive, from real
        // traffic) and active probes write it. Stats outlive the stack.
        let board = shared.board.clone();
        let circuits = shared.circuits.clone();
        let mut failover = FailoverLayer::new(config.failover.clone(), circuits.clone());
        let mut probes = Vec::new();
        for p in &config.providers {
            if let Some(idle) = p.idle_timeout_secs {
                failover = failover.idle_timeout_for(p.id.as_str(), Duration::from_secs_f64(idle));
            }
            // A provider with its own connect timeout or HTTP/2 settings gets
            // its own pool.
            let own = p.connect_timeout_secs.is_some()
                || p.http2_prior_knowledge
                || p.http2_max_streams.is_some();
            let client = if own {
                http_client(&ClientOptions {
                    connect_timeout: p
                        .connect_timeout_secs
                        .map_or(options.connect_timeout, Duration::from_secs_f64),
                    http2_prior_knowledge: p.http2_prior_knowledge,
                    http2_max_streams: p.http2_max_streams.unwrap_or(options.http2_max_streams),
                    ..options.clone()
                })
                .map_err(|e| format!("building the HTTP client of `{}`: {e}", p.id))?
            } else {
                client.clone()
            };
            match p.kind {
                ProviderKind::Openai => {
                    let provider = OpenAi::new(openai_config(config, p)?, client.clone());
                    if !p.skip_probe {
                        probes.push(probe_target(p, provider.clone()));
                    }
                    if p.discovers() {
                        table = table.discovered_provider(&p.id, p.models.clone());
                        discoverable.push(provider.clone());
                    } else {
                        table = table.provider(&p.id, p.models.clone());
                    }
                    set = set.with(p.id.as_str(), crate::upstreams::translating(provider));
                }
                ProviderKind::Anthropic
                | ProviderKind::Azure
                | ProviderKind::Gemini
                | ProviderKind::Vertex
                | ProviderKind::Ollama
                | ProviderKind::Openresponses => {
                    set = crate::upstreams::add(set, config, p, &client)?;
                    table = table.provider(&p.id, p.models.clone());
                }
                ProviderKind::Mock => {
                    let defaults = MockConfig::default();
                    let concrete: Vec<String> = p
                        .models
                        .iter()
                        .filter(|m| !m.contains(['*', '?', '[', '{']))
                        .cloned()
                        .collect();
                    let mock = Mock::new(MockConfig {
                        id: p.id.clone(),
                        models: if p.models.is_empty() {
                            defaults.models.clone()
                        } else {
                            concrete
                        },
                        chunk_delay: p
                            .chunk_delay_ms
                            .map(Duration::from_millis)
                            .unwrap_or(defaults.chunk_delay),
                        error_status: p.error_status,
                        error_every: p.error_every.unwrap_or(0),
                        embedding_dims: p.embedding_dims.unwrap_or(defaults.embedding_dims),
                    });
                    let patterns = if p.models.is_empty() {
                        defaults.models
                    } else {
                        p.models.clone()
                    };
                    table = table.provider(&p.id, patterns);
                    set = set.with(p.id.as_str(), crate::upstreams::translating(mock));
                }
            }
        }
        let table = Arc::new(table.build().map_err(|e| e.to_string())?);
        let observe = shared.observe.clone();
        let routing = crate::routing::build(
            config,
            table.clone(),
            Arc::new(board.clone()),
            shared.stats.clone(),
            client.reqwest().clone(),
        )?;
        let auth = config.auth.layer(&shared.keys)?;
        let guard = switchyard_guard::Policy::from_config(&config.guard)
            .map(switchyard_guard::GuardLayer::new)
            .map_err(|e| format!("[guard]: {e}"))?;
        let stack = ServiceBuilder::new()
            .layer(CatchLayer::new())
            // classify, limits and parameter profiles read the JSON tree of every
            // request: build it in the validating pass (one parse, not two).
            .layer(
                ParseLayer::new()
                    .limit(config.body_limit_bytes)
                    .eager_json(true),
            )
            .layer(observe.recorder_layer())
            .layer(auth.clone())
            .layer(guard.clone())
            .layer(routing.classify.clone())
            .layer(RouteLayer::with_rules(routing.rules.clone()))
            .layer(crate::limits::layer(
                config,
                &shared.limiter,
                observe.pricing.clone(),
            )?)
            .layer(observe.usage_layer())
            .layer(failover)
            .layer(routing.params.clone())
            .service(set);
        let state = Arc::new(AppState {
            started: Instant::now(),
            circuits,
            probes,
            table,
            rules: routing.rules.clone(),
            route_layers: RouteLayers {
                auth: auth.clone(),
                guard: guard.clone(),
                classify: routing.classify.clone(),
                rules: routing.rules.clone(),
                params: routing.params.clone(),
            },
            routing_discovery: routing.discovery.clone(),
            discoverable,
            discovery_interval: Duration::from_secs(config.discovery_interval_secs.max(1)),
            providers: config
                .providers
                .iter()
                .map(|p| ProviderSummary {
                    id: p.id.clone(),
                    kind: p.kind,
                    base_url: p.base_url.clone(),
                    patterns: p.models.clone(),
                })
                .collect(),
        });
        let mut router = Router::new();
        for e in [
            Endpoint::ChatCompletions,
            Endpoint::Completions,
            Endpoint::Embeddings,
            Endpoint::Responses,
            Endpoint::Messages,
            Endpoint::CountTokens,
        ] {
            router = router.route_service(e.path(), stack.clone());
        }
        let router = router
            .route("/v1/models", get(list_models).route_layer(auth.clone()))
            .route("/health", get(health))
            .fallback(not_found)
            .with_state(state.clone())
            .merge(crate::admin::routes(
                observe.clone(),
                config.admin_key.as_ref().map(|k| k.expose()),
                config.metrics.listen.is_none(),
            ))
            .merge(crate::console::routes())
            .merge(crate::admin_keys::routes(
                auth,
                shared.keys.clone(),
                config.admin_key.as_ref().map(|k| k.expose()),
                config.providers.clone(),
            ))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        Ok(Gateway {
            router,
            state,
            observe,
        })
    }

    /// The recorder's hooks, the journal and the metrics exporter.
    pub fn observe(&self) -> &Arc<crate::observe::Observe> {
        &self.observe
    }

    /// The router serving the whole HTTP surface.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The layers that decide where a request goes (classify, rules, params),
    /// for the admin API's route test, which runs them without sending anything.
    pub fn route_layers(&self) -> &RouteLayers {
        &self.state.route_layers
    }

    /// Starts the active health probes; abort the handles to stop them.
    pub fn spawn_probes(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let health = self.state.circuits.health().clone();
        Prober::new(health, self.state.probes.clone()).spawn()
    }

    /// Refreshes discovered models now, then every `discovery_interval_secs`, until dropped.
    pub fn spawn_discovery(&self) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        tokio::spawn(async move {
            loop {
                refresh_all(&state, Duration::ZERO).await;
                state.routing_discovery.refresh().await;
                tokio::time::sleep(state.discovery_interval).await;
            }
        })
    }
}

fn probe_target(p: &ProviderConfig, provider: OpenAi) -> ProbeTarget {
    let path: Arc<str> = Arc::from(p.health_check_path.as_deref().unwrap_or("/models"));
    ProbeTarget {
        provider: Arc::from(p.id.as_str()),
        interval: Duration::from_secs_f64(p.health_check_interval_secs.unwrap_or(60.0)),
        failures_to_down: 2,
        check: Arc::new(move || {
            let (provider, path) = (provider.clone(), path.clone());
            Box::pin(async move { provider.probe(&path).await })
        }),
    }
}

fn openai_config(config: &Config, p: &ProviderConfig) -> Result<OpenAiConfig, String> {
    let mut headers = Vec::with_capacity(p.headers.len());
    for (k, v) in &p.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("provider `{}`: invalid header name `{k}`", p.id))?;
        let mut value = HeaderValue::from_str(v)
            .map_err(|_| format!("provider `{}`: invalid value for header `{k}`", p.id))?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    Ok(OpenAiConfig {
        id: p.id.clone(),
        base_url: p.base_url.clone().unwrap_or_default(),
        api_key: p.api_key.as_ref().map(|k| k.expose().to_owned()),
        headers,
        first_byte_timeout: Duration::from_secs_f64(
            p.timeout_secs.unwrap_or(config.backend_timeout_secs),
        ),
    })
}

/// Refreshes every discoverable provider last refreshed more than `max_age` ago.
async fn refresh_all(state: &AppState, max_age: Duration) {
    let stale = state.discoverable.iter().filter(|p| {
        state
            .table
            .directory()
            .refreshed(p.id())
            .is_none_or(|t| max_age.is_zero() || t.elapsed() > max_age)
    });
    let refreshes = stale.map(|p| async move {
        match tokio::time::timeout(Duration::from_secs(10), p.list_models()).await {
            Ok(Ok(models)) => {
                tracing::debug!(provider = p.id(), count = models.len(), "discovered models");
                state.table.directory().set(p.id(), models);
            }
            Ok(Err(e)) => tracing::warn!(provider = p.id(), error = %e, "model discovery failed"),
            Err(_) => tracing::warn!(provider = p.id(), "model discovery timed out"),
        }
    });
    futures_util::future::join_all(refreshes).await;
}

async fn list_models(State(state): State<Arc<AppState>>) -> Response {
    refresh_all(&state, state.discovery_interval).await;
    let mut data: Vec<_> = state
        .table
        .models()
        .into_iter()
        .map(|(provider, model)| {
            json!({"id": &*model, "object": "model", "created": 0, "owned_by": &*provider})
        })
        .collect();
    data.extend(crate::routing::model_entries(&state.rules));
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let providers: Vec<_> = state
        .providers
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "kind": p.kind.as_str(),
                "base_url": p.base_url,
                "models": p.patterns,
                "discovered": state.table.directory().get(&p.id).len(),
                // Whole-provider marks (active probes); per-model state is under `circuits`.
                "healthy": state.circuits.health().is_healthy(&p.id, ""),
            })
        })
        .collect();
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
        "providers": providers,
        "circuits": circuit_snapshot(&state.circuits),
    }))
    .into_response()
}

async fn not_found(req: http::Request<axum::body::Body>) -> Response {
    let protocol = if req.uri().path().starts_with("/v1/messages") {
        Protocol::Anthropic
    } else {
        Protocol::OpenAi
    };
    let msg = format!("no route for {} {}", req.method(), req.uri().path());
    Rejection::new(StatusCode::NOT_FOUND, ErrorType::NotFound, msg)
        .code("unknown_url")
        .into_response(protocol)
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> http::Response<String> {
    tracing::error!("a request handler panicked");
    let r = switchyard_core::Error::internal("internal error in the gateway").to_rejection();
    let body = r.to_json(Protocol::OpenAi).to_string();
    let mut res = http::Response::new(body);
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn circuit_snapshot(circuits: &Circuits) -> Vec<serde_json::Value> {
    circuits
        .snapshot()
        .into_iter()
        .map(|c| {
            json!({
                "provider": &*c.provider,
                "model": &*c.model,
                "state": c.state.as_str(),
                "consecutive_failures": c.consecutive_failures,
                "times_opened": c.times_opened,
                "retry_in_secs": c.retry_in.map(|d| d.as_secs_f64()),
            })
        })
        .collect()
}
