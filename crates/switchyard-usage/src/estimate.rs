//! Offline token counting with a real BPE tokenizer, for answers whose
//! provider reported no usage.
//!
//! OpenAI's `o200k_base` (GPT-4o and later) is used for every model except
//! the older GPT-4 / GPT-3.5 and embedding models, which use `cl100k_base`.
//! For other vendors' models the count is an approximation, which is why
//! estimated usage is marked as such. The ranks are embedded in the binary;
//! nothing is downloaded. Each tokenizer is built once, on first use.

use serde_json::Value;
use switchyard_core::Endpoint;
use tiktoken_rs::CoreBPE;

/// Tokens added per chat message for the role and separators (OpenAI's recipe).
const PER_MESSAGE: u64 = 3;
/// Tokens that prime the reply.
const REPLY_PRIMER: u64 = 3;

fn tokenizer(model: &str) -> &'static CoreBPE {
    let legacy = model.starts_with("gpt-4-")
        || model == "gpt-4"
        || model.starts_with("gpt-3.5")
        || model.starts_with("text-embedding");
    if legacy {
        tiktoken_rs::cl100k_base_singleton()
    } else {
        tiktoken_rs::o200k_base_singleton()
    }
}

/// Tokens of `text` for `model`.
pub fn count(model: &str, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    tokenizer(model).encode_ordinary(text).len() as u64
}

/// Builds the tokenizers now, so the first estimate is not slow.
pub fn warm_up() {
    count("gpt-4o", "warm up");
    count("gpt-4", "warm up");
}

/// Estimated prompt tokens of a request body sent to `endpoint`.
pub fn prompt_tokens(endpoint: Endpoint, model: &str, body: &Value) -> u64 {
    let mut text = String::new();
    let mut messages = 0u64;
    match endpoint {
        Endpoint::Completions => collect(body.get("prompt"), &mut text),
        Endpoint::Embeddings => collect(body.get("input"), &mut text),
        _ => {
            for key in ["system", "instructions"] {
                collect(body.get(key), &mut text);
            }
            for key in ["messages", "input"] {
                match body.get(key) {
                    Some(Value::Array(items)) => {
                        for item in items {
                            messages += 1;
                            collect(item.get("content").or(Some(item)), &mut text);
                        }
                    }
                    other => collect(other, &mut text),
                }
            }
            for key in ["tools", "functions"] {
                if let Some(tools) = body.get(key).filter(|t| !t.is_null()) {
                    text.push_str(&tools.to_string());
                }
            }
        }
    }
    let framing = if messages > 0 {
        messages * PER_MESSAGE + REPLY_PRIMER
    } else {
        0
    };
    count(model, &text) + framing
}

/// Appends every text in a content value: a string, text parts, or nested arrays.
fn collect(value: Option<&Value>, out: &mut String) {
    match value {
        Some(Value::String(s)) => {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::Object(part) => collect(part.get("text"), out),
                    other => collect(Some(other), out),
                }
            }
        }
        Some(Value::Object(part)) => collect(part.get("text"), out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_the_real_tokenizer() {
        // "hello world" is two tokens in both encodings.
        assert_eq!(count("gpt-4o", "hello world"), 2);
        assert_eq!(count("gpt-4", "hello world"), 2);
        assert_eq!(count("claude-sonnet-4-5", ""), 0);
    }

    #[test]
    fn prompt_counts_messages_and_framing() {
        let body = serde_json::json!({"model": "gpt-4o", "messages": [
            {"role": "system", "content": "hello world"},
            {"role": "user", "content": [{"type": "text", "text": "hello world"}]},
        ]});
        // text "hello world\nhello world" = 5 tokens, + 2 * 3 + 3
        assert_eq!(
            prompt_tokens(Endpoint::ChatCompletions, "gpt-4o", &body),
            14
        );
        let body = serde_json::json!({"model": "text-embedding-3-small", "input": ["hello world", "hello world"]});
        assert_eq!(
            prompt_tokens(Endpoint::Embeddings, "text-embedding-3-small", &body),
            5
        );
    }
}
