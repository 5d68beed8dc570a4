//! End to end: the admin API for live configuration (providers, routes,
//! virtual models, the route test) through the real binary, its config file
//! on disk, and fake upstreams.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap: a failure is the test failing"
)]

mod common;

use common::{Gateway, client, run_binary};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

const KEY: &str = "adm-cfg-key";

/// Calls the admin API with the key; returns the status and the JSON answer.
async fn admin(gw: &Gateway, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client().request(method, gw.at(path)).bearer_auth(KEY);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

fn config(a: &FakeUpstream) -> String {
    format!(
        r#"# Production gateway: edited by hand and through the admin API.
admin_key = "{KEY}"

# The main upstream.
[[providers]]
id = "a"            # keep this comment
kind = "openai"
base_url = "{}"
api_key = "sk-a-secret"
models = ["gpt-*"]
discover = false
"#,
        a.base_url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_added_updated_and_deleted_live_and_on_disk() {
    let (a, b) = (FakeUpstream::start().await, FakeUpstream::start().await);
    let gw = Gateway::start(&config(&a));
    let (status, list) = admin(&gw, "GET", "/admin/providers", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["providers"][0]["id"], "a");
    assert_eq!(list["providers"][0]["api_key"], json!({"set": true}));
    assert!(!list.to_string().contains("sk-a-secret"), "{list}");

    // Add a provider and route a request to it.
    let new = json!({
        "id": "b", "kind": "openai", "base_url": b.base_url(), "api_key": "sk-b-secret",
        "models": ["claude-fake-*"], "discover": false, "headers": {"x-upstream-token": "hdr-secret"},
    });
    let (status, added) = admin(&gw, "POST", "/admin/providers", Some(new)).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["applied"], true);
    assert_eq!(added["provider"]["api_key"], json!({"set": true}));
    assert_eq!(
        added["provider"]["headers"]["x-upstream-token"],
        json!({"set": true})
    );
    let text = added.to_string();
    assert!(
        !text.contains("sk-b-secret") && !text.contains("hdr-secret"),
        "{text}"
    );
    let res = gw
        .post_json("/v1/chat/completions", &chat("claude-fake-1"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-switchyard-config-version"]
            .to_str()
            .unwrap(),
        added["version"]
    );
    let seen = b.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-b-secret"));
    assert_eq!(seen[0].header("x-upstream-token"), Some("hdr-secret"));

    // The file changed, and kept its comments.
    let path = gw.config_path();
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.starts_with("# Production gateway"), "{file}");
    assert!(
        file.contains(
            "# The main upstream.\n[[providers]]\nid = \"a\"            # keep this comment"
        ),
        "{file}"
    );
    assert!(
        file.contains("id = \"b\"") && file.contains("api_key = \"sk-b-secret\""),
        "{file}"
    );

    // Update without the key: the key stays; the models change.
    let put = json!({"id": "b", "kind": "openai", "base_url": b.base_url(), "models": ["other-*"],
                     "discover": false, "headers": {"x-upstream-token": {"set": true}}});
    let (status, updated) = admin(&gw, "PUT", "/admin/providers/b", Some(put)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["provider"]["models"], json!(["other-*"]));
    let res = gw.post_json("/v1/chat/completions", &chat("other-1")).await;
    assert_eq!(res.status(), 200);
    let last = b.requests().pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer sk-b-secret"));
    assert_eq!(last.header("x-upstream-token"), Some("hdr-secret"));
    let res = gw
        .post_json("/v1/chat/completions", &chat("claude-fake-1"))
        .await;
    assert_eq!(res.status(), 404);
    let (status, one) = admin(&gw, "GET", "/admin/providers/b", None).await;
    assert_eq!((status, &one["base_url"]), (200, &json!(b.base_url())));
    assert!(!one.to_string().contains("secret"), "{one}");
    let (_, whole) = admin(&gw, "GET", "/admin/config", None).await;
    assert_eq!(whole["persisted_to"], json!(path.display().to_string()));
    assert_eq!(whole["config"]["admin_key"], json!({"set": true}));
    assert!(
        !whole.to_string().contains("secret") && !whole.to_string().contains(KEY),
        "{whole}"
    );

    // The file is what a restart reads.
    let (code, out, err) = run_binary(&["--check", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 provider(s)"), "{out}");
    let restarted = Gateway::start(&std::fs::read_to_string(&path).unwrap());
    let res = restarted
        .post_json("/v1/chat/completions", &chat("other-2"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(b.requests().len(), 3);
    drop(restarted);

    // Delete.
    let (status, _) = admin(&gw, "DELETE", "/admin/providers/b", None).await;
    assert_eq!(status, 200);
    let res = gw.post_json("/v1/chat/completions", &chat("other-1")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(admin(&gw, "GET", "/admin/providers/b", None).await.0, 404);
    assert_eq!(
        admin(&gw, "DELETE", "/admin/providers/b", None).await.0,
        404
    );
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        !file.contains("sk-b-secret") && file.contains("# keep this comment"),
        "{file}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_changes_are_refused_with_the_field_and_change_nothing() {
    let a = FakeUpstream::start().await;
    let gw = Gateway::start(&config(&a));
    let before = std::fs::read_to_string(gw.config_path()).unwrap();
    let (_, v0) = admin(&gw, "GET", "/admin/config", None).await;
    let provider = |id: &str, kind: &str, url: &str| json!({"id": id, "kind": kind, "base_url": url, "models": ["m-*"], "discover": false});
    let cases = [
        (
            "POST",
            "/admin/providers",
            provider("b", "openai", "ftp://nope"),
            422,
            "providers[1].base_url",
        ),
        (
            "POST",
            "/admin/providers",
            provider("b", "telepathy", "http://x"),
            422,
            "providers[1].kind",
        ),
        (
            "POST",
            "/admin/providers",
            json!({"kind": "mock"}),
            422,
            "providers[1].id",
        ),
        (
            "POST",
            "/admin/providers",
            json!({"id": "b", "kind": "mock", "colour": 1}),
            422,
            "providers[1].colour",
        ),
        (
            "POST",
            "/admin/providers",
            provider("a", "openai", "http://x"),
            409,
            "id",
        ),
        (
            "PUT",
            "/admin/providers/zzz",
            provider("zzz", "openai", "http://x"),
            404,
            "",
        ),
        (
            "PUT",
            "/admin/providers/a",
            provider("a2", "openai", "http://x"),
            422,
            "providers[0].id",
        ),
        (
            "POST",
            "/admin/routes",
            json!({"name": "r", "model": "x", "to": "nope/m"}),
            422,
            "rules[0].to",
        ),
        (
            "POST",
            "/admin/routes",
            json!({"name": "r", "model": "x"}),
            422,
            "rules[0].to",
        ),
        (
            "POST",
            "/admin/routes",
            json!({"model": "x", "to": "a/m"}),
            422,
            "rules[0].name",
        ),
        (
            "POST",
            "/admin/models",
            json!({"name": "v", "targets": ["ghost/m"]}),
            422,
            "virtual_models.v.targets",
        ),
        (
            "POST",
            "/admin/models",
            json!({"name": "v", "targets": ["a/m"], "strategy": "psychic"}),
            422,
            "virtual_models.v.strategy",
        ),
        ("DELETE", "/admin/models/none", json!({}), 404, ""),
    ];
    for (method, path, body, status, field) in cases {
        let (got, v) = admin(&gw, method, path, Some(body.clone())).await;
        assert_eq!(got, status, "{method} {path} {body}: {v}");
        if !field.is_empty() {
            assert_eq!(v["error"]["field"], field, "{method} {path} {body}: {v}");
        }
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    // A cycle of virtual models.
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/models",
        Some(json!({"name": "va", "targets": ["a/gpt-1"]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/models",
        Some(json!({"name": "vb", "targets": ["va"]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = admin(
        &gw,
        "PUT",
        "/admin/models/va",
        Some(json!({"targets": ["vb"]})),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("cycle"),
        "{v}"
    );
    assert_eq!(v["error"]["field"], "virtual_models.va.targets", "{v}");
    // Deleting a provider a rule names is refused too.
    let (s, v) = admin(&gw, "DELETE", "/admin/providers/a", None).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "virtual_models.va.targets", "{v}");
    for (s, v) in [
        admin(&gw, "DELETE", "/admin/models/vb", None).await,
        admin(&gw, "DELETE", "/admin/models/va", None).await,
    ] {
        assert_eq!(s, 200, "{v}");
    }
    // Refusals left the file and the serving configuration as they were
    // (the two models came and went through the API).
    assert_eq!(
        std::fs::read_to_string(gw.config_path())
            .unwrap()
            .trim_end(),
        before.trim_end()
    );
    let (_, v1) = admin(&gw, "GET", "/admin/providers", None).await;
    assert_eq!(v1["providers"].as_array().unwrap().len(), 1);
    assert_ne!(
        v0["version"], v1["version"],
        "the model changes were applied"
    );
    // Bad requests, and no key.
    let res = client()
        .post(gw.at("/admin/providers"))
        .bearer_auth(KEY)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = client()
        .post(gw.at("/admin/providers"))
        .json(&provider("c", "openai", "http://x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(admin(&gw, "GET", "/admin/providers/c", None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let (a, b) = (FakeUpstream::start().await, FakeUpstream::start().await);
    let gw = Gateway::start(&config(&a));
    let before = std::fs::read_to_string(gw.config_path()).unwrap();
    let (_, v0) = admin(&gw, "GET", "/admin/config", None).await;
    let new = json!({"id": "b", "kind": "openai", "base_url": b.base_url(), "models": ["dry-*"], "discover": false});
    let (s, v) = admin(&gw, "POST", "/admin/providers?dry_run=true", Some(new)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["applied"].clone(), v["dry_run"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(
        v["provider"]["models"],
        json!(["dry-*"]),
        "the answer shows the result"
    );
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "providers.b: added"),
        "{v}"
    );
    let (s, v) = admin(&gw, "DELETE", "/admin/providers/a?dry_run=true", None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/routes?dry_run=true",
        Some(json!({"name": "r", "to": "a/gpt-9"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = admin(
        &gw,
        "POST",
        "/admin/providers?dry_run=true",
        Some(json!({"id": "x", "kind": "openai"})),
    )
    .await;
    assert_eq!(s, 422, "a dry run validates");
    assert_eq!(std::fs::read_to_string(gw.config_path()).unwrap(), before);
    let (_, v1) = admin(&gw, "GET", "/admin/config", None).await;
    assert_eq!(v0, v1);
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat("dry-1"))
            .await
            .status(),
        404
    );
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat("gpt-1"))
            .await
            .status(),
        200
    );
    assert!(b.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_placed_and_the_route_test_matches_real_routing() {
    let (a, b) = (FakeUpstream::start().await, FakeUpstream::start().await);
    let gw = Gateway::start(&format!(
        r#"admin_key = "{KEY}"
[[providers]]
id = "up1"
kind = "openai"
base_url = "{}"
models = ["gpt-*"]
discover = false

[[providers]]
id = "up2"
kind = "openai"
base_url = "{}"
models = ["big-*"]
discover = false

[profiles.short]
max = {{ max_tokens = 10 }}

# Cheap traffic.
[[rules]]
name = "cheap"
model_prefix = "x-"
to = "up1/small"
"#,
        a.base_url(),
        b.base_url()
    ));
    let rule = json!({"name": "code", "model_prefix": "x-", "tags": ["code"], "to": "up2/big-1"});
    let (s, v) = admin(&gw, "POST", "/admin/routes?position=0", Some(rule)).await;
    assert_eq!(s, 201, "{v}");
    let (_, list) = admin(&gw, "GET", "/admin/routes", None).await;
    let names: Vec<&str> = list["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["code", "cheap"]);
    assert_eq!(list["routes"][0]["position"], 0);
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/models",
        Some(json!({"name": "fast", "targets": ["up1/gpt-fast"], "profile": "short"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        admin(&gw, "GET", "/admin/models/fast", None).await.1["targets"],
        json!(["up1/gpt-fast"])
    );

    let code = json!({"model": "x-1", "messages": [{"role": "user", "content": "Fix:\n```rust\nfn main() {}\n```"}]});
    let cases = [
        (code, "code", "up2", "big-1"),
        (chat("x-1"), "cheap", "up1", "small"),
    ];
    for (body, rule, provider, model) in cases {
        let test =
            json!({"endpoint": "/v1/chat/completions", "headers": {"x-source": "t"}, "body": body});
        let (s, v) = admin(&gw, "POST", "/admin/route/test", Some(test)).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["routed"], true, "{v}");
        assert_eq!(v["parse"]["model"], "x-1");
        assert_eq!(v["route"]["rule"], format!("rule:{rule}"), "{v}");
        assert_eq!(v["route"]["candidates"][0]["provider"], provider, "{v}");
        assert_eq!(v["route"]["candidates"][0]["model"], model, "{v}");
        if rule == "code" {
            assert!(
                v["classify"]["tags"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("code")),
                "{v}"
            );
        }
        let tried = match rule {
            "code" => json!([{"rule": "rule:code", "matched": true}]),
            _ => {
                json!([{"rule": "rule:code", "matched": false}, {"rule": "rule:cheap", "matched": true}])
            }
        };
        assert_eq!(v["route"]["tried"], tried, "{v}");
        let res = gw.post_json("/v1/chat/completions", &body).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["x-switchyard-route"].to_str().unwrap(),
            v["route"]["rule"]
        );
        let up = if provider == "up1" { &a } else { &b };
        let sent: Value = serde_json::from_slice(&up.requests().pop().unwrap().body).unwrap();
        assert_eq!(sent["model"], model);
    }
    // Params of the first candidate, as the real request then gets them.
    let body = json!({"model": "fast", "max_tokens": 500, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/route/test",
        Some(json!({"endpoint": "/v1/chat/completions", "body": body})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["parse"]["stream"], true);
    assert_eq!(v["route"]["rule"], "virtual:fast");
    assert_eq!(v["route"]["candidates"][0]["profile"], "short", "{v}");
    assert_eq!(v["params"]["changed"], json!(["max_tokens"]), "{v}");
    assert_eq!(v["params"]["body"]["max_tokens"], 10, "{v}");
    let res = gw.post_json("/v1/chat/completions", &body).await;
    assert_eq!(res.status(), 200);
    let _ = res.text().await;
    let sent: Value = serde_json::from_slice(&a.requests().pop().unwrap().body).unwrap();
    assert_eq!(sent["max_tokens"], 10);
    // An unknown model: the same 404 message the client gets.
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/route/test",
        Some(json!({"endpoint": "/v1/chat/completions", "body": chat("nobody-1")})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["routed"], false);
    assert_eq!(v["error"]["status"], 404, "{v}");
    let res = gw
        .post_json("/v1/chat/completions", &chat("nobody-1"))
        .await;
    assert_eq!(res.status(), 404);
    let real: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["message"], real["error"]["message"]);
    // Bad tests.
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/route/test",
        Some(json!({"endpoint": "/v1/nope", "body": {}})),
    )
    .await;
    assert_eq!((s, v["error"]["field"].clone()), (422, json!("endpoint")));
    assert_eq!(
        admin(&gw, "POST", "/admin/route/test", Some(json!({"body": {}})))
            .await
            .0,
        400
    );
    // Move a rule; rename it; delete it.
    let (s, v) = admin(
        &gw,
        "PUT",
        "/admin/routes/code?position=1",
        Some(json!({"name": "code", "model_prefix": "x-", "tags": ["code"], "to": "up2/big-2"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, list) = admin(&gw, "GET", "/admin/routes", None).await;
    assert_eq!(list["routes"][1]["name"], "code");
    assert_eq!(list["routes"][1]["to"], "up2/big-2");
    let file = std::fs::read_to_string(gw.config_path()).unwrap();
    assert!(
        file.find("name = \"cheap\"").unwrap() < file.find("name = \"code\"").unwrap(),
        "{file}"
    );
    assert!(
        file.contains("# Cheap traffic.\n[[rules]]\nname = \"cheap\""),
        "{file}"
    );
    assert_eq!(
        admin(
            &gw,
            "PUT",
            "/admin/routes/code",
            Some(json!({"name": "cheap", "to": "up1/x"}))
        )
        .await
        .0,
        409
    );
    // A PUT without `name` keeps it.
    let (s, v) = admin(
        &gw,
        "PUT",
        "/admin/routes/code",
        Some(json!({"tags": ["code"], "to": "up2/big-3"})),
    )
    .await;
    assert_eq!((s, v["route"]["name"].clone()), (200, json!("code")), "{v}");
    assert_eq!(
        admin(&gw, "GET", "/admin/routes/code", None).await.1["to"],
        "up2/big-3"
    );
    assert_eq!(
        admin(&gw, "DELETE", "/admin/routes/code", None).await.0,
        200
    );
    assert_eq!(admin(&gw, "GET", "/admin/routes/code", None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_and_sighup_lose_nothing() {
    let a = FakeUpstream::start().await;
    let gw = Gateway::start(&config(&a));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let body = json!({"id": format!("m{i}"), "kind": "mock", "models": [format!("par{i}-*")]});
        let (url, method) = (gw.at("/admin/providers"), reqwest::Method::POST);
        tasks.push(tokio::spawn(async move {
            client()
                .request(method, url)
                .bearer_auth(KEY)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
        if i % 2 == 0 {
            gw.signal("HUP");
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    gw.signal("HUP");
    let (_, list) = admin(&gw, "GET", "/admin/providers", None).await;
    assert_eq!(list["providers"].as_array().unwrap().len(), 9, "{list}");
    let file = std::fs::read_to_string(gw.config_path()).unwrap();
    for i in 0..8 {
        assert!(file.contains(&format!("id = \"m{i}\"")), "{file}");
        let res = gw
            .post_json("/v1/chat/completions", &chat(&format!("par{i}-x")))
            .await;
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_test_runs_auth_and_the_config_view_hides_every_secret() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        r#"admin_key = "{KEY}"

[auth]
mode = "virtual_keys"
key = "gw-key-123456"

[[auth.keys]]
id = "team1"
key = "vk-team1-secret"
models = ["gpt-*"]
provider_keys = {{ a = "pk-team1-secret" }}

[[providers]]
id = "a"
kind = "openai"
base_url = "{}"
models = ["gpt-*"]
discover = false

[[rules]]
name = "team-rule"
callers = ["team1"]
to = "a/gpt-team"
"#,
        up.base_url()
    ));
    let test = |auth: Option<&str>| {
        let mut headers = json!({});
        if let Some(k) = auth {
            headers["authorization"] = json!(format!("Bearer {k}"));
        }
        json!({"endpoint": "/v1/chat/completions", "headers": headers, "body": chat("gpt-1")})
    };
    let (s, v) = admin(&gw, "POST", "/admin/route/test", Some(test(None))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["routed"].clone(),
            v["error"]["layer"].clone(),
            v["error"]["status"].clone()
        ),
        (json!(false), json!("auth"), json!(401)),
        "{v}"
    );
    let (_, v) = admin(
        &gw,
        "POST",
        "/admin/route/test",
        Some(test(Some("vk-team1-secret"))),
    )
    .await;
    assert_eq!(v["route"]["rule"], "rule:team-rule", "{v}");
    assert_eq!(v["route"]["candidates"][0]["model"], "gpt-team", "{v}");
    let (_, v) = admin(
        &gw,
        "POST",
        "/admin/route/test",
        Some(test(Some("gw-key-123456"))),
    )
    .await;
    assert_eq!(v["routed"], true, "{v}");
    assert_ne!(v["route"]["rule"], "rule:team-rule", "{v}");
    assert_eq!(v["route"]["candidates"][0]["model"], "gpt-1", "{v}");
    // A model the key may not use: auth refuses (403).
    let mut denied = test(Some("vk-team1-secret"));
    denied["body"]["model"] = json!("claude-1");
    let (_, v) = admin(&gw, "POST", "/admin/route/test", Some(denied)).await;
    assert_eq!(
        (v["error"]["layer"].clone(), v["error"]["status"].clone()),
        (json!("auth"), json!(403)),
        "{v}"
    );
    // The real requests go the same ways.
    let real = |key: &'static str| {
        client()
            .post(gw.at("/v1/chat/completions"))
            .bearer_auth(key)
            .json(&chat("gpt-1"))
            .send()
    };
    let res = real("vk-team1-secret").await.unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "rule:team-rule");
    let sent = up.requests().pop().unwrap();
    assert_eq!(sent.header("authorization"), Some("Bearer pk-team1-secret"));
    let res = real("gw-key-123456").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()["x-switchyard-route"], "rule:team-rule");

    let (s, v) = admin(&gw, "GET", "/admin/config", None).await;
    assert_eq!(s, 200);
    let text = v.to_string();
    for secret in [
        KEY,
        "gw-key-123456",
        "vk-team1-secret",
        "pk-team1-secret",
        "***",
    ] {
        assert!(!text.contains(secret), "`{secret}` in {text}");
    }
    assert_eq!(v["config"]["auth"]["key"], json!({"set": true}));
    assert_eq!(v["config"]["auth"]["keys"][0]["key"], json!({"set": true}));
    assert_eq!(
        v["config"]["auth"]["keys"][0]["provider_keys"]["a"],
        json!({"set": true})
    );
    assert_eq!(v["source"], "file");
    assert!(v["version"].as_str().unwrap().starts_with("1-"), "{v}");
}

/// A gateway started without `--config` in its own directory; killed (and the directory removed) on drop.
struct NoFile(std::process::Child, String, std::path::PathBuf);

impl Drop for NoFile {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.2);
    }
}

fn start_without_file(upstream: &str) -> NoFile {
    start_in(&common::temp_dir("nofile").keep(), upstream)
}

/// Starts the binary in `dir` without `--config`.
fn start_in(dir: &std::path::Path, upstream: &str) -> NoFile {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .current_dir(dir)
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .env("OPENAI_BASE_URL", upstream)
        .env_remove("OPENAI_API_KEY")
        .env_remove("SWITCHYARD_ADMIN_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(u) = line.strip_prefix("switchyard listening on ") {
            break u.to_owned();
        }
    };
    NoFile(child, url, dir.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_config_file_changes_are_refused_and_say_why() {
    let up = FakeUpstream::start().await;
    let gw = start_without_file(&up.base_url());
    // No admin_key: this machine's clients may use the admin API.
    let get = client()
        .get(format!("{}/admin/config", gw.1))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let v: Value = get.json().await.unwrap();
    assert_eq!(
        (v["source"].clone(), v["persisted_to"].clone()),
        (json!("environment"), Value::Null),
        "{v}"
    );
    assert_eq!(v["config"]["providers"][0]["id"], "openai");
    let body = json!({"id": "m", "kind": "mock", "models": ["m-*"]});
    for dry_run in ["", "?dry_run=true"] {
        let res = client()
            .post(format!("{}/admin/providers{dry_run}", gw.1))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 409);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["type"], "no_config_file", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("--config"),
            "{v}"
        );
    }
    let res = client()
        .delete(format!("{}/admin/providers/openai", gw.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    // Reads and the route test work all the same.
    let test = json!({"endpoint": "/v1/chat/completions", "body": chat("gpt-4o-mini")});
    let res = client()
        .post(format!("{}/admin/route/test", gw.1))
        .json(&test)
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["route"]["candidates"][0]["provider"], "openai", "{v}");
    assert!(
        up.requests()
            .iter()
            .all(|r| r.path != "/v1/chat/completions"),
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edit_reloaded_by_sighup_and_an_api_write_both_stay() {
    let a = FakeUpstream::start().await;
    let gw = Gateway::start(&config(&a));
    let path = gw.config_path();
    for round in 0..5 {
        // By hand: append a provider, then SIGHUP; meanwhile the API adds another.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!("\n# hand {round}\n[[providers]]\nid = \"hand{round}\"\nkind = \"mock\"\nmodels = [\"hand{round}-*\"]\n"));
        std::fs::write(&path, text).unwrap();
        let api = json!({"id": format!("api{round}"), "kind": "mock", "models": [format!("api{round}-*")]});
        let post = admin(&gw, "POST", "/admin/providers", Some(api));
        gw.signal("HUP");
        let (s, v) = post.await;
        assert_eq!(s, 201, "{v}");
    }
    gw.signal("HUP");
    let file = std::fs::read_to_string(&path).unwrap();
    for round in 0..5 {
        assert!(
            file.contains(&format!(
                "# hand {round}\n[[providers]]\nid = \"hand{round}\""
            )),
            "{file}"
        );
        assert!(file.contains(&format!("id = \"api{round}\"")), "{file}");
    }
    // The last reload has run when a model it added answers.
    let mut served = 0;
    for _ in 0..100 {
        let (_, list) = admin(&gw, "GET", "/admin/providers", None).await;
        served = list["providers"].as_array().unwrap().len();
        if served == 11 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(served, 11);
    for round in 0..5 {
        for who in ["hand", "api"] {
            let res = gw
                .post_json("/v1/chat/completions", &chat(&format!("{who}{round}-x")))
                .await;
            assert_eq!(res.status(), 200, "{who}{round}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_placed_first_serves_the_models_it_shares() {
    let (a, b) = (FakeUpstream::start().await, FakeUpstream::start().await);
    let gw = Gateway::start(&config(&a));
    let new = json!({"id": "b", "kind": "openai", "base_url": b.base_url(), "models": ["gpt-*"], "discover": false});
    let (s, v) = admin(&gw, "POST", "/admin/providers?position=0", Some(new)).await;
    assert_eq!(s, 201, "{v}");
    let (_, list) = admin(&gw, "GET", "/admin/providers", None).await;
    assert_eq!(list["providers"][0]["id"], "b");
    assert_eq!(list["providers"][1]["id"], "a");
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat("gpt-1"))
            .await
            .status(),
        200
    );
    assert_eq!((a.requests().len(), b.requests().len()), (0, 1));
    // Moved last again: `a` serves.
    let put = json!({"id": "b", "kind": "openai", "base_url": b.base_url(), "models": ["gpt-*"], "discover": false, "position": 5});
    let (s, v) = admin(&gw, "PUT", "/admin/providers/b", Some(put)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat("gpt-1"))
            .await
            .status(),
        200
    );
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));
    let file = std::fs::read_to_string(gw.config_path()).unwrap();
    assert!(
        file.find("id = \"a\"").unwrap() < file.find("id = \"b\"").unwrap(),
        "{file}"
    );
    let (s, v) = admin(
        &gw,
        "POST",
        "/admin/providers",
        Some(json!({"id": "c", "kind": "mock", "position": "first"})),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].clone()),
        (422, json!("position")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchyard_toml_in_the_working_directory_is_the_file_written() {
    let dir = common::temp_dir("cwd");
    std::fs::write(
        dir.join("switchyard.toml"),
        "# here\n[[providers]]\nid = \"m\"\nkind = \"mock\"\nmodels = [\"m-*\"]\n",
    )
    .unwrap();
    let gw = start_in(&dir, "http://127.0.0.1:9");
    let absolute = std::fs::canonicalize(dir.join("switchyard.toml")).unwrap();
    let v: Value = client()
        .get(format!("{}/admin/config", gw.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["persisted_to"],
        json!(absolute.display().to_string()),
        "{v}"
    );
    let body = json!({"id": "n", "kind": "mock", "models": ["n-*"]});
    let res = client()
        .post(format!("{}/admin/providers", gw.1))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let file = std::fs::read_to_string(&absolute).unwrap();
    assert!(
        file.starts_with("# here\n") && file.contains("id = \"n\""),
        "{file}"
    );
}
