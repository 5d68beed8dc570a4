//! The official `openai` and `anthropic` Python SDKs against each auth mode:
//! open, one gateway key, virtual keys (one from config, one created through
//! the admin API). Wrong keys raise the SDK's `AuthenticationError`, models
//! outside a key's globs its `PermissionDeniedError`.
//!
//! Needs a Python with both packages: `SWITCHYARD_PYTHON`, else `.venv/bin/python`
//! (`./scripts/test` installs them). Missing Python fails the test rather than skipping it.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::path::PathBuf;

use common::{Gateway, client, python};
use switchyard_testkit::FakeUpstream;

fn providers(base: &str) -> String {
    format!(
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
"#
    )
}

/// Runs the SDK script against `gw` and returns its output, asserting it passed.
async fn run(gw: &Gateway, mode: &str, key: &str, denied: &str) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/auth_sdk.py");
    let (python, url) = (python(), gw.url.clone());
    let env = [
        ("AUTH_MODE", mode.to_owned()),
        ("GOOD_KEY", key.to_owned()),
        ("DENIED_MODEL", denied.to_owned()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env("SWITCHYARD_BASE_URL", url)
            .envs(env)
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
        "{mode}: SDK checks failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdks_in_open_mode() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&providers(&up.base_url()));
    let out = run(&gw, "open", "sk-whatever-the-client-has", "").await;
    assert!(out.contains("5 passed, 0 failed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdks_with_a_gateway_key() {
    let up = FakeUpstream::start().await;
    let config = format!(
        "[auth]\nkey = \"${{GW_KEY}}\"\n{}",
        providers(&up.base_url())
    );
    let gw = Gateway::start_with_env(&config, &[("GW_KEY", "sk-gateway-python-1")]);
    let out = run(&gw, "key", "sk-gateway-python-1", "").await;
    assert!(out.contains("7 passed, 0 failed"), "{out}");
    // The providers got their own keys, never the gateway's.
    for r in up.requests() {
        let auth = r.header("authorization").or(r.header("x-api-key"));
        assert!(
            matches!(auth, Some("Bearer sk-oai" | "sk-ant")),
            "{:?}",
            r.headers
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdks_with_virtual_keys_from_config_and_admin_api() {
    let up = FakeUpstream::start().await;
    let config = format!(
        r#"
[auth]
mode = "virtual_keys"

[[auth.keys]]
id = "sdk"
key = "${{SDK_KEY}}"
models = ["gpt-4o*", "claude-*"]
{}"#,
        providers(&up.base_url())
    );
    let gw = Gateway::start_with_env(&config, &[("SDK_KEY", "sk-sdk-config-key-1")]);
    let out = run(&gw, "virtual_keys", "sk-sdk-config-key-1", "gpt-3.5-turbo").await;
    assert!(out.contains("9 passed, 0 failed"), "{out}");

    let created: serde_json::Value = client()
        .post(gw.at("/admin/keys"))
        .json(&serde_json::json!({"id": "sdk-runtime", "models": ["gpt-4o-mini", "claude-x"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let out = run(&gw, "virtual_keys", key, "claude-opus").await;
    assert!(out.contains("9 passed, 0 failed"), "{out}");
}
