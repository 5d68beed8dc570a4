//! End to end: `switchyard watch` and `switchyard top` (under tmux) against
//! a running gateway in front of a fake upstream.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Gateway, client, closed_port, fake_provider, run_binary};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Reply};

/// A fake upstream with a tag, a rule and an admin key in front of it.
fn config(base: &str) -> String {
    format!(
        r#"
admin_key = "${{TEST_ADMIN_KEY}}"

[auth]
key = "${{TEST_CLIENT_KEY}}"

[[classify.tags]]
tag = "greeting"
keywords = ["hello"]

[[rules]]
name = "greetings"
tags = ["greeting"]
to = "fake/gpt-4o-mini"

{}
"#,
        fake_provider(base, "skip_probe = true")
    )
}

const ADMIN_KEY: &str = "adm-terminal-1";
const CLIENT_KEY: &str = "sk-client-terminal-1";

fn gateway(upstream: &FakeUpstream) -> Gateway {
    Gateway::start_with_env(
        &config(&upstream.base_url()),
        &[
            ("TEST_ADMIN_KEY", ADMIN_KEY),
            ("TEST_CLIENT_KEY", CLIENT_KEY),
        ],
    )
}

/// `switchyard <args>` with its stdout and stderr read line by line.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// The config file it was started with, when it is the test's own.
    _config: Option<common::TempFile>,
}

impl Running {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.args(args)
            .env_remove("SWITCHYARD_ADMIN_KEY")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
            _config: None,
        }
    }

    /// The next stderr line containing `needle`, or a panic after 15 s.
    fn wait_stderr(&self, needle: &str) -> String {
        wait_line(&self.stderr, needle, "stderr")
    }

    fn next_stdout(&self) -> String {
        self.stdout
            .recv_timeout(Duration::from_secs(15))
            .expect("a line on stdout")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_line(rx: &mpsc::Receiver<String>, needle: &str, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return l,
            Ok(l) => seen.push(l),
            Err(_) => break,
        }
    }
    panic!("no {what} line with `{needle}`; saw {seen:#?}");
}

/// Kills `gw` (no clean shutdown); returns its port and config for [`start_again`].
fn kill(gw: &mut Gateway) -> (String, String) {
    let port = gw.url.rsplit(':').next().unwrap().to_owned();
    let config = std::fs::read_to_string(gw.config_path()).unwrap();
    gw.signal("KILL");
    gw.wait_exit(Duration::from_secs(10)).unwrap();
    (port, config)
}

/// A new gateway process on `port` with `config` and the same keys.
fn start_again(port: &str, config: &str) -> Running {
    let file = common::temp_file("restart", "switchyard.toml", config);
    let mut running = Running::spawn(
        &["--config", &file, "--port", port, "--bind", "127.0.0.1"],
        &[
            ("TEST_ADMIN_KEY", ADMIN_KEY),
            ("TEST_CLIENT_KEY", CLIENT_KEY),
        ],
    );
    running._config = Some(file);
    running
}

/// The one process whose command line starts with `args`.
fn pid_of(args: &[&str]) -> u32 {
    let want: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(&want))
        })
        .collect();
    assert_eq!(pids.len(), 1, "processes running {args:?}: {pids:?}");
    pids[0]
}

