//! End to end: Azure OpenAI URLs and auth, answers assembled or split when
//! the upstream streams (or not) against the client's wish, and translated
//! streams that are never buffered.

mod common;

use std::time::Duration;

use common::{Gateway, client, sse_data};
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Gate, Reply};

fn addr_root(up: &FakeUpstream) -> String {
    format!("http://{}", up.addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_deployment_urls_api_key_and_translation() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        r#"
[[providers]]
id = "az"
kind = "azure"
base_url = "{root}"
api_key = "az-key"
deployment = "my-dep"
api_version = "2024-10-21"
models = ["gpt-4o*", "text-embedding-*"]

[[providers]]
id = "az1"
kind = "azure"
base_url = "{root}/openai"
api_key = "az-key-1"
models = ["o4-*"]
"#,
        root = addr_root(&up)
    ));
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi azure"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "echo: hi azure",
        "{v}"
    );
    let r = &up.requests()[0];
    assert_eq!(
        r.uri.to_string(),
        "/openai/deployments/my-dep/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(r.header("api-key"), Some("az-key"));
    assert_eq!(r.header("authorization"), None);
    // Embeddings pass through to the deployment.
    let res = client()
        .post(gw.at("/v1/embeddings"))
        .json(&json!({"model": "text-embedding-3-small", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        up.requests()[1].uri.path(),
        "/openai/deployments/my-dep/embeddings"
    );
    // The v1 API (no api-version), reached by an Anthropic client.
    let res = client()
        .post(gw.at("/v1/messages"))
        .json(&json!({"model": "o4-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi v1"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], "echo: hi v1", "{v}");
    let r = &up.requests()[2];
    assert_eq!(r.uri.to_string(), "/openai/v1/chat/completions");
    assert_eq!(r.json()["model"], "o4-mini");
    assert_eq!(r.header("api-key"), Some("az-key-1"));
}

fn anthropic_config(up: &FakeUpstream) -> String {
    format!(
        r#"
[[providers]]
id = "claude"
kind = "anthropic"
base_url = "{}"
api_key = "k"
models = ["claude-*"]
"#,
        up.base_url()
    )
}

fn anthropic_events() -> Vec<String> {
    [
        json!({"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "streamed "}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "anyway"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        json!({"type": "message_stop"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_assembled_for_a_client_that_asked_for_json() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&anthropic_config(&up));
    up.push(Reply::Events {
        events: anthropic_events(),
        delay: Duration::from_millis(2),
    });
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "streamed anyway");
    assert_eq!(v["usage"]["completion_tokens"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_answer_is_split_for_a_client_that_asked_for_a_stream() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&anthropic_config(&up));
    let whole = json!({"id": "msg_j", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "whole answer"}], "stop_reason": "max_tokens", "stop_sequence": null,
        "usage": {"input_tokens": 3, "output_tokens": 2}});
    up.push(Reply::Status {
        status: 200,
        body: whole.to_string(),
        headers: vec![],
    });
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": "claude-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = res.text().await.unwrap();
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "whole answer");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "length")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_translated_stream_is_not_buffered() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&anthropic_config(&up));
    let gate = Gate::new();
    let events = anthropic_events();
    up.push(Reply::Gated {
        first: events[0].clone(),
        rest: events[1..].to_vec(),
        gate: gate.clone(),
    });
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": "claude-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let mut body = res.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("first chunk before the gate opens")
        .unwrap()
        .unwrap();
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.contains("\"role\":\"assistant\""), "{first}");
    assert!(!gate.is_open());
    gate.open();
    let mut rest = String::new();
    while let Some(chunk) = body.next().await {
        rest.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(
        rest.contains("streamed ") && rest.ends_with("data: [DONE]\n\n"),
        "{rest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_tokens_uses_gemini_count_tokens() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        r#"
[[providers]]
id = "gm"
kind = "gemini"
base_url = "{}"
api_key = "gk"
models = ["gemini-*"]
"#,
        up.base_url()
    ));
    let res = client()
        .post(gw.at("/v1/messages/count_tokens"))
        .json(&json!({"model": "gemini-2.5-flash", "system": "Be brief.",
            "messages": [{"role": "user", "content": "one two three"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-switchyard-estimated").is_none());
    let v: Value = res.json().await.unwrap();
    assert_eq!(v, json!({"input_tokens": 5}));
    let r = &up.requests()[0];
    assert_eq!(r.path, "/v1/models/gemini-2.5-flash:countTokens");
    assert_eq!(r.header("x-goog-api-key"), Some("gk"));
    let sent = r.json();
    assert_eq!(
        sent["generateContentRequest"]["model"],
        "models/gemini-2.5-flash"
    );
    assert_eq!(
        sent["generateContentRequest"]["contents"][0]["parts"][0]["text"],
        "one two three"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bring_your_own_key_crosses_header_conventions() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        r#"
[[providers]]
id = "oai"
kind = "openai"
base_url = "{base}"
models = ["gpt-*"]
discover = false

[[providers]]
id = "gm"
kind = "gemini"
base_url = "{base}"
models = ["gemini-*"]
"#,
        base = up.base_url()
    ));
    // The Anthropic SDK sends its key as x-api-key; the OpenAI upstream gets a bearer token.
    let res = client()
        .post(gw.at("/v1/messages"))
        .header("x-api-key", "sk-users-own")
        .json(&json!({"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer sk-users-own")
    );
    // The OpenAI SDK sends a bearer token; Gemini gets it as x-goog-api-key.
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .bearer_auth("gm-users-own")
        .json(
            &json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r = &up.requests()[1];
    assert_eq!(r.header("x-goog-api-key"), Some("gm-users-own"));
    assert_eq!(r.header("authorization"), None, "the key is not sent twice");
}
