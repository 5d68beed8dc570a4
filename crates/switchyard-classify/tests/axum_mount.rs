//! ClassifyLayer mounted with `Router::layer` in front of an axum handler, over real HTTP.

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use switchyard_classify::{Classifiers, ClassifyLayer};
use switchyard_core::{ParseLayer, RequestContext};

async fn answer(
    axum::Extension(ctx): axum::Extension<RequestContext>,
) -> axum::Json<serde_json::Value> {
    let content = format!("I'm sorry, but I can't do that ({})", ctx.tags().join(","));
    axum::Json(serde_json::json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    }))
}

#[tokio::test]
async fn classify_layer_mounts_with_router_layer() {
    let app = Router::new()
        .route("/v1/chat/completions", post(answer))
        .layer(ClassifyLayer::new(Arc::new(Classifiers::default())))
        .layer(ParseLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let body = r#"{"model":"m","messages":[{"role":"user","content":"fix:\n```\nx\n```"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#;
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
        out.contains("x-switchyard-request-tags: tools,code\r\n"),
        "{out}"
    );
    assert!(
        out.contains("x-switchyard-response-tags: refusal\r\n"),
        "{out}"
    );
    assert!(
        out.contains("(tools,code)"),
        "the handler saw the tags: {out}"
    );
    server.abort();
}
