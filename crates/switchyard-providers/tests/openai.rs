//! OpenAi against a fake upstream on 127.0.0.1: bytes, headers, statuses,
#![expect(clippy::unwrap_used, reason = "a panic is how a test fails")]
//! errors, the first-byte commit point and frame-by-frame streaming.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request as UpstreamRequest;
use axum::response::{IntoResponse, Response as UpstreamResponse};
use bytes::Bytes;
use common::{bytes, json, request};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use switchyard_core::{Endpoint, ErrorKind};
use switchyard_providers::{ClientOptions, OpenAi, OpenAiConfig, http_client};
use tokio::sync::{Notify, oneshot};
use tower::ServiceExt;

const KEY: &str = "sk-test-secret-0123456789";
const CHAT: &str = r#"{ "model" : "gpt-x",
  "messages": [{"role":"user","content":"hi"}], "z": 1 }"#;

/// What the fake upstream received.
#[derive(Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// An upstream that records every request and answers with `answer()`.
async fn recording<F>(answer: F) -> (SocketAddr, Log)
where
    F: Fn() -> UpstreamResponse + Clone + Send + Sync + 'static,
{
    let log = Log::default();
    let seen = log.clone();
    let router = Router::new().fallback(move |req: UpstreamRequest| {
        let (log, answer) = (seen.clone(), answer.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            log.lock().unwrap().push(Seen {
                method: parts.method,
                path: parts.uri.path().to_owned(),
                headers: parts.headers,
                body,
            });
            answer()
        }
    });
    (serve(router).await, log)
}

fn ok_json() -> UpstreamResponse {
    ([("x-upstream", "yes")], axum::Json(json!({ "ok": true }))).into_response()
}

fn config(addr: SocketAddr, api_key: Option<&str>) -> OpenAiConfig {
    OpenAiConfig {
        id: "up".to_owned(),
        base_url: format!("http://{addr}/v1"),
        api_key: api_key.map(str::to_owned),
        headers: Vec::new(),
        first_byte_timeout: Duration::from_secs(5),
    }
}

fn provider(config: OpenAiConfig) -> OpenAi {
    OpenAi::new(config, http_client(&ClientOptions::default()).unwrap())
}

fn only(log: &Log) -> Seen {
    let mut log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    log.remove(0)
}

#[tokio::test]
async fn unchanged_body_is_forwarded_byte_for_byte() {
    let (addr, log) = recording(ok_json).await;
    let mut req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x");
    let headers = req.headers_mut();
    headers.insert("host", HeaderValue::from_static("client.example"));
    headers.insert("content-length", HeaderValue::from_static("999"));
    headers.insert("connection", HeaderValue::from_static("close"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert("x-client-only", HeaderValue::from_static("1"));
    let res = provider(config(addr, Some(KEY)))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-upstream"], "yes");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(json(res).await, json!({ "ok": true }));

    let seen = only(&log);
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.body, CHAT.as_bytes());
    let h = &seen.headers;
    assert_eq!(h["authorization"], format!("Bearer {KEY}").as_str());
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["accept"], "application/json");
    assert_eq!(h["host"], addr.to_string().as_str());
    assert_eq!(h["content-length"], CHAT.len().to_string().as_str());
    assert_eq!(
        h["user-agent"],
        concat!("switchyard/", env!("CARGO_PKG_VERSION"))
    );
    assert!(h.get("x-client-only").is_none());
    assert_ne!(
        h.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
}

#[tokio::test]
async fn body_is_rewritten_when_the_candidate_model_differs() {
    let (addr, log) = recording(ok_json).await;
    let req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-y");
    provider(config(addr, Some(KEY)))
        .oneshot(req)
        .await
        .unwrap();
    let seen = only(&log);
    assert_eq!(
        &seen.body[..],
        br#"{"model":"gpt-y","messages":[{"role":"user","content":"hi"}],"z":1}"#
    );
}

#[tokio::test]
async fn clients_authorization_is_forwarded_only_without_an_api_key() {
    let (addr, log) = recording(ok_json).await;
    for api_key in [None, Some(KEY)] {
        let mut req = request(Endpoint::Embeddings, r#"{"input":"a"}"#, "up", "e");
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_static("Bearer client-own-key"),
        );
        provider(config(addr, api_key)).oneshot(req).await.unwrap();
    }
    let log = log.lock().unwrap();
    let auth: Vec<_> = log
        .iter()
        .map(|s| s.headers["authorization"].clone())
        .collect();
    assert_eq!(auth, ["Bearer client-own-key", &format!("Bearer {KEY}")]);
    assert!(log.iter().all(|s| s.path == "/v1/embeddings"));
}

#[tokio::test]
async fn extra_headers_are_sent_and_replace_same_named_ones() {
    let (addr, log) = recording(ok_json).await;
    let mut config = config(addr, Some(KEY));
    config.base_url.push('/');
    config.headers = vec![
        (
            HeaderName::from_static("openai-organization"),
            HeaderValue::from_static("org-1"),
        ),
        (
            HeaderName::from_static("accept"),
            HeaderValue::from_static("text/plain"),
        ),
    ];
    let mut req = request(Endpoint::Completions, r#"{"prompt":"a"}"#, "up", "m");
    req.headers_mut()
        .insert("accept", HeaderValue::from_static("application/json"));
    provider(config).oneshot(req).await.unwrap();
    let seen = only(&log);
    assert_eq!(seen.path, "/v1/completions", "trailing slash trimmed");
    assert_eq!(seen.headers["openai-organization"], "org-1");
    let accept: Vec<_> = seen.headers.get_all("accept").iter().collect();
    assert_eq!(accept, ["text/plain"]);
}

#[tokio::test]
async fn upstream_error_status_passes_through_with_retry_after_and_body() {
    const BODY: &str = r#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#;
    let (addr, _log) = recording(|| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "7"), ("content-type", "application/json")],
            BODY,
        )
            .into_response()
    })
    .await;
    let req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x");
    let res = provider(config(addr, Some(KEY)))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(
        res.headers()["content-length"],
        BODY.len().to_string().as_str()
    );
    assert_eq!(bytes(res).await, BODY.as_bytes());
}

