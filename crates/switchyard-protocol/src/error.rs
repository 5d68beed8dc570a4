//! Conversion errors, and upstream error bodies re-shaped for the client.

use std::fmt;

use serde_json::{Value, json};

use crate::Format;

/// A body that cannot be read in the format it claims (a 400 for a client
/// request, a 502 for an upstream answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    message: String,
    param: Option<String>,
}

impl ConvertError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConvertError {
            message: message.into(),
            param: None,
        }
    }

    /// An error about the field `param`.
    pub fn field(param: &str, message: impl Into<String>) -> Self {
        ConvertError {
            message: message.into(),
            param: Some(param.to_owned()),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field at fault, if known.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConvertError {}

/// The Anthropic-style error type for an HTTP status.
pub fn error_kind_for_status(status: u16) -> &'static str {
    match status {
        400 | 405 | 409 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 | 503 => "overloaded_error",
        _ => "api_error",
    }
}

/// OpenAI's error type for an HTTP status.
fn openai_kind(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_denied",
        400..=428 => "invalid_request_error",
        429 => "rate_limit_exceeded",
        _ => "server_error",
    }
}

/// Reads `(message, type, code)` from an upstream error body of any format:
/// OpenAI `{"error":{"message","type","code"}}`, Anthropic
/// `{"type":"error","error":{"type","message"}}`, Gemini
/// `{"error":{"code","message","status"}}`, Ollama `{"error":"..."}`.
fn read_error(body: &[u8]) -> (Option<String>, Option<String>, Option<Value>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(2000)
            .collect::<String>();
        return ((!text.is_empty()).then_some(text), None, None);
    };
    let v = match &v {
        Value::Array(items) if !items.is_empty() => items[0].clone(),
        _ => v,
    };
    match v.get("error") {
        Some(Value::String(s)) => (Some(s.clone()), None, None),
        Some(e @ Value::Object(_)) => {
            let message = e.get("message").and_then(Value::as_str).map(str::to_owned);
            let kind = e
                .get("type")
                .or_else(|| e.get("status"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let code = e
                .get("code")
                .filter(|c| !c.is_null() && !c.is_number())
                .cloned();
            (message, kind, code)
        }
        _ => (
            v.get("message").and_then(Value::as_str).map(str::to_owned),
            None,
            None,
        ),
    }
}

/// Re-shapes an upstream error body (any format) into the client's format;
/// the caller keeps the status and `Retry-After`.
pub fn error_body(client: Format, status: u16, upstream: &[u8]) -> Value {
    let (message, kind, code) = read_error(upstream);
    let message = message.unwrap_or_else(|| format!("upstream answered HTTP {status}"));
    match client {
        Format::Anthropic => {
            let kind = kind
                .filter(|k| ANTHROPIC_TYPES.contains(&k.as_str()))
                .unwrap_or_else(|| error_kind_for_status(status).to_owned());
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        _ => {
            let kind = kind
                .filter(|k| OPENAI_TYPES.contains(&k.as_str()))
                .unwrap_or_else(|| openai_kind(status).to_owned());
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
    }
}

const ANTHROPIC_TYPES: [&str; 9] = [
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "overloaded_error",
    "billing_error",
];

const OPENAI_TYPES: [&str; 6] = [
    "invalid_request_error",
    "authentication_error",
    "permission_denied",
    "rate_limit_exceeded",
    "server_error",
    "insufficient_quota",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_error_to_openai() {
        let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        let v = error_body(Format::OpenAiChat, 429, body);
        assert_eq!(v["error"]["message"], "slow down");
        assert_eq!(v["error"]["type"], "rate_limit_exceeded");
    }

    #[test]
    fn openai_and_gemini_errors_to_anthropic() {
        let v = error_body(
            Format::Anthropic,
            400,
            br#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#,
        );
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["message"], "bad");
        let v = error_body(
            Format::Anthropic,
            429,
            br#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(v["error"]["type"], "rate_limit_error");
        let v = error_body(Format::Anthropic, 500, b"oops");
        assert_eq!(v["error"]["message"], "oops");
        assert_eq!(v["error"]["type"], "api_error");
        let v = error_body(Format::OpenAiChat, 404, br#"{"error":"model not found"}"#);
        assert_eq!(v["error"]["message"], "model not found");
    }
}
