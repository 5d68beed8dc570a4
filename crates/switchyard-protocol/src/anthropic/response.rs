//! Messages answers <-> IR.

use serde_json::{Value, json};

use crate::ConvertError;
use crate::ir::{Finish, FinishReason, Part, Response, Text, Thinking, ToolCall, Usage};
use crate::stream::effective;
use crate::util::{arr, get, str_of, string, u64_of};

/// Reads a Messages answer.
pub fn decode_response(body: &Value) -> Result<Response, ConvertError> {
    if str_of(body, "type") != Some("message") && body.get("content").is_none() {
        return Err(ConvertError::new("Anthropic answer is not a message"));
    }
    let mut parts = Vec::new();
    for b in arr(body, "content") {
        match str_of(b, "type") {
            Some("text") => {
                parts.push(Part::Text(Text::new(string(b, "text").unwrap_or_default())))
            }
            Some("thinking") => parts.push(Part::Thinking(Thinking {
                text: string(b, "thinking").unwrap_or_default(),
                signature: string(b, "signature"),
                redacted: None,
            })),
            Some("redacted_thinking") => parts.push(Part::Thinking(Thinking {
                redacted: string(b, "data"),
                ..Thinking::default()
            })),
            Some("tool_use") => parts.push(Part::ToolCall(ToolCall {
                id: string(b, "id").unwrap_or_default(),
                name: string(b, "name").unwrap_or_default(),
                arguments: b.get("input").map_or_else(|| "{}".into(), Value::to_string),
                cache_control: None,
            })),
            other => crate::util::dropped(&format!("content block {other:?}"), "ir"),
        }
    }
    Ok(Response {
        id: string(body, "id").unwrap_or_default(),
        model: string(body, "model").unwrap_or_default(),
        parts,
        finish: str_of(body, "stop_reason").map(|r| decode_stop(r, str_of(body, "stop_sequence"))),
        usage: get(body, "usage").map(decode_usage),
    })
}

pub(super) fn decode_stop(reason: &str, sequence: Option<&str>) -> Finish {
    Finish {
        reason: match reason {
            "end_turn" | "stop_sequence" => FinishReason::Stop,
            "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
            "tool_use" => FinishReason::ToolCalls,
            "refusal" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        },
        stop_sequence: sequence.map(str::to_owned),
    }
}

/// Anthropic's `stop_reason` for a finish.
pub fn stop_reason(f: &Finish) -> &str {
    match &f.reason {
        FinishReason::Stop if f.stop_sequence.is_some() => "stop_sequence",
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(o) if o == "pause_turn" => "pause_turn",
        FinishReason::Other(_) => "end_turn",
    }
}

/// Reads Anthropic usage, where `input_tokens` excludes cache reads and writes.
pub(super) fn decode_usage(u: &Value) -> Usage {
    let read = u64_of(u, "cache_read_input_tokens").unwrap_or(0);
    let write = u64_of(u, "cache_creation_input_tokens").unwrap_or(0);
    Usage {
        input_tokens: u64_of(u, "input_tokens").unwrap_or(0) + read + write,
        output_tokens: u64_of(u, "output_tokens").unwrap_or(0),
        cache_read_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: 0,
    }
}

/// Anthropic's `usage` object.
pub fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens.saturating_sub(u.cache_read_tokens + u.cache_write_tokens),
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    })
}

/// An Anthropic-style message id (`msg_…`), keeping the upstream's id in it.
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else if id.is_empty() {
        crate::util::fresh_id("msg_")
    } else {
        format!("msg_{id}")
    }
}

/// Writes a Messages answer.
pub fn encode_response(r: &Response) -> Value {
    let content: Vec<Value> = r
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(json!({"type": "text", "text": t.text})),
            Part::Thinking(t) => Some(match &t.redacted {
                Some(d) => json!({"type": "redacted_thinking", "data": d}),
                None => json!({"type": "thinking", "thinking": t.text, "signature": t.signature.clone().unwrap_or_default()}),
            }),
            Part::ToolCall(c) => Some(json!({
                "type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments_value(),
            })),
            _ => None,
        })
        .collect();
    let finish = effective(r.finish.as_ref(), r.has_tool_calls());
    json!({
        "id": message_id(&r.id),
        "type": "message",
        "role": "assistant",
        "model": r.model,
        "content": content,
        "stop_reason": stop_reason(&finish),
        "stop_sequence": finish.stop_sequence,
        "usage": usage_json(&r.usage.unwrap_or_default()),
    })
}