#[tokio::test]
async fn models_endpoint_is_a_get_without_body() {
    let (addr, log) = recording(ok_json).await;
    let req = request(Endpoint::Models, "", "up", "");
    let res = provider(config(addr, Some(KEY)))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = only(&log);
    assert_eq!(
        (seen.method, seen.path.as_str()),
        (Method::GET, "/v1/models")
    );
    assert!(seen.body.is_empty());
    assert!(seen.headers.get("content-type").is_none());
}

#[tokio::test]
async fn unsupported_endpoint_is_a_404_answer() {
    let (addr, log) = recording(ok_json).await;
    let req = request(
        Endpoint::Responses,
        r#"{"model":"m","input":"hi"}"#,
        "up",
        "m",
    );
    let res = provider(config(addr, None)).oneshot(req).await.unwrap();
    assert_eq!(res.status(), 404);
    let v = json(res).await;
    assert_eq!(
        v["error"]["message"],
        "`/v1/responses` is not supported by provider `up` (openai)"
    );
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_without_secrets() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x");
    let e = provider(config(addr, Some(KEY)))
        .oneshot(req)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert!(e.is_retryable());
    assert_eq!(e.message(), "could not connect to upstream `up`");
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(KEY), "{text}");
    }
}

#[tokio::test]
async fn headers_then_silence_is_a_timeout() {
    let router = Router::new().fallback(|| async {
        let silence = futures_util::stream::pending::<Result<Bytes, Infallible>>();
        (
            [("content-type", "text/event-stream")],
            axum::body::Body::from_stream(silence),
        )
    });
    let addr = serve(router).await;
    let mut config = config(addr, Some(KEY));
    config.first_byte_timeout = Duration::from_millis(300);
    let req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x");
    let start = Instant::now();
    let e = provider(config).oneshot(req).await.unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.message(), "upstream `up` sent no response within 0.3s");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// One step of a scripted upstream stream.
enum Step {
    Send(&'static str),
    Wait(Arc<Notify>),
}

/// A body that follows `steps`, then ends; `guard` is dropped with it.
fn scripted<G: Send + 'static>(steps: Vec<Step>, guard: G) -> axum::body::Body {
    let stream = futures_util::stream::unfold(
        (steps.into_iter(), guard),
        |(mut steps, guard)| async move {
            loop {
                match steps.next()? {
                    Step::Send(chunk) => {
                        return Some((
                            Ok::<_, Infallible>(Bytes::from_static(chunk.as_bytes())),
                            (steps, guard),
                        ));
                    }
                    Step::Wait(signal) => signal.notified().await,
                }
            }
        },
    );
    axum::body::Body::from_stream(stream)
}

