//! OpenAI's formats: chat completions, completions, embeddings, Responses.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use switchyard_core::{JsonRef, ParsedRequest, SseEvent};

use super::skim::{self, Skim};
use super::{EventKind, WireFormat};
use crate::observe::Observation;

/// `POST /v1/chat/completions`: `choices[].message` / `choices[].delta`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiChat;

/// `POST /v1/completions`: `choices[].text`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiCompletions;

/// `POST /v1/embeddings`: input tokens only.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiEmbeddings;

/// `POST /v1/responses`: `output[]` items, `response.*` stream events.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenAiResponses;

/// Usage in every OpenAI shape (chat and completions name it `prompt_` /
/// `completion_`, Responses `input_` / `output_`).
#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default)]
pub(super) struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    input_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default)]
struct Details {
    cached_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
}

impl Usage {
    pub(super) fn apply(&self, out: &mut Observation) {
        Observation::set(
            &mut out.input_tokens,
            self.prompt_tokens.or(self.input_tokens),
        );
        Observation::set(
            &mut out.output_tokens,
            self.completion_tokens.or(self.output_tokens),
        );
        let details = |d: &Option<Details>, f: fn(&Details) -> Option<u64>| d.as_ref().and_then(f);
        Observation::set(
            &mut out.cached_tokens,
            details(&self.prompt_tokens_details, |d| d.cached_tokens)
                .or(details(&self.input_tokens_details, |d| d.cached_tokens)),
        );
        Observation::set(
            &mut out.reasoning_tokens,
            details(&self.completion_tokens_details, |d| d.reasoning_tokens)
                .or(details(&self.output_tokens_details, |d| d.reasoning_tokens)),
        );
    }
}

impl Usage {
    fn skim(s: &mut Skim<'_>) -> skim::Result<Self> {
        let mut u = Usage::default();
        let names: [&[u8]; 8] = [
            b"prompt_tokens",
            b"completion_tokens",
            b"input_tokens",
            b"output_tokens",
            b"prompt_tokens_details",
            b"input_tokens_details",
            b"completion_tokens_details",
            b"output_tokens_details",
        ];
        s.fields(&names, |i, s| {
            match i {
                0 => u.prompt_tokens = s.opt(Skim::u64)?,
                1 => u.completion_tokens = s.opt(Skim::u64)?,
                2 => u.input_tokens = s.opt(Skim::u64)?,
                3 => u.output_tokens = s.opt(Skim::u64)?,
                4 => u.prompt_tokens_details = s.opt(Details::skim)?,
                5 => u.input_tokens_details = s.opt(Details::skim)?,
                6 => u.completion_tokens_details = s.opt(Details::skim)?,
                _ => u.output_tokens_details = s.opt(Details::skim)?,
            }
            Ok(())
        })?;
        Ok(u)
    }
}

impl Details {
    fn skim(s: &mut Skim<'_>) -> skim::Result<Self> {
        let [cached_tokens, reasoning_tokens] =
            s.values([b"cached_tokens", b"reasoning_tokens"], Skim::u64)?;
        Ok(Details {
            cached_tokens,
            reasoning_tokens,
        })
    }
}

/// A chat or completions answer, whole or one chunk of a stream.
///
/// Read with [`Skim`] ([`Answer::skim`]); the `Deserialize` derives are the
/// reference its tests compare it with.
#[derive(Deserialize, Debug, PartialEq)]
struct Answer<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<Box<Usage>>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Choice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(default, borrow)]
    message: Option<Message<'a>>,
    #[serde(default, borrow)]
    delta: Option<Message<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, PartialEq, Default)]
struct Message<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct ToolCall<'a> {
    #[serde(default, borrow)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Function<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

impl<'a> Answer<'a> {
    fn skim(bytes: &'a [u8]) -> skim::Result<Self> {
        Skim::document(bytes, |s| {
            let mut a = Answer {
                model: None,
                choices: None,
                usage: None,
                error: None,
            };
            s.fields(&[b"model", b"choices", b"usage", b"error"], |i, s| {
                match i {
                    0 => a.model = s.opt_string()?,
                    1 => a.choices = s.opt(|s| s.list(Choice::skim))?,
                    2 => a.usage = s.opt(|s| Usage::skim(s).map(Box::new))?,
                    _ => a.error = s.opt(|s| s.skip().map(|_| serde::de::IgnoredAny))?,
                }
                Ok(())
            })?;
            Ok(a)
        })
    }
}

