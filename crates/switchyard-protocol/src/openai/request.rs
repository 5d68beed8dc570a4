//! Chat Completions requests <-> IR.

use serde_json::{Map, Value, json};

use crate::ConvertError;
use crate::ir::{
    Image, ImageSource, Message, Part, Reasoning, Request, ResponseFormat, Role, Text, Thinking,
    Tool, ToolCall, ToolChoice, ToolResult,
};
use crate::util::{arr, dropped, f64_of, get, i64_of, put, str_of, string, strings, u64_of};

/// Reads a Chat Completions request.
pub fn decode_request(body: &Value) -> Result<Request, ConvertError> {
    crate::util::log_unknown(
        body,
        &[
            "model",
            "messages",
            "temperature",
            "top_p",
            "max_tokens",
            "max_completion_tokens",
            "stop",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "parallel_tool_calls",
            "stream",
            "stream_options",
            "user",
            "tools",
            "tool_choice",
            "response_format",
            "reasoning_effort",
        ],
        "OpenAI chat",
    );
    let mut req = Request {
        model: string(body, "model"),
        temperature: f64_of(body, "temperature"),
        top_p: f64_of(body, "top_p"),
        max_tokens: u64_of(body, "max_completion_tokens").or_else(|| u64_of(body, "max_tokens")),
        stop: strings(get(body, "stop")),
        seed: i64_of(body, "seed"),
        presence_penalty: f64_of(body, "presence_penalty"),
        frequency_penalty: f64_of(body, "frequency_penalty"),
        parallel_tool_calls: body.get("parallel_tool_calls").and_then(Value::as_bool),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        user: string(body, "user"),
        ..Request::default()
    };
    if u64_of(body, "n").is_some_and(|n| n > 1) {
        return Err(ConvertError::field(
            "n",
            "`n` > 1 (several choices) cannot be served by this provider; send one request per choice",
        ));
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(ConvertError::field(
            "messages",
            "`messages` must be an array of messages",
        ));
    };
    for (i, m) in messages.iter().enumerate() {
        decode_message(m, i, &mut req)?;
    }
    for t in arr(body, "tools") {
        if let Some(tool) = decode_tool(t) {
            req.tools.push(tool);
        } else {
            dropped("tools[] (not a function tool)", "ir");
        }
    }
    req.tool_choice = get(body, "tool_choice").and_then(decode_tool_choice);
    req.response_format = get(body, "response_format").and_then(decode_format);
    if let Some(effort) = str_of(body, "reasoning_effort") {
        req.reasoning = Some(Reasoning {
            effort: Some(effort.to_owned()),
            budget_tokens: None,
            enabled: effort != "none",
        });
    }
    Ok(req)
}

fn decode_message(m: &Value, i: usize, req: &mut Request) -> Result<(), ConvertError> {
    let role = str_of(m, "role").unwrap_or_default();
    let content = m.get("content").unwrap_or(&Value::Null);
    match role {
        "system" | "developer" => {
            for p in decode_content(content, i)? {
                if let Part::Text(t) = p {
                    req.system.push(t);
                }
            }
        }
        "user" => {
            let parts = decode_content(content, i)?;
            push(req, Role::User, parts);
        }
        "assistant" => {
            let mut parts = Vec::new();
            for b in arr(m, "thinking_blocks") {
                parts.push(Part::Thinking(Thinking {
                    text: string(b, "thinking").unwrap_or_default(),
                    signature: string(b, "signature"),
                    redacted: string(b, "data")
                        .filter(|_| str_of(b, "type") == Some("redacted_thinking")),
                }));
            }
            if parts.is_empty()
                && let Some(r) = str_of(m, "reasoning_content").or_else(|| str_of(m, "reasoning"))
                && !r.is_empty()
            {
                parts.push(Part::Thinking(Thinking {
                    text: r.to_owned(),
                    ..Thinking::default()
                }));
            }
            parts.extend(decode_content(content, i)?);
            for c in arr(m, "tool_calls") {
                let f = c.get("function").unwrap_or(&Value::Null);
                parts.push(Part::ToolCall(ToolCall {
                    id: string(c, "id").unwrap_or_default(),
                    name: string(f, "name").unwrap_or_default(),
                    arguments: string(f, "arguments").unwrap_or_default(),
                    cache_control: get(c, "cache_control").cloned(),
                }));
            }
            push(req, Role::Assistant, parts);
        }
        "tool" | "function" => {
            let content = decode_content(content, i)?;
            let part = Part::ToolResult(ToolResult {
                call_id: string(m, "tool_call_id")
                    .or_else(|| string(m, "name"))
                    .unwrap_or_default(),
                content,
                is_error: false,
                cache_control: None,
            });
            push(req, Role::User, vec![part]);
        }
        other => {
            return Err(ConvertError::field(
                &format!("messages[{i}].role"),
                format!("unknown role `{other}` in messages[{i}]"),
            ));
        }
    }
    Ok(())
}

