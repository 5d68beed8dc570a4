//! The fast upstream: a minimal hyper server answering like OpenAI's chat
//! completions endpoint, as cheaply as possible, so the figures measure the
//! gateway and not the upstream.
//!
//! - a plain request gets a fixed `chat.completion` JSON;
//! - `"stream":true` gets `chunks` SSE events `gap` apart, then (when the
//!   request asks for `stream_options.include_usage`) a usage chunk, then `[DONE]`;
//! - model `bench-hold` streams one event, then holds the stream open until
//!   [`Upstream::release`], then sends the rest at once.
//!
//! Every streamed event carries the time it was written (nanoseconds on the
//! bench's clock) in `system_fingerprint`, so the client measures each event's
//! delivery delay exactly; the gateway forwards the bytes unchanged.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The non-streamed reply, byte for byte.
pub const REPLY: &str = r#"{"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion","created":1700000000,"model":"bench-fast","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Switchyard sits between your client and the provider. This reply is fixed so that every byte of work measured is the gateway's own: parse, route, forward, and stream back.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":512,"completion_tokens":38,"total_tokens":550,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#;

/// Precedes the 16-digit send time in every streamed event.
pub const MARKER: &[u8] = br#""system_fingerprint":"t"#;

/// Nanoseconds since the bench started, on a clock shared by upstream and client.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A running upstream.
pub struct Upstream {
    /// Address whose connections have `TCP_NODELAY` set, as any good server's do.
    pub addr: SocketAddr,
    /// Address whose connections keep Nagle's algorithm on (the canary).
    pub nagle_addr: SocketAddr,
    release: watch::Sender<bool>,
}

struct Shared {
    /// Serve h2c (prior knowledge) too, on the same port as HTTP/1.1.
    http2: bool,
    chunks: usize,
    gap: Duration,
    release: watch::Receiver<bool>,
}

type ResBody = UnsyncBoxBody<Bytes, Infallible>;

impl Upstream {
    /// Starts the upstream on 127.0.0.1 (two ports) on the current runtime.
    /// With `http2`, it serves h2c (prior knowledge) as well as HTTP/1.1.
    pub async fn start(chunks: usize, gap: Duration, http2: bool) -> std::io::Result<Upstream> {
        let (release, rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            http2,
            chunks: chunks.max(1),
            gap,
            release: rx,
        });
        let fast = TcpListener::bind("127.0.0.1:0").await?;
        let nagle = TcpListener::bind("127.0.0.1:0").await?;
        let up = Upstream {
            addr: fast.local_addr()?,
            nagle_addr: nagle.local_addr()?,
            release,
        };
        tokio::spawn(accept(fast, true, shared.clone()));
        tokio::spawn(accept(nagle, false, shared));
        Ok(up)
    }

    /// Lets every held stream finish (`true`), or arms the hold again (`false`).
    pub fn release(&self, open: bool) {
        self.release.send_replace(open);
    }
}

async fn accept(listener: TcpListener, nodelay: bool, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                if nodelay {
                    let _ = tcp.set_nodelay(true);
                }
                tokio::spawn(serve(tcp, shared.clone()));
            }
            // Out of file descriptors, most likely: back off, keep serving.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    let http2 = shared.http2;
    let service = hyper::service::service_fn(move |req| handle(req, shared.clone()));
    if http2 {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // More than the gateway puts on one connection (100 by default).
        builder.http2().max_concurrent_streams(10_000);
        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
        return;
    }
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service)
        .await;
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<ResBody>, Infallible> {
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                "application/json",
                Bytes::new(),
            ));
        }
    };
    let finder = |needle: &[u8]| memchr::memmem::find(&body, needle).is_some();
    if finder(b"bench-hold") {
        Ok(stream(shared, true, false))
    } else if finder(br#""stream":true"#) {
        Ok(stream(shared, false, finder(br#""include_usage":true"#)))
    } else {
        Ok(plain(
            StatusCode::OK,
            "application/json",
            Bytes::from_static(REPLY.as_bytes()),
        ))
    }
}

fn plain(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ResBody> {
    let mut res = Response::new(Full::new(body).boxed_unsync());
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}

fn stream(shared: Arc<Shared>, hold: bool, usage: bool) -> Response<ResBody> {
    let release = shared.release.clone();
    let events = futures_util::stream::unfold(0usize, move |i| {
        let shared = shared.clone();
        let wait = (hold && i == 1).then(|| release.clone());
        async move {
            if i >= shared.chunks {
                return None;
            }
            match wait {
                Some(mut rx) => {
                    let _ = rx.wait_for(|open| *open).await;
                }
                None if i > 0 && !hold => tokio::time::sleep(shared.gap).await,
                None => {}
            }
            let frame = Frame::data(event(i, shared.chunks, now_ns(), usage));
            Some((Ok::<_, Infallible>(frame), i + 1))
        }
    });
    let mut res = Response::new(StreamBody::new(events).boxed_unsync());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    res
}

/// Event `i` of `n`, stamped with its send time; the last carries `[DONE]`
/// too, after a usage chunk when the request asked for one
/// (`stream_options.include_usage`, as OpenAI answers it).
fn event(i: usize, n: usize, sent_ns: u64, usage: bool) -> Bytes {
    let (delta, finish) = match i {
        0 => (r#"{"role":"assistant","content":""}"#.to_owned(), "null"),
        _ if i + 1 == n => (format!(r#"{{"content":" token{i:03}."}}"#), r#""stop""#),
        _ => (format!(r#"{{"content":" token{i:03}"}}"#), "null"),
    };
    let done = match (i + 1 == n, usage) {
        (false, _) => "",
        (true, false) => "data: [DONE]\n\n",
        (true, true) => concat!(
            "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,",
            "\"model\":\"bench-stream\",\"choices\":[],\"usage\":{\"prompt_tokens\":512,",
            "\"completion_tokens\":19,\"total_tokens\":531}}\n\ndata: [DONE]\n\n"
        ),
    };
    Bytes::from(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench-stream\",\"system_fingerprint\":\"t{sent_ns:016}\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n{done}"
    ))
}
