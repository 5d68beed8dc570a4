//! Hot reload: a new stack is built from the re-read configuration and swapped
//! in atomically; requests in flight finish on the stack they started on.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::future::BoxFuture;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

use crate::app::{Gateway, Shared};
use crate::config::{Config, Overrides};

/// [`CONFIG_VERSION_HEADER`] as a `HeaderName`, built at compile time (not per request).
const CONFIG_VERSION_NAME: http::HeaderName = http::HeaderName::from_static(CONFIG_VERSION_HEADER);

/// Response header naming the configuration generation that served a request.
pub const CONFIG_VERSION_HEADER: &str = "x-switchyard-config-version";

/// Top-level keys read only at start; a reload reports them and leaves them be.
const RESTART_KEYS: &[&str] = &[
    "listen",
    "workers",
    "shutdown_grace_secs",
    "journal",
    "metrics",
    "usage",
];

/// One configuration and the gateway built from it.
pub struct Generation {
    /// 1 for the configuration loaded at start, +1 per applied reload.
    pub version: u64,
    /// `<version>-<hash of the configuration>`, as sent in [`CONFIG_VERSION_HEADER`].
    pub label: HeaderValue,
    /// The configuration.
    pub config: Arc<Config>,
    gateway: Gateway,
    router: Router,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Generation {
    fn new(version: u64, config: Config, gateway: Gateway) -> Generation {
        let label = format!("{version}-{:08x}", fingerprint(&config));
        Generation {
            version,
            label: HeaderValue::from_str(&label).unwrap_or(HeaderValue::from_static("0")),
            router: gateway.router(),
            gateway,
            config: Arc::new(config),
            tasks: Mutex::new(Vec::new()),
        }
    }

    fn start_tasks(&self) {
        let mut tasks = self.gateway.spawn_probes();
        tasks.push(self.gateway.spawn_discovery());
        *self.tasks.lock().unwrap_or_else(|p| p.into_inner()) = tasks;
    }

    fn stop_tasks(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }

    /// The gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }
}

/// What a reload found (and did).
#[derive(Debug)]
pub struct ReloadReport {
    /// Whether the new configuration is now serving.
    pub applied: bool,
    /// The label of the configuration serving after the call.
    pub version: String,
    /// What differs, one line per change.
    pub changes: Vec<String>,
}

/// The gateway as it is now, swappable at run time.
pub struct Live {
    current: ArcSwap<Generation>,
    shared: Shared,
    overrides: Overrides,
    next_version: AtomicU64,
    reloading: tokio::sync::Mutex<()>,
}

impl Live {
    /// Builds generation 1 from `config`; `overrides` are re-applied on every reload.
    pub fn new(config: Config, shared: Shared, overrides: Overrides) -> Result<Arc<Live>, String> {
        let gateway = Gateway::build(&config, &shared)?;
        Ok(Arc::new(Live {
            current: ArcSwap::from_pointee(Generation::new(1, config, gateway)),
            shared,
            overrides,
            next_version: AtomicU64::new(2),
            reloading: tokio::sync::Mutex::new(()),
        }))
    }

    /// The generation serving now.
    pub fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// The command-line overrides (and the config file's path) every load applies.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The state that outlives reloads.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Starts the current generation's background tasks (discovery, probes).
    pub fn start(&self) {
        self.current.load().start_tasks();
    }

    /// Stops the current generation's background tasks.
    pub fn stop(&self) {
        self.current.load().stop_tasks();
    }

    /// Re-reads the configuration from the same sources, builds a new gateway
    /// and, unless `dry_run`, swaps it in. An invalid configuration is refused
    /// (the error names the problem) and the current one keeps serving.
    pub async fn reload(&self, dry_run: bool) -> Result<ReloadReport, String> {
        let writer = self.writer().await;
        let (config, _) = Config::load(&self.overrides).map_err(|e| e.to_string())?;
        let next = writer.prepare(config)?;
        if dry_run {
            return Ok(writer.report(next));
        }
        Ok(writer.commit(next))
    }

    /// The one writer of the configuration: reloads (SIGHUP, `POST
    /// /admin/reload`) and the admin API's edits each hold it from reading
    /// the configuration to the swap, so neither can lose the other's change.
    pub async fn writer(&self) -> Writer<'_> {
        Writer {
            live: self,
            _one_at_a_time: self.reloading.lock().await,
        }
    }

    /// The whole HTTP surface: `POST /admin/reload`, and everything else served
    /// by the current generation, each answer stamped with its version.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/admin/reload", post(reload_handler))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                crate::admin_config::authorize,
            ))
            .with_state(self.clone())
            .merge(crate::admin_config::routes(self.clone()))
            .merge(crate::openapi::routes())
            .fallback_service(Current(self.clone()))
    }
}

/// Holds the configuration's write lock (see [`Live::writer`]).
pub struct Writer<'a> {
    live: &'a Live,
    _one_at_a_time: tokio::sync::MutexGuard<'a, ()>,
}

/// A validated configuration and the gateway built from it, not yet serving.
pub struct Prepared {
    config: Config,
    gateway: Gateway,
    changes: Vec<String>,
}