/// Appends parts, merging into the previous message of the same role.
fn push(req: &mut Request, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match req.messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => req.messages.push(Message { role, parts }),
    }
}

fn decode_content(content: &Value, i: usize) -> Result<Vec<Part>, ConvertError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![Part::Text(Text::new(s.clone()))]),
        Value::Array(items) => {
            let mut parts = Vec::new();
            for item in items {
                let cache_control = get(item, "cache_control").cloned();
                match str_of(item, "type") {
                    Some("text") | Some("input_text") => parts.push(Part::Text(Text {
                        text: string(item, "text").unwrap_or_default(),
                        cache_control,
                    })),
                    Some("image_url") => {
                        let iu = item.get("image_url").unwrap_or(&Value::Null);
                        let url = match iu {
                            Value::String(s) => s.as_str(),
                            _ => str_of(iu, "url").unwrap_or_default(),
                        };
                        parts.push(Part::Image(Image {
                            source: ImageSource::from_url(url),
                            detail: string(iu, "detail"),
                            cache_control,
                        }));
                    }
                    Some("refusal") => {}
                    other => dropped(&format!("messages[{i}].content[].type={other:?}"), "ir"),
                }
            }
            Ok(parts)
        }
        _ => Err(ConvertError::field(
            &format!("messages[{i}].content"),
            format!("messages[{i}].content must be a string or an array of parts"),
        )),
    }
}

fn decode_tool(t: &Value) -> Option<Tool> {
    if str_of(t, "type").is_some_and(|ty| ty != "function") {
        return None;
    }
    let f = t.get("function")?;
    Some(Tool {
        name: string(f, "name")?,
        description: string(f, "description"),
        parameters: get(f, "parameters")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        strict: f.get("strict").and_then(Value::as_bool),
        cache_control: get(t, "cache_control").cloned(),
    })
}

fn decode_tool_choice(v: &Value) -> Option<ToolChoice> {
    match v {
        Value::String(s) => match s.as_str() {
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => Some(ToolChoice::Auto),
        },
        Value::Object(_) => v
            .pointer("/function/name")
            .and_then(Value::as_str)
            .map(|n| ToolChoice::Tool(n.to_owned())),
        _ => None,
    }
}

fn decode_format(v: &Value) -> Option<ResponseFormat> {
    match str_of(v, "type")? {
        "json_object" => Some(ResponseFormat::JsonObject),
        "json_schema" => {
            let s = v.get("json_schema")?;
            Some(ResponseFormat::JsonSchema {
                name: string(s, "name").unwrap_or_else(|| "response".into()),
                schema: s.get("schema").cloned().unwrap_or(Value::Null),
                strict: s.get("strict").and_then(Value::as_bool),
            })
        }
        _ => Some(ResponseFormat::Text),
    }
}