impl<'a> Choice<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut c = Choice {
            index: 0,
            message: None,
            delta: None,
            text: None,
            finish_reason: None,
        };
        let names: [&[u8]; 5] = [b"index", b"message", b"delta", b"text", b"finish_reason"];
        s.fields(&names, |i, s| {
            match i {
                0 => c.index = s.u32()?,
                1 => c.message = s.opt(Message::skim)?,
                2 => c.delta = s.opt(Message::skim)?,
                3 => c.text = s.opt_string()?,
                _ => c.finish_reason = s.opt_string()?,
            }
            Ok(())
        })?;
        Ok(c)
    }
}

impl<'a> Message<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut m = Message::default();
        let names: [&[u8]; 5] = [
            b"content",
            b"refusal",
            b"reasoning_content",
            b"reasoning",
            b"tool_calls",
        ];
        s.fields(&names, |i, s| {
            match i {
                0 => m.content = s.opt_string()?,
                1 => m.refusal = s.opt_string()?,
                2 => m.reasoning_content = s.opt_string()?,
                3 => m.reasoning = s.opt_string()?,
                _ => m.tool_calls = s.opt(|s| s.list(ToolCall::skim))?,
            }
            Ok(())
        })?;
        Ok(m)
    }
}

impl<'a> ToolCall<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut function = None;
        s.fields(&[b"function"], |_, s| {
            function = s.opt(|s| {
                let [name, arguments] = s.values([b"name", b"arguments"], Skim::string)?;
                Ok(Function { name, arguments })
            })?;
            Ok(())
        })?;
        Ok(ToolCall { function })
    }
}

/// Reads a chat / completions answer or chunk; `true` if it carried a token.
fn read_answer(answer: &Answer<'_>, out: &mut Observation) -> bool {
    if let Some(model) = &answer.model
        && out.model.is_none()
    {
        out.model = Some(model.to_string());
    }
    if let Some(usage) = &answer.usage {
        usage.apply(out);
    }
    if answer.error.is_some() {
        out.error = true;
    }
    let mut token = false;
    for choice in answer.choices.iter().flatten() {
        let first = choice.index == 0;
        if let Some(reason) = &choice.finish_reason
            && first
        {
            out.finish_reason = Some(reason.to_string());
        }
        if let Some(text) = &choice.text {
            token |= !text.is_empty();
            push(out, text, first);
        }
        for m in [&choice.message, &choice.delta].into_iter().flatten() {
            token |= read_message(m, out, first);
        }
    }
    token
}

fn push(out: &mut Observation, text: &str, answer: bool) {
    if answer {
        out.push_answer(text);
    } else {
        out.push_counted(text);
    }
}

fn read_message(m: &Message<'_>, out: &mut Observation, first: bool) -> bool {
    let mut token = false;
    if first && m.refusal.is_some() {
        out.refused = true;
    }
    for text in [&m.content, &m.refusal].into_iter().flatten() {
        token |= !text.is_empty();
        push(out, text, first);
    }
    for text in [&m.reasoning_content, &m.reasoning].into_iter().flatten() {
        token |= !text.is_empty();
        out.push_counted(text);
    }
    for call in m.tool_calls.iter().flatten() {
        if let Some(f) = &call.function {
            for text in [&f.name, &f.arguments].into_iter().flatten() {
                token |= !text.is_empty();
                out.push_counted(text);
            }
        }
    }
    token
}

fn read_chunk(event: &SseEvent<'_>, out: &mut Observation) -> EventKind {
    if event.is_done() {
        return EventKind::Other;
    }
    let Ok(answer) = Answer::skim(event.data) else {
        return EventKind::Other;
    };
    if answer.error.is_some() {
        out.error = true;
        return EventKind::Error;
    }
    let token = read_answer(&answer, out);
    let no_choices = answer.choices.as_ref().is_none_or(Vec::is_empty);
    if token {
        EventKind::Content
    } else if answer.usage.is_some() && no_choices {
        EventKind::UsageOnly
    } else {
        EventKind::Other
    }
}

fn read_whole(body: &[u8], out: &mut Observation) {
    match Answer::skim(body) {
        Ok(answer) => {
            read_answer(&answer, out);
        }
        Err(skim::Malformed) => tracing::debug!("answer is not OpenAI-shaped JSON"),
    }
}

