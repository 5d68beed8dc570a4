//! The default behaviour: an OpenAI-compatible echo server that validates
//! like OpenAI does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use serde_json::{Map, Value};

use crate::record::Recorded;
use crate::server::State;
use crate::shapes::{self, Answer, words};
use crate::stream::{self, Step};

/// Pause between two events of a default stream.
const STREAM_DELAY: Duration = Duration::from_millis(5);

/// Width of a default embedding vector.
const DIMENSIONS: usize = 8;

/// Which API a path names, whatever its prefix (`/v1`, an Azure deployment).
enum Endpoint<'a> {
    Chat,
    Completions,
    Embeddings,
    Models,
    Model(&'a str),
    Unknown,
}

fn endpoint(path: &str) -> Endpoint<'_> {
    let path = path.trim_end_matches('/');
    if path.ends_with("/chat/completions") {
        Endpoint::Chat
    } else if path.ends_with("/completions") {
        Endpoint::Completions
    } else if path.ends_with("/embeddings") {
        Endpoint::Embeddings
    } else if path.ends_with("/models") {
        Endpoint::Models
    } else if let Some((_, id)) = path.split_once("/models/") {
        Endpoint::Model(id)
    } else {
        Endpoint::Unknown
    }
}

/// Answers `rec` with the default behaviour.
pub(crate) fn default_reply(state: &Arc<State>, rec: &Recorded) -> Response {
    let post = rec.method == Method::POST;
    match endpoint(&rec.path) {
        Endpoint::Models if rec.method == Method::GET => {
            let data: Vec<Value> = state.models().iter().map(|id| shapes::model(id)).collect();
            json(
                StatusCode::OK,
                serde_json::json!({"object": "list", "data": data}),
            )
        }
        Endpoint::Model(id) if rec.method == Method::GET => {
            if state.models().iter().any(|m| m == id) {
                json(StatusCode::OK, shapes::model(id))
            } else {
                let message = format!("The model '{id}' does not exist");
                let body = shapes::error(
                    &message,
                    "invalid_request_error",
                    Some("model"),
                    Some("model_not_found"),
                );
                json(StatusCode::NOT_FOUND, body)
            }
        }
        Endpoint::Chat if post => validated(rec, |req| chat(state, req)),
        Endpoint::Completions if post => validated(rec, |req| completion(state, req)),
        Endpoint::Embeddings if post => validated(rec, embeddings),
        _ => {
            let message = format!(
                "Unknown request URL: {} {}. Please check the URL for typos.",
                rec.method, rec.path
            );
            let body = shapes::error(&message, "invalid_request_error", None, Some("unknown_url"));
            json(StatusCode::NOT_FOUND, body)
        }
    }
}

/// Answers `rec` with `text`, in the shape of the path it hit.
pub(crate) fn text_reply(state: &Arc<State>, rec: &Recorded, text: String) -> Response {
    let req = match rec.json() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    match endpoint(&rec.path) {
        Endpoint::Completions => answer_completion(state, &req, text),
        _ => answer_chat(state, &req, text),
    }
}

/// Parses the body as a JSON object with a non-empty `model`, then runs `f`.
fn validated(rec: &Recorded, f: impl FnOnce(&Map<String, Value>) -> Response) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&rec.body) else {
        let message = "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.";
        return bad_request(message, None, None);
    };
    match req.get("model").and_then(Value::as_str) {
        Some(model) if !model.is_empty() => f(&req),
        Some(_) => bad_request(
            "Invalid 'model': empty string.",
            Some("model"),
            Some("invalid_value"),
        ),
        None => bad_request(
            "Missing required parameter: 'model'.",
            Some("model"),
            Some("missing_required_parameter"),
        ),
    }
}

fn chat(state: &Arc<State>, req: &Map<String, Value>) -> Response {
    let messages = match req.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            let message = "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.";
            return bad_request(message, Some("messages"), Some("empty_array"));
        }
        Some(_) => {
            return bad_request(
                "Invalid type for 'messages': expected an array.",
                Some("messages"),
                Some("invalid_type"),
            );
        }
        None => {
            return bad_request(
                "Missing required parameter: 'messages'.",
                Some("messages"),
                Some("missing_required_parameter"),
            );
        }
    };
    let texts: Vec<String> = messages.iter().map(|m| text_of(&m["content"])).collect();
    let last = texts.last().map_or("", String::as_str);
    answer_chat(state, req, format!("echo: {last}"))
}

fn completion(state: &Arc<State>, req: &Map<String, Value>) -> Response {
    let prompt = match req.get("prompt") {
        Some(Value::Array(items)) => items.iter().map(text_of).collect(),
        Some(prompt) => text_of(prompt),
        None => String::new(),
    };
    answer_completion(state, req, format!("echo: {prompt}"))
}

fn embeddings(req: &Map<String, Value>) -> Response {
    let items: Vec<Value> = match req.get("input") {
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        // A flat token array is one input; anything else is a list of inputs.
        Some(Value::Array(items)) if items.iter().all(Value::is_number) && !items.is_empty() => {
            vec![Value::Array(items.clone())]
        }
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        _ => {
            return bad_request(
                "'input' must be a non-empty string or array.",
                Some("input"),
                Some("invalid_value"),
            );
        }
    };
    let dims = req
        .get("dimensions")
        .and_then(Value::as_u64)
        .map_or(DIMENSIONS, |d| usize::try_from(d).unwrap_or(DIMENSIONS));
    let base64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    json(
        StatusCode::OK,
        shapes::embeddings(model, &items, dims, base64),
    )
}

fn answer_chat(state: &Arc<State>, req: &Map<String, Value>, text: String) -> Response {
    let prompt_tokens = match req.get("messages") {
        Some(Value::Array(messages)) => messages
            .iter()
            .map(|m| words(&text_of(&m["content"])))
            .sum(),
        _ => 0,
    };
    let id = format!(
        "chatcmpl-fake-{}",
        state.next_id.fetch_add(1, Ordering::Relaxed) + 1
    );
    let answer = Answer::new(id, &Value::Object(req.clone()), prompt_tokens, text);
    if streamed(req) {
        stream::sse(
            state.clone(),
            Step::spaced(answer.chat_chunks(), STREAM_DELAY),
        )
    } else {
        json(StatusCode::OK, answer.chat())
    }
}

fn answer_completion(state: &Arc<State>, req: &Map<String, Value>, text: String) -> Response {
    let prompt_tokens = match req.get("prompt") {
        Some(Value::Array(items)) => items.iter().map(|p| words(&text_of(p))).sum(),
        Some(prompt) => words(&text_of(prompt)),
        None => 0,
    };
    let id = format!(
        "cmpl-fake-{}",
        state.next_id.fetch_add(1, Ordering::Relaxed) + 1
    );
    let answer = Answer::new(id, &Value::Object(req.clone()), prompt_tokens, text);
    if streamed(req) {
        stream::sse(
            state.clone(),
            Step::spaced(answer.completion_chunks(), STREAM_DELAY),
        )
    } else {
        json(StatusCode::OK, answer.completion())
    }
}

fn streamed(req: &Map<String, Value>) -> bool {
    req.get("stream").and_then(Value::as_bool).unwrap_or(false)
}

/// The text of a message content: the string, or its text parts joined.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn bad_request(message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    let body = shapes::error(message, "invalid_request_error", param, code);
    json(StatusCode::BAD_REQUEST, body)
}

fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}
