//! [`Prompt`]: the text, images and tools of a request, read once for classifiers and routes.

use std::ops::Range;

use serde_json::Value;

use crate::doc::JsonRef;
use crate::protocol::Endpoint;

/// What a request asks, in every protocol's shape: its text, images and tools.
///
/// Built once per request by [`ParsedRequest::prompt`](crate::ParsedRequest::prompt)
/// from the client's body: OpenAI chat `messages` (string or parts),
/// Anthropic `system` and content blocks, completions `prompt`, Responses
/// `instructions` / `input`, embeddings `input`. Text parts are joined with
/// `\n`; tool calls and tool results are not prompt text.
///
/// ```
/// use switchyard_core::{Endpoint, Prompt};
/// let body = serde_json::json!({"model": "m", "messages": [
///     {"role": "system", "content": "be brief"},
///     {"role": "user", "content": [
///         {"type": "text", "text": "what is this?"},
///         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
///     ]}
/// ]});
/// let p = Prompt::from_json(Endpoint::ChatCompletions, &body);
/// assert_eq!(p.text(), "be brief\nwhat is this?");
/// assert_eq!(p.last_user_text(), "what is this?");
/// assert_eq!(p.image_count(), 1);
/// assert!(!p.has_tools());
/// assert_eq!(p.estimated_tokens(), 6); // 22 chars / 4, rounded up
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    text: String,
    last_user: Range<usize>,
    chars: usize,
    images: usize,
    tools: bool,
}

impl Prompt {
    /// Reads the prompt of a request body sent to `endpoint`.
    pub fn from_json(endpoint: Endpoint, body: &Value) -> Prompt {
        Prompt::from_view(endpoint, JsonRef::from(body))
    }

    /// [`from_json`](Self::from_json) of a body read as a [`Doc`](crate::Doc)
    /// (or any [`JsonRef`]).
    pub fn from_view(endpoint: Endpoint, body: JsonRef<'_>) -> Prompt {
        let mut b = Builder::default();
        match endpoint {
            Endpoint::Models => {}
            Endpoint::Completions => b.content(body.get("prompt"), false),
            Endpoint::Embeddings => b.content(body.get("input"), false),
            _ => {
                b.content(body.get("system"), false);
                b.content(body.get("instructions"), false);
                b.messages(body.get("messages"));
                match body.get("input") {
                    Some(input)
                        if input
                            .items()
                            .is_some_and(|mut items| items.any(JsonRef::is_object)) =>
                    {
                        b.messages(Some(input))
                    }
                    Some(other) => b.content(Some(other), true),
                    None => {}
                }
            }
        }
        let tools = ["tools", "functions"].iter().any(|k| {
            body.get(k)
                .and_then(JsonRef::items)
                .is_some_and(|a| a.len() > 0)
        });
        let chars = b.text.chars().count();
        Prompt {
            text: b.text,
            last_user: b.last_user,
            chars,
            images: b.images,
            tools,
        }
    }

    /// Every text part, joined with `\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of the last user message (empty if there is none).
    pub fn last_user_text(&self) -> &str {
        self.text.get(self.last_user.clone()).unwrap_or_default()
    }

    /// The length of [`text`](Self::text) in characters.
    pub fn char_count(&self) -> usize {
        self.chars
    }

    /// A tokenizer-free estimate of the prompt's tokens: one per four characters, rounded up.
    pub fn estimated_tokens(&self) -> usize {
        self.chars.div_ceil(4)
    }

    /// How many image parts the request carries.
    pub fn image_count(&self) -> usize {
        self.images
    }

    /// Whether the request offers tools (`tools` or legacy `functions`).
    pub fn has_tools(&self) -> bool {
        self.tools
    }
}

#[derive(Default)]
struct Builder {
    text: String,
    last_user: Range<usize>,
    images: usize,
}

impl Builder {
    fn push(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(s);
    }

    fn messages(&mut self, messages: Option<JsonRef<'_>>) {
        let Some(messages) = messages.and_then(JsonRef::items) else {
            return;
        };
        // Room for every message's text at once: a long conversation
        // otherwise regrows (and recopies) the prompt a dozen times.
        let room: usize = messages.clone().map(|m| text_len(m.get("content"))).sum();
        self.text.reserve(room);
        for m in messages {
            let user = m.get("role").and_then(JsonRef::as_str) == Some("user");
            self.content(m.get("content"), user);
        }
    }

