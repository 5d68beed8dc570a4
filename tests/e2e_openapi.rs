//! End to end: `GET /openapi.json` is a valid OpenAPI document that lists the
//! whole HTTP surface, and every admin operation it lists answers as
//! documented (checked by `tests/python/openapi_check.py` with
//! `openapi-spec-validator` and `jsonschema`, which `./scripts/test` installs).

mod common;

use std::path::PathBuf;

use common::{Gateway, client, python};
use serde_json::{Value, json};

const KEY: &str = "adm-openapi-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_the_gateway_and_every_admin_path_answers_as_documented() {
    let gw = Gateway::start(&format!(
        r#"admin_key = "{KEY}"

[[providers]]
id = "mock"
kind = "mock"
models = ["mock-*"]
chunk_delay_ms = 1
"#
    ));
    // No key needed to read it.
    let res = client().get(gw.at("/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/responses",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/models",
        "/health",
        "/metrics",
        "/console/",
        "/openapi.json",
        "/admin/stats",
        "/admin/records",
        "/admin/records/{id}",
        "/admin/projects",
        "/admin/events",
        "/admin/reload",
        "/admin/config",
        "/admin/providers",
        "/admin/providers/{id}",
        "/admin/routes",
        "/admin/routes/{name}",
        "/admin/models",
        "/admin/models/{name}",
        "/admin/route/test",
        "/admin/keys",
        "/admin/keys/{id}",
        "/admin/keys/{id}/rotate",
    ];
    for p in expected {
        assert!(paths.contains_key(p), "`{p}` is not in the document");
    }
    // Every path it lists is served (no 404 "no route" from the fallback).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace(['{', '}'], "");
            let m = http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = client().request(m, gw.at(&concrete)).send().await.unwrap();
            if res.status() == 404 {
                let body = res.text().await.unwrap();
                assert!(!body.contains("no route for"), "{method} {path}: {body}");
            }
        }
    }

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/openapi_check.py");
    let (python, url) = (python(), gw.url.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env("SWITCHYARD_URL", url)
            .env("SWITCHYARD_ADMIN_KEY", KEY)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "OpenAPI checks failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs()
    );
    let admin_ops = paths
        .iter()
        .filter(|(p, _)| p.starts_with("/admin/"))
        .map(|(_, item)| item.as_object().unwrap().len())
        .sum::<usize>();
    assert!(
        stdout.contains(&format!("{admin_ops} operations checked, 0 failed")),
        "{stdout}"
    );
    // The examples it sent were applied and then removed again.
    let applied = [
        "POST   /admin/providers -> 201",
        "POST   /admin/models -> 201",
        "POST   /admin/routes -> 201",
        "POST   /admin/route/test -> 200",
        "GET    /admin/providers/openapi-mock -> 200",
        "GET    /admin/models/openapi-fast -> 200",
        "GET    /admin/routes/openapi-rule -> 200",
        "PUT    /admin/providers/openapi-mock -> 200",
        "PUT    /admin/models/openapi-fast -> 200",
        "PUT    /admin/routes/openapi-rule -> 200",
        "DELETE /admin/routes/openapi-rule -> 200",
        "DELETE /admin/models/openapi-fast -> 200",
        "DELETE /admin/providers/openapi-mock -> 200",
        "POST   /admin/keys -> 201",
        "POST   /admin/keys/openapi-key/rotate -> 200",
        "DELETE /admin/keys/openapi-key -> 200",
    ];
    for line in applied {
        assert!(stdout.contains(line), "`{line}` missing:\n{stdout}");
    }
    let res = client()
        .get(gw.at("/admin/providers"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["providers"],
        json!([{"id": "mock", "kind": "mock", "models": ["mock-*"], "skip_probe": false, "chunk_delay_ms": 1}])
    );
}
