//! IR events -> a Messages event stream.

use bytes::BytesMut;
use serde_json::{Value, json};

use super::response::{stop_reason, usage_json};
use crate::ir::{Event, Finish, Usage};
use crate::stream::{EncodeOptions, StreamEncoder, effective, sse_event};

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
                        self.id = super::response::message_id(id);
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
