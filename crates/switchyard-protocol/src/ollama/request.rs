//! /api/chat requests <-> IR.

use serde_json::{Map, Value, json};

use crate::ConvertError;
use crate::ir::{
    Image, ImageSource, Message, Part, Reasoning, Request, ResponseFormat, Role, Text, Thinking,
    Tool, ToolCall, ToolResult,
};
use crate::util::{arr, dropped, f64_of, get, i64_of, put, str_of, string, strings, u64_of};

/// Writes an /api/chat request for `model` (`stream` is always explicit:
/// Ollama streams by default).
pub fn encode_request(req: &Request, model: &str) -> Value {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let mut messages = Vec::new();
    if !req.system.is_empty() {
        let text: Vec<&str> = req.system.iter().map(|t| t.text.as_str()).collect();
        messages.push(json!({"role": "system", "content": text.join("\n\n")}));
    }
    let mut names = std::collections::HashMap::new();
    for m in &req.messages {
        let mut text = String::new();
        let mut thinking = String::new();
        let mut images = Vec::new();
        let mut calls = Vec::new();
        for p in &m.parts {
            match p {
                Part::Text(t) => text.push_str(&t.text),
                Part::Image(img) => match &img.source {
                    ImageSource::Base64 { data, .. } => images.push(Value::String(data.clone())),
                    ImageSource::Url(_) => {
                        dropped("image URL (Ollama takes base64 only)", "ollama")
                    }
                },
                Part::ToolCall(c) => {
                    names.insert(c.id.clone(), c.name.clone());
                    calls.push(
                        json!({"function": {"name": c.name, "arguments": c.arguments_value()}}),
                    );
                }
                Part::ToolResult(r) => {
                    let mut msg = json!({"role": "tool", "content": r.text()});
                    if let Some(n) = names.get(&r.call_id) {
                        msg["tool_name"] = n.clone().into();
                    }
                    messages.push(msg);
                }
                Part::Thinking(t) => thinking.push_str(&t.text),
            }
        }
        if text.is_empty() && images.is_empty() && calls.is_empty() {
            continue;
        }
        let role = if m.role == Role::User {
            "user"
        } else {
            "assistant"
        };
        let mut msg = json!({"role": role, "content": text});
        if !images.is_empty() {
            msg["images"] = Value::Array(images);
        }
        if !calls.is_empty() {
            msg["tool_calls"] = Value::Array(calls);
        }
        if !thinking.is_empty() && m.role == Role::Assistant {
            msg["thinking"] = thinking.into();
        }
        messages.push(msg);
    }
    out.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                put(&mut f, "description", t.description.clone());
                f.insert("parameters".into(), t.parameters.clone());
                json!({"type": "function", "function": f})
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
    }
    if req.tool_choice.is_some() || req.parallel_tool_calls.is_some() {
        dropped("tool_choice/parallel_tool_calls", "ollama");
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            out.insert("format".into(), "json".into());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            out.insert("format".into(), schema.clone());
        }
        _ => {}
    }
    let mut options = Map::new();
    put(&mut options, "temperature", req.temperature);
    put(&mut options, "top_p", req.top_p);
    put(&mut options, "top_k", req.top_k);
    put(&mut options, "num_predict", req.max_tokens);
    if !req.stop.is_empty() {
        options.insert("stop".into(), json!(req.stop));
    }
    put(&mut options, "seed", req.seed);
    put(&mut options, "presence_penalty", req.presence_penalty);
    put(&mut options, "frequency_penalty", req.frequency_penalty);
    if !options.is_empty() {
        out.insert("options".into(), Value::Object(options));
    }
    if let Some(r) = &req.reasoning {
        out.insert("think".into(), r.enabled.into());
    }
    out.insert("stream".into(), req.stream.into());
    Value::Object(out)
}

/// Reads an /api/chat request.
pub fn decode_request(body: &Value) -> Result<Request, ConvertError> {
    let o = body.get("options").unwrap_or(&Value::Null);
    let mut req = Request {
        model: string(body, "model"),
        temperature: f64_of(o, "temperature"),
        top_p: f64_of(o, "top_p"),
        top_k: u64_of(o, "top_k"),
        max_tokens: u64_of(o, "num_predict"),
        stop: strings(get(o, "stop")),
        seed: i64_of(o, "seed"),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(true),
        include_usage: true,
        ..Request::default()
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(ConvertError::field(
            "messages",
            "`messages` must be an array",
        ));
    };
    for (i, m) in messages.iter().enumerate() {
        let content = string(m, "content").unwrap_or_default();
        let mut parts = Vec::new();
        if let Some(t) = str_of(m, "thinking").filter(|t| !t.is_empty()) {
            parts.push(Part::Thinking(Thinking {
                text: t.to_owned(),
                ..Thinking::default()
            }));
        }
        let role = match str_of(m, "role") {
            Some("system") => {
                req.system.push(Text::new(content.clone()));
                continue;
            }
            Some("tool") => {
                parts.push(Part::ToolResult(ToolResult {
                    call_id: string(m, "tool_name").unwrap_or_default(),
                    content: vec![Part::Text(Text::new(content.clone()))],
                    ..ToolResult::default()
                }));
                Role::User
            }
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        if !content.is_empty() && str_of(m, "role") != Some("tool") {
            parts.push(Part::Text(Text::new(content)));
        }
        for img in arr(m, "images").iter().filter_map(Value::as_str) {
            parts.push(Part::Image(Image {
                source: ImageSource::Base64 {
                    media_type: "image/png".into(),
                    data: img.to_owned(),
                },
                detail: None,
                cache_control: None,
            }));
        }
        for (k, c) in arr(m, "tool_calls").iter().enumerate() {
            let f = c.get("function").unwrap_or(&Value::Null);
            let name = string(f, "name").unwrap_or_default();
            parts.push(Part::ToolCall(ToolCall {
                id: format!("call_{i}_{k}"),
                arguments: f
                    .get("arguments")
                    .map_or_else(|| "{}".into(), Value::to_string),
                name,
                cache_control: None,
            }));
        }
        match req.messages.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => req.messages.push(Message { role, parts }),
        }
    }
    for t in arr(body, "tools") {
        if let Some(f) = t.get("function") {
            req.tools.push(Tool {
                name: string(f, "name").unwrap_or_default(),
                description: string(f, "description"),
                parameters: f
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"})),
                strict: None,
                cache_control: None,
            });
        }
    }
    req.response_format = match get(body, "format") {
        Some(Value::String(s)) if s == "json" => Some(ResponseFormat::JsonObject),
        Some(schema @ Value::Object(_)) => Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: schema.clone(),
            strict: None,
        }),
        _ => None,
    };
    if let Some(t) = get(body, "think") {
        req.reasoning = Some(Reasoning {
            effort: t.as_str().map(str::to_owned),
            budget_tokens: None,
            enabled: t.as_bool().unwrap_or(true),
        });
    }
    Ok(req)
}
