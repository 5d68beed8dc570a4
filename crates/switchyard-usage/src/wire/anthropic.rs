//! Anthropic's Messages API: `content[]`, and the `message_start` /
//! `content_block_delta` / `message_delta` stream events.

use std::borrow::Cow;

use serde::Deserialize;
use switchyard_core::SseEvent;

use super::skim::{self, Skim};
use super::{EventKind, WireFormat};
use crate::observe::Observation;

/// `POST /v1/messages`.
///
/// Anthropic counts `input_tokens` without the cached part; the observation
/// holds all prompt tokens (`input + cache_read + cache_creation`), the
/// cached ones (`cache_read`) and the cache-written ones (`cache_creation`).
/// In a stream, `message_start` carries the input figures and each
/// `message_delta` the cumulative output.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnthropicMessages;

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

impl Usage {
    fn apply(&self, out: &mut Observation) {
        if let Some(input) = self.input_tokens {
            let read = self.cache_read_input_tokens.unwrap_or(0);
            let written = self.cache_creation_input_tokens.unwrap_or(0);
            out.input_tokens = Some(input + read + written);
            out.cached_tokens = Some(read);
            out.cache_write_tokens = Some(written);
        }
        Observation::set(&mut out.output_tokens, self.output_tokens);
    }
}

#[derive(Deserialize, Debug, PartialEq)]
struct Message<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Vec<Block<'a>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Block<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default)]
    input: Option<serde_json::Value>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Option<Message<'a>>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Delta<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

// The readers of these shapes for the stream's hot path (see `skim`); the
// `Deserialize` derives above are the reference the tests compare them with.

impl Usage {
    fn skim(s: &mut Skim<'_>) -> skim::Result<Self> {
        let names: [&[u8]; 4] = [
            b"input_tokens",
            b"output_tokens",
            b"cache_read_input_tokens",
            b"cache_creation_input_tokens",
        ];
        let [
            input_tokens,
            output_tokens,
            cache_read_input_tokens,
            cache_creation_input_tokens,
        ] = s.values(names, Skim::u64)?;
        Ok(Usage {
            input_tokens,
            output_tokens,
            cache_read_input_tokens,
            cache_creation_input_tokens,
        })
    }
}

impl<'a> Message<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut m = Message {
            model: None,
            content: Vec::new(),
            stop_reason: None,
            usage: None,
        };
        s.fields(&[b"model", b"content", b"stop_reason", b"usage"], |i, s| {
            match i {
                0 => m.model = s.opt_string()?,
                1 => m.content = s.list(Block::skim)?,
                2 => m.stop_reason = s.opt_string()?,
                _ => m.usage = s.opt(Usage::skim)?,
            }
            Ok(())
        })?;
        Ok(m)
    }
}

impl<'a> Block<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut b = Block {
            kind: Cow::Borrowed(""),
            text: None,
            thinking: None,
            input: None,
        };
        s.fields(&[b"type", b"text", b"thinking", b"input"], |i, s| {
            match i {
                0 => b.kind = s.string()?,
                1 => b.text = s.opt_string()?,
                2 => b.thinking = s.opt_string()?,
                // A tool call's arguments: rare, and wanted whole.
                _ => {
                    b.input =
                        s.opt(|s| serde_json::from_slice(s.skip()?).map_err(|_| skim::Malformed))?;
                }
            }
            Ok(())
        })?;
        Ok(b)
    }
}

impl<'a> Event<'a> {
    fn skim(bytes: &'a [u8]) -> skim::Result<Self> {
        Skim::document(bytes, |s| {
            let mut kind = None;
            let mut e = Event {
                kind: Cow::Borrowed(""),
                message: None,
                delta: None,
                usage: None,
            };
            s.fields(&[b"type", b"message", b"delta", b"usage"], |i, s| {
                match i {
                    0 => kind = Some(s.string()?),
                    1 => e.message = s.opt(Message::skim)?,
                    2 => e.delta = s.opt(Delta::skim)?,
                    _ => e.usage = s.opt(Usage::skim)?,
                }
                Ok(())
            })?;
            // `type` is required.
            e.kind = kind.ok_or(skim::Malformed)?;
            Ok(e)
        })
    }
}

impl<'a> Delta<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let [text, thinking, partial_json, stop_reason] = s.values(
            [b"text", b"thinking", b"partial_json", b"stop_reason"],
            Skim::string,
        )?;
        Ok(Delta {
            text,
            thinking,
            partial_json,
            stop_reason,
        })
    }
}

