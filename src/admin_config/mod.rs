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
mod fields;
mod route_test;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use toml_edit::DocumentMut;

use crate::config::{Config, Overrides};
use crate::reload::{CONFIG_VERSION_HEADER, Generation, Live, Writer};

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

async fn authorize(State(live): State<Arc<Live>>, req: Request, next: Next) -> Response {
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
                    if let Some(h) = v.get_mut("headers").and_then(Value::as_object_mut) {
                        h.values_mut().for_each(|v| *v = json!({"set": true}));
                    }
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

/// The config file the API reads and writes: `--config`, else
/// `switchyard.toml` if present (as at start); none when the gateway runs
/// from the environment.
fn config_path(overrides: &Overrides) -> Option<PathBuf> {
    match &overrides.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("switchyard.toml")).filter(|p| p.exists()),
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
        for p in providers {
            if let Some(h) = p.get_mut("headers").and_then(Value::as_object_mut) {
                h.values_mut().for_each(|v| *v = json!({"set": true}));
            }
        }
    }
    axum::Json(json!({
        "version": version_label(&g),
        "generation": g.version,
        "persisted_to": path.as_ref().map(|p| p.display().to_string()),
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

/// Which entry a write touched: the id it has after the write.
struct Edited {
    id: Option<String>,
}

/// Applies `edit` to the config file under the reload lock, validates and
/// builds the result like a start, then (unless `dry_run`) writes the file
/// and swaps the new gateway in.
async fn write(
    live: &Live,
    dry_run: bool,
    kind: Kind,
    edit: impl FnOnce(&mut DocumentMut) -> Result<Edited, ApiError>,
) -> Result<Response, ApiError> {
    let writer = live.writer().await;
    let path = config_path(writer.overrides()).ok_or_else(no_file)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ApiError::internal(format!("reading `{}`: {e}", path.display())))?;
    let mut doc: DocumentMut = text.parse().map_err(|e| {
        ApiError::invalid(format!(
            "the config file `{}` does not parse (fix it by hand first): {e}",
            path.display()
        ))
    })?;
    let edited = edit(&mut doc)?;
    let new_text = doc.to_string();
    let (report, config) = apply(&writer, &path, &new_text, dry_run)?;
    let entry = edited.id.and_then(|id| {
        kind.list(&config)
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v)
    });
    let mut res = axum::Json(json!({
        "applied": report.applied,
        "dry_run": dry_run,
        "version": report.version,
        "changes": report.changes,
        "persisted_to": if dry_run { None } else { Some(path.display().to_string()) },
        kind.what().replace(' ', "_"): entry,
    }))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&report.version) {
        res.headers_mut().insert(CONFIG_VERSION_HEADER, v);
    }
    Ok(res)
}

/// Validates and builds `text` as the content of `path`; unless `dry_run`,
/// writes it and swaps it in.
fn apply(
    writer: &Writer<'_>,
    path: &Path,
    text: &str,
    dry_run: bool,
) -> Result<(crate::reload::ReloadReport, Config), ApiError> {
    let prefix = format!("config file `{}`: ", path.display());
    let strip = |e: String| e.strip_prefix(&prefix).map(str::to_owned).unwrap_or(e);
    let config = Config::load_str(writer.overrides(), path, text)
        .map_err(|e| ApiError::invalid(strip(e.to_string())))?;
    let next = writer
        .prepare(config)
        .map_err(|e| ApiError::invalid(strip(e)))?;
    let config = next.config().clone();
    if dry_run {
        return Ok((writer.report(next), config));
    }
    persist(path, text)?;
    Ok((writer.commit(next), config))
}

fn no_file() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_config_file",
        "the gateway runs without a config file (its providers come from the environment), \
         so a change could not be kept: start it with `--config FILE` to change the \
         configuration through the admin API",
    )
}

/// Writes `text` over `path` atomically (a temporary file beside it, renamed),
/// keeping the file's permissions; a symlink's target is written.
fn persist(path: &Path, text: &str) -> Result<(), ApiError> {
    let fail = |e: std::io::Error| {
        ApiError::internal(format!(
            "writing `{}`: {e}; the running configuration is unchanged",
            path.display()
        ))
    };
    let target = std::fs::canonicalize(path).map_err(fail)?;
    let mut tmp = target.clone().into_os_string();
    tmp.push(".switchyard-new");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(&target) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Takes the entry's id out of `body` (required), and `position` (routes).
fn split(kind: Kind, body: &mut Map<String, Value>, at: &str) -> Result<Option<String>, ApiError> {
    let field = kind.id_field();
    let id = match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => {
            return Err(
                ApiError::invalid(format!("`{field}` must be a non-empty string"))
                    .field(format!("{at}.{field}")),
            );
        }
    };
    if kind == Kind::Model {
        body.remove("name");
    }
    Ok(id)
}

