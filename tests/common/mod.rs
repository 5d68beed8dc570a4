//! Harness for end-to-end tests: the real `switchyard` binary on 127.0.0.1.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A running gateway process; killed on drop.
pub struct Gateway {
    child: Child,
    pub url: String,
    dir: PathBuf,
}

/// A fresh temporary directory for one test, removed with all it holds when
/// dropped (bind it to a name: a temporary one is gone at the end of its
/// statement).
pub struct TempDir(PathBuf);

impl TempDir {
    /// The path, no longer removed on drop (for a holder that removes it itself).
    pub fn keep(mut self) -> PathBuf {
        std::mem::take(&mut self.0)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir(tag: &str) -> TempDir {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchyard-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    TempDir(dir)
}

/// A file written in a directory of its own, both removed when dropped; it
/// reads as its path.
pub struct TempFile {
    _dir: TempDir,
    path: String,
}

impl std::ops::Deref for TempFile {
    type Target = str;

    fn deref(&self) -> &str {
        &self.path
    }
}

impl std::fmt::Display for TempFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)
    }
}

/// `contents` written to `name` in a fresh temporary directory.
pub fn temp_file(tag: &str, name: &str, contents: &str) -> TempFile {
    let dir = temp_dir(tag);
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    TempFile {
        path: path.display().to_string(),
        _dir: dir,
    }
}

impl Gateway {
    /// Starts the binary with `config` (TOML) on a free port and waits for its listening line.
    pub fn start(config: &str) -> Gateway {
        Gateway::start_with_env(config, &[])
    }

    /// Like [`start`](Self::start), with extra environment variables.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Gateway {
        let dir = temp_dir("gw").keep();
        let path = dir.join("switchyard.toml");
        std::fs::write(&path, config).expect("write config");
        let log = std::fs::File::create(dir.join("gateway.log")).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.arg("--config")
            .arg(&path)
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .env("RUST_LOG", "info")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn switchyard");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(url) = line.strip_prefix("switchyard listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let logs = std::fs::read_to_string(dir.join("gateway.log")).unwrap_or_default();
                panic!("gateway did not start; its log:\n{logs}");
            }
        };
        Gateway { child, url, dir }
    }

    /// `{url}{path}`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// POSTs `body` as JSON to `path`, with a client that never uses a proxy.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        client()
            .post(self.at(path))
            .json(body)
            .send()
            .await
            .expect("request to the gateway")
    }

    /// The config file the gateway was started with (rewrite it, then reload).
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("switchyard.toml")
    }

    /// Sends `signal` (e.g. `"HUP"`, `"TERM"`) to the gateway process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Everything the gateway logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the binary to completion with `args` and returns (exit code, stdout, stderr).
pub fn run_binary(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run switchyard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A client that never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Splits an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| l.strip_prefix("data:").map(str::trim_start))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

/// The text of a streamed OpenAI chat answer: its chunks' `delta.content`
/// joined, after checking that it ends with `[DONE]`.
pub fn streamed_text(body: &str) -> String {
    let events = sse_data(body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{body}");
    events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(e).expect("a JSON chunk"))
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// The config of one `openai` provider `fake` in front of `base_url`.
pub fn fake_provider(base_url: &str, extra: &str) -> String {
    format!(
        r#"
[[providers]]
id = "fake"
kind = "openai"
base_url = "{base_url}"
models = ["gpt-*", "text-embedding-*", "davinci-*"]
discover = false
{extra}
"#
    )
}

/// One provider of every kind (openai, anthropic, gemini, ollama, openresponses ...),
/// all in front of the one fake upstream at `base`.
pub fn every_format(base: &str) -> String {
    format!(
        r#"
[[providers]]
id = "openai"
kind = "openai"
base_url = "{base}"
api_key = "sk-openai"
models = ["gpt-*"]
discover = false

[[providers]]
id = "anthropic"
kind = "anthropic"
base_url = "{base}"
api_key = "sk-ant"
models = ["claude-*"]

[[providers]]
id = "gemini"
kind = "gemini"
base_url = "{base}"
api_key = "gm-key"
models = ["gemini-*"]

[[providers]]
id = "ollama"
kind = "ollama"
base_url = "{base}"
models = ["ollama-*"]

[[providers]]
id = "responses"
kind = "openresponses"
base_url = "{base}"
api_key = "sk-resp"
models = ["resp-*"]
"#
    )
}

/// The Python the test command prepared (`SWITCHYARD_PYTHON`, else `.venv/bin/python`);
/// panics when there is none, so a missing tool fails rather than skips.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SWITCHYARD_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python venv: run ./scripts/test (it creates .venv) or set SWITCHYARD_PYTHON"
    );
    venv
}

/// Runs `tests/python/<script>` with [`python`] against `gw`
/// (`SWITCHYARD_BASE_URL`, no provider keys or proxies from the environment)
/// with `env`; returns whether it exited 0 and its stdout, then its stderr.
pub async fn python_script(gw: &Gateway, script: &str, env: &[(&str, &str)]) -> (bool, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut cmd = Command::new(python());
    cmd.arg(path)
        .env("SWITCHYARD_BASE_URL", &gw.url)
        .envs(env.iter().copied())
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("python task")
        .expect("run python");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The gateway's `x-switchyard-request-id` of a response.
pub fn request_id(res: &reqwest::Response) -> String {
    res.headers()["x-switchyard-request-id"]
        .to_str()
        .expect("request id header")
        .to_owned()
}

/// The journal's record of request `id` (`/admin/records/{id}`), once it is written.
pub async fn record(gw: &Gateway, id: &str) -> serde_json::Value {
    let url = gw.at(&format!("/admin/records/{id}"));
    for _ in 0..500 {
        let res = client().get(&url).send().await.expect("admin request");
        if res.status() == 200 {
            return res.json().await.expect("record JSON");
        }
        assert_eq!(
            res.status(),
            404,
            "{}",
            res.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no record {id} in the journal; gateway log:\n{}", gw.logs());
}
