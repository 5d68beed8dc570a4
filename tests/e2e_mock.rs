//! The built-in mock provider through the real binary (the demo's path).

mod common;

use common::{Gateway, streamed_text};
use serde_json::{Value, json};

const CONFIG: &str = r#"
[[providers]]
id = "mock"
kind = "mock"
models = ["mock-1", "mock-*"]
chunk_delay_ms = 5

[[providers]]
id = "flaky"
kind = "mock"
models = ["flaky-1"]
error_every = 2
error_status = 503
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_answers_deterministically_streamed_or_not() {
    let gw = Gateway::start(CONFIG);
    let req = json!({"model":"mock-1","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"tell me about rust"}]});
    let v: Value = gw
        .post_json("/v1/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Mock reply to: tell me about rust"
    );
    assert_eq!(v["usage"]["completion_tokens"], 7);
    assert_eq!(v["model"], "mock-1");
    let mut streamed = req.clone();
    streamed["stream"] = true.into();
    let body = gw
        .post_json("/v1/chat/completions", &streamed)
        .await
        .text()
        .await
        .unwrap();
    let text = streamed_text(&body);
    assert_eq!(text, "Mock reply to: tell me about rust");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_error_mode_passes_through() {
    let gw = Gateway::start(CONFIG);
    let req = json!({"model":"flaky-1","messages":[{"role":"user","content":"x"}]});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = gw.post_json("/v1/chat/completions", &req).await;
        statuses.push(res.status().as_u16());
        if res.status() == 503 {
            let v: Value = res.json().await.unwrap();
            assert_eq!(v["error"]["code"], "mock_error");
        }
    }
    assert_eq!(statuses, [200, 503, 200, 503]);
    let res = gw.post_json("/v1/chat/completions", &json!({"model":"mock-1","messages":[{"role":"user","content":"please [mock-error:429]"}]})).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
}
