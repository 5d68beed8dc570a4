//! RouteLayer mounted with `Router::layer` in front of an axum handler, over real HTTP.

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use switchyard_core::{ParseLayer, RequestContext};
use switchyard_route::{RouteLayer, RouteTable};

async fn target(axum::Extension(ctx): axum::Extension<RequestContext>) -> String {
    let d = ctx.route().expect("routed");
    let c = ctx.target().expect("target");
    format!("{}|{}|{}", d.rule, c.provider, c.model)
}

#[tokio::test]
async fn route_layer_mounts_with_router_layer() {
    let table = RouteTable::builder()
        .provider("openai", ["gpt-*"])
        .provider("local", ["llama*"])
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/chat/completions", post(target))
        .layer(RouteLayer::new(Arc::new(table)))
        .layer(ParseLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let call = |body: &'static str| async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let req = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    };
    let out = call(r#"{"model":"llama3.2","messages":[]}"#).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with("provider:local|local|llama3.2"), "{out}");
    let out = call(r#"{"model":"openai/o3","messages":[]}"#).await;
    assert!(out.ends_with("prefix:openai|openai|o3"), "{out}");
    let out = call(r#"{"model":"mistral","messages":[]}"#).await;
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    assert!(out.contains("\"code\":\"model_not_found\""), "{out}");
    let out = call(r#"{"messages":[]}"#).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(out.contains("missing required field `model`"), "{out}");
    server.abort();
}
