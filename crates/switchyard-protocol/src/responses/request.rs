//! Responses requests <-> IR.

use serde_json::{Map, Value, json};

use crate::ConvertError;
use crate::ir::{
    Image, ImageSource, Message, Part, Reasoning, Request, ResponseFormat, Role, Text, Thinking,
    Tool, ToolCall, ToolChoice, ToolResult,
};
use crate::util::{arr, dropped, f64_of, get, put, str_of, string, u64_of};

/// Reads a Responses request.
pub fn decode_request(body: &Value) -> Result<Request, ConvertError> {
    crate::util::log_unknown(
        body,
        &[
            "model",
            "input",
            "instructions",
            "temperature",
            "top_p",
            "max_output_tokens",
            "parallel_tool_calls",
            "stream",
            "user",
            "tools",
            "tool_choice",
            "text",
            "reasoning",
            "store",
            "include",
            "previous_response_id",
        ],
        "Responses",
    );
    let mut req = Request {
        model: string(body, "model"),
        temperature: f64_of(body, "temperature"),
        top_p: f64_of(body, "top_p"),
        max_tokens: u64_of(body, "max_output_tokens"),
        parallel_tool_calls: body.get("parallel_tool_calls").and_then(Value::as_bool),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        include_usage: true,
        user: string(body, "user"),
        ..Request::default()
    };
    if get(body, "previous_response_id").is_some() {
        return Err(ConvertError::field(
            "previous_response_id",
            "`previous_response_id` needs server-side state this provider does not keep; send the full `input` instead",
        ));
    }
    if let Some(s) = str_of(body, "instructions") {
        req.system.push(Text::new(s));
    }
    match get(body, "input") {
        Some(Value::String(s)) => {
            push(&mut req, Role::User, vec![Part::Text(Text::new(s.clone()))])
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                decode_item(item, i, &mut req)?;
            }
        }
        Some(_) => {
            return Err(ConvertError::field(
                "input",
                "`input` must be a string or an array of items",
            ));
        }
        None => {}
    }
    for t in arr(body, "tools") {
        if str_of(t, "type") == Some("function") {
            req.tools.push(Tool {
                name: string(t, "name").unwrap_or_default(),
                description: string(t, "description"),
                parameters: get(t, "parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                strict: t.get("strict").and_then(Value::as_bool),
                cache_control: None,
            });
        } else {
            dropped("tools[] (built-in tool)", "ir");
        }
    }
    req.tool_choice = match get(body, "tool_choice") {
        Some(Value::String(s)) => Some(match s.as_str() {
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => ToolChoice::Auto,
        }),
        Some(v @ Value::Object(_)) => string(v, "name").map(ToolChoice::Tool),
        _ => None,
    };
    if let Some(f) = body.pointer("/text/format") {
        req.response_format = match str_of(f, "type") {
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => Some(ResponseFormat::JsonSchema {
                name: string(f, "name").unwrap_or_else(|| "response".into()),
                schema: f.get("schema").cloned().unwrap_or(Value::Null),
                strict: f.get("strict").and_then(Value::as_bool),
            }),
            _ => None,
        };
    }
    if let Some(r) = get(body, "reasoning") {
        let effort = string(r, "effort");
        req.reasoning = Some(Reasoning {
            enabled: effort.as_deref() != Some("none"),
            effort,
            budget_tokens: None,
        });
    }
    Ok(req)
}

fn push(req: &mut Request, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match req.messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => req.messages.push(Message { role, parts }),
    }
}

fn decode_item(item: &Value, i: usize, req: &mut Request) -> Result<(), ConvertError> {
    match str_of(item, "type").unwrap_or("message") {
        "message" => {
            let parts = decode_content(item.get("content").unwrap_or(&Value::Null));
            match str_of(item, "role") {
                Some("system") | Some("developer") => {
                    for p in parts {
                        if let Part::Text(t) = p {
                            req.system.push(t);
                        }
                    }
                }
                Some("assistant") => push(req, Role::Assistant, parts),
                Some("user") | None => push(req, Role::User, parts),
                Some(other) => {
                    return Err(ConvertError::field(
                        &format!("input[{i}].role"),
                        format!("unknown role `{other}` in input[{i}]"),
                    ));
                }
            }
        }
        "function_call" => push(
            req,
            Role::Assistant,
            vec![Part::ToolCall(ToolCall {
                id: string(item, "call_id").unwrap_or_default(),
                name: string(item, "name").unwrap_or_default(),
                arguments: string(item, "arguments").unwrap_or_default(),
                cache_control: None,
            })],
        ),
        "function_call_output" => {
            let content = match item.get("output") {
                Some(Value::String(s)) => vec![Part::Text(Text::new(s.clone()))],
                Some(v @ Value::Array(_)) => decode_content(v),
                _ => Vec::new(),
            };
            push(
                req,
                Role::User,
                vec![Part::ToolResult(ToolResult {
                    call_id: string(item, "call_id").unwrap_or_default(),
                    content,
                    is_error: false,
                    cache_control: None,
                })],
            );
        }
        "reasoning" => {
            let mut text = String::new();
            for s in arr(item, "summary") {
                text.push_str(str_of(s, "text").unwrap_or_default());
            }
            push(
                req,
                Role::Assistant,
                vec![Part::Thinking(Thinking {
                    text,
                    signature: string(item, "encrypted_content"),
                    redacted: None,
                })],
            );
        }
        other => dropped(&format!("input[{i}].type={other}"), "ir"),
    }
    Ok(())
}

