//! The load generator's HTTP side: one hyper HTTP/1.1 connection per worker,
//! the chat request bodies, and checked exchanges (a wrong answer is an
//! error, never a fast figure).

use std::net::{Ipv4Addr, SocketAddr};

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

use crate::upstream::{MARKER, REPLY, now_ns};

/// One kept-alive HTTP/1.1 connection.
pub type Conn = SendRequest<Full<Bytes>>;

/// Opens a connection to `addr` (from `local`, when given), with `TCP_NODELAY`.
pub async fn connect(addr: SocketAddr, local: Option<Ipv4Addr>) -> Result<Conn, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(ip) = local {
        socket
            .bind(SocketAddr::from((ip, 0)))
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let tcp = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// A chat completion request of about `size` bytes, in the shape OpenAI SDKs send.
pub fn chat_body(size: usize, model: &str, stream: bool) -> Bytes {
    const TEXT: &str = "We are migrating the billing service from a monolith to three \
        services behind a queue. Summarise the risks of running both paths in \
        parallel for a month, and say which metrics would tell us to roll back. ";
    let mut messages = vec![serde_json::json!({
        "role": "system",
        "content": "You are a careful senior engineer. Answer briefly, with concrete steps."
    })];
    let mut len = 200;
    let mut turn = 0;
    while len < size {
        let room = size - len;
        let content: String = TEXT.repeat(3).chars().take(room.clamp(16, 600)).collect();
        len += content.len() + 40;
        let role = if turn % 2 == 0 { "user" } else { "assistant" };
        messages.push(serde_json::json!({"role": role, "content": content}));
        turn += 1;
    }
    let mut body = serde_json::json!({
        "model": model,
        "messages": messages,
        "temperature": 0.7,
        "max_tokens": 256,
        "user": "bench-user-0001",
    });
    if stream {
        body["stream"] = serde_json::Value::Bool(true);
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

fn request(body: &Bytes) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body.clone()));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = http::Uri::from_static("/v1/chat/completions");
    let h = req.headers_mut();
    h.insert(
        http::header::HOST,
        http::HeaderValue::from_static("127.0.0.1"),
    );
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    h.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static("Bearer sk-bench"),
    );
    req
}

async fn send(conn: &mut Conn, body: &Bytes) -> Result<hyper::Response<Incoming>, String> {
    conn.ready().await.map_err(|e| format!("connection: {e}"))?;
    let res = conn
        .send_request(request(body))
        .await
        .map_err(|e| format!("request: {e}"))?;
    if res.status() != http::StatusCode::OK {
        let status = res.status();
        let text = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&text[..text.len().min(200)])
        ));
    }
    Ok(res)
}

/// One non-streamed exchange; the reply must be the upstream's, byte for byte in length.
pub async fn exchange(conn: &mut Conn, body: &Bytes) -> Result<(), String> {
    let res = send(conn, body).await?;
    let got = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reply body: {e}"))?
        .to_bytes();
    if got.len() != REPLY.len() {
        return Err(format!(
            "reply of {} bytes, expected {}",
            got.len(),
            REPLY.len()
        ));
    }
    Ok(())
}

/// Timings of one streamed exchange, in nanoseconds.
#[derive(Debug, Default)]
pub struct StreamTimes {
    /// From the start of the request to the first body byte.
    pub ttfb: u64,
    /// For each event: from the upstream writing it to the client reading it.
    pub delays: Vec<u64>,
    /// From the upstream writing the last event to the client seeing the body end.
    pub end: u64,
}

/// One streamed exchange started at `started` (on [`now_ns`]'s clock); all
/// `chunks` events and `[DONE]` must arrive.
pub async fn stream(
    conn: &mut Conn,
    body: &Bytes,
    started: u64,
    chunks: usize,
) -> Result<StreamTimes, String> {
    let res = send(conn, body).await?;
    let mut body = res.into_body();
    let mut times = StreamTimes::default();
    let mut events = Events::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("stream: {e}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let now = now_ns();
        if times.ttfb == 0 {
            times.ttfb = now.saturating_sub(started);
        }
        events.feed(&data, now, &mut times.delays);
    }
    times.end = now_ns().saturating_sub(events.last_sent);
    events.check(chunks)?;
    Ok(times)
}

/// Starts a streamed exchange and returns its body once the first event arrived.
pub async fn open_stream(conn: &mut Conn, body: &Bytes) -> Result<Incoming, String> {
    let res = send(conn, body).await?;
    let mut body = res.into_body();
    match body.frame().await {
        Some(Ok(f))
            if f.data_ref()
                .is_some_and(|d| memchr::memmem::find(d, MARKER).is_some()) =>
        {
            Ok(body)
        }
        Some(Ok(_)) => Err("first frame is not an event".into()),
        Some(Err(e)) => Err(format!("stream: {e}")),
        None => Err("stream ended before its first event".into()),
    }
}

/// Reads the rest of a stream opened with [`open_stream`]; `[DONE]` must arrive.
pub async fn finish_stream(mut body: Incoming) -> Result<(), String> {
    let mut tail = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("stream: {e}"))?;
        if let Ok(data) = frame.into_data() {
            tail.extend_from_slice(&data);
            if tail.len() > 64 {
                let keep = tail.split_off(tail.len() - 64);
                tail = keep;
            }
        }
    }
    if tail.ends_with(b"data: [DONE]\n\n") {
        Ok(())
    } else {
        Err("stream ended without [DONE]".into())
    }
}

/// Splits a stream into SSE events and reads each one's send time.
#[derive(Default)]
struct Events {
    buf: BytesMut,
    stamped: usize,
    done: bool,
    last_sent: u64,
}

impl Events {
    fn feed(&mut self, data: &[u8], now: u64, delays: &mut Vec<u64>) {
        self.buf.extend_from_slice(data);
        while let Some(end) = memchr::memmem::find(&self.buf, b"\n\n") {
            let event = self.buf.split_to(end + 2);
            if event.starts_with(b"data: [DONE]") {
                self.done = true;
            } else if let Some(sent) = sent_at(&event) {
                self.stamped += 1;
                self.last_sent = sent;
                delays.push(now.saturating_sub(sent));
            }
        }
    }

    fn check(&self, chunks: usize) -> Result<(), String> {
        if self.stamped != chunks || !self.done || !self.buf.is_empty() {
            return Err(format!(
                "stream delivered {} of {chunks} events, [DONE] {}, {} stray bytes",
                self.stamped,
                if self.done { "seen" } else { "missing" },
                self.buf.len()
            ));
        }
        Ok(())
    }
}

fn sent_at(event: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(event, MARKER)? + MARKER.len();
    std::str::from_utf8(event.get(at..at + 16)?)
        .ok()?
        .parse()
        .ok()
}
