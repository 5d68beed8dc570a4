//! End to end: the real binary in front of a fake OpenAI-compatible upstream, over real HTTP.

mod common;

use std::time::Duration;

use common::{Gateway, client, closed_port, fake_provider, sse_data, streamed_text};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Gate, Reply};

async fn setup(extra: &str) -> (FakeUpstream, Gateway) {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(&up.base_url(), extra));
    (up, gw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_non_stream_forwards_the_body_byte_for_byte() {
    let (up, gw) = setup("").await;
    // Odd spacing, key order and an unknown field: all must reach the upstream untouched.
    let body = "{ \"messages\": [{\"role\":\"user\",\"content\":\"hello  there\"}],\n  \"x_unknown\": {\"keep\": [1, 2.50]}, \"model\" : \"gpt-4o-mini\" }";
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .header("x-source", "e2e")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["x-switchyard-provider"], "fake");
    assert_eq!(h["x-switchyard-model"], "gpt-4o-mini");
    assert_eq!(h["x-switchyard-request-id"].len(), 26);
    assert_eq!(h["content-type"], "application/json");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello  there");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    let seen = up.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(
        &seen[0].body[..],
        body.as_bytes(),
        "body must be forwarded byte for byte"
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    // The headers sent upstream are built fresh: nothing of the client's
    // (`x-source`) leaks, and the request names its sender and length.
    let user_agent = format!("switchyard/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(seen[0].header("user-agent"), Some(user_agent.as_str()));
    assert_eq!(seen[0].header("accept"), Some("*/*"));
    assert_eq!(
        seen[0].header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(seen[0].header("host"), Some(up.addr().to_string().as_str()));
    assert_eq!(seen[0].header("x-source"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_redirect_is_passed_on_not_followed() {
    let target = FakeUpstream::start().await;
    let location = format!("{}/chat/completions", target.base_url());
    let moved = location.clone();
    let app = axum::Router::new().fallback(move || {
        let location = moved.clone();
        async move {
            (
                http::StatusCode::TEMPORARY_REDIRECT,
                [(http::header::LOCATION, location)],
                "",
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let gw = Gateway::start(&fake_provider(
        &format!("http://{addr}/v1"),
        "api_key = \"sk-r\"",
    ));
    // A client that does not follow it either, to see what the gateway answered.
    let res = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(res.headers()["location"], location.as_str());
    assert!(target.requests().is_empty(), "the redirect was followed");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_prefix_routes_and_rewrites_only_the_model() {
    let (up, gw) = setup("").await;
    let body = r#"{"model":"fake/my-custom-model","temperature":0.3,"messages":[{"role":"user","content":"hi"}],"z":null}"#;
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-model"], "my-custom-model");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["model"], "my-custom-model");
    let sent = &up.requests()[0].body;
    assert_eq!(
        std::str::from_utf8(sent).unwrap(),
        r#"{"model":"my-custom-model","temperature":0.3,"messages":[{"role":"user","content":"hi"}],"z":null}"#,
        "only the model changes; key order and values survive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_stream_arrives_in_order_with_done() {
    let (up, gw) = setup("").await;
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(
            &json!({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
                      "messages":[{"role":"user","content":"one two three"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = res.text().await.unwrap();
    let events = sse_data(&body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{body}");
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
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 4);
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_speaks_h2c_upstream() {
    let (up, gw) = setup("http2_prior_knowledge = true\nhttp2_max_streams = 50").await;
    for stream in [false, true] {
        let res = gw
            .post_json(
                "/v1/chat/completions",
                &json!({"model":"gpt-4o-mini","stream":stream,"messages":[{"role":"user","content":"over h2"}]}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let body = res.text().await.unwrap();
        let text = if stream {
            streamed_text(&body)
        } else {
            let v: Value = serde_json::from_str(&body).unwrap();
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text, "echo: over h2", "{body}");
    }
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.version == http::Version::HTTP_2));

    // Without the key, plain http:// is HTTP/1.1.
    let (up, gw) = setup("").await;
    let res = gw
        .post_json(
            "/v1/chat/completions",
            &json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(up.requests()[0].version, http::Version::HTTP_11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_chunk_reaches_the_client_before_the_upstream_sends_the_second() {
    let (up, gw) = setup("").await;
    let gate = Gate::new();
    up.push(Reply::Gated {
        first: r#"{"choices":[{"index":0,"delta":{"content":"first"}}]}"#.into(),
        rest: vec![
            r#"{"choices":[{"index":0,"delta":{"content":"second"}}]}"#.into(),
            "[DONE]".into(),
        ],
        gate: gate.clone(),
    });
    let mut res = gw.post_json("/v1/chat/completions", &json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]})).await;
    assert_eq!(res.status(), 200);
    let mut got = String::new();
    while !got.contains("first") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .expect("the first event must arrive while the upstream holds the second")
            .unwrap()
            .expect("stream ended early");
        got.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(!gate.is_open());
    assert!(!got.contains("second"), "{got}");
    gate.open();
    while let Some(chunk) = res.chunk().await.unwrap() {
        got.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let events = sse_data(&got);
    assert_eq!(events.len(), 3, "{got}");
    assert!(events[1].contains("second"));
    assert_eq!(events[2], "[DONE]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_the_upstream_request() {
    let (up, gw) = setup("").await;
    up.push(Reply::Events {
        events: (0..100)
            .map(|i| format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"w{i} "}}}}]}}"#))
            .collect(),
        delay: Duration::from_millis(100),
    });
    let mut res = gw.post_json("/v1/chat/completions", &json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]})).await;
    let first = res.chunk().await.unwrap().unwrap();
    assert!(std::str::from_utf8(&first).unwrap().contains("w0"));
    assert_eq!(up.streams_dropped(), 0);
    drop(res);
    assert!(
        up.wait_stream_dropped(Duration::from_secs(5)).await,
        "the upstream must see its stream closed when the client goes away"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_in_openai_shape() {
    let (up, gw) = setup("").await;
    let post = |body: &'static str| {
        client()
            .post(gw.at("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        (
            r#"{"model":"gpt-4o-mini","messages":[}"#,
            400,
            "not valid JSON",
            None,
        ),
        ("", 400, "empty", None),
        ("[1,2]", 400, "must be a JSON object", None),
        (
            r#"{"messages":[]}"#,
            400,
            "missing required field `model`",
            Some("model"),
        ),
        (
            r#"{"model":42,"messages":[]}"#,
            400,
            "`model`",
            Some("model"),
        ),
        (
            r#"{"model":"gpt-4o-mini","stream":"yes"}"#,
            400,
            "`stream`",
            Some("stream"),
        ),
        (
            r#"{"model":"claude-9","messages":[]}"#,
            404,
            "not served",
            Some("model"),
        ),
        ("\u{0}\u{1}\u{ff}garbage", 400, "not valid JSON", None),
    ];
    for (body, status, needle, param) in cases {
        let res = post(body).await.unwrap();
        assert_eq!(res.status(), *status, "{body}");
        assert!(res.headers().contains_key("x-switchyard-request-id"));
        let v: Value = res.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
        if let Some(p) = param {
            assert_eq!(v["error"]["param"], *p, "{body}");
        }
    }
    let res = client()
        .get(gw.at("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let res = client()
        .post(gw.at("/v1/nothing"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "unknown_url"
    );
    assert!(
        up.requests().is_empty(),
        "no bad request may reach the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_model_lists_the_available_ones() {
    let up = FakeUpstream::start().await;
    let config = format!(
        "{}\n[[providers]]\nid = \"m\"\nkind = \"mock\"\nmodels = [\"mock-1\", \"mock-2\"]\n",
        fake_provider(&up.base_url(), "")
    );
    let gw = Gateway::start(&config);
    let res = gw
        .post_json(
            "/v1/chat/completions",
            &json!({"model":"nope","messages":[{"role":"user","content":"x"}]}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "model_not_found");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("`nope`") && msg.contains("mock-1, mock-2") && msg.contains("gpt-*"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413_with_or_without_content_length() {
    let (up, gw) = setup("").await;
    drop(gw);
    let gw = Gateway::start(&format!(
        "body_limit_bytes = 1024\n{}",
        fake_provider(&up.base_url(), "")
    ));
    let big = format!(
        r#"{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "a".repeat(2000)
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "request_too_large");
    assert!(v["error"]["message"].as_str().unwrap().contains("1024"));
    // Chunked, no content-length: the limit holds while reading.
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(100)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // Just under the limit passes.
    let ok = format!(
        r#"{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "a".repeat(900)
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .body(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_refusing_connections_is_502_gateway_error() {
    let gw = Gateway::start(&fake_provider(
        &format!("http://127.0.0.1:{}/v1", closed_port()),
        "",
    ));
    for stream in [false, true] {
        let res = gw.post_json("/v1/chat/completions", &json!({"model":"gpt-4o-mini","stream":stream,"messages":[{"role":"user","content":"x"}]})).await;
        assert_eq!(res.status(), 502);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["type"], "gateway_error");
        assert_eq!(v["error"]["code"], "upstream_connect");
        assert!(v["error"]["message"].as_str().unwrap().contains("`fake`"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_silence_is_504_gateway_error() {
    let (up, gw) = setup("timeout_secs = 0.5").await;
    for reply in [Reply::Hang, Reply::HeadersThenHang] {
        up.push(reply);
        let started = std::time::Instant::now();
        let res = gw.post_json("/v1/chat/completions", &json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]})).await;
        let took = started.elapsed();
        assert_eq!(res.status(), 504);
        assert!(
            took >= Duration::from_millis(450) && took < Duration::from_secs(5),
            "{took:?}"
        );
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["type"], "gateway_error");
        assert_eq!(v["error"]["code"], "upstream_timeout");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_http_errors_pass_through_with_retry_after() {
    let (up, gw) = setup("").await;
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    up.push(Reply::Status {
        status: 429,
        body: body.into(),
        headers: vec![
            ("retry-after".into(), "7".into()),
            ("x-ratelimit-remaining-requests".into(), "0".into()),
        ],
    });
    let res = gw
        .post_json(
            "/v1/chat/completions",
            &json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(res.headers()["x-ratelimit-remaining-requests"], "0");
    assert_eq!(res.text().await.unwrap(), body);
    up.push(Reply::Status {
        status: 503,
        body: "upstream overloaded".into(),
        headers: vec![],
    });
    let res = gw
        .post_json(
            "/v1/embeddings",
            &json!({"model":"text-embedding-3-small","input":"x"}),
        )
        .await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.text().await.unwrap(), "upstream overloaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_embeddings_pass_through() {
    let (up, gw) = setup("").await;
    let v: Value = gw
        .post_json(
            "/v1/completions",
            &json!({"model":"davinci-002","prompt":"say this"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "echo: say this");
    let res = gw
        .post_json(
            "/v1/completions",
            &json!({"model":"davinci-002","prompt":"say this","stream":true}),
        )
        .await;
    let events = sse_data(&res.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let v: Value = gw
        .post_json(
            "/v1/embeddings",
            &json!({"model":"text-embedding-3-small","input":["a","b","c"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    assert_eq!(v["data"][2]["embedding"].as_array().unwrap().len(), 8);
    let paths: Vec<String> = up.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/v1/completions", "/v1/completions", "/v1/embeddings"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_configured_and_discovered_models() {
    let up = FakeUpstream::start().await;
    up.set_models(&["llama3.2", "qwen3:8b"]);
    let config = format!(
        r#"
[[providers]]
id = "local"
kind = "openai"
base_url = "{}"
discover = true

[[providers]]
id = "m"
kind = "mock"
models = ["mock-1", "mock-*"]
"#,
        up.base_url()
    );
    let gw = Gateway::start(&config);
    let v: Value = client()
        .get(gw.at("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<(String, String)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["owned_by"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        ids.contains(&("llama3.2".into(), "local".into())),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("qwen3:8b".into(), "local".into())),
        "{ids:?}"
    );
    assert!(ids.contains(&("mock-1".into(), "m".into())), "{ids:?}");
    assert!(
        !ids.iter().any(|(id, _)| id.contains('*')),
        "globs are not models: {ids:?}"
    );
    // A discovered model routes to its provider.
    let res = gw
        .post_json(
            "/v1/chat/completions",
            &json!({"model":"qwen3:8b","messages":[{"role":"user","content":"hi"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-provider"], "local");
    let health: Value = client()
        .get(gw.at("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(health["uptime_secs"].is_u64());
    assert_eq!(health["providers"][0]["id"], "local");
    assert_eq!(health["providers"][0]["discovered"], 2);
    assert_eq!(health["providers"][1]["kind"], "mock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_from_env_is_sent_and_never_logged() {
    let up = FakeUpstream::start().await;
    let secret = "sk-test-supersecret-0123456789";
    let gw = Gateway::start_with_env(
        &fake_provider(
            &up.base_url(),
            "api_key = \"${E2E_KEY}\"\nheaders = { \"x-team\" = \"${E2E_TEAM:-core}\" }",
        ),
        &[("E2E_KEY", secret), ("RUST_LOG", "trace")],
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .header("authorization", "Bearer client-key")
        .json(&json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = &up.requests()[0];
    assert_eq!(
        seen.header("authorization"),
        Some(&*format!("Bearer {secret}"))
    );
    assert_eq!(seen.header("x-team"), Some("core"));
    let health = client()
        .get(gw.at("/health"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!health.contains(secret));
    let logs = gw.logs();
    assert!(logs.contains("provider"), "logs: {logs}");
    assert!(!logs.contains(secret), "the secret leaked into the logs");
    assert!(
        !logs.contains("supersecret"),
        "the secret leaked into the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_api_key_the_clients_authorization_is_forwarded() {
    let (up, gw) = setup("").await;
    client()
        .post(gw.at("/v1/chat/completions"))
        .header("authorization", "Bearer client-own-key")
        .json(&json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer client-own-key")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_requests_honour_http_proxy() {
    let proxy = FakeUpstream::start().await;
    // The provider's host does not exist: the request can only succeed through the proxy.
    let gw = Gateway::start_with_env(
        &fake_provider("http://upstream.invalid/v1", "api_key = \"sk-p\""),
        &[
            ("HTTP_PROXY", &format!("http://{}", proxy.addr())),
            ("NO_PROXY", ""),
        ],
    );
    let res = gw
        .post_json(
            "/v1/chat/completions",
            &json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"via proxy"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: via proxy");
    let seen = &proxy.requests()[0];
    assert_eq!(
        seen.uri.to_string(),
        "http://upstream.invalid/v1/chat/completions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_each_get_their_own_answer() {
    let (up, gw) = setup("").await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let url = gw.at("/v1/chat/completions");
            tokio::spawn(async move {
                let stream = i % 2 == 0;
                let res = client()
                    .post(url)
                    .json(&json!({"model":"gpt-4o-mini","stream":stream,"messages":[{"role":"user","content":format!("n{i}")}]}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let body = res.text().await.unwrap();
                if stream {
                    assert!(body.contains(&format!("n{i}")) && body.ends_with("data: [DONE]\n\n"), "{body}");
                } else {
                    let v: Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(v["choices"][0]["message"]["content"], format!("echo: n{i}"));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(up.requests().len(), 64);
}
