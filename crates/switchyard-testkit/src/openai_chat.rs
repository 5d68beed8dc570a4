//! The OpenAI Chat Completions fake for tool, image, reasoning and error
//! scenarios (plain chats keep the echo server of `openai.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::brain::{self, Answer, Stop, Turn};
use crate::record::Recorded;
use crate::server::State;
use crate::stream::{self, Step};

const DELAY: Duration = Duration::from_millis(5);

/// Whether the brain-based fake should answer this chat request.
pub(crate) fn wants(req: &Value) -> bool {
    let s = req.to_string();
    req.get("tools").is_some()
        || req.get("reasoning_effort").is_some()
        || req.get("max_tokens").is_some()
        || req.get("response_format").is_some()
        || req.get("max_completion_tokens").is_some()
        || s.contains("\"role\":\"tool\"")
        || s.contains("\"image_url\"")
        || s.contains("[fake-error:")
        || s.contains("cache_control")
}

pub(crate) fn reply(state: &Arc<State>, rec: &Recorded) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&rec.body) else {
        return error(
            400,
            "invalid_request_error",
            "We could not parse the JSON body of your request.",
            None,
        );
    };
    let turn = match validate(&req) {
        Ok(t) => t,
        Err((msg, param)) => return error(400, "invalid_request_error", &msg, Some(&param)),
    };
    if let Some(status) = brain::error_trigger(&turn.text) {
        let kind = if status == 429 {
            "rate_limit_exceeded"
        } else if status >= 500 {
            "server_error"
        } else {
            "invalid_request_error"
        };
        let mut res = error(status, kind, "fake error on request", None);
        if status == 429 {
            res.headers_mut()
                .insert("retry-after", http::HeaderValue::from_static("7"));
        }
        return res;
    }
    let n = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let a = brain::think(&turn, &format!("call_fake{n}_"));
    let id = format!("chatcmpl-fake-{n}");
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        let usage = req
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
        stream::sse(
            state.clone(),
            Step::spaced(chunks(&id, model, &a, usage), DELAY),
        )
    } else {
        (StatusCode::OK, axum::Json(completion(&id, model, &a))).into_response()
    }
}

fn error(status: u16, kind: &str, message: &str, param: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(
            json!({"error": {"message": message, "type": kind, "param": param, "code": null}}),
        ),
    )
        .into_response()
}

fn validate(req: &Map<String, Value>) -> Result<Turn, (String, String)> {
    let bad = |m: String, p: &str| Err((m, p.to_owned()));
    if req
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return bad("Missing required parameter: 'model'.".into(), "model");
    }
    let Some(messages) = req
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return bad("Missing required parameter: 'messages'.".into(), "messages");
    };
    let mut turn = Turn::default();
    let mut pending: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if !pending.is_empty() && role != "tool" {
            return bad(
                format!(
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                    pending.join(", ")
                ),
                &format!("messages.[{i}].role"),
            );
        }
        match role {
            "system" | "developer" => {}
            "user" => {
                turn.results.clear();
                turn.text.clear();
                turn.images = 0;
                match m.get("content") {
                    Some(Value::String(s)) => turn.text = s.clone(),
                    Some(Value::Array(parts)) => {
                        for p in parts {
                            match p.get("type").and_then(Value::as_str) {
                                Some("text") => turn.text.push_str(
                                    p.get("text").and_then(Value::as_str).unwrap_or_default(),
                                ),
                                Some("image_url") => turn.images += 1,
                                other => {
                                    return bad(
                                        format!("Invalid content part type: {other:?}"),
                                        &format!("messages.[{i}].content"),
                                    );
                                }
                            }
                        }
                    }
                    _ => {
                        return bad(
                            "Invalid 'content'".into(),
                            &format!("messages.[{i}].content"),
                        );
                    }
                }
            }
            "assistant" => {
                for c in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                {
                    let args = c
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if serde_json::from_str::<Value>(args).is_err() {
                        return bad(
                            "tool call arguments must be a JSON string".into(),
                            &format!("messages.[{i}].tool_calls"),
                        );
                    }
                    pending.push(
                        c.get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                turn.results.clear();
            }
            "tool" => {
                let id = m
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(at) = pending.iter().position(|p| p == id) else {
                    return bad("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into(), &format!("messages.[{i}].role"));
                };
                pending.remove(at);
                turn.results.push(
                    m.get("content")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            other => {
                return bad(
                    format!(
                        "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'."
                    ),
                    &format!("messages[{i}].role"),
                );
            }
        }
    }
    turn.tools = req
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    turn.thinking = req.get("reasoning_effort").is_some();
    turn.cache_markers = brain::cache_markers(&Value::Array(messages.clone()));
    let mut all = String::new();
    brain::all_text(&Value::Array(messages.clone()), &mut all);
    turn.prompt_words = brain::words(&all);
    turn.json = req
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "text");
    turn.max_tokens = req
        .get("max_completion_tokens")
        .or_else(|| req.get("max_tokens"))
        .and_then(Value::as_u64);
    Ok(turn)
}

fn finish(s: Stop) -> &'static str {
    match s {
        Stop::End => "stop",
        Stop::Length => "length",
        Stop::Tools => "tool_calls",
    }
}

fn usage(a: &Answer) -> Value {
    json!({
        "prompt_tokens": a.prompt_tokens, "completion_tokens": a.completion_tokens,
        "total_tokens": a.prompt_tokens + a.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": a.cache_read},
        "completion_tokens_details": {"reasoning_tokens": a.thinking.as_ref().map_or(0, |(t, _)| brain::words(t))},
    })
}

fn completion(id: &str, model: &str, a: &Answer) -> Value {
    let mut msg = json!({"role": "assistant", "content": if a.text.is_empty() { Value::Null } else { a.text.clone().into() }, "refusal": null});
    if !a.calls.is_empty() {
        msg["tool_calls"] = a.calls.iter().map(|(cid, name, args)| json!({"id": cid, "type": "function", "function": {"name": name, "arguments": args.to_string()}})).collect();
    }
    if let Some((t, _)) = &a.thinking {
        msg["reasoning_content"] = t.clone().into();
    }
    json!({"id": id, "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": msg, "logprobs": null, "finish_reason": finish(a.stop)}],
        "usage": usage(a)})
}

fn chunks(id: &str, model: &str, a: &Answer, include_usage: bool) -> Vec<String> {
    let chunk = |delta: Value, fin: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": fin}]}).to_string()
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    if let Some((t, _)) = &a.thinking {
        for p in brain::pieces(t) {
            out.push(chunk(json!({"reasoning_content": p}), Value::Null));
        }
    }
    for p in brain::pieces(&a.text) {
        out.push(chunk(json!({"content": p}), Value::Null));
    }
    for (i, (cid, name, args)) in a.calls.iter().enumerate() {
        out.push(chunk(json!({"tool_calls": [{"index": i, "id": cid, "type": "function", "function": {"name": name, "arguments": ""}}]}), Value::Null));
        let s = args.to_string();
        let (x, y) = s.split_at(s.len() / 2);
        for part in [x, y] {
            out.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}),
                Value::Null,
            ));
        }
    }
    out.push(chunk(json!({}), json!(finish(a.stop))));
    if include_usage {
        out.push(json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model, "choices": [], "usage": usage(a)}).to_string());
    }
    out.push("[DONE]".into());
    out
}
