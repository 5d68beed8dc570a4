//! generateContent requests <-> IR.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::ConvertError;
use crate::ir::{
    Image, ImageSource, Message, Part, Reasoning, Request, ResponseFormat, Role, Text, Thinking,
    Tool, ToolCall, ToolChoice, ToolResult,
};
use crate::util::{arr, dropped, f64_of, get, i64_of, put, str_of, string, strings, u64_of};

/// Writes a generateContent request (the model goes in the URL).
pub fn encode_request(req: &Request) -> Value {
    let mut out = Map::new();
    // Tool results name the function: find each call's name by its id.
    let mut names: HashMap<&str, &str> = HashMap::new();
    for m in &req.messages {
        for p in &m.parts {
            if let Part::ToolCall(c) = p {
                names.insert(&c.id, &c.name);
            }
        }
    }
    let mut contents: Vec<Value> = Vec::new();
    for m in &req.messages {
        let role = if m.role == Role::User {
            "user"
        } else {
            "model"
        };
        let mut parts = Vec::new();
        let mut signature: Option<&str> = None;
        for p in &m.parts {
            let mut part = match p {
                Part::Text(t) if t.text.is_empty() => continue,
                Part::Text(t) => json!({"text": t.text}),
                Part::Image(img) => match &img.source {
                    ImageSource::Base64 { media_type, data } => {
                        json!({"inlineData": {"mimeType": media_type, "data": data}})
                    }
                    ImageSource::Url(u) => {
                        json!({"fileData": {"mimeType": mime_of(u), "fileUri": u}})
                    }
                },
                Part::ToolCall(c) => {
                    json!({"functionCall": {"name": c.name, "args": c.arguments_value()}})
                }
                Part::ToolResult(r) => {
                    let name = names
                        .get(r.call_id.as_str())
                        .copied()
                        .unwrap_or(r.call_id.as_str());
                    let key = if r.is_error { "error" } else { "result" };
                    let text = r.text();
                    let value = serde_json::from_str::<Value>(&text)
                        .ok()
                        .filter(Value::is_object);
                    let response = value.unwrap_or_else(|| json!({key: text}));
                    json!({"functionResponse": {"name": name, "response": response}})
                }
                Part::Thinking(t) => {
                    if t.redacted.is_some() {
                        dropped("redacted thinking", "gemini");
                        continue;
                    }
                    // The signature belongs on the next part; thought text is not sent back.
                    signature = t.signature.as_deref();
                    continue;
                }
            };
            if let Some(s) = signature.take() {
                part["thoughtSignature"] = s.into();
            }
            parts.push(part);
        }
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(a) = last["parts"].as_array_mut() {
                    a.extend(parts);
                }
            }
            _ => contents.push(json!({"role": role, "parts": parts})),
        }
    }
    out.insert("contents".into(), Value::Array(contents));
    if !req.system.is_empty() {
        let parts: Vec<Value> = req.system.iter().map(|t| json!({"text": t.text})).collect();
        out.insert("systemInstruction".into(), json!({"parts": parts}));
    }
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), t.name.clone().into());
                put(&mut d, "description", t.description.clone());
                d.insert("parametersJsonSchema".into(), t.parameters.clone());
                Value::Object(d)
            })
            .collect();
        out.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    if let Some(tc) = &req.tool_choice {
        let cfg = match tc {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(n) => json!({"mode": "ANY", "allowedFunctionNames": [n]}),
        };
        out.insert("toolConfig".into(), json!({"functionCallingConfig": cfg}));
    }
    let mut config = Map::new();
    put(&mut config, "temperature", req.temperature);
    put(&mut config, "topP", req.top_p);
    put(&mut config, "topK", req.top_k);
    put(&mut config, "maxOutputTokens", req.max_tokens);
    if !req.stop.is_empty() {
        config.insert("stopSequences".into(), json!(req.stop));
    }
    put(&mut config, "seed", req.seed);
    put(&mut config, "presencePenalty", req.presence_penalty);
    put(&mut config, "frequencyPenalty", req.frequency_penalty);
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), "application/json".into());
            config.insert("responseJsonSchema".into(), schema.clone());
        }
        _ => {}
    }
    if let Some(r) = &req.reasoning {
        let budget = if r.enabled { r.budget() } else { 0 };
        config.insert(
            "thinkingConfig".into(),
            json!({"thinkingBudget": budget, "includeThoughts": r.enabled}),
        );
    }
    if req.parallel_tool_calls.is_some() {
        dropped("parallel_tool_calls", "gemini");
    }
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(out)
}

