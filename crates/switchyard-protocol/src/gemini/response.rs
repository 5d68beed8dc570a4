//! generateContent answers and SSE chunk streams -> IR.

use serde_json::Value;
use switchyard_core::SseParser;

use crate::ConvertError;
use crate::ir::{Event, Finish, FinishReason, Response, Usage};
use crate::stream::{Assembler, StreamDecoder, parse_json};
use crate::util::{arr, get, str_of, string, u64_of};

/// Reads a generateContent answer.
pub fn decode_response(body: &Value) -> Result<Response, ConvertError> {
    if body.get("candidates").is_none() && body.get("promptFeedback").is_none() {
        return Err(ConvertError::new("Gemini answer has no candidates"));
    }
    let mut d = Decoder::new();
    let mut events = Vec::new();
    d.on_chunk(body, &mut events);
    let mut a = Assembler::new();
    for e in &events {
        a.push(e);
    }
    a.finish().map_err(|(_, m)| ConvertError::new(m))
}

fn decode_finish(reason: &str, had_tools: bool) -> Finish {
    Finish::new(match reason {
        "STOP" if had_tools => FinishReason::ToolCalls,
        "STOP" | "FINISH_REASON_UNSPECIFIED" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        "MALFORMED_FUNCTION_CALL" => FinishReason::Other("malformed_function_call".into()),
        other => FinishReason::Other(other.to_ascii_lowercase()),
    })
}

fn decode_usage(u: &Value) -> Usage {
    let thoughts = u64_of(u, "thoughtsTokenCount").unwrap_or(0);
    Usage {
        input_tokens: u64_of(u, "promptTokenCount").unwrap_or(0),
        output_tokens: u64_of(u, "candidatesTokenCount").unwrap_or(0) + thoughts,
        cache_read_tokens: u64_of(u, "cachedContentTokenCount").unwrap_or(0),
        cache_write_tokens: 0,
        reasoning_tokens: thoughts,
    }
}

/// Decodes `streamGenerateContent?alt=sse` streams (one answer chunk per event).
#[derive(Debug, Default)]
pub struct Decoder {
    sse: SseParser,
    started: bool,
    id: String,
    tools: usize,
}

impl Decoder {
    /// A decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn on_chunk(&mut self, v: &Value, out: &mut Vec<Event>) {
        if let Some(e) = get(v, "error") {
            out.push(Event::Error {
                kind: string(e, "status").unwrap_or_else(|| "api_error".into()),
                message: string(e, "message").unwrap_or_default(),
            });
            return;
        }
        if !self.started {
            self.started = true;
            self.id = string(v, "responseId").unwrap_or_default();
            out.push(Event::Start {
                id: self.id.clone(),
                model: string(v, "modelVersion").unwrap_or_default(),
            });
        }
        let cand = arr(v, "candidates").first();
        if let Some(c) = cand {
            for p in c
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
            {
                self.on_part(p, out);
            }
        }
        if let Some(u) = get(v, "usageMetadata") {
            out.push(Event::Usage(decode_usage(u)));
        }
        if let Some(r) = cand.and_then(|c| str_of(c, "finishReason")) {
            out.push(Event::Finish(decode_finish(r, self.tools > 0)));
        } else if let Some(r) = v
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
        {
            let _ = r;
            out.push(Event::Finish(Finish::new(FinishReason::ContentFilter)));
        }
    }

    fn on_part(&mut self, p: &Value, out: &mut Vec<Event>) {
        let thought = p.get("thought").and_then(Value::as_bool) == Some(true);
        if let Some(t) = str_of(p, "text").filter(|t| !t.is_empty()) {
            out.push(if thought {
                Event::Thinking(t.to_owned())
            } else {
                Event::Text(t.to_owned())
            });
        }
        if let Some(s) = str_of(p, "thoughtSignature") {
            out.push(Event::ThinkingSignature(s.to_owned()));
        }
        if let Some(f) = p.get("functionCall") {
            let index = self.tools;
            self.tools += 1;
            let id = string(f, "id").unwrap_or_else(|| {
                let base = if self.id.is_empty() {
                    "gemini"
                } else {
                    &self.id
                };
                format!("call_{}_{index}", &crate::util::hash_hex(base)[..12])
            });
            out.push(Event::ToolCallStart {
                index,
                id,
                name: string(f, "name").unwrap_or_default(),
            });
            let args = f
                .get("args")
                .map_or_else(|| "{}".to_owned(), Value::to_string);
            out.push(Event::ToolCallDelta {
                index,
                arguments: args,
            });
        }
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
            match parse_json(ev.data, "Gemini") {
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