impl Prepared {
    /// What differs from the configuration serving now, one line per change.
    pub fn changes(&self) -> &[String] {
        &self.changes
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Writer<'_> {
    /// The command-line overrides (and the config file's path) every load applies.
    pub fn overrides(&self) -> &Overrides {
        &self.live.overrides
    }

    /// The generation serving now.
    pub fn current(&self) -> Arc<Generation> {
        self.live.current()
    }

    /// Builds the gateway for `config` as a start would, without serving it.
    pub fn prepare(&self, mut config: Config) -> Result<Prepared, String> {
        let old = self.live.current();
        // Keys read only at start keep their running values.
        config.workers = old.config.workers;
        let changes = diff(&old.config, &config);
        let gateway = Gateway::build(&config, &self.live.shared)?;
        Ok(Prepared {
            config,
            gateway,
            changes,
        })
    }

    /// The report of a dry run: what `next` would change; nothing is swapped.
    pub fn report(&self, next: Prepared) -> ReloadReport {
        ReloadReport {
            applied: false,
            version: label(&self.live.current()),
            changes: next.changes,
        }
    }

    /// Swaps `next` in: new requests are served by it, requests in flight finish on the old one.
    pub fn commit(&self, next: Prepared) -> ReloadReport {
        let live = self.live;
        let version = live.next_version.fetch_add(1, Ordering::Relaxed);
        let generation = Arc::new(Generation::new(version, next.config, next.gateway));
        generation.start_tasks();
        let previous = live.current.swap(generation.clone());
        previous.stop_tasks();
        tracing::info!(version = %label(&generation), changes = ?next.changes, "configuration reloaded");
        ReloadReport {
            applied: true,
            version: label(&generation),
            changes: next.changes,
        }
    }
}

fn label(g: &Generation) -> String {
    g.label.to_str().unwrap_or_default().to_owned()
}

/// A stable hash of the configuration (secrets are hashed by value too,
/// so rotating a key makes a new version).
fn fingerprint(config: &Config) -> u32 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(config)
        .unwrap_or_default()
        .hash(&mut h);
    for p in &config.providers {
        p.api_key.as_ref().map(|k| k.expose()).hash(&mut h);
    }
    config.admin_key.as_ref().map(|k| k.expose()).hash(&mut h);
    h.finish() as u32
}

/// One line per difference: top-level keys, and providers by id.
fn diff(old: &Config, new: &Config) -> Vec<String> {
    let (a, b) = (to_value(old), to_value(new));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        if key == "providers" || a.get(key) == b.get(key) {
            continue;
        }
        if RESTART_KEYS.contains(&key.as_str()) {
            out.push(format!("{key}: changed (takes effect after a restart)"));
        } else {
            out.push(format!("{key}: changed"));
        }
    }
    let by_id = |c: &Config| -> Vec<(String, Value)> {
        c.providers
            .iter()
            .map(|p| (p.id.clone(), serde_json::to_value(p).unwrap_or_default()))
            .collect()
    };
    let (pa, pb) = (by_id(old), by_id(new));
    for (id, v) in &pb {
        match pa.iter().find(|(i, _)| i == id) {
            None => out.push(format!("providers.{id}: added")),
            Some((_, old_v)) if old_v != v => out.push(format!("providers.{id}: changed")),
            Some(_) => {}
        }
    }
    for (id, _) in &pa {
        if !pb.iter().any(|(i, _)| i == id) {
            out.push(format!("providers.{id}: removed"));
        }
    }
    let keys_changed = old
        .providers
        .iter()
        .zip(&new.providers)
        .any(|(x, y)| x.id == y.id && x.api_key != y.api_key);
    if keys_changed {
        out.push("providers: an api_key changed".into());
    }
    if old.admin_key != new.admin_key {
        out.push("admin_key: changed".into());
    }
    let order = |c: &Config| c.providers.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    if out.iter().all(|l| !l.starts_with("providers.")) && order(old) != order(new) {
        out.push("providers: order changed".into());
    }
    out
}

fn to_value(c: &Config) -> serde_json::Map<String, Value> {
    match serde_json::to_value(c) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

#[derive(Deserialize)]
struct ReloadQuery {
    #[serde(default)]
    dry_run: bool,
}

async fn reload_handler(
    State(live): State<Arc<Live>>,
    Query(query): Query<ReloadQuery>,
) -> Response {
    let current = live.current();
    let dry_run = query.dry_run;
    match live.reload(dry_run).await {
        Ok(r) => axum::Json(json!({
            "applied": r.applied,
            "dry_run": dry_run,
            "version": r.version,
            "changes": r.changes,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reload refused; the running configuration keeps serving");
            let body = json!({"error": {"message": e, "type": "invalid_config"}, "version": label(&current)});
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
        }
    }
}

/// Serves a request with the generation current when it arrived.
#[derive(Clone)]
struct Current(Arc<Live>);

impl Service<Request> for Current {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let generation = self.0.current();
        Box::pin(async move {
            let mut res = generation.router.clone().oneshot(req).await?;
            res.headers_mut()
                .insert(CONFIG_VERSION_NAME, generation.label.clone());
            Ok(res)
        })
    }
}

/// Reloads on every SIGHUP until the process ends. The handler is registered
/// before this returns (SIGHUP's default action would end the process).
pub fn reload_on_sighup(live: Arc<Live>) -> tokio::task::JoinHandle<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let hup = signal(SignalKind::hangup());
        tokio::spawn(async move {
            let Ok(mut hup) = hup else {
                tracing::warn!("cannot listen for SIGHUP; reload with POST /admin/reload");
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration");
                if let Err(e) = live.reload(false).await {
                    tracing::error!(error = %e, "reload refused; the running configuration keeps serving");
                }
            }
        })
    }
    #[cfg(not(unix))]
    tokio::spawn(async move { drop(live) })
}