    /// A content value: a string, or an array of strings or typed parts.
    fn content(&mut self, content: Option<JsonRef<'_>>, user: bool) {
        let start = self.text.len() + usize::from(!self.text.is_empty());
        let before = self.text.len();
        if let Some(content) = content {
            if let Some(s) = content.as_str() {
                self.push(s);
            } else if let Some(parts) = content.items() {
                for part in parts {
                    self.part(part);
                }
            }
        }
        if user {
            self.last_user = if self.text.len() > before {
                start..self.text.len()
            } else {
                0..0
            };
        }
    }

    fn part(&mut self, part: JsonRef<'_>) {
        if let Some(s) = part.as_str() {
            return self.push(s);
        }
        if !part.is_object() {
            return;
        }
        let ty = part
            .get("type")
            .and_then(JsonRef::as_str)
            .unwrap_or_default();
        match ty {
            "image_url" | "image" | "input_image" => self.images += 1,
            "tool_result" | "tool_use" | "function_call" | "function_call_output" => {}
            _ => {
                if let Some(s) = part.get("text").and_then(JsonRef::as_str) {
                    self.push(s);
                }
            }
        }
    }
}

/// About how many bytes a content value adds to the prompt (its strings and
/// text parts, a separator each): what to reserve, not what is pushed.
fn text_len(content: Option<JsonRef<'_>>) -> usize {
    let Some(content) = content else { return 0 };
    if let Some(s) = content.as_str() {
        return s.len() + 1;
    }
    content.items().map_or(0, |parts| {
        parts
            .map(|p| {
                p.as_str()
                    .or_else(|| p.get("text").and_then(JsonRef::as_str))
                    .map_or(0, |s| s.len() + 1)
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn anthropic_blocks_and_tools() {
        let body = json!({
            "system": [{"type": "text", "text": "sys"}],
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                {"role": "user", "content": [
                    {"type": "image", "source": {}},
                    {"type": "text", "text": "second"},
                    {"type": "tool_result", "content": "ignored"}
                ]}
            ],
            "tools": [{"name": "x"}]
        });
        let p = Prompt::from_json(Endpoint::Messages, &body);
        assert_eq!(p.text(), "sys\nfirst\nok\nsecond");
        assert_eq!(p.last_user_text(), "second");
        assert_eq!(p.image_count(), 1);
        assert!(p.has_tools());
    }

    #[test]
    fn completions_embeddings_and_responses() {
        let p = Prompt::from_json(Endpoint::Completions, &json!({"prompt": ["a", "b"]}));
        assert_eq!(p.text(), "a\nb");
        let p = Prompt::from_json(Endpoint::Embeddings, &json!({"input": "héllo"}));
        assert_eq!(p.char_count(), 5);
        assert_eq!(p.estimated_tokens(), 2);
        let p = Prompt::from_json(
            Endpoint::Responses,
            &json!({"instructions": "be terse", "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "hi"},
                                             {"type": "input_image", "image_url": "x"}]}
            ]}),
        );
        assert_eq!(p.text(), "be terse\nhi");
        assert_eq!(p.last_user_text(), "hi");
        assert_eq!(p.image_count(), 1);
        let p = Prompt::from_json(Endpoint::Responses, &json!({"input": "plain"}));
        assert_eq!(p.last_user_text(), "plain");
    }

    #[test]
    fn last_user_survives_a_missing_input() {
        let body = json!({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]});
        let p = Prompt::from_json(Endpoint::ChatCompletions, &body);
        assert_eq!(p.last_user_text(), "u");
    }

    #[test]
    fn odd_shapes_do_not_panic() {
        for body in [
            json!(null),
            json!({"messages": 3}),
            json!({"messages": [1, null]}),
        ] {
            let p = Prompt::from_json(Endpoint::ChatCompletions, &body);
            assert_eq!(p.text(), "");
            assert_eq!(p.last_user_text(), "");
        }
    }
}
