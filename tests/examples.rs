//! The examples build (cargo builds them for `cargo test`) and work.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on unexpected errors"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::client;
use serde_json::{Value, json};

struct Example(Child, String);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `target/<profile>/examples/<name>` on a free port.
fn start(name: &str) -> Example {
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().join("examples");
    // `cargo build --examples` writes `name`; `cargo test --all-targets` only
    // builds examples as test harnesses (`name-<hash>`), which are not the program.
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "example binary {} not built: run `cargo build --examples` first (./scripts/test does)",
        path.display()
    );
    let mut child = Command::new(path)
        .arg("0")
        .env_remove("OPENAI_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
async fn custom_gateway_serves_the_mock() {
    let ex = start("custom_gateway");
    let res = client()
        .post(format!("{}/v1/chat/completions", ex.1))
        .json(&json!({"model":"mock-1","messages":[{"role":"user","content":"composed by hand"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-provider"], "mock");
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Mock reply to: composed by hand"
    );
    let res = client()
        .post(format!("{}/v1/chat/completions", ex.1))
        .json(&json!({"model":"gpt-4o","messages":[]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "no OpenAI key: gpt-* is not routed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_mount_serves_gateway_and_own_routes() {
    let ex = start("axum_mount");
    let hello = client()
        .get(format!("{}/hello", ex.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(hello, "hello from the host app");
    let v: Value = client()
        .post(format!("{}/llm/v1/chat/completions", ex.1))
        .json(&json!({"model":"mock-1","messages":[{"role":"user","content":"mounted"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Mock reply to: mounted"
    );
    let body = r#"{"model":"gpt-x","stream":true,"messages":[]}"#;
    let res = client()
        .post(format!("{}/inspect/v1/chat/completions", ex.1))
        .header("x-source", "example-test")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["model"], "gpt-x");
    assert_eq!(v["stream"], true);
    assert_eq!(v["bytes"], body.len());
    assert_eq!(v["source"], "example-test");
    assert_eq!(v["request_id"].as_str().unwrap().len(), 26);
    // ParseLayer in front of the app's own handler rejects bad JSON in OpenAI shape.
    let res = client()
        .post(format!("{}/inspect/v1/chat/completions", ex.1))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
}
