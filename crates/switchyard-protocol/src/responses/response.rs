//! Responses answers <-> IR.

use serde_json::{Value, json};

use crate::ConvertError;
use crate::ir::{Finish, FinishReason, Part, Response, Text, Thinking, ToolCall, Usage};
use crate::stream::effective;
use crate::util::{arr, get, str_of, string, u64_of};

/// Reads a `response` object.
pub fn decode_response(body: &Value) -> Result<Response, ConvertError> {
    if str_of(body, "object").is_some_and(|o| o != "response") {
        return Err(ConvertError::new(
            "Responses answer is not a `response` object",
        ));
    }
    let mut parts = Vec::new();
    for item in arr(body, "output") {
        match str_of(item, "type") {
            Some("message") => {
                for c in arr(item, "content") {
                    match str_of(c, "type") {
                        Some("output_text") => {
                            parts.push(Part::Text(Text::new(string(c, "text").unwrap_or_default())))
                        }
                        Some("refusal") => parts.push(Part::Text(Text::new(
                            string(c, "refusal").unwrap_or_default(),
                        ))),
                        _ => {}
                    }
                }
            }
            Some("function_call") => parts.push(Part::ToolCall(ToolCall {
                id: string(item, "call_id").unwrap_or_default(),
                name: string(item, "name").unwrap_or_default(),
                arguments: string(item, "arguments").unwrap_or_default(),
                cache_control: None,
            })),
            Some("reasoning") => {
                let mut text = String::new();
                for s in arr(item, "summary") {
                    text.push_str(str_of(s, "text").unwrap_or_default());
                }
                if text.is_empty() {
                    for s in arr(item, "content") {
                        text.push_str(str_of(s, "text").unwrap_or_default());
                    }
                }
                parts.push(Part::Thinking(Thinking {
                    text,
                    signature: string(item, "encrypted_content"),
                    redacted: None,
                }));
            }
            other => crate::util::dropped(&format!("output item {other:?}"), "ir"),
        }
    }
    let has_tools = parts.iter().any(|p| matches!(p, Part::ToolCall(_)));
    Ok(Response {
        id: string(body, "id").unwrap_or_default(),
        model: string(body, "model").unwrap_or_default(),
        parts,
        finish: Some(decode_status(body, has_tools)),
        usage: get(body, "usage").map(decode_usage),
    })
}

pub(super) fn decode_status(body: &Value, has_tools: bool) -> Finish {
    match str_of(body, "status") {
        Some("incomplete") => Finish::new(
            match body
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str)
            {
                Some("content_filter") => FinishReason::ContentFilter,
                _ => FinishReason::Length,
            },
        ),
        _ if has_tools => Finish::new(FinishReason::ToolCalls),
        _ => Finish::new(FinishReason::Stop),
    }
}

pub(super) fn decode_usage(u: &Value) -> Usage {
    Usage {
        input_tokens: u64_of(u, "input_tokens").unwrap_or(0),
        output_tokens: u64_of(u, "output_tokens").unwrap_or(0),
        cache_read_tokens: u
            .pointer("/input_tokens_details/cached_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        cache_write_tokens: 0,
        reasoning_tokens: u
            .pointer("/output_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

pub(super) fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

/// An output item id: `<prefix>_<response id>_<n>`.
pub(super) fn item_id(prefix: &str, response_id: &str, n: usize) -> String {
    let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{base}_{n}")
}

/// The output item for one IR part (status `completed`).
pub(super) fn output_item(p: &Part, response_id: &str, n: usize) -> Option<Value> {
    Some(match p {
        Part::Text(t) => json!({
            "type": "message", "id": item_id("msg", response_id, n), "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": t.text, "annotations": [], "logprobs": []}],
        }),
        Part::ToolCall(c) => json!({
            "type": "function_call", "id": item_id("fc", response_id, n), "call_id": c.id,
            "name": c.name, "arguments": c.arguments, "status": "completed",
        }),
        Part::Thinking(t) => {
            let mut item = json!({
                "type": "reasoning", "id": item_id("rs", response_id, n),
                "summary": if t.text.is_empty() { json!([]) } else { json!([{"type": "summary_text", "text": t.text}]) },
            });
            if let Some(s) = &t.signature {
                item["encrypted_content"] = s.clone().into();
            }
            item
        }
        _ => return None,
    })
}

/// The `response` object, with `status` and `output` as given.
pub(super) fn response_object(
    id: &str,
    model: &str,
    created: u64,
    status: &str,
    output: Vec<Value>,
    usage: Option<&Usage>,
    finish: Option<&Finish>,
) -> Value {
    let incomplete = match finish.map(|f| &f.reason) {
        Some(FinishReason::Length) if status != "in_progress" => {
            json!({"reason": "max_output_tokens"})
        }
        Some(FinishReason::ContentFilter) if status != "in_progress" => {
            json!({"reason": "content_filter"})
        }
        _ => Value::Null,
    };
    let status = if incomplete.is_null() {
        status
    } else {
        "incomplete"
    };
    json!({
        "id": id, "object": "response", "created_at": created, "status": status,
        "error": null, "incomplete_details": incomplete, "instructions": null,
        "max_output_tokens": null, "model": model, "output": output,
        "parallel_tool_calls": true, "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null}, "store": false,
        "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
        "tools": [], "top_p": 1.0, "truncation": "disabled",
        "usage": usage.map(usage_json), "user": null, "metadata": {},
    })
}

/// Writes a `response` object.
pub fn encode_response(r: &Response) -> Value {
    let id = if r.id.starts_with("resp_") {
        r.id.clone()
    } else {
        format!("resp_{}", crate::util::hash_hex(&r.id))
    };
    let output: Vec<Value> = r
        .parts
        .iter()
        .enumerate()
        .filter_map(|(n, p)| output_item(p, &id, n))
        .collect();
    let finish = effective(r.finish.as_ref(), r.has_tool_calls());
    response_object(
        &id,
        &r.model,
        crate::util::now(),
        "completed",
        output,
        r.usage.as_ref(),
        Some(&finish),
    )
}
