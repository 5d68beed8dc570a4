//! A fake OpenAI Responses API (stateless) that validates like the real one.

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

/// Answers `POST …/responses`.
pub(crate) fn reply(state: &Arc<State>, rec: &Recorded) -> Response {
    if rec.header("authorization").is_none() {
        return error(
            401,
            "invalid_request_error",
            "You didn't provide an API key.",
            None,
        );
    }
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
        Err((m, p)) => return error(400, "invalid_request_error", &m, Some(&p)),
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
    let id = format!("resp_fake{n}");
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        stream::streamed(
            state.clone(),
            Step::spaced_raw(events(&id, model, &a), DELAY),
            "text/event-stream",
        )
    } else {
        (
            StatusCode::OK,
            axum::Json(object(&id, model, &a, items(&id, &a), true)),
        )
            .into_response()
    }
}

fn error(status: u16, kind: &str, message: &str, param: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        code,
        axum::Json(
            json!({"error": {"message": message, "type": kind, "param": param, "code": null}}),
        ),
    )
        .into_response()
}

type Invalid = (String, String);

fn validate(req: &Map<String, Value>) -> Result<Turn, Invalid> {
    if req
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err((
            "Missing required parameter: 'model'.".into(),
            "model".into(),
        ));
    }
    let mut turn = Turn::default();
    let mut all = String::new();
    brain::all_text(req.get("instructions").unwrap_or(&Value::Null), &mut all);
    let items: Vec<Value> = match req.get("input") {
        Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
        Some(Value::Array(a)) => a.clone(),
        _ => {
            return Err((
                "Missing required parameter: 'input'.".into(),
                "input".into(),
            ));
        }
    };
    let mut calls: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message")
        {
            "message" => {
                let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
                if !matches!(role, "user" | "assistant" | "system" | "developer") {
                    return Err((
                        format!(
                            "Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
                        ),
                        format!("input[{i}].role"),
                    ));
                }
                let parts: Vec<Value> = match item.get("content") {
                    Some(Value::String(s)) => vec![json!({"type": "input_text", "text": s})],
                    Some(Value::Array(p)) => p.clone(),
                    _ => {
                        return Err((
                            "Missing required parameter: 'content'.".into(),
                            format!("input[{i}].content"),
                        ));
                    }
                };
                let (mut text, mut images) = (String::new(), 0);
                for p in &parts {
                    match p.get("type").and_then(Value::as_str) {
                        Some("input_text") if role != "assistant" => {
                            text.push_str(p.get("text").and_then(Value::as_str).unwrap_or_default())
                        }
                        Some("output_text") if role == "assistant" => {}
                        Some("input_image") if role == "user" => images += 1,
                        other => {
                            return Err((
                                format!("Invalid value: {other:?} for a {role} message."),
                                format!("input[{i}].content"),
                            ));
                        }
                    }
                    brain::all_text(p.get("text").unwrap_or(&Value::Null), &mut all);
                }
                if role == "user" {
                    turn.text = text;
                    turn.images = images;
                    turn.results.clear();
                }
            }
            "function_call" => {
                calls.push(
                    item.get("call_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
                if let Ok(args) = serde_json::from_str::<Value>(
                    item.get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ) {
                    brain::all_text(&args, &mut all);
                }
            }
            "function_call_output" => {
                let id = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !calls.iter().any(|c| c == id) {
                    return Err((
                        format!("No tool call found for function call output with call_id {id}."),
                        "input".into(),
                    ));
                }
                let out = item
                    .get("output")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                all.push_str(out);
                all.push(' ');
                turn.results.push(out.to_owned());
            }
            "reasoning" => {
                if let Some(e) = item.get("encrypted_content").and_then(Value::as_str)
                    && !brain::valid_signature(e)
                {
                    return Err((
                        "The encrypted content for item could not be verified.".into(),
                        format!("input[{i}].encrypted_content"),
                    ));
                }
            }
            other => {
                return Err((
                    format!("Invalid input item type '{other}'."),
                    format!("input[{i}].type"),
                ));
            }
        }
    }
    turn.tools = req
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    turn.thinking = req.get("reasoning").and_then(|r| r.get("effort")).is_some();
    turn.max_tokens = req.get("max_output_tokens").and_then(Value::as_u64);
    turn.json = req
        .get("text")
        .and_then(|t| t.get("format"))
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "text");
    turn.prompt_words = brain::words(&all);
    Ok(turn)
}

fn item_id(prefix: &str, resp: &str, n: usize) -> String {
    format!("{prefix}_{}_{n}", resp.trim_start_matches("resp_"))
}

