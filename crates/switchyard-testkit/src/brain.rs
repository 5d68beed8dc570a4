//! The deterministic "model" behind every fake provider format: each format
//! reads its request into a [`Turn`], and renders the [`Answer`] in its shape.
//!
//! - The last user text is echoed: `echo: <text>`, with ` [images: N]` when
//!   the turn has images.
//! - With tools offered and `weather` in the text, the model calls
//!   `get_weather` for Paris (and Rome too when the text says `parallel`).
//! - After tool results it answers `tool said: <results joined by ", ">`.
//! - With thinking asked for, it first thinks `thinking about: <text>`,
//!   signed `sig-<hash of that text>`.
//! - `[fake-error:429]` in the text answers that status in the format's
//!   error shape (429 and 529 with `retry-after: 7`).
//! - With JSON output asked for, it answers `{"echo":"<text>"}`.
//! - `max_tokens` below the answer's words cuts it (finish: length).
//! - Tokens are whitespace words; cache markers in the request report
//!   7 cached and 3 cache-written input tokens.

use serde_json::{Value, json};

/// What a fake model needs to know about a request.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    /// The last user message's text.
    pub text: String,
    /// Tool result texts, when the last user turn carries results.
    pub results: Vec<String>,
    /// Whether tools were offered.
    pub tools: bool,
    /// Images in the last user turn.
    pub images: usize,
    /// Whether thinking was asked for.
    pub thinking: bool,
    /// Prompt-cache markers anywhere in the request.
    pub cache_markers: usize,
    /// Words in the whole prompt.
    pub prompt_words: usize,
    /// The token cap.
    pub max_tokens: Option<u64>,
    /// Whether JSON output was asked for (JSON mode, a schema, Anthropic's
    /// JSON instruction or `output_format`).
    pub json: bool,
}

/// Why the fake stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    End,
    Length,
    Tools,
}

/// The fake model's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Thinking text and its signature.
    pub thinking: Option<(String, String)>,
    pub text: String,
    /// (id, name, arguments)
    pub calls: Vec<(String, String, Value)>,
    pub stop: Stop,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub cache_read: usize,
    pub cache_write: usize,
}

/// The error a prompt asks for: `[fake-error:NNN]`.
pub(crate) fn error_trigger(text: &str) -> Option<u16> {
    let rest = &text[text.find("[fake-error:")? + 12..];
    rest.get(..3)?
        .parse()
        .ok()
        .filter(|s| (400..=599).contains(s))
}

/// The signature the fake gives a thinking text; the fakes accept only these back.
pub(crate) fn signature(thinking: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in thinking.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("sig-{h:016x}")
}

/// Whether a signature came from [`signature`].
pub(crate) fn valid_signature(sig: &str) -> bool {
    sig.len() == 20 && sig.starts_with("sig-")
}

pub(crate) fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Counts `cache_control` keys anywhere in `v`.
pub(crate) fn cache_markers(v: &Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| usize::from(k == "cache_control") + cache_markers(x))
            .sum(),
        Value::Array(a) => a.iter().map(cache_markers).sum(),
        _ => 0,
    }
}

/// Every string under `v`, for counting prompt words.
pub(crate) fn all_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push(' ');
        }
        Value::Object(m) => {
            for (k, x) in m {
                if matches!(
                    k.as_str(),
                    "text" | "content" | "thinking" | "output" | "input"
                ) || x.is_array()
                    || x.is_object()
                {
                    all_text(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_text(x, out)),
        _ => {}
    }
}

/// The fake model.
pub(crate) fn think(turn: &Turn, call_prefix: &str) -> Answer {
    let thinking = turn.thinking.then(|| {
        let t = format!("thinking about: {}", turn.text);
        let s = signature(&t);
        (t, s)
    });
    let mut calls = Vec::new();
    let mut text = String::new();
    if !turn.results.is_empty() {
        text = format!("tool said: {}", turn.results.join(", "));
    } else if turn.tools && turn.text.contains("weather") {
        let cities: &[&str] = if turn.text.contains("parallel") {
            &["Paris", "Rome"]
        } else {
            &["Paris"]
        };
        for (i, city) in cities.iter().enumerate() {
            calls.push((
                format!("{call_prefix}{i}"),
                "get_weather".to_owned(),
                json!({"city": city, "unit": "celsius"}),
            ));
        }
    } else if turn.json {
        text = serde_json::json!({"echo": turn.text}).to_string();
    } else {
        text = format!("echo: {}", turn.text);
        if turn.images > 0 {
            text.push_str(&format!(" [images: {}]", turn.images));
        }
    }
    let mut stop = if calls.is_empty() {
        Stop::End
    } else {
        Stop::Tools
    };
    if let Some(max) = turn.max_tokens.and_then(|m| usize::try_from(m).ok())
        && calls.is_empty()
        && words(&text) > max
    {
        text = text
            .split_whitespace()
            .take(max)
            .collect::<Vec<_>>()
            .join(" ");
        stop = Stop::Length;
    }
    let thought_words = thinking.as_ref().map_or(0, |(t, _)| words(t));
    let call_words: usize = calls.iter().map(|c| words(&c.2.to_string())).sum();
    Answer {
        completion_tokens: words(&text) + thought_words + call_words,
        thinking,
        text,
        calls,
        stop,
        prompt_tokens: turn.prompt_words,
        cache_read: if turn.cache_markers > 0 { 7 } else { 0 },
        cache_write: if turn.cache_markers > 0 { 3 } else { 0 },
    }
}

/// Splits text into words, each carrying the whitespace before it.
pub(crate) fn pieces(text: &str) -> Vec<String> {
    crate::shapes::pieces(text)
        .into_iter()
        .map(str::to_owned)
        .collect()
}
