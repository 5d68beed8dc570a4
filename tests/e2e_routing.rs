//! End to end: rules, virtual models, strategies, parameter profiles and
//! classifiers through the real binary, with several fake upstreams.
#![expect(
    clippy::unwrap_used,
    reason = "helpers fail the test loudly on unexpected errors"
)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Gateway, client};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Gate, Reply};

/// Three fake OpenAI-compatible upstreams `a`, `b`, `c` and a gateway in front of them.
struct Setup {
    a: FakeUpstream,
    b: FakeUpstream,
    c: FakeUpstream,
    gw: Gateway,
}

async fn setup(routing: &str) -> Setup {
    let (a, b, c) = (
        FakeUpstream::start().await,
        FakeUpstream::start().await,
        FakeUpstream::start().await,
    );
    let mut config = String::new();
    for (id, up, models) in [
        ("a", &a, r#"["gpt-*"]"#),
        ("b", &b, r#"["claude-*"]"#),
        ("c", &c, r#"["llama*"]"#),
    ] {
        config.push_str(&format!(
            "[[providers]]\nid = \"{id}\"\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = {models}\ndiscover = false\n\n",
            up.base_url()
        ));
    }
    config.push_str(routing);
    let gw = Gateway::start(&config);
    Setup { a, b, c, gw }
}

impl Setup {
    async fn chat(&self, body: Value, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = client()
            .post(self.gw.at("/v1/chat/completions"))
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// Sends a chat for `model` with `prompt`; returns (provider header, route header).
    async fn who(&self, model: &str, prompt: &str, headers: &[(&str, &str)]) -> (String, String) {
        let res = self
            .chat(
                json!({"model": model, "messages": [{"role": "user", "content": prompt}]}),
                headers,
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        let h = |n: &str| {
            res.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        (h("x-switchyard-provider"), h("x-switchyard-route"))
    }

    fn last(&self, up: &str) -> Value {
        let up = match up {
            "a" => &self.a,
            "b" => &self.b,
            _ => &self.c,
        };
        up.requests().last().unwrap().json()
    }
}

fn user(prompt: &str) -> Value {
    json!([{"role": "user", "content": prompt}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_model_rewrites_the_model_and_merges_and_clamps_params() {
    let s = setup(
        r#"
[virtual_models.coder]
targets = ["c/qwen2.5-coder:7b", "a/gpt-4o-mini"]
profile = "coding"
description = "code assistant"

[profiles.coding]
defaults = { temperature = 0.2, top_p = 0.9 }
clamp = { "chat_template_kwargs.enable_thinking" = false }
max = { max_tokens = 1024 }
remove = ["logit_bias"]

[profiles.local]
max = { max_tokens = 512 }

[[profile_targets]]
provider = "c"
profile = "local"
"#,
    )
    .await;
    let res = s
        .chat(
            json!({"model": "coder", "messages": user("write fizzbuzz"), "top_p": 0.5,
                   "max_tokens": 100000, "logit_bias": {"50256": -100}}),
            &[],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-provider"], "c");
    assert_eq!(res.headers()["x-switchyard-model"], "qwen2.5-coder:7b");
    assert_eq!(res.headers()["x-switchyard-route"], "virtual:coder");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["model"], "qwen2.5-coder:7b");
    let sent = s.last("c");
    assert_eq!(
        sent,
        json!({"model": "qwen2.5-coder:7b", "messages": user("write fizzbuzz"), "top_p": 0.5,
               "max_tokens": 512, "temperature": 0.2,
               "chat_template_kwargs": {"enable_thinking": false}}),
        "caller's top_p kept, default temperature added, max_tokens clamped by the tighter \
         target profile, enable_thinking forced, logit_bias removed"
    );
    assert!(s.a.requests().is_empty() && s.b.requests().is_empty());
    // GET /v1/models lists the virtual model.
    let models: Value = client()
        .get(s.gw.at("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let coder = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "coder")
        .unwrap();
    assert_eq!(coder["owned_by"], "switchyard");
    assert_eq!(coder["description"], "code assistant");
    // A body the profiles leave alone reaches the upstream byte for byte.
    let body = "{\"model\" : \"gpt-4o-mini\",  \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}], \"x\": [1, 2.50]}";
    let res = client()
        .post(s.gw.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(&s.a.requests().last().unwrap().body[..], body.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rule_kind_routes_to_its_upstream() {
    let s = setup(
        r#"
[[classify.tags]]
tag = "legal"
keywords = ["contract", "indemnity"]

[[rules]]
name = "vision"
tags = ["vision"]
to = "b/claude-vision"

[[rules]]
name = "legal"
tags = ["legal"]
to = "c/law-llm"

[[rules]]
name = "translate"
prompt_regex = "(?i)^translate"
to = "c/nllb"

[[rules]]
name = "long"
min_tokens = 200
to = "b/claude-long"

[[rules]]
name = "cli"
sources = ["cli"]
to = "c/llama-cli"

[[rules]]
name = "gold"
headers = { "x-tier" = "gold" }
to = "b/claude-best"

[[rules]]
name = "mini"
model_glob = "gpt-*-mini"
model_prefix = "cheap-"
to = "c/llama3.2"

[[rules]]
name = "apollo"
projects = ["apollo"]
to = "b/claude-apollo"

[[rules]]
name = "embed"
endpoints = ["embeddings"]
to = "c/nomic-embed"

[[rules]]
name = "big-body"
min_body_bytes = 3000
to = "b/claude-big"
"#,
    )
    .await;
    let image = json!([{"type": "text", "text": "what is this?"},
                       {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]);
    let res = s
        .chat(
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": image}]}),
            &[],
        )
        .await;
    assert_eq!(res.headers()["x-switchyard-route"], "rule:vision");
    assert_eq!(res.headers()["x-switchyard-request-tags"], "vision");
    assert_eq!(s.last("b")["model"], "claude-vision");

    assert_eq!(
        s.who("gpt-4o", "Review this Contract please", &[]).await,
        ("c".into(), "rule:legal".into())
    );
    assert_eq!(s.last("c")["model"], "law-llm");
    assert_eq!(
        s.who("gpt-4o", "contractors are late", &[]).await,
        ("a".into(), "provider:a".into())
    );
    assert_eq!(
        s.who("gpt-4o", "Translate to French: hello", &[]).await.1,
        "rule:translate"
    );
    assert_eq!(s.last("c")["model"], "nllb");
    assert_eq!(
        s.who("gpt-4o", &"many words ".repeat(100), &[]).await.1,
        "rule:long"
    );
    assert_eq!(
        s.who("gpt-4o", "hello", &[("x-source", "cli")]).await.1,
        "rule:cli"
    );
    assert_eq!(
        s.who("gpt-4o", "hello", &[("x-tier", "gold")]).await.1,
        "rule:gold"
    );
    assert_eq!(s.last("b")["model"], "claude-best");
    assert_eq!(
        s.who("gpt-4o", "hello", &[("x-tier", "silver")]).await.1,
        "provider:a"
    );
    assert_eq!(s.who("gpt-4o-mini", "hello", &[]).await.1, "rule:mini");
    assert_eq!(s.who("cheap-thing", "hello", &[]).await.1, "rule:mini");
    assert_eq!(s.last("c")["model"], "llama3.2");
    assert_eq!(
        s.who("gpt-4o", "hello", &[("x-project", "apollo")]).await.1,
        "rule:apollo"
    );
    let res = client()
        .post(s.gw.at("/v1/embeddings"))
        .json(&json!({"model": "gpt-emb", "input": "some text"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "rule:embed");
    assert_eq!(s.c.requests().last().unwrap().path, "/v1/embeddings");
    assert_eq!(s.last("c")["model"], "nomic-embed");
    let padding = "x".repeat(3000);
    let res = s
        .chat(
            json!({"model": "gpt-4o", "messages": user("hi"), "metadata": {"pad": padding}}),
            &[],
        )
        .await;
    assert_eq!(res.headers()["x-switchyard-route"], "rule:big-body");
    // No rule: the provider globs and `provider/model` prefixes still route.
    assert_eq!(
        s.who("claude-3-haiku", "hello", &[]).await,
        ("b".into(), "provider:b".into())
    );
    assert_eq!(
        s.who("a/my-model", "hello", &[]).await,
        ("a".into(), "prefix:a".into())
    );
    assert_eq!(s.last("a")["model"], "my-model");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_spread_requests_as_configured() {
    let s = setup(
        r#"
[virtual_models.rr]
targets = ["a/m", "b/m", "c/m"]
strategy = "round_robin"

[virtual_models.w]
targets = [{ target = "a/m", weight = 3 }, { target = "b/m", weight = 1 }]
strategy = "weighted"

[virtual_models.cheap]
targets = [{ target = "a/big", input_price = 5.0, output_price = 15.0 },
           { target = "b/small", input_price = 0.15, output_price = 0.6 }]
strategy = "cheapest"

[virtual_models.best]
targets = [{ target = "a/m", quality = 0.6, input_price = 1.0, output_price = 1.0 },
           { target = "c/m", quality = 0.95, input_price = 3.0, output_price = 3.0 }]
strategy = "quality_cost"
quality_bias = 0.9

[virtual_models.catalog_cheap]
targets = ["a/gpt-4o", "b/gpt-4o-mini", "c/gpt-4.1"]
strategy = "cheapest"

[virtual_models.rnd]
targets = ["a/m", "b/m"]
strategy = "random"

[virtual_models.pin]
targets = ["b/m", "a/m"]
strategy = "pinned"

[virtual_models.sticky]
targets = ["a/m", "b/m", "c/m"]
strategy = "round_robin"
sticky = { header = "x-session-id" }
"#,
    )
    .await;
    let mut count: HashMap<String, usize> = HashMap::new();
    for _ in 0..30 {
        *count.entry(s.who("rr", "x", &[]).await.0).or_default() += 1;
    }
    assert_eq!(
        (count["a"], count["b"], count["c"]),
        (10, 10, 10),
        "round robin is exact"
    );

    let n = 400;
    let mut a = 0;
    for _ in 0..n {
        if s.who("w", "x", &[]).await.0 == "a" {
            a += 1;
        }
    }
    // 75% expected; the binomial's standard deviation is ~2.2 points: allow 4.
    let share = a as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.09, "weighted share of a: {share}");

    let mut a = 0;
    for _ in 0..60 {
        if s.who("rnd", "x", &[]).await.0 == "a" {
            a += 1;
        }
    }
    assert!((10..=50).contains(&a), "random picks both: a got {a} of 60");
    assert_eq!(s.who("cheap", "x", &[]).await.0, "b");
    assert_eq!(s.last("b")["model"], "small");
    assert_eq!(
        s.who("catalog_cheap", "x", &[]).await.0,
        "b",
        "priced from the model catalog"
    );
    assert_eq!(s.last("b")["model"], "gpt-4o-mini");
    assert_eq!(s.who("best", "x", &[]).await.0, "c");
    for _ in 0..5 {
        assert_eq!(s.who("pin", "x", &[]).await.0, "b");
    }
    let first = s.who("sticky", "x", &[("x-session-id", "conv-1")]).await.0;
    for _ in 0..6 {
        assert_eq!(
            s.who("sticky", "x", &[("x-session-id", "conv-1")]).await.0,
            first
        );
        // Other conversations keep rotating in between.
        s.who("sticky", "x", &[]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_loaded_avoids_the_upstream_with_streams_in_flight() {
    // `pin` shares the target a/m with `pool`, and so its load: stats are per provider + model.
    let s = setup(
        r#"
[virtual_models.pool]
targets = ["a/m", "b/m"]
strategy = "least_loaded"

[virtual_models.pin]
targets = ["a/m"]

[virtual_models.pin_b]
targets = ["b/m"]
"#,
    )
    .await;
    // Warm both up so their latency averages settle past the cold connection.
    for _ in 0..10 {
        s.who("pin", "x", &[]).await;
        s.who("pin_b", "x", &[]).await;
    }
    // Hold four streams open on a.
    let gate = Gate::new();
    let mut held = Vec::new();
    for _ in 0..4 {
        s.a.push(Reply::Gated {
            first: r#"{"choices":[{"index":0,"delta":{"content":"hi"}}]}"#.into(),
            rest: vec!["[DONE]".into()],
            gate: gate.clone(),
        });
        let mut res = s
            .chat(
                json!({"model": "pin", "stream": true, "messages": user("x")}),
                &[],
            )
            .await;
        assert_eq!(res.headers()["x-switchyard-provider"], "a");
        let _ = res.chunk().await.unwrap();
        held.push(res);
    }
    for _ in 0..10 {
        let res = s
            .chat(json!({"model": "pool", "messages": user("y")}), &[])
            .await;
        assert_eq!(
            res.headers()["x-switchyard-provider"],
            "b",
            "the busy upstream is avoided"
        );
        let _ = res.bytes().await;
    }
    gate.open();
    for res in held {
        let _ = res.bytes().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn highest_throughput_learns_from_observed_streams() {
    let s = setup(
        r#"
[virtual_models.tp]
targets = ["a/m", "b/m"]
strategy = "highest_throughput"
"#,
    )
    .await;
    // `a` streams 10 tokens but takes 300 ms for them; `b` streams 1000 at once.
    for _ in 0..5 {
        s.b.push(Reply::Events {
            events: vec![
                r#"{"choices":[{"index":0,"delta":{"content":"fast"}}]}"#.into(),
                r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1000,"total_tokens":1001}}"#.into(),
                "[DONE]".into(),
            ],
            delay: Duration::ZERO,
        });
    }
    let gate = Gate::new();
    s.a.push(Reply::Gated {
        first: r#"{"choices":[{"index":0,"delta":{"content":"slow"}}]}"#.into(),
        rest: vec![
            r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":10,"total_tokens":11}}"#.into(),
            "[DONE]".into(),
        ],
        gate: gate.clone(),
    });
    let stream = || {
        s.chat(
            json!({"model": "tp", "stream": true, "messages": user("x")}),
            &[],
        )
    };
    let res = stream().await;
    assert_eq!(
        res.headers()["x-switchyard-provider"],
        "a",
        "unmeasured targets go first, in order"
    );
    let opener = {
        let gate = gate.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            gate.open();
        })
    };
    let _ = res.bytes().await.unwrap();
    opener.await.unwrap();
    let res = stream().await;
    assert_eq!(
        res.headers()["x-switchyard-provider"],
        "b",
        "b is still unmeasured"
    );
    let _ = res.bytes().await.unwrap();
    for _ in 0..4 {
        let res = stream().await;
        assert_eq!(
            res.headers()["x-switchyard-provider"],
            "b",
            "b streams faster"
        );
        let _ = res.bytes().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classifier_tags_come_back_in_headers() {
    let s = setup("").await;
    s.a.push(Reply::Text("I'm sorry, but I can't help with that.".into()));
    let res = s
        .chat(
            json!({"model": "gpt-4o", "messages": user("fix:\n```\nlet x = 1;\n```"),
                     "tools": [{"type": "function", "function": {"name": "f"}}]}),
            &[],
        )
        .await;
    assert_eq!(res.headers()["x-switchyard-request-tags"], "tools,code");
    assert_eq!(res.headers()["x-switchyard-response-tags"], "refusal");
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "I'm sorry, but I can't help with that."
    );
    s.a.push(Reply::Status {
        status: 200,
        body: json!({"id": "x", "object": "chat.completion", "model": "gpt-4o", "created": 0,
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "one two"},
                                  "finish_reason": "length"}]}).to_string(),
        headers: vec![],
    });
    let res = s
        .chat(
            json!({"model": "gpt-4o", "messages": user("count"), "max_tokens": 2}),
            &[],
        )
        .await;
    assert_eq!(res.headers()["x-switchyard-response-tags"], "truncated");
    assert!(res.headers().get("x-switchyard-request-tags").is_none());
    // Streams pass through untouched.
    let res = s
        .chat(
            json!({"model": "gpt-4o", "stream": true, "messages": user("one two")}),
            &[],
        )
        .await;
    let body = res.text().await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
}

/// A tiny Ollama stand-in serving `GET /api/tags`.
async fn ollama_tags(models: &'static [&'static str]) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/api/tags",
        axum::routing::get(move || async move {
            let list: Vec<Value> = models
                .iter()
                .map(|m| json!({"name": m, "model": m, "size": 1}))
                .collect();
            axum::Json(json!({"models": list}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_rules_route_to_whoever_lists_the_model() {
    let (tags_url, tags) = ollama_tags(&["qwen3:8b", "llama3.2:latest"]).await;
    let vllm = FakeUpstream::start().await;
    vllm.set_models(&["mistral-small", "qwen3:8b"]);
    let s = setup(&format!(
        r#"
[[providers]]
id = "vllm"
kind = "openai"
base_url = "{}"
models = ["vllm-only-*"]
discover = false

[[discovery]]
provider = "c"
source = "ollama"
url = "{tags_url}"

[[discovery]]
provider = "vllm"
source = "openai"

[[rules]]
name = "local-first"
discovered = ["c", "vllm"]
"#,
        vllm.base_url()
    ))
    .await;
    // Discovery runs in the background right after start: wait until both
    // lists are in (a model only `c` lists, and one only `vllm` lists, are
    // served), since whichever finishes first routes alone meanwhile.
    for _ in 0..100 {
        let mut ready = true;
        for model in ["llama3.2:latest", "mistral-small"] {
            let res = s
                .chat(json!({"model": model, "messages": user("x")}), &[])
                .await;
            ready &= res.status() == 200;
        }
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.who("qwen3:8b", "x", &[]).await,
        ("c".into(), "rule:local-first".into()),
        "both list it: the rule's first provider"
    );
    assert_eq!(s.last("c")["model"], "qwen3:8b");
    assert_eq!(
        s.who("llama3.2", "x", &[]).await,
        ("c".into(), "rule:local-first".into()),
        ":latest is implied"
    );
    assert_eq!(
        s.who("mistral-small", "x", &[]).await,
        ("vllm".into(), "rule:local-first".into())
    );
    assert_eq!(
        vllm.requests().last().unwrap().json()["model"],
        "mistral-small"
    );
    // Neither lists it: the rule does not match, the provider globs decide.
    assert_eq!(
        s.who("gpt-4o", "x", &[]).await,
        ("a".into(), "provider:a".into())
    );
    tags.abort();
}

#[test]
fn invalid_routing_config_is_refused_naming_file_rule_and_problem() {
    let providers = r#"
[[providers]]
id = "a"
kind = "mock"
models = ["m*"]
"#;
    let cases = [
        (
            "[[rules]]\nname = \"r1\"\nto = \"nope/m\"\n",
            "rule `r1` (rules[0]): unknown provider `nope` in target `nope/m`",
        ),
        (
            "[[rules]]\nname = \"re\"\nprompt_regex = \"(open\"\nto = \"a/m\"\n",
            "rule `re` (rules[0]): invalid prompt regex `(open`",
        ),
        (
            "[[rules]]\nname = \"w\"\nstrategy = \"weighted\"\nto = [{ target = \"a/x\", weight = 0 }, { target = \"a/y\", weight = 0 }]\n",
            "rule `w` (rules[0]): target weights sum to 0",
        ),
        (
            "[virtual_models.x]\ntargets = [\"y\"]\n[virtual_models.y]\ntargets = [\"x\"]\n",
            "virtual model `x`: virtual model cycle: x -> y -> x",
        ),
        (
            "[[rules]]\nname = \"s\"\nstrategy = \"fastest-ever\"\nto = \"a/m\"\n",
            "rule `s` (rules[0]): unknown strategy `fastest-ever`",
        ),
        (
            "[profiles.p]\nmax = { max_tokens = 10 }\nmin = { max_tokens = 20 }\n",
            "`profiles.p`: `max_tokens`: min 20 is greater than max 10",
        ),
        (
            "[[rules]]\nname = \"pr\"\nto = \"a/m\"\nprofile = \"ghost\"\n",
            "rule `pr` (rules[0]): unknown profile `ghost`",
        ),
        (
            "[[classify.tags]]\ntag = \"t\"\nregex = \"[\"\n",
            "`classify.tags[0]` (`t`): invalid regex `[`",
        ),
    ];
    for (routing, want) in cases {
        let dir = common::temp_dir("badcfg");
        let path = dir.join("routing.toml");
        std::fs::write(&path, format!("{providers}\n{routing}")).unwrap();
        let (code, _, stderr) =
            common::run_binary(&["--config", path.to_str().unwrap(), "--check"], &[]);
        assert_eq!(code, 2, "{routing}: {stderr}");
        assert!(stderr.contains("routing.toml"), "names the file: {stderr}");
        assert!(stderr.contains(want), "{stderr:?} should contain {want:?}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn the_routing_example_config_passes_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/routing.example.toml");
    let (code, stdout, stderr) = common::run_binary(&["--config", path, "--check"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
}

/// The `routed_gateway` example, on a free port; killed on drop.
struct Example(std::process::Child, String);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_example(name: &str) -> Example {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "example binary {} not built", path.display());
    let mut child = std::process::Command::new(path)
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Example(child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_gateway_example_stacks_classify_route_and_params() {
    let ex = start_example("routed_gateway");
    let post = |body: Value| {
        client()
            .post(format!("{}/v1/chat/completions", ex.1))
            .json(&body)
            .send()
    };
    let res = post(
        json!({"model": "coder", "messages": user("one two three four five"), "max_tokens": 100}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-route"], "virtual:coder");
    assert_eq!(res.headers()["x-switchyard-provider"], "fast");
    assert_eq!(
        res.headers()["x-switchyard-response-tags"],
        "truncated",
        "max_tokens capped at 3"
    );
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Mock reply to:");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    let res = post(json!({"model": "fast-1", "messages": user("urgent: fix\n```\nx\n```")}))
        .await
        .unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "rule:hard-prompts");
    assert_eq!(res.headers()["x-switchyard-provider"], "smart");
    assert_eq!(res.headers()["x-switchyard-request-tags"], "code,urgent");
    let res = post(json!({"model": "fast-1", "messages": user("hello")}))
        .await
        .unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "provider:fast");
    assert!(res.headers().get("x-switchyard-request-tags").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_reads_the_health_the_circuit_breakers_write() {
    let s = setup(
        r#"
[failover.circuit]
consecutive_failures = 1
cooldown_secs = 0.5

[virtual_models.conv]
targets = ["a/m", "b/m"]
sticky = { header = "x-session-id" }
"#,
    )
    .await;
    let conv = [("x-session-id", "s1")];
    assert_eq!(s.who("conv", "x", &conv).await.0, "a", "bound to a");
    // a fails once: failover serves from b and the circuit (health) of a opens.
    s.a.push(Reply::Status {
        status: 500,
        body: r#"{"error":{"message":"boom","type":"server_error"}}"#.into(),
        headers: vec![],
    });
    let res = s
        .chat(json!({"model": "conv", "messages": user("x")}), &conv)
        .await;
    assert_eq!(res.headers()["x-switchyard-provider"], "b");
    assert_eq!(res.headers()["x-switchyard-attempts"], "2");
    // Routing sees a down: the conversation is re-bound to b, at the first attempt.
    let res = s
        .chat(json!({"model": "conv", "messages": user("x")}), &conv)
        .await;
    assert_eq!(res.headers()["x-switchyard-provider"], "b");
    assert_eq!(res.headers()["x-switchyard-attempts"], "1");
    // Once a is healthy again the conversation stays where its cache is: b.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(s.who("conv", "x", &conv).await.0, "b");
    assert_eq!(s.a.requests().len(), 2);
    // A new conversation starts on a again.
    assert_eq!(s.who("conv", "x", &[("x-session-id", "s2")]).await.0, "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failover_attempt_gets_its_own_targets_profile() {
    let s = setup(
        r#"
[virtual_models.pair]
targets = [{ target = "a/ma", profile = "pa" }, { target = "b/mb", profile = "pb" }]

[profiles.pa]
clamp = { temperature = 0.1 }
defaults = { seed = 1 }

[profiles.pb]
clamp = { temperature = 0.9 }
remove = ["user"]
"#,
    )
    .await;
    s.a.push(Reply::Status {
        status: 503,
        body: r#"{"error":{"message":"overloaded","type":"server_error"}}"#.into(),
        headers: vec![],
    });
    let res = s
        .chat(
            json!({"model": "pair", "messages": user("x"), "user": "u1"}),
            &[],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-provider"], "b");
    assert_eq!(res.headers()["x-switchyard-attempts"], "2");
    assert_eq!(
        s.last("a"),
        json!({"model": "ma", "messages": user("x"), "user": "u1", "temperature": 0.1, "seed": 1})
    );
    assert_eq!(
        s.last("b"),
        json!({"model": "mb", "messages": user("x"), "temperature": 0.9}),
        "the second attempt starts from the client's body, not the first attempt's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_answers_get_their_tags_as_a_trailer() {
    let s = setup("").await;
    s.a.push(Reply::Events {
        events: vec![
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"one two"}}]}"#.into(),
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#.into(),
            "[DONE]".into(),
        ],
        delay: Duration::from_millis(5),
    });
    let body = json!({"model": "gpt-4o", "stream": true, "messages": user("count")});
    let out = raw_post(&s.gw, "/v1/chat/completions", &body).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("data: [DONE]"), "{out}");
    let (_, tail) = out.rsplit_once("data: [DONE]").unwrap();
    assert!(
        tail.to_ascii_lowercase()
            .contains("x-switchyard-response-tags: truncated"),
        "the trailer follows the last event: {tail:?}"
    );
}

/// Sends `body` to `path` over raw HTTP/1.1 accepting trailers; the whole
/// response as text (head, chunked body, trailers).
async fn raw_post(gw: &Gateway, path: &str, body: &Value) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let addr = gw.url.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nte: trailers\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// The response classifiers read what the usage layer parsed of the answer
/// (one parse): every client protocol, whole and streamed, gets its tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_tags_in_every_client_protocol_whole_and_streamed() {
    let s = setup("").await;
    let requests = [
        (
            "/v1/chat/completions",
            json!({"model": "gpt-4o", "messages": user("q")}),
        ),
        (
            "/v1/messages",
            json!({"model": "gpt-4o", "max_tokens": 100, "messages": user("q")}),
        ),
        ("/v1/responses", json!({"model": "gpt-4o", "input": "q"})),
    ];
    for (path, body) in &requests {
        for stream in [false, true] {
            for (reply, tags) in [
                // Leading white space does not push the phrase out of the window.
                (
                    "  \n I'm sorry, but I can't help with that.",
                    Some("refusal"),
                ),
                ("Sure, here it is.", None),
                (
                    &*format!("{} i cannot comply", "word ".repeat(10)),
                    None::<&str>,
                ),
            ] {
                s.a.push(Reply::Text(reply.to_owned()));
                let mut body = body.clone();
                body["stream"] = json!(stream);
                let out = raw_post(&s.gw, path, &body).await;
                assert!(out.starts_with("HTTP/1.1 200"), "{path}: {out}");
                let (head, rest) = out.split_once("\r\n\r\n").unwrap();
                let head = head.to_ascii_lowercase();
                let seen = if stream {
                    // After the last chunk, in the trailers.
                    let (_, trailers) = rest.rsplit_once("\r\n0\r\n").unwrap();
                    trailers.to_ascii_lowercase()
                } else {
                    head.clone()
                };
                let tag = seen
                    .lines()
                    .find_map(|l| l.strip_prefix("x-switchyard-response-tags: "))
                    .map(str::trim);
                assert_eq!(tag, tags, "{path} stream={stream} {reply:?}: {out}");
            }
        }
    }
    // A provider's explicit refusal flag, streamed.
    s.a.push(Reply::Events {
        events: vec![
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"finish_reason":null}]}"#.into(),
            r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"refusal":"Not that."},"finish_reason":"stop"}]}"#.into(),
            "[DONE]".into(),
        ],
        delay: Duration::from_millis(1),
    });
    let out = raw_post(
        &s.gw,
        "/v1/chat/completions",
        &json!({"model": "gpt-4o", "stream": true, "messages": user("q")}),
    )
    .await;
    let (_, tail) = out.rsplit_once("data: [DONE]").unwrap();
    assert!(
        tail.to_ascii_lowercase()
            .contains("x-switchyard-response-tags: refusal"),
        "{out}"
    );
}
