//! A fake Ollama `/api/chat` that validates like the real one.

use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::brain::{self, Answer, Stop, Turn};
use crate::record::Recorded;
use crate::server::State;
use crate::stream::{self, Step};

const DELAY: Duration = Duration::from_millis(5);
const AT: &str = "2025-06-01T12:00:00.000000Z";

/// Answers `POST /api/chat` (streaming by default, as Ollama does).
pub(crate) fn reply(state: &Arc<State>, rec: &Recorded) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&rec.body) else {
        return error(400, "invalid character in JSON body");
    };
    let turn = match validate(&req) {
        Ok(t) => t,
        Err(m) => return error(400, &m),
    };
    if let Some(status) = brain::error_trigger(&turn.text) {
        let mut res = error(status, "fake error on request");
        if status == 429 {
            res.headers_mut()
                .insert("retry-after", http::HeaderValue::from_static("7"));
        }
        return res;
    }
    let a = brain::think(&turn, "unused");
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if req.get("stream").and_then(Value::as_bool).unwrap_or(true) {
        let lines = lines(&model, &a).into_iter().map(|l| format!("{l}\n"));
        stream::streamed(
            state.clone(),
            Step::spaced_raw(lines, DELAY),
            "application/x-ndjson",
        )
    } else {
        let mut msg = json!({"role": "assistant", "content": a.text});
        if let Some((t, _)) = &a.thinking {
            msg["thinking"] = t.clone().into();
        }
        if !a.calls.is_empty() {
            msg["tool_calls"] = calls(&a);
        }
        (StatusCode::OK, axum::Json(done(&model, msg, &a))).into_response()
    }
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, axum::Json(json!({"error": message}))).into_response()
}

fn validate(req: &Map<String, Value>) -> Result<Turn, String> {
    if req
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("model is required".into());
    }
    let Some(messages) = req.get("messages").and_then(Value::as_array) else {
        return Err("messages is required".into());
    };
    let mut turn = Turn::default();
    let mut called: Vec<String> = Vec::new();
    let mut all = String::new();
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let content = m.get("content").and_then(Value::as_str).unwrap_or_default();
        all.push_str(content);
        all.push(' ');
        match role {
            "system" => {}
            "user" => {
                turn.text = content.to_owned();
                turn.results.clear();
                turn.images = 0;
                for img in m
                    .get("images")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                {
                    if img.as_str().is_none_or(|s| s.contains("://")) {
                        return Err("illegal base64 data in images".into());
                    }
                    turn.images += 1;
                }
            }
            "assistant" => {
                for c in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                {
                    if !c
                        .pointer("/function/arguments")
                        .is_some_and(Value::is_object)
                    {
                        return Err("tool_calls.function.arguments must be an object".into());
                    }
                    brain::all_text(
                        c.pointer("/function/arguments").unwrap_or(&Value::Null),
                        &mut all,
                    );
                    called.push(
                        c.pointer("/function/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                turn.results.clear();
            }
            "tool" => {
                if let Some(name) = m.get("tool_name").and_then(Value::as_str)
                    && !called.iter().any(|c| c == name)
                {
                    return Err(format!("tool message for `{name}`, which was not called"));
                }
                turn.results.push(content.to_owned());
            }
            other => return Err(format!("invalid role: {other}")),
        }
    }
    turn.tools = req
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    turn.thinking = req.get("think").and_then(Value::as_bool) == Some(true);
    turn.json = req.get("format").is_some_and(|f| !f.is_null());
    turn.max_tokens = req
        .get("options")
        .and_then(|o| o.get("num_predict"))
        .and_then(Value::as_u64);
    turn.prompt_words = brain::words(&all);
    Ok(turn)
}

fn calls(a: &Answer) -> Value {
    a.calls
        .iter()
        .map(|(_, name, args)| json!({"function": {"name": name, "arguments": args}}))
        .collect()
}

fn done(model: &str, message: Value, a: &Answer) -> Value {
    json!({"model": model, "created_at": AT, "message": message, "done": true,
        "done_reason": if a.stop == Stop::Length { "length" } else { "stop" },
        "total_duration": 5_000_000, "load_duration": 1_000_000,
        "prompt_eval_count": a.prompt_tokens, "prompt_eval_duration": 1_000_000,
        "eval_count": a.completion_tokens, "eval_duration": 3_000_000})
}

fn lines(model: &str, a: &Answer) -> Vec<Value> {
    let line =
        |msg: Value| json!({"model": model, "created_at": AT, "message": msg, "done": false});
    let mut out = Vec::new();
    if let Some((t, _)) = &a.thinking {
        for p in brain::pieces(t) {
            out.push(line(
                json!({"role": "assistant", "content": "", "thinking": p}),
            ));
        }
    }
    for p in brain::pieces(&a.text) {
        out.push(line(json!({"role": "assistant", "content": p})));
    }
    if !a.calls.is_empty() {
        out.push(line(
            json!({"role": "assistant", "content": "", "tool_calls": calls(a)}),
        ));
    }
    out.push(done(model, json!({"role": "assistant", "content": ""}), a));
    out
}
