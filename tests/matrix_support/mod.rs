//! Client adapters for the conformance matrix: build each client protocol's
//! request for a scenario and read its answer (whole or streamed) into one
//! normalised [`Outcome`].
#![allow(dead_code, reason = "shared by the matrix test")]

use serde_json::{Value, json};

/// A client protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    OpenAi,
    Anthropic,
    Responses,
}

impl Client {
    pub const ALL: [Client; 3] = [Client::OpenAi, Client::Anthropic, Client::Responses];

    pub fn name(self) -> &'static str {
        match self {
            Client::OpenAi => "OpenAI chat",
            Client::Anthropic => "Anthropic messages",
            Client::Responses => "Responses",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Client::OpenAi => "/v1/chat/completions",
            Client::Anthropic => "/v1/messages",
            Client::Responses => "/v1/responses",
        }
    }
}

/// What a scenario sends, independent of the client protocol.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    pub model: String,
    pub system: Option<(String, bool)>,
    pub turns: Vec<Turn>,
    pub tools: bool,
    pub thinking: bool,
    pub max_tokens: Option<u64>,
    pub stream: bool,
    /// Ask for JSON output matching a small schema.
    pub json: bool,
}

/// One message of the conversation.
#[derive(Clone, Debug)]
pub enum Turn {
    User(String),
    UserImage(String),
    /// An assistant turn exactly as this client received it.
    Replay(Value),
    /// Results for the calls of the previous assistant turn: (call id, text).
    Results(Vec<(String, String)>),
}

/// A normalised answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub text: String,
    pub thinking: String,
    pub signed: bool,
    /// (id, name, arguments)
    pub calls: Vec<(String, String, Value)>,
    /// `stop`, `length` or `tool_calls`.
    pub finish: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// The assistant turn to send back, in the client's own shape.
    pub replay: Value,
}

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn tools(client: Client) -> Value {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]});
    match client {
        Client::OpenAi => {
            json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": schema}}])
        }
        Client::Anthropic => {
            json!([{"name": "get_weather", "description": "Weather", "input_schema": schema}])
        }
        Client::Responses => {
            json!([{"type": "function", "name": "get_weather", "description": "Weather", "parameters": schema}])
        }
    }
}

