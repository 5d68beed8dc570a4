//! The admin API for live configuration: providers, routing rules and
//! virtual models, read and changed at run time.
//!
//! A change is made to the config file's text (with `toml_edit`, so
//! comments and layout stay), loaded and validated exactly as the file is at
//! start, built as a reload builds, then written back and swapped in through
//! the same atomic reload. All of it happens under the reload's lock: one
//! writer at a time, and a SIGHUP waits for a write and then re-reads what it
//! wrote. Secrets are write-only: answers show `{"set": true}` in their place.

mod doc;
mod entries;
mod fields;
mod route_test;
mod write;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::reload::{Generation, Live};
use entries::{create, remove, replace};
use write::{config_path, write};

/// `/admin/config`, `/admin/providers`, `/admin/routes`, `/admin/models`,
/// `/admin/route/test`, behind the admin key.
pub fn routes(live: Arc<Live>) -> Router {
    Router::new()
        .route("/admin/config", get(show_config))
        .route("/admin/providers", collection(Kind::Provider))
        .route("/admin/providers/{id}", item(Kind::Provider))
        .route("/admin/routes", collection(Kind::Route))
        .route("/admin/routes/{id}", item(Kind::Route))
        .route("/admin/models", collection(Kind::Model))
        .route("/admin/models/{id}", item(Kind::Model))
        .route("/admin/route/test", post(route_test::handler))
        .route_layer(middleware::from_fn_with_state(live.clone(), authorize))
        .with_state(live)
}

/// Lets a request through with the serving configuration's admin key (see [`crate::admin::check`]).
pub(crate) async fn authorize(State(live): State<Arc<Live>>, req: Request, next: Next) -> Response {
    let current = live.current();
    let key = current
        .config
        .admin_key
        .as_ref()
        .map(|k| k.expose().as_bytes());
    if let Err(res) = crate::admin::check(key, &req) {
        return res;
    }
    next.run(req).await
}

/// An error answer: `{"error": {"message", "type", "field"?}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// 422: the configuration would be invalid; names the field when it can.
    fn invalid(message: impl Into<String>) -> Self {
        let message = message.into();
        let field = fields::locate(&message);
        ApiError {
            field,
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", message)
        }
    }

    fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"message": self.message, "type": self.kind});
        if let Some(f) = self.field {
            error["field"] = json!(f);
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

/// What the API edits: one `[[providers]]` entry, one `[[rules]]` entry, or
/// one `[virtual_models.<name>]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Provider,
    Route,
    Model,
}

impl Kind {
    /// The config file's key.
    fn key(self) -> &'static str {
        match self {
            Kind::Provider => "providers",
            Kind::Route => "rules",
            Kind::Model => "virtual_models",
        }
    }

    /// The answer's key for a list.
    fn plural(self) -> &'static str {
        match self {
            Kind::Provider => "providers",
            Kind::Route => "routes",
            Kind::Model => "models",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Provider => "provider",
            Kind::Route => "route",
            Kind::Model => "virtual model",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            Kind::Provider => "id",
            Kind::Route | Kind::Model => "name",
        }
    }

    /// Each entry of the serving configuration as (id, JSON), secrets masked.
    fn list(self, config: &Config) -> Vec<(String, Value)> {
        match self {
            Kind::Provider => config
                .providers
                .iter()
                .map(|p| {
                    let mut v = compact(serde_json::to_value(p).unwrap_or_default());
                    mask_headers(&mut v);
                    (p.id.clone(), mask(v))
                })
                .collect(),
            Kind::Route => config
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let name = r.name.clone().unwrap_or_else(|| format!("rules[{i}]"));
                    let v = compact(serde_json::to_value(r).unwrap_or_default());
                    (name.clone(), named(&name, Some(i), v))
                })
                .collect(),
            Kind::Model => config
                .virtual_models
                .iter()
                .map(|(name, vm)| {
                    let v = compact(serde_json::to_value(vm).unwrap_or_default());
                    (name.clone(), named(name, None, v))
                })
                .collect(),
        }
    }

    fn not_found(self, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("no {} `{id}` in the configuration", self.what()),
        )
    }
}