fn position(
    body: &mut Map<String, Value>,
    query: Option<usize>,
) -> Result<Option<usize>, ApiError> {
    let from_body = match body.remove("position") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::invalid("`position` must be a whole number (0 = tried first)")
                .field("position")
        })? as usize),
    };
    Ok(query.or(from_body))
}

/// Refuses `{"set": true}` where there is no old secret to keep.
fn no_placeholders(body: &Map<String, Value>, at: &str) -> Result<(), ApiError> {
    let placeholder = |v: &Value| v == &json!({"set": true});
    if body.get("api_key").is_some_and(placeholder) {
        return Err(ApiError::invalid(
            "`api_key`: {\"set\": true} keeps a key, but there is none: give the key",
        )
        .field(format!("{at}.api_key")));
    }
    if let Some((name, _)) = body
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|h| h.iter().find(|(_, v)| placeholder(v)))
    {
        return Err(ApiError::invalid(format!(
            "`headers.{name}`: {{\"set\": true}} keeps a value, but there is none: give the value"
        ))
        .field(format!("{at}.headers")));
    }
    Ok(())
}

/// Where `id` is in the file's `[[key]]` list (unnamed rules answer to `rules[i]`).
fn index_of(kind: Kind, list: &toml_edit::ArrayOfTables, id: &str) -> Option<usize> {
    let field = kind.id_field();
    list.iter()
        .position(|t| t.get(field).and_then(|v| v.as_str()) == Some(id))
        .or_else(|| {
            let i: usize = id.strip_prefix("rules[")?.strip_suffix(']')?.parse().ok()?;
            (kind == Kind::Route && list.get(i).is_some_and(|t| !t.contains_key(field)))
                .then_some(i)
        })
}

fn conflict(kind: Kind, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        format!("a {} `{id}` exists already", kind.what()),
    )
    .field(kind.id_field())
}

fn create(
    kind: Kind,
    doc: &mut DocumentMut,
    mut body: Map<String, Value>,
    position_q: Option<usize>,
) -> Result<Edited, ApiError> {
    let key = kind.key();
    if kind == Kind::Model {
        let at = "virtual_models";
        let id = split(kind, &mut body, at)?
            .ok_or_else(|| ApiError::invalid("`name` is required").field("name"))?;
        let map = doc::map(doc, key).map_err(ApiError::invalid)?;
        if map.contains_key(&id) {
            return Err(conflict(kind, &id));
        }
        let at = format!("virtual_models.{id}");
        let table = doc::new_table(&body, &at).map_err(|e| ApiError::invalid(e).field(&at))?;
        map.insert(&id, toml_edit::Item::Table(table));
        return Ok(Edited { id: Some(id) });
    }
    let list = doc::entries(doc, key).map_err(ApiError::invalid)?;
    let pos = position(&mut body, position_q)?
        .unwrap_or(list.len())
        .min(list.len());
    let at = format!("{key}[{pos}]");
    let id = split(kind, &mut body, &at)?.ok_or_else(|| {
        ApiError::invalid(format!("`{}` is required", kind.id_field()))
            .field(format!("{at}.{}", kind.id_field()))
    })?;
    if index_of(kind, list, &id).is_some() {
        return Err(conflict(kind, &id));
    }
    if kind == Kind::Provider {
        no_placeholders(&body, &at)?;
    }
    let table = doc::new_table(&body, &at).map_err(ApiError::invalid)?;
    doc::insert_at(list, table, pos);
    Ok(Edited { id: Some(id) })
}