fn decode_content(content: &Value) -> Vec<Part> {
    match content {
        Value::String(s) => vec![Part::Text(Text::new(s.clone()))],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match str_of(p, "type") {
                Some("input_text") | Some("output_text") | Some("text") => {
                    Some(Part::Text(Text::new(string(p, "text").unwrap_or_default())))
                }
                Some("input_image") => Some(Part::Image(Image {
                    source: ImageSource::from_url(str_of(p, "image_url").unwrap_or_default()),
                    detail: string(p, "detail"),
                    cache_control: None,
                })),
                other => {
                    dropped(&format!("content part {other:?}"), "ir");
                    None
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Writes a Responses request for `model` (stateless: `store: false`).
pub fn encode_request(req: &Request, model: &str) -> Value {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    if !req.system.is_empty() {
        let text: Vec<&str> = req.system.iter().map(|t| t.text.as_str()).collect();
        out.insert("instructions".into(), text.join("\n\n").into());
    }
    let mut input = Vec::new();
    for m in &req.messages {
        encode_message(m, &mut input);
    }
    out.insert("input".into(), Value::Array(input));
    put(&mut out, "temperature", req.temperature);
    put(&mut out, "top_p", req.top_p);
    put(&mut out, "max_output_tokens", req.max_tokens);
    if !req.stop.is_empty() {
        dropped("stop", "responses");
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut m = Map::new();
                m.insert("type".into(), "function".into());
                m.insert("name".into(), t.name.clone().into());
                put(&mut m, "description", t.description.clone());
                m.insert("parameters".into(), t.parameters.clone());
                put(&mut m, "strict", t.strict);
                Value::Object(m)
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
                ToolChoice::Tool(n) => json!({"type": "function", "name": n}),
            },
        );
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            out.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            let mut f = Map::new();
            f.insert("type".into(), "json_schema".into());
            f.insert("name".into(), name.clone().into());
            f.insert("schema".into(), schema.clone());
            put(&mut f, "strict", *strict);
            out.insert("text".into(), json!({"format": f}));
        }
        _ => {}
    }
    if let Some(r) = req.reasoning.as_ref().filter(|r| r.enabled) {
        out.insert(
            "reasoning".into(),
            json!({"effort": r.effort(), "summary": "auto"}),
        );
        out.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    put(&mut out, "user", req.user.clone());
    out.insert("store".into(), false.into());
    if req.stream {
        out.insert("stream".into(), true.into());
    }
    Value::Object(out)
}

fn encode_message(m: &Message, input: &mut Vec<Value>) {
    let role = if m.role == Role::User {
        "user"
    } else {
        "assistant"
    };
    let mut content: Vec<Value> = Vec::new();
    let flush = |content: &mut Vec<Value>, input: &mut Vec<Value>| {
        if !content.is_empty() {
            input
                .push(json!({"type": "message", "role": role, "content": std::mem::take(content)}));
        }
    };
    for p in &m.parts {
        match p {
            Part::Text(t) => content.push(if m.role == Role::User {
                json!({"type": "input_text", "text": t.text})
            } else {
                json!({"type": "output_text", "text": t.text})
            }),
            Part::Image(img) => {
                let mut v = json!({"type": "input_image", "image_url": img.source.to_url()});
                if let Some(d) = &img.detail {
                    v["detail"] = d.clone().into();
                }
                content.push(v);
            }
            Part::ToolCall(c) => {
                flush(&mut content, input);
                input.push(json!({"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}));
            }
            Part::ToolResult(r) => {
                flush(&mut content, input);
                input.push(json!({"type": "function_call_output", "call_id": r.call_id, "output": r.text()}));
            }
            Part::Thinking(t) => {
                flush(&mut content, input);
                if t.redacted.is_some() || t.signature.is_none() {
                    dropped("thinking without encrypted content", "responses");
                    continue;
                }
                let summary = if t.text.is_empty() {
                    json!([])
                } else {
                    json!([{"type": "summary_text", "text": t.text}])
                };
                input.push(json!({"type": "reasoning", "summary": summary, "encrypted_content": t.signature}));
            }
        }
    }
    flush(&mut content, input);
}
