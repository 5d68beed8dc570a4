//! The default behaviour: OpenAI shapes and validation.

mod common;

use base64::Engine as _;
use common::{Events, client, parse, post};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

fn chat(stream: bool, include_usage: bool) -> Value {
    let mut body = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hello there"}, {"type": "text", "text": " gateway"}]},
        ],
    });
    if stream {
        body["stream"] = json!(true);
    }
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[tokio::test]
async fn chat_completion_has_openai_shape() {
    let up = FakeUpstream::start().await;
    let res = post(&up.base_url(), "/chat/completions", &chat(false, false)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["id"], "chatcmpl-fake-1");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().expect("created") > 1_700_000_000);
    assert_eq!(body["model"], "gpt-4o-mini");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "echo: hello there gateway");
    assert_eq!(choice["finish_reason"], "stop");
    // "be brief" + "hello there gateway" = 5 words; the reply has 4.
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9})
    );

    let recorded = up.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/v1/chat/completions");
    assert_eq!(recorded[0].uri, "/v1/chat/completions");
    assert_eq!(recorded[0].json(), chat(false, false));
}

#[tokio::test]
async fn chat_stream_has_openai_chunks() {
    let up = FakeUpstream::start().await;
    let res = post(&up.base_url(), "/chat/completions", &chat(true, true)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let events = Events::new(res).all().await;
    assert_eq!(events.len(), 1 + 4 + 1 + 1 + 1, "{events:#?}");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| parse(e))
        .collect();
    for chunk in &chunks {
        assert_eq!(chunk["id"], "chatcmpl-fake-1");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "gpt-4o-mini");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(chunks[0]["choices"][0]["finish_reason"], Value::Null);
    let text: Vec<&str> = chunks[1..5]
        .iter()
        .map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .expect("content")
        })
        .collect();
    assert_eq!(text, ["echo:", " hello", " there", " gateway"]);
    assert_eq!(chunks[5]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[5]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[5]["usage"], Value::Null);
    assert_eq!(chunks[6]["choices"], json!([]));
    assert_eq!(chunks[6]["usage"]["completion_tokens"], 4);
    assert_eq!(chunks[6]["usage"]["prompt_tokens"], 5);
    assert_eq!(
        up.streams_dropped(),
        0,
        "a stream read to its end is not dropped"
    );
}

#[tokio::test]
async fn chat_stream_without_usage_has_no_usage_chunk() {
    let up = FakeUpstream::start().await;
    let res = post(&up.base_url(), "/chat/completions", &chat(true, false)).await;
    let events = Events::new(res).all().await;
    assert_eq!(events.len(), 1 + 4 + 1 + 1);
    for event in &events[..events.len() - 1] {
        assert!(parse(event).get("usage").is_none(), "{event}");
    }
}

async fn error(up: &FakeUpstream, path: &str, body: reqwest::Body) -> (u16, Value) {
    let res = client()
        .post(format!("{}{path}", up.base_url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json error body"))
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let up = FakeUpstream::start().await;
    let cases = [
        (
            "/chat/completions",
            json!({"messages": [{"role": "user", "content": "x"}]}),
            Some("model"),
        ),
        (
            "/chat/completions",
            json!({"model": "", "messages": [{"role": "user", "content": "x"}]}),
            Some("model"),
        ),
        ("/chat/completions", json!({"model": "m"}), Some("messages")),
        (
            "/chat/completions",
            json!({"model": "m", "messages": []}),
            Some("messages"),
        ),
        (
            "/chat/completions",
            json!({"model": "m", "messages": "hi"}),
            Some("messages"),
        ),
        ("/embeddings", json!({"input": "x"}), Some("model")),
        ("/embeddings", json!({"model": "m"}), Some("input")),
        ("/completions", json!({"prompt": "x"}), Some("model")),
    ];
    for (path, body, param) in cases {
        let (status, err) = error(&up, path, body.to_string().into()).await;
        assert_eq!(status, 400, "{path} {body}");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(
            err["error"]["param"].as_str(),
            param,
            "{path} {body}: {err}"
        );
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(err["error"].get("code").is_some());
    }
    let (status, err) = error(&up, "/chat/completions", "{not json".into()).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert_eq!(err["error"]["param"], Value::Null);

    let (status, err) = error(&up, "/nope", "{}".into()).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "unknown_url");
    assert_eq!(
        up.requests().len(),
        10,
        "every request is recorded, errors too"
    );
}

#[tokio::test]
async fn completions_echo_the_prompt() {
    let up = FakeUpstream::start().await;
    let body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "say this"});
    let res: Value = post(&up.base_url(), "/completions", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(res["object"], "text_completion");
    assert_eq!(res["id"], "cmpl-fake-1");
    assert_eq!(res["choices"][0]["text"], "echo: say this");
    assert_eq!(res["choices"][0]["finish_reason"], "stop");
    assert_eq!(res["usage"]["prompt_tokens"], 2);
    assert_eq!(res["usage"]["completion_tokens"], 3);

    let body = json!({"model": "m", "prompt": "say this", "stream": true, "stream_options": {"include_usage": true}});
    let events = Events::new(post(&up.base_url(), "/completions", &body).await)
        .all()
        .await;
    let text: String = events[..3]
        .iter()
        .map(|e| {
            parse(e)["choices"][0]["text"]
                .as_str()
                .expect("text")
                .to_owned()
        })
        .collect();
    assert_eq!(text, "echo: say this");
    assert_eq!(parse(&events[3])["choices"][0]["finish_reason"], "stop");
    assert_eq!(parse(&events[4])["usage"]["completion_tokens"], 3);
    assert_eq!(events[5], "[DONE]");
    assert_eq!(events.len(), 6);
}