/// Sets `stream_options.include_usage`, unless the client set it.
fn include_usage(request: &mut ParsedRequest) -> bool {
    if !request.is_stream() {
        return false;
    }
    let options = request.view().get("stream_options");
    match options {
        // The usual case: added to the body's bytes, no JSON tree built.
        None => request.append_field(
            "stream_options",
            &serde_json::json!({"include_usage": true}),
        ),
        // The client decided (`true` or an explicit `false`): respect it.
        Some(o) if o.get("include_usage").and_then(JsonRef::as_bool).is_some() => false,
        Some(o) if o.is_object() => {
            let Some(Value::Object(o)) = request.json_mut().get_mut("stream_options") else {
                return false;
            };
            o.insert("include_usage".to_owned(), Value::Bool(true));
            true
        }
        // `stream_options` of the wrong type: leave the request for the upstream to refuse.
        Some(_) => false,
    }
}

impl WireFormat for OpenAiChat {
    fn name(&self) -> &'static str {
        "openai_chat"
    }

    fn read_body(&self, body: &[u8], out: &mut Observation) {
        read_whole(body, out);
    }

    fn read_event(&self, event: &SseEvent<'_>, out: &mut Observation) -> EventKind {
        read_chunk(event, out)
    }

    fn request_stream_usage(&self, request: &mut ParsedRequest) -> bool {
        include_usage(request)
    }
}

impl WireFormat for OpenAiCompletions {
    fn name(&self) -> &'static str {
        "openai_completions"
    }

    fn read_body(&self, body: &[u8], out: &mut Observation) {
        read_whole(body, out);
    }

    fn read_event(&self, event: &SseEvent<'_>, out: &mut Observation) -> EventKind {
        read_chunk(event, out)
    }

    fn request_stream_usage(&self, request: &mut ParsedRequest) -> bool {
        include_usage(request)
    }
}

/// An embeddings answer, as far as accounting reads it: its vectors (most
/// of its bytes) are stepped over.
#[derive(Deserialize, Debug, PartialEq)]
struct Embeddings<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
}

impl<'a> Embeddings<'a> {
    fn skim(bytes: &'a [u8]) -> skim::Result<Self> {
        Skim::document(bytes, |s| {
            let (mut model, mut usage) = (None, None);
            s.fields(&[b"model", b"usage"], |i, s| {
                match i {
                    0 => model = s.opt_string()?,
                    _ => usage = s.opt(Usage::skim)?,
                }
                Ok(())
            })?;
            Ok(Embeddings { model, usage })
        })
    }
}

impl WireFormat for OpenAiEmbeddings {
    fn name(&self) -> &'static str {
        "openai_embeddings"
    }

    fn read_body(&self, body: &[u8], out: &mut Observation) {
        if let Ok(e) = Embeddings::skim(body) {
            out.model = e.model.map(Cow::into_owned);
            if let Some(usage) = e.usage {
                usage.apply(out);
                out.output_tokens = Some(0);
            }
        }
    }

    fn read_event(&self, _event: &SseEvent<'_>, _out: &mut Observation) -> EventKind {
        EventKind::Other
    }

    fn has_output(&self) -> bool {
        false
    }
}

