//! End to end: the prompt guard through the real binary, over real HTTP —
//! redact (the upstream gets the redacted body, whole and streamed, OpenAI
//! and Anthropic clients), block (403 in each client's shape), log, and
//! findings in the journal without the secret.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use common::{Gateway, client, record, request_id as id, run_binary, sse_data};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

const AWS_KEY: &str = "AKIAQ4ZK7W2M5N8P3R6T";
const EMAIL: &str = "jane.doe@gmail.com";
const CARD: &str = "4111 1111 1111 1111";
const PEM_BODY: &str = "MIIEowIBAAKCAQEAv3pQ9sZ0hJk1mN2bV4cX7eR8tY6uI5oP3aS2dF1gH0jK9lZ8xC7vB6nM5qW4eR3tY2uI1oP0aS9dF8gH7jK6lZ5xC4vB3nM2qW1eR0tY9u";

fn config(up: &FakeUpstream, guard: &str) -> String {
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
models = ["gpt-*", "text-embedding-*"]
discover = false

{guard}
"#,
        base = up.base_url()
    )
}

async fn setup(guard: &str) -> (FakeUpstream, Gateway) {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&config(&up, guard));
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

/// No secret anywhere the gateway keeps or shows: records (listed and
/// whole), the JSONL of one record, and its log.
async fn assert_nowhere(gw: &Gateway, ids: &[String], secrets: &[&str]) {
    let mut seen = String::new();
    for id in ids {
        seen.push_str(&record(gw, id).await.to_string());
    }
    let list = client()
        .get(gw.at("/admin/records?limit=100"))
        .send()
        .await
        .unwrap();
    seen.push_str(&list.text().await.unwrap());
    seen.push_str(&gw.logs());
    for s in secrets {
        assert!(!seen.contains(s), "`{s}` leaked:\n{seen}");
    }
}

