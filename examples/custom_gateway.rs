//! Compose a custom gateway from Switchyard's layers by hand.
//!
//! Two providers: the built-in mock (`mock-*` models) and, if `OPENAI_API_KEY`
//! is set, OpenAI (`gpt-*`). Run:
//!
//! ```sh
//! cargo run --example custom_gateway -- 8080
//! curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}'
//! ```

use std::sync::Arc;
use std::time::Duration;

use switchyard::core::{CatchLayer, ParseLayer};
use switchyard::providers::{
    ClientOptions, Mock, MockConfig, OpenAi, OpenAiConfig, ProviderSet, http_client,
};
use switchyard::route::{RouteLayer, RouteTable};
use tower::ServiceBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8080);

    let mock = Mock::new(MockConfig {
        id: "mock".into(),
        models: vec!["mock-1".into()],
        chunk_delay: Duration::from_millis(10),
        ..MockConfig::default()
    });
    let mut providers = ProviderSet::<axum::body::Body>::new().with("mock", mock);
    let mut table = RouteTable::builder().provider("mock", ["mock-*"]);
    if let Ok(key) = std::env::var("OPENAI_API_KEY") {
        let client = http_client(&ClientOptions::default())?;
        let openai = OpenAi::new(
            OpenAiConfig {
                id: "openai".into(),
                base_url: "https://api.openai.com/v1".into(),
                api_key: Some(key),
                headers: Vec::new(),
                first_byte_timeout: Duration::from_secs(120),
            },
            client,
        );
        providers = providers.with("openai", openai);
        table = table.provider("openai", ["gpt-*"]);
    }

    // Outer to inner: errors -> client-shaped responses; body read once; routing; providers.
    let stack = ServiceBuilder::new()
        .layer(CatchLayer::new())
        .layer(ParseLayer::new().limit(4 << 20))
        .layer(RouteLayer::new(Arc::new(table.build()?)))
        .service(providers);

    let app = axum::Router::new()
        .route_service("/v1/chat/completions", stack.clone())
        .route_service("/v1/embeddings", stack);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "custom gateway listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
