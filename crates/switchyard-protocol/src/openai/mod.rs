//! OpenAI Chat Completions: requests, answers, chunk streams.
//!
//! Reasoning travels as `reasoning_content` (text) and `thinking_blocks`
//! (text with signature), the extension OpenAI-compatible gateways use, so
//! an OpenAI client can hand Anthropic thinking back with its signature.
//! `cache_control` on content parts is read (the same extension); it is not
//! sent to OpenAI-format upstreams, which cache automatically.

mod request;
mod response;
mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response, finish_reason, usage_json};
pub use stream::{Decoder, Encoder};
