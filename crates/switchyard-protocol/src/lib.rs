//! Wire formats of the Switchyard LLM gateway and translation between them.
//!
//! N formats, not N×M converters: each wire [`Format`] converts requests and
//! answers to and from one intermediate representation ([`ir`]), and each
//! streaming format has a [`StreamDecoder`] (upstream bytes -> [`Event`]s)
//! and, for the formats clients speak, a [`StreamEncoder`] (events -> client
//! SSE bytes). When client and provider speak the same format nothing here
//! runs: the body passes through untouched.
//!
//! # Example
//!
//! An OpenAI chat request sent to an Anthropic provider, and its streamed
//! answer sent back as OpenAI chunks:
//!
//! ```
//! use bytes::BytesMut;
//! use switchyard_protocol::{Format, EncodeOptions};
//!
//! let client = serde_json::json!({
//!     "model": "claude", "stream": true,
//!     "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
//! });
//! let ir = Format::OpenAiChat.decode_request(&client).unwrap();
//! let upstream = Format::Anthropic.encode_request(&ir, "claude-sonnet-4-5");
//! assert_eq!(upstream["system"], "Be brief.");
//! assert_eq!(upstream["messages"][0]["content"][0]["text"], "Hi");
//! assert_eq!(upstream["max_tokens"], 4096); // Anthropic requires it
//!
//! let mut decoder = Format::Anthropic.decoder();
//! let mut encoder = Format::OpenAiChat.encoder(EncodeOptions::default()).unwrap();
//! let (mut events, mut out) = (Vec::new(), BytesMut::new());
//! decoder.feed(concat!(
//!     "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
//!     "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
//!     "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
//!     "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
//! ).as_bytes(), &mut events).unwrap();
//! for e in &events { encoder.encode(e, &mut out); }
//! encoder.finish(&mut out);
//! let text = String::from_utf8(out.to_vec()).unwrap();
//! assert!(text.contains(r#""delta":{"role":"assistant","content":""}"#));
//! assert!(text.contains(r#""content":"Hello""#));
//! assert!(text.contains(r#""finish_reason":"stop""#));
//! assert!(text.ends_with("data: [DONE]\n\n"));
//! ```
//!
//! # Behavior
//!
//! - Covered both ways: system prompts, multi-turn history, text and images
//!   (URL and base64), tools with JSON schemas (order kept), tool choice,
//!   parallel tool calls, tool results, thinking with signatures, JSON mode,
//!   stop sequences, temperature, top_p, max tokens, finish reasons, usage
//!   (cached, cache-write and reasoning tokens), prompt-cache markers.
//! - A field the target cannot express is dropped with a `debug` log, never
//!   sent as a wrong value.
//! - Anthropic's required `max_tokens` is filled with
//!   [`DEFAULT_MAX_TOKENS`] unless the caller sets [`ir::Request::max_tokens`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod anthropic;
mod error;
pub mod gemini;
pub mod ir;
pub mod ollama;
pub mod openai;
pub mod responses;
mod stream;
mod util;

pub use error::{ConvertError, error_body, error_kind_for_status};
pub use ir::{Event, Finish, FinishReason, Usage};
pub use stream::{Assembler, EncodeOptions, LineSplitter, StreamDecoder, StreamEncoder, split};

