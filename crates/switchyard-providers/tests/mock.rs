//! The built-in mock provider: shapes, streams, embeddings, models and errors.
#![expect(clippy::unwrap_used, reason = "a panic is how a test fails")]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use common::{chat, frames, json, request};
use serde_json::{Value, json};
use switchyard_core::{Endpoint, ErrorKind};
use switchyard_providers::{Mock, MockConfig};
use tower::ServiceExt;

fn mock() -> Mock {
    Mock::new(MockConfig {
        chunk_delay: Duration::ZERO,
        ..MockConfig::default()
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The JSON of each `data:` event; `[DONE]` as a string.
fn events(frames: &[Bytes]) -> Vec<Value> {
    frames
        .iter()
        .map(|f| {
            let text = std::str::from_utf8(f).unwrap();
            let data = text
                .strip_prefix("data: ")
                .and_then(|t| t.strip_suffix("\n\n"))
                .unwrap_or_else(|| panic!("not one event: {text:?}"));
            if data == "[DONE]" {
                Value::String(data.to_owned())
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

#[tokio::test]
async fn chat_answer_has_openai_shape() {
    let body = json!({
        "model": "fast",
        "messages": [
            { "role": "system", "content": "You are terse" },
            { "role": "user", "content": "Hello there, how are you?" },
        ],
    });
    let req = request(
        Endpoint::ChatCompletions,
        &body.to_string(),
        "mock",
        "mock-1",
    );
    let res = mock().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let v = json(res).await;
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "object",
            "created",
            "model",
            "choices",
            "usage",
            "system_fingerprint"
        ]
    );
    assert!(
        v["id"].as_str().unwrap().starts_with("chatcmpl-mock-"),
        "{}",
        v["id"]
    );
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().unwrap().abs_diff(now()) < 5);
    assert_eq!(v["model"], "mock-1", "the candidate's model is echoed");
    assert_eq!(
        v["choices"],
        json!([{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Mock reply to: Hello there, how are you?",
                "refusal": null,
            },
            "logprobs": null,
            "finish_reason": "stop",
        }])
    );
    // 13 + 25 characters of message text -> ceil(38 / 4) = 10; 8 words.
    assert_eq!(
        v["usage"],
        json!({ "prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18 })
    );
    assert_eq!(v["system_fingerprint"], "fp_switchyard_mock");
}

#[tokio::test]
async fn chat_reply_is_deterministic_and_reads_text_parts() {
    let words: Vec<String> = (1..=30).map(|i| format!("w{i}")).collect();
    let content = json!([
        { "type": "text", "text": words[..10].join(" ") },
        { "type": "image_url", "image_url": { "url": "https://example.com/a.png" } },
        { "type": "text", "text": words[10..].join(" ") },
    ]);
    let body = json!({ "messages": [{ "role": "user", "content": content }] }).to_string();
    let mut replies = Vec::new();
    for _ in 0..2 {
        let req = request(Endpoint::ChatCompletions, &body, "mock", "m");
        let v = json(mock().oneshot(req).await.unwrap()).await;
        replies.push(v["choices"][0]["message"]["content"].clone());
    }
    let expected = format!("Mock reply to: {}", words[..24].join(" "));
    assert_eq!(replies, [json!(expected), json!(expected)]);

    let req = chat("mock", "m", "   ", json!({}));
    let v = json(mock().oneshot(req).await.unwrap()).await;
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Mock reply to an empty prompt."
    );
    assert_eq!(v["usage"]["prompt_tokens"], 1);
}

#[tokio::test]
async fn chat_stream_events_in_order_with_usage() {
    let req = chat(
        "mock",
        "mock-1",
        "one two three",
        json!({ "stream": true, "stream_options": { "include_usage": true } }),
    );
    let res = mock().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let events = events(&frames(res).await);
    // role, 6 words, finish, usage, [DONE]
    assert_eq!(events.len(), 10, "{events:#?}");
    let id = events[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-mock-"));
    for chunk in &events[..9] {
        assert_eq!(chunk["id"], id);
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "mock-1");
        assert_eq!(chunk["system_fingerprint"], "fp_switchyard_mock");
    }
    assert_eq!(
        events[0]["choices"],
        json!([{
            "index": 0,
            "delta": { "role": "assistant", "content": "" },
            "logprobs": null,
            "finish_reason": null,
        }])
    );
    let pieces: Vec<&str> = events[1..7]
        .iter()
        .map(|c| {
            assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
            c["choices"][0]["delta"]["content"].as_str().unwrap()
        })
        .collect();
    assert_eq!(pieces, ["Mock", " reply", " to:", " one", " two", " three"]);
    assert_eq!(events[7]["choices"][0]["delta"], json!({}));
    assert_eq!(events[7]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[7]["usage"], Value::Null);
    assert_eq!(events[8]["choices"], json!([]));
    // ceil(13 / 4) = 4
    assert_eq!(
        events[8]["usage"],
        json!({ "prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10 })
    );
    assert_eq!(events[9], "[DONE]");
}

#[tokio::test]
async fn chat_stream_without_usage_unless_asked() {
    let req = chat("mock", "m", "hi", json!({ "stream": true }));
    let events = events(&frames(mock().oneshot(req).await.unwrap()).await);
    // role, 4 words, finish, [DONE]
    assert_eq!(events.len(), 7, "{events:#?}");
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(events[5]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[6], "[DONE]");
    assert!(events[..6].iter().all(|e| e.get("usage").is_none()));
}

#[tokio::test(start_paused = true)]
async fn stream_is_paced_by_chunk_delay_with_the_first_chunk_at_once() {
    let mock = Mock::new(MockConfig {
        chunk_delay: Duration::from_millis(50),
        ..MockConfig::default()
    });
    let req = chat("mock", "m", "a b", json!({ "stream": true }));
    let start = tokio::time::Instant::now();
    let mut body = mock.oneshot(req).await.unwrap().into_body();
    let mut at = Vec::new();
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        frame.unwrap();
        at.push(start.elapsed().as_millis());
    }
    // role, 5 words, finish, [DONE]
    assert_eq!(at, [0, 50, 100, 150, 200, 250, 300, 350]);
}

#[tokio::test]
async fn max_tokens_caps_words_with_length() {
    let req = chat("mock", "m", "a b c d", json!({ "max_tokens": 2 }));
    let v = json(mock().oneshot(req).await.unwrap()).await;
    assert_eq!(v["choices"][0]["message"]["content"], "Mock reply");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 2);

    let req = chat(
        "mock",
        "m",
        "a b c d",
        json!({ "stream": true, "max_completion_tokens": 4 }),
    );
    let events = events(&frames(mock().oneshot(req).await.unwrap()).await);
    let text: String = events[1..5]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Mock reply to: a");
    assert_eq!(events[5]["choices"][0]["finish_reason"], "length");
    assert_eq!(events[6], "[DONE]");
}

#[tokio::test]
async fn completions_answer_in_text_completion_shape() {
    let body = json!({ "model": "x", "prompt": ["Say hello world", "ignored"] }).to_string();
    let req = request(Endpoint::Completions, &body, "mock", "mock-1");
    let v = json(mock().oneshot(req).await.unwrap()).await;
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-mock-"));
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["model"], "mock-1");
    assert_eq!(
        v["choices"],
        json!([{
            "text": "Mock reply to: Say hello world",
            "index": 0,
            "logprobs": null,
            "finish_reason": "stop",
        }])
    );
    // ceil(15 / 4) = 4
    assert_eq!(
        v["usage"],
        json!({ "prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10 })
    );

    let body = json!({ "prompt": "hi", "stream": true, "max_tokens": 3 }).to_string();
    let req = request(Endpoint::Completions, &body, "mock", "mock-1");
    let events = events(&frames(mock().oneshot(req).await.unwrap()).await);
    assert_eq!(events.len(), 5, "{events:#?}");
    let text: String = events[..3]
        .iter()
        .map(|c| {
            assert_eq!(c["object"], "text_completion");
            c["choices"][0]["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(text, "Mock reply to:");
    assert_eq!(events[3]["choices"][0]["text"], "");
    assert_eq!(events[3]["choices"][0]["finish_reason"], "length");
    assert_eq!(events[4], "[DONE]");
}

#[tokio::test]
async fn mock_error_marker_answers_that_status() {
    let req = chat("mock", "m", "please [mock-error:429] now", json!({}));
    let res = mock().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(
        json(res).await,
        json!({ "error": {
            "message": "mock error triggered by [mock-error:429]",
            "type": "rate_limit_error",
            "param": null,
            "code": "mock_error",
        }})
    );

    for (status, ty) in [(503, "server_error"), (400, "invalid_request_error")] {
        let req = chat("mock", "m", &format!("[mock-error:{status}]"), json!({}));
        let res = mock().oneshot(req).await.unwrap();
        assert_eq!(res.status(), status);
        assert!(res.headers().get("retry-after").is_none());
        let v = json(res).await;
        assert_eq!(v["error"]["type"], ty);
        assert_eq!(v["error"]["code"], "mock_error");
    }
}

#[tokio::test]
async fn error_every_fails_every_nth_request() {
    let mock = Mock::new(MockConfig {
        error_every: 3,
        ..MockConfig::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = mock
            .clone()
            .oneshot(chat("mock", "m", "hi", json!({})))
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 500 {
            let v = json(res).await;
            assert_eq!(v["error"]["message"], "mock error (every 3rd request)");
            assert_eq!(v["error"]["type"], "server_error");
            assert_eq!(v["error"]["code"], "mock_error");
        }
    }
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);

    let mock = Mock::new(MockConfig {
        error_every: 1,
        error_status: Some(503),
        ..MockConfig::default()
    });
    let res = mock
        .oneshot(chat("mock", "m", "hi", json!({})))
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
}

async fn embed(mock: &Mock, body: Value) -> Value {
    let req = request(Endpoint::Embeddings, &body.to_string(), "mock", "embed-1");
    let res = mock.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    json(res).await
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[tokio::test]
async fn embeddings_float_and_base64_agree() {
    let mock = mock();
    let input = json!(["alpha", "beta"]);
    let v = embed(&mock, json!({ "input": input })).await;
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "embed-1");
    // ceil(5 / 4) + ceil(4 / 4)
    assert_eq!(v["usage"], json!({ "prompt_tokens": 3, "total_tokens": 3 }));
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let vectors: Vec<Vec<f32>> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["object"], "embedding");
            assert_eq!(d["index"], i);
            floats(&d["embedding"])
        })
        .collect();
    for vector in &vectors {
        assert_eq!(vector.len(), 16);
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    assert_ne!(vectors[0], vectors[1]);

    let v = embed(
        &mock,
        json!({ "input": input, "encoding_format": "base64" }),
    )
    .await;
    let decoded: Vec<Vec<f32>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(d["embedding"].as_str().unwrap())
                .unwrap();
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect();
    assert_eq!(decoded, vectors);

    let v = embed(&mock, json!({ "input": "alpha", "dimensions": 8 })).await;
    let short = floats(&v["data"][0]["embedding"]);
    assert_eq!(short.len(), 8);
    let again = embed(&mock, json!({ "input": "alpha", "dimensions": 8 })).await;
    assert_eq!(floats(&again["data"][0]["embedding"]), short);
}

#[tokio::test]
async fn embeddings_reject_bad_params_naming_the_field() {
    for (body, param) in [
        (
            json!({ "input": "a", "encoding_format": "int8" }),
            "encoding_format",
        ),
        (json!({ "input": "a", "dimensions": 0 }), "dimensions"),
        (json!({ "input": 5 }), "input"),
        (json!({}), "input"),
    ] {
        let req = request(Endpoint::Embeddings, &body.to_string(), "mock", "e");
        let res = mock().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let v = json(res).await;
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], param);
    }
}

#[tokio::test]
async fn models_lists_the_configured_models() {
    let mock = Mock::new(MockConfig {
        models: vec!["small".into(), "large".into()],
        ..MockConfig::default()
    });
    assert_eq!(mock.models(), ["small", "large"]);
    assert_eq!(mock.id(), "mock");
    let req = request(Endpoint::Models, "", "mock", "");
    let v = json(mock.oneshot(req).await.unwrap()).await;
    assert_eq!(
        v,
        json!({ "object": "list", "data": [
            { "id": "small", "object": "model", "created": 0, "owned_by": "switchyard-mock" },
            { "id": "large", "object": "model", "created": 0, "owned_by": "switchyard-mock" },
        ]})
    );
}

#[tokio::test]
async fn other_endpoints_are_404_in_the_clients_protocol() {
    let body = json!({ "model": "m", "max_tokens": 5, "messages": [] }).to_string();
    let req = request(Endpoint::Messages, &body, "mock", "m");
    let res = mock().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 404);
    let v = json(res).await;
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "not_found_error");
    assert_eq!(
        v["error"]["message"],
        "`/v1/messages` is not supported by provider `mock` (mock)"
    );

    let req = request(Endpoint::Responses, &body, "mock", "m");
    let v = json(mock().oneshot(req).await.unwrap()).await;
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "unsupported_endpoint");
}

#[tokio::test]
async fn missing_context_is_an_internal_error() {
    let req = http::Request::post("/v1/chat/completions")
        .body(switchyard_core::Body::empty())
        .unwrap();
    let e = mock().oneshot(req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.message().contains("ParsedRequest"), "{}", e.message());
}
