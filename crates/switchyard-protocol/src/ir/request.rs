//! The request side of the IR.

use serde_json::Value;

/// A chat request, independent of any wire format.
///
/// Order is meaningful everywhere: messages, parts, tools and the keys of
/// JSON schemas keep the order the client sent, so provider prompt caches hit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// The model asked for (the provider's name is set when encoding).
    pub model: Option<String>,
    /// System prompt blocks (OpenAI `system`/`developer` messages, Anthropic
    /// `system`, Gemini `systemInstruction`, Responses `instructions`).
    pub system: Vec<Text>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Function tools the model may call.
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call.
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one turn.
    pub parallel_tool_calls: Option<bool>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Top-k sampling (Anthropic, Gemini, Ollama).
    pub top_k: Option<u64>,
    /// Cap on generated tokens.
    pub max_tokens: Option<u64>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Sampling seed.
    pub seed: Option<i64>,
    /// Presence penalty.
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    pub frequency_penalty: Option<f64>,
    /// JSON mode / structured output.
    pub response_format: Option<ResponseFormat>,
    /// Reasoning / extended thinking settings.
    pub reasoning: Option<Reasoning>,
    /// Whether the client asked for a streamed answer.
    pub stream: bool,
    /// Whether a streamed answer should end with a usage report (OpenAI
    /// `stream_options.include_usage`; other formats always report usage).
    pub include_usage: bool,
    /// An end-user id, for the provider's abuse monitoring.
    pub user: Option<String>,
}

/// A text block, with an optional prompt-cache marker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Text {
    /// The text.
    pub text: String,
    /// Anthropic-style `cache_control` (e.g. `{"type":"ephemeral"}`), kept verbatim.
    pub cache_control: Option<Value>,
}

impl Text {
    /// A text without a cache marker.
    pub fn new(text: impl Into<String>) -> Self {
        Text {
            text: text.into(),
            cache_control: None,
        }
    }
}

/// Who wrote a message. System prompts live in [`Request::system`]; tool
/// results are parts of a user message, as in Anthropic's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The end user (and tool results).
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The author.
    pub role: Role,
    /// The content, in order.
    pub parts: Vec<Part>,
}

/// One piece of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Text.
    Text(Text),
    /// An image input.
    Image(Image),
    /// A call the model made.
    ToolCall(ToolCall),
    /// The result of a tool call, sent back by the client.
    ToolResult(ToolResult),
    /// Reasoning the model did, with the signature that proves it.
    Thinking(Thinking),
}

/// An image input.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Where the bytes are.
    pub source: ImageSource,
    /// OpenAI's `detail` (`low`, `high`, `auto`).
    pub detail: Option<String>,
    /// Prompt-cache marker.
    pub cache_control: Option<Value>,
}

/// Where an image's bytes are.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A URL the provider fetches (`https://...`).
    Url(String),
    /// Inline base64 data.
    Base64 {
        /// `image/png`, `image/jpeg`, ...
        media_type: String,
        /// The base64 text (no `data:` prefix).
        data: String,
    },
}

impl ImageSource {
    /// Parses a URL, turning a `data:<type>;base64,<data>` URL into inline data.
    pub fn from_url(url: &str) -> Self {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((meta, data)) = rest.split_once(',')
            && let Some(media_type) = meta.strip_suffix(";base64")
        {
            return ImageSource::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            };
        }
        ImageSource::Url(url.to_owned())
    }

    /// The URL form: the URL, or a `data:` URL for inline data.
    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Url(u) => u.clone(),
            ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// A function call the model made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolCall {
    /// The call's id, which the result refers to.
    pub id: String,
    /// The function's name.
    pub name: String,
    /// The arguments as JSON text (exactly as streamed).
    pub arguments: String,
    /// Prompt-cache marker.
    pub cache_control: Option<Value>,
}

impl ToolCall {
    /// The arguments parsed as a JSON object; `{}` when empty or not JSON.
    pub fn arguments_value(&self) -> Value {
        if self.arguments.trim().is_empty() {
            return Value::Object(Default::default());
        }
        serde_json::from_str(&self.arguments).unwrap_or_else(|e| {
            tracing::debug!(error = %e, tool = %self.name, "tool call arguments are not JSON; sending {{}}");
            Value::Object(Default::default())
        })
    }
}

/// The result of a tool call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolResult {
    /// The id of the call this answers.
    pub call_id: String,
    /// The output: text and image parts.
    pub content: Vec<Part>,
    /// Whether the tool failed.
    pub is_error: bool,
    /// Prompt-cache marker.
    pub cache_control: Option<Value>,
}

impl ToolResult {
    /// The text parts joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.content {
            if let Part::Text(t) = p {
                out.push_str(&t.text);
            }
        }
        out
    }
}

/// Reasoning the model did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thinking {
    /// The reasoning text (or its summary).
    pub text: String,
    /// The provider's signature over it (Anthropic `signature`, Responses
    /// `encrypted_content`, Gemini `thoughtSignature`); must be sent back exactly.
    pub signature: Option<String>,
    /// Anthropic `redacted_thinking` data, sent back exactly.
    pub redacted: Option<String>,
}

/// A function the model may call.
#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    /// The function's name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// JSON schema of the arguments, key order kept.
    pub parameters: Value,
    /// OpenAI strict mode.
    pub strict: Option<bool>,
    /// Prompt-cache marker.
    pub cache_control: Option<Value>,
}

/// Whether and which tool the model must call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Tool(String),
}

/// JSON mode / structured output.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseFormat {
    /// Plain text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// The schema's name.
        name: String,
        /// The schema.
        schema: Value,
        /// OpenAI strict mode.
        strict: Option<bool>,
    },
}

/// Reasoning / extended thinking settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reasoning {
    /// `minimal`, `low`, `medium`, `high` (OpenAI, Responses, Ollama).
    pub effort: Option<String>,
    /// Token budget (Anthropic, Gemini).
    pub budget_tokens: Option<u64>,
    /// `false` when the client turned reasoning off explicitly.
    pub enabled: bool,
}

impl Reasoning {
    /// The token budget, derived from the effort when not set.
    pub fn budget(&self) -> u64 {
        if let Some(b) = self.budget_tokens {
            return b;
        }
        match self.effort.as_deref() {
            Some("minimal") | Some("low") => 1024,
            Some("high") => 16384,
            _ => 4096,
        }
    }

    /// The effort, derived from the budget when not set.
    pub fn effort(&self) -> &str {
        if let Some(e) = &self.effort {
            return e;
        }
        match self.budget_tokens {
            Some(b) if b <= 2048 => "low",
            Some(b) if b > 8192 => "high",
            _ => "medium",
        }
    }
}
