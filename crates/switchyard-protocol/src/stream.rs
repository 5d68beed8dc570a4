//! Streaming: the decoder and encoder traits, assembling events into an
//! answer and splitting an answer into events, and the NDJSON line splitter.

use bytes::BytesMut;

use crate::ConvertError;
use crate::ir::{Event, Finish, FinishReason, Part, Response, Thinking, ToolCall};

/// Upstream bytes -> IR events, incrementally.
///
/// Feed it each body frame as it arrives; it keeps only the unfinished tail
/// of the current event, so any split of the same bytes gives the same events.
pub trait StreamDecoder: Send {
    /// Parses a chunk, appending the events it completes to `out`.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), ConvertError>;
    /// The upstream body ended: flushes what is left.
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), ConvertError>;
}

/// IR events -> client SSE bytes.
pub trait StreamEncoder: Send {
    /// Encodes one event, appending bytes to `out` (maybe none: some events
    /// are held until [`finish`](Self::finish)).
    fn encode(&mut self, event: &Event, out: &mut BytesMut);
    /// The stream ended: writes the closing events.
    fn finish(&mut self, out: &mut BytesMut);
}

/// Per-answer facts a client encoder needs.
#[derive(Clone, Debug, Default)]
pub struct EncodeOptions {
    /// The model to report when the upstream names none.
    pub model: String,
    /// OpenAI `stream_options.include_usage`: end with a usage chunk.
    pub include_usage: bool,
}

/// Builds a complete [`Response`] from stream events (a client that wants
/// JSON from a provider that streamed).
#[derive(Debug, Default)]
pub struct Assembler {
    response: Response,
    /// Part index of each tool call ordinal.
    tools: Vec<usize>,
    error: Option<(String, String)>,
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event.
    pub fn push(&mut self, event: &Event) {
        let r = &mut self.response;
        match event {
            Event::Start { id, model } => {
                r.id.clone_from(id);
                r.model.clone_from(model);
            }
            Event::Text(t) => match r.parts.last_mut() {
                Some(Part::Text(last)) => last.text.push_str(t),
                _ => r.parts.push(Part::Text(crate::ir::Text::new(t.clone()))),
            },
            Event::Thinking(t) => match r.parts.last_mut() {
                Some(Part::Thinking(last))
                    if last.signature.is_none() && last.redacted.is_none() =>
                {
                    last.text.push_str(t)
                }
                _ => r.parts.push(Part::Thinking(Thinking {
                    text: t.clone(),
                    ..Thinking::default()
                })),
            },
            Event::ThinkingSignature(s) => match r.parts.last_mut() {
                Some(Part::Thinking(last)) if last.redacted.is_none() => {
                    last.signature.get_or_insert_with(String::new).push_str(s)
                }
                _ => r.parts.push(Part::Thinking(Thinking {
                    signature: Some(s.clone()),
                    ..Thinking::default()
                })),
            },
            Event::RedactedThinking(d) => r.parts.push(Part::Thinking(Thinking {
                redacted: Some(d.clone()),
                ..Thinking::default()
            })),
            Event::ToolCallStart { index, id, name } => {
                if self.tools.len() <= *index {
                    self.tools.resize(*index + 1, usize::MAX);
                }
                self.tools[*index] = r.parts.len();
                r.parts.push(Part::ToolCall(ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    ..ToolCall::default()
                }));
            }
            Event::ToolCallDelta { index, arguments } => {
                if let Some(&at) = self.tools.get(*index)
                    && let Some(Part::ToolCall(call)) = r.parts.get_mut(at)
                {
                    call.arguments.push_str(arguments);
                }
            }
            Event::Usage(u) => r.usage = Some(*u),
            Event::Finish(f) => r.finish = Some(f.clone()),
            Event::Error { kind, message } => self.error = Some((kind.clone(), message.clone())),
            Event::Ping => {}
        }
    }

    /// The answer, or the `(kind, message)` of an error the stream reported.
    pub fn finish(self) -> Result<Response, (String, String)> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.response),
        }
    }
}

/// The events that stream `response` (a client that wants a stream from a
/// provider that answered JSON).
pub fn split(response: &Response) -> Vec<Event> {
    let mut out = vec![Event::Start {
        id: response.id.clone(),
        model: response.model.clone(),
    }];
    let mut tools = 0;
    for part in &response.parts {
        match part {
            Part::Text(t) => out.push(Event::Text(t.text.clone())),
            Part::Thinking(t) => {
                if let Some(d) = &t.redacted {
                    out.push(Event::RedactedThinking(d.clone()));
                    continue;
                }
                if !t.text.is_empty() {
                    out.push(Event::Thinking(t.text.clone()));
                }
                if let Some(s) = &t.signature {
                    out.push(Event::ThinkingSignature(s.clone()));
                }
            }
            Part::ToolCall(c) => {
                out.push(Event::ToolCallStart {
                    index: tools,
                    id: c.id.clone(),
                    name: c.name.clone(),
                });
                out.push(Event::ToolCallDelta {
                    index: tools,
                    arguments: c.arguments.clone(),
                });
                tools += 1;
            }
            Part::Image(_) | Part::ToolResult(_) => {}
        }
    }
    if let Some(u) = response.usage {
        out.push(Event::Usage(u));
    }
    if let Some(f) = &response.finish {
        out.push(Event::Finish(f.clone()));
    }
    out
}

