//! The prompt's strings in a request body: where each one is, for every
//! client format.

use switchyard_core::{Endpoint, JsonRef};

/// One step of a path into the body.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A JSON pointer (RFC 6901) for a path.
pub(crate) fn pointer(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        out.push('/');
        match seg {
            Seg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Seg::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// Calls `f` with the path and value of every prompt string of `body`: OpenAI
/// chat messages (strings and text parts, tool messages included), completions
/// `prompt`, embeddings `input`, Responses `instructions` and `input` (items,
/// text parts, function call outputs), Anthropic `system` and content blocks
/// (tool results included). Images, tool definitions and tool calls are not
/// visited.
pub(crate) fn texts<'a>(
    endpoint: Endpoint,
    body: JsonRef<'a>,
    f: &mut dyn FnMut(&[Seg<'a>], &'a str),
) {
    let mut w = Walker {
        path: Vec::new(),
        f,
    };
    if !body.is_object() {
        return;
    }
    let fields: &[&str] = match endpoint {
        Endpoint::Models => &[],
        Endpoint::Completions => &["prompt"],
        Endpoint::Embeddings => &["input"],
        _ => &["system", "instructions", "messages", "input"],
    };
    for &key in fields {
        if let Some(v) = body.get(key) {
            w.path.push(Seg::Key(key));
            match key {
                "messages" | "input" => w.items(v),
                _ => w.content(v),
            }
            w.path.pop();
        }
    }
}

struct Walker<'a, 'f> {
    path: Vec<Seg<'a>>,
    f: &'f mut dyn FnMut(&[Seg<'a>], &'a str),
}

impl<'a> Walker<'a, '_> {
    fn at(&mut self, seg: Seg<'a>, v: JsonRef<'a>, visit: fn(&mut Self, JsonRef<'a>)) {
        self.path.push(seg);
        visit(self, v);
        self.path.pop();
    }

    /// A list of messages or Responses items (or a plain string / strings).
    fn items(&mut self, v: JsonRef<'a>) {
        let Some(items) = v.items() else {
            return self.content(v);
        };
        for (i, item) in items.enumerate() {
            if !item.is_object() {
                self.at(Seg::Index(i), item, Self::content);
                continue;
            }
            let content = item.get("content");
            if content.is_some() || item.get("role").is_some() {
                if let Some(c) = content {
                    self.path.push(Seg::Index(i));
                    self.at(Seg::Key("content"), c, Self::content);
                    self.path.pop();
                }
            } else {
                self.at(Seg::Index(i), item, Self::part);
            }
        }
    }

    /// A content value: a string, or an array of strings or typed parts.
    fn content(&mut self, v: JsonRef<'a>) {
        if let Some(s) = v.as_str() {
            (self.f)(&self.path, s);
        } else if let Some(parts) = v.items() {
            for (i, p) in parts.enumerate() {
                self.at(Seg::Index(i), p, Self::part);
            }
        }
    }

    /// One typed part (or a bare string in a list).
    fn part(&mut self, v: JsonRef<'a>) {
        if !v.is_object() {
            return self.content(v);
        }
        let ty = v.get("type").and_then(JsonRef::as_str).unwrap_or_default();
        match ty {
            "image_url" | "image" | "input_image" | "input_audio" | "document" | "input_file"
            | "tool_use" | "function_call" | "server_tool_use" => {}
            "tool_result" => {
                if let Some(c) = v.get("content") {
                    self.at(Seg::Key("content"), c, Self::content);
                }
            }
            "function_call_output" => {
                if let Some(c) = v.get("output") {
                    self.at(Seg::Key("output"), c, Self::content);
                }
            }
            _ => {
                if let Some(t) = v.get("text").filter(|t| t.is_string()) {
                    self.at(Seg::Key("text"), t, Self::content);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn all(endpoint: Endpoint, body: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        texts(endpoint, JsonRef::from(body), &mut |p, s| {
            out.push((pointer(p), s.to_owned()))
        });
        out
    }

    #[test]
    fn every_format() {
        let chat = json!({"messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "t"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "tool out"}
        ]});
        assert_eq!(
            all(Endpoint::ChatCompletions, &chat),
            [
                ("/messages/0/content".into(), "s".into()),
                ("/messages/1/content/0/text".into(), "t".into()),
                ("/messages/2/content".into(), "tool out".into()),
            ]
        );
        let anthropic = json!({"system": [{"type": "text", "text": "sys"}], "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x",
                "content": [{"type": "text", "text": "r"}]}, {"type": "image", "source": {"data": "QUFB"}}]}
        ]});
        assert_eq!(
            all(Endpoint::Messages, &anthropic),
            [
                ("/system/0/text".into(), "sys".into()),
                ("/messages/0/content/0/content/0/text".into(), "r".into()),
            ]
        );
        let responses = json!({"instructions": "i", "input": [
            {"type": "function_call_output", "call_id": "c", "output": "o"},
            {"role": "user", "content": [{"type": "input_text", "text": "u"}]}
        ]});
        assert_eq!(
            all(Endpoint::Responses, &responses),
            [
                ("/instructions".into(), "i".into()),
                ("/input/0/output".into(), "o".into()),
                ("/input/1/content/0/text".into(), "u".into()),
            ]
        );
        assert_eq!(
            all(Endpoint::Embeddings, &json!({"input": ["a", [1, 2]]})),
            [("/input/0".into(), "a".into())]
        );
        assert_eq!(
            all(Endpoint::Completions, &json!({"prompt": "p"})),
            [("/prompt".into(), "p".into())]
        );
    }
}
