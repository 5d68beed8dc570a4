//! Messages requests <-> IR.

use serde_json::{Map, Value, json};

use crate::ir::{
    Image, ImageSource, Message, Part, Reasoning, Request, ResponseFormat, Role, Text, Thinking,
    Tool, ToolCall, ToolChoice, ToolResult,
};
use crate::util::{arr, dropped, f64_of, get, put, str_of, string, strings, u64_of};
use crate::{ConvertError, DEFAULT_MAX_TOKENS};

/// Reads a Messages request.
pub fn decode_request(body: &Value) -> Result<Request, ConvertError> {
    crate::util::log_unknown(
        body,
        &[
            "model",
            "messages",
            "system",
            "temperature",
            "top_p",
            "top_k",
            "max_tokens",
            "stop_sequences",
            "stream",
            "metadata",
            "tools",
            "tool_choice",
            "thinking",
            "output_format",
        ],
        "Anthropic",
    );
    let mut req = Request {
        model: string(body, "model"),
        temperature: f64_of(body, "temperature"),
        top_p: f64_of(body, "top_p"),
        top_k: u64_of(body, "top_k"),
        max_tokens: u64_of(body, "max_tokens"),
        stop: strings(get(body, "stop_sequences")),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: true,
        user: body
            .pointer("/metadata/user_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..Request::default()
    };
    match get(body, "system") {
        Some(Value::String(s)) => req.system.push(Text::new(s.clone())),
        Some(Value::Array(blocks)) => {
            for b in blocks {
                req.system.push(Text {
                    text: string(b, "text").unwrap_or_default(),
                    cache_control: get(b, "cache_control").cloned(),
                });
            }
        }
        _ => {}
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(ConvertError::field("messages", "messages: Field required"));
    };
    for (i, m) in messages.iter().enumerate() {
        let role = match str_of(m, "role") {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => {
                return Err(ConvertError::field(
                    &format!("messages.{i}.role"),
                    format!(
                        "messages.{i}.role: Input should be 'user' or 'assistant', got {other:?}"
                    ),
                ));
            }
        };
        let parts = decode_content(m.get("content").unwrap_or(&Value::Null), i)?;
        match req.messages.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => req.messages.push(Message { role, parts }),
        }
    }
    for t in arr(body, "tools") {
        match (string(t, "name"), get(t, "input_schema")) {
            (Some(name), Some(schema)) => req.tools.push(Tool {
                name,
                description: string(t, "description"),
                parameters: schema.clone(),
                strict: None,
                cache_control: get(t, "cache_control").cloned(),
            }),
            _ => dropped("tools[] (server tool)", "ir"),
        }
    }
    if let Some(tc) = get(body, "tool_choice") {
        req.tool_choice = match str_of(tc, "type") {
            Some("any") => Some(ToolChoice::Required),
            Some("none") => Some(ToolChoice::None),
            Some("tool") => string(tc, "name").map(ToolChoice::Tool),
            _ => Some(ToolChoice::Auto),
        };
        if tc.get("disable_parallel_tool_use").and_then(Value::as_bool) == Some(true) {
            req.parallel_tool_calls = Some(false);
        }
    }
    if let Some(t) = get(body, "thinking") {
        req.reasoning = Some(Reasoning {
            effort: None,
            budget_tokens: u64_of(t, "budget_tokens"),
            enabled: str_of(t, "type") != Some("disabled"),
        });
    }
    if let Some(f) = body.pointer("/output_format").filter(|f| !f.is_null()) {
        req.response_format = Some(ResponseFormat::JsonSchema {
            name: "output".into(),
            schema: f.get("schema").cloned().unwrap_or(Value::Null),
            strict: Some(true),
        });
    }
    Ok(req)
}

fn decode_content(content: &Value, i: usize) -> Result<Vec<Part>, ConvertError> {
    match content {
        Value::String(s) => Ok(vec![Part::Text(Text::new(s.clone()))]),
        Value::Array(blocks) => Ok(blocks.iter().filter_map(decode_block).collect()),
        _ => Err(ConvertError::field(
            &format!("messages.{i}.content"),
            format!("messages.{i}.content: Input should be a valid list or string"),
        )),
    }
}