impl WireFormat for AnthropicMessages {
    fn name(&self) -> &'static str {
        "anthropic_messages"
    }

    fn read_body(&self, body: &[u8], out: &mut Observation) {
        let Ok(m) = Skim::document(body, Message::skim) else {
            tracing::debug!("answer is not an Anthropic message");
            return;
        };
        out.model = m.model.map(Cow::into_owned);
        out.finish_reason = m.stop_reason.map(Cow::into_owned);
        if let Some(usage) = &m.usage {
            usage.apply(out);
        }
        for block in &m.content {
            match (block.kind.as_ref(), &block.text, &block.thinking) {
                ("text", Some(text), _) => out.push_answer(text),
                (_, _, Some(thinking)) => out.push_counted(thinking),
                _ => {
                    if let Some(input) = &block.input {
                        out.push_counted(&input.to_string());
                    }
                }
            }
        }
    }

    fn read_event(&self, event: &SseEvent<'_>, out: &mut Observation) -> EventKind {
        let Ok(ev) = Event::skim(event.data) else {
            return EventKind::Other;
        };
        match ev.kind.as_ref() {
            "message_start" => {
                if let Some(m) = &ev.message {
                    if let Some(model) = &m.model {
                        out.model = Some(model.to_string());
                    }
                    if let Some(usage) = &m.usage {
                        usage.apply(out);
                    }
                }
                EventKind::Other
            }
            "content_block_delta" => {
                let Some(d) = &ev.delta else {
                    return EventKind::Other;
                };
                if let Some(text) = &d.text {
                    out.push_answer(text);
                }
                for text in [&d.thinking, &d.partial_json].into_iter().flatten() {
                    out.push_counted(text);
                }
                EventKind::Content
            }
            "message_delta" => {
                if let Some(reason) = ev.delta.as_ref().and_then(|d| d.stop_reason.as_ref()) {
                    out.finish_reason = Some(reason.to_string());
                }
                if let Some(usage) = &ev.usage {
                    usage.apply(out);
                }
                EventKind::Other
            }
            "error" => {
                out.error = true;
                EventKind::Error
            }
            _ => EventKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_core::from_json;

    fn event<'a>(name: &'a str, data: &'a str) -> SseEvent<'a> {
        SseEvent {
            event: Some(name),
            data: data.as_bytes(),
            id: None,
        }
    }

    #[test]
    fn stream_usage_from_message_start_and_delta() {
        let mut o = Observation::new(100);
        let f = AnthropicMessages;
        let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],
            "stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}}}"#;
        assert_eq!(
            f.read_event(&event("message_start", start), &mut o),
            EventKind::Other
        );
        let block =
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#;
        assert_eq!(
            f.read_event(&event("content_block_start", block), &mut o),
            EventKind::Other
        );
        let d = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#;
        assert_eq!(
            f.read_event(&event("content_block_delta", d), &mut o),
            EventKind::Content
        );
        let md = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#;
        assert_eq!(
            f.read_event(&event("message_delta", md), &mut o),
            EventKind::Other
        );
        assert_eq!(o.input_tokens, Some(135));
        assert_eq!(o.cached_tokens, Some(100));
        assert_eq!(o.cache_write_tokens, Some(10));
        assert_eq!(o.output_tokens, Some(15));
        assert_eq!(o.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(o.answer().0, "Hello");
        let err = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(f.read_event(&event("error", err), &mut o), EventKind::Error);
    }

    /// Events and messages as Anthropic sends them, for the skim readers' parity test.
    const EVENTS: &[&str] = &[
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1,"service_tier":"standard"}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello \"w\" \u00e9 \ud83d\ude00"}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\": 1"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
        r#"{"type":"message_stop"}"#,
        r#"{"type": "ping"}"#,
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    ];

    const MESSAGES: &[&str] = &[
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"Hi!"},{"type":"tool_use","id":"t","name":"f","input":{"a":[1,2.5,null],"b":"c"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":20}}"#,
        "{\n \"content\" : [ ] , \"model\" : null, \"usage\": {\"input_tokens\": null}\n}",
    ];

    #[test]
    fn the_skim_readers_read_what_serde_reads_and_refuse_what_it_refuses() {
        use crate::wire::skim::assert_parity;
        assert_parity(
            EVENTS,
            |b| Event::skim(b).ok().map(|e| format!("{e:?}")),
            |b| from_json::<Event<'_>>(b).ok().map(|e| format!("{e:?}")),
        );
        assert_parity(
            MESSAGES,
            |b| {
                Skim::document(b, Message::skim)
                    .ok()
                    .map(|m| format!("{m:?}"))
            },
            |b| from_json::<Message<'_>>(b).ok().map(|m| format!("{m:?}")),
        );
    }

    #[test]
    fn whole_message() {
        let mut o = Observation::new(100);
        AnthropicMessages.read_body(
            br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
                "content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"Hi!"},{"type":"tool_use","id":"t","name":"f","input":{"a":1}}],
                "stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":20}}"#,
            &mut o,
        );
        assert_eq!(
            (o.input_tokens, o.output_tokens, o.cached_tokens),
            (Some(10), Some(20), Some(0))
        );
        assert_eq!(o.answer().0, "Hi!");
        assert_eq!(o.counted().0, "hmmHi!{\"a\":1}");
        assert_eq!(o.finish_reason.as_deref(), Some("tool_use"));
    }
}
