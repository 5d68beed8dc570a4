//! Chat and text completions: a deterministic reply, whole or streamed word by word.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};
use switchyard_core::Body;

use super::body::Paced;
use super::{Meta, json_response, sse_event};

/// How many words of the prompt the reply repeats.
const PROMPT_WORDS: usize = 24;
const FINGERPRINT: &str = "fp_switchyard_mock";

/// Which API shape to answer in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `/v1/chat/completions`: `chat.completion`, `message` / `delta`.
    Chat,
    /// `/v1/completions`: `text_completion`, `text`.
    Text,
}

/// The mock's reply to a prompt: one word per token.
pub(super) struct Reply {
    words: Vec<String>,
    finish_reason: &'static str,
    prompt_tokens: u64,
}

impl Reply {
    /// `"Mock reply to: "` and the prompt's first words, capped at `max_tokens` words.
    pub(super) fn new(prompt: &str, max_tokens: Option<u64>, prompt_chars: usize) -> Self {
        let mut words: Vec<String> = if prompt.split_whitespace().next().is_none() {
            ["Mock", "reply", "to", "an", "empty", "prompt."]
                .map(str::to_owned)
                .into()
        } else {
            ["Mock", "reply", "to:"]
                .into_iter()
                .chain(prompt.split_whitespace().take(PROMPT_WORDS))
                .map(str::to_owned)
                .collect()
        };
        let cap = max_tokens.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let finish_reason = if cap < words.len() {
            words.truncate(cap);
            "length"
        } else {
            "stop"
        };
        Reply {
            words,
            finish_reason,
            prompt_tokens: (prompt_chars as u64).div_ceil(4).max(1),
        }
    }

    fn text(&self) -> String {
        self.words.join(" ")
    }

    fn usage(&self) -> Value {
        let completion = self.words.len() as u64;
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        })
    }
}

/// The answer: whole JSON, or, when `stream` holds the chunk delay, an event stream.
pub(super) fn answer(
    kind: Kind,
    reply: &Reply,
    meta: &Meta<'_>,
    request: &Value,
    stream: Option<Duration>,
) -> Response<Body> {
    let Some(delay) = stream else {
        return json_response(StatusCode::OK, &whole(kind, reply, meta));
    };
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let chunks = stream_chunks(kind, reply, meta, include_usage);
    let mut res = Response::new(Body::new(Paced::new(chunks, delay)));
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

fn id(kind: Kind, meta: &Meta<'_>) -> String {
    match kind {
        Kind::Chat => format!("chatcmpl-mock-{}", meta.n),
        Kind::Text => format!("cmpl-mock-{}", meta.n),
    }
}

fn whole(kind: Kind, reply: &Reply, meta: &Meta<'_>) -> Value {
    let text = reply.text();
    let (object, choice) = match kind {
        Kind::Chat => (
            "chat.completion",
            json!({
                "index": 0,
                "message": { "role": "assistant", "content": text, "refusal": null },
                "logprobs": null,
                "finish_reason": reply.finish_reason,
            }),
        ),
        Kind::Text => (
            "text_completion",
            json!({
                "text": text,
                "index": 0,
                "logprobs": null,
                "finish_reason": reply.finish_reason,
            }),
        ),
    };
    json!({
        "id": id(kind, meta),
        "object": object,
        "created": meta.created,
        "model": meta.model,
        "choices": [choice],
        "usage": reply.usage(),
        "system_fingerprint": FINGERPRINT,
    })
}

/// Every event of the stream, `data: [DONE]` last.
fn stream_chunks(
    kind: Kind,
    reply: &Reply,
    meta: &Meta<'_>,
    include_usage: bool,
) -> VecDeque<Bytes> {
    let id = id(kind, meta);
    let chunk = |choices: Value| {
        let mut chunk = json!({
            "id": id,
            "object": match kind {
                Kind::Chat => "chat.completion.chunk",
                Kind::Text => "text_completion",
            },
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        });
        if include_usage {
            // As OpenAI does: `usage: null` on every chunk but the last.
            chunk["usage"] = Value::Null;
        }
        chunk
    };
    let choice = |piece: Value, finish_reason: Value| match kind {
        Kind::Chat => json!([{
            "index": 0, "delta": piece, "logprobs": null, "finish_reason": finish_reason,
        }]),
        Kind::Text => json!([{
            "text": piece, "index": 0, "logprobs": null, "finish_reason": finish_reason,
        }]),
    };

    let mut events = VecDeque::with_capacity(reply.words.len() + 4);
    if kind == Kind::Chat {
        let role = json!({ "role": "assistant", "content": "" });
        events.push_back(sse_event(&chunk(choice(role, Value::Null))));
    }
    for (i, word) in reply.words.iter().enumerate() {
        let text = if i == 0 {
            word.clone()
        } else {
            format!(" {word}")
        };
        let piece = match kind {
            Kind::Chat => json!({ "content": text }),
            Kind::Text => json!(text),
        };
        events.push_back(sse_event(&chunk(choice(piece, Value::Null))));
    }
    let end = match kind {
        Kind::Chat => json!({}),
        Kind::Text => json!(""),
    };
    events.push_back(sse_event(&chunk(choice(end, json!(reply.finish_reason)))));
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = reply.usage();
        events.push_back(sse_event(&last));
    }
    events.push_back(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_repeats_the_first_24_words() {
        let prompt: Vec<String> = (1..=30).map(|i| format!("w{i}")).collect();
        let reply = Reply::new(&prompt.join("  \n"), None, 7);
        assert_eq!(reply.words.len(), 3 + 24);
        assert_eq!(reply.words[..4], ["Mock", "reply", "to:", "w1"]);
        assert_eq!(reply.words.last().map(String::as_str), Some("w24"));
        assert_eq!(reply.finish_reason, "stop");
        assert_eq!(reply.prompt_tokens, 2);
    }

    #[test]
    fn empty_prompt_and_caps() {
        let reply = Reply::new(" \t", None, 0);
        assert_eq!(reply.text(), "Mock reply to an empty prompt.");
        assert_eq!(reply.prompt_tokens, 1);
        let reply = Reply::new("a b", Some(2), 3);
        assert_eq!(reply.text(), "Mock reply");
        assert_eq!(reply.finish_reason, "length");
        let reply = Reply::new("a b", Some(5), 3);
        assert_eq!(reply.text(), "Mock reply to: a b");
        assert_eq!(reply.finish_reason, "stop");
    }
}
