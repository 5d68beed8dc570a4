//! ParamsLayer mounted with `Router::layer` in front of an axum handler, over real HTTP.
#![expect(
    clippy::unwrap_used,
    reason = "helpers fail the test loudly on unexpected errors"
)]

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use switchyard_core::{Candidate, ParseLayer, ParsedRequest, RequestContext, RouteDecision};
use switchyard_params::{ParamsLayer, Profile, Profiles};

/// Answers with the body the providers would send.
async fn echo(axum::Extension(parsed): axum::Extension<ParsedRequest>) -> String {
    String::from_utf8(parsed.body().to_vec()).unwrap()
}

/// What a route layer would do: a candidate with a profile.
async fn route(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(ctx) = req.extensions_mut().get_mut::<RequestContext>() {
        ctx.set_route(RouteDecision {
            requested_model: "m".into(),
            rule: "test".into(),
            candidates: vec![Candidate::new("p", "m").with_profile("capped")],
        });
    }
    next.run(req).await
}

#[tokio::test]
async fn params_layer_mounts_with_router_layer() {
    let profiles = Profiles::builder()
        .profile(
            "capped",
            Profile::new()
                .max("max_tokens", 64)
                .default_value("seed", 7),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/chat/completions", post(echo))
        .layer(ParamsLayer::new(Arc::new(profiles)))
        .layer(axum::middleware::from_fn(route))
        .layer(ParseLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let body = r#"{"model":"m","max_tokens":1000}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.ends_with(r#"{"model":"m","max_tokens":64,"seed":7}"#),
        "{out}"
    );
    server.abort();
}