/// A MIME type guessed from a URL's extension.
fn mime_of(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    if path.ends_with(".png") {
        "image/png"
    } else if path.ends_with(".gif") {
        "image/gif"
    } else if path.ends_with(".webp") {
        "image/webp"
    } else if path.ends_with(".pdf") {
        "application/pdf"
    } else {
        "image/jpeg"
    }
}

/// Reads a generateContent request (the model is not in the body).
pub fn decode_request(body: &Value) -> Result<Request, ConvertError> {
    let config = body.get("generationConfig").unwrap_or(&Value::Null);
    let mut req = Request {
        temperature: f64_of(config, "temperature"),
        top_p: f64_of(config, "topP"),
        top_k: u64_of(config, "topK"),
        max_tokens: u64_of(config, "maxOutputTokens"),
        stop: strings(get(config, "stopSequences")),
        seed: i64_of(config, "seed"),
        include_usage: true,
        ..Request::default()
    };
    for p in body
        .pointer("/systemInstruction/parts")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        if let Some(t) = str_of(p, "text") {
            req.system.push(Text::new(t));
        }
    }
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return Err(ConvertError::field(
            "contents",
            "`contents` must be an array",
        ));
    };
    let mut n = 0;
    for c in contents {
        let role = if str_of(c, "role") == Some("model") {
            Role::Assistant
        } else {
            Role::User
        };
        let mut parts = Vec::new();
        for p in arr(c, "parts") {
            if let Some(s) = str_of(p, "thoughtSignature") {
                parts.push(Part::Thinking(Thinking {
                    signature: Some(s.to_owned()),
                    ..Thinking::default()
                }));
            }
            if let Some(t) = str_of(p, "text") {
                if p.get("thought").and_then(Value::as_bool) == Some(true) {
                    parts.push(Part::Thinking(Thinking {
                        text: t.to_owned(),
                        ..Thinking::default()
                    }));
                } else {
                    parts.push(Part::Text(Text::new(t)));
                }
            } else if let Some(d) = p.get("inlineData") {
                parts.push(Part::Image(Image {
                    source: ImageSource::Base64 {
                        media_type: string(d, "mimeType").unwrap_or_default(),
                        data: string(d, "data").unwrap_or_default(),
                    },
                    detail: None,
                    cache_control: None,
                }));
            } else if let Some(f) = p.get("functionCall") {
                n += 1;
                parts.push(Part::ToolCall(ToolCall {
                    id: string(f, "id").unwrap_or_else(|| string(f, "name").unwrap_or_default()),
                    name: string(f, "name").unwrap_or_default(),
                    arguments: f.get("args").map_or_else(|| "{}".into(), Value::to_string),
                    cache_control: None,
                }));
            } else if let Some(f) = p.get("functionResponse") {
                parts.push(Part::ToolResult(ToolResult {
                    call_id: string(f, "id")
                        .unwrap_or_else(|| string(f, "name").unwrap_or_default()),
                    content: vec![Part::Text(Text::new(
                        f.get("response").map_or_else(String::new, Value::to_string),
                    ))],
                    is_error: false,
                    cache_control: None,
                }));
            }
        }
        req.messages.push(Message { role, parts });
    }
    let _ = n;
    for t in arr(body, "tools") {
        for d in arr(t, "functionDeclarations") {
            req.tools.push(Tool {
                name: string(d, "name").unwrap_or_default(),
                description: string(d, "description"),
                parameters: get(d, "parametersJsonSchema")
                    .or_else(|| get(d, "parameters"))
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"})),
                strict: None,
                cache_control: None,
            });
        }
    }
    if let Some(t) = config.get("thinkingConfig") {
        let budget = u64_of(t, "thinkingBudget");
        req.reasoning = Some(Reasoning {
            effort: None,
            budget_tokens: budget,
            enabled: budget != Some(0),
        });
    }
    Ok(req)
}
