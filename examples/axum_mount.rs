//! Mount Switchyard inside an existing axum application.
//!
//! - the whole gateway stack under `/llm` (`/llm/v1/chat/completions`), next to the app's own routes;
//! - `ParseLayer` alone in front of one of the app's own handlers, which reads the parsed request.
//!
//! ```sh
//! cargo run --example axum_mount -- 8080
//! curl -s localhost:8080/llm/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}'
//! ```

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use switchyard::core::{CatchLayer, ParseLayer, ParsedRequest, RequestContext};
use switchyard::providers::{Mock, MockConfig, ProviderSet};
use switchyard::route::{RouteLayer, RouteTable};
use tower::ServiceBuilder;

/// The app's own handler, behind `ParseLayer`: the body was read and validated once.
async fn inspect(
    Extension(parsed): Extension<ParsedRequest>,
    Extension(ctx): Extension<RequestContext>,
) -> Json<Value> {
    Json(json!({
        "model": parsed.model(),
        "stream": parsed.is_stream(),
        "bytes": parsed.raw().len(),
        "request_id": ctx.id().as_str(),
        "source": ctx.attribution().source,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8080);

    let table = RouteTable::builder().provider("mock", ["mock-*"]).build()?;
    let gateway = ServiceBuilder::new()
        .layer(CatchLayer::new())
        .layer(ParseLayer::new())
        .layer(RouteLayer::new(Arc::new(table)))
        .service(
            ProviderSet::<axum::body::Body>::new().with("mock", Mock::new(MockConfig::default())),
        );

    // A nested router sees paths without its prefix, so ParseLayer recognises
    // `/v1/chat/completions` under `/inspect` too.
    let inspect_routes = Router::new()
        .route("/v1/chat/completions", post(inspect))
        .layer(ParseLayer::new().limit(64 * 1024));

    let app = Router::new()
        .route("/hello", get(|| async { "hello from the host app" }))
        .nest_service("/llm", gateway)
        .nest("/inspect", inspect_routes);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("axum app listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
