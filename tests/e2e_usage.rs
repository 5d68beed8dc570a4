//! End to end: token counts, costs, estimates and metrics through the real
//! binary, against fake upstreams speaking the OpenAI and Anthropic formats.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::time::Duration;

use common::{Gateway, client, record, request_id as id, sse_data};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Gate, Reply};

fn config(up: &FakeUpstream) -> String {
    format!(
        r#"
[[providers]]
id = "oai"
kind = "openai"
base_url = "{base}"
api_key = "sk-upstream"
models = ["gpt-*", "text-embedding-*"]
discover = false

[[providers]]
id = "claude"
kind = "anthropic"
base_url = "{base}"
api_key = "sk-ant-upstream"
models = ["claude-*"]
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
        .header("x-project", "usage-tests")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn usage(r: &Value) -> (u64, u64, u64) {
    let u = &r["usage"];
    (
        u["input_tokens"].as_u64().unwrap(),
        u["output_tokens"].as_u64().unwrap(),
        u["cached_tokens"].as_u64().unwrap(),
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_chat_whole_and_streamed_are_counted_and_priced_exactly() {
    let (up, gw) = setup().await;
    let body =
        json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"one two three"}]});
    let res = post(&gw, "/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    // Fake usage: 3 prompt words, 4 answer words ("echo: one two three").
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "3");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "4");
    // gpt-4o-mini: 3 * $0.15/M + 4 * $0.60/M
    assert_eq!(header(&res, "x-switchyard-cost-usd"), "0.00000285");
    assert!(
        header(&res, "x-switchyard-overhead-us")
            .parse::<u64>()
            .is_ok()
    );
    let rid = id(&res);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["usage"]["completion_tokens"], 4,
        "the answer is untouched"
    );
    let r = record(&gw, &rid).await;
    assert_eq!(usage(&r), (3, 4, 0));
    assert!(close(r["cost_usd"].as_f64().unwrap(), 0.00000285));
    assert_eq!(r["finish_reason"], "stop");
    assert_eq!(r["answer"], "echo: one two three");
    assert_eq!(r["project"], "usage-tests");
    assert_eq!(r["provider"], "oai");
    assert_eq!(r["usage"]["estimated"], false);

    let body = json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"one two three"}]});
    let res = post(&gw, "/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "x-switchyard-input-tokens"),
        "",
        "streams carry no usage headers"
    );
    let rid = id(&res);
    let text = res.text().await.unwrap();
    let events = sse_data(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    for e in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(e).unwrap();
        assert!(
            chunk["usage"].is_null(),
            "the usage chunk the client did not ask for is removed: {e}"
        );
        assert!(!chunk["choices"].as_array().unwrap().is_empty());
    }
    let sent = up.requests().last().unwrap().json();
    assert_eq!(
        sent["stream_options"]["include_usage"], true,
        "the gateway asked for usage"
    );
    let r = record(&gw, &rid).await;
    assert_eq!(usage(&r), (3, 4, 0));
    assert!(close(r["cost_usd"].as_f64().unwrap(), 0.00000285));
    assert_eq!(r["answer"], "echo: one two three");
    assert_eq!(r["stream"], true);
    assert!(r["ttft_ms"].as_f64().unwrap() > 0.0);
    assert!(r["chunks"].as_u64().unwrap() >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_and_reasoning_tokens_are_priced_and_an_asked_for_usage_chunk_kept() {
    let (up, gw) = setup().await;
    let usage_chunk = r#"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000,"prompt_tokens_details":{"cached_tokens":400},"completion_tokens_details":{"reasoning_tokens":500}}}"#;
    up.push(Reply::Events {
        events: vec![
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}],"usage":null}"#.into(),
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":null}"#.into(),
            usage_chunk.into(),
            "[DONE]".into(),
        ],
        delay: Duration::ZERO,
    });
    let body = json!({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
                      "messages":[{"role":"user","content":"hi"}]});
    let res = post(&gw, "/v1/chat/completions", &body).await;
    let rid = id(&res);
    let events = sse_data(&res.text().await.unwrap());
    assert_eq!(
        events[2], usage_chunk,
        "the client asked for it: kept byte for byte"
    );
    let r = record(&gw, &rid).await;
    assert_eq!(usage(&r), (1000, 2000, 400));
    assert_eq!(r["usage"]["reasoning_tokens"], 500);
    // 600 * 0.15 + 400 * 0.075 + 2000 * 0.60 micro-dollars
    assert!(
        close(r["cost_usd"].as_f64().unwrap(), 0.00132),
        "{}",
        r["cost_usd"]
    );
    assert_eq!(r["finish_reason"], "length");
    drop(up);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_embeddings() {
    let (_up, gw) = setup().await;
    let res = post(
        &gw,
        "/v1/completions",
        &json!({"model":"gpt-3.5-turbo-instruct","prompt":"a b c d"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "4");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "5");
    // $1.50/M in, $2.00/M out
    assert_eq!(header(&res, "x-switchyard-cost-usd"), "0.000016");

    let res = post(
        &gw,
        "/v1/completions",
        &json!({"model":"gpt-3.5-turbo-instruct","prompt":"a b","stream":true}),
    )
    .await;
    let rid = id(&res);
    let text = res.text().await.unwrap();
    assert!(!text.contains("prompt_tokens"), "{text}");
    let r = record(&gw, &rid).await;
    assert_eq!(usage(&r), (2, 3, 0));
    assert!(close(r["cost_usd"].as_f64().unwrap(), 0.000009));

    let res = post(
        &gw,
        "/v1/embeddings",
        &json!({"model":"text-embedding-3-small","input":["one two","three"]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "3");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "0");
    assert_eq!(header(&res, "x-switchyard-cost-usd"), "0.00000006");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_whole_and_streamed_with_cache_tokens() {
    let (_up, gw) = setup().await;
    let body = json!({"model":"claude-sonnet-4-5","max_tokens":100,
        "messages":[{"role":"user","content":"hello there"}]});
    let res = post(&gw, "/v1/messages", &body).await;
    assert_eq!(res.status(), 200);
    // 2 prompt words, 3 answer words ("echo: hello there"); $3/M in, $15/M out.
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "2");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "3");
    assert_eq!(header(&res, "x-switchyard-cost-usd"), "0.000051");

    let body = json!({"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,
        "system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
        "messages":[{"role":"user","content":"hello there"}]});
    let res = post(&gw, "/v1/messages", &body).await;
    assert_eq!(res.status(), 200);
    let rid = id(&res);
    let text = res.text().await.unwrap();
    assert!(text.contains("message_delta"), "{text}");
    let r = record(&gw, &rid).await;
    // The fake: input_tokens 4 ("be brief hello there"), cache read 7, cache write 3.
    assert_eq!(usage(&r), (14, 3, 7));
    assert_eq!(r["usage"]["cache_write_tokens"], 3);
    // 4 * 3 + 7 * 0.30 + 3 * 3.75 + 3 * 15 = 12 + 2.1 + 11.25 + 45 micro-dollars
    assert!(
        close(r["cost_usd"].as_f64().unwrap(), 0.00007035),
        "{}",
        r["cost_usd"]
    );
    assert_eq!(r["finish_reason"], "end_turn");
    assert_eq!(r["protocol"], "anthropic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_without_usage_are_estimated_with_the_tokenizer() {
    let (up, gw) = setup().await;
    up.push(Reply::Events {
        events: vec![
            r#"{"choices":[{"index":0,"delta":{"content":"Hello world"},"finish_reason":null}]}"#
                .into(),
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.into(),
            "[DONE]".into(),
        ],
        delay: Duration::ZERO,
    });
    let body = json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello world"}]});
    let res = post(&gw, "/v1/chat/completions", &body).await;
    let rid = id(&res);
    res.text().await.unwrap();
    let r = record(&gw, &rid).await;
    assert_eq!(r["usage"]["estimated"], true);
    // o200k: "Hello world" is 2 tokens; the prompt 2 + 3 per message + 3.
    assert_eq!(usage(&r), (8, 2, 0));
    assert!(close(
        r["cost_usd"].as_f64().unwrap(),
        8.0 * 0.15e-6 + 2.0 * 0.6e-6
    ));

    up.push(Reply::Status {
        status: 200,
        body: r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}]}"#.into(),
        headers: vec![],
    });
    let body = json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello world"}]});
    let res = post(&gw, "/v1/chat/completions", &body).await;
    assert_eq!(header(&res, "x-switchyard-usage-estimated"), "true");
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "8");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_stream_is_charged_for_what_was_produced() {
    let (up, gw) = setup().await;
    let gate = Gate::new();
    up.push(Reply::Gated {
        first:
            r#"{"choices":[{"index":0,"delta":{"content":"Hello world"},"finish_reason":null}]}"#
                .into(),
        rest: vec![
            r#"{"choices":[{"index":0,"delta":{"content":" and more"},"finish_reason":null}]}"#
                .into(),
        ],
        gate: gate.clone(),
    });
    let body = json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello world"}]});
    let mut res = post(&gw, "/v1/chat/completions", &body).await;
    let rid = id(&res);
    let first = res.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Hello world"));
    drop(res);
    let r = record(&gw, &rid).await;
    assert_eq!(r["outcome"], "client_disconnected");
    assert_eq!(r["usage"]["estimated"], true);
    assert_eq!(usage(&r), (8, 2, 0));
    assert!(r["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(
        up.wait_stream_dropped(Duration::from_secs(5)).await,
        "the upstream stream is cancelled too"
    );
    gate.open();
}

/// The value of the metric line whose name and labels contain all of `parts`.
fn metric(text: &str, name: &str, parts: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_a_known_workload() {
    let (up, gw) = setup().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let body =
            json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"one two three"}]});
        let res = post(&gw, "/v1/chat/completions", &body).await;
        assert_eq!(res.status(), 200, "{i}");
        ids.push(id(&res));
    }
    for _ in 0..2 {
        let body = json!({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"one two three"}]});
        let res = post(&gw, "/v1/chat/completions", &body).await;
        ids.push(id(&res));
        res.text().await.unwrap();
    }
    up.push(Reply::Status {
        status: 503,
        body: r#"{"error":{"message":"busy"}}"#.into(),
        headers: vec![],
    });
    let res = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}),
    )
    .await;
    assert_eq!(res.status(), 503);
    ids.push(id(&res));
    for rid in &ids {
        record(&gw, rid).await;
    }
    let text = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ok = [
        "provider=\"oai\"",
        "model=\"gpt-4o-mini\"",
        "status=\"200\"",
    ];
    assert_eq!(
        metric(&text, "switchyard_requests_total", &ok),
        5.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "switchyard_requests_total",
            &["status=\"503\"", "error_type=\"upstream_5xx\""]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "switchyard_tokens_total",
            &["model=\"gpt-4o-mini\"", "type=\"input\""]
        ),
        15.0
    );
    assert_eq!(
        metric(
            &text,
            "switchyard_tokens_total",
            &["model=\"gpt-4o-mini\"", "type=\"output\""]
        ),
        20.0
    );
    assert_eq!(
        metric(
            &text,
            "gen_ai_client_token_usage_count",
            &["gen_ai_token_type=\"output\""]
        ),
        5.0
    );
    assert_eq!(
        metric(
            &text,
            "gen_ai_client_token_usage_sum",
            &["gen_ai_token_type=\"output\""]
        ),
        20.0
    );
    assert_eq!(
        metric(
            &text,
            "gen_ai_server_time_to_first_token_seconds_count",
            &[]
        ),
        2.0
    );
    assert_eq!(
        metric(&text, "gen_ai_client_operation_duration_seconds_count", &[]),
        6.0
    );
    assert_eq!(metric(&text, "switchyard_overhead_seconds_count", &[]), 6.0);
    assert!(
        (metric(
            &text,
            "switchyard_cost_usd_total",
            &["model=\"gpt-4o-mini\""]
        ) - 5.0 * 0.00000285)
            .abs()
            < 1e-12
    );
    assert_eq!(metric(&text, "switchyard_active_requests", &[]), 0.0);
    assert_eq!(metric(&text, "switchyard_journal_dropped_total", &[]), 0.0);
    assert!(text.contains("# TYPE gen_ai_client_token_usage histogram"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translated_exchanges_are_accounted_in_the_clients_format() {
    let (_up, gw) = setup().await;
    // An Anthropic client, an OpenAI-format upstream, whole and streamed.
    let body = json!({"model":"gpt-4o-mini","max_tokens":100,
        "messages":[{"role":"user","content":"one two three"}]});
    let res = post(&gw, "/v1/messages", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "3");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "4");
    assert_eq!(header(&res, "x-switchyard-cost-usd"), "0.00000285");
    let mut body = body;
    body["stream"] = json!(true);
    let res = post(&gw, "/v1/messages", &body).await;
    let rid = id(&res);
    res.text().await.unwrap();
    let r = record(&gw, &rid).await;
    assert_eq!(r["usage"]["estimated"], false, "{r}");
    assert_eq!(usage(&r), (3, 4, 0));
    assert_eq!(r["provider"], "oai");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_api_whole_and_streamed() {
    let (_up, gw) = setup().await;
    let body = json!({"model":"gpt-4o-mini","input":"one two three"});
    let res = post(&gw, "/v1/responses", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-switchyard-input-tokens"), "3");
    assert_eq!(header(&res, "x-switchyard-output-tokens"), "4");
    assert_eq!(header(&res, "x-switchyard-cost-usd"), "0.00000285");
    let body = json!({"model":"gpt-4o-mini","input":"one two three","stream":true});
    let res = post(&gw, "/v1/responses", &body).await;
    let rid = id(&res);
    res.text().await.unwrap();
    let r = record(&gw, &rid).await;
    assert_eq!(r["usage"]["estimated"], false, "{r}");
    assert_eq!(usage(&r), (3, 4, 0));
    assert_eq!(r["answer"], "echo: one two three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_format_is_accounted_exactly_from_both_client_formats() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&common::every_format(&up.base_url()));
    // (model, cost of 3 prompt + 4 answer tokens): unlisted models of local providers cost 0.
    let models = [
        ("gpt-4o-mini", 3.0 * 0.15 + 4.0 * 0.60),
        ("claude-sonnet-4-5", 3.0 * 3.0 + 4.0 * 15.0),
        ("gemini-2.5-flash", 3.0 * 0.30 + 4.0 * 2.50),
        ("ollama-llama3", 0.0),
        ("resp-model", 0.0),
    ];
    let mut failures = Vec::new();
    for (model, micro) in models {
        for path in ["/v1/chat/completions", "/v1/messages"] {
            for stream in [false, true] {
                let body = json!({"model": model, "max_tokens": 100, "stream": stream,
                    "messages": [{"role": "user", "content": "one two three"}]});
                let res = post(&gw, path, &body).await;
                let what = format!("{model} via {path} stream={stream}");
                if res.status() != 200 {
                    failures.push(format!("{what}: status {}", res.status()));
                    continue;
                }
                let rid = id(&res);
                res.text().await.unwrap();
                let r = record(&gw, &rid).await;
                let got = (
                    usage(&r),
                    r["usage"]["estimated"].clone(),
                    r["cost_usd"].as_f64(),
                );
                let want = ((3, 4, 0), json!(false), Some(micro / 1e6));
                let cost_ok = got.2.is_some_and(|c| (c - micro / 1e6).abs() < 1e-12);
                if got.0 != want.0 || got.1 != want.1 || !cost_ok {
                    failures.push(format!("{what}: got {got:?}, want {want:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
