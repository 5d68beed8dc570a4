//! Ollama native `/api/chat`: requests, answers, NDJSON streams.
//!
//! Sampling parameters go in `options` (`num_predict` is the token cap);
//! images are base64 only (URLs are dropped with a debug log); tool calls
//! carry no ids, so ids are made from the answer's content; `thinking` is
//! the reasoning text (Ollama has no signatures).

mod request;
mod response;

pub use request::{decode_request, encode_request};
pub use response::{Decoder, decode_response};
