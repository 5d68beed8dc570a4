//! Messages event streams <-> IR events.

use bytes::BytesMut;
use serde_json::{Value, json};
use switchyard_core::SseParser;

use super::response::{decode_stop, decode_usage, stop_reason, usage_json};
use crate::ConvertError;
use crate::ir::{Event, Finish, Usage};
use crate::stream::{
    EncodeOptions, StreamDecoder, StreamEncoder, effective, parse_json, sse_event,
};
use crate::util::{get, str_of, string};

/// What a content block index holds, for the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Other,
    Tool(usize),
}

/// Decodes Messages SSE streams.
#[derive(Debug, Default)]
pub struct Decoder {
    sse: SseParser,
    blocks: Vec<Block>,
    tools: usize,
    usage: Usage,
}

impl Decoder {
    /// A decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn on_event(&mut self, v: &Value, out: &mut Vec<Event>) {
        match str_of(v, "type").unwrap_or_default() {
            "message_start" => {
                let m = v.get("message").unwrap_or(&Value::Null);
                if let Some(u) = get(m, "usage") {
                    self.usage = decode_usage(u);
                }
                out.push(Event::Start {
                    id: string(m, "id").unwrap_or_default(),
                    model: string(m, "model").unwrap_or_default(),
                });
            }
            "content_block_start" => self.on_block_start(v, out),
            "content_block_delta" => {
                let d = v.get("delta").unwrap_or(&Value::Null);
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                match str_of(d, "type").unwrap_or_default() {
                    "text_delta" => out.push(Event::Text(string(d, "text").unwrap_or_default())),
                    "thinking_delta" => {
                        out.push(Event::Thinking(string(d, "thinking").unwrap_or_default()))
                    }
                    "signature_delta" => out.push(Event::ThinkingSignature(
                        string(d, "signature").unwrap_or_default(),
                    )),
                    "input_json_delta" => {
                        if let Some(Block::Tool(t)) = self.blocks.get(index).copied() {
                            let a = string(d, "partial_json").unwrap_or_default();
                            if !a.is_empty() {
                                out.push(Event::ToolCallDelta {
                                    index: t,
                                    arguments: a,
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(u) = get(v, "usage") {
                    let d = decode_usage(u);
                    let base = self.usage;
                    // message_delta counts are cumulative; keep message_start's input
                    // unless the delta repeats it.
                    self.usage = Usage {
                        input_tokens: if u.get("input_tokens").is_some() {
                            d.input_tokens
                        } else {
                            base.input_tokens
                        },
                        output_tokens: d.output_tokens,
                        cache_read_tokens: if u.get("cache_read_input_tokens").is_some() {
                            d.cache_read_tokens
                        } else {
                            base.cache_read_tokens
                        },
                        cache_write_tokens: if u.get("cache_creation_input_tokens").is_some() {
                            d.cache_write_tokens
                        } else {
                            base.cache_write_tokens
                        },
                        reasoning_tokens: 0,
                    };
                }
                out.push(Event::Usage(self.usage));
                let d = v.get("delta").unwrap_or(&Value::Null);
                if let Some(r) = str_of(d, "stop_reason") {
                    out.push(Event::Finish(decode_stop(r, str_of(d, "stop_sequence"))));
                }
            }
            "error" => {
                let e = v.get("error").unwrap_or(&Value::Null);
                out.push(Event::Error {
                    kind: string(e, "type").unwrap_or_else(|| "api_error".into()),
                    message: string(e, "message").unwrap_or_default(),
                });
            }
            _ => {}
        }
    }

    fn on_block_start(&mut self, v: &Value, out: &mut Vec<Event>) {
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        let b = v.get("content_block").unwrap_or(&Value::Null);
        let kind = match str_of(b, "type").unwrap_or_default() {
            "tool_use" | "server_tool_use" => {
                let t = self.tools;
                self.tools += 1;
                out.push(Event::ToolCallStart {
                    index: t,
                    id: string(b, "id").unwrap_or_default(),
                    name: string(b, "name").unwrap_or_default(),
                });
                if let Some(input) = b
                    .get("input")
                    .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
                {
                    out.push(Event::ToolCallDelta {
                        index: t,
                        arguments: input.to_string(),
                    });
                }
                Block::Tool(t)
            }
            "text" => {
                if let Some(t) = str_of(b, "text").filter(|t| !t.is_empty()) {
                    out.push(Event::Text(t.to_owned()));
                }
                Block::Other
            }
            "thinking" => {
                if let Some(t) = str_of(b, "thinking").filter(|t| !t.is_empty()) {
                    out.push(Event::Thinking(t.to_owned()));
                }
                Block::Other
            }
            "redacted_thinking" => {
                out.push(Event::RedactedThinking(
                    string(b, "data").unwrap_or_default(),
                ));
                Block::Other
            }
            _ => Block::Other,
        };
        if self.blocks.len() <= index {
            self.blocks.resize(index + 1, Block::Other);
        }
        self.blocks[index] = kind;
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), ConvertError> {
        let mut sse = std::mem::take(&mut self.sse);
        let mut result = Ok(());
        sse.feed(chunk, |ev| {
            if result.is_err() {
                return;
            }
            if ev.event == Some("ping") {
                out.push(Event::Ping);
                return;
            }
            match parse_json(ev.data, "Anthropic") {
                Ok(v) => self.on_event(&v, out),
                Err(e) => result = Err(e),
            }
        });
        self.sse = sse;
        result
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), ConvertError> {
        Ok(())
    }
}

/// The block the encoder has open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    None,
    Text,
    Thinking,
    Tool(usize),
}

/// Encodes IR events as a Messages SSE stream.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    started: bool,
    open: Open,
    next_block: usize,
    /// Block index of each tool ordinal.
    tool_blocks: Vec<usize>,
    finish: Option<Finish>,
    usage: Usage,
    failed: bool,
}

impl Encoder {
    /// An encoder.
    pub fn new(options: EncodeOptions) -> Self {
        Encoder {
            id: crate::util::fresh_id("msg_"),
            model: options.model,
            started: false,
            open: Open::None,
            next_block: 0,
            tool_blocks: Vec::new(),
            finish: None,
            usage: Usage::default(),
            failed: false,
        }
    }

    fn start(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        sse_event(
            out,
            "message_start",
            &json!({
                "type": "message_start",
                "message": {
                    "id": self.id, "type": "message", "role": "assistant", "model": self.model,
                    "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": usage_json(&self.usage),
                },
            }),
        );
    }

    fn close(&mut self, out: &mut BytesMut) {
        if self.open != Open::None {
            let index = self.next_block - 1;
            sse_event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
            self.open = Open::None;
        }
    }

    fn open(&mut self, kind: Open, block: Value, out: &mut BytesMut) -> usize {
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        sse_event(
            out,
            "content_block_start",
            &json!({
                "type": "content_block_start", "index": index, "content_block": block,
            }),
        );
        self.open = kind;
        index
    }

    fn delta(&self, index: usize, delta: Value, out: &mut BytesMut) {
        sse_event(
            out,
            "content_block_delta",
            &json!({
                "type": "content_block_delta", "index": index, "delta": delta,
            }),
        );
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        match event {
            Event::Start { id, model } => {
                if !self.started {
                    if !id.is_empty() {
                        self.id.clone_from(id);
                    }
                    if !model.is_empty() {
                        self.model.clone_from(model);
                    }
                }
                self.start(out);
            }
            Event::Text(t) => {
                self.start(out);
                if self.open != Open::Text {
                    self.open(Open::Text, json!({"type": "text", "text": ""}), out);
                }
                self.delta(
                    self.next_block - 1,
                    json!({"type": "text_delta", "text": t}),
                    out,
                );
            }
            Event::Thinking(t) => {
                self.start(out);
                if self.open != Open::Thinking {
                    self.open(
                        Open::Thinking,
                        json!({"type": "thinking", "thinking": "", "signature": ""}),
                        out,
                    );
                }
                self.delta(
                    self.next_block - 1,
                    json!({"type": "thinking_delta", "thinking": t}),
                    out,
                );
            }
            Event::ThinkingSignature(s) => {
                self.start(out);
                if self.open != Open::Thinking {
                    self.open(
                        Open::Thinking,
                        json!({"type": "thinking", "thinking": "", "signature": ""}),
                        out,
                    );
                }
                self.delta(
                    self.next_block - 1,
                    json!({"type": "signature_delta", "signature": s}),
                    out,
                );
                // A signature ends its thinking block.
                self.close(out);
            }
            Event::RedactedThinking(d) => {
                self.start(out);
                self.open(
                    Open::Thinking,
                    json!({"type": "redacted_thinking", "data": d}),
                    out,
                );
                self.close(out);
            }
            Event::ToolCallStart { index, id, name } => {
                self.start(out);
                let block = self.open(
                    Open::Tool(*index),
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    out,
                );
                if self.tool_blocks.len() <= *index {
                    self.tool_blocks.resize(*index + 1, usize::MAX);
                }
                self.tool_blocks[*index] = block;
            }
            Event::ToolCallDelta { index, arguments } => {
                if let Some(&block) = self.tool_blocks.get(*index).filter(|b| **b != usize::MAX) {
                    self.delta(
                        block,
                        json!({"type": "input_json_delta", "partial_json": arguments}),
                        out,
                    );
                }
            }
            Event::Usage(u) => self.usage = *u,
            Event::Finish(f) => self.finish = Some(f.clone()),
            Event::Ping => {
                if self.started {
                    sse_event(out, "ping", &json!({"type": "ping"}));
                }
            }
            Event::Error { kind, message } => {
                self.failed = true;
                let kind = match kind.as_str() {
                    k @ ("invalid_request_error"
                    | "authentication_error"
                    | "permission_error"
                    | "not_found_error"
                    | "request_too_large"
                    | "rate_limit_error"
                    | "api_error"
                    | "overloaded_error") => k,
                    "rate_limit_exceeded" | "RESOURCE_EXHAUSTED" => "rate_limit_error",
                    "overloaded" | "UNAVAILABLE" => "overloaded_error",
                    _ => "api_error",
                };
                sse_event(
                    out,
                    "error",
                    &json!({"type": "error", "error": {"type": kind, "message": message}}),
                );
            }
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        self.start(out);
        self.close(out);
        let f = effective(self.finish.as_ref(), !self.tool_blocks.is_empty());
        sse_event(
            out,
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(&f), "stop_sequence": f.stop_sequence},
                "usage": usage_json(&self.usage),
            }),
        );
        sse_event(out, "message_stop", &json!({"type": "message_stop"}));
    }
}
