//! Scripted replies, gates, hangs, breaks and drop accounting.

mod common;

use std::time::Duration;

use common::{Events, client, parse, post};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Gate, Reply};

const SHORT: Duration = Duration::from_millis(150);
const LONG: Duration = Duration::from_secs(5);

fn chat(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn replies_are_used_in_order_then_the_default() {
    let up = FakeUpstream::start().await;
    up.push(Reply::Status {
        status: 429,
        body: r#"{"error":{"message":"slow down"}}"#.into(),
        headers: vec![("retry-after".into(), "7".into())],
    });
    up.push(Reply::Status {
        status: 500,
        body: "boom".into(),
        headers: vec![],
    });
    up.push(Reply::Text("scripted words here".into()));

    let res = post(&up.base_url(), "/chat/completions", &chat(false)).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(res.headers()["content-type"], "application/json");
    // Scripted replies ignore the path.
    let res = client()
        .get(format!("{}/models", up.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 500);
    assert!(res.headers().get("content-type").is_none());
    assert_eq!(res.text().await.expect("text"), "boom");

    let res: Value = post(&up.base_url(), "/chat/completions", &chat(false))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        res["choices"][0]["message"]["content"],
        "scripted words here"
    );
    assert_eq!(res["usage"]["completion_tokens"], 3);
    assert_eq!(res["model"], "m");

    let res: Value = post(&up.base_url(), "/chat/completions", &chat(false))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(res["choices"][0]["message"]["content"], "echo: hi");
    assert_eq!(up.requests().len(), 4);
}

#[tokio::test]
async fn text_reply_streams_when_asked_and_keeps_its_whitespace() {
    let up = FakeUpstream::start().await;
    up.push(Reply::Text("two  spaces\nand lines".into()));
    let events = Events::new(post(&up.base_url(), "/chat/completions", &chat(true)).await)
        .all()
        .await;
    let text: String = events[1..events.len() - 2]
        .iter()
        .map(|e| {
            parse(e)["choices"][0]["delta"]["content"]
                .as_str()
                .expect("content")
                .to_owned()
        })
        .collect();
    assert_eq!(text, "two  spaces\nand lines");

    up.push(Reply::Text("done".into()));
    let body = json!({"model": "m", "prompt": "p"});
    let res: Value = post(&up.base_url(), "/completions", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(res["object"], "text_completion");
    assert_eq!(res["choices"][0]["text"], "done");
}

#[tokio::test]
async fn events_are_sent_raw() {
    let up = FakeUpstream::start().await;
    up.push(Reply::Events {
        events: vec![r#"{"a":1}"#.into(), "not json".into(), "[DONE]".into()],
        delay: Duration::from_millis(1),
    });
    let res = post(&up.base_url(), "/chat/completions", &chat(true)).await;
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(
        Events::new(res).all().await,
        [r#"{"a":1}"#, "not json", "[DONE]"]
    );
    assert_eq!(up.streams_dropped(), 0);
}

#[tokio::test]
async fn gated_stream_holds_the_rest_until_opened() {
    let up = FakeUpstream::start().await;
    let gate = Gate::new();
    up.push(Reply::Gated {
        first: "one".into(),
        rest: vec!["two".into(), "[DONE]".into()],
        gate: gate.clone(),
    });
    let mut events = Events::new(post(&up.base_url(), "/chat/completions", &chat(true)).await);
    assert_eq!(events.next().await.expect("body"), Some("one".into()));
    assert_eq!(
        events.next_within(SHORT).await,
        None,
        "nothing passes a closed gate"
    );
    gate.open();
    assert_eq!(events.next().await.expect("body"), Some("two".into()));
    assert_eq!(events.next().await.expect("body"), Some("[DONE]".into()));
    assert_eq!(events.next().await.expect("body"), None);
}

#[tokio::test]
async fn a_gate_opened_before_the_request_does_not_block() {
    let up = FakeUpstream::start().await;
    let gate = Gate::default();
    gate.open();
    up.push(Reply::Gated {
        first: "one".into(),
        rest: vec!["two".into()],
        gate,
    });
    let res = post(&up.base_url(), "/chat/completions", &chat(true)).await;
    let all = tokio::time::timeout(LONG, Events::new(res).all())
        .await
        .expect("not blocked");
    assert_eq!(all, ["one", "two"]);
}

#[tokio::test]
async fn a_stream_dropped_mid_way_is_counted() {
    let up = FakeUpstream::start().await;
    let gate = Gate::new();
    up.push(Reply::Gated {
        first: "one".into(),
        rest: vec!["two".into()],
        gate,
    });
    let mut events = Events::new(post(&up.base_url(), "/chat/completions", &chat(true)).await);
    assert_eq!(events.next().await.expect("body"), Some("one".into()));
    assert_eq!(up.streams_dropped(), 0);
    drop(events);
    assert!(up.wait_stream_dropped(LONG).await, "the drop is noticed");
    assert_eq!(up.streams_dropped(), 1);
}

#[tokio::test]
async fn wait_stream_dropped_times_out() {
    let up = FakeUpstream::start().await;
    assert!(!up.wait_stream_dropped(Duration::from_millis(20)).await);
}

#[tokio::test]
async fn hang_records_the_request_and_never_answers() {
    let up = FakeUpstream::start().await;
    up.push(Reply::Hang);
    let url = format!("{}/chat/completions", up.base_url());
    let send = client().post(url).json(&chat(false)).send();
    let request = tokio::spawn(send);
    assert!(up.wait_requests(1, LONG).await);
    assert_eq!(up.requests()[0].json(), chat(false));
    tokio::time::sleep(SHORT).await;
    assert!(!request.is_finished(), "no answer, not even headers");
    request.abort();
}

#[tokio::test]
async fn headers_then_hang_sends_headers_only() {
    let up = FakeUpstream::start().await;
    up.push(Reply::HeadersThenHang);
    let res = tokio::time::timeout(LONG, post(&up.base_url(), "/chat/completions", &chat(true)))
        .await
        .expect("headers arrive");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = Events::new(res);
    assert_eq!(events.next_within(SHORT).await, None, "no body");
    drop(events);
    assert!(up.wait_stream_dropped(LONG).await);
}

#[tokio::test]
async fn break_after_aborts_the_connection() {
    let up = FakeUpstream::start().await;
    up.push(Reply::BreakAfter {
        events: vec!["one".into(), "two".into()],
    });
    let mut events = Events::new(post(&up.base_url(), "/chat/completions", &chat(true)).await);
    assert_eq!(events.next().await.expect("body"), Some("one".into()));
    assert_eq!(events.next().await.expect("body"), Some("two".into()));
    assert!(
        events.next().await.is_err(),
        "the body fails instead of ending"
    );
    assert_eq!(
        up.streams_dropped(),
        0,
        "a scripted break is not a client drop"
    );
}

#[tokio::test]
async fn dropping_the_fake_stops_it() {
    let up = FakeUpstream::start().await;
    up.push(Reply::Hang);
    let url = format!("{}/chat/completions", up.base_url());
    let addr = up.addr();
    let request = tokio::spawn(client().post(url).json(&chat(false)).send());
    assert!(up.wait_requests(1, LONG).await);
    drop(up);
    let res = tokio::time::timeout(LONG, request)
        .await
        .expect("in-flight request ends")
        .expect("join");
    assert!(res.is_err(), "the open connection is closed");
    let refused = async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(LONG, refused)
        .await
        .expect("the listener is closed");
}
