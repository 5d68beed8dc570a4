//! The binary's configuration handling: precedence, validation, env references, --check.

mod common;

use common::{Gateway, client, run_binary, temp_dir};
use serde_json::{Value, json};

fn write(config: &str) -> common::TempFile {
    common::temp_file("cli", "c.toml", config)
}

#[test]
fn check_accepts_the_shipped_configs() {
    for file in ["config/demo.toml", "config/switchyard.example.toml"] {
        let (code, out, err) = run_binary(
            &["--config", file, "--check"],
            &[("OPENAI_API_KEY", "sk-x")],
        );
        assert_eq!(code, 0, "{file}: {err}");
        assert!(out.contains("configuration OK"), "{out}");
    }
}

#[test]
fn invalid_configs_are_refused_naming_the_problem() {
    let cases = [
        ("listen = 5", "listen"),
        ("bogus_key = 1", "bogus_key"),
        (
            "[[providers]]\nid = \"a\"\nkind = \"warp\"\nmodels = [\"x\"]",
            "warp",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\nmodels = [\"x\"]",
            "base_url",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\nbase_url = \"ftp://x\"\nmodels = [\"x\"]",
            "base_url",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"mock\"\n[[providers]]\nid = \"a\"\nkind = \"mock\"",
            "used by an earlier provider",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"mock\"\nmodels = [\"gpt-[4\"]",
            "invalid model pattern `gpt-[4`",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"mock\"\nerror_status = 200",
            "error_status",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\nbase_url = \"http://x/v1\"\nmodels = [\"m\"]\nchunk_delay_ms = 3",
            "applies to kind \"mock\" only",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\nbase_url = \"http://x/v1\"\napi_key = \"${SWITCHYARD_TEST_UNSET_VAR}\"\nmodels = [\"m\"]",
            "`providers[0].api_key`: environment variable `SWITCHYARD_TEST_UNSET_VAR` is not set",
        ),
        ("backend_timeout_secs = -1", "backend_timeout_secs"),
        (
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\nbase_url = \"http://x/v1\"\nmodels = [\"m\"]\nhttp2_max_streams = 0",
            "`http2_max_streams` must be at least 1",
        ),
        (
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\nbase_url = \"http://x/v1\"\nmodels = [\"m\"]\nconnect_timeout_secs = 0",
            "`connect_timeout_secs` must be a positive number",
        ),
        (
            "[failover]\nmax_attempts = 0",
            "[failover]: `max_attempts` must be at least 1",
        ),
        ("this is not toml", "c.toml"),
    ];
    for (config, needle) in cases {
        let path = write(config);
        let (code, _, err) = run_binary(&["--config", &path, "--check"], &[]);
        assert_eq!(code, 2, "{config}: {err}");
        assert!(
            err.contains(needle),
            "{config}\n expected `{needle}` in: {err}"
        );
        assert!(err.contains("c.toml"), "the file is named: {err}");
    }
    let (code, _, err) = run_binary(
        &["--config", "/nonexistent/switchyard.toml", "--check"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn env_and_flags_override_the_file_in_order() {
    let path = write(
        "listen = \"127.0.0.1:1\"\nbackend_timeout_secs = 9\n[[providers]]\nid = \"m\"\nkind = \"mock\"",
    );
    // env beats the file: an unbindable file address is replaced by the env's.
    let (code, out, err) = run_binary(
        &["--config", &path, "--check"],
        &[("SWITCHYARD_LISTEN", "127.0.0.1:2")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 provider"), "{out}");
    let (code, _, err) = run_binary(
        &["--config", &path, "--check"],
        &[("SWITCHYARD_BACKEND_TIMEOUT_SECS", "zero")],
    );
    assert_eq!(code, 2, "a bad env value is an error: {err}");
    let (code, _, err) = run_binary(
        &["--config", &path, "--check", "--backend-timeout-secs", "3"],
        &[("SWITCHYARD_BACKEND_TIMEOUT_SECS", "zero")],
    );
    assert_eq!(code, 0, "the flag beats the env: {err}");
    // Unrelated SWITCHYARD_* variables are not config keys.
    let (code, _, err) = run_binary(
        &["--config", &path, "--check"],
        &[("SWITCHYARD_PYTHON", "/x")],
    );
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_flag_beats_env_and_file() {
    let gw = Gateway::start_with_env(
        "listen = \"127.0.0.1:1\"\n[[providers]]\nid = \"m\"\nkind = \"mock\"\nmodels = [\"mock-1\"]",
        &[("SWITCHYARD_LISTEN", "127.0.0.1:2")],
    );
    assert!(
        !gw.url.ends_with(":1") && !gw.url.ends_with(":2"),
        "{}",
        gw.url
    );
    let v: Value = client()
        .get(gw.at("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["providers"][0]["id"], "m");
}

#[test]
fn without_a_config_file_providers_come_from_the_environment() {
    let dir = temp_dir("noconf");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--check")
        .current_dir(&dir)
        .env("OPENAI_API_KEY", "sk-env")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("environment") && stdout.contains("1 provider"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_provider_mode_from_env_serves_any_model() {
    let up = switchyard_testkit::FakeUpstream::start().await;
    let dir = temp_dir("envmode");
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["--port", "0"])
            .current_dir(&dir)
            .env("OPENAI_API_KEY", "sk-env-mode")
            .env("OPENAI_BASE_URL", up.base_url())
            .env_remove("HTTP_PROXY")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("switchyard listening on ")
        .unwrap()
        .to_owned();
    let res = client()
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({"model":"any-model-at-all","messages":[{"role":"user","content":"env"}]}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {e}: {text:?}"));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: env");
    assert_eq!(
        up.requests()[0].header("authorization"),
        Some("Bearer sk-env-mode")
    );
}

#[test]
fn sigterm_stops_the_gateway_cleanly() {
    let mut gw = Gateway::start("[[providers]]\nid = \"m\"\nkind = \"mock\"");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &gw.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = gw
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(exit.success(), "{exit:?}");
}

/// A child process killed (and reaped) when dropped, even if the test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
