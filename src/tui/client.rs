//! [`AdminClient`]: the HTTP side of the terminal clients — the live feed
//! (`/admin/events`), `/health`, `/v1/models` and a streamed chat completion.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use switchyard_core::SseParser;

use super::ConnectArgs;

/// A feed that sent nothing, not even a keep-alive (every 15 s), for this
/// long is taken as lost.
const FEED_SILENCE: Duration = Duration::from_secs(45);

/// Why a call to the gateway failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// No HTTP answer: connection refused, DNS, TLS, timeout, or a dropped connection.
    Unreachable(String),
    /// The gateway refused the key (401) or the client (403).
    Refused(String),
    /// Any other error status, with the gateway's message.
    Status(u16, String),
    /// An answer that is not what the API promises.
    Protocol(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Unreachable(e) => write!(f, "cannot reach the gateway: {e}"),
            ClientError::Refused(e) => write!(f, "refused: {e}"),
            ClientError::Status(s, e) => write!(f, "HTTP {s}: {e}"),
            ClientError::Protocol(e) => write!(f, "unexpected answer: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

fn unreachable(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        return ClientError::Unreachable("timed out".into());
    }
    // reqwest's own text is "error sending request for url (...)"; the root
    // cause (e.g. "Connection refused (os error 111)") says why.
    let mut root: &dyn std::error::Error = &e;
    while let Some(s) = root.source() {
        root = s;
    }
    ClientError::Unreachable(root.to_string())
}

/// One SSE event of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedMessage {
    /// The event name (`start`, `routed`, `first_token`, `complete`, `lagged`).
    pub event: String,
    /// Its data (JSON text).
    pub data: String,
}

/// An open `/admin/events` stream.
pub struct Feed {
    response: reqwest::Response,
    parser: SseParser,
    queue: VecDeque<FeedMessage>,
}

impl Feed {
    /// The next event; `Ok(None)` when the gateway closed the stream.
    pub async fn next(&mut self) -> Result<Option<FeedMessage>, ClientError> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                return Ok(Some(m));
            }
            let chunk = tokio::time::timeout(FEED_SILENCE, self.response.chunk())
                .await
                .map_err(|_| {
                    ClientError::Unreachable(format!(
                        "the feed sent nothing for {}s",
                        FEED_SILENCE.as_secs()
                    ))
                })?
                .map_err(unreachable)?;
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            let queue = &mut self.queue;
            self.parser.feed(&chunk, |ev| {
                queue.push_back(FeedMessage {
                    event: ev.event.unwrap_or("message").to_owned(),
                    data: String::from_utf8_lossy(ev.data).into_owned(),
                });
            });
        }
    }
}

/// How a chat answer went, once it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatDone {
    /// `x-switchyard-provider`/`x-switchyard-model` of the answer, when given.
    pub routed_to: Option<String>,
}

/// A client of one gateway: its admin API and its OpenAI endpoint.
#[derive(Clone, Debug)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    admin_key: Option<String>,
}

impl AdminClient {
    /// A client of the gateway at `args.url` (`http://` or `https://`).
    pub fn new(args: &ConnectArgs) -> Result<AdminClient, String> {
        let base = args.url.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base).map_err(|e| format!("--url `{base}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!(
                "--url `{base}`: expected http://host:port or https://host"
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(AdminClient {
            http,
            base,
            admin_key: args.admin_key.clone().filter(|k| !k.is_empty()),
        })
    }

    /// The gateway's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn admin(&self, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.get(format!("{}{path}", self.base));
        match &self.admin_key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    /// Opens the live feed.
    pub async fn feed(&self) -> Result<Feed, ClientError> {
        let response = self
            .admin("/admin/events")
            .header(http::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(unreachable)?;
        let response = check(response).await?;
        Ok(Feed {
            response,
            parser: SseParser::new(),
            queue: VecDeque::new(),
        })
    }

    /// `GET /admin/records/{id}`: one request with its bodies.
    pub async fn record(&self, id: &str) -> Result<Value, ClientError> {
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ClientError::Protocol(format!("`{id}` is not a request id")));
        }
        let res = self
            .admin(&format!("/admin/records/{id}"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(unreachable)?;
        json_body(check(res).await?).await
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<Value, ClientError> {
        let res = self
            .http
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(unreachable)?;
        json_body(check(res).await?).await
    }

    /// The model ids of `GET /v1/models`, in the gateway's order.
    pub async fn models(&self, api_key: Option<&str>) -> Result<Vec<String>, ClientError> {
        let mut req = self
            .http
            .get(format!("{}/v1/models", self.base))
            .timeout(Duration::from_secs(30));
        if let Some(k) = api_key {
            req = req.bearer_auth(k);
        }
        let v = json_body(check(req.send().await.map_err(unreachable)?).await?).await?;
        let data = v["data"]
            .as_array()
            .ok_or_else(|| ClientError::Protocol("`/v1/models` has no `data` list".into()))?;
        Ok(data
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect())
    }

    /// Sends `prompt` to `model` through `/v1/chat/completions`, streamed,
    /// calling `on_delta` with each piece of the answer's text.
    pub async fn chat(
        &self,
        api_key: Option<&str>,
        model: &str,
        prompt: &str,
        mut on_delta: impl FnMut(&str),
    ) -> Result<ChatDone, ClientError> {
        let body = json!({
            "model": model,
            "stream": true,
            "messages": [{"role": "user", "content": prompt}],
        });
        let mut req = self
            .http
            .post(format!("{}/v1/chat/completions", self.base))
            .header("x-source", "switchyard-top")
            .json(&body);
        if let Some(k) = api_key {
            req = req.bearer_auth(k);
        }
        let mut res = check(req.send().await.map_err(unreachable)?).await?;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let routed_to = match (
            header("x-switchyard-provider"),
            header("x-switchyard-model"),
        ) {
            (Some(p), Some(m)) => Some(format!("{p}/{m}")),
            (p, m) => p.or(m),
        };
        let streamed = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !streamed {
            // An upstream that answered whole although asked to stream.
            let v = json_body(res).await?;
            let text = v["choices"][0]["message"]["content"]
                .as_str()
                .ok_or_else(|| {
                    ClientError::Protocol("an answer without `choices[0].message`".into())
                })?;
            on_delta(text);
            return Ok(ChatDone { routed_to });
        }
        let mut parser = SseParser::new();
        let mut failure = None;
        while let Some(chunk) = res.chunk().await.map_err(unreachable)? {
            parser.feed(&chunk, |ev| {
                if ev.is_done() {
                    return;
                }
                let Ok(v) = serde_json::from_slice::<Value>(ev.data) else {
                    return;
                };
                if let Some(msg) = v["error"]["message"].as_str() {
                    failure = Some(msg.to_owned());
                }
                if let Some(text) = v["choices"][0]["delta"]["content"].as_str() {
                    on_delta(text);
                }
            });
        }
        match failure {
            Some(msg) => Err(ClientError::Protocol(format!("the stream failed: {msg}"))),
            None => Ok(ChatDone { routed_to }),
        }
    }
}

/// The response if its status is a success, else its error as a [`ClientError`].
async fn check(res: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let text = res.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            let t = text.trim();
            if t.is_empty() {
                status.canonical_reason().unwrap_or("error").to_owned()
            } else {
                t.chars().take(300).collect()
            }
        });
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ClientError::Refused(message),
        s => ClientError::Status(s.as_u16(), message),
    })
}

