//! End to end: Anthropic clients and providers, through the real binary, over real HTTP.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use common::{Gateway, client, sse_data};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

fn config(up: &FakeUpstream) -> String {
    format!(
        r#"
[[providers]]
id = "claude"
kind = "anthropic"
base_url = "{base}"
api_key = "sk-ant-upstream"
max_tokens = 1000
models = ["claude-*"]

[[providers]]
id = "oai"
kind = "openai"
base_url = "{base}"
api_key = "sk-openai"
models = ["gpt-*"]
discover = false
"#,
        base = up.base_url()
    )
}

async fn setup() -> (FakeUpstream, Gateway) {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&config(&up));
    (up, gw)
}

async fn post(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(gw.at(path))
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_to_anthropic_is_passthrough_with_headers() {
    let (up, gw) = setup().await;
    let body = "{\"model\":\"claude-sonnet-4-5\",  \"max_tokens\": 50, \"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}], \"x_unknown\": [1]}";
    let res = client()
        .post(gw.at("/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-provider"], "claude");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "echo: hello there");
    assert_eq!(v["stop_reason"], "end_turn");
    let seen = &up.requests()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(
        &seen.body[..],
        body.as_bytes(),
        "same protocol: byte for byte"
    );
    assert_eq!(seen.header("x-api-key"), Some("sk-ant-upstream"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        seen.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_max_tokens_is_filled_from_config_and_upstream_errors_keep_their_shape() {
    let (up, gw) = setup().await;
    let res = post(
        &gw,
        "/v1/messages",
        &json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(up.requests()[0].json()["max_tokens"], 1000);
    // The fake validates like Anthropic: a system role inside messages is a 400 in Anthropic's shape.
    let res = post(
        &gw,
        "/v1/messages",
        &json!({"model": "claude-x", "max_tokens": 5,
        "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("system"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_client_to_anthropic_provider() {
    let (up, gw) = setup().await;
    // System prompt, two user messages in a row (merged for Anthropic), no max_tokens.
    let res = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "claude-x", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "user", "content": "hello there"}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "echo: firsthello there"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 5);
    assert_eq!(v["usage"]["completion_tokens"], 3);
    let sent = up.requests()[0].json();
    assert_eq!(sent["system"], "Be brief.");
    assert_eq!(sent["max_tokens"], 1000);
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        up.requests()[0].header("x-api-key"),
        Some("sk-ant-upstream")
    );

    // Streamed: one role chunk first, text deltas, finish, usage, [DONE].
    let res = post(&gw, "/v1/chat/completions", &json!({"model": "claude-x", "stream": true,
        "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "one two three"}]})).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = res.text().await.unwrap();
    let events = sse_data(&body);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: one two three");
    assert_eq!(
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
            .collect::<Vec<_>>(),
        ["stop"]
    );
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_signatures_survive_a_multi_turn_tool_conversation() {
    let (up, gw) = setup().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let first = json!({"model": "claude-x", "reasoning_effort": "low", "tools": tools,
        "messages": [{"role": "user", "content": "weather in Paris?"}]});
    let v: Value = post(&gw, "/v1/chat/completions", &first)
        .await
        .json()
        .await
        .unwrap();
    let msg = &v["choices"][0]["message"];
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(
            msg["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap()
        )
        .unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );
    let block = &msg["thinking_blocks"][0];
    assert_eq!(block["thinking"], "thinking about: weather in Paris?");
    assert!(block["signature"].as_str().unwrap().starts_with("sig-"));
    assert_eq!(
        up.requests()[0].json()["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    // The client sends the assistant message back as it got it: the fake checks the signature.
    let second = json!({"model": "claude-x", "reasoning_effort": "low", "tools": tools, "messages": [
        {"role": "user", "content": "weather in Paris?"},
        msg,
        {"role": "tool", "tool_call_id": msg["tool_calls"][0]["id"], "content": "18C and sunny"}]});
    let res = post(&gw, "/v1/chat/completions", &second).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "tool said: 18C and sunny"
    );
    let sent = up.requests()[1].json();
    assert_eq!(
        sent["messages"][1]["content"][0]["signature"],
        block["signature"]
    );
    // A tampered signature is refused by the upstream, and the client gets the 400 in its own shape.
    let mut bad = second.clone();
    bad["messages"][1]["thinking_blocks"][0]["signature"] = json!("sig-0000000000000000");
    let res = post(&gw, "/v1/chat/completions", &bad).await;
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signature")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_client_to_openai_provider_stream_and_tools() {
    let (up, gw) = setup().await;
    let res = post(
        &gw,
        "/v1/messages",
        &json!({"model": "gpt-4o-mini", "max_tokens": 100, "stream": true,
        "system": "Be brief.", "messages": [{"role": "user", "content": "hello there"}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let events: Vec<Value> = sse_data(&body)
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"message_start"));
    assert_eq!(types.iter().filter(|t| **t == "message_start").count(), 1);
    assert_eq!(types.last(), Some(&"message_stop"));
    let text: String = events
        .iter()
        .filter_map(|e| e["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: hello there");
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 3);
    let sent = up.requests()[0].json();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer sk-openai")
    );

    // Tools, non-streamed: tool_use blocks and stop_reason tool_use.
    let res = post(&gw, "/v1/messages", &json!({"model": "gpt-4o-mini", "max_tokens": 100,
        "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": "weather in Paris and Rome, parallel please"}]})).await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["stop_reason"], "tool_use", "{v}");
    let calls: Vec<&Value> = v["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1]["input"],
        json!({"city": "Rome", "unit": "celsius"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_tokens_forwarded_or_estimated_and_errors_keep_retry_after() {
    let (up, gw) = setup().await;
    let body = json!({"model": "claude-x", "messages": [{"role": "user", "content": "one two three four"}]});
    let v: Value = post(&gw, "/v1/messages/count_tokens", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["input_tokens"], 4);
    assert_eq!(
        up.requests().last().unwrap().path,
        "/v1/messages/count_tokens"
    );
    let n = up.requests().len();
    let mut body = body.clone();
    body["model"] = json!("gpt-4o-mini");
    let res = post(&gw, "/v1/messages/count_tokens", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-estimated"], "true");
    let v: Value = res.json().await.unwrap();
    assert!(v["input_tokens"].as_u64().unwrap() >= 4, "{v}");
    assert_eq!(up.requests().len(), n, "estimated locally");
    // A 429 from Anthropic reaches an OpenAI client in OpenAI's shape, with Retry-After.
    let res = post(&gw, "/v1/chat/completions", &json!({"model": "claude-x", "messages": [{"role": "user", "content": "[fake-error:429]"}]})).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_exceeded");
    assert_eq!(v["error"]["message"], "fake error on request");
}