impl WireFormat for OpenAiResponses {
    fn name(&self) -> &'static str {
        "openai_responses"
    }

    fn read_body(&self, body: &[u8], out: &mut Observation) {
        match Skim::document(body, Response::skim) {
            Ok(r) => read_response(&r, out, true),
            Err(skim::Malformed) => tracing::debug!("answer is not a Responses object"),
        }
    }

    fn read_event(&self, event: &SseEvent<'_>, out: &mut Observation) -> EventKind {
        let Ok(ev) = ResponseEvent::skim(event.data) else {
            return EventKind::Other;
        };
        match ev.kind.as_ref() {
            "response.output_text.delta" | "response.refusal.delta" => {
                if ev.kind == "response.refusal.delta" {
                    out.refused = true;
                }
                let delta = ev.delta.as_deref().unwrap_or_default();
                out.push_answer(delta);
                EventKind::Content
            }
            "response.reasoning_summary_text.delta"
            | "response.reasoning_text.delta"
            | "response.function_call_arguments.delta" => {
                out.push_counted(ev.delta.as_deref().unwrap_or_default());
                EventKind::Content
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if let Some(r) = &ev.response {
                    read_response(r, out, false);
                }
                if ev.kind == "response.failed" {
                    out.error = true;
                    return EventKind::Error;
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

#[derive(Deserialize, Debug, PartialEq)]
struct ResponseEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    response: Option<Response<'a>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Response<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    output: Vec<OutputItem<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    incomplete_details: Option<Incomplete<'static>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Incomplete<'a> {
    #[serde(default)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct OutputItem<'a> {
    #[serde(default, borrow)]
    content: Vec<OutputContent<'a>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct OutputContent<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

impl<'a> ResponseEvent<'a> {
    fn skim(bytes: &'a [u8]) -> skim::Result<Self> {
        Skim::document(bytes, |s| {
            let (mut kind, mut delta, mut response) = (None, None, None);
            s.fields(&[b"type", b"delta", b"response"], |i, s| {
                match i {
                    0 => kind = Some(s.string()?),
                    1 => delta = s.opt_string()?,
                    _ => response = s.opt(Response::skim)?,
                }
                Ok(())
            })?;
            Ok(ResponseEvent {
                // `type` is required.
                kind: kind.ok_or(skim::Malformed)?,
                delta,
                response,
            })
        })
    }
}

impl<'a> Response<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut r = Response {
            model: None,
            status: None,
            output: Vec::new(),
            usage: None,
            incomplete_details: None,
        };
        let names: [&[u8]; 5] = [
            b"model",
            b"status",
            b"output",
            b"usage",
            b"incomplete_details",
        ];
        s.fields(&names, |i, s| {
            match i {
                0 => r.model = s.opt_string()?,
                1 => r.status = s.opt_string()?,
                2 => r.output = s.list(OutputItem::skim)?,
                3 => r.usage = s.opt(Usage::skim)?,
                _ => {
                    r.incomplete_details = s.opt(|s| {
                        let [reason] = s.values([b"reason"], Skim::string)?;
                        // `Incomplete<'static>`: the reason is owned.
                        let reason = reason.map(|r| Cow::Owned(r.into_owned()));
                        Ok(Incomplete { reason })
                    })?;
                }
            }
            Ok(())
        })?;
        Ok(r)
    }
}

impl<'a> OutputItem<'a> {
    fn skim(s: &mut Skim<'a>) -> skim::Result<Self> {
        let mut item = OutputItem {
            content: Vec::new(),
            arguments: None,
        };
        s.fields(&[b"content", b"arguments"], |i, s| {
            match i {
                0 => {
                    item.content = s.list(|s| {
                        let [kind, text] = s.values([b"type", b"text"], Skim::string)?;
                        Ok(OutputContent { kind, text })
                    })?;
                }
                _ => item.arguments = s.opt_string()?,
            }
            Ok(())
        })?;
        Ok(item)
    }
}

/// Reads a Responses object; `with_text` when the text was not streamed before.
fn read_response(r: &Response<'_>, out: &mut Observation, with_text: bool) {
    if let Some(model) = &r.model {
        out.model = Some(model.to_string());
    }
    if let Some(usage) = &r.usage {
        usage.apply(out);
    }
    let reason = r
        .incomplete_details
        .as_ref()
        .and_then(|d| d.reason.as_deref())
        .or(r.status.as_deref());
    if let Some(reason) = reason {
        out.finish_reason = Some(reason.to_owned());
    }
    if with_text {
        for item in &r.output {
            for part in &item.content {
                if part.kind.as_deref() == Some("refusal") {
                    out.refused = true;
                }
                if let Some(text) = &part.text {
                    out.push_answer(text);
                }
            }
            if let Some(args) = &item.arguments {
                out.push_counted(args);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use switchyard_core::Endpoint;
    use switchyard_core::from_json;

    fn event(data: &str) -> SseEvent<'_> {
        SseEvent {
            event: None,
            data: data.as_bytes(),
            id: None,
        }
    }

    #[test]
    fn chat_whole_answer() {
        let mut o = Observation::new(100);
        OpenAiChat.read_body(
            br#"{"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"hi \"there\""},"finish_reason":"stop"}],
               "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,
                        "prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}}"#,
            &mut o,
        );
        assert_eq!(
            (
                o.input_tokens,
                o.output_tokens,
                o.cached_tokens,
                o.reasoning_tokens
            ),
            (Some(12), Some(5), Some(8), Some(2))
        );
        assert_eq!(o.finish_reason.as_deref(), Some("stop"));
        assert_eq!(o.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(o.answer(), ("hi \"there\"", false));
    }

    #[test]
    fn chat_chunks() {
        let mut o = Observation::new(100);
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"#;
        assert_eq!(
            OpenAiChat.read_event(&event(role), &mut o),
            EventKind::Other
        );
        let text = r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}"#;
        assert_eq!(
            OpenAiChat.read_event(&event(text), &mut o),
            EventKind::Content
        );
        let tool = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]}}]}"#;
        assert_eq!(
            OpenAiChat.read_event(&event(tool), &mut o),
            EventKind::Content
        );
        let fin = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#;
        assert_eq!(OpenAiChat.read_event(&event(fin), &mut o), EventKind::Other);
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#;
        assert_eq!(
            OpenAiChat.read_event(&event(usage), &mut o),
            EventKind::UsageOnly
        );
        assert_eq!(
            OpenAiChat.read_event(&event("[DONE]"), &mut o),
            EventKind::Other
        );
        assert_eq!(o.answer().0, "Hel");
        assert_eq!(o.counted().0, "Hel{\"a\"");
        assert_eq!(o.finish_reason.as_deref(), Some("tool_calls"));
        assert!(o.has_usage());
        let err = r#"{"error":{"message":"overloaded"}}"#;
        assert_eq!(OpenAiChat.read_event(&event(err), &mut o), EventKind::Error);
    }

    /// Answers and chunks as providers send them, for the skim reader's parity test.
    const CORPUS: &[&str] = &[
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"word "},"logprobs":null,"finish_reason":null}]}"#,
        r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi \"there\" \u00e9 \ud83d\ude00\n","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"},{"index":1,"message":{"content":"b","refusal":"no"},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":8,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2}},"service_tier":"default"}"#,
        r#"{"choices":[{"index":0,"delta":{"reasoning_content":"think","content":null},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#,
        r#"{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}"#,
        r#"{"id":"cmpl","object":"text_completion","choices":[{"text":"abc","index":0,"logprobs":null,"finish_reason":"length"}],"model":"m"}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},{"index":1,"function":{"arguments":""}}]}}]}"#,
        "{\n  \"model\" : \"m\",\r\n\t\"choices\" : [ { \"index\" : 0 , \"delta\" : { \"content\" : \"x\" } } ] ,\n \"usage\" : { }\n}\n",
        r#"{"model":null,"choices":null,"usage":null,"error":null}"#,
        r#"{"created":-1.5e-3,"x":[1,2,{"y":[true,false,null]}],"z":{"w":"\/\b\f\r\t"},"choices":[{"index":4294967295,"message":null,"delta":null,"text":null}]}"#,
    ];

    #[test]
    fn the_skim_reader_reads_what_serde_reads_and_refuses_what_it_refuses() {
        super::super::skim::assert_parity(
            CORPUS,
            |b| Answer::skim(b).ok().map(|a| format!("{a:?}")),
            |b| from_json::<Answer<'_>>(b).ok().map(|a| format!("{a:?}")),
        );
    }

    /// Responses events and objects, for the skim readers' parity test.
    const RESPONSES: &[&str] = &[
        r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi \"you\" \u00e9","sequence_number":5,"logprobs":[]}"#,
        r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":1,"delta":"{\"a\":","sequence_number":9}"#,
        r#"{"type":"response.completed","sequence_number":20,"response":{"id":"resp_1","object":"response","created_at":1741476777,"status":"completed","model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi","annotations":[]},{"type":"refusal","refusal":"No."}]},{"type":"function_call","call_id":"c","name":"f","arguments":"{\"a\":1}"}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":10},"incomplete_details":null}}"#,
        r#"{"type":"response.incomplete","response":{"status":"incomplete","output":[],"incomplete_details":{"reason":"max_output_tokens"}}}"#,
        r#"{"type":"error","code":"server_error","message":"boom","param":null}"#,
    ];

    #[test]
    fn the_responses_skim_readers_read_what_serde_reads() {
        super::super::skim::assert_parity(
            RESPONSES,
            |b| ResponseEvent::skim(b).ok().map(|e| format!("{e:?}")),
            |b| {
                from_json::<ResponseEvent<'_>>(b)
                    .ok()
                    .map(|e| format!("{e:?}"))
            },
        );
    }

    #[test]
    fn the_embeddings_skim_reader_reads_what_serde_reads() {
        super::super::skim::assert_parity(
            &[
                r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,1e-5,-2.5E+2,0]},{"object":"embedding","index":1,"embedding":"AAAAPw=="}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#,
                r#"{"model":null,"usage":null,"data":[]}"#,
            ],
            |b| Embeddings::skim(b).ok().map(|e| format!("{e:?}")),
            |b| {
                from_json::<Embeddings<'_>>(b)
                    .ok()
                    .map(|e| format!("{e:?}"))
            },
        );
    }

    #[test]
    fn include_usage_only_when_the_client_did_not_decide() {
        let parse = |s: &'static str| {
            ParsedRequest::parse(Endpoint::ChatCompletions, Bytes::from_static(s.as_bytes()))
                .unwrap()
        };
        let mut r = parse(r#"{"model":"m","stream":true}"#);
        assert!(OpenAiChat.request_stream_usage(&mut r));
        assert!(r.is_dirty());
        assert_eq!(r.json()["stream_options"]["include_usage"], true);
        assert_eq!(
            &r.body()[..],
            br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#
        );
        // Options without the flag get it; options of the wrong type are left alone.
        let mut r = parse(r#"{"model":"m","stream":true,"stream_options":{"x":1}}"#);
        assert!(OpenAiChat.request_stream_usage(&mut r));
        assert_eq!(
            &r.body()[..],
            br#"{"model":"m","stream":true,"stream_options":{"x":1,"include_usage":true}}"#
        );
        let mut r = parse(r#"{"model":"m","stream":true,"stream_options":null}"#);
        assert!(!OpenAiChat.request_stream_usage(&mut r));
        assert!(!r.is_dirty());
        let mut r =
            parse(r#"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#);
        assert!(!OpenAiChat.request_stream_usage(&mut r));
        assert!(!r.is_dirty());
        let mut r = parse(r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#);
        assert!(!OpenAiChat.request_stream_usage(&mut r));
        let mut r = parse(r#"{"model":"m"}"#);
        assert!(!OpenAiChat.request_stream_usage(&mut r));
        assert!(!r.is_dirty());
    }

    #[test]
    fn responses_stream() {
        let mut o = Observation::new(100);
        let d = r#"{"type":"response.output_text.delta","delta":"Hi"}"#;
        assert_eq!(
            OpenAiResponses.read_event(&event(d), &mut o),
            EventKind::Content
        );
        let done = r#"{"type":"response.completed","response":{"model":"gpt-4.1","status":"completed","output":[{"content":[{"text":"Hi"}]}],
            "usage":{"input_tokens":9,"output_tokens":1,"input_tokens_details":{"cached_tokens":0},"output_tokens_details":{"reasoning_tokens":0}}}}"#;
        assert_eq!(
            OpenAiResponses.read_event(&event(done), &mut o),
            EventKind::Other
        );
        assert_eq!(o.answer().0, "Hi", "text is not counted twice");
        assert_eq!((o.input_tokens, o.output_tokens), (Some(9), Some(1)));
        assert_eq!(o.finish_reason.as_deref(), Some("completed"));
    }

    #[test]
    fn embeddings() {
        let mut o = Observation::new(100);
        OpenAiEmbeddings.read_body(
            br#"{"object":"list","data":[{"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":7,"total_tokens":7}}"#,
            &mut o,
        );
        assert_eq!((o.input_tokens, o.output_tokens), (Some(7), Some(0)));
    }

    #[test]
    fn the_digest_has_the_answer_start_and_the_refusal_flag() {
        let digest = |o: &Observation| o.digest().map(|d| (d.start.to_string(), d.refused));
        // Not asked for: none.
        let mut o = Observation::new(0);
        OpenAiChat.read_body(
            br#"{"choices":[{"index":0,"message":{"content":"hi"}}]}"#,
            &mut o,
        );
        assert_eq!(digest(&o), None);
        // Chat, whole: the start of the first choice; a refusal flags it.
        let mut o = Observation::new(0).with_start(4);
        OpenAiChat.read_body(
            br#"{"choices":[{"index":0,"message":{"content":"  hello there","refusal":null}},{"index":1,"message":{"content":"other","refusal":"no"}}]}"#,
            &mut o,
        );
        assert_eq!(digest(&o), Some(("hell".into(), false)));
        let mut o = Observation::new(0).with_start(40);
        OpenAiChat.read_event(
            &event(r#"{"choices":[{"index":0,"delta":{"content":null,"refusal":""},"finish_reason":null}]}"#),
            &mut o,
        );
        assert_eq!(digest(&o), Some((String::new(), true)));
        // Responses, whole and streamed.
        let mut o = Observation::new(0).with_start(40);
        OpenAiResponses.read_body(
            br#"{"status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"No."}]}]}"#,
            &mut o,
        );
        assert_eq!(digest(&o), Some((String::new(), true)));
        let mut o = Observation::new(0).with_start(40);
        OpenAiResponses.read_event(
            &event(r#"{"type":"response.refusal.delta","delta":"No."}"#),
            &mut o,
        );
        assert_eq!(digest(&o), Some(("No.".into(), true)));
    }
}
