//! RecorderLayer over scripted bodies: completion, client disconnect, a
//! broken stream, a failure before the head, the hooks' order.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use switchyard_core::{Attempt, BoxError, Candidate, Error, ParseLayer, RequestExt, Usage};
use switchyard_recorder::{OnRecord, Outcome, Record, RecorderLayer, Started};
use tokio::sync::mpsc;
use tower::{ServiceBuilder, ServiceExt};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<Arc<Record>>>>);

impl OnRecord for Log {
    fn on_start(&self, s: &Started) {
        self.0.lock().unwrap().push(format!("start {}", s.endpoint));
    }
    fn on_routed(&self, _id: &str, provider: Option<&str>, _m: Option<&str>, attempts: usize) {
        self.0
            .lock()
            .unwrap()
            .push(format!("routed {provider:?} {attempts}"));
    }
    fn on_first_token(&self, _id: &str, _ttft: Duration) {
        self.0.lock().unwrap().push("first_token".into());
    }
    fn wants_first_token(&self) -> bool {
        true
    }
    fn on_complete(&self, r: &Arc<Record>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("complete {}", r.outcome.as_str()));
        self.1.lock().unwrap().push(r.clone());
    }
}

impl Log {
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn record(&self) -> Arc<Record> {
        self.1.lock().unwrap().last().cloned().expect("a record")
    }
}

type Chunk = Result<Frame<Bytes>, BoxError>;

/// A stack whose upstream streams what the test sends on the returned channel.
async fn streaming(
    log: &Log,
) -> (
    Response<impl http_body::Body<Data = Bytes, Error = BoxError>>,
    mpsc::Sender<Chunk>,
) {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    let rx = Arc::new(Mutex::new(Some(rx)));
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RecorderLayer::new().max_body_bytes(16).hooks(log.clone()))
        .service_fn(move |req: Request<Full<Bytes>>| {
            let rx = rx.lock().unwrap().take().unwrap();
            let ex = req.context().unwrap().exchange().clone();
            ex.record_attempt(Attempt {
                candidate: Candidate::new("up", "m1"),
                status: Some(200),
                error: None,
                duration: Duration::from_millis(5),
            });
            async move {
                let stream = futures_util::stream::unfold((rx, ex), |(mut rx, ex)| async move {
                    let item = rx.recv().await?;
                    // What a usage layer would report as frames pass.
                    ex.mark_first_token(std::time::Instant::now());
                    ex.set_usage(Usage {
                        input_tokens: 3,
                        output_tokens: 9,
                        ..Usage::default()
                    });
                    Some((item, (rx, ex)))
                });
                let mut res = Response::new(switchyard_core::Body::new(StreamBody::new(stream)));
                res.headers_mut()
                    .insert("content-type", "text/event-stream".parse().unwrap());
                Ok::<_, Infallible>(res)
            }
        });
    let req = Request::post("/v1/chat/completions")
        .header("x-source", "tests")
        .body(Full::new(Bytes::from_static(
            br#"{"model":"m","stream":true,"api_key":"sk-secret"}"#,
        )))
        .unwrap();
    (svc.oneshot(req).await.unwrap(), tx)
}