async fn next_chunk(body: &mut switchyard_core::Body) -> Option<Bytes> {
    tokio::time::timeout(Duration::from_secs(2), body.frame())
        .await
        .expect("a frame within 2s")
        .map(|frame| frame.unwrap().into_data().unwrap())
}

async fn assert_pending(body: &mut switchyard_core::Body) {
    let poll = tokio::time::timeout(Duration::from_millis(100), body.frame()).await;
    assert!(poll.is_err(), "expected no frame yet, got {poll:?}");
}

#[tokio::test]
async fn stream_frames_arrive_one_by_one() {
    let (first, second) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let steps = Arc::new(Mutex::new(Some(vec![
        Step::Send("data: 1\n\n"),
        Step::Wait(first.clone()),
        Step::Send("data: 2\n\n"),
        Step::Wait(second.clone()),
        Step::Send("data: [DONE]\n\n"),
    ])));
    let router = Router::new().fallback(move || {
        let steps = steps.lock().unwrap().take().unwrap();
        async move { ([("content-type", "text/event-stream")], scripted(steps, ())) }
    });
    let addr = serve(router).await;
    let mut config = config(addr, Some(KEY));
    config.first_byte_timeout = Duration::from_millis(500);
    let req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x");

    let res = provider(config).oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    for hop in ["transfer-encoding", "connection", "keep-alive"] {
        assert!(res.headers().get(hop).is_none(), "{hop} forwarded");
    }
    let mut body = res.into_body();
    assert_eq!(next_chunk(&mut body).await.unwrap(), "data: 1\n\n");
    assert_pending(&mut body).await;
    first.notify_one();
    assert_eq!(next_chunk(&mut body).await.unwrap(), "data: 2\n\n");
    // Past the commit point the first-byte timeout no longer applies.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_pending(&mut body).await;
    second.notify_one();
    assert_eq!(next_chunk(&mut body).await.unwrap(), "data: [DONE]\n\n");
    assert_eq!(next_chunk(&mut body).await, None);
}

/// Signals when the upstream's response stream is dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn dropping_the_body_closes_the_upstream_stream() {
    let (tx, dropped) = oneshot::channel();
    let guard = Arc::new(Mutex::new(Some(DropSignal(Some(tx)))));
    let router = Router::new().fallback(move || {
        let guard = guard.lock().unwrap().take().unwrap();
        let never = Arc::new(Notify::new());
        async move { scripted(vec![Step::Send("data: 1\n\n"), Step::Wait(never)], guard) }
    });
    let addr = serve(router).await;
    let req = request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x");
    let res = provider(config(addr, None)).oneshot(req).await.unwrap();
    let mut body = res.into_body();
    assert_eq!(next_chunk(&mut body).await.unwrap(), "data: 1\n\n");
    drop(body);
    tokio::time::timeout(Duration::from_secs(2), dropped)
        .await
        .expect("the upstream saw the client go away")
        .unwrap();
}

#[tokio::test]
async fn list_models_parses_openais_list() {
    let (addr, log) = recording(|| {
        axum::Json(json!({ "object": "list", "data": [
            { "id": "gpt-a", "object": "model", "created": 1, "owned_by": "x" },
            { "id": "gpt-b", "object": "model", "created": 2, "owned_by": "x" },
        ]}))
        .into_response()
    })
    .await;
    let openai = provider(config(addr, Some(KEY)));
    assert_eq!(openai.id(), "up");
    assert_eq!(openai.list_models().await.unwrap(), ["gpt-a", "gpt-b"]);
    let seen = only(&log);
    assert_eq!(
        (seen.method, seen.path.as_str()),
        (Method::GET, "/v1/models")
    );
    assert_eq!(
        seen.headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );

    let (addr, _) = recording(|| StatusCode::UNAUTHORIZED.into_response()).await;
    let e = provider(config(addr, Some(KEY)))
        .list_models()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Upstream);
    assert_eq!(
        e.message(),
        "upstream `up` answered 401 Unauthorized to GET /models"
    );
}

#[test]
fn debug_never_shows_the_key() {
    let mut config = config("127.0.0.1:9".parse().unwrap(), Some(KEY));
    config.headers = vec![(
        HeaderName::from_static("x-api-key"),
        HeaderValue::from_static("header-secret"),
    )];
    let openai = provider(config.clone());
    for text in [format!("{config:?}"), format!("{openai:?}")] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("header-secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        assert!(text.contains("x-api-key"), "{text}");
    }
}
