//! `RecorderLayer::finish_after_send`: records finish after the answer's last
//! frame was handed on, on the runtime's next turn; none is ever lost.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use switchyard_core::ParseLayer;
use switchyard_recorder::{Outcome, Record, RecorderLayer};
use tower::{Layer, ServiceBuilder, ServiceExt};

type Seen = Arc<Mutex<Vec<Arc<Record>>>>;

fn layer(seen: &Seen) -> RecorderLayer<impl switchyard_recorder::OnRecord> {
    let sink = seen.clone();
    RecorderLayer::new()
        .finish_after_send(true)
        .hooks(move |r: &Arc<Record>| sink.lock().unwrap().push(r.clone()))
}

/// Sends one request through `recorder` and reads the whole answer.
async fn exchange<H: switchyard_recorder::OnRecord>(recorder: &RecorderLayer<H>, status: u16) {
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(recorder.clone())
        .service_fn(move |_req: Request<Full<Bytes>>| async move {
            let mut res = Response::new(Full::new(Bytes::from_static(br#"{"ok":true}"#)));
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(res)
        });
    let req = Request::post("/v1/chat/completions")
        .body(Full::new(Bytes::from_static(br#"{"model":"m"}"#)))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"ok":true}"#);
}

#[tokio::test]
async fn the_record_finishes_on_the_next_turn_not_inside_the_last_poll() {
    let seen = Seen::default();
    let recorder = layer(&seen);
    exchange(&recorder, 200).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "the last poll only queued the record"
    );
    for _ in 0..10 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let records = seen.lock().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].status, records[0].outcome),
        (200, Outcome::Completed)
    );
    assert_eq!(
        records[0].response_body.as_deref(),
        Some(&br#"{"ok":true}"#[..])
    );
}

#[tokio::test]
async fn many_exchanges_each_finish_exactly_once() {
    let seen = Seen::default();
    let recorder = layer(&seen);
    for i in 0..50 {
        exchange(&recorder, if i % 2 == 0 { 200 } else { 404 }).await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let records = seen.lock().unwrap();
    assert_eq!(records.len(), 50);
    assert_eq!(records.iter().filter(|r| r.status == 404).count(), 25);
    let mut ids: Vec<_> = records.iter().map(|r| r.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 50, "no record twice");
}

#[tokio::test]
async fn flush_finishes_waiting_records_at_once() {
    let seen = Seen::default();
    let recorder = layer(&seen);
    exchange(&recorder, 200).await;
    exchange(&recorder, 502).await;
    assert!(seen.lock().unwrap().is_empty());
    recorder.flush();
    let statuses: Vec<u16> = seen.lock().unwrap().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 502]);
    recorder.flush();
    assert_eq!(seen.lock().unwrap().len(), 2, "flushing again adds nothing");
}

#[tokio::test]
async fn dropping_the_last_layer_finishes_what_waits() {
    let seen = Seen::default();
    let recorder = layer(&seen);
    exchange(&recorder, 200).await;
    assert!(seen.lock().unwrap().is_empty());
    drop(recorder);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn without_a_runtime_records_finish_inline() {
    let seen = Seen::default();
    let recorder = layer(&seen);
    // Build the response on a runtime, then read its body with none running.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let svc = recorder.layer(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
    }));
    let res = rt.block_on(async {
        let svc = ParseLayer::new().layer(svc);
        let req = Request::post("/v1/embeddings")
            .body(Full::new(Bytes::from_static(
                br#"{"model":"e","input":"x"}"#,
            )))
            .unwrap();
        svc.oneshot(req).await.unwrap()
    });
    drop(rt);
    let mut body = Box::pin(res.into_body());
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    while let std::task::Poll::Ready(Some(_)) = body.as_mut().poll_frame(&mut cx) {}
    let records = seen.lock().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, Outcome::Completed);
}