/// Writes a Chat Completions request for `model`.
pub fn encode_request(req: &Request, model: &str) -> Value {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let mut messages = Vec::new();
    if !req.system.is_empty() {
        let text: Vec<&str> = req.system.iter().map(|t| t.text.as_str()).collect();
        messages.push(json!({"role": "system", "content": text.join("\n\n")}));
    }
    for m in &req.messages {
        encode_message(m, &mut messages);
    }
    out.insert("messages".into(), Value::Array(messages));
    put(&mut out, "temperature", req.temperature);
    put(&mut out, "top_p", req.top_p);
    if req.top_k.is_some() {
        dropped("top_k", "openai");
    }
    put(&mut out, "max_completion_tokens", req.max_tokens);
    if !req.stop.is_empty() {
        out.insert("stop".into(), json!(req.stop));
    }
    put(&mut out, "seed", req.seed);
    put(&mut out, "presence_penalty", req.presence_penalty);
    put(&mut out, "frequency_penalty", req.frequency_penalty);
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                put(&mut f, "description", t.description.clone());
                f.insert("parameters".into(), t.parameters.clone());
                put(&mut f, "strict", t.strict);
                json!({"type": "function", "function": f})
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
        put(&mut out, "parallel_tool_calls", req.parallel_tool_calls);
    }
    if let Some(tc) = &req.tool_choice {
        out.insert(
            "tool_choice".into(),
            match tc {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Tool(n) => json!({"type": "function", "function": {"name": n}}),
            },
        );
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            out.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            let mut s = Map::new();
            s.insert("name".into(), name.clone().into());
            s.insert("schema".into(), schema.clone());
            put(&mut s, "strict", *strict);
            out.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": s}),
            );
        }
        Some(ResponseFormat::Text) | None => {}
    }
    if let Some(r) = req.reasoning.as_ref().filter(|r| r.enabled) {
        out.insert("reasoning_effort".into(), r.effort().into());
    }
    put(&mut out, "user", req.user.clone());
    if req.stream {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(out)
}

fn encode_message(m: &Message, out: &mut Vec<Value>) {
    match m.role {
        Role::User => {
            let mut content = Vec::new();
            for p in &m.parts {
                match p {
                    Part::ToolResult(r) => {
                        flush_user(&mut content, out);
                        let mut has_image = false;
                        for c in &r.content {
                            has_image |= matches!(c, Part::Image(_));
                        }
                        if has_image {
                            dropped("tool_result image", "openai");
                        }
                        let mut text = r.text();
                        if r.is_error && !text.starts_with("Error") {
                            text = format!("Error: {text}");
                        }
                        out.push(
                            json!({"role": "tool", "tool_call_id": r.call_id, "content": text}),
                        );
                    }
                    other => {
                        if let Some(v) = encode_part(other) {
                            content.push(v);
                        }
                    }
                }
            }
            flush_user(&mut content, out);
        }
        Role::Assistant => {
            let mut text = String::new();
            let mut calls = Vec::new();
            for p in &m.parts {
                match p {
                    Part::Text(t) => text.push_str(&t.text),
                    Part::ToolCall(c) => calls.push(json!({
                        "id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": if c.arguments.is_empty() { "{}" } else { &c.arguments }},
                    })),
                    Part::Thinking(_) => dropped("assistant thinking", "openai"),
                    _ => dropped("assistant image", "openai"),
                }
            }
            let mut msg = Map::new();
            msg.insert("role".into(), "assistant".into());
            msg.insert(
                "content".into(),
                if text.is_empty() && !calls.is_empty() {
                    Value::Null
                } else {
                    text.into()
                },
            );
            if !calls.is_empty() {
                msg.insert("tool_calls".into(), Value::Array(calls));
            }
            out.push(Value::Object(msg));
        }
    }
}

fn flush_user(content: &mut Vec<Value>, out: &mut Vec<Value>) {
    if content.is_empty() {
        return;
    }
    let parts = std::mem::take(content);
    // A single text part is sent as a plain string, as most clients do.
    if parts.len() == 1 && parts[0]["type"] == "text" {
        out.push(json!({"role": "user", "content": parts[0]["text"]}));
    } else {
        out.push(json!({"role": "user", "content": parts}));
    }
}

fn encode_part(p: &Part) -> Option<Value> {
    match p {
        Part::Text(t) => {
            if t.cache_control.is_some() {
                dropped("cache_control", "openai");
            }
            Some(json!({"type": "text", "text": t.text}))
        }
        Part::Image(img) => {
            let mut iu = Map::new();
            iu.insert("url".into(), img.source.to_url().into());
            put(&mut iu, "detail", img.detail.clone());
            Some(json!({"type": "image_url", "image_url": iu}))
        }
        _ => None,
    }
}