fn decode_block(b: &Value) -> Option<Part> {
    let cache_control = get(b, "cache_control").cloned();
    Some(match str_of(b, "type")? {
        "text" => Part::Text(Text {
            text: string(b, "text").unwrap_or_default(),
            cache_control,
        }),
        "image" => {
            let s = b.get("source")?;
            let source = match str_of(s, "type") {
                Some("url") => ImageSource::Url(string(s, "url")?),
                _ => ImageSource::Base64 {
                    media_type: string(s, "media_type").unwrap_or_else(|| "image/png".into()),
                    data: string(s, "data")?,
                },
            };
            Part::Image(Image {
                source,
                detail: None,
                cache_control,
            })
        }
        "tool_use" => Part::ToolCall(ToolCall {
            id: string(b, "id").unwrap_or_default(),
            name: string(b, "name").unwrap_or_default(),
            arguments: b
                .get("input")
                .map_or_else(|| "{}".to_owned(), Value::to_string),
            cache_control,
        }),
        "tool_result" => {
            let content = match b.get("content") {
                Some(Value::String(s)) => vec![Part::Text(Text::new(s.clone()))],
                Some(Value::Array(items)) => items.iter().filter_map(decode_block).collect(),
                _ => Vec::new(),
            };
            Part::ToolResult(ToolResult {
                call_id: string(b, "tool_use_id").unwrap_or_default(),
                content,
                is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                cache_control,
            })
        }
        "thinking" => Part::Thinking(Thinking {
            text: string(b, "thinking").unwrap_or_default(),
            signature: string(b, "signature"),
            redacted: None,
        }),
        "redacted_thinking" => Part::Thinking(Thinking {
            redacted: Some(string(b, "data").unwrap_or_default()),
            ..Thinking::default()
        }),
        other => {
            dropped(&format!("content block `{other}`"), "ir");
            return None;
        }
    })
}

/// Writes a Messages request for `model`.
pub fn encode_request(req: &Request, model: &str) -> Value {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let mut budget = None;
    if let Some(r) = req.reasoning.as_ref().filter(|r| r.enabled) {
        budget = Some(r.budget().max(1024));
    }
    let mut max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if let Some(b) = budget
        && max_tokens <= b
    {
        // Anthropic needs room to answer after thinking.
        max_tokens = b + max_tokens.max(1024);
    }
    out.insert("max_tokens".into(), max_tokens.into());
    let mut system: Vec<Value> = req.system.iter().map(text_block).collect();
    if let Some(hint) = json_hint(req.response_format.as_ref()) {
        system.push(json!({"type": "text", "text": hint}));
    }
    if system.len() == 1
        && req
            .system
            .first()
            .is_some_and(|t| t.cache_control.is_none())
    {
        out.insert("system".into(), system[0]["text"].clone());
    } else if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    let mut messages: Vec<Value> = Vec::new();
    for m in &req.messages {
        let role = if m.role == Role::User {
            "user"
        } else {
            "assistant"
        };
        let mut blocks: Vec<Value> = m
            .parts
            .iter()
            .filter_map(|p| encode_part(p, m.role))
            .collect();
        if m.role == Role::User {
            // Tool results must come first in their turn.
            blocks.sort_by_key(|b| b["type"] != "tool_result");
        }
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(c) = last["content"].as_array_mut() {
                    c.extend(blocks);
                }
            }
            _ => messages.push(json!({"role": role, "content": blocks})),
        }
    }
    out.insert("messages".into(), Value::Array(messages));
    if budget.is_some() {
        if req.temperature.is_some() || req.top_k.is_some() {
            dropped("temperature/top_k (not allowed with thinking)", "anthropic");
        }
    } else {
        put(&mut out, "temperature", req.temperature);
        put(&mut out, "top_k", req.top_k);
    }
    put(&mut out, "top_p", req.top_p);
    if !req.stop.is_empty() {
        out.insert("stop_sequences".into(), json!(req.stop));
    }
    if req.seed.is_some() || req.presence_penalty.is_some() || req.frequency_penalty.is_some() {
        dropped("seed/presence_penalty/frequency_penalty", "anthropic");
    }
    encode_tools(req, &mut out);
    if let Some(b) = budget {
        out.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": b}),
        );
    }
    if let Some(u) = &req.user {
        out.insert("metadata".into(), json!({"user_id": u}));
    }
    if req.stream {
        out.insert("stream".into(), true.into());
    }
    Value::Object(out)
}

