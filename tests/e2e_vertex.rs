//! End to end: Vertex AI (Gemini and Claude models) with Application Default
//! Credentials — service-account JWT flow, gcloud user credentials, metadata
//! server — against a fake Google token endpoint that verifies the JWT.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use common::{Gateway, client, sse_data, temp_dir};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

fn config(up: &FakeUpstream, extra: &str) -> String {
    format!(
        r#"
[[providers]]
id = "vertex"
kind = "vertex"
base_url = "{}"
location = "us-central1"
models = ["gemini-*", "claude-*"]
{extra}
"#,
        up.base_url()
    )
}

fn credentials(json: &str) -> common::TempFile {
    common::temp_file("creds", "credentials.json", json)
}

async fn chat(gw: &Gateway, model: &str, stream: bool) -> reqwest::Response {
    client()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hello vertex"}]}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_jwt_flow_gemini_and_claude_with_a_cached_token() {
    let up = FakeUpstream::start().await;
    let file = credentials(&up.service_account_json());
    let gw = Gateway::start(&config(&up, &format!("credentials_file = \"{file}\"")));
    let v: Value = chat(&gw, "gemini-2.5-flash", false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "echo: hello vertex",
        "{v}"
    );
    let body = chat(&gw, "claude-sonnet-4-5", true)
        .await
        .text()
        .await
        .unwrap();
    let text: String = sse_data(&body)
        .iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| {
            serde_json::from_str::<Value>(d).unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "echo: hello vertex");
    let _ = chat(&gw, "gemini-2.5-flash", true)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(up.tokens_issued(), 1, "one token, cached across requests");
    let seen = up.requests();
    let gemini = seen
        .iter()
        .find(|r| r.path.contains("/publishers/google/"))
        .unwrap();
    assert_eq!(
        gemini.path,
        "/v1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    assert!(
        gemini
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ya29.fake-sa-")
    );
    let claude = seen
        .iter()
        .find(|r| r.path.contains("/publishers/anthropic/"))
        .unwrap();
    assert_eq!(
        claude.path,
        "/v1/projects/fake-project/locations/us-central1/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict"
    );
    let sent = claude.json();
    assert_eq!(sent["anthropic_version"], "vertex-2023-10-16");
    assert!(sent.get("model").is_none());
    assert_eq!(sent["max_tokens"], 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_client_to_claude_on_vertex_and_count_tokens() {
    let up = FakeUpstream::start().await;
    let file = credentials(&up.service_account_json());
    let gw = Gateway::start(&config(&up, &format!("credentials_file = \"{file}\"")));
    let res = client()
        .post(gw.at("/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hi there"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], "echo: hi there", "{v}");
    let res = client()
        .post(gw.at("/v1/messages/count_tokens"))
        .json(&json!({"model": "claude-x", "messages": [{"role": "user", "content": "one two three"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["input_tokens"], 3, "{v}");
    assert!(up.requests().iter().any(|r| {
        r.path
            .ends_with("/publishers/anthropic/models/count-tokens:rawPredict")
    }));
    // A Gemini model counts with Vertex's own countTokens.
    let res = client()
        .post(gw.at("/v1/messages/count_tokens"))
        .json(&json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "one two three four"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["input_tokens"], 4, "{v}");
    let r = up
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(":countTokens"))
        .unwrap();
    assert_eq!(
        r.path,
        "/v1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:countTokens"
    );
    assert_eq!(
        r.json()["contents"][0]["parts"][0]["text"],
        "one two three four"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_user_credentials_from_the_environment() {
    let up = FakeUpstream::start().await;
    let file = credentials(&up.authorized_user_json());
    let gw = Gateway::start_with_env(
        &config(&up, ""),
        &[("GOOGLE_APPLICATION_CREDENTIALS", &file)],
    );
    let v: Value = chat(&gw, "gemini-2.5-pro", false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "echo: hello vertex",
        "{v}"
    );
    let gemini = up
        .requests()
        .into_iter()
        .find(|r| r.path.contains(":generateContent"))
        .unwrap();
    assert!(
        gemini
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ya29.fake-user-")
    );
    assert!(
        gemini.path.contains("/projects/fake-project/"),
        "quota project used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_server_when_no_credentials_file() {
    let up = FakeUpstream::start().await;
    let home = temp_dir("home");
    let gw = Gateway::start_with_env(
        &config(&up, "project = \"meta-project\""),
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", ""),
            ("HOME", home.to_str().unwrap()),
            ("CLOUDSDK_CONFIG", ""),
            ("GCE_METADATA_HOST", &up.metadata_host()),
        ],
    );
    let v: Value = chat(&gw, "gemini-2.5-flash", false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "echo: hello vertex",
        "{v}"
    );
    let seen = up.requests();
    assert!(seen.iter().any(|r| r.path
        == "/computeMetadata/v1/instance/service-accounts/default/token"
        && r.header("metadata-flavor") == Some("Google")));
    let gemini = seen
        .iter()
        .find(|r| r.path.contains(":generateContent"))
        .unwrap();
    assert!(
        gemini
            .path
            .starts_with("/v1/projects/meta-project/locations/us-central1/")
    );
    assert!(
        gemini
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ya29.fake-metadata-")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_a_clear_gateway_error() {
    let up = FakeUpstream::start().await;
    let json = up.authorized_user_json().replace("fake-refresh", "revoked");
    let file = credentials(&json);
    let gw = Gateway::start(&config(&up, &format!("credentials_file = \"{file}\"")));
    let res = chat(&gw, "gemini-2.5-flash", false).await;
    assert_eq!(res.status(), 502);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "gateway_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused the credentials"),
        "{v}"
    );
    assert!(
        !up.requests()
            .iter()
            .any(|r| r.path.contains(":generateContent"))
    );
}