/// The finish reason a client should see: `tool_calls` when the turn ended
/// in tool calls, whatever the provider called it.
pub(crate) fn effective(finish: Option<&Finish>, had_tools: bool) -> Finish {
    match finish {
        Some(f) if had_tools && f.reason == FinishReason::Stop => {
            Finish::new(FinishReason::ToolCalls)
        }
        Some(f) => f.clone(),
        None if had_tools => Finish::new(FinishReason::ToolCalls),
        None => Finish::new(FinishReason::Stop),
    }
}

/// Splits a byte stream into newline-terminated lines (NDJSON), keeping
/// only the unfinished tail, capped.
#[derive(Debug, Default)]
pub struct LineSplitter {
    tail: Vec<u8>,
}

impl LineSplitter {
    /// Largest line kept (16 MiB); longer lines are an error.
    pub const MAX_LINE: usize = 16 << 20;

    /// A splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `on_line` for each complete non-blank line (without `\n` / `\r\n`).
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut on_line: impl FnMut(&[u8]) -> Result<(), ConvertError>,
    ) -> Result<(), ConvertError> {
        while let Some(pos) = memchr::memchr(b'\n', chunk) {
            let head = &chunk[..pos];
            if self.tail.is_empty() {
                emit(head, &mut on_line)?;
            } else {
                let mut line = std::mem::take(&mut self.tail);
                line.extend_from_slice(head);
                emit(&line, &mut on_line)?;
                line.clear();
                self.tail = line;
            }
            chunk = &chunk[pos + 1..];
        }
        if self.tail.len() + chunk.len() > Self::MAX_LINE {
            return Err(ConvertError::new("a stream line exceeds 16 MiB"));
        }
        self.tail.extend_from_slice(chunk);
        Ok(())
    }

    /// The stream ended: a last line without a newline.
    pub fn finish(
        &mut self,
        mut on_line: impl FnMut(&[u8]) -> Result<(), ConvertError>,
    ) -> Result<(), ConvertError> {
        let line = std::mem::take(&mut self.tail);
        emit(&line, &mut on_line)
    }
}

fn emit(
    line: &[u8],
    on_line: &mut impl FnMut(&[u8]) -> Result<(), ConvertError>,
) -> Result<(), ConvertError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    on_line(line)
}

/// Writes `data: <json>\n\n`.
pub(crate) fn sse_data(out: &mut BytesMut, value: &serde_json::Value) {
    out.extend_from_slice(b"data: ");
    write_json(out, value);
    out.extend_from_slice(b"\n\n");
}

/// Writes `event: <name>\ndata: <json>\n\n`.
pub(crate) fn sse_event(out: &mut BytesMut, name: &str, value: &serde_json::Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(out, value);
    out.extend_from_slice(b"\n\n");
}

fn write_json(out: &mut BytesMut, value: &serde_json::Value) {
    use bytes::BufMut;
    // Writing a `Value` into memory cannot fail.
    let _ = serde_json::to_writer(out.writer(), value);
}

/// Parses one SSE `data` payload as JSON, naming the format on failure.
pub(crate) fn parse_json(data: &[u8], what: &str) -> Result<serde_json::Value, ConvertError> {
    switchyard_core::from_json(data)
        .map_err(|e| ConvertError::new(format!("{what} stream event is not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere() {
        let text = b"{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":3}";
        for i in 0..=text.len() {
            let mut s = LineSplitter::new();
            let mut seen = Vec::new();
            s.feed(&text[..i], |l| {
                seen.push(l.to_vec());
                Ok(())
            })
            .unwrap();
            s.feed(&text[i..], |l| {
                seen.push(l.to_vec());
                Ok(())
            })
            .unwrap();
            s.finish(|l| {
                seen.push(l.to_vec());
                Ok(())
            })
            .unwrap();
            assert_eq!(
                seen,
                [&b"{\"a\":1}"[..], b"{\"b\":2}", b"{\"c\":3}"],
                "split {i}"
            );
        }
    }

    #[test]
    fn assemble_then_split_round_trips() {
        let events = vec![
            Event::Start {
                id: "m1".into(),
                model: "x".into(),
            },
            Event::Thinking("hmm".into()),
            Event::ThinkingSignature("sig".into()),
            Event::Text("hi".into()),
            Event::ToolCallStart {
                index: 0,
                id: "c1".into(),
                name: "f".into(),
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "{\"a\":1}".into(),
            },
            Event::Usage(crate::ir::Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Default::default()
            }),
            Event::Finish(Finish::new(FinishReason::ToolCalls)),
        ];
        let mut a = Assembler::new();
        for e in &events {
            a.push(e);
        }
        let r = a.finish().unwrap();
        assert_eq!(r.text(), "hi");
        assert_eq!(split(&r), events);
    }
}