/// `name` (and `position`) first, then the entry's fields.
fn named(name: &str, position: Option<usize>, v: Value) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    if let Some(p) = position {
        out.insert("position".into(), json!(p));
    }
    if let Value::Object(m) = v {
        out.extend(m.into_iter().filter(|(k, _)| k != "name"));
    }
    Value::Object(out)
}

/// Leaves out what the TOML would not say: nulls, empty lists and tables.
fn compact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, compact(v)))
                .filter(|(_, v)| match v {
                    Value::Null => false,
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(compact).collect()),
        other => other,
    }
}

/// Secrets (serialised as `***`) become `{"set": true}`, at any depth.
fn mask(v: Value) -> Value {
    match v {
        Value::String(s) if s == "***" => json!({"set": true}),
        Value::Array(a) => Value::Array(a.into_iter().map(mask).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, mask(v))).collect()),
        other => other,
    }
}

/// A provider's header values may be keys: `{"set": true}` each.
fn mask_headers(provider: &mut Value) {
    if let Some(h) = provider.get_mut("headers").and_then(Value::as_object_mut) {
        h.values_mut().for_each(|v| *v = json!({"set": true}));
    }
}

fn version_label(g: &Generation) -> String {
    g.label.to_str().unwrap_or_default().to_owned()
}

async fn show_config(State(live): State<Arc<Live>>) -> Response {
    let g = live.current();
    let path = config_path(live.overrides());
    let mut config = mask(serde_json::to_value(&*g.config).unwrap_or_default());
    if let Some(providers) = config.get_mut("providers").and_then(Value::as_array_mut) {
        providers.iter_mut().for_each(mask_headers);
    }
    axum::Json(json!({
        "version": version_label(&g),
        "generation": g.version,
        "persisted_to": path.as_deref().map(write::absolute),
        "source": if path.is_some() { "file" } else { "environment" },
        "config": config,
    }))
    .into_response()
}

fn collection(kind: Kind) -> MethodRouter<Arc<Live>> {
    get(move |State(live): State<Arc<Live>>| async move {
        let g = live.current();
        let items: Vec<Value> = kind.list(&g.config).into_iter().map(|(_, v)| v).collect();
        axum::Json(json!({ kind.plural(): items, "version": version_label(&g) }))
    })
    .post(
        move |State(live): State<Arc<Live>>,
              query: Result<Query<WriteQuery>, QueryRejection>,
              body: Bytes| async move {
            let query = query.map_err(|e| ApiError::bad_request(e.body_text()))?.0;
            let body = json_object(&body)?;
            let status = if query.dry_run {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            write(&live, query.dry_run, kind, move |doc| {
                create(kind, doc, body, query.position)
            })
            .await
            .map(|r| (status, r))
        },
    )
}

fn item(kind: Kind) -> MethodRouter<Arc<Live>> {
    get(
        move |State(live): State<Arc<Live>>, UrlPath(id): UrlPath<String>| async move {
            let g = live.current();
            match kind.list(&g.config).into_iter().find(|(i, _)| *i == id) {
                Some((_, v)) => Ok(axum::Json(v)),
                None => Err(kind.not_found(&id)),
            }
        },
    )
    .put(
        move |State(live): State<Arc<Live>>,
              UrlPath(id): UrlPath<String>,
              query: Result<Query<WriteQuery>, QueryRejection>,
              body: Bytes| async move {
            let query = query.map_err(|e| ApiError::bad_request(e.body_text()))?.0;
            let body = json_object(&body)?;
            write(&live, query.dry_run, kind, move |doc| {
                replace(kind, doc, &id, body, query.position)
            })
            .await
        },
    )
    .delete(
        move |State(live): State<Arc<Live>>,
              UrlPath(id): UrlPath<String>,
              query: Result<Query<WriteQuery>, QueryRejection>| async move {
            let query = query.map_err(|e| ApiError::bad_request(e.body_text()))?.0;
            write(&live, query.dry_run, kind, move |doc| {
                remove(kind, doc, &id)
            })
            .await
        },
    )
}

#[derive(Deserialize)]
struct WriteQuery {
    /// Validate and build, but change nothing.
    #[serde(default)]
    dry_run: bool,
    /// Routes: where to put the rule (0 = tried first).
    position: Option<usize>,
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not JSON: {e}"))),
    }
}