fn replace(
    kind: Kind,
    doc: &mut DocumentMut,
    id: &str,
    mut body: Map<String, Value>,
    position_q: Option<usize>,
) -> Result<Edited, ApiError> {
    let key = kind.key();
    if kind == Kind::Model {
        let at = format!("virtual_models.{id}");
        if split(kind, &mut body, &at)?.is_some_and(|n| n != id) {
            return Err(ApiError::invalid(
                "a virtual model cannot be renamed: add it under the new name, then delete the old one",
            )
            .field("name"));
        }
        let map = doc::map(doc, key).map_err(ApiError::invalid)?;
        let table = map
            .get_mut(id)
            .and_then(|t| t.as_table_like_mut())
            .ok_or_else(|| kind.not_found(id))?;
        doc::fill(table, &body, &[], &at).map_err(ApiError::invalid)?;
        return Ok(Edited {
            id: Some(id.to_owned()),
        });
    }
    let list = doc::entries(doc, key).map_err(ApiError::invalid)?;
    let i = index_of(kind, list, id).ok_or_else(|| kind.not_found(id))?;
    let at = format!("{key}[{i}]");
    let pos = position(&mut body, position_q)?;
    let new_id = split(kind, &mut body, &at)?;
    let mut keep: Vec<&str> = Vec::new();
    match kind {
        Kind::Provider => {
            if new_id.as_deref().is_some_and(|n| n != id) {
                return Err(ApiError::invalid(
                    "a provider's `id` cannot change (rules name it): add a new provider, then delete this one",
                )
                .field(format!("{at}.id")));
            }
            body.insert("id".into(), json!(id));
            keep_secrets(list.get(i), &mut body, &mut keep, &at)?;
        }
        Kind::Route => {
            if let Some(n) = &new_id
                && n != id
                && index_of(kind, list, n).is_some()
            {
                return Err(conflict(kind, n));
            }
        }
        Kind::Model => {}
    }
    let id_after = new_id.unwrap_or_else(|| id.to_owned());
    match pos {
        Some(pos) => {
            let mut table = doc::take(list, i).ok_or_else(|| kind.not_found(id))?;
            doc::fill(&mut table, &body, &keep, &at).map_err(ApiError::invalid)?;
            doc::insert_at(list, table, pos);
        }
        None => {
            let table = list.get_mut(i).ok_or_else(|| kind.not_found(id))?;
            doc::fill(table, &body, &keep, &at).map_err(ApiError::invalid)?;
        }
    }
    Ok(Edited { id: Some(id_after) })
}

/// A provider's PUT: `api_key` left out (or `{"set": true}`) keeps the old
/// one, as do `headers` left out and header values given as `{"set": true}`.
fn keep_secrets(
    old: Option<&toml_edit::Table>,
    body: &mut Map<String, Value>,
    keep: &mut Vec<&str>,
    at: &str,
) -> Result<(), ApiError> {
    let placeholder = json!({"set": true});
    let old_key = old.and_then(|t| t.get("api_key")).map(doc::to_json);
    match body.get("api_key") {
        None => keep.push("api_key"),
        Some(v) if *v == placeholder => match old_key {
            Some(k) => {
                body.insert("api_key".into(), k);
            }
            None => {
                return Err(ApiError::invalid(
                    "`api_key`: {\"set\": true} keeps a key, but there is none: give the key",
                )
                .field(format!("{at}.api_key")));
            }
        },
        Some(_) => {}
    }
    let old_headers = old.and_then(|t| t.get("headers")).map(doc::to_json);
    match body.get_mut("headers") {
        None => keep.push("headers"),
        Some(Value::Object(h)) => {
            for (name, v) in h.iter_mut() {
                if *v != placeholder {
                    continue;
                }
                match old_headers.as_ref().and_then(|o| o.get(name)) {
                    Some(old) => *v = old.clone(),
                    None => {
                        return Err(ApiError::invalid(format!(
                            "`headers.{name}`: {{\"set\": true}} keeps a value, but there is none: give the value"
                        ))
                        .field(format!("{at}.headers")));
                    }
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

fn remove(kind: Kind, doc: &mut DocumentMut, id: &str) -> Result<Edited, ApiError> {
    if kind == Kind::Model {
        let map = doc::map(doc, kind.key()).map_err(ApiError::invalid)?;
        map.remove(id).ok_or_else(|| kind.not_found(id))?;
        return Ok(Edited { id: None });
    }
    let list = doc::entries(doc, kind.key()).map_err(ApiError::invalid)?;
    let i = index_of(kind, list, id).ok_or_else(|| kind.not_found(id))?;
    list.remove(i);
    Ok(Edited { id: None })
}
