//! The official `openai` Python SDK against the gateway (which fronts a fake upstream).
//!
//! Needs a Python with the `openai` package: `SWITCHYARD_PYTHON`, else `.venv/bin/python`
//! (`./scripts/test` creates it). Missing Python fails the test rather than skipping it.

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
        "no Python with the openai SDK: run ./scripts/test (it creates .venv) or set SWITCHYARD_PYTHON"
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_chat_stream_embeddings_models() {
    let up = FakeUpstream::start().await;
    up.set_models(&["gpt-4o-mini", "text-embedding-3-small"]);
    let config = format!(
        r#"
[[providers]]
id = "fake"
kind = "openai"
base_url = "{}"
api_key = "sk-upstream"
models = ["gpt-*", "text-embedding-*"]
discover = true
"#,
        up.base_url()
    );
    let gw = Gateway::start(&config);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/openai_sdk.py");
    let python = python();
    let url = gw.at("/v1");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env("SWITCHYARD_BASE_URL", url)
            .env_remove("OPENAI_API_KEY")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .output()
            .expect("run python")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK checks failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    assert!(stdout.contains("5 passed, 0 failed"), "{stdout}");
    // What the SDK sent really went through the gateway to the upstream, with the provider's key.
    let seen = up.requests();
    assert!(seen.iter().any(|r| r.path == "/v1/embeddings"), "{seen:?}");
    let chat = seen
        .iter()
        .find(|r| r.path == "/v1/chat/completions")
        .unwrap();
    assert_eq!(chat.header("authorization"), Some("Bearer sk-upstream"));
    assert!(
        chat.header("user-agent")
            .unwrap_or_default()
            .contains("switchyard")
    );
}
