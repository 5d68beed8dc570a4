//! Classify, route and params stacked by hand in front of two providers.
//!
//! Two built-in mock providers, `fast` and `smart`. A `coder` virtual model
//! (with a parameter profile), a rule sending prompts with images or code to
//! `smart`, and the built-in classifiers. Run:
//!
//! ```sh
//! cargo run --example routed_gateway -- 8080
//! curl -si localhost:8080/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"coder","messages":[{"role":"user","content":"hi"}]}'
//! ```
//!
//! The answer's `x-switchyard-route`, `x-switchyard-provider` and
//! `x-switchyard-request-tags` headers show what happened.

use std::sync::Arc;
use std::time::Duration;

use switchyard::classify::{Classifier, Classifiers, ClassifyLayer, Scope};
use switchyard::core::{CatchLayer, ParseLayer};
use switchyard::params::{ParamsLayer, Profile, Profiles};
use switchyard::providers::{Mock, MockConfig, ProviderSet};
use switchyard::route::{RouteLayer, RouteTable, Rule, Rules, Strategy, Target, VirtualModel};
use tower::ServiceBuilder;

fn mock(id: &str, model: &str) -> Mock {
    Mock::new(MockConfig {
        id: id.into(),
        models: vec![model.into()],
        chunk_delay: Duration::from_millis(10),
        ..MockConfig::default()
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8080);

    let providers = ProviderSet::<axum::body::Body>::new()
        .with("fast", mock("fast", "fast-1"))
        .with("smart", mock("smart", "smart-1"));
    let table = RouteTable::builder()
        .provider("fast", ["fast-*"])
        .provider("smart", ["smart-*"])
        .build()?;

    // Tags: the built-ins (vision, tools, code, long_context) and a keyword list.
    let classifiers = Classifiers::default().with(Classifier::keywords(
        "urgent",
        &["urgent".into(), "asap".into()],
        Scope::LastUser,
    )?);
    // Routes: a rule for hard prompts, a virtual model, then the provider globs.
    let rules = Rules::builder(Arc::new(table))
        .virtual_model(
            VirtualModel::new("coder")
                .target(Target::new("fast", "fast-1"))
                .target(Target::new("smart", "smart-1"))
                .strategy(Strategy::FirstAvailable)
                .profile("coding")
                .description("fast first, smart as fallback"),
        )
        .rule(
            Rule::new("hard-prompts")
                .any_tag(["vision", "code"])
                .to([Target::new("smart", "smart-1")]),
        )
        .build()?;
    // Params: the coding profile caps the answer and sets a default temperature.
    let profiles = Profiles::builder()
        .profile(
            "coding",
            Profile::new()
                .default_value("temperature", 0.2)
                .max("max_tokens", 3),
        )
        .build()?;

    // Outer to inner: errors -> responses; body read once; tags; candidates; params; providers.
    let stack = ServiceBuilder::new()
        .layer(CatchLayer::new())
        .layer(ParseLayer::new().limit(4 << 20))
        .layer(ClassifyLayer::new(Arc::new(classifiers)))
        .layer(RouteLayer::with_rules(Arc::new(rules)))
        .layer(ParamsLayer::new(Arc::new(profiles)))
        .service(providers);

    let app = axum::Router::new().route_service("/v1/chat/completions", stack);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "routed gateway listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
