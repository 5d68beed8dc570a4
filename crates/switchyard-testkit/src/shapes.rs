//! OpenAI wire shapes: completions, chunks, embeddings, models, errors.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

/// What an answer needs to know about the request it answers.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    /// `chatcmpl-fake-<n>` or `cmpl-fake-<n>`.
    pub id: String,
    /// The request's model.
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    /// Words in the prompt.
    pub prompt_tokens: usize,
    /// The reply text.
    pub text: String,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
}

impl Answer {
    pub(crate) fn new(id: String, request: &Value, prompt_tokens: usize, text: String) -> Self {
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Self {
            id,
            model: request["model"].as_str().unwrap_or("unknown").to_owned(),
            created: now(),
            prompt_tokens,
            text,
            include_usage,
        }
    }

    fn usage(&self) -> Value {
        let completion = words(&self.text);
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        })
    }

    /// A non-streamed `chat.completion`.
    pub(crate) fn chat(&self) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": self.text, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": self.usage(),
            "system_fingerprint": "fp_fake",
        })
    }

    /// The data payloads of a streamed chat completion, `[DONE]` included.
    pub(crate) fn chat_chunks(&self) -> Vec<String> {
        let chunk = |delta: Value, finish: Value| {
            let mut c = json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            });
            if self.include_usage {
                c["usage"] = Value::Null;
            }
            c.to_string()
        };
        let mut out = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        for piece in pieces(&self.text) {
            out.push(chunk(json!({"content": piece}), Value::Null));
        }
        out.push(chunk(json!({}), json!("stop")));
        self.finish(out, "chat.completion.chunk")
    }

    /// A non-streamed `text_completion`.
    pub(crate) fn completion(&self) -> Value {
        json!({
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"text": self.text, "index": 0, "logprobs": null, "finish_reason": "stop"}],
            "usage": self.usage(),
            "system_fingerprint": "fp_fake",
        })
    }

    /// The data payloads of a streamed text completion, `[DONE]` included.
    pub(crate) fn completion_chunks(&self) -> Vec<String> {
        let chunk = |text: &str, finish: Value| {
            json!({
                "id": self.id,
                "object": "text_completion",
                "created": self.created,
                "model": self.model,
                "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}],
            })
            .to_string()
        };
        let mut out: Vec<String> = pieces(&self.text)
            .into_iter()
            .map(|piece| chunk(piece, Value::Null))
            .collect();
        out.push(chunk("", json!("stop")));
        self.finish(out, "text_completion")
    }

    /// Appends the usage chunk (if asked for) and `[DONE]`.
    fn finish(&self, mut out: Vec<String>, object: &str) -> Vec<String> {
        if self.include_usage {
            let usage = json!({
                "id": self.id,
                "object": object,
                "created": self.created,
                "model": self.model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": self.usage(),
            });
            out.push(usage.to_string());
        }
        out.push("[DONE]".to_owned());
        out
    }
}

/// Whitespace-separated words: the fake's token count.
pub(crate) fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Splits text into words, each carrying the whitespace before it, so the
/// pieces join back to exactly `text`.
pub(crate) fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_word) = (0, false);
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                out.push(&text[start..i]);
                start = i;
                in_word = false;
            }
        } else {
            in_word = true;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// An embeddings list: one deterministic vector per input item.
pub(crate) fn embeddings(model: &str, items: &[Value], dims: usize, base64: bool) -> Value {
    let data: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let vector = vector(&item.to_string(), dims);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector.iter().map(|f| f64::from(*f)).collect::<Vec<_>>())
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens: usize = items.iter().map(item_tokens).sum();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

/// Tokens of one embeddings input item: words of a string, length of a
/// token array.
fn item_tokens(item: &Value) -> usize {
    match item {
        Value::String(s) => words(s),
        Value::Array(tokens) => tokens.len(),
        _ => 0,
    }
}

/// `dims` floats in [-1, 1) derived from `seed`, each a multiple of 1/1024
/// so they print short and survive f32 exactly.
pub(crate) fn vector(seed: &str, dims: usize) -> Vec<f32> {
    // FNV-1a, then splitmix64 per component.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..dims as u64)
        .map(|k| {
            let mut z = h.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let steps = (z % 2048) as u16; // < 2^11: exact in f32
            f32::from(steps) / 1024.0 - 1.0
        })
        .collect()
}

/// A model object as `GET /v1/models` lists it.
pub(crate) fn model(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "fake"})
}

/// An OpenAI error body.
pub(crate) fn error(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_back() {
        for text in ["echo: hello there", "", " a  b\n", "one"] {
            assert_eq!(pieces(text).concat(), text);
        }
        assert_eq!(pieces("echo: hi there"), ["echo:", " hi", " there"]);
    }

    #[test]
    fn vectors_are_deterministic_and_distinct() {
        assert_eq!(vector("\"a\"", 8), vector("\"a\"", 8));
        assert_ne!(vector("\"a\"", 8), vector("\"b\"", 8));
        assert!(vector("x", 8).iter().all(|f| (-1.0..1.0).contains(f)));
    }
}
