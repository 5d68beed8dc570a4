//! A fake Anthropic Messages API that validates like the real one.

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

/// Answers `POST …/messages` and `…/messages/count_tokens`; with `vertex`,
/// Claude on Vertex AI (`…:rawPredict`, `…:streamRawPredict`,
/// `count-tokens:rawPredict`): OAuth bearer auth, `anthropic_version` in
/// the body and the model in the URL.
pub(crate) fn reply(state: &Arc<State>, rec: &Recorded, vertex: bool) -> Response {
    if vertex {
        if !crate::google::valid_bearer(rec.header("authorization")) {
            return error(
                401,
                "authentication_error",
                "invalid or missing OAuth token",
            );
        }
    } else if rec.header("x-api-key").is_none() {
        return error(401, "authentication_error", "x-api-key header is required");
    } else if rec.header("anthropic-version").is_none() {
        return error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&rec.body) else {
        return error(
            400,
            "invalid_request_error",
            "There was an error parsing the body of your request",
        );
    };
    let count =
        rec.path.ends_with("/count_tokens") || rec.path.ends_with("/count-tokens:rawPredict");
    let mut req = req;
    let path_model = rec
        .path
        .rsplit('/')
        .next()
        .and_then(|m| m.split(':').next())
        .unwrap_or_default()
        .to_owned();
    if vertex && !count {
        if req.get("anthropic_version").and_then(Value::as_str) != Some("vertex-2023-10-16") {
            return error(
                400,
                "invalid_request_error",
                "anthropic_version: Field required (vertex-2023-10-16)",
            );
        }
        if req.contains_key("model") {
            return error(
                400,
                "invalid_request_error",
                "model: Extra inputs are not permitted",
            );
        }
        req.insert("model".into(), path_model.clone().into());
        req.remove("anthropic_version");
    }
    let turn = match validate(&req, count) {
        Ok(t) => t,
        Err(msg) => return error(400, "invalid_request_error", &msg),
    };
    if count {
        return (
            StatusCode::OK,
            axum::Json(json!({"input_tokens": turn.prompt_words})),
        )
            .into_response();
    }
    if let Some(status) = brain::error_trigger(&turn.text) {
        let kind = match status {
            429 => "rate_limit_error",
            529 => "overloaded_error",
            500..=599 => "api_error",
            _ => "invalid_request_error",
        };
        let mut res = error(status, kind, "fake error on request");
        if status == 429 || status == 529 {
            res.headers_mut()
                .insert("retry-after", http::HeaderValue::from_static("7"));
        }
        return res;
    }
    let n = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let answer = brain::think(&turn, &format!("toolu_fake{n}_"));
    let id = format!("msg_fake{n}");
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    let streamed = if vertex {
        rec.path.ends_with(":streamRawPredict")
    } else {
        req.get("stream").and_then(Value::as_bool) == Some(true)
    };
    if streamed {
        stream::streamed(
            state.clone(),
            Step::spaced_raw(events(&id, model, &answer), DELAY),
            "text/event-stream",
        )
    } else {
        (StatusCode::OK, axum::Json(message(&id, model, &answer))).into_response()
    }
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"});
    (status, axum::Json(body)).into_response()
}

