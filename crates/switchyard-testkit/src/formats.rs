//! Which fake format answers a request, by its path.

use std::sync::Arc;

use axum::response::Response;

use crate::record::Recorded;
use crate::server::State;

/// The default answer: the format the path names (Anthropic, Gemini,
/// Ollama, Responses), else the OpenAI-compatible echo server.
pub(crate) fn default_reply(state: &Arc<State>, rec: &Recorded) -> Response {
    let path = rec.path.trim_end_matches('/');
    if rec.method == http::Method::POST
        && (path.ends_with("/messages") || path.ends_with("/messages/count_tokens"))
    {
        return crate::anthropic::reply(state, rec, false);
    }
    let post = rec.method == http::Method::POST;
    if post && path == "/token" {
        return crate::google::token(state, rec);
    }
    if path.ends_with("/computeMetadata/v1/instance/service-accounts/default/token") {
        return crate::google::metadata(state, rec);
    }
    if post
        && path.contains("/publishers/anthropic/models/")
        && (path.ends_with(":rawPredict") || path.ends_with(":streamRawPredict"))
    {
        return crate::anthropic::reply(state, rec, true);
    }
    if post && path.ends_with("/responses") {
        return crate::responses::reply(state, rec);
    }
    if post && path.ends_with(":countTokens") {
        return crate::gemini::count(rec);
    }
    if post && (path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent")) {
        return crate::gemini::reply(state, rec);
    }
    if post && path.ends_with("/api/chat") {
        return crate::ollama::reply(state, rec);
    }
    if rec.method == http::Method::POST
        && path.ends_with("/chat/completions")
        && crate::openai_chat::wants(&rec.json())
    {
        return crate::openai_chat::reply(state, rec);
    }
    crate::openai::default_reply(state, rec)
}
