//! The listener through the real binary: HTTP/1.1 and HTTP/2 with prior
//! knowledge (h2c) on one port, told apart from a connection's first bytes
//! however they arrive.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on unexpected errors"
)]

mod common;

use std::time::Duration;

use common::Gateway;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MOCK: &str =
    "[[providers]]\nid = \"mock\"\nkind = \"mock\"\nmodels = [\"mock-*\"]\nchunk_delay_ms = 1\n";

fn addr(gw: &Gateway) -> String {
    gw.at("").trim_start_matches("http://").to_owned()
}

/// Sends `parts` with a pause between them; returns the whole answer (the
/// request asks for the connection to close).
async fn send_in_parts(gw: &Gateway, parts: &[&[u8]]) -> String {
    let mut tcp = TcpStream::connect(addr(gw)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    for part in parts {
        tcp.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("the gateway answers and closes")
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served_on_the_same_port() {
    let gw = Gateway::start(MOCK);
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let res = h2
        .post(gw.at("/v1/chat/completions"))
        .json(&json!({"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    // And HTTP/1.1 next to it.
    let res = common::client().get(gw.at("/health")).send().await.unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_http1_request_arriving_a_byte_at_a_time_is_read_whole() {
    let gw = Gateway::start(MOCK);
    let body = br#"{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        body.len(),
        std::str::from_utf8(body).unwrap()
    );
    // `P` is also how HTTP/2's preface starts: the sniffing must wait for
    // the second byte, then hand both over with the rest.
    let bytes = request.as_bytes();
    let mut parts: Vec<&[u8]> = bytes[..8].chunks(1).collect();
    parts.push(&bytes[8..]);
    let answer = send_in_parts(&gw, &parts).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"chat.completion\""), "{answer}");
}

#[tokio::test]
async fn a_request_that_looks_like_the_http2_preface_but_is_not_gets_an_http1_error() {
    let gw = Gateway::start(MOCK);
    // The preface's first 14 bytes, then HTTP/1: a malformed HTTP/1 request.
    let answer = send_in_parts(&gw, &[b"PRI * HTTP/2.0", b"\r\nhost: x\r\n\r\n"]).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // The listener is still there for the next client.
    let res = common::client().get(gw.at("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_connection_closed_before_its_first_request_leaves_the_listener_serving() {
    let gw = Gateway::start(MOCK);
    for prefix in [&b""[..], b"P", b"PRI * HTTP/2.0\r\n"] {
        let mut tcp = TcpStream::connect(addr(&gw)).await.unwrap();
        tcp.write_all(prefix).await.unwrap();
        drop(tcp);
    }
    let res = common::client().get(gw.at("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn connections_that_sent_nothing_do_not_hold_up_a_shutdown() {
    let mut gw = Gateway::start(&format!("shutdown_grace_secs = 20\n{MOCK}"));
    // A browser's preconnect (nothing sent) and a request cut off mid-preface.
    let idle = TcpStream::connect(addr(&gw)).await.unwrap();
    let mut partial = TcpStream::connect(addr(&gw)).await.unwrap();
    partial.write_all(b"PRI * ").await.unwrap();
    let res = common::client().get(gw.at("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    gw.signal("TERM");
    let status = gw.wait_exit(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "still running 5 s after SIGTERM (grace 20 s): {status:?}; logs:\n{}",
        gw.logs()
    );
    drop((idle, partial));
}