/// Checks the request like the Messages API does and reads the turn.
fn validate(req: &Map<String, Value>, count: bool) -> Result<Turn, String> {
    match req.get("model").and_then(Value::as_str) {
        Some(m) if !m.is_empty() => {}
        _ => return Err("model: Field required".into()),
    }
    if !count && !req.get("max_tokens").is_some_and(Value::is_u64) {
        return Err("max_tokens: Field required".into());
    }
    let Some(messages) = req
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return Err("messages: Field required".into());
    };
    if let Some(s) = req.get("system")
        && !(s.is_string() || s.is_array())
    {
        return Err("system: Input should be a valid string or list".into());
    }
    let mut prev_role = "";
    let mut prev_tool_ids: Vec<String> = Vec::new();
    let mut turn = Turn::default();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}.role: Unexpected role \"{role}\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."
            ));
        }
        if role == prev_role {
            return Err(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
            ));
        }
        prev_role = role;
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(b)) => b.clone(),
            _ => return Err(format!("messages.{i}.content: Field required")),
        };
        let mut tool_ids = Vec::new();
        let (mut text, mut results, mut images) = (String::new(), Vec::new(), 0);
        for (j, b) in blocks.iter().enumerate() {
            match b.get("type").and_then(Value::as_str).unwrap_or_default() {
                "text" => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or_default()),
                "image" => {
                    let src = b.get("source").unwrap_or(&Value::Null);
                    let ok = match src.get("type").and_then(Value::as_str) {
                        Some("base64") => {
                            src.get("media_type").is_some() && src.get("data").is_some()
                        }
                        Some("url") => src.get("url").is_some(),
                        _ => false,
                    };
                    if !ok {
                        return Err(format!(
                            "messages.{i}.content.{j}.image.source: invalid image source"
                        ));
                    }
                    images += 1;
                }
                "tool_use" if role == "assistant" => {
                    if !b.get("input").is_some_and(Value::is_object) {
                        return Err(format!(
                            "messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"
                        ));
                    }
                    tool_ids.push(
                        b.get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                "tool_result" if role == "user" => {
                    let id = b
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !prev_tool_ids.iter().any(|t| t == id) {
                        return Err(format!(
                            "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    let mut t = String::new();
                    brain::all_text(b.get("content").unwrap_or(&Value::Null), &mut t);
                    results.push(t.trim().to_owned());
                }
                "thinking" if role == "assistant" => {
                    let sig = b
                        .get("signature")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let thought = b
                        .get("thinking")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !brain::valid_signature(sig) || brain::signature(thought) != sig {
                        return Err(format!(
                            "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                        ));
                    }
                }
                "redacted_thinking" if role == "assistant" => {}
                other => {
                    return Err(format!(
                        "messages.{i}.content.{j}.type: Input tag '{other}' is not valid here"
                    ));
                }
            }
        }
        if !prev_tool_ids.is_empty() && role == "user" && results.len() < prev_tool_ids.len() {
            return Err(format!(
                "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}",
                prev_tool_ids.join(", ")
            ));
        }
        prev_tool_ids = tool_ids;
        if role == "user" {
            turn.text = text;
            turn.results = results;
            turn.images = images;
        }
    }
    if prev_role != "user" {
        return Err("messages: the final message must have role \"user\"".into());
    }
    turn.tools = req
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    turn.thinking = req
        .get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        == Some("enabled");
    turn.cache_markers = brain::cache_markers(&Value::Object(req.clone()));
    let mut all = String::new();
    brain::all_text(req.get("system").unwrap_or(&Value::Null), &mut all);
    brain::all_text(&Value::Array(messages.clone()), &mut all);
    turn.prompt_words = brain::words(&all);
    turn.max_tokens = req.get("max_tokens").and_then(Value::as_u64);
    let mut system = String::new();
    brain::all_text(req.get("system").unwrap_or(&Value::Null), &mut system);
    turn.json = req.contains_key("output_format") || system.contains("valid JSON object");
    Ok(turn)
}

fn stop_reason(stop: Stop) -> &'static str {
    match stop {
        Stop::End => "end_turn",
        Stop::Length => "max_tokens",
        Stop::Tools => "tool_use",
    }
}

fn usage(a: &Answer) -> Value {
    json!({
        "input_tokens": a.prompt_tokens,
        "cache_creation_input_tokens": a.cache_write,
        "cache_read_input_tokens": a.cache_read,
        "output_tokens": a.completion_tokens,
    })
}

fn message(id: &str, model: &str, a: &Answer) -> Value {
    let mut content = Vec::new();
    if let Some((t, s)) = &a.thinking {
        content.push(json!({"type": "thinking", "thinking": t, "signature": s}));
    }
    if !a.text.is_empty() {
        content.push(json!({"type": "text", "text": a.text}));
    }
    for (cid, name, args) in &a.calls {
        content.push(json!({"type": "tool_use", "id": cid, "name": name, "input": args}));
    }
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason(a.stop), "stop_sequence": null, "usage": usage(a),
    })
}

fn ev(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The stream of a real Messages answer: message_start, ping, blocks, message_delta, message_stop.
fn events(id: &str, model: &str, a: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    let mut start_usage = usage(a);
    start_usage["output_tokens"] = 1.into();
    out.push(ev(
        "message_start",
        &json!({"type": "message_start", "message": {
        "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
    ));
    out.push(ev("ping", &json!({"type": "ping"})));
    let mut index = 0;
    let mut block = |out: &mut Vec<String>, start: Value, deltas: Vec<Value>| {
        out.push(ev(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for d in deltas {
            out.push(ev(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": d}),
            ));
        }
        out.push(ev(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    };
    if let Some((t, s)) = &a.thinking {
        let mut d: Vec<Value> = brain::pieces(t)
            .into_iter()
            .map(|p| json!({"type": "thinking_delta", "thinking": p}))
            .collect();
        d.push(json!({"type": "signature_delta", "signature": s}));
        block(
            &mut out,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            d,
        );
    }
    if !a.text.is_empty() {
        let d = brain::pieces(&a.text)
            .into_iter()
            .map(|p| json!({"type": "text_delta", "text": p}))
            .collect();
        block(&mut out, json!({"type": "text", "text": ""}), d);
    }
    for (cid, name, args) in &a.calls {
        let s = args.to_string();
        let (x, y) = s.split_at(s.len() / 2);
        let d = vec![
            json!({"type": "input_json_delta", "partial_json": ""}),
            json!({"type": "input_json_delta", "partial_json": x}),
            json!({"type": "input_json_delta", "partial_json": y}),
        ];
        block(
            &mut out,
            json!({"type": "tool_use", "id": cid, "name": name, "input": {}}),
            d,
        );
    }
    out.push(ev("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(a.stop), "stop_sequence": null}, "usage": {"output_tokens": a.completion_tokens}})));
    out.push(ev("message_stop", &json!({"type": "message_stop"})));
    out
}
