//! Really streamed SSE bodies, with a guard that counts early drops.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderValue, StatusCode, header};

use crate::reply::Gate;
use crate::server::State;

/// One step of a scripted stream.
pub(crate) enum Step {
    /// Send `data: {payload}\n\n`.
    Data(String),
    /// Send the bytes as they are (named SSE events, NDJSON lines).
    Raw(String),
    /// Pause.
    Sleep(Duration),
    /// Wait for the gate to open.
    Wait(Gate),
    /// Never go on.
    Hang,
    /// Fail the body, so the server aborts the connection.
    Break,
}

impl Step {
    /// Data events with `delay` between them (not before the first).
    pub(crate) fn spaced(events: impl IntoIterator<Item = String>, delay: Duration) -> Vec<Step> {
        let mut steps = Vec::new();
        for event in events {
            if !steps.is_empty() && !delay.is_zero() {
                steps.push(Step::Sleep(delay));
            }
            steps.push(Step::Data(event));
        }
        steps
    }

    /// Raw frames with `delay` between them (not before the first).
    pub(crate) fn spaced_raw(
        frames: impl IntoIterator<Item = String>,
        delay: Duration,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        for frame in frames {
            if !steps.is_empty() && !delay.is_zero() {
                steps.push(Step::Sleep(delay));
            }
            steps.push(Step::Raw(frame));
        }
        steps
    }
}

/// Counts the stream as dropped unless it ran to its end.
struct Guard {
    state: Arc<State>,
    finished: bool,
}

impl Guard {
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.dropped.send_modify(|n| *n += 1);
        }
    }
}

/// A `200 text/event-stream` response whose body plays `steps` as it is
/// polled: nothing is produced before the server asks for it.
pub(crate) fn sse(state: Arc<State>, steps: Vec<Step>) -> Response {
    streamed(state, steps, "text/event-stream")
}

/// Like [`sse`], with another content type (`application/x-ndjson`).
pub(crate) fn streamed(
    state: Arc<State>,
    steps: Vec<Step>,
    content_type: &'static str,
) -> Response {
    let guard = Guard {
        state,
        finished: false,
    };
    let steps: VecDeque<Step> = steps.into();
    let body = stream::unfold((steps, guard), |(mut steps, mut guard)| async move {
        loop {
            match steps.pop_front() {
                None => {
                    guard.finish();
                    return None;
                }
                Some(Step::Data(payload)) => {
                    let frame = Bytes::from(format!("data: {payload}\n\n"));
                    return Some((Ok(frame), (steps, guard)));
                }
                Some(Step::Raw(payload)) => {
                    return Some((Ok(Bytes::from(payload)), (steps, guard)));
                }
                Some(Step::Sleep(delay)) => tokio::time::sleep(delay).await,
                Some(Step::Wait(gate)) => gate.wait().await,
                Some(Step::Hang) => std::future::pending::<()>().await,
                Some(Step::Break) => {
                    guard.finish();
                    steps.clear();
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "fake upstream: scripted break",
                    );
                    return Some((Err(err), (steps, guard)));
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
