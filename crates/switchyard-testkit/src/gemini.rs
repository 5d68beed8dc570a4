//! A fake Gemini `generateContent` API that validates like the real one.

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

/// Answers `POST …/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`.
pub(crate) fn reply(state: &Arc<State>, rec: &Recorded) -> Response {
    if let Some(auth) = rec.header("authorization")
        && !crate::google::valid_bearer(Some(auth))
    {
        return error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
    }
    if rec.header("x-goog-api-key").is_none() && rec.header("authorization").is_none() {
        return error(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
    }
    let stream = rec.path.ends_with(":streamGenerateContent");
    if stream && rec.uri.query() != Some("alt=sse") {
        return error(
            400,
            "INVALID_ARGUMENT",
            "this fake streams only with alt=sse",
        );
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&rec.body) else {
        return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let turn = match validate(&req) {
        Ok(t) => t,
        Err(m) => return error(400, "INVALID_ARGUMENT", &m),
    };
    if let Some(status) = brain::error_trigger(&turn.text) {
        let s = match status {
            429 => "RESOURCE_EXHAUSTED",
            500..=599 => "INTERNAL",
            _ => "INVALID_ARGUMENT",
        };
        let mut res = error(status, s, "fake error on request");
        if status == 429 {
            res.headers_mut()
                .insert("retry-after", http::HeaderValue::from_static("7"));
        }
        return res;
    }
    let a = brain::think(&turn, "unused");
    let model = rec
        .path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    if stream {
        let frames = chunks(&model, &a)
            .into_iter()
            .map(|c| format!("data: {c}\r\n\r\n"));
        stream::streamed(
            state.clone(),
            Step::spaced_raw(frames, DELAY),
            "text/event-stream",
        )
    } else {
        let mut whole = chunk(&model, parts(&a), Some(&a));
        whole["candidates"][0]["finishReason"] = finish(a.stop).into();
        (StatusCode::OK, axum::Json(whole)).into_response()
    }
}

/// Answers `POST …/models/{model}:countTokens`: AI Studio's form
/// (`generateContentRequest`) or Vertex's (`contents` at the top).
pub(crate) fn count(rec: &Recorded) -> Response {
    if rec.header("x-goog-api-key").is_none()
        && !crate::google::valid_bearer(rec.header("authorization"))
    {
        return error(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers.",
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(&rec.body) else {
        return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let inner = v.get("generateContentRequest").unwrap_or(&v);
    let Value::Object(mut req) = inner.clone() else {
        return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    req.remove("model");
    match validate(&req) {
        Ok(turn) => (
            StatusCode::OK,
            axum::Json(json!({"totalTokens": turn.prompt_words})),
        )
            .into_response(),
        Err(m) => error(400, "INVALID_ARGUMENT", &m),
    }
}

fn error(status: u16, s: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        code,
        axum::Json(json!({"error": {"code": status, "message": message, "status": s}})),
    )
        .into_response()
}

fn validate(req: &Map<String, Value>) -> Result<Turn, String> {
    if req.contains_key("model") || req.contains_key("messages") {
        return Err("Invalid JSON payload received. Unknown name \"messages\" or \"model\": Cannot find field.".into());
    }
    let Some(contents) = req
        .get("contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    else {
        return Err("* GenerateContentRequest.contents: contents is not specified".into());
    };
    let mut turn = Turn::default();
    let mut called: Vec<String> = Vec::new();
    for (i, c) in contents.iter().enumerate() {
        let role = c.get("role").and_then(Value::as_str).unwrap_or("user");
        if role != "user" && role != "model" {
            return Err(format!(
                "Please use a valid role: user, model. (contents[{i}].role = {role:?})"
            ));
        }
        let Some(parts) = c
            .get("parts")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
        else {
            return Err(format!(
                "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            ));
        };
        if role == "user" {
            turn.text.clear();
            turn.results.clear();
            turn.images = 0;
        }
        for p in parts {
            if let Some(sig) = p.get("thoughtSignature").and_then(Value::as_str)
                && !brain::valid_signature(sig)
            {
                return Err(format!("Corrupted thought signature at contents[{i}]."));
            }
            if let Some(t) = p.get("text").and_then(Value::as_str) {
                if role == "user" {
                    turn.text.push_str(t);
                }
            } else if p.get("inlineData").is_some() || p.get("fileData").is_some() {
                turn.images += 1;
            } else if let Some(f) = p.get("functionCall") {
                if role != "model" {
                    return Err(format!(
                        "contents[{i}]: functionCall must come from the model"
                    ));
                }
                called.push(
                    f.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
            } else if let Some(f) = p.get("functionResponse") {
                let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                if !called.iter().any(|c| c == name) {
                    return Err(format!(
                        "contents[{i}]: functionResponse `{name}` answers no functionCall"
                    ));
                }
                let r = f.get("response").unwrap_or(&Value::Null);
                let text = r
                    .get("result")
                    .and_then(Value::as_str)
                    .map_or_else(|| r.to_string(), str::to_owned);
                turn.results.push(text);
            } else {
                return Err(format!("contents[{i}]: unsupported part {p}"));
            }
        }
    }
    let config = req.get("generationConfig").unwrap_or(&Value::Null);
    turn.tools = req
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|t| t.get("functionDeclarations").is_some()));
    turn.thinking = config
        .pointer("/thinkingConfig/includeThoughts")
        .and_then(Value::as_bool)
        == Some(true);
    turn.max_tokens = config.get("maxOutputTokens").and_then(Value::as_u64);
    turn.json = config.get("responseMimeType").and_then(Value::as_str) == Some("application/json");
    let mut all = String::new();
    brain::all_text(
        req.get("systemInstruction").unwrap_or(&Value::Null),
        &mut all,
    );
    for c in contents {
        for p in c
            .get("parts")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(t) = p.get("text").and_then(Value::as_str) {
                all.push_str(t);
                all.push(' ');
            }
            if let Some(r) = p
                .pointer("/functionResponse/response/result")
                .and_then(Value::as_str)
            {
                all.push_str(r);
                all.push(' ');
            }
            if let Some(a) = p.pointer("/functionCall/args") {
                brain::all_text(a, &mut all);
            }
        }
    }
    turn.prompt_words = brain::words(&all);
    Ok(turn)
}

fn finish(s: Stop) -> &'static str {
    match s {
        Stop::Length => "MAX_TOKENS",
        Stop::End | Stop::Tools => "STOP",
    }
}

fn parts(a: &Answer) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some((t, _)) = &a.thinking {
        out.push(json!({"text": t, "thought": true}));
    }
    if !a.text.is_empty() {
        out.push(json!({"text": a.text}));
    }
    for (i, (_, name, args)) in a.calls.iter().enumerate() {
        let mut p = json!({"functionCall": {"name": name, "args": args}});
        if i == 0
            && let Some((_, s)) = &a.thinking
        {
            p["thoughtSignature"] = s.clone().into();
        }
        out.push(p);
    }
    out
}

fn usage(a: &Answer) -> Value {
    let thoughts = a.thinking.as_ref().map_or(0, |(t, _)| brain::words(t));
    json!({
        "promptTokenCount": a.prompt_tokens,
        "candidatesTokenCount": a.completion_tokens - thoughts,
        "thoughtsTokenCount": thoughts,
        "totalTokenCount": a.prompt_tokens + a.completion_tokens,
    })
}

fn chunk(model: &str, parts: Vec<Value>, last: Option<&Answer>) -> Value {
    let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
        "modelVersion": model, "responseId": "fake-response-1"});
    if let Some(a) = last {
        c["usageMetadata"] = usage(a);
    }
    c
}

/// The chunks of a streamed answer: a thought, text pieces, calls, then the finish with usage.
fn chunks(model: &str, a: &Answer) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some((t, _)) = &a.thinking {
        out.push(chunk(
            model,
            vec![json!({"text": t, "thought": true})],
            None,
        ));
    }
    for p in brain::pieces(&a.text) {
        out.push(chunk(model, vec![json!({"text": p})], None));
    }
    let calls: Vec<Value> = parts(a)
        .into_iter()
        .filter(|p| p.get("functionCall").is_some())
        .collect();
    let mut last = chunk(model, calls, Some(a));
    last["candidates"][0]["finishReason"] = finish(a.stop).into();
    out.push(last);
    out
}
