//! Reading usage, text and finish reasons from each wire format.
//!
//! A [`WireFormat`] reads a whole answer or one event of a streamed answer
//! into an [`Observation`]. The usage layer picks one per endpoint
//! ([`for_endpoint`]); adding a format is one more implementation.

mod anthropic;
mod openai;
mod skim;

use switchyard_core::{Endpoint, ParsedRequest, SseEvent};

pub use anthropic::AnthropicMessages;
pub use openai::{OpenAiChat, OpenAiCompletions, OpenAiEmbeddings, OpenAiResponses};

use crate::observe::Observation;

/// What one event of a stream was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Bookkeeping: a role chunk, a ping, a block start ...
    Other,
    /// It carried answer text, reasoning or tool-call arguments: a token.
    Content,
    /// It carried nothing but usage (OpenAI's extra `include_usage` chunk).
    UsageOnly,
    /// The provider reported an error inside the stream.
    Error,
}

/// One API's wire format, as far as accounting needs it.
pub trait WireFormat: Send + Sync + 'static {
    /// A short name, for logs.
    fn name(&self) -> &'static str;

    /// Reads a whole (non-streamed) JSON answer.
    fn read_body(&self, body: &[u8], out: &mut Observation);

    /// Reads one event of a streamed answer.
    fn read_event(&self, event: &SseEvent<'_>, out: &mut Observation) -> EventKind;

    /// Asks the upstream to report usage in a streamed answer, if the format
    /// needs asking (OpenAI's `stream_options.include_usage`). Returns `true`
    /// when it changed the request, i.e. the client did not ask itself.
    fn request_stream_usage(&self, request: &mut ParsedRequest) -> bool {
        let _ = request;
        false
    }

    /// Whether answers are charged output tokens (embeddings are not).
    fn has_output(&self) -> bool {
        true
    }
}

/// The wire format of the answers to `endpoint`, in the client's protocol.
pub fn for_endpoint(endpoint: Endpoint) -> Option<&'static dyn WireFormat> {
    Some(match endpoint {
        Endpoint::ChatCompletions => &OpenAiChat,
        Endpoint::Completions => &OpenAiCompletions,
        Endpoint::Embeddings => &OpenAiEmbeddings,
        Endpoint::Responses => &OpenAiResponses,
        Endpoint::Messages => &AnthropicMessages,
        _ => return None,
    })
}
