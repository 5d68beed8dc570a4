//! Google Gemini `generateContent` / `streamGenerateContent?alt=sse`
//! (AI Studio and Vertex AI): requests, answers, chunk streams.
//!
//! Roles are `user` and `model`; tool results are `functionResponse` parts
//! named after the call they answer; `thought: true` parts are reasoning;
//! `thoughtSignature` rides on the part that follows the thinking. The body
//! names no model: it is in the URL.

mod request;
mod response;

pub use request::{decode_request, encode_request};
pub use response::{Decoder, decode_response};
