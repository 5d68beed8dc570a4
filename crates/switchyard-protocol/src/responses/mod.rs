//! OpenAI Responses / OpenResponses: requests, answers, typed event streams.
//!
//! Reasoning travels as `reasoning` items: the text as a summary, the
//! signature as `encrypted_content`, so thinking survives a round trip
//! through a Responses client. Stop sequences cannot be expressed.

mod decode;
mod encode;
mod request;
mod response;

pub use decode::Decoder;
pub use encode::Encoder;
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
