//! Reading the prompt out of a request body, leniently: a mock never refuses a prompt.

use http::StatusCode;
use serde_json::Value;

/// The text of the last user message; text parts joined by a space, images ignored.
pub(super) fn last_user_text(json: &Value) -> String {
    json.get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| {
            messages
                .iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .map(content_text)
        .unwrap_or_default()
}

/// The characters of every message's text content, for the prompt token estimate.
pub(super) fn message_chars(json: &Value) -> usize {
    json.get("messages")
        .and_then(Value::as_array)
        .map_or(0, |messages| {
            messages
                .iter()
                .filter_map(|m| m.get("content"))
                .map(|c| content_text(c).chars().count())
                .sum()
        })
}

/// A message `content`: a string, or an array of parts of which the text ones count.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            texts.join(" ")
        }
        _ => String::new(),
    }
}

/// A completions `prompt`: a string, an array of strings (the first one), or
/// tokens (their decimal text).
pub(super) fn completion_prompt(json: &Value) -> String {
    match json.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => match items.first() {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(tokens)) => tokens_text(tokens),
            Some(Value::Number(_)) => tokens_text(items),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// Token ids as the text the mock reads: decimals separated by spaces.
pub(super) fn tokens_text(tokens: &[Value]) -> String {
    let words: Vec<String> = tokens.iter().map(Value::to_string).collect();
    words.join(" ")
}

/// `max_completion_tokens`, else `max_tokens`.
pub(super) fn max_tokens(json: &Value) -> Option<u64> {
    json.get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| json.get("max_tokens").and_then(Value::as_u64))
}

/// The status a `[mock-error:NNN]` marker in the prompt asks for (400-599).
pub(super) fn trigger(prompt: &str) -> Option<StatusCode> {
    const MARK: &str = "[mock-error:";
    let start = prompt.find(MARK)? + MARK.len();
    let code = prompt.get(start..start + 4)?.strip_suffix(']')?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    (status.is_client_error() || status.is_server_error()).then_some(status)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn last_user_text_reads_strings_and_parts() {
        let body = json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [
                {"type": "text", "text": "look at"},
                {"type": "image_url", "image_url": {"url": "data:"}},
                {"type": "text", "text": "this"},
            ]},
        ]});
        assert_eq!(last_user_text(&body), "look at this");
        assert_eq!(message_chars(&body), 8 + 5 + 2 + 12);
        assert_eq!(last_user_text(&json!({"messages": []})), "");
        assert_eq!(last_user_text(&json!({})), "");
    }

    #[test]
    fn completion_prompts() {
        assert_eq!(completion_prompt(&json!({"prompt": "hi"})), "hi");
        assert_eq!(completion_prompt(&json!({"prompt": ["a", "b"]})), "a");
        assert_eq!(completion_prompt(&json!({"prompt": [1, 2]})), "1 2");
        assert_eq!(completion_prompt(&json!({"prompt": [[3, 4], [5]]})), "3 4");
        assert_eq!(completion_prompt(&json!({})), "");
    }

    #[test]
    fn triggers() {
        assert_eq!(
            trigger("x [mock-error:429] y"),
            Some(StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(
            trigger("[mock-error:503]"),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(trigger("[mock-error:200]"), None);
        assert_eq!(trigger("[mock-error:4290]"), None);
        assert_eq!(trigger("[mock-error:42]"), None);
        assert_eq!(trigger("[mock-error:+42]"), None);
        assert_eq!(trigger("[mock-error:4é]"), None);
        assert_eq!(trigger("no marker"), None);
    }

    #[test]
    fn max_tokens_prefers_the_new_name() {
        assert_eq!(max_tokens(&json!({"max_tokens": 5})), Some(5));
        assert_eq!(
            max_tokens(&json!({"max_tokens": 5, "max_completion_tokens": 3})),
            Some(3)
        );
        assert_eq!(max_tokens(&json!({})), None);
    }
}
