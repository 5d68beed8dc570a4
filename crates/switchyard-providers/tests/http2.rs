//! OpenAi over HTTP/2 with prior knowledge (h2c) against an upstream that
//! speaks nothing else and limits the streams one connection may carry.
#![expect(clippy::unwrap_used, reason = "a panic is how a test fails")]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::request;
use http::{Response, Version};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use switchyard_core::Endpoint;
use switchyard_providers::{ClientOptions, OpenAi, OpenAiConfig, http_client};
use tokio::sync::watch;
use tower::ServiceExt;

const CHAT: &str = r#"{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

/// What the upstream saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    versions: Mutex<Vec<Version>>,
}

/// An h2c-only upstream allowing `max_streams` streams per connection. Each
/// answer sends one event at once and the rest when `release` turns true.
async fn upstream(max_streams: u32, release: watch::Receiver<bool>) -> (SocketAddr, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            log.connections.fetch_add(1, Ordering::SeqCst);
            let (log, release) = (log.clone(), release.clone());
            let service = hyper::service::service_fn(move |req: http::Request<_>| {
                log.versions.lock().unwrap().push(req.version());
                let mut release = release.clone();
                let rest = async move {
                    let _ = release.wait_for(|go| *go).await;
                    Ok::<_, Infallible>(Bytes::from_static(b"data: [DONE]\n\n"))
                };
                let events = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(
                    b"data: 1\n\n",
                ))])
                .chain(futures_util::stream::once(rest));
                let res = Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(axum::body::Body::from_stream(events))
                    .unwrap();
                async move { Ok::<_, Infallible>(res) }
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .max_concurrent_streams(max_streams)
                    .serve_connection(TokioIo::new(tcp), service),
            );
        }
    });
    (addr, seen)
}

use futures_util::StreamExt as _;

fn provider(addr: SocketAddr, http2_max_streams: usize) -> OpenAi {
    let config = OpenAiConfig {
        id: "up".to_owned(),
        base_url: format!("http://{addr}/v1"),
        api_key: Some("sk-test".to_owned()),
        headers: Vec::new(),
        first_byte_timeout: Duration::from_secs(10),
    };
    let client = http_client(&ClientOptions {
        http2_prior_knowledge: true,
        http2_max_streams,
        ..ClientOptions::default()
    })
    .unwrap();
    OpenAi::new(config, client)
}

/// Starts `n` streamed requests at once; each resolves once its first event
/// arrived (the provider's commit point), or fails after `wait`.
async fn open_streams(
    provider: &OpenAi,
    n: usize,
    wait: Duration,
) -> Vec<Result<switchyard_core::Body, String>> {
    let calls = (0..n).map(|_| {
        let call =
            provider
                .clone()
                .oneshot(request(Endpoint::ChatCompletions, CHAT, "up", "gpt-x"));
        tokio::spawn(async move {
            match tokio::time::timeout(wait, call).await {
                Ok(Ok(res)) => {
                    assert_eq!(res.status(), 200);
                    let mut body = res.into_body();
                    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
                    assert_eq!(first, "data: 1\n\n");
                    Ok(body)
                }
                Ok(Err(e)) => Err(format!("failed: {e}")),
                Err(_) => Err(format!("no answer within {wait:?}")),
            }
        })
    });
    let mut bodies = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        bodies.push(call.await.unwrap());
    }
    bodies
}

/// Releases the held streams and checks each ends with the rest of its events.
async fn finish(release: &watch::Sender<bool>, open: Vec<switchyard_core::Body>) {
    release.send(true).unwrap();
    for body in open {
        let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
            .await
            .expect("the stream ends once released")
            .unwrap()
            .to_bytes();
        assert_eq!(rest, "data: [DONE]\n\n");
    }
}

#[tokio::test]
async fn streams_beyond_a_connections_limit_go_over_another_connection() {
    let (release, released) = watch::channel(false);
    let (addr, seen) = upstream(2, released).await;
    let provider = provider(addr, 2);

    // Five long streams, two per connection: three connections, none waits.
    let open = open_streams(&provider, 5, Duration::from_secs(5)).await;
    let open: Vec<_> = open.into_iter().map(Result::unwrap).collect();
    assert_eq!(seen.connections.load(Ordering::SeqCst), 3);
    assert!(
        seen.versions
            .lock()
            .unwrap()
            .iter()
            .all(|v| *v == Version::HTTP_2)
    );
    finish(&release, open).await;

    // The ended streams gave their places back: six more fit on the same
    // three connections (a leaked place would open a fourth).
    release.send(false).unwrap();
    let open = open_streams(&provider, 6, Duration::from_secs(5)).await;
    let open: Vec<_> = open.into_iter().map(Result::unwrap).collect();
    assert_eq!(seen.connections.load(Ordering::SeqCst), 3);
    assert_eq!(seen.versions.lock().unwrap().len(), 11);
    finish(&release, open).await;
}

#[tokio::test]
async fn dropped_streams_give_their_place_back() {
    let (_release, released) = watch::channel(false);
    let (addr, seen) = upstream(2, released).await;
    let provider = provider(addr, 2);
    for _ in 0..3 {
        let open = open_streams(&provider, 2, Duration::from_secs(5)).await;
        // The client hangs up mid-stream.
        drop(open);
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    assert_eq!(seen.versions.lock().unwrap().len(), 6);
}

/// Why `http2_max_streams` exists: set above the server's limit, a request
/// past it is refused on a new connection (the client has not yet heard the
/// limit) and, on a connection whose limit is known, waits until a stream
/// ends: for minutes, behind long streamed answers.
#[tokio::test]
async fn a_limit_above_the_servers_fails_or_stalls_requests() {
    let (release, released) = watch::channel(false);
    let (addr, seen) = upstream(2, released).await;
    let provider = provider(addr, 100);
    let open = open_streams(&provider, 3, Duration::from_secs(5)).await;
    let refused: Vec<_> = open.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].starts_with("failed:"), "{refused:?}");

    let waiting = open_streams(&provider, 1, Duration::from_millis(1500)).await;
    assert_eq!(
        waiting[0].as_ref().err().map(String::as_str),
        Some("no answer within 1.5s")
    );
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    release.send(true).unwrap();
}
