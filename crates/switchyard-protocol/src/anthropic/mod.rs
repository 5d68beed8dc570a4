//! Anthropic Messages: requests, answers, event streams.
//!
//! Turns must alternate: consecutive messages of one role are merged, tool
//! results go first in their user turn, and `max_tokens` is always sent.
//! Thinking blocks keep their signatures byte for byte; `cache_control`
//! markers are kept on every block that carries one.

mod decode;
mod encode;
mod request;
mod response;

pub use decode::Decoder;
pub use encode::Encoder;
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response, stop_reason, usage_json};