/// Anthropic has no JSON mode: the schema goes into the system prompt.
fn json_hint(f: Option<&ResponseFormat>) -> Option<String> {
    match f? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => {
            Some("Respond with a single valid JSON object and nothing else.".into())
        }
        ResponseFormat::JsonSchema { schema, .. } => Some(format!(
            "Respond with a single valid JSON object that matches this JSON schema, and nothing else:\n{schema}"
        )),
    }
}

fn encode_tools(req: &Request, out: &mut Map<String, Value>) {
    if req.tools.is_empty() {
        return;
    }
    let tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut m = Map::new();
            m.insert("name".into(), t.name.clone().into());
            put(&mut m, "description", t.description.clone());
            m.insert("input_schema".into(), t.parameters.clone());
            put(&mut m, "cache_control", t.cache_control.clone());
            Value::Object(m)
        })
        .collect();
    out.insert("tools".into(), Value::Array(tools));
    let mut choice = match &req.tool_choice {
        Some(ToolChoice::None) => json!({"type": "none"}),
        Some(ToolChoice::Required) => json!({"type": "any"}),
        Some(ToolChoice::Tool(n)) => json!({"type": "tool", "name": n}),
        Some(ToolChoice::Auto) => json!({"type": "auto"}),
        None if req.parallel_tool_calls == Some(false) => json!({"type": "auto"}),
        None => return,
    };
    if req.parallel_tool_calls == Some(false) && choice["type"] != "none" {
        choice["disable_parallel_tool_use"] = true.into();
    }
    out.insert("tool_choice".into(), choice);
}

fn text_block(t: &Text) -> Value {
    let mut b = json!({"type": "text", "text": t.text});
    if let Some(cc) = &t.cache_control {
        b["cache_control"] = cc.clone();
    }
    b
}

fn with_cache(mut b: Value, cc: &Option<Value>) -> Value {
    if let Some(cc) = cc {
        b["cache_control"] = cc.clone();
    }
    b
}

fn image_block(img: &Image) -> Value {
    let source = match &img.source {
        ImageSource::Url(u) => json!({"type": "url", "url": u}),
        ImageSource::Base64 { media_type, data } => {
            json!({"type": "base64", "media_type": media_type, "data": data})
        }
    };
    with_cache(
        json!({"type": "image", "source": source}),
        &img.cache_control,
    )
}

fn encode_part(p: &Part, role: Role) -> Option<Value> {
    Some(match p {
        Part::Text(t) if t.text.is_empty() => return None,
        Part::Text(t) => text_block(t),
        Part::Image(img) => image_block(img),
        Part::ToolCall(c) => with_cache(
            json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments_value()}),
            &c.cache_control,
        ),
        Part::ToolResult(r) => {
            let content: Vec<Value> = r
                .content
                .iter()
                .filter_map(|c| match c {
                    Part::Text(t) => Some(text_block(t)),
                    Part::Image(i) => Some(image_block(i)),
                    _ => None,
                })
                .collect();
            let mut b =
                json!({"type": "tool_result", "tool_use_id": r.call_id, "content": content});
            if r.is_error {
                b["is_error"] = true.into();
            }
            with_cache(b, &r.cache_control)
        }
        Part::Thinking(t) if role == Role::Assistant => match (&t.redacted, &t.signature) {
            (Some(d), _) => json!({"type": "redacted_thinking", "data": d}),
            (None, Some(sig)) => json!({"type": "thinking", "thinking": t.text, "signature": sig}),
            (None, None) => {
                dropped("thinking without signature", "anthropic");
                return None;
            }
        },
        Part::Thinking(_) => return None,
    })
}