/// The request body of `ask` in `client`'s protocol.
pub fn body(client: Client, ask: &Ask) -> Value {
    let mut b = json!({"model": ask.model});
    let mut msgs: Vec<Value> = Vec::new();
    match client {
        Client::OpenAi => {
            if let Some((s, cache)) = &ask.system {
                let mut part = json!({"type": "text", "text": s});
                if *cache {
                    part["cache_control"] = json!({"type": "ephemeral"});
                }
                msgs.push(json!({"role": "system", "content": [part]}));
            }
            for t in &ask.turns {
                match t {
                    Turn::User(s) => msgs.push(json!({"role": "user", "content": s})),
                    Turn::UserImage(s) => msgs.push(json!({"role": "user", "content": [{"type": "text", "text": s},
                        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}]})),
                    Turn::Replay(v) => msgs.push(v.clone()),
                    Turn::Results(r) => {
                        for (id, text) in r {
                            msgs.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
                        }
                    }
                }
            }
            b["messages"] = msgs.into();
            if ask.stream {
                b["stream"] = true.into();
                b["stream_options"] = json!({"include_usage": true});
            }
            if ask.thinking {
                b["reasoning_effort"] = "low".into();
            }
            if let Some(m) = ask.max_tokens {
                b["max_tokens"] = m.into();
            }
        }
        Client::Anthropic => {
            if let Some((s, cache)) = &ask.system {
                let mut part = json!({"type": "text", "text": s});
                if *cache {
                    part["cache_control"] = json!({"type": "ephemeral"});
                }
                b["system"] = json!([part]);
            }
            for t in &ask.turns {
                match t {
                    Turn::User(s) => msgs.push(json!({"role": "user", "content": s})),
                    Turn::UserImage(s) => msgs.push(json!({"role": "user", "content": [{"type": "text", "text": s},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]})),
                    Turn::Replay(v) => msgs.push(json!({"role": "assistant", "content": v})),
                    Turn::Results(r) => msgs.push(json!({"role": "user", "content": r.iter().map(|(id, text)|
                        json!({"type": "tool_result", "tool_use_id": id, "content": text})).collect::<Vec<_>>()})),
                }
            }
            b["messages"] = msgs.into();
            b["max_tokens"] = ask.max_tokens.unwrap_or(512).into();
            if ask.stream {
                b["stream"] = true.into();
            }
            if ask.thinking {
                b["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
                b["max_tokens"] = 2048.into();
            }
        }
        Client::Responses => {
            if let Some((s, _)) = &ask.system {
                b["instructions"] = s.clone().into();
            }
            for t in &ask.turns {
                match t {
                    Turn::User(s) => msgs.push(json!({"role": "user", "content": s})),
                    Turn::UserImage(s) => msgs.push(json!({"role": "user", "content": [{"type": "input_text", "text": s},
                        {"type": "input_image", "image_url": format!("data:image/png;base64,{PNG}")}]})),
                    Turn::Replay(v) => msgs.extend(v.as_array().cloned().unwrap_or_default()),
                    Turn::Results(r) => {
                        for (id, text) in r {
                            msgs.push(json!({"type": "function_call_output", "call_id": id, "output": text}));
                        }
                    }
                }
            }
            b["input"] = msgs.into();
            if ask.stream {
                b["stream"] = true.into();
            }
            if ask.thinking {
                b["reasoning"] = json!({"effort": "low"});
            }
            if let Some(m) = ask.max_tokens {
                b["max_output_tokens"] = m.into();
            }
        }
    }
    if ask.tools {
        b["tools"] = tools(client);
    }
    if ask.json {
        let schema = json!({"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]});
        match client {
            Client::OpenAi => {
                b["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "echo", "schema": schema}})
            }
            Client::Anthropic => {
                b["output_format"] = json!({"type": "json_schema", "schema": schema})
            }
            Client::Responses => {
                b["text"] =
                    json!({"format": {"type": "json_schema", "name": "echo", "schema": schema}})
            }
        }
    }
    b
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn args(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

/// Reads a whole answer.
pub fn read(client: Client, v: &Value) -> Outcome {
    let mut o = Outcome::default();
    match client {
        Client::OpenAi => {
            let c = &v["choices"][0];
            let m = &c["message"];
            o.text = m["content"].as_str().unwrap_or_default().to_owned();
            o.thinking = m["reasoning_content"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            o.signed = m["thinking_blocks"][0]["signature"]
                .as_str()
                .is_some_and(|s| !s.is_empty());
            for t in m["tool_calls"].as_array().cloned().unwrap_or_default() {
                o.calls.push((
                    t["id"].as_str().unwrap_or_default().into(),
                    t["function"]["name"].as_str().unwrap_or_default().into(),
                    args(t["function"]["arguments"].as_str().unwrap_or_default()),
                ));
            }
            o.finish = c["finish_reason"].as_str().unwrap_or_default().into();
            o.input_tokens = u(&v["usage"]["prompt_tokens"]);
            o.output_tokens = u(&v["usage"]["completion_tokens"]);
            o.cache_read = u(&v["usage"]["prompt_tokens_details"]["cached_tokens"]);
            o.cache_write = u(&v["usage"]["cache_creation_input_tokens"]);
            o.replay = m.clone();
        }
        Client::Anthropic => {
            for b in v["content"].as_array().cloned().unwrap_or_default() {
                match b["type"].as_str() {
                    Some("text") => o.text.push_str(b["text"].as_str().unwrap_or_default()),
                    Some("thinking") => {
                        o.thinking
                            .push_str(b["thinking"].as_str().unwrap_or_default());
                        o.signed |= b["signature"].as_str().is_some_and(|s| !s.is_empty());
                    }
                    Some("tool_use") => o.calls.push((
                        b["id"].as_str().unwrap_or_default().into(),
                        b["name"].as_str().unwrap_or_default().into(),
                        b["input"].clone(),
                    )),
                    _ => {}
                }
            }
            o.finish = match v["stop_reason"].as_str() {
                Some("end_turn") | Some("stop_sequence") => "stop",
                Some("max_tokens") => "length",
                Some("tool_use") => "tool_calls",
                other => other.unwrap_or_default(),
            }
            .into();
            let us = &v["usage"];
            o.cache_read = u(&us["cache_read_input_tokens"]);
            o.cache_write = u(&us["cache_creation_input_tokens"]);
            o.input_tokens = u(&us["input_tokens"]) + o.cache_read + o.cache_write;
            o.output_tokens = u(&us["output_tokens"]);
            o.replay = v["content"].clone();
        }
        Client::Responses => {
            for item in v["output"].as_array().cloned().unwrap_or_default() {
                match item["type"].as_str() {
                    Some("message") => {
                        for c in item["content"].as_array().cloned().unwrap_or_default() {
                            o.text.push_str(c["text"].as_str().unwrap_or_default());
                        }
                    }
                    Some("reasoning") => {
                        for s in item["summary"].as_array().cloned().unwrap_or_default() {
                            o.thinking.push_str(s["text"].as_str().unwrap_or_default());
                        }
                        o.signed |= item["encrypted_content"]
                            .as_str()
                            .is_some_and(|s| !s.is_empty());
                    }
                    Some("function_call") => o.calls.push((
                        item["call_id"].as_str().unwrap_or_default().into(),
                        item["name"].as_str().unwrap_or_default().into(),
                        args(item["arguments"].as_str().unwrap_or_default()),
                    )),
                    _ => {}
                }
            }
            o.finish = match v["status"].as_str() {
                Some("incomplete") => "length",
                _ if !o.calls.is_empty() => "tool_calls",
                Some("completed") => "stop",
                other => other.unwrap_or_default(),
            }
            .into();
            o.input_tokens = u(&v["usage"]["input_tokens"]);
            o.output_tokens = u(&v["usage"]["output_tokens"]);
            o.cache_read = u(&v["usage"]["input_tokens_details"]["cached_tokens"]);
            o.replay = v["output"].clone();
        }
    }
    o
}

/// SSE events of a body: (event name, data JSON); `[DONE]` as `Value::Null`.
pub fn sse(body: &str) -> Vec<(Option<String>, Value)> {
    body.split("\n\n")
        // Comments (keep-alives) carry no data: not events.
        .filter(|e| e.lines().any(|l| l.starts_with("data: ")))
        .map(|ev| {
            let name = ev
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .map(str::to_owned);
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            let data = data.join("\n");
            (
                name,
                if data == "[DONE]" {
                    Value::Null
                } else {
                    serde_json::from_str(&data).unwrap_or(json!({"unparsed": data}))
                },
            )
        })
        .collect()
}

/// Reads a streamed answer, checking what strict clients expect on the way.
pub fn read_stream(client: Client, body: &str) -> Result<Outcome, String> {
    let events = sse(body);
    match client {
        Client::OpenAi => {
            if events.last().map(|e| &e.1) != Some(&Value::Null) {
                return Err("stream does not end with [DONE]".into());
            }
            let mut msg = json!({"role": "assistant", "content": ""});
            let (mut text, mut thinking, mut sig) = (String::new(), String::new(), String::new());
            let mut calls: Vec<(String, String, String)> = Vec::new();
            let mut finishes = Vec::new();
            let mut usage = Value::Null;
            for (i, (_, c)) in events.iter().enumerate() {
                if c.is_null() {
                    continue;
                }
                if let Some(e) = c.get("error") {
                    return Err(format!("error event: {e}"));
                }
                if i == 0 && c["choices"][0]["delta"]["role"] != "assistant" {
                    return Err("first chunk lacks role: assistant".into());
                }
                if i > 0 && c["choices"][0]["delta"].get("role").is_some() {
                    return Err("role repeated after the first chunk".into());
                }
                if !c["usage"].is_null() {
                    usage = c["usage"].clone();
                }
                let d = &c["choices"][0]["delta"];
                text.push_str(d["content"].as_str().unwrap_or_default());
                thinking.push_str(d["reasoning_content"].as_str().unwrap_or_default());
                sig.push_str(
                    d["thinking_blocks"][0]["signature"]
                        .as_str()
                        .unwrap_or_default(),
                );
                for t in d["tool_calls"].as_array().cloned().unwrap_or_default() {
                    let idx = usize::try_from(u(&t["index"])).unwrap_or(0);
                    if calls.len() <= idx {
                        calls.resize(idx + 1, Default::default());
                    }
                    if let Some(id) = t["id"].as_str() {
                        calls[idx].0 = id.into();
                    }
                    calls[idx]
                        .1
                        .push_str(t["function"]["name"].as_str().unwrap_or_default());
                    calls[idx]
                        .2
                        .push_str(t["function"]["arguments"].as_str().unwrap_or_default());
                }
                if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                    finishes.push(f.to_owned());
                }
            }
            if finishes.len() != 1 {
                return Err(format!("expected one finish_reason, got {finishes:?}"));
            }
            msg["content"] = if text.is_empty() && !calls.is_empty() {
                Value::Null
            } else {
                text.clone().into()
            };
            if !calls.is_empty() {
                msg["tool_calls"] = calls.iter().map(|(id, n, a)| json!({"id": id, "type": "function", "function": {"name": n, "arguments": a}})).collect();
            }
            if !thinking.is_empty() {
                msg["reasoning_content"] = thinking.clone().into();
                msg["thinking_blocks"] =
                    json!([{"type": "thinking", "thinking": thinking, "signature": sig}]);
            }
            let whole = json!({"choices": [{"message": msg, "finish_reason": finishes[0]}], "usage": usage});
            Ok(read(client, &whole))
        }
        Client::Anthropic => {
            let names: Vec<&str> = events.iter().filter_map(|e| e.0.as_deref()).collect();
            if names.first() != Some(&"message_start")
                || names.iter().filter(|n| **n == "message_start").count() != 1
            {
                return Err(format!("expected one message_start first: {names:?}"));
            }
            if let Some((_, e)) = events.iter().find(|e| e.0.as_deref() == Some("error")) {
                return Err(format!("error event: {e}"));
            }
            if names.last() != Some(&"message_stop") {
                return Err("stream does not end with message_stop".into());
            }
            let mut msg = events[0].1["message"].clone();
            let mut content: Vec<Value> = Vec::new();
            let mut partial: Vec<String> = Vec::new();
            for (_, e) in &events {
                let idx = usize::try_from(u(&e["index"])).unwrap_or(0);
                match e["type"].as_str() {
                    Some("content_block_start") => {
                        content.push(e["content_block"].clone());
                        partial.push(String::new());
                    }
                    Some("content_block_delta") => {
                        let d = &e["delta"];
                        let b = &mut content[idx];
                        match d["type"].as_str() {
                            Some("text_delta") => {
                                b["text"] = format!(
                                    "{}{}",
                                    b["text"].as_str().unwrap_or_default(),
                                    d["text"].as_str().unwrap_or_default()
                                )
                                .into()
                            }
                            Some("thinking_delta") => {
                                b["thinking"] = format!(
                                    "{}{}",
                                    b["thinking"].as_str().unwrap_or_default(),
                                    d["thinking"].as_str().unwrap_or_default()
                                )
                                .into()
                            }
                            Some("signature_delta") => {
                                b["signature"] = format!(
                                    "{}{}",
                                    b["signature"].as_str().unwrap_or_default(),
                                    d["signature"].as_str().unwrap_or_default()
                                )
                                .into()
                            }
                            Some("input_json_delta") => partial[idx]
                                .push_str(d["partial_json"].as_str().unwrap_or_default()),
                            _ => {}
                        }
                    }
                    Some("message_delta") => {
                        msg["stop_reason"] = e["delta"]["stop_reason"].clone();
                        for (k, val) in e["usage"].as_object().cloned().unwrap_or_default() {
                            msg["usage"][k] = val;
                        }
                    }
                    _ => {}
                }
            }
            for (b, p) in content.iter_mut().zip(&partial) {
                if b["type"] == "tool_use" && !p.is_empty() {
                    b["input"] = args(p);
                }
            }
            msg["content"] = content.into();
            Ok(read(client, &msg))
        }
        Client::Responses => {
            let seq: Vec<u64> = events.iter().map(|e| u(&e.1["sequence_number"])).collect();
            if seq.windows(2).any(|w| w[1] != w[0] + 1) {
                return Err("sequence_number not consecutive".into());
            }
            if let Some((_, e)) = events.iter().find(|e| e.0.as_deref() == Some("error")) {
                return Err(format!("error event: {e}"));
            }
            let last = events.last().map(|e| e.1.clone()).unwrap_or_default();
            if !matches!(
                last["type"].as_str(),
                Some("response.completed") | Some("response.incomplete")
            ) {
                return Err(format!("last event is {}", last["type"]));
            }
            let text: String = events
                .iter()
                .filter(|e| e.1["type"] == "response.output_text.delta")
                .filter_map(|e| e.1["delta"].as_str())
                .collect();
            let o = read(client, &last["response"]);
            if text != o.text {
                return Err(format!(
                    "deltas {text:?} differ from the final output {:?}",
                    o.text
                ));
            }
            let fc_done = events
                .iter()
                .filter(|e| e.1["type"] == "response.function_call_arguments.done")
                .count();
            if fc_done != o.calls.len() {
                return Err(format!(
                    "{} function calls but {fc_done} arguments.done events",
                    o.calls.len()
                ));
            }
            Ok(o)
        }
    }
}
