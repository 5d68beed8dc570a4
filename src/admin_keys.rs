//! Key management in the admin API: `/admin/keys`.
//!
//! Keys created here live in the key store (`[auth] store`) and work at once,
//! without a restart; keys from the config file are listed but read-only.
//! A key's plaintext is returned once, by create and rotate, and never again.

use std::sync::Arc;

use crate::config::ProviderConfig;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::{Value, json};
use switchyard_auth::{
    AuthLayer, AuthMode, KeySpec, KeyStore, StoreError, StoreErrorKind, VirtualKey,
};

struct Keys {
    admin_key: Option<Vec<u8>>,
    layer: AuthLayer,
    store: KeyStore,
    providers: Vec<ProviderConfig>,
}

/// `/admin/keys` routes: list, create, show, revoke, rotate. `providers` are
/// those a new key's `provider_keys` may name.
pub fn routes(
    layer: AuthLayer,
    store: KeyStore,
    admin_key: Option<&str>,
    providers: Vec<ProviderConfig>,
) -> Router {
    let state = Arc::new(Keys {
        admin_key: admin_key.map(|k| k.as_bytes().to_vec()),
        layer,
        store,
        providers,
    });
    Router::new()
        .route("/admin/keys", get(list).post(create))
        .route("/admin/keys/{id}", get(show).delete(revoke))
        .route("/admin/keys/{id}/rotate", post(rotate))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

async fn authorize(State(keys): State<Arc<Keys>>, req: Request, next: Next) -> Response {
    if let Err(res) = crate::admin::check(keys.admin_key.as_deref(), &req) {
        return res;
    }
    next.run(req).await
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"message": message.into(), "type": kind}});
    (status, axum::Json(body)).into_response()
}

fn store_error(e: StoreError) -> Response {
    let (status, kind) = match e.kind {
        StoreErrorKind::Invalid => (StatusCode::BAD_REQUEST, "invalid_request_error"),
        StoreErrorKind::Conflict | StoreErrorKind::ReadOnly => {
            (StatusCode::CONFLICT, "invalid_request_error")
        }
        StoreErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found_error"),
        StoreErrorKind::Internal => {
            tracing::error!(error = %e, "key store failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "gateway_error")
        }
    };
    error(status, kind, e.message)
}

impl Keys {
    fn find(&self, id: &str) -> Option<Arc<VirtualKey>> {
        self.layer
            .keys()
            .by_id(id)
            .or(self.store.index().by_id(id))
            .cloned()
    }

    /// Refuses changes to config keys and unknown ids.
    fn writable(&self, id: &str) -> Result<(), StoreError> {
        let (kind, message) = if self.layer.keys().by_id(id).is_some() {
            (
                StoreErrorKind::ReadOnly,
                format!(
                    "key `{id}` comes from the config file and is read-only through the admin API: edit `[[auth.keys]]` and reload"
                ),
            )
        } else if self.store.index().by_id(id).is_none() {
            (StoreErrorKind::NotFound, format!("no key `{id}`"))
        } else {
            return Ok(());
        };
        Err(StoreError { kind, message })
    }
}

/// A key's metadata and, once, its plaintext.
fn with_secret(key: &VirtualKey, secret: String) -> Value {
    let mut v = key.describe();
    if let Some(m) = v.as_object_mut() {
        m.insert("key".into(), secret.into());
    }
    v
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(StoreError {
            kind: StoreErrorKind::Internal,
            message: format!("key store task failed: {e}"),
        })
    })
}

async fn list(State(keys): State<Arc<Keys>>) -> Response {
    let store = keys.store.index();
    let all: Vec<Value> = keys
        .layer
        .keys()
        .iter()
        .chain(store.iter())
        .map(|k| k.describe())
        .collect();
    axum::Json(json!({
        "mode": keys.layer.mode().as_str(),
        "persistent": keys.store.is_persistent(),
        "keys": all,
    }))
    .into_response()
}

async fn show(State(keys): State<Arc<Keys>>, Path(id): Path<String>) -> Response {
    match keys.find(&id) {
        Some(k) => axum::Json(k.describe()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("no key `{id}`"),
        ),
    }
}

async fn create(State(keys): State<Arc<Keys>>, body: Bytes) -> Response {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    let spec: KeySpec = match serde_json::from_slice(body) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!("the body must be a key description as JSON: {e}"),
            );
        }
    };
    if let Err(e) = crate::access::check_provider_keys(&spec, &keys.providers) {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", e);
    }
    let state = keys.clone();
    let created = blocking(move || {
        let config = state.layer.keys().clone();
        state.store.create(spec, &|id| config.by_id(id).is_some())
    })
    .await;
    match created {
        Ok((key, secret)) => {
            tracing::info!(id = key.id(), "key created");
            if !keys.store.is_persistent() {
                tracing::warn!(
                    id = key.id(),
                    "no `[auth] store` is configured: this key lasts until the gateway exits"
                );
            }
            let mut body = with_secret(&key, secret);
            let mode = keys.layer.mode();
            if mode != AuthMode::VirtualKeys
                && let Some(m) = body.as_object_mut()
            {
                m.insert(
                    "warning".into(),
                    format!(
                        "[auth] mode is `{}`: virtual keys are not checked until mode = \"virtual_keys\"",
                        mode.as_str()
                    )
                    .into(),
                );
            }
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn revoke(State(keys): State<Arc<Keys>>, Path(id): Path<String>) -> Response {
    if let Err(e) = keys.writable(&id) {
        return store_error(e);
    }
    let state = keys.clone();
    let key = id.clone();
    match blocking(move || state.store.revoke(&key)).await {
        Ok(true) => {
            tracing::info!(id = %id, "key revoked");
            axum::Json(json!({"id": id, "revoked": true})).into_response()
        }
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            format!("no key `{id}`"),
        ),
        Err(e) => store_error(e),
    }
}

async fn rotate(State(keys): State<Arc<Keys>>, Path(id): Path<String>) -> Response {
    if let Err(e) = keys.writable(&id) {
        return store_error(e);
    }
    let state = keys.clone();
    let key = id.clone();
    match blocking(move || state.store.rotate(&key)).await {
        Ok((key, secret)) => {
            tracing::info!(id = %id, "key rotated");
            axum::Json(with_secret(&key, secret)).into_response()
        }
        Err(e) => store_error(e),
    }
}
