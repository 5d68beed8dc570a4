//! Helpers shared by the testkit's own tests.
#![allow(dead_code, reason = "each test binary uses a subset")]

use std::time::Duration;

use serde_json::Value;

/// A client that never goes through a proxy from the environment.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// POSTs JSON to `base + path`.
pub async fn post(base: &str, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .expect("send")
}

/// Reads SSE `data:` payloads off a streaming response, one at a time.
pub struct Events {
    res: reqwest::Response,
    buf: String,
}

impl Events {
    pub fn new(res: reqwest::Response) -> Self {
        Self {
            res,
            buf: String::new(),
        }
    }

    /// The next payload; `Ok(None)` at the end of the body, `Err` if the
    /// body failed.
    pub async fn next(&mut self) -> Result<Option<String>, reqwest::Error> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let event: String = self.buf.drain(..end + 2).collect();
                let data = event
                    .trim_end()
                    .strip_prefix("data: ")
                    .expect("event is one data line")
                    .to_owned();
                return Ok(Some(data));
            }
            match self.res.chunk().await? {
                Some(chunk) => self
                    .buf
                    .push_str(std::str::from_utf8(&chunk).expect("utf-8")),
                None => {
                    assert!(self.buf.is_empty(), "unterminated event: {:?}", self.buf);
                    return Ok(None);
                }
            }
        }
    }

    /// `next` within `wait`; `None` if nothing came in time.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Option<String>> {
        tokio::time::timeout(wait, self.next())
            .await
            .ok()
            .map(|r| r.expect("body error"))
    }

    /// Every remaining payload.
    pub async fn all(mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(event) = self.next().await.expect("body error") {
            out.push(event);
        }
        out
    }
}

/// Parses an SSE payload as JSON.
pub fn parse(event: &str) -> Value {
    serde_json::from_str(event).unwrap_or_else(|e| panic!("not JSON ({e}): {event}"))
}
