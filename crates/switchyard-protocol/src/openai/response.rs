//! Chat Completions answers <-> IR.

use serde_json::{Map, Value, json};

use crate::ConvertError;
use crate::ir::{Finish, FinishReason, Part, Response, Text, Thinking, ToolCall, Usage};
use crate::stream::effective;
use crate::util::{arr, get, str_of, string, u64_of};

/// Reads a `chat.completion`.
pub fn decode_response(body: &Value) -> Result<Response, ConvertError> {
    let choice = arr(body, "choices")
        .first()
        .ok_or_else(|| ConvertError::new("chat completion has no choices"))?;
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let mut parts = Vec::new();
    for b in arr(msg, "thinking_blocks") {
        parts.push(Part::Thinking(Thinking {
            text: string(b, "thinking").unwrap_or_default(),
            signature: string(b, "signature"),
            redacted: string(b, "data").filter(|_| str_of(b, "type") == Some("redacted_thinking")),
        }));
    }
    if parts.is_empty()
        && let Some(r) = str_of(msg, "reasoning_content").or_else(|| str_of(msg, "reasoning"))
        && !r.is_empty()
    {
        parts.push(Part::Thinking(Thinking {
            text: r.to_owned(),
            ..Thinking::default()
        }));
    }
    if let Some(t) = str_of(msg, "content").filter(|t| !t.is_empty()) {
        parts.push(Part::Text(Text::new(t)));
    }
    for c in arr(msg, "tool_calls") {
        let f = c.get("function").unwrap_or(&Value::Null);
        parts.push(Part::ToolCall(ToolCall {
            id: string(c, "id").unwrap_or_default(),
            name: string(f, "name").unwrap_or_default(),
            arguments: string(f, "arguments").unwrap_or_default(),
            cache_control: None,
        }));
    }
    Ok(Response {
        id: string(body, "id").unwrap_or_default(),
        model: string(body, "model").unwrap_or_default(),
        parts,
        finish: str_of(choice, "finish_reason").map(decode_finish),
        usage: get(body, "usage").map(decode_usage),
    })
}

pub(super) fn decode_finish(s: &str) -> Finish {
    Finish::new(match s {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    })
}

/// OpenAI's name for a finish reason.
pub fn finish_reason(f: &Finish) -> &str {
    match &f.reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(_) => "stop",
    }
}

pub(super) fn decode_usage(u: &Value) -> Usage {
    Usage {
        input_tokens: u64_of(u, "prompt_tokens").unwrap_or(0),
        output_tokens: u64_of(u, "completion_tokens").unwrap_or(0),
        cache_read_tokens: u
            .pointer("/prompt_tokens_details/cached_tokens")
            .and_then(Value::as_u64)
            .or_else(|| u64_of(u, "cache_read_input_tokens"))
            .unwrap_or(0),
        cache_write_tokens: u64_of(u, "cache_creation_input_tokens").unwrap_or(0),
        reasoning_tokens: u
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

/// OpenAI's `usage` object; cache writes appear as `cache_creation_input_tokens`.
pub fn usage_json(u: &Usage) -> Value {
    let mut v = json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    });
    if u.cache_write_tokens > 0 {
        v["cache_creation_input_tokens"] = u.cache_write_tokens.into();
    }
    if u.cache_read_tokens > 0 {
        v["cache_read_input_tokens"] = u.cache_read_tokens.into();
    }
    v
}

/// Writes a `chat.completion`.
pub fn encode_response(r: &Response) -> Value {
    let mut msg = Map::new();
    msg.insert("role".into(), "assistant".into());
    let text = r.text();
    let mut calls = Vec::new();
    let mut thinking = Vec::new();
    let mut reasoning = String::new();
    for p in &r.parts {
        match p {
            Part::ToolCall(c) => calls.push(json!({
                "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })),
            Part::Thinking(t) => {
                reasoning.push_str(&t.text);
                thinking.push(thinking_block(t));
            }
            _ => {}
        }
    }
    msg.insert(
        "content".into(),
        if text.is_empty() && !calls.is_empty() {
            Value::Null
        } else {
            text.into()
        },
    );
    msg.insert("refusal".into(), Value::Null);
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    if !thinking.is_empty() {
        msg.insert("reasoning_content".into(), reasoning.into());
        msg.insert("thinking_blocks".into(), Value::Array(thinking));
    }
    let finish = effective(r.finish.as_ref(), r.has_tool_calls());
    let mut out = json!({
        "id": r.id,
        "object": "chat.completion",
        "created": crate::util::now(),
        "model": r.model,
        "choices": [{"index": 0, "message": msg, "logprobs": null, "finish_reason": finish_reason(&finish)}],
    });
    if let Some(u) = &r.usage {
        out["usage"] = usage_json(u);
    }
    out
}

pub(super) fn thinking_block(t: &Thinking) -> Value {
    match &t.redacted {
        Some(d) => json!({"type": "redacted_thinking", "data": d}),
        None => json!({"type": "thinking", "thinking": t.text, "signature": t.signature}),
    }
}
