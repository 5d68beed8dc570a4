//! The official `anthropic` and `openai` Python SDKs through the gateway, each
//! against the other vendor's upstream format (translation both ways).
//!
//! Needs a Python with both packages: `SWITCHYARD_PYTHON`, else `.venv/bin/python`
//! (`./scripts/test` installs them). Missing Python fails the test rather than skipping it.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::path::PathBuf;

use common::Gateway;
use switchyard_testkit::FakeUpstream;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SWITCHYARD_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the SDKs: run ./scripts/test or set SWITCHYARD_PYTHON"
    );
    venv
}

async fn run(script: &str, url: String) -> String {
    let up = FakeUpstream::start().await;
    let config = format!(
        r#"
[[providers]]
id = "claude"
kind = "anthropic"
base_url = "{base}"
api_key = "sk-ant"
models = ["claude-*"]

[[providers]]
id = "oai"
kind = "openai"
base_url = "{base}"
api_key = "sk-oai"
models = ["gpt-*"]
discover = false
"#,
        base = up.base_url()
    );
    let gw = Gateway::start(&config);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let python = python();
    let url = gw.at(&url);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env("SWITCHYARD_BASE_URL", url)
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK checks failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    assert!(!up.requests().is_empty());
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_python_sdk_against_openai_and_anthropic_upstreams() {
    let out = run("anthropic_sdk.py", String::new()).await;
    assert!(out.contains("7 passed, 0 failed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_against_anthropic_upstream_and_responses_api() {
    let out = run("openai_sdk_translated.py", "/v1".into()).await;
    assert!(out.contains("5 passed, 0 failed"), "{out}");
}
