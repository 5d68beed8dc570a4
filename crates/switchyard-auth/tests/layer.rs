//! AuthLayer over HTTP requests: modes, headers, identities, refusals, the
//! run-time store, and an axum mount.
#![expect(clippy::unwrap_used, reason = "tests unwrap")]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use switchyard_auth::{AuthLayer, KeyHash, KeyIndex, KeySpec, KeyStore, Origin, VirtualKey};
use switchyard_core::{Identity, ParseLayer, RequestExt};
use tower::{ServiceBuilder, ServiceExt};

const KEY_A: &str = "sk-team-a-secret-1";

fn index() -> KeyIndex {
    let mut spec = KeySpec {
        id: "a".into(),
        team: Some("team-a".into()),
        project: Some("alpha".into()),
        key: Some(KEY_A.into()),
        models: vec!["gpt-4o*".into()],
        rpm: Some(7),
        ..KeySpec::default()
    };
    spec.provider_keys
        .insert("openai".into(), "sk-openai-team-a".into());
    KeyIndex::new([VirtualKey::from_spec(spec, Origin::Config).unwrap()]).unwrap()
}

/// What the inner service saw: the identity and the credential headers left.
#[derive(Debug, Default)]
struct Seen {
    identity: Option<Arc<Identity>>,
    headers: Vec<String>,
}

