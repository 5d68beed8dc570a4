//! /api/chat answers and NDJSON streams -> IR.

use serde_json::Value;

use crate::ConvertError;
use crate::ir::{Event, Finish, FinishReason, Response, Usage};
use crate::stream::{Assembler, LineSplitter, StreamDecoder};
use crate::util::{arr, str_of, string, u64_of};

/// Reads an /api/chat answer (`"stream": false`).
pub fn decode_response(body: &Value) -> Result<Response, ConvertError> {
    if body.get("message").is_none() {
        return Err(ConvertError::new("Ollama answer has no message"));
    }
    let mut d = Decoder::new();
    let mut events = Vec::new();
    d.on_line(body, &mut events);
    let mut a = Assembler::new();
    for e in &events {
        a.push(e);
    }
    a.finish().map_err(|(_, m)| ConvertError::new(m))
}

/// Decodes /api/chat NDJSON streams.
#[derive(Debug, Default)]
pub struct Decoder {
    lines: LineSplitter,
    started: bool,
    id: String,
    tools: usize,
}

impl Decoder {
    /// A decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn on_line(&mut self, v: &Value, out: &mut Vec<Event>) {
        if let Some(e) = str_of(v, "error") {
            out.push(Event::Error {
                kind: "api_error".into(),
                message: e.to_owned(),
            });
            return;
        }
        if !self.started {
            self.started = true;
            let model = string(v, "model").unwrap_or_default();
            let at = string(v, "created_at").unwrap_or_default();
            self.id = format!("ollama-{}", crate::util::hash_hex(&format!("{model}{at}")));
            out.push(Event::Start {
                id: self.id.clone(),
                model,
            });
        }
        let m = v.get("message").unwrap_or(&Value::Null);
        if let Some(t) = str_of(m, "thinking").filter(|t| !t.is_empty()) {
            out.push(Event::Thinking(t.to_owned()));
        }
        if let Some(t) = str_of(m, "content").filter(|t| !t.is_empty()) {
            out.push(Event::Text(t.to_owned()));
        }
        for c in arr(m, "tool_calls") {
            let f = c.get("function").unwrap_or(&Value::Null);
            let index = self.tools;
            self.tools += 1;
            let id = string(c, "id")
                .unwrap_or_else(|| format!("call_{}_{index}", &self.id[7..19.min(self.id.len())]));
            out.push(Event::ToolCallStart {
                index,
                id,
                name: string(f, "name").unwrap_or_default(),
            });
            let args = f
                .get("arguments")
                .map_or_else(|| "{}".to_owned(), Value::to_string);
            out.push(Event::ToolCallDelta {
                index,
                arguments: args,
            });
        }
        if v.get("done").and_then(Value::as_bool) == Some(true) {
            out.push(Event::Usage(Usage {
                input_tokens: u64_of(v, "prompt_eval_count").unwrap_or(0),
                output_tokens: u64_of(v, "eval_count").unwrap_or(0),
                ..Usage::default()
            }));
            let reason = match str_of(v, "done_reason") {
                Some("length") => FinishReason::Length,
                _ if self.tools > 0 => FinishReason::ToolCalls,
                Some("stop") | None => FinishReason::Stop,
                Some(other) => FinishReason::Other(other.to_owned()),
            };
            out.push(Event::Finish(Finish::new(reason)));
        }
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), ConvertError> {
        let mut lines = std::mem::take(&mut self.lines);
        let r = lines.feed(chunk, |line| {
            let v = serde_json::from_slice::<Value>(line)
                .map_err(|e| ConvertError::new(format!("Ollama stream line is not JSON: {e}")))?;
            self.on_line(&v, out);
            Ok(())
        });
        self.lines = lines;
        r
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), ConvertError> {
        let mut lines = std::mem::take(&mut self.lines);
        let r = lines.finish(|line| {
            let v = serde_json::from_slice::<Value>(line)
                .map_err(|e| ConvertError::new(format!("Ollama stream line is not JSON: {e}")))?;
            self.on_line(&v, out);
            Ok(())
        });
        self.lines = lines;
        r
    }
}
