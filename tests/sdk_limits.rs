//! The official `openai` and `anthropic` Python SDKs against rate limits and
//! budgets: a budget refusal raises `RateLimitError` without the SDK's
//! retries (`x-should-retry: false`), a rate limit carries `Retry-After`, and
//! a stream cut at the budget raises the SDK's error mid-iteration.
//!
//! Needs a Python with both packages: `SWITCHYARD_PYTHON`, else `.venv/bin/python`
//! (`./scripts/test` installs them). Missing Python fails the test rather than skipping it.

mod common;

use common::{Gateway, client, fake_provider, python_script};
use switchyard_testkit::FakeUpstream;

const BUDGET: &str = "sk-limits-budget-0001";
const RPM: &str = "sk-limits-rpm-000001";
const CUT_A: &str = "sk-limits-cut-a-0001";
const CUT_B: &str = "sk-limits-cut-b-0001";

fn keys() -> String {
    let key = |id: &str, key: &str, quota: &str| {
        format!("[[auth.keys]]\nid = \"{id}\"\nkey = \"{key}\"\n{quota}\n\n")
    };
    // gpt-4o-mini: $0.60 / M output tokens; 1000 of them ($0.0006) do not fit $0.0005.
    String::from("[auth]\nmode = \"virtual_keys\"\n\n")
        + &key("budget", BUDGET, "budget_daily_usd = 0.0005")
        + &key("rpm", RPM, "rpm = 2")
        + &key("cut-a", CUT_A, "budget_daily_usd = 0.0002")
        + &key("cut-b", CUT_B, "budget_daily_usd = 0.0002")
        + "[limits]\ncutoff_streams = true\ndefault_max_tokens = 1\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdks_meet_limits_and_budgets() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&(fake_provider(&up.base_url(), "") + &keys()));
    let env = [
        ("BUDGET_KEY", BUDGET),
        ("RPM_KEY", RPM),
        ("CUTOFF_KEY_A", CUT_A),
        ("CUTOFF_KEY_B", CUT_B),
    ];
    let (ok, out) = python_script(&gw, "limits_sdk.py", &env).await;
    assert!(
        ok && out.contains("5 passed, 0 failed"),
        "SDK checks failed:\n{out}\ngateway log:\n{}",
        gw.logs()
    );
    // Each budget refusal reached the gateway once: the SDKs did not retry.
    let metrics = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refusals: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("switchyard_limit_refusals_total{"))
        .collect();
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("reason=\"budget\"") && l.ends_with(" 2")),
        "{refusals:?}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("switchyard_limit_stream_cutoffs_total") && l.ends_with(" 2")),
        "{metrics}"
    );
}