/// A chat completion through the gateway at `url`: (status, request id).
async fn chat(url: &str, model: &str, text: &str, stream: bool) -> (u16, String) {
    let res = client()
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(CLIENT_KEY)
        .json(&json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let id = res.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    res.text().await.unwrap();
    (status, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_one_line_per_request_and_json_with_json() {
    let upstream = FakeUpstream::start().await;
    let gw = gateway(&upstream);
    let env = [("SWITCHYARD_ADMIN_KEY", ADMIN_KEY)];
    let lines = Running::spawn(&["watch", "--url", &gw.url], &env);
    let json = Running::spawn(
        &[
            "watch",
            "--json",
            "--url",
            &gw.url,
            "--admin-key",
            ADMIN_KEY,
        ],
        &[],
    );
    lines.wait_stderr("watching");
    json.wait_stderr("watching");

    let (status, greeted) = chat(&gw.url, "gpt-4o-mini", "hello there", true).await;
    assert_eq!(status, 200);
    let line = lines.next_stdout();
    assert!(line.contains(&format!("  {greeted}  ")), "{line}");
    assert!(
        line.contains(
            "gpt-4o-mini → fake/gpt-4o-mini  200  tags=greeting  rule=rule:greetings  attempts=1"
        ),
        "{line}"
    );
    assert!(line.contains("tokens="), "{line}");
    let time = line.split("  ").next().unwrap();
    assert!(time.len() >= 20 && time.as_bytes()[10] == b'T', "{line}");

    upstream.push(Reply::Status {
        status: 500,
        body: json!({"error": {"message": "upstream down", "type": "server_error"}}).to_string(),
        headers: vec![],
    });
    let (status, failed) = chat(&gw.url, "gpt-4o", "plain question", false).await;
    assert_eq!(status, 500);
    let line = lines.next_stdout();
    assert!(line.contains(&failed), "{line}");
    assert!(line.contains("gpt-4o → fake/gpt-4o  500"), "{line}");
    assert!(line.contains("tags=-  rule="), "{line}");

    // A client without the gateway's key: refused, and shown as such.
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let line = lines.next_stdout();
    assert!(line.contains("  401"), "{line}");
    assert!(line.contains("tokens=0+0  cost=-"), "{line}");

    let first: Value = serde_json::from_str(&json.next_stdout()).unwrap();
    assert_eq!(first["id"], greeted.as_str());
    assert_eq!(first["tags"], json!(["greeting"]));
    assert_eq!(first["route"], "rule:greetings");
    assert_eq!(first["status"], 200);
    assert_eq!(first["protocol"], "openai");
    assert_eq!(first["response_model"], "gpt-4o-mini");
    assert!(first["ts_ms"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(first["chunks"].as_u64().unwrap() > 1, "streamed: {first}");
    assert!(first["usage"]["output_tokens"].as_u64().unwrap() > 0);
    let second: Value = serde_json::from_str(&json.next_stdout()).unwrap();
    assert_eq!(second["id"], failed.as_str());
    assert_eq!(second["status"], 500);
    assert!(second.get("request_body").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_fails_clearly_on_a_bad_key_or_no_gateway() {
    let upstream = FakeUpstream::start().await;
    let gw = gateway(&upstream);
    let (code, out, err) = run_binary(
        &["watch", "--url", &gw.url, "--admin-key", "wrong-key"],
        &[],
    );
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("refused the admin key"), "{err}");
    assert!(err.contains("SWITCHYARD_ADMIN_KEY"), "{err}");
    assert!(!err.contains("wrong-key"), "the key is not echoed: {err}");
    // No key at all: refused the same way.
    let (code, _, err) = run_binary(&["watch", "--url", &gw.url], &[]);
    assert_eq!(code, 3, "{err}");

    // `top` says so too, before taking the screen.
    let (code, _, err) = run_binary(&["top", "--url", &gw.url, "--admin-key", "wrong-key"], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("refused the admin key"), "{err}");

    let url = format!("http://127.0.0.1:{}", closed_port());
    let (code, _, err) = run_binary(&["watch", "--url", &url], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot reach the gateway"), "{err}");
    assert!(err.contains(&url), "{err}");

    let (code, _, err) = run_binary(&["watch", "--url", "ftp://x"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--url"), "{err}");
    // The gateway's own flags still run the gateway; a subcommand refuses them.
    let (code, _, err) = run_binary(&["--check", "watch"], &[]);
    assert_eq!(code, 2, "{err}");
    // The gateway was not disturbed.
    let res = client().get(gw.at("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// A private tmux server running one session, `top`, 160×48; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Whether tmux can run here; under `CI=true` a missing tmux fails the test.
    fn available() -> bool {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "tmux is missing: ./scripts/test installs it (apt-get install tmux)"
            );
            eprintln!("SKIPPED: tmux is not installed (./scripts/test installs it)");
        }
        ok
    }

    fn start(tag: &str, command: &str) -> Tmux {
        let socket = format!("switchyard-test-{}-{tag}", std::process::id());
        let tmux = Tmux { socket };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "160",
            "-y",
            "48",
            command,
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "top"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "top", "-l", text]);
    }

    /// Polls the screen until `ok` holds; panics with the screen after 20 s.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The right-hand column (stats and health) of each screen line.
fn side(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.chars().skip(96).collect())
        .collect()
}

/// The left-hand column (the feed) of each screen line.
fn feed(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.chars().take(96).collect::<String>() + "\n")
        .collect()
}

/// The fields of the stats row named `name` (`requests errors p50 tokens cost`).
fn stats_row(screen: &str, name: &str) -> Option<Vec<String>> {
    side(screen).into_iter().find_map(|l| {
        let cells: Vec<String> = l
            .trim_matches(|c: char| c == '│' || c.is_whitespace())
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        (cells.first().map(String::as_str) == Some(name)).then(|| cells[1..].to_vec())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_shows_the_feed_stats_and_chat_and_restores_the_terminal() {
    if !Tmux::available() {
        return;
    }
    let upstream = FakeUpstream::start().await;
    let mut gw = gateway(&upstream);
    let command = format!(
        "env -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy SWITCHYARD_ADMIN_KEY={ADMIN_KEY} \
         SWITCHYARD_API_KEY={CLIENT_KEY} {} top --url {} --model gpt-4o-mini; echo \"top exited with $?\"; stty -a; echo end-of-stty; sleep 600",
        env!("CARGO_BIN_EXE_switchyard"),
        gw.url
    );
    let tmux = Tmux::start("main", &command);
    tmux.wait("the feed to connect", |s| {
        s.contains("connected") && s.contains("Chat → gpt-4o-mini") && s.contains("● up")
    });

    let (_, greeted) = chat(&gw.url, "gpt-4o-mini", "hello there", true).await;
    let (_, plain) = chat(&gw.url, "gpt-4o", "plain question", false).await;
    let screen = tmux.wait("two requests in the feed and the stats", |s| {
        feed(s).contains("fake/gpt-4o ")
            && stats_row(s, "fake").is_some_and(|r| r[0] == "2" && r[1] == "0")
    });
    assert!(feed(&screen).contains("fake/gpt-4o-mini"), "{screen}");
    assert!(screen.contains("2 requests, 0 errors"), "{screen}");
    assert_eq!(stats_row(&screen, "greeting").unwrap()[0], "1", "{screen}");
    assert_eq!(stats_row(&screen, "-").unwrap()[0], "1", "{screen}");
    assert!(!greeted.is_empty());

    // Enter opens the newest request from the journal: route, prompt, answer.
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the request's detail", |s| {
        s.contains(&format!("Request {plain}")) && s.contains("echo: plain question")
    });
    for want in [
        "gpt-4o → fake/gpt-4o",
        "1. fake/gpt-4o  200",
        "── Prompt (last user message) ──",
        "plain question",
    ] {
        assert!(screen.contains(want), "{want} not in\n{screen}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait("the detail closed", |s| !s.contains("── Answer ──"));

    upstream.push(Reply::Status {
        status: 500,
        body: json!({"error": {"message": "boom", "type": "server_error"}}).to_string(),
        headers: vec![],
    });
    chat(&gw.url, "gpt-4o", "this one fails", false).await;
    tmux.wait("the stats to count the error", |s| {
        stats_row(s, "fake").is_some_and(|r| r[0] == "3" && r[1] == "1")
            && s.contains("3 requests, 1 errors")
    });

    // The chat box: Tab twice, type, Enter; the fake upstream echoes.
    tmux.keys(&["Tab", "Tab"]);
    tmux.type_text("hello from top");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the chat answer", |s| {
        s.contains("echo: hello from top") && s.contains("answered by fake/gpt-4o-mini")
    });
    assert!(screen.contains("> hello from top"), "{screen}");
    tmux.wait("the chat request in the stats", |s| {
        stats_row(s, "fake").is_some_and(|r| r[0] == "4")
    });
    // A failed chat request shows the gateway's error.
    upstream.push(Reply::Status {
        status: 500,
        body: json!({"error": {"message": "chat upstream down", "type": "server_error"}})
            .to_string(),
        headers: vec![],
    });
    tmux.type_text("second prompt");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the chat error", |s| {
        s.contains("failed: HTTP 500") && s.contains("chat upstream down")
    });
    assert!(screen.contains("> second prompt"), "{screen}");
    assert!(!screen.contains("echo: hello from top"), "{screen}");
    tmux.wait("the failed chat request in the stats", |s| {
        stats_row(s, "fake").is_some_and(|r| r[0] == "5" && r[1] == "2")
    });

    // Filter the feed: only the tagged requests stay.
    tmux.keys(&["Tab", "/"]);
    tmux.type_text("greeting");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the filtered feed", |s| {
        s.contains("filter: greeting") && !feed(s).contains("fake/gpt-4o ")
    });
    assert!(feed(&screen).contains("fake/gpt-4o-mini"), "{screen}");
    // Esc clears the filter; the arrows scroll back, Home follows again.
    tmux.keys(&["Escape"]);
    tmux.wait("the filter cleared", |s| !s.contains("filter:"));
    tmux.keys(&["Down"]);
    tmux.wait("the feed scrolled back", |s| {
        s.contains("1 newer above") && feed(s).contains("fake/gpt-4o ")
    });
    tmux.keys(&["Home"]);
    tmux.wait("the feed following again", |s| !s.contains("newer above"));

    // The gateway goes away and comes back on the same port.
    let (port, config) = kill(&mut gw);
    tmux.wait("the status bar to say disconnected", |s| {
        s.contains("disconnected") && s.contains("reconnecting in")
    });
    let again = start_again(&port, &config);
    tmux.wait("the feed to reconnect", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("connected") && !l.contains("disconnected"))
    });
    chat(
        &format!("http://127.0.0.1:{port}"),
        "gpt-4o-mini",
        "hello again",
        false,
    )
    .await;
    tmux.wait("a request after the restart", |s| s.contains("6 requests"));

    tmux.keys(&["q"]);
    let screen = tmux.wait("top to exit", |s| {
        s.contains("top exited with 0") && s.contains("end-of-stty")
    });
    let stty: Vec<&str> = screen.split_whitespace().collect();
    assert!(
        stty.contains(&"icanon") && stty.contains(&"echo"),
        "the terminal left raw mode: {screen}"
    );
    assert_eq!(
        tmux.run(&["display-message", "-p", "-t", "top", "#{alternate_on}"])
            .trim(),
        "0",
        "the alternate screen is left"
    );
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reconnects_when_the_gateway_restarts() {
    let upstream = FakeUpstream::start().await;
    let mut gw = gateway(&upstream);
    let watch = Running::spawn(&["watch", "--url", &gw.url, "--admin-key", ADMIN_KEY], &[]);
    watch.wait_stderr("watching");
    let (port, config) = kill(&mut gw);
    watch.wait_stderr("connection lost");
    watch.wait_stderr("reconnecting in");
    let _again = start_again(&port, &config);
    watch.wait_stderr("reconnected");
    let url = format!("http://127.0.0.1:{port}");
    let (status, id) = chat(&url, "gpt-4o-mini", "after the restart", false).await;
    assert_eq!(status, 200);
    let line = watch.next_stdout();
    assert!(line.contains(&id), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_restores_the_terminal_when_killed_with_sigterm() {
    if !Tmux::available() {
        return;
    }
    let upstream = FakeUpstream::start().await;
    let gw = gateway(&upstream);
    let bin = env!("CARGO_BIN_EXE_switchyard");
    let command = format!(
        "env -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy SWITCHYARD_ADMIN_KEY={ADMIN_KEY} \
         {bin} top --url {} --model m; echo \"top exited with $?\"; stty -a; echo end-of-stty; sleep 600",
        gw.url
    );
    let tmux = Tmux::start("sigterm", &command);
    tmux.wait("top to start", |s| s.contains("connected"));
    let pid = pid_of(&[bin, "top", "--url", &gw.url]);
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let screen = tmux.wait("top to exit", |s| {
        s.contains("top exited with 0") && s.contains("end-of-stty")
    });
    let stty: Vec<&str> = screen.split_whitespace().collect();
    assert!(
        stty.contains(&"icanon") && stty.contains(&"echo"),
        "the terminal left raw mode: {screen}"
    );
}
