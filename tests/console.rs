//! End to end: the web console in a real headless Chromium.
//!
//! Starts the real binary (one gateway with an admin key, one without) in
//! front of fake upstreams, then runs `tests/console/console.test.mjs` with
//! Node and `playwright-core` against them. Screenshots of every page, in
//! English and Chinese, go to `target/console-screenshots/`.
//!
//! Needs Node, Debian's `chromium` and `npm ci` in `tests/console` (the test
//! command installs them). Without them the test says so and passes, except
//! under `CI=true`, where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Gateway, client};
use switchyard_testkit::FakeUpstream;

const KEY: &str = "console-admin-key-1";

/// The fake upstream as `fake` (the journal, failover and routing need no
/// more), a mock, a broken mock and a virtual model that fails over.
fn config(fake: &str) -> String {
    let mut config = common::fake_provider(fake, "skip_probe = true");
    config.push_str(
        r#"
[[providers]]
id = "mock"
kind = "mock"
models = ["mock-1"]
chunk_delay_ms = 1

[[providers]]
id = "broken"
kind = "mock"
models = ["broken-1"]
error_every = 1
error_status = 503

[virtual_models.resilient]
targets = ["broken/broken-1", "fake/gpt-4o-mini"]
description = "fails over from a broken mock to the fake upstream"
"#,
    );
    config
}

/// The browser, or why the test cannot run.
fn prerequisites(dir: &Path) -> Result<PathBuf, String> {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    if !chromium.exists() {
        return Err(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node is missing (Node 20 or newer)".to_owned());
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Err(format!(
            "playwright-core is not installed (npm ci in {})",
            dir.display()
        ));
    }
    Ok(chromium)
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("console-screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    let chromium = match prerequisites(&dir) {
        Ok(c) => c,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("the console test cannot run under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED the_console_in_a_real_browser: {why}");
            return;
        }
    };
    let fake = FakeUpstream::start().await;
    let spare = FakeUpstream::start().await;
    let gw = Gateway::start_with_env(
        &format!(
            "admin_key = \"${{ADMIN_KEY}}\"\n{}",
            config(&fake.base_url())
        ),
        &[("ADMIN_KEY", KEY)],
    );
    let open = Gateway::start(&config(&fake.base_url()));
    let shots = screenshots_dir();

    let mut cmd = Command::new("node");
    cmd.arg("--test-reporter=spec")
        .arg("--test")
        .arg("console.test.mjs")
        .current_dir(&dir)
        .env("CONSOLE_URL", &gw.url)
        .env("CONSOLE_KEY", KEY)
        .env("CONSOLE_OPEN_URL", &open.url)
        .env("SPARE_UPSTREAM", spare.base_url())
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium);
    // Node's fetch must reach 127.0.0.1 directly.
    for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        cmd.env_remove(proxy).env_remove(proxy.to_lowercase());
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser tests failed:\n{stdout}\n{stderr}\n--- gateway log ---\n{}",
        gw.logs()
    );
    println!("{stdout}");

    // The provider added through the console answered for real, with the key
    // given in the form, before and after an edit that left the key alone.
    let chats: Vec<_> = spare
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/chat/completions"))
        .collect();
    assert_eq!(
        chats.len(),
        2,
        "the added provider's upstream got both requests"
    );
    for r in &chats {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer sk-console-secret-0123456789")
        );
    }
    // Every page, both languages.
    for page in [
        "dashboard",
        "requests",
        "usage",
        "config-providers",
        "errors",
    ] {
        for lang in ["en", "zh"] {
            let shot = shots.join(format!("{lang}-{page}.png"));
            assert!(shot.exists(), "{} was written", shot.display());
        }
    }
    // The admin API stays closed to callers without the key.
    let res = client().get(gw.at("/admin/records")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // The usage page's team breakdown: every request in some team group.
    let stats: serde_json::Value = client()
        .get(gw.at("/admin/stats?window=1h"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let teams = stats["by_team"].as_array().expect("by_team");
    let in_teams: i64 = teams.iter().filter_map(|g| g["requests"].as_i64()).sum();
    assert!(in_teams > 10, "{stats}");
    assert_eq!(in_teams, stats["totals"]["requests"].as_i64().unwrap());
}
