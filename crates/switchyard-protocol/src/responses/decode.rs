//! Responses event streams -> IR events.

use serde_json::Value;
use switchyard_core::SseParser;

use super::response::{decode_status, decode_usage};
use crate::ConvertError;
use crate::ir::Event;
use crate::stream::{StreamDecoder, parse_json};
use crate::util::{get, str_of, string};

/// Decodes Responses SSE streams.
#[derive(Debug, Default)]
pub struct Decoder {
    sse: SseParser,
    /// (item id, got deltas) of each tool ordinal.
    tools: Vec<(String, bool)>,
}

impl Decoder {
    /// A decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn tool(&self, item_id: Option<&str>) -> Option<usize> {
        let id = item_id?;
        self.tools.iter().position(|(i, _)| i == id)
    }

    fn on_event(&mut self, v: &Value, out: &mut Vec<Event>) {
        match str_of(v, "type").unwrap_or_default() {
            "response.created" => {
                let r = v.get("response").unwrap_or(&Value::Null);
                out.push(Event::Start {
                    id: string(r, "id").unwrap_or_default(),
                    model: string(r, "model").unwrap_or_default(),
                });
            }
            "response.output_item.added" => {
                let item = v.get("item").unwrap_or(&Value::Null);
                if str_of(item, "type") == Some("function_call") {
                    let index = self.tools.len();
                    self.tools
                        .push((string(item, "id").unwrap_or_default(), false));
                    out.push(Event::ToolCallStart {
                        index,
                        id: string(item, "call_id").unwrap_or_default(),
                        name: string(item, "name").unwrap_or_default(),
                    });
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                out.push(Event::Text(string(v, "delta").unwrap_or_default()));
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                out.push(Event::Thinking(string(v, "delta").unwrap_or_default()));
            }
            "response.function_call_arguments.delta" => {
                if let Some(index) = self.tool(str_of(v, "item_id")) {
                    self.tools[index].1 = true;
                    out.push(Event::ToolCallDelta {
                        index,
                        arguments: string(v, "delta").unwrap_or_default(),
                    });
                }
            }
            "response.output_item.done" => {
                let item = v.get("item").unwrap_or(&Value::Null);
                match str_of(item, "type") {
                    Some("function_call") => {
                        if let Some(index) = self.tool(str_of(item, "id"))
                            && !self.tools[index].1
                            && let Some(a) = str_of(item, "arguments").filter(|a| !a.is_empty())
                        {
                            self.tools[index].1 = true;
                            out.push(Event::ToolCallDelta {
                                index,
                                arguments: a.to_owned(),
                            });
                        }
                    }
                    Some("reasoning") => {
                        if let Some(s) = str_of(item, "encrypted_content") {
                            out.push(Event::ThinkingSignature(s.to_owned()));
                        }
                    }
                    _ => {}
                }
            }
            "response.completed" | "response.incomplete" => {
                let r = v.get("response").unwrap_or(&Value::Null);
                if let Some(u) = get(r, "usage") {
                    out.push(Event::Usage(decode_usage(u)));
                }
                out.push(Event::Finish(decode_status(r, !self.tools.is_empty())));
            }
            "response.failed" => {
                let e = v.pointer("/response/error").unwrap_or(&Value::Null);
                out.push(Event::Error {
                    kind: string(e, "code").unwrap_or_else(|| "api_error".into()),
                    message: string(e, "message").unwrap_or_else(|| "the response failed".into()),
                });
            }
            "error" => out.push(Event::Error {
                kind: string(v, "code").unwrap_or_else(|| "api_error".into()),
                message: string(v, "message").unwrap_or_default(),
            }),
            _ => {}
        }
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), ConvertError> {
        let mut sse = std::mem::take(&mut self.sse);
        let mut result = Ok(());
        sse.feed(chunk, |ev| {
            if result.is_err() || ev.is_done() {
                return;
            }
            match parse_json(ev.data, "Responses") {
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