async fn json_body(res: reqwest::Response) -> Result<Value, ClientError> {
    let bytes = res.bytes().await.map_err(unreachable)?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(format!("not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};

    /// A stand-in gateway on 127.0.0.1 serving `router`.
    async fn serve(router: Router) -> AdminClient {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        AdminClient::new(&ConnectArgs {
            url: format!("http://{addr}/"),
            admin_key: Some("k".into()),
        })
        .unwrap()
    }

    async fn chat_text(client: &AdminClient) -> Result<String, ClientError> {
        let mut text = String::new();
        client
            .chat(None, "m", "hi", |d| text.push_str(d))
            .await
            .map(|_| text)
    }

    #[tokio::test]
    async fn chat_answers_whole_streamed_broken_and_refused() {
        let whole = serve(Router::new().route(
            "/v1/chat/completions",
            post(|| async {
                axum::Json(
                    json!({"choices": [{"message": {"role": "assistant", "content": "whole"}}]}),
                )
            }),
        ))
        .await;
        assert_eq!(chat_text(&whole).await.unwrap(), "whole");

        let streamed = serve(Router::new().route(
            "/v1/chat/completions",
            post(|| async {
                let body = "data: {\"choices\":[{\"delta\":{\"content\":\"str\"}}]}\n\n\
                            data: {\"choices\":[{\"delta\":{\"content\":\"eamed\"}}]}\n\ndata: [DONE]\n\n";
                (
                    [
                        (http::header::CONTENT_TYPE, "text/event-stream"),
                        (http::header::HeaderName::from_static("x-switchyard-provider"), "p"),
                        (http::header::HeaderName::from_static("x-switchyard-model"), "m1"),
                    ],
                    body,
                )
                    .into_response()
            }),
        ))
        .await;
        let mut text = String::new();
        let done = streamed
            .chat(None, "m", "hi", |d| text.push_str(d))
            .await
            .unwrap();
        assert_eq!(
            (text.as_str(), done.routed_to.as_deref()),
            ("streamed", Some("p/m1"))
        );

        let broken = serve(Router::new().route(
            "/v1/chat/completions",
            post(|| async {
                (
                    [(http::header::CONTENT_TYPE, "text/event-stream")],
                    "data: {\"error\":{\"message\":\"upstream broke\"}}\n\n",
                )
            }),
        ))
        .await;
        let e = chat_text(&broken).await.unwrap_err();
        assert!(e.to_string().contains("upstream broke"), "{e}");

        let refused = serve(
            Router::new()
                .route(
                    "/v1/chat/completions",
                    post(|| async {
                        (
                            StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"error": {"message": "bad key"}})),
                        )
                    }),
                )
                .route(
                    "/admin/events",
                    get(|| async { (StatusCode::FORBIDDEN, "no") }),
                ),
        )
        .await;
        assert_eq!(
            chat_text(&refused).await.unwrap_err(),
            ClientError::Refused("bad key".into())
        );
        assert_eq!(
            refused.feed().await.err(),
            Some(ClientError::Refused("no".into()))
        );
        let e = refused.record("../../etc").await.unwrap_err();
        assert!(matches!(e, ClientError::Protocol(_)), "{e}");
    }

    #[test]
    fn urls_are_checked() {
        let args = |url: &str| ConnectArgs {
            url: url.into(),
            admin_key: Some(String::new()),
        };
        assert!(AdminClient::new(&args("ftp://x")).is_err());
        assert!(AdminClient::new(&args("not a url")).is_err());
        let c = AdminClient::new(&args("https://gw.example/")).unwrap();
        assert_eq!(c.base(), "https://gw.example");
        assert_eq!(c.admin_key, None, "an empty key is no key");
    }
}
