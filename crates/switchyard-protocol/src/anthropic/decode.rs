//! Messages event streams -> IR events.

use serde_json::Value;
use switchyard_core::SseParser;

use super::response::{decode_stop, decode_usage};
use crate::ConvertError;
use crate::ir::{Event, Usage};
use crate::stream::{StreamDecoder, parse_json};
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