async fn call(
    layer: AuthLayer,
    path: &str,
    headers: &[(&str, &str)],
    model: &str,
) -> (u16, serde_json::Value, Seen) {
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let sink = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(layer)
        .service_fn(move |req: Request<Full<Bytes>>| {
            let sink = sink.clone();
            async move {
                let ctx = req.context().unwrap();
                let mut s = sink.lock().unwrap();
                s.identity = ctx.exchange().snapshot().identity;
                assert_eq!(
                    s.identity.as_deref(),
                    ctx.identity(),
                    "mirrored into the exchange"
                );
                s.headers = ["authorization", "x-api-key", "x-goog-api-key"]
                    .into_iter()
                    .filter(|h| req.headers().contains_key(*h))
                    .map(str::to_owned)
                    .collect();
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
            }
        });
    let mut req = Request::post(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = format!(r#"{{"model":"{model}","max_tokens":5,"messages":[]}}"#);
    let res = svc
        .oneshot(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_default();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (status, json, seen)
}

#[tokio::test]
async fn virtual_key_sets_identity_and_drops_key_headers() {
    let layer = AuthLayer::virtual_keys(index());
    for header in ["authorization", "x-api-key", "x-goog-api-key"] {
        let value = if header == "authorization" {
            format!("Bearer {KEY_A}")
        } else {
            KEY_A.to_owned()
        };
        let (status, _, seen) = call(
            layer.clone(),
            "/v1/chat/completions",
            &[(header, &value)],
            "gpt-4o-mini",
        )
        .await;
        assert_eq!(status, 200, "{header}");
        let id = seen.identity.unwrap();
        assert_eq!(id.key_id.as_deref(), Some("a"));
        assert_eq!(id.team.as_deref(), Some("team-a"));
        assert_eq!(id.project.as_deref(), Some("alpha"));
        assert_eq!(id.allowed_models, ["gpt-4o*"]);
        assert_eq!(id.quota.requests_per_minute, Some(7));
        assert_eq!(id.provider_keys.get("openai"), Some("sk-openai-team-a"));
        assert!(seen.headers.is_empty(), "{header}: {:?}", seen.headers);
    }
}

#[tokio::test]
async fn refusals_in_each_protocol() {
    let layer = AuthLayer::virtual_keys(index());
    let (status, v, seen) = call(layer.clone(), "/v1/chat/completions", &[], "gpt-4o").await;
    assert_eq!(status, 401);
    assert!(seen.identity.is_none());
    assert_eq!(v["error"]["type"], "authentication_error");
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("missing API key")
    );
    let (status, v, _) = call(
        layer.clone(),
        "/v1/messages",
        &[("x-api-key", "sk-team-a-secret-2")],
        "gpt-4o",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["message"], "invalid API key");
    assert!(!v.to_string().contains("secret"));
    let (status, v, _) = call(
        layer.clone(),
        "/v1/messages",
        &[("x-api-key", KEY_A)],
        "claude-3",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["type"], "permission_error");
    assert_eq!(
        v["error"]["message"],
        "key `a` may not use model `claude-3`"
    );
    let (status, v, _) = call(
        layer,
        "/v1/chat/completions",
        &[("authorization", &format!("Bearer {KEY_A}"))],
        "claude-3",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        (v["error"]["type"].as_str(), v["error"]["param"].as_str()),
        (Some("permission_denied"), Some("model"))
    );
}

#[tokio::test]
async fn open_and_key_modes() {
    let (status, _, seen) = call(
        AuthLayer::open(),
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-own")],
        "m",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen.identity.unwrap().key_id, None);
    assert_eq!(
        seen.headers,
        ["authorization"],
        "open mode passes the client's key on"
    );

    let layer = AuthLayer::key("sk-gateway-1");
    let (status, _, seen) = call(
        layer.clone(),
        "/v1/chat/completions",
        &[("x-api-key", "sk-gateway-1")],
        "m",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen.identity.unwrap().key_id.as_deref(), Some("gateway"));
    assert!(seen.headers.is_empty());
    // A virtual key means nothing in key mode.
    let (status, _, _) = call(
        AuthLayer::key_hash(KeyHash::of("sk-gateway-1")),
        "/v1/chat/completions",
        &[("x-api-key", KEY_A)],
        "m",
    )
    .await;
    assert_eq!(status, 401);
    // The gateway key also opens virtual-keys mode, without limits.
    let vk = AuthLayer::virtual_keys(index()).gateway_key(KeyHash::of("sk-gateway-1"));
    let (status, _, seen) = call(
        vk,
        "/v1/chat/completions",
        &[("authorization", "Bearer sk-gateway-1")],
        "anything",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen.identity.unwrap().quota, Default::default());
}

#[tokio::test]
async fn store_changes_apply_to_the_next_request() {
    let store = KeyStore::in_memory();
    let layer = AuthLayer::virtual_keys(index()).store(store.clone());
    let (key, secret) = store
        .create(
            KeySpec {
                id: "rt".into(),
                team: Some("b".into()),
                ..KeySpec::default()
            },
            &|_| false,
        )
        .unwrap();
    let auth = format!("Bearer {secret}");
    let (status, _, seen) = call(
        layer.clone(),
        "/v1/chat/completions",
        &[("authorization", &auth)],
        "any",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen.identity.unwrap().team.as_deref(), Some("b"));
    let (_, rotated) = store.rotate(key.id()).unwrap();
    assert_eq!(
        call(
            layer.clone(),
            "/v1/chat/completions",
            &[("authorization", &auth)],
            "any"
        )
        .await
        .0,
        401
    );
    let auth = format!("Bearer {rotated}");
    assert_eq!(
        call(
            layer.clone(),
            "/v1/chat/completions",
            &[("authorization", &auth)],
            "any"
        )
        .await
        .0,
        200
    );
    assert!(store.revoke("rt").unwrap());
    assert_eq!(
        call(
            layer,
            "/v1/chat/completions",
            &[("authorization", &auth)],
            "any"
        )
        .await
        .0,
        401
    );
}

#[tokio::test]
async fn mounts_in_axum() {
    let app = axum::Router::new()
        .route("/v1/models", axum::routing::get(|| async { "models" }))
        .route_layer(AuthLayer::key("sk-gateway-1"));
    let get = |key: Option<&str>| {
        let mut req = Request::get("/v1/models");
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        req.body(axum::body::Body::empty()).unwrap()
    };
    let res = app.clone().oneshot(get(None)).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = app.oneshot(get(Some("sk-gateway-1"))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        &res.into_body().collect().await.unwrap().to_bytes()[..],
        b"models"
    );
}
