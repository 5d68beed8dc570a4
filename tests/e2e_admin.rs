//! End to end: the admin API's key, the live event feed, projects, stats windows.

mod common;

use std::time::Duration;

use common::{Gateway, client};
use serde_json::{Value, json};

const MOCK: &str = r#"
[[providers]]
id = "mock"
kind = "mock"
models = ["mock-*"]
chunk_delay_ms = 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_key_is_required_when_configured() {
    let gw = Gateway::start_with_env(
        &format!("admin_key = \"${{ADMIN_KEY}}\"\n{MOCK}"),
        &[("ADMIN_KEY", "adm-secret-1")],
    );
    let url = gw.at("/admin/stats");
    let res = client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    let res = client()
        .get(&url)
        .bearer_auth("adm-secret-2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client()
        .get(&url)
        .bearer_auth("adm-secret-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["totals"]["requests"], 0);
    assert_eq!(v["journal"]["dropped"], 0);
    assert!(
        !gw.logs().contains("adm-secret-1"),
        "the key is never logged"
    );
    // Metrics stay open for scrapers.
    assert_eq!(
        client()
            .get(gw.at("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_projects_and_windows() {
    let gw = Gateway::start(MOCK);
    // Loopback clients need no key when none is configured.
    let mut feed = client().get(gw.at("/admin/events")).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .header("x-project", "apollo")
        .header("x-source", "agent-7")
        .json(&json!({"model":"mock-1","stream":true,"messages":[{"role":"user","content":"hi there"}]}))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    res.text().await.unwrap();
    let mut seen = String::new();
    let mut kinds: Vec<String> = Vec::new();
    while !kinds.iter().any(|k| k == "complete") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), feed.chunk())
            .await
            .expect("feed events")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
        kinds = seen
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .map(str::to_owned)
            .collect();
    }
    assert_eq!(
        kinds,
        ["start", "routed", "first_token", "complete"],
        "{seen}"
    );
    let complete: Value = seen
        .split("event: complete\ndata: ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .map(|s| serde_json::from_str(s).unwrap())
        .unwrap();
    assert_eq!(complete["id"], id.as_str());
    assert_eq!(complete["project"], "apollo");
    assert_eq!(complete["usage"]["output_tokens"], 5);
    assert!(
        complete.get("request_body").is_none(),
        "the feed carries no bodies"
    );

    let p: Value = client()
        .get(gw.at("/admin/projects?active_since_mins=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["projects"][0]["project"], "apollo");
    assert_eq!(p["projects"][0]["requests"], 1);

    let s: Value = client()
        .get(gw.at("/admin/stats?window=1h"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["totals"]["requests"], 1);
    assert_eq!(s["by_source"][0]["key"], "agent-7");
    let s: Value = client()
        .get(gw.at("/admin/stats?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["totals"]["requests"], 0);
    let res = client()
        .get(gw.at("/admin/stats?window=soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("`window`"));
    let res = client()
        .get(gw.at("/admin/records/NOPE"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let r: Value = client()
        .get(gw.at("/admin/records?project=apollo&source=agent-7&model=mock-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["records"][0]["id"], id.as_str());
}
