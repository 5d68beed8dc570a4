//! Authentication through the binary: open, gateway-key and virtual-key modes,
//! header variants, keys by hash, allowed models, per-team provider keys,
//! key management in the admin API, persistence, and a brute force.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::time::Duration;

use common::{Gateway, client, every_format, fake_provider, temp_dir};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

const TEAM_A: &str = "sk-team-a-0123456789abcdef";
const TEAM_B: &str = "sk-team-b-fedcba9876543210";

fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi there"}]})
}

fn messages_body(model: &str) -> Value {
    json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi there"}]})
}

/// POSTs `body` to `path` with `headers`.
async fn send(
    gw: &Gateway,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let mut req = client().post(gw.at(path)).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn chat(gw: &Gateway, headers: &[(&str, &str)], model: &str) -> (u16, Value) {
    let res = send(gw, "/v1/chat/completions", headers, &chat_body(model)).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// GETs `path` with the admin key and returns the body as text.
async fn get_text(gw: &Gateway, path: &str) -> String {
    client()
        .get(gw.at(path))
        .header("authorization", "Bearer admin-secret-1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// GETs `path` with the admin key and parses the body as JSON.
async fn get_json(gw: &Gateway, path: &str) -> Value {
    serde_json::from_str(&get_text(gw, path).await).unwrap()
}

/// Waits until the journal holds at least `n` records; returns the newest `n` (newest first).
async fn records(gw: &Gateway, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = get_json(gw, &format!("/admin/records?limit={n}")).await;
        let rows = page["records"].as_array().cloned().unwrap_or_default();
        if rows.len() >= n || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_mode_accepts_every_header_and_refuses_in_the_clients_shape() {
    let up = FakeUpstream::start().await;
    let config = format!(
        "[auth]\nkey = \"${{GW_KEY}}\"\n{}",
        fake_provider(&up.base_url(), "api_key = \"sk-upstream\"")
    );
    let gw = Gateway::start_with_env(&config, &[("GW_KEY", "sk-gateway-secret-1")]);
    let anthropic = fake_provider(&up.base_url(), "");
    drop(anthropic);

    for headers in [
        vec![("authorization", "Bearer sk-gateway-secret-1")],
        vec![("authorization", "bearer   sk-gateway-secret-1 ")],
        vec![("x-api-key", "sk-gateway-secret-1")],
        vec![("x-goog-api-key", "sk-gateway-secret-1")],
        // An empty bearer falls back to the next header.
        vec![
            ("authorization", "Bearer "),
            ("x-api-key", "sk-gateway-secret-1"),
        ],
    ] {
        let (status, body) = chat(&gw, &headers, "gpt-4o-mini").await;
        assert_eq!(status, 200, "{headers:?}: {body}");
        assert_eq!(body["choices"][0]["message"]["content"], "echo: hi there");
    }
    // The gateway key never reaches the provider: it gets its own.
    for r in up.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer sk-upstream"));
        assert_eq!(r.header("x-api-key"), None);
        assert_eq!(r.header("x-goog-api-key"), None);
    }

    // Missing and wrong keys: 401 in OpenAI's shape...
    for headers in [
        vec![],
        vec![("authorization", "Bearer sk-gateway-secret-2")],
        vec![("authorization", "Basic c2stZ2F0ZXdheQ==")],
        vec![("x-api-key", "")],
    ] {
        let res = send(
            &gw,
            "/v1/chat/completions",
            &headers,
            &chat_body("gpt-4o-mini"),
        )
        .await;
        assert_eq!(res.status(), 401, "{headers:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["type"], "authentication_error", "{v}");
        assert_eq!(v["error"]["code"], "invalid_api_key", "{v}");
        assert!(!v.to_string().contains("sk-gateway-secret"), "{v}");
    }
    // ... and in Anthropic's.
    let res = send(
        &gw,
        "/v1/messages",
        &[("x-api-key", "sk-wrong-000000")],
        &messages_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(res.status(), 401);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    assert_eq!(v["error"]["message"], "invalid API key");
    // The model list needs the key too.
    let res = client().get(gw.at("/v1/models")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = client()
        .get(gw.at("/v1/models"))
        .header("authorization", bearer("sk-gateway-secret-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        up.requests().len(),
        5,
        "refused requests never went upstream"
    );
    // Refusals are journaled, without a key.
    let rows = records(&gw, 10).await;
    assert!(rows.iter().any(|r| r["status"] == 401), "{rows:?}");
    let rows = records(&gw, 5).await;
    assert!(
        rows.iter()
            .all(|r| r["status"] == 401 && r["key_id"].is_null()),
        "{rows:?}"
    );
    let older = get_json(&gw, "/admin/records?limit=20").await;
    let ok: Vec<_> = older["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 200)
        .collect();
    assert_eq!(ok.len(), 5);
    assert!(ok.iter().all(|r| r["key_id"] == "gateway"), "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_needs_no_key_and_passes_the_clients_own_through() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(&up.base_url(), ""));
    let (status, _) = chat(&gw, &[], "gpt-4o-mini").await;
    assert_eq!(status, 200);
    let (status, _) = chat(
        &gw,
        &[("authorization", "Bearer sk-my-own-openai-key")],
        "gpt-4o-mini",
    )
    .await;
    assert_eq!(status, 200);
    let seen = up.requests();
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(
        seen[1].header("authorization"),
        Some("Bearer sk-my-own-openai-key")
    );
}

fn virtual_keys_config(base: &str, store: &std::path::Path) -> String {
    format!(
        r#"
admin_key = "admin-secret-1"

[auth]
mode = "virtual_keys"
store = "{store}"

[[auth.keys]]
id = "team-a"
label = "Team A's app"
team = "a"
project = "alpha"
key = "${{TEAM_A_KEY}}"
models = ["gpt-*", "claude-*", "gemini-*", "ollama-*", "resp-*"]
rpm = 60
tpm = 100000
budget_daily_usd = 5.0
budget_monthly_usd = 100
provider_keys = {{ openai = "sk-team-a-openai", anthropic = "sk-team-a-anthropic", gemini = "team-a-gemini", ollama = "team-a-ollama", responses = "sk-team-a-resp" }}

[[auth.keys]]
id = "team-b"
team = "b"
key_hash = "{hash}"
models = ["gpt-4o-mini"]
{providers}
"#,
        store = store.display(),
        hash = switchyard::auth::KeyHash::of(TEAM_B),
        providers = every_format(base),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_keys_carry_identity_models_and_team_credentials() {
    let up = FakeUpstream::start().await;
    let dir = temp_dir("auth-vk");
    let gw = Gateway::start_with_env(
        &virtual_keys_config(&up.base_url(), &dir.join("keys.db")),
        &[("TEAM_A_KEY", TEAM_A)],
    );
    let admin = [("authorization", "Bearer admin-secret-1")];
    let a = bearer(TEAM_A);
    let b = bearer(TEAM_B);

    // Team A's own provider credentials reach each kind of upstream in its header.
    let cases = [
        ("gpt-4o-mini", "authorization", "Bearer sk-team-a-openai"),
        ("claude-x", "x-api-key", "sk-team-a-anthropic"),
        ("gemini-2.5-flash", "x-goog-api-key", "team-a-gemini"),
        ("ollama-llama3", "authorization", "Bearer team-a-ollama"),
        ("resp-model", "authorization", "Bearer sk-team-a-resp"),
    ];
    for (i, (model, header, value)) in cases.iter().enumerate() {
        let res = send(
            &gw,
            "/v1/chat/completions",
            &[("authorization", &a), ("x-project", "from-header")],
            &chat_body(model),
        )
        .await;
        assert_eq!(res.status(), 200, "{model}: {}", res.text().await.unwrap());
        let seen = &up.requests()[i];
        assert_eq!(
            seen.header(header),
            Some(*value),
            "{model}: {:?}",
            seen.headers
        );
        assert!(
            seen.headers.values().all(|v| !v
                .as_bytes()
                .windows(TEAM_A.len())
                .any(|w| w == TEAM_A.as_bytes())),
            "the virtual key never goes upstream"
        );
    }
    // An Anthropic client with x-api-key, too.
    let res = send(
        &gw,
        "/v1/messages",
        &[("x-api-key", TEAM_A)],
        &messages_body("claude-x"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        up.requests().last().unwrap().header("x-api-key"),
        Some("sk-team-a-anthropic")
    );

    // Team B (configured by hash) has no provider keys: the providers' own are sent.
    let (status, body) = chat(&gw, &[("authorization", &b)], "gpt-4o-mini").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        up.requests().last().unwrap().header("authorization"),
        Some("Bearer sk-openai")
    );

    // A model outside the key's globs: 403 naming the model, in each protocol.
    let n = up.requests().len();
    let (status, body) = chat(&gw, &[("authorization", &b)], "gpt-4o").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["type"], "permission_denied");
    assert_eq!(body["error"]["code"], "model_not_allowed");
    assert_eq!(
        body["error"]["message"],
        "key `team-b` may not use model `gpt-4o`"
    );
    let res = send(
        &gw,
        "/v1/messages",
        &[("x-api-key", TEAM_B)],
        &messages_body("claude-x"),
    )
    .await;
    assert_eq!(res.status(), 403);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "permission_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`claude-x`")
    );
    assert_eq!(up.requests().len(), n, "refused models never went upstream");

    // The journal: key id, team, and the key's project over x-project.
    let rows = records(&gw, 9).await;
    let by_model = |m: &str| {
        rows.iter()
            .find(|r| r["requested_model"] == m)
            .unwrap()
            .clone()
    };
    let r = by_model("ollama-llama3");
    assert_eq!(r["key_id"], "team-a");
    assert_eq!(r["team"], "a");
    assert_eq!(r["project"], "alpha");
    let r = by_model("gpt-4o");
    assert_eq!(
        (r["key_id"].as_str(), r["status"].as_u64()),
        (Some("team-b"), Some(403))
    );

    // The admin list shows both config keys, masked, with their metadata.
    let list = get_json(&gw, "/admin/keys").await;
    assert_eq!(list["mode"], "virtual_keys");
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["id"], "team-a");
    assert_eq!(keys[0]["masked"], "sk-team-…cdef");
    assert_eq!(keys[0]["source"], "config");
    assert_eq!(keys[0]["budget_daily_usd"], 5.0);
    assert_eq!(keys[0]["provider_keys"].as_array().unwrap().len(), 5);
    let text = list.to_string();
    for secret in [TEAM_A, TEAM_B, "sk-team-a-openai", "team-a-gemini"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Config keys are read-only through the API.
    let res = client()
        .delete(gw.at("/admin/keys/team-a"))
        .header(admin[0].0, admin[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let v: Value = res.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("config file"),
        "{v}"
    );
    let res = client()
        .post(gw.at("/admin/keys/team-b/rotate"))
        .header(admin[0].0, admin[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    // The admin API has its own key.
    let res = client()
        .get(gw.at("/admin/keys"))
        .header("authorization", &a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(!gw.logs().contains(TEAM_A));
}

async fn admin_json(
    method: reqwest::Method,
    gw: &Gateway,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client()
        .request(method, gw.at(path))
        .header("authorization", "Bearer admin-secret-1");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_lists_rotates_and_revokes_keys_that_persist() {
    use reqwest::Method;
    let up = FakeUpstream::start().await;
    let dir = temp_dir("auth-admin");
    let store = dir.join("keys.db");
    let config = virtual_keys_config(&up.base_url(), &store);
    let env = [("TEAM_A_KEY", TEAM_A)];
    let gw = Gateway::start_with_env(&config, &env);

    // Create: the plaintext comes back once.
    let (status, created) = admin_json(
        Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "ci-bot", "team": "c", "project": "pipelines", "models": ["gpt-*"], "rpm": 30,
                    "provider_keys": {"openai": "sk-team-c-openai"}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("sk-sy-") && secret.len() == 49,
        "{secret}"
    );
    assert_eq!(created["masked"], format!("sk-sy-…{}", &secret[45..]));
    assert_eq!(created["source"], "store");

    // It works at once, with its identity and its team's provider key.
    let (status, _) = chat(&gw, &[("authorization", &bearer(&secret))], "gpt-4o-mini").await;
    assert_eq!(status, 200);
    assert_eq!(
        up.requests().last().unwrap().header("authorization"),
        Some("Bearer sk-team-c-openai")
    );
    let (status, _) = chat(&gw, &[("authorization", &bearer(&secret))], "claude-x").await;
    assert_eq!(status, 403);
    let r = &records(&gw, 2).await[1];
    assert_eq!(
        (r["key_id"].as_str(), r["project"].as_str()),
        (Some("ci-bot"), Some("pipelines"))
    );

    // Bad requests are named; ids are unique across config and store.
    let (status, v) = admin_json(
        Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "team-a"})),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    let (status, v) = admin_json(
        Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "x", "key": "sk-chosen-by-me"})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = admin_json(
        Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "x", "models": ["gpt-["]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("`models`"),
        "{v}"
    );
    let (status, v) = admin_json(
        Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "x", "rpn": 3})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("rpn"),
        "{v}"
    );
    let (status, v) = admin_json(
        Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "x", "provider_keys": {"nope": "sk-x"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["error"]["message"],
        "`provider_keys.nope`: no provider `nope` is configured"
    );
    let (status, _) = admin_json(Method::GET, &gw, "/admin/keys/nope", None).await;
    assert_eq!(status, 404);

    // The list and the detail are masked.
    let (_, list) = admin_json(Method::GET, &gw, "/admin/keys", None).await;
    assert_eq!(list["persistent"], true);
    assert_eq!(list["keys"].as_array().unwrap().len(), 3);
    let (_, one) = admin_json(Method::GET, &gw, "/admin/keys/ci-bot", None).await;
    assert_eq!(one["team"], "c");
    assert_eq!(one["provider_keys"], json!(["openai"]));
    for v in [&list, &one] {
        let text = v.to_string();
        assert!(
            !text.contains(&secret) && !text.contains("sk-team-c-openai"),
            "{text}"
        );
    }

    // Rotate: the old secret stops working at once, the new one works.
    let (status, rotated) = admin_json(Method::POST, &gw, "/admin/keys/ci-bot/rotate", None).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(&secret))], "gpt-4o-mini")
            .await
            .0,
        401
    );
    assert_eq!(
        chat(
            &gw,
            &[("authorization", &bearer(&new_secret))],
            "gpt-4o-mini"
        )
        .await
        .0,
        200
    );

    // Survives a reload (SIGHUP) and a restart.
    gw.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !gw.logs().contains("configuration reloaded") {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload: {}",
            gw.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        chat(
            &gw,
            &[("authorization", &bearer(&new_secret))],
            "gpt-4o-mini"
        )
        .await
        .0,
        200
    );
    let (status, _) = admin_json(Method::POST, &gw, "/admin/reload", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        chat(
            &gw,
            &[("authorization", &bearer(&new_secret))],
            "gpt-4o-mini"
        )
        .await
        .0,
        200
    );
    let logs = gw.logs();
    drop(gw);
    assert!(
        !logs.contains(&secret) && !logs.contains(&new_secret),
        "{logs}"
    );
    let gw = Gateway::start_with_env(&config, &env);
    assert_eq!(
        chat(
            &gw,
            &[("authorization", &bearer(&new_secret))],
            "gpt-4o-mini"
        )
        .await
        .0,
        200
    );
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(&secret))], "gpt-4o-mini")
            .await
            .0,
        401
    );
    assert_eq!(
        up.requests().last().unwrap().header("authorization"),
        Some("Bearer sk-team-c-openai")
    );

    // Revoke: 401 at once, gone after a restart too.
    let (status, v) = admin_json(Method::DELETE, &gw, "/admin/keys/ci-bot", None).await;
    assert_eq!((status, &v["revoked"]), (200, &json!(true)));
    assert_eq!(
        chat(
            &gw,
            &[("authorization", &bearer(&new_secret))],
            "gpt-4o-mini"
        )
        .await
        .0,
        401
    );
    let (status, _) = admin_json(Method::DELETE, &gw, "/admin/keys/ci-bot", None).await;
    assert_eq!(status, 404);
    drop(gw);
    let gw = Gateway::start_with_env(&config, &env);
    assert_eq!(
        chat(
            &gw,
            &[("authorization", &bearer(&new_secret))],
            "gpt-4o-mini"
        )
        .await
        .0,
        401
    );
    let (_, list) = admin_json(Method::GET, &gw, "/admin/keys", None).await;
    assert_eq!(list["keys"].as_array().unwrap().len(), 2);
    // Neither secret is on disk.
    let raw = std::fs::read(&store).unwrap();
    for s in [&secret, &new_secret] {
        assert!(!raw.windows(s.len()).any(|w| w == s.as_bytes()));
    }
}

/// The metric series (name and labels) of a Prometheus text page.
fn series(page: &str) -> std::collections::BTreeSet<String> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brute_force_changes_nothing_and_leaks_nothing() {
    let up = FakeUpstream::start().await;
    let dir = temp_dir("auth-brute");
    let jsonl = dir.join("journal.jsonl");
    let config = format!(
        "{}\n[journal]\njsonl = \"{}\"\n",
        virtual_keys_config(&up.base_url(), &dir.join("keys.db")),
        jsonl.display()
    );
    let gw = Gateway::start_with_env(&config, &[("TEAM_A_KEY", TEAM_A)]);
    let (_, before) = admin_json(reqwest::Method::GET, &gw, "/admin/keys", None).await;
    // Warm up the series a wrong and a right key make.
    let (status, _) = chat(
        &gw,
        &[("authorization", "Bearer sk-warm-up-key")],
        "gpt-4o-mini",
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = chat(&gw, &[("authorization", &bearer(TEAM_A))], "gpt-4o-mini").await;
    assert_eq!(status, 200);
    // Their records (and metrics) are written when the answers end.
    assert_eq!(records(&gw, 2).await.len(), 2);
    let metrics_before = get_text(&gw, "/metrics").await;
    let series_before = series(&metrics_before);

    const TRIES: usize = 10_000;
    let started = std::time::Instant::now();
    let statuses = futures_util::future::join_all((0..64).map(|worker| {
        let url = gw.at("/v1/chat/completions");
        async move {
            let c = client();
            let mut counts = [0usize; 2];
            for i in (worker..TRIES).step_by(64) {
                // Every third try is a near miss of the real key.
                let key = if i % 3 == 0 {
                    format!("{}{i:04}", &TEAM_A[..TEAM_A.len() - 4])
                } else {
                    format!("sk-brute-{i:05}-{}", i * 7919)
                };
                let header = if i % 2 == 0 {
                    "authorization"
                } else {
                    "x-api-key"
                };
                let value = if header == "authorization" {
                    bearer(&key)
                } else {
                    key
                };
                let res = c
                    .post(&url)
                    .header(header, value)
                    .json(&chat_body("gpt-4o-mini"))
                    .send()
                    .await
                    .unwrap();
                counts[usize::from(res.status() == 401)] += 1;
            }
            counts
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let refused: usize = statuses.iter().map(|c| c[1]).sum();
    assert_eq!(refused, TRIES, "every wrong key got 401");
    eprintln!("{TRIES} wrong keys refused in {elapsed:?}");
    assert_eq!(up.requests().len(), 1, "no wrong key reached an upstream");

    // The right key still works; no key was added, locked or changed.
    let (status, _) = chat(&gw, &[("authorization", &bearer(TEAM_A))], "gpt-4o-mini").await;
    assert_eq!(status, 200);
    let (_, after) = admin_json(reqwest::Method::GET, &gw, "/admin/keys", None).await;
    assert_eq!(before, after);

    // Metrics: counted, and no new series per key tried.
    let metrics = get_text(&gw, "/metrics").await;
    let new: Vec<_> = series(&metrics)
        .difference(&series_before)
        .filter(|s| s.contains('{'))
        .cloned()
        .collect();
    assert!(new.is_empty(), "new labelled series: {new:?}");
    let rejected: f64 = metrics
        .lines()
        .find(|l| l.starts_with("switchyard_auth_rejected_total{reason=\"invalid\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no rejection counter in\n{metrics}"));
    assert_eq!(rejected, (TRIES + 1) as f64);

    // Nothing tried, nor the real key, in the logs, the journal or the metrics.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let journal = loop {
        let text = std::fs::read_to_string(&jsonl).unwrap_or_default();
        if text.lines().count() > TRIES + 2 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        journal.lines().count() > TRIES,
        "journal has {} lines",
        journal.lines().count()
    );
    let page = get_text(&gw, "/admin/records?limit=1000&status=401").await;
    let logs = gw.logs();
    for (what, text) in [
        ("logs", &logs),
        ("journal", &journal),
        ("records", &page),
        ("metrics", &metrics),
    ] {
        assert!(!text.contains("sk-brute"), "a tried key in the {what}");
        assert!(
            !text.contains(&TEAM_A[..TEAM_A.len() - 4]),
            "the real key (or a near miss) in the {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_keys_follow_a_reload_and_a_bad_one_is_refused() {
    let up = FakeUpstream::start().await;
    let providers = fake_provider(&up.base_url(), "");
    let with = |keys: &str| {
        format!(
            "admin_key = \"admin-secret-1\"\n[auth]\nmode = \"virtual_keys\"\n{keys}\n{providers}"
        )
    };
    let key_a = format!("[[auth.keys]]\nid = \"a\"\nkey = \"{TEAM_A}\"\n");
    let key_b =
        format!("[[auth.keys]]\nid = \"b\"\nkey = \"{TEAM_B}\"\nmodels = [\"gpt-4o-mini\"]\n");
    let gw = Gateway::start(&with(&key_a));
    let (status, created) = admin_json(
        reqwest::Method::POST,
        &gw,
        "/admin/keys",
        Some(json!({"id": "rt"})),
    )
    .await;
    assert_eq!(status, 201);
    assert!(created.get("warning").is_none());
    let rt = bearer(created["key"].as_str().unwrap());
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(TEAM_A))], "gpt-4o")
            .await
            .0,
        200
    );
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(TEAM_B))], "gpt-4o")
            .await
            .0,
        401
    );

    // Swap key a for key b and reload: a stops, b starts, the run-time key stays.
    std::fs::write(gw.config_path(), with(&key_b)).unwrap();
    let (status, v) = admin_json(reqwest::Method::POST, &gw, "/admin/reload", None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(TEAM_A))], "gpt-4o")
            .await
            .0,
        401
    );
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(TEAM_B))], "gpt-4o-mini")
            .await
            .0,
        200
    );
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(TEAM_B))], "gpt-4o")
            .await
            .0,
        403
    );
    assert_eq!(chat(&gw, &[("authorization", &rt)], "gpt-4o").await.0, 200);

    // A bad key entry is refused, naming it; the running keys keep working.
    let bad = format!("{key_b}[[auth.keys]]\nid = \"c\"\nkey_hash = \"sha256:1234\"\n");
    std::fs::write(gw.config_path(), with(&bad)).unwrap();
    let (status, v) = admin_json(reqwest::Method::POST, &gw, "/admin/reload", None).await;
    assert_eq!(status, 422, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("auth.keys[1] (`c`): `key_hash`"), "{msg}");
    // So is a config key taking the id of a run-time one.
    let clash = format!("{key_b}[[auth.keys]]\nid = \"rt\"\nkey = \"sk-clashing-key\"\n");
    std::fs::write(gw.config_path(), with(&clash)).unwrap();
    let (status, v) = admin_json(reqwest::Method::POST, &gw, "/admin/reload", None).await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("auth.keys[1] (`rt`)"),
        "{v}"
    );
    assert_eq!(
        chat(&gw, &[("authorization", &bearer(TEAM_B))], "gpt-4o-mini")
            .await
            .0,
        200
    );
    assert_eq!(chat(&gw, &[("authorization", &rt)], "gpt-4o").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_key_in_open_mode_warns() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        "admin_key = \"admin-secret-1\"\n{}",
        fake_provider(&up.base_url(), "")
    ));
    let (status, created) =
        admin_json(reqwest::Method::POST, &gw, "/admin/keys", Some(json!({}))).await;
    assert_eq!(status, 201);
    assert!(
        created["id"].as_str().unwrap().starts_with("key-"),
        "{created}"
    );
    assert!(
        created["warning"]
            .as_str()
            .unwrap()
            .contains("mode is `open`"),
        "{created}"
    );
    let (_, list) = admin_json(reqwest::Method::GET, &gw, "/admin/keys", None).await;
    assert_eq!(
        (list["mode"].as_str(), list["persistent"].as_bool()),
        (Some("open"), Some(false))
    );
}