/// `max_tokens` sent to Anthropic when the client set none.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// A wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAiChat,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Responses / OpenResponses (`/v1/responses`).
    Responses,
    /// Google Gemini `generateContent` (AI Studio and Vertex AI).
    Gemini,
    /// Ollama native `/api/chat`.
    Ollama,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 5] = [
        Format::OpenAiChat,
        Format::Anthropic,
        Format::Responses,
        Format::Gemini,
        Format::Ollama,
    ];

    /// A short stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OpenAiChat => "openai",
            Format::Anthropic => "anthropic",
            Format::Responses => "responses",
            Format::Gemini => "gemini",
            Format::Ollama => "ollama",
        }
    }

    /// The format a client speaks on a gateway endpoint, if it is a chat endpoint.
    pub fn of_endpoint(endpoint: switchyard_core::Endpoint) -> Option<Format> {
        use switchyard_core::Endpoint as E;
        match endpoint {
            E::ChatCompletions => Some(Format::OpenAiChat),
            E::Messages | E::CountTokens => Some(Format::Anthropic),
            E::Responses => Some(Format::Responses),
            _ => None,
        }
    }

    /// The protocol family of error bodies in this format.
    pub fn protocol(self) -> switchyard_core::Protocol {
        match self {
            Format::Anthropic => switchyard_core::Protocol::Anthropic,
            _ => switchyard_core::Protocol::OpenAi,
        }
    }

    /// Reads a request in this format.
    pub fn decode_request(self, body: &serde_json::Value) -> Result<ir::Request, ConvertError> {
        match self {
            Format::OpenAiChat => openai::decode_request(body),
            Format::Anthropic => anthropic::decode_request(body),
            Format::Responses => responses::decode_request(body),
            Format::Gemini => gemini::decode_request(body),
            Format::Ollama => ollama::decode_request(body),
        }
    }

    /// Writes a request in this format, for `model`.
    pub fn encode_request(self, request: &ir::Request, model: &str) -> serde_json::Value {
        match self {
            Format::OpenAiChat => openai::encode_request(request, model),
            Format::Anthropic => anthropic::encode_request(request, model),
            Format::Responses => responses::encode_request(request, model),
            Format::Gemini => gemini::encode_request(request),
            Format::Ollama => ollama::encode_request(request, model),
        }
    }

    /// Reads a complete answer in this format.
    pub fn decode_response(self, body: &serde_json::Value) -> Result<ir::Response, ConvertError> {
        match self {
            Format::OpenAiChat => openai::decode_response(body),
            Format::Anthropic => anthropic::decode_response(body),
            Format::Responses => responses::decode_response(body),
            Format::Gemini => gemini::decode_response(body),
            Format::Ollama => ollama::decode_response(body),
        }
    }

    /// Writes a complete answer in this format; `None` for formats no
    /// client speaks to the gateway (Gemini, Ollama).
    pub fn encode_response(self, response: &ir::Response) -> Option<serde_json::Value> {
        match self {
            Format::OpenAiChat => Some(openai::encode_response(response)),
            Format::Anthropic => Some(anthropic::encode_response(response)),
            Format::Responses => Some(responses::encode_response(response)),
            Format::Gemini | Format::Ollama => None,
        }
    }

    /// A stream decoder for upstream bodies in this format.
    pub fn decoder(self) -> Box<dyn StreamDecoder> {
        match self {
            Format::OpenAiChat => Box::new(openai::Decoder::new()),
            Format::Anthropic => Box::new(anthropic::Decoder::new()),
            Format::Responses => Box::new(responses::Decoder::new()),
            Format::Gemini => Box::new(gemini::Decoder::new()),
            Format::Ollama => Box::new(ollama::Decoder::new()),
        }
    }

    /// A stream encoder writing this format to clients; `None` for formats
    /// no client speaks to the gateway.
    pub fn encoder(self, options: EncodeOptions) -> Option<Box<dyn StreamEncoder>> {
        match self {
            Format::OpenAiChat => Some(Box::new(openai::Encoder::new(options))),
            Format::Anthropic => Some(Box::new(anthropic::Encoder::new(options))),
            Format::Responses => Some(Box::new(responses::Encoder::new(options))),
            Format::Gemini | Format::Ollama => None,
        }
    }

    /// Whether streamed bodies of this format are NDJSON rather than SSE.
    pub fn is_ndjson(self) -> bool {
        self == Format::Ollama
    }
}

/// A rough count of a request's input tokens (4 characters a token), for
/// providers without a counting endpoint.
pub fn estimate_input_tokens(request: &ir::Request) -> u64 {
    let mut chars = 0usize;
    for s in &request.system {
        chars += s.text.chars().count();
    }
    for m in &request.messages {
        for p in &m.parts {
            chars += match p {
                ir::Part::Text(t) => t.text.chars().count(),
                ir::Part::Image(_) => 1600 * 4,
                ir::Part::ToolCall(c) => c.name.len() + c.arguments.chars().count(),
                ir::Part::ToolResult(r) => r.text().chars().count(),
                ir::Part::Thinking(t) => t.text.chars().count(),
            };
        }
        chars += 12;
    }
    for t in &request.tools {
        chars += t.name.len()
            + t.description.as_deref().map_or(0, str::len)
            + t.parameters.to_string().len();
    }
    (chars as u64).div_ceil(4).max(1)
}
