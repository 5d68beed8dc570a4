//! [`ErrorEvent`]: the protocol-correct last event of a stream that ends in an error.

use bytes::Bytes;

use crate::protocol::Endpoint;

/// How a stream's terminal error event is written, by client protocol.
///
/// ```
/// use switchyard_core::{Endpoint, ErrorEvent};
/// let ev = ErrorEvent::for_endpoint(Endpoint::Messages).render("upstream_error", "broke");
/// assert!(ev.starts_with(b"event: error\ndata: {"));
/// let ev = ErrorEvent::OpenAi.render_as("insufficient_quota", "budget_exceeded", "over budget");
/// assert!(std::str::from_utf8(&ev).unwrap().contains(r#""type":"insufficient_quota""#));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorEvent {
    /// OpenAI Chat / Completions: an `{"error":{..}}` chunk and no `[DONE]`.
    OpenAi,
    /// Anthropic Messages: `event: error`.
    Anthropic,
    /// OpenAI Responses: `event: error` with `{"type":"error",..}`.
    Responses,
}

impl ErrorEvent {
    /// The flavour for a client endpoint.
    pub fn for_endpoint(endpoint: Endpoint) -> ErrorEvent {
        match endpoint {
            Endpoint::Messages | Endpoint::CountTokens => ErrorEvent::Anthropic,
            Endpoint::Responses => ErrorEvent::Responses,
            _ => ErrorEvent::OpenAi,
        }
    }

    /// The event's bytes, with error type `gateway_error`.
    pub fn render(self, code: &str, message: &str) -> Bytes {
        self.render_as("gateway_error", code, message)
    }

    /// The event's bytes, with the given error type (OpenAI and Anthropic
    /// flavours; the Responses event carries the code instead).
    pub fn render_as(self, error_type: &str, code: &str, message: &str) -> Bytes {
        let s = match self {
            ErrorEvent::OpenAi => format!(
                "data: {}\n\n",
                serde_json::json!({"error": {"message": message, "type": error_type, "param": null, "code": code}})
            ),
            ErrorEvent::Anthropic => format!(
                "event: error\ndata: {}\n\n",
                serde_json::json!({"type": "error", "error": {"type": error_type, "message": message}})
            ),
            ErrorEvent::Responses => format!(
                "event: error\ndata: {}\n\n",
                serde_json::json!({"type": "error", "code": code, "message": message, "param": null})
            ),
        };
        Bytes::from(s)
    }
}