fn items(id: &str, a: &Answer) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some((t, s)) = &a.thinking {
        out.push(json!({"type": "reasoning", "id": item_id("rs", id, out.len()), "summary": [{"type": "summary_text", "text": t}], "encrypted_content": s}));
    }
    if !a.text.is_empty() {
        out.push(json!({"type": "message", "id": item_id("msg", id, out.len()), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": a.text, "annotations": []}]}));
    }
    for (cid, name, args) in &a.calls {
        out.push(json!({"type": "function_call", "id": item_id("fc", id, out.len()), "call_id": cid, "name": name, "arguments": args.to_string(), "status": "completed"}));
    }
    out
}

fn object(id: &str, model: &str, a: &Answer, output: Vec<Value>, done: bool) -> Value {
    let status = if !done {
        "in_progress"
    } else if a.stop == Stop::Length {
        "incomplete"
    } else {
        "completed"
    };
    let thoughts = a.thinking.as_ref().map_or(0, |(t, _)| brain::words(t));
    json!({"id": id, "object": "response", "created_at": 1_700_000_000, "status": status, "model": model,
        "error": null, "incomplete_details": if status == "incomplete" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
        "output": output, "parallel_tool_calls": true, "store": false, "tools": [],
        "usage": if done { json!({"input_tokens": a.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": a.completion_tokens, "output_tokens_details": {"reasoning_tokens": thoughts},
            "total_tokens": a.prompt_tokens + a.completion_tokens}) } else { Value::Null }})
}

fn events(id: &str, model: &str, a: &Answer) -> Vec<String> {
    let mut seq = 0;
    let mut out = Vec::new();
    let mut ev = |out: &mut Vec<String>, name: &str, mut v: Value| {
        v["type"] = name.into();
        v["sequence_number"] = seq.into();
        seq += 1;
        out.push(format!("event: {name}\ndata: {v}\n\n"));
    };
    ev(
        &mut out,
        "response.created",
        json!({"response": object(id, model, a, vec![], false)}),
    );
    ev(
        &mut out,
        "response.in_progress",
        json!({"response": object(id, model, a, vec![], false)}),
    );
    let done = items(id, a);
    for (n, item) in done.iter().enumerate() {
        let iid = item["id"].clone();
        match item["type"].as_str().unwrap_or_default() {
            "reasoning" => {
                ev(
                    &mut out,
                    "response.output_item.added",
                    json!({"output_index": n, "item": {"type": "reasoning", "id": iid, "summary": []}}),
                );
                let text = item["summary"][0]["text"].as_str().unwrap_or_default();
                for p in brain::pieces(text) {
                    ev(
                        &mut out,
                        "response.reasoning_summary_text.delta",
                        json!({"item_id": iid, "output_index": n, "summary_index": 0, "delta": p}),
                    );
                }
                ev(
                    &mut out,
                    "response.reasoning_summary_text.done",
                    json!({"item_id": iid, "output_index": n, "summary_index": 0, "text": text}),
                );
            }
            "message" => {
                ev(
                    &mut out,
                    "response.output_item.added",
                    json!({"output_index": n, "item": {"type": "message", "id": iid, "status": "in_progress", "role": "assistant", "content": []}}),
                );
                ev(
                    &mut out,
                    "response.content_part.added",
                    json!({"item_id": iid, "output_index": n, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
                );
                for p in brain::pieces(&a.text) {
                    ev(
                        &mut out,
                        "response.output_text.delta",
                        json!({"item_id": iid, "output_index": n, "content_index": 0, "delta": p}),
                    );
                }
                ev(
                    &mut out,
                    "response.output_text.done",
                    json!({"item_id": iid, "output_index": n, "content_index": 0, "text": a.text}),
                );
                ev(
                    &mut out,
                    "response.content_part.done",
                    json!({"item_id": iid, "output_index": n, "content_index": 0, "part": item["content"][0]}),
                );
            }
            _ => {
                let mut added = item.clone();
                added["arguments"] = "".into();
                added["status"] = "in_progress".into();
                ev(
                    &mut out,
                    "response.output_item.added",
                    json!({"output_index": n, "item": added}),
                );
                let args = item["arguments"].as_str().unwrap_or_default();
                let (x, y) = args.split_at(args.len() / 2);
                for d in [x, y] {
                    ev(
                        &mut out,
                        "response.function_call_arguments.delta",
                        json!({"item_id": iid, "output_index": n, "delta": d}),
                    );
                }
                ev(
                    &mut out,
                    "response.function_call_arguments.done",
                    json!({"item_id": iid, "output_index": n, "arguments": args}),
                );
            }
        }
        ev(
            &mut out,
            "response.output_item.done",
            json!({"output_index": n, "item": item}),
        );
    }
    let name = if a.stop == Stop::Length {
        "response.incomplete"
    } else {
        "response.completed"
    };
    ev(
        &mut out,
        name,
        json!({"response": object(id, model, a, done, true)}),
    );
    out
}
