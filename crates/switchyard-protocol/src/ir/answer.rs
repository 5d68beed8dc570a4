//! The answer side of the IR: whole answers and stream events.

use super::Part;

/// A complete (non-streamed) answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    /// The provider's id for the answer.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// Text, thinking and tool-call parts, in order.
    pub parts: Vec<Part>,
    /// Why generation stopped.
    pub finish: Option<Finish>,
    /// Token counts.
    pub usage: Option<Usage>,
}

impl Response {
    /// Whether the answer calls tools.
    pub fn has_tool_calls(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::ToolCall(_)))
    }

    /// The text parts joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Text(t) = p {
                out.push_str(&t.text);
            }
        }
        out
    }
}

/// Why generation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finish {
    /// The reason.
    pub reason: FinishReason,
    /// The stop sequence that matched, if the provider says.
    pub stop_sequence: Option<String>,
}

impl Finish {
    /// A finish for `reason`.
    pub fn new(reason: FinishReason) -> Self {
        Finish {
            reason,
            stop_sequence: None,
        }
    }
}

/// Why generation stopped, normalised (OpenAI's names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end or a stop sequence (`stop`, `end_turn`, `stop_sequence`, `STOP`).
    Stop,
    /// The token cap (`length`, `max_tokens`, `MAX_TOKENS`, `max_output_tokens`).
    Length,
    /// The turn ends in tool calls (`tool_calls`, `tool_use`).
    ToolCalls,
    /// Blocked by a safety filter (`content_filter`, `refusal`, `SAFETY`, ...).
    ContentFilter,
    /// Anything else, by the provider's name (`pause_turn`, ...).
    Other(String),
}

/// Token counts, normalised: `input_tokens` includes cached ones,
/// `output_tokens` includes reasoning ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, cache reads and writes included.
    pub input_tokens: u64,
    /// Completion tokens, reasoning included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Completion tokens spent on reasoning.
    pub reasoning_tokens: u64,
}

/// One event of a streamed answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The answer begins (sent once, first).
    Start {
        /// The provider's id for the answer.
        id: String,
        /// The model answering.
        model: String,
    },
    /// Answer text.
    Text(String),
    /// Reasoning text.
    Thinking(String),
    /// The signature of the reasoning so far.
    ThinkingSignature(String),
    /// An opaque redacted reasoning block.
    RedactedThinking(String),
    /// A tool call begins.
    ToolCallStart {
        /// Ordinal of the call in this answer, from 0.
        index: usize,
        /// The call's id.
        id: String,
        /// The function's name.
        name: String,
    },
    /// More argument text of a tool call.
    ToolCallDelta {
        /// Ordinal of the call.
        index: usize,
        /// JSON text to append.
        arguments: String,
    },
    /// Token counts so far (the last one wins).
    Usage(Usage),
    /// Why generation stopped.
    Finish(Finish),
    /// The upstream is alive but has nothing to say yet (a keep-alive);
    /// forwarded so idle timers downstream see the stream is not stalled.
    Ping,
    /// The provider reported an error mid-stream.
    Error {
        /// The provider's error type (`overloaded_error`, ...).
        kind: String,
        /// Its message.
        message: String,
    },
}