fn findings(rec: &Value) -> Vec<(String, String, u64, u64, String)> {
    rec["guard_findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no guard_findings in {rec}"))
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["field"].as_str().unwrap().to_owned(),
                f["offset"].as_u64().unwrap(),
                f["length"].as_u64().unwrap(),
                f["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redact_openai_client_whole_and_streamed() {
    let (up, gw) = setup("[guard]\nmode = \"redact\"").await;
    let user = format!("my key is {AWS_KEY}, mail {EMAIL}");
    let mut ids = Vec::new();
    for (i, stream) in [false, true].into_iter().enumerate() {
        let body = json!({
            "model": "gpt-4o-mini",
            "stream": stream,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": user}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "billing", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": format!("card on file: {CARD}")}
            ],
            "x_unknown": {"keep": [1, 2, 3]},
            "temperature": 0.5
        });
        let res = post(&gw, "/v1/chat/completions", &body).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        ids.push(id(&res));
        let text = res.text().await.unwrap();
        // The fake upstream echoes the last user message: the redacted one.
        let answer = if stream {
            sse_data(&text).join("")
        } else {
            text.clone()
        };
        assert!(answer.contains("[REDACTED:card_number]"), "{answer}");
        assert!(!text.contains(AWS_KEY) && !text.contains(EMAIL));
        let seen = &up.requests()[i];
        let raw = String::from_utf8(seen.body.to_vec()).unwrap();
        let sent = seen.json();
        assert_eq!(
            sent["messages"][1]["content"][0]["text"],
            "my key is [REDACTED:aws_access_key], mail [REDACTED:email]"
        );
        assert_eq!(
            sent["messages"][3]["content"],
            "card on file: [REDACTED:card_number]"
        );
        assert_eq!(sent["messages"][0]["content"], "be brief");
        assert_eq!(sent["x_unknown"], json!({"keep": [1, 2, 3]}));
        assert_eq!(sent["temperature"], 0.5);
        // Key order survives the edit.
        let at = |k: &str| raw.find(k).unwrap();
        assert!(at("\"model\"") < at("\"messages\"") && at("\"messages\"") < at("\"x_unknown\""));
        for s in [AWS_KEY, EMAIL, CARD] {
            assert!(!raw.contains(s), "{s} reached the upstream: {raw}");
        }
        let rec = record(&gw, &ids[i]).await;
        assert_eq!(rec["status"], 200);
        assert_eq!(
            findings(&rec),
            [
                (
                    "aws_access_key".into(),
                    "/messages/1/content/0/text".into(),
                    10,
                    20,
                    "redact".into()
                ),
                (
                    "email".into(),
                    "/messages/1/content/0/text".into(),
                    37,
                    EMAIL.len() as u64,
                    "redact".into()
                ),
                (
                    "card_number".into(),
                    "/messages/3/content".into(),
                    14,
                    CARD.len() as u64,
                    "redact".into()
                ),
            ]
        );
        assert!(
            rec["request_body"]
                .as_str()
                .unwrap()
                .contains("[REDACTED:email]")
        );
    }
    // Embeddings input is a prompt too.
    let res = post(
        &gw,
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": [format!("contact {EMAIL}")]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    ids.push(id(&res));
    assert_eq!(
        up.requests()[2].json()["input"][0],
        "contact [REDACTED:email]"
    );
    assert_nowhere(&gw, &ids, &[AWS_KEY, EMAIL, CARD]).await;
    let metrics = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("switchyard_guard_findings_total") && l.contains("kind=\"email\""))
        .unwrap_or_else(|| panic!("no findings metric:\n{metrics}"));
    assert!(
        line.contains("action=\"redact\"") && line.ends_with(" 3"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redact_anthropic_client_whole_and_streamed() {
    let (up, gw) = setup("[guard]\nmode = \"redact\"").await;
    let mut ids = Vec::new();
    for (i, stream) in [false, true].into_iter().enumerate() {
        let body = json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 50,
            "stream": stream,
            "system": format!("the operator is {EMAIL}"),
            "messages": [
                {"role": "user", "content": "read the config"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "cat", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": format!("AWS_ACCESS_KEY_ID={AWS_KEY}")}]},
                    {"type": "text", "text": "what does this say?"}
                ]}
            ]
        });
        let res = post(&gw, "/v1/messages", &body).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        ids.push(id(&res));
        let _ = res.text().await.unwrap();
        let seen = &up.requests()[i];
        assert_eq!(seen.path, "/v1/messages");
        let sent = seen.json();
        assert_eq!(sent["system"], "the operator is [REDACTED:email]");
        assert_eq!(
            sent["messages"][2]["content"][0]["content"][0]["text"],
            "AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key]"
        );
        assert_eq!(
            sent["messages"][2]["content"][1]["text"],
            "what does this say?"
        );
        let rec = record(&gw, &ids[i]).await;
        let f = findings(&rec);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!((f[0].0.as_str(), f[0].1.as_str()), ("email", "/system"));
        assert_eq!(
            (f[1].0.as_str(), f[1].1.as_str(), f[1].2),
            ("aws_access_key", "/messages/2/content/0/content/0/text", 18)
        );
    }
    assert_nowhere(&gw, &ids, &[AWS_KEY, EMAIL]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_answers_403_in_each_clients_shape() {
    let guard = "[guard]\nmode = \"redact\"\n[guard.actions]\nprivate_key = \"block\"\ncredentials = \"block\"\nemail = \"log\"";
    let (up, gw) = setup(guard).await;
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----");
    let prompt = format!("fix my server, key:\n{pem}\nping {EMAIL}");
    let res = post(
        &gw,
        "/v1/chat/completions",
        &json!({
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]
        }),
    )
    .await;
    assert_eq!(res.status(), 403);
    let openai_id = id(&res);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "permission_denied");
    assert_eq!(v["error"]["code"], "prompt_blocked");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("private_key") && !msg.contains("email"),
        "{msg}"
    );
    assert!(!msg.contains(PEM_BODY));
    let res = post(
        &gw,
        "/v1/messages",
        &json!({
            "model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
            "messages": [{"role": "user", "content": format!("deploy with {AWS_KEY}")}]
        }),
    )
    .await;
    assert_eq!(res.status(), 403);
    let anthropic_id = id(&res);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "permission_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("aws_access_key")
    );
    assert!(
        up.requests().is_empty(),
        "a blocked request reached the upstream"
    );
    let rec = record(&gw, &openai_id).await;
    assert_eq!(rec["status"], 403);
    assert_eq!(rec["error_type"], "guard_blocked");
    let f = findings(&rec);
    assert_eq!(f.len(), 2);
    assert!(f.iter().all(|x| x.4 == "block"), "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2),
        ("private_key", "/messages/0/content", 20)
    );
    assert_eq!(f[0].3, pem.len() as u64);
    assert_eq!(
        record(&gw, &anthropic_id).await["error_type"],
        "guard_blocked"
    );
    assert_nowhere(&gw, &[openai_id, anthropic_id], &[PEM_BODY, AWS_KEY, EMAIL]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_forwards_unchanged_and_journals_without_the_secret() {
    let guard = "[guard]\nmode = \"log\"\nallow = ['@example\\.com$']";
    let (up, gw) = setup(guard).await;
    // The fake upstream echoes the prompt: the model repeats the secret.
    let body = format!(
        r#"{{"model":"gpt-4o-mini",  "messages":[{{"role":"user","content":"mail {EMAIL} or ops@example.com"}}]}}"#
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rid = id(&res);
    assert_eq!(
        &up.requests()[0].body[..],
        body.as_bytes(),
        "log: byte for byte"
    );
    let rec = record(&gw, &rid).await;
    // The allow-listed address is no finding.
    assert_eq!(
        findings(&rec),
        [(
            "email".into(),
            "/messages/0/content".into(),
            5,
            EMAIL.len() as u64,
            "log".into()
        )]
    );
    let kept = rec["request_body"].as_str().unwrap();
    assert!(
        kept.contains("[REDACTED:email]") && kept.contains("ops@example.com"),
        "{kept}"
    );
    // The answer the client got repeats it; the journal's copy does not.
    let answer = rec["answer"].as_str().unwrap();
    assert!(
        answer.contains("mail [REDACTED:email] or ops@example.com"),
        "{answer}"
    );
    let body = rec["response_body"].as_str().unwrap();
    assert!(body.contains("[REDACTED:email]"), "{body}");
    assert_nowhere(&gw, &[rid], &[EMAIL]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default_and_clean_prompts_pass_byte_for_byte() {
    let (up, gw) = setup("").await;
    let body = format!(
        r#"{{"model":"gpt-4o-mini", "messages":[{{"role":"user","content":"key {AWS_KEY}"}}]}}"#
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(&up.requests()[0].body[..], body.as_bytes());
    assert!(
        record(&gw, &id(&res))
            .await
            .get("guard_findings")
            .is_none_or(|f| f.as_array().is_some_and(|a| a.is_empty()))
    );
    drop(gw);
    let gw = Gateway::start(&config(&up, "[guard]\nmode = \"block\""));
    let clean = r#"{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"commit 3f786850e387550fdab836ed7e6dc881de23001b, uuid 550e8400-e29b-41d4-a716-446655440000, colour #1e90ff, v1.2.3, $1,049.00"}], "z": 1}"#;
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(clean)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(&up.requests()[1].body[..], clean.as_bytes());
}

#[test]
fn bad_guard_config_is_refused_with_the_reason() {
    let dir = common::temp_dir("guard-config");
    for (guard, expect) in [
        (
            "[guard]\nmode = \"redact\"\n[guard.actions]\nemal = \"log\"",
            "unknown kind `emal`",
        ),
        ("[guard]\nmode = \"redact\"\nallow = ['(']", "guard.allow"),
        ("[guard]\nmode = \"shout\"", "shout"),
    ] {
        let path = dir.join("c.toml");
        std::fs::write(&path, format!("{guard}\n")).unwrap();
        let (code, out, err) = run_binary(&["--check", "--config", path.to_str().unwrap()], &[]);
        assert_ne!(code, 0, "{guard}: accepted");
        assert!(
            format!("{out}{err}").contains(expect),
            "{guard}: {out}{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdks_see_redaction_and_refusals() {
    let guard = "[guard]\nmode = \"redact\"\n[guard.actions]\naws_access_key = \"block\"";
    let (up, gw) = setup(guard).await;
    let (ok, out) = common::python_script(&gw, "guard_sdk.py", &[]).await;
    assert!(ok, "{out}");
    assert!(out.contains("6 passed, 0 failed"), "{out}");
    // Four redacted requests went out; the two refused ones never did.
    assert_eq!(up.requests().len(), 4);
    for r in up.requests() {
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("jane.doe@gmail.com") && !body.contains(AWS_KEY),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redact_responses_api_input_items() {
    let (up, gw) = setup("[guard]\nmode = \"redact\"").await;
    let body = json!({
        "model": "gpt-4o-mini",
        "instructions": format!("escalate to {EMAIL}"),
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": format!("my key {AWS_KEY}")}]}
        ]
    });
    let res = post(&gw, "/v1/responses", &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let rid = id(&res);
    let sent = String::from_utf8(up.requests()[0].body.to_vec()).unwrap();
    assert!(sent.contains("escalate to [REDACTED:email]"), "{sent}");
    assert!(sent.contains("my key [REDACTED:aws_access_key]"), "{sent}");
    let rec = record(&gw, &rid).await;
    let f = findings(&rec);
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        ("email", "/instructions")
    );
    assert_eq!(
        (f[1].0.as_str(), f[1].1.as_str(), f[1].2),
        ("aws_access_key", "/input/0/content/0/text", 7)
    );
    assert_nowhere(&gw, &[rid], &[EMAIL, AWS_KEY]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_follows_a_reload() {
    let (up, gw) = setup("").await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("key {AWS_KEY}")}]});
    assert_eq!(post(&gw, "/v1/chat/completions", &body).await.status(), 200);
    std::fs::write(gw.config_path(), config(&up, "[guard]\nmode = \"block\"")).unwrap();
    gw.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = post(&gw, "/v1/chat/completions", &body).await.status();
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "no reload:\n{}",
            gw.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A reload with a bad [guard] is refused; the running guard stays.
    std::fs::write(
        gw.config_path(),
        config(
            &up,
            "[guard]\nmode = \"log\"\n[guard.actions]\nnope = \"log\"",
        ),
    )
    .unwrap();
    gw.signal("HUP");
    while !gw.logs().contains("unknown kind `nope`") {
        assert!(
            std::time::Instant::now() < deadline,
            "no refusal:\n{}",
            gw.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(post(&gw, "/v1/chat/completions", &body).await.status(), 403);
}
