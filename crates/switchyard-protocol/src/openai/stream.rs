//! Chat Completions chunk streams <-> IR events.

use bytes::BytesMut;
use serde_json::{Value, json};
use switchyard_core::SseParser;

use super::response::{decode_finish, decode_usage, finish_reason, usage_json};
use crate::ConvertError;
use crate::ir::{Event, Finish, Usage};
use crate::stream::{EncodeOptions, StreamDecoder, StreamEncoder, effective, parse_json, sse_data};
use crate::util::{arr, get, str_of, string};

/// Decodes `chat.completion.chunk` SSE streams.
#[derive(Debug, Default)]
pub struct Decoder {
    sse: SseParser,
    started: bool,
    /// (upstream index, id) of each tool call ordinal.
    tools: Vec<(u64, Option<String>)>,
}

impl Decoder {
    /// A decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn on_chunk(&mut self, v: &Value, out: &mut Vec<Event>) {
        if let Some(e) = get(v, "error") {
            out.push(Event::Error {
                kind: string(e, "type").unwrap_or_else(|| "api_error".into()),
                message: string(e, "message").unwrap_or_default(),
            });
            return;
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: string(v, "id").unwrap_or_default(),
                model: string(v, "model").unwrap_or_default(),
            });
        }
        for choice in arr(v, "choices") {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            if let Some(d) = choice.get("delta") {
                self.on_delta(d, out);
            }
            if let Some(f) = str_of(choice, "finish_reason") {
                out.push(Event::Finish(decode_finish(f)));
            }
        }
        if let Some(u) = get(v, "usage") {
            out.push(Event::Usage(decode_usage(u)));
        }
    }

    fn on_delta(&mut self, d: &Value, out: &mut Vec<Event>) {
        if let Some(r) = str_of(d, "reasoning_content").or_else(|| str_of(d, "reasoning"))
            && !r.is_empty()
        {
            out.push(Event::Thinking(r.to_owned()));
        }
        for b in arr(d, "thinking_blocks") {
            if let Some(s) = str_of(b, "signature").filter(|s| !s.is_empty()) {
                out.push(Event::ThinkingSignature(s.to_owned()));
            }
        }
        if let Some(t) = str_of(d, "content").filter(|t| !t.is_empty()) {
            out.push(Event::Text(t.to_owned()));
        }
        for c in arr(d, "tool_calls") {
            let up = c.get("index").and_then(Value::as_u64).unwrap_or(0);
            let id = string(c, "id");
            let f = c.get("function").unwrap_or(&Value::Null);
            // A new call: an index not seen, or a new id on a seen index
            // (some servers send every call at index 0).
            let known = self.tools.iter().rposition(|(i, _)| *i == up);
            let ordinal = match (known, &id) {
                (Some(k), Some(id)) if self.tools[k].1.as_deref().is_some_and(|s| s != id) => None,
                (Some(k), _) => Some(k),
                (None, _) => None,
            };
            let ordinal = match ordinal {
                Some(k) => k,
                None => {
                    self.tools.push((up, id.clone()));
                    let k = self.tools.len() - 1;
                    out.push(Event::ToolCallStart {
                        index: k,
                        id: id.unwrap_or_else(|| format!("call_{k}")),
                        name: string(f, "name").unwrap_or_default(),
                    });
                    k
                }
            };
            if let Some(a) = str_of(f, "arguments").filter(|a| !a.is_empty()) {
                out.push(Event::ToolCallDelta {
                    index: ordinal,
                    arguments: a.to_owned(),
                });
            }
        }
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), ConvertError> {
        let mut sse = std::mem::take(&mut self.sse);
        let mut result = Ok(());
        sse.feed(chunk, |ev| {
            if ev.is_done() || result.is_err() {
                return;
            }
            match parse_json(ev.data, "OpenAI") {
                Ok(v) => self.on_chunk(&v, out),
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

/// Encodes IR events as `chat.completion.chunk` SSE, ending with `[DONE]`.
#[derive(Debug)]
pub struct Encoder {
    options: EncodeOptions,
    id: String,
    model: String,
    created: u64,
    started: bool,
    tools: usize,
    finished: bool,
    usage: Option<Usage>,
    failed: bool,
}

impl Encoder {
    /// An encoder.
    pub fn new(options: EncodeOptions) -> Self {
        Encoder {
            model: options.model.clone(),
            options,
            id: crate::util::fresh_id("chatcmpl-"),
            created: crate::util::now(),
            started: false,
            tools: 0,
            finished: false,
            usage: None,
            failed: false,
        }
    }

    fn chunk(&self, delta: Value, finish: Value, out: &mut BytesMut) {
        sse_data(
            out,
            &json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            }),
        );
    }

    fn start(&mut self, out: &mut BytesMut) {
        if !self.started {
            self.started = true;
            self.chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
                out,
            );
        }
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        match event {
            Event::Start { id, model } => {
                if !id.is_empty() {
                    self.id.clone_from(id);
                }
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                self.start(out);
            }
            Event::Text(t) => {
                self.start(out);
                self.chunk(json!({"content": t}), Value::Null, out);
            }
            Event::Thinking(t) => {
                self.start(out);
                self.chunk(json!({"reasoning_content": t}), Value::Null, out);
            }
            Event::ThinkingSignature(s) => {
                self.start(out);
                let b = json!([{"type": "thinking", "thinking": "", "signature": s}]);
                self.chunk(json!({"thinking_blocks": b}), Value::Null, out);
            }
            Event::RedactedThinking(d) => {
                self.start(out);
                let b = json!([{"type": "redacted_thinking", "data": d}]);
                self.chunk(json!({"thinking_blocks": b}), Value::Null, out);
            }
            Event::ToolCallStart { index, id, name } => {
                self.start(out);
                self.tools += 1;
                let call = json!([{"index": index, "id": id, "type": "function",
                                  "function": {"name": name, "arguments": ""}}]);
                self.chunk(json!({"tool_calls": call}), Value::Null, out);
            }
            Event::ToolCallDelta { index, arguments } => {
                self.start(out);
                let call = json!([{"index": index, "function": {"arguments": arguments}}]);
                self.chunk(json!({"tool_calls": call}), Value::Null, out);
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish(f) => {
                if !self.finished {
                    self.start(out);
                    self.finished = true;
                    let f: Finish = effective(Some(f), self.tools > 0);
                    self.chunk(json!({}), json!(finish_reason(&f)), out);
                }
            }
            // An SSE comment: every client ignores it, idle timers see traffic.
            Event::Ping => {
                if self.started {
                    out.extend_from_slice(b": ping\n\n");
                }
            }
            Event::Error { kind, message } => {
                self.failed = true;
                sse_data(
                    out,
                    &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
                );
            }
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if !self.failed {
            self.start(out);
            if !self.finished {
                self.encode(&Event::Finish(effective(None, self.tools > 0)), out);
            }
            if self.options.include_usage
                && let Some(u) = &self.usage
            {
                sse_data(
                    out,
                    &json!({
                        "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                        "model": self.model, "choices": [], "usage": usage_json(u),
                    }),
                );
            }
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}
