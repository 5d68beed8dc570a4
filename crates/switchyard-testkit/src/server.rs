//! The server: accept loop, recording, script, shared state.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::openai;
use crate::record::Recorded;
use crate::reply::Reply;
use crate::stream::{self, Step};

/// Models listed by `GET /v1/models` until [`FakeUpstream::set_models`].
const DEFAULT_MODELS: [&str; 2] = ["gpt-4o-mini", "text-embedding-3-small"];

/// How long a [`Reply::BreakAfter`] waits between its last event and the break.
const BREAK_PAUSE: Duration = Duration::from_millis(20);

/// State shared by the handle and every connection.
pub(crate) struct State {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Reply>>,
    models: Mutex<Vec<String>>,
    /// Requests received so far.
    received: watch::Sender<usize>,
    /// Streams dropped before they finished.
    pub(crate) dropped: watch::Sender<usize>,
    /// Last response id handed out.
    pub(crate) next_id: AtomicU64,
    /// Every task the server spawned, aborted when the handle drops.
    tasks: Mutex<Vec<AbortHandle>>,
}

impl State {
    pub(crate) fn models(&self) -> Vec<String> {
        lock(&self.models).clone()
    }

    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut).abort_handle();
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }
}

/// A fake OpenAI-compatible upstream on `127.0.0.1` and a random port.
///
/// It records every request, answers from a FIFO script of [`Reply`]s and,
/// when the script is empty, behaves like a validating OpenAI echo server.
/// Dropping it stops the server and closes every open connection.
pub struct FakeUpstream {
    addr: SocketAddr,
    state: Arc<State>,
}

impl FakeUpstream {
    /// Binds `127.0.0.1:0` and starts serving HTTP/1.1 and HTTP/2.
    ///
    /// # Panics
    ///
    /// If it cannot bind, or outside a tokio runtime.
    pub async fn start() -> FakeUpstream {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("fake upstream: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake upstream: local addr");
        let state = Arc::new(State {
            requests: Mutex::default(),
            script: Mutex::default(),
            models: Mutex::new(DEFAULT_MODELS.map(String::from).to_vec()),
            received: watch::Sender::new(0),
            dropped: watch::Sender::new(0),
            next_id: AtomicU64::new(0),
            tasks: Mutex::default(),
        });
        state.spawn(accept(listener, Arc::downgrade(&state)));
        FakeUpstream { addr, state }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL an OpenAI client wants.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    /// Waits until at least `n` requests have arrived (and been recorded);
    /// `false` if `timeout` passed first. For replies that never answer.
    pub async fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        let mut rx = self.state.received.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|got| *got >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Queues a reply for the next request that has none; replies are used
    /// first in, first out, whatever path the request hits.
    pub fn push(&self, reply: Reply) {
        lock(&self.state.script).push_back(reply);
    }

    /// Sets what `GET /v1/models` lists.
    pub fn set_models(&self, models: &[&str]) {
        *lock(&self.state.models) = models.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Streamed bodies dropped before they finished: the client (or the
    /// gateway) went away mid-stream.
    pub fn streams_dropped(&self) -> usize {
        *self.state.dropped.borrow()
    }

    /// Waits until [`streams_dropped`](Self::streams_dropped) is above zero;
    /// `false` if `timeout` passed first.
    pub async fn wait_stream_dropped(&self, timeout: Duration) -> bool {
        let mut rx = self.state.dropped.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n > 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        for task in lock(&self.state.tasks).drain(..) {
            task.abort();
        }
    }
}

impl std::fmt::Debug for FakeUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeUpstream")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Accepts connections until the handle is gone (or the task is aborted).
async fn accept(listener: TcpListener, state: std::sync::Weak<State>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: don't spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Some(state) = state.upgrade() else {
            return;
        };
        let _ = tcp.set_nodelay(true);
        state.spawn(serve(tcp, state.clone()));
    }
}

/// Serves one connection; HTTP/2 streams run on tasks the state tracks.
async fn serve(tcp: TcpStream, state: Arc<State>) {
    let exec = Exec(Arc::downgrade(&state));
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(state, req).await) }
    });
    let _ = auto::Builder::new(exec)
        .serve_connection(TokioIo::new(tcp), service)
        .await;
}

/// Spawns hyper's background tasks so that dropping the handle aborts them.
#[derive(Clone)]
struct Exec(std::sync::Weak<State>);

impl<F> hyper::rt::Executor<F> for Exec
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        match self.0.upgrade() {
            Some(state) => state.spawn(async move {
                fut.await;
            }),
            None => TokioExecutor::new().execute(fut),
        }
    }
}

/// Records the request, then answers it from the script or by default.
async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(Body::new(body), usize::MAX)
        .await
        .unwrap_or_default();
    let rec = Recorded {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        body,
    };
    lock(&state.requests).push(rec.clone());
    state.received.send_modify(|n| *n += 1);
    let scripted = lock(&state.script).pop_front();
    match scripted {
        None => crate::formats::default_reply(&state, &rec),
        Some(reply) => scripted_reply(&state, &rec, reply).await,
    }
}

async fn scripted_reply(state: &Arc<State>, rec: &Recorded, reply: Reply) -> Response {
    match reply {
        Reply::Text(text) => openai::text_reply(state, rec, text),
        Reply::Status {
            status,
            body,
            headers,
        } => status_reply(status, body, &headers),
        Reply::Events { events, delay } => stream::sse(state.clone(), Step::spaced(events, delay)),
        Reply::Gated { first, rest, gate } => {
            let mut steps = vec![Step::Data(first), Step::Wait(gate)];
            steps.extend(rest.into_iter().map(Step::Data));
            stream::sse(state.clone(), steps)
        }
        Reply::Hang => std::future::pending().await,
        Reply::HeadersThenHang => stream::sse(state.clone(), vec![Step::Hang]),
        Reply::BreakAfter { events } => {
            let mut steps = Step::spaced(events, Duration::ZERO);
            // Pause so hyper flushes the events before the abort discards them.
            steps.push(Step::Sleep(BREAK_PAUSE));
            steps.push(Step::Break);
            stream::sse(state.clone(), steps)
        }
    }
}

fn status_reply(status: u16, body: String, headers: &[(String, String)]) -> Response {
    let is_json = serde_json::from_str::<serde_json::Value>(&body).is_ok();
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status)
        .expect("fake upstream: Reply::Status needs a valid status code");
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str()).expect("fake upstream: bad header name");
        let value = HeaderValue::try_from(value.as_str()).expect("fake upstream: bad header value");
        response.headers_mut().append(name, value);
    }
    if is_json && !response.headers().contains_key(header::CONTENT_TYPE) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    response
}

/// Locks, ignoring poisoning: a test that panicked must not hide the state.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