#[tokio::test]
async fn a_finished_stream_is_recorded_once_with_its_figures() {
    let log = Log::default();
    let (res, tx) = streaming(&log).await;
    assert!(
        res.headers()["x-switchyard-overhead-us"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    tx.send(Ok(Frame::data(Bytes::from_static(b"data: a\n\n"))))
        .await
        .unwrap();
    tx.send(Ok(Frame::data(Bytes::from_static(b"data: b\n\n"))))
        .await
        .unwrap();
    drop(tx);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"data: a\n\ndata: b\n\n");
    assert_eq!(
        log.events(),
        [
            "start chat_completions",
            "routed Some(\"up\") 1",
            "first_token",
            "complete completed"
        ]
    );
    let r = log.record();
    assert_eq!(
        (r.status, r.outcome, r.error_type),
        (200, Outcome::Completed, None)
    );
    assert_eq!((r.chunks, r.response_bytes), (2, 18));
    assert_eq!(r.provider.as_deref(), Some("up"));
    assert_eq!(r.source.as_deref(), Some("tests"));
    assert_eq!(r.usage.unwrap().output_tokens, 9);
    assert!(r.request_truncated);
    assert_eq!(&r.request_body[..], br#"{"model":"m","st"#);
    assert!(r.response_body.is_none(), "streams keep no raw body");
    assert!(r.ttft_ms.is_some() && r.tokens_per_second.is_some());
    let json = serde_json::to_value(&*r).unwrap();
    assert_eq!(json["outcome"], "completed");
    assert_eq!(json["usage"]["output_tokens"], 9);
}

#[tokio::test]
async fn a_client_that_hangs_up_is_recorded_as_disconnected() {
    let log = Log::default();
    let (res, tx) = streaming(&log).await;
    tx.send(Ok(Frame::data(Bytes::from_static(b"data: a\n\n"))))
        .await
        .unwrap();
    let mut body = Box::pin(res.into_body());
    body.frame().await.unwrap().unwrap();
    assert_eq!(log.events().last().unwrap(), "first_token");
    drop(body);
    let r = log.record();
    assert_eq!(
        (r.status, r.outcome, r.error_type),
        (200, Outcome::ClientDisconnected, None)
    );
    assert_eq!(r.chunks, 1);
    assert_eq!(
        r.usage.unwrap().output_tokens,
        9,
        "charged for what was produced"
    );
}

#[tokio::test]
async fn a_broken_stream_is_stream_truncated() {
    let log = Log::default();
    let (res, tx) = streaming(&log).await;
    tx.send(Ok(Frame::data(Bytes::from_static(b"data: a\n\n"))))
        .await
        .unwrap();
    tx.send(Err("upstream reset".into())).await.unwrap();
    let mut body = Box::pin(res.into_body());
    body.frame().await.unwrap().unwrap();
    assert!(body.frame().await.unwrap().is_err());
    let r = log.record();
    assert_eq!(
        (r.outcome, r.error_type),
        (Outcome::StreamError, Some("stream_truncated"))
    );
    assert_eq!(
        log.events()
            .iter()
            .filter(|e| e.starts_with("complete"))
            .count(),
        1
    );
}

#[tokio::test]
async fn failures_before_the_head_are_recorded_with_their_class() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RecorderLayer::new().hooks(log.clone()))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            Err::<Response<Full<Bytes>>, _>(Error::timeout(
                "upstream `a` sent no response within 1s",
            ))
        });
    let req = Request::post("/v1/embeddings")
        .body(Full::new(Bytes::from_static(
            br#"{"model":"e","input":"x"}"#,
        )))
        .unwrap();
    assert!(svc.oneshot(req).await.is_err());
    let r = log.record();
    assert_eq!(
        (r.status, r.outcome, r.error_type),
        (504, Outcome::Failed, Some("upstream_timeout"))
    );
    assert_eq!(log.events(), ["start embeddings", "complete failed"]);
}

#[tokio::test]
async fn whole_answers_keep_their_body_and_secrets_are_redacted() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RecorderLayer::new().hooks(log.clone()))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            let mut res = Response::new(Full::new(Bytes::from_static(
                br#"{"error":{"message":"no"}}"#,
            )));
            *res.status_mut() = http::StatusCode::NOT_FOUND;
            Ok::<_, Infallible>(res)
        });
    let req = Request::post("/v1/chat/completions")
        .body(Full::new(Bytes::from_static(
            br#"{"model":"m","password":"hunter2"}"#,
        )))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    res.into_body().collect().await.unwrap();
    let r = log.record();
    assert_eq!((r.status, r.error_type), (404, Some("client_error")));
    let json = serde_json::to_value(&*r).unwrap();
    assert_eq!(json["response_body"], r#"{"error":{"message":"no"}}"#);
    assert_eq!(
        json["request_body"],
        r#"{"model":"m","password":"[redacted]"}"#
    );
}