#[tokio::test]
async fn embeddings_as_floats_and_base64_agree() {
    let up = FakeUpstream::start().await;
    let body = json!({"model": "text-embedding-3-small", "input": ["a", "b"]});
    let floats: Value = post(&up.base_url(), "/embeddings", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(floats["object"], "list");
    assert_eq!(floats["model"], "text-embedding-3-small");
    assert_eq!(
        floats["usage"],
        json!({"prompt_tokens": 2, "total_tokens": 2})
    );
    let data = floats["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    let vectors: Vec<Vec<f64>> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["object"], "embedding");
            assert_eq!(d["index"], i);
            d["embedding"]
                .as_array()
                .expect("array")
                .iter()
                .map(|f| f.as_f64().expect("float"))
                .collect()
        })
        .collect();
    assert_eq!(vectors[0].len(), 8);
    assert_ne!(vectors[0], vectors[1]);

    let body = json!({"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64"});
    let b64: Value = post(&up.base_url(), "/embeddings", &body)
        .await
        .json()
        .await
        .expect("json");
    for (i, d) in b64["data"].as_array().expect("data").iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(d["embedding"].as_str().expect("base64 string"))
            .expect("valid base64");
        let decoded: Vec<f64> = bytes
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        assert_eq!(decoded, vectors[i]);
    }

    // A single string is one input; `dimensions` sets the width.
    let body = json!({"model": "m", "input": "a", "dimensions": 3});
    let one: Value = post(&up.base_url(), "/embeddings", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(one["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        one["data"][0]["embedding"].as_array().map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn models_list_and_retrieve() {
    let up = FakeUpstream::start().await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", up.base_url());
        async move { client().get(url).send().await.expect("send") }
    };
    let list: Value = get("/models").await.json().await.expect("json");
    assert_eq!(list["object"], "list");
    assert_eq!(
        list["data"][0],
        json!({"id": "gpt-4o-mini", "object": "model", "created": 1_700_000_000, "owned_by": "fake"})
    );
    assert_eq!(list["data"][1]["id"], "text-embedding-3-small");

    up.set_models(&["only-one"]);
    let list: Value = get("/models").await.json().await.expect("json");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["data"][0]["id"], "only-one");
    assert_eq!(get("/models/only-one").await.status(), 200);
    assert_eq!(get("/models/gpt-4o-mini").await.status(), 404);
}

#[tokio::test]
async fn absolute_form_uris_from_a_proxy_are_routed() {
    let up = FakeUpstream::start().await;
    let proxy = reqwest::Proxy::http(format!("http://{}", up.addr())).expect("proxy");
    let client = reqwest::Client::builder()
        .proxy(proxy)
        .build()
        .expect("client");
    let res: Value = client
        .post("http://other-host.example/v1/chat/completions?x=1")
        .json(&chat(false, false))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        res["choices"][0]["message"]["content"],
        "echo: hello there gateway"
    );
    let recorded = &up.requests()[0];
    assert_eq!(
        recorded.uri,
        "http://other-host.example/v1/chat/completions?x=1"
    );
    assert_eq!(recorded.path, "/v1/chat/completions");
    assert_eq!(recorded.header("host"), Some("other-host.example"));
}
