//! Translation between the client's wire format and a provider's, through
//! `switchyard-protocol`'s intermediate representation.
//!
//! A provider reads the [`ParsedRequest`] (client format). If its own format
//! differs, [`plan`] converts the request; after the upstream answers,
//! [`respond`] converts the answer back: a stream frame by frame through
//! [`TranslateBody`] (never buffered), a JSON answer whole. A stream where
//! JSON was asked for is assembled; JSON where a stream was asked for is
//! split into events. Error bodies are re-shaped into the client's error
//! format, keeping the status and every header (`Retry-After` included).

mod body;
mod layer;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use switchyard_core::{Body, Endpoint, Error, ErrorType, ParsedRequest, Rejection};
use switchyard_protocol::{Assembler, EncodeOptions, Format, error_body, ir, split};

pub use body::TranslateBody;
pub use layer::{Translate, TranslateLayer};

/// Largest upstream JSON answer (or error body) read whole: 64 MiB.
const MAX_WHOLE: usize = 64 << 20;

/// Settings of a translation that come from the provider's config.
#[derive(Clone, Debug, Default)]
pub(crate) struct Defaults {
    /// `max_tokens` when the client set none (Anthropic requires one).
    pub max_tokens: Option<u64>,
}

/// A request converted for the upstream, and what is needed to convert the answer back.
#[derive(Clone, Debug)]
pub(crate) struct Translation {
    /// The client's format.
    pub client: Format,
    /// The provider's format.
    pub upstream: Format,
    /// The request in the provider's format.
    pub request: Arc<ir::Request>,
    /// The upstream body (in the provider's format).
    pub body: Value,
    /// The model sent upstream, reported when the upstream names none.
    pub model: Arc<str>,
}

impl Translation {
    /// Whether the client asked for a stream.
    pub fn stream(&self) -> bool {
        self.request.stream
    }
}

/// What a provider should do with a request.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Same format on both sides: forward the client's body as it is.
    Passthrough,
    /// Convert; send `Translation::body`.
    Translate(Translation),
    /// Answer the client at once (a bad request, an unsupported endpoint).
    Answer(Response<Body>),
}

/// Decides how `parsed` reaches a provider speaking `native`, for `model`.
pub(crate) fn plan(
    parsed: &ParsedRequest,
    native: Format,
    model: &str,
    defaults: &Defaults,
) -> Plan {
    let endpoint = parsed.endpoint();
    let Some(client) = Format::of_endpoint(endpoint) else {
        // Embeddings and legacy completions exist only in OpenAI's API family.
        return if native == Format::OpenAiChat {
            Plan::Passthrough
        } else {
            Plan::Answer(unsupported(endpoint, native))
        };
    };
    if client == native {
        return Plan::Passthrough;
    }
    let mut request = match client.decode_request(parsed.json()) {
        Ok(r) => r,
        Err(e) => {
            let mut r = Rejection::bad_request(e.message().to_owned());
            if let Some(p) = e.param() {
                r = r.param(p);
            }
            return Plan::Answer(r.into_response(client.protocol()));
        }
    };
    if endpoint == Endpoint::CountTokens {
        return Plan::Answer(count_tokens(&request));
    }
    if request.max_tokens.is_none() {
        request.max_tokens = defaults.max_tokens;
    }
    let body = native.encode_request(&request, model);
    tracing::debug!(
        client = client.as_str(),
        upstream = native.as_str(),
        "translating request"
    );
    Plan::Translate(Translation {
        client,
        upstream: native,
        request: Arc::new(request),
        body,
        model: Arc::from(model),
    })
}

/// A Gemini `countTokens` answer (`{"totalTokens": N}`) as Anthropic's `{"input_tokens": N}`.
pub(crate) async fn gemini_count(res: Response<Body>) -> Response<Body> {
    let (mut parts, body) = res.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_WHOLE)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    for h in [CONTENT_LENGTH, CONTENT_TYPE, CONTENT_ENCODING] {
        parts.headers.remove(h);
    }
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let total = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("totalTokens").and_then(Value::as_u64));
    let body = match total {
        Some(n) if parts.status.is_success() => format!("{{\"input_tokens\":{n}}}"),
        _ => {
            if parts.status.is_success() {
                parts.status = StatusCode::BAD_GATEWAY;
            }
            error_body(Format::Anthropic, parts.status.as_u16(), &bytes).to_string()
        }
    };
    Response::from_parts(parts, Body::from(body))
}

/// `POST /v1/messages/count_tokens` for a provider without a counting endpoint: an estimate.
pub(crate) fn count_tokens(request: &ir::Request) -> Response<Body> {
    let n = switchyard_protocol::estimate_input_tokens(request);
    let mut res = Response::new(Body::from(format!("{{\"input_tokens\":{n}}}")));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut()
        .insert("x-switchyard-estimated", HeaderValue::from_static("true"));
    res
}

fn unsupported(endpoint: Endpoint, native: Format) -> Response<Body> {
    Rejection::new(
        StatusCode::NOT_FOUND,
        ErrorType::NotFound,
        format!(
            "`{}` cannot be served by a provider speaking the {} format",
            endpoint.path(),
            native.as_str()
        ),
    )
    .code("unsupported_endpoint")
    .into_response(endpoint.protocol())
}

/// Converts the upstream's answer back to the client's format.
pub(crate) async fn respond(t: Translation, res: Response<Body>) -> Result<Response<Body>, Error> {
    let (mut parts, body) = res.into_parts();
    let upstream_streamed = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("event-stream") || ct.contains("ndjson"))
        || (t.upstream == Format::Ollama && t.stream() && parts.status.is_success());
    for h in [CONTENT_LENGTH, CONTENT_TYPE, CONTENT_ENCODING] {
        parts.headers.remove(h);
    }
    let json = HeaderValue::from_static("application/json");
    let sse = HeaderValue::from_static("text/event-stream");
    if !parts.status.is_success() {
        let bytes = whole(body, &t).await?;
        let v = error_body(t.client, parts.status.as_u16(), &bytes);
        parts.headers.insert(CONTENT_TYPE, json);
        return Ok(Response::from_parts(parts, Body::from(v.to_string())));
    }
    let options = EncodeOptions {
        model: t.model.to_string(),
        include_usage: t.request.include_usage,
    };
    let Some(mut encoder) = t.client.encoder(options) else {
        return Err(Error::internal(format!(
            "no encoder for the {} format",
            t.client.as_str()
        )));
    };
    match (t.stream(), upstream_streamed) {
        (true, true) => {
            parts.headers.insert(CONTENT_TYPE, sse);
            parts
                .headers
                .insert("cache-control", HeaderValue::from_static("no-cache"));
            let body = TranslateBody::new(body, t.upstream.decoder(), encoder);
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        (true, false) => {
            let answer = decode_whole(&t, &whole(body, &t).await?)?;
            let mut out = BytesMut::new();
            for e in split(&answer) {
                encoder.encode(&e, &mut out);
            }
            encoder.finish(&mut out);
            parts.headers.insert(CONTENT_TYPE, sse);
            Ok(Response::from_parts(parts, Body::from(out.freeze())))
        }
        (false, streamed) => {
            let bytes = whole(body, &t).await?;
            let answer = if streamed {
                assemble(&t, &bytes)?
            } else {
                decode_whole(&t, &bytes)?
            };
            let Some(v) = t.client.encode_response(&answer) else {
                return Err(Error::internal("no response encoder for the client format"));
            };
            parts.headers.insert(CONTENT_TYPE, json);
            Ok(Response::from_parts(parts, Body::from(v.to_string())))
        }
    }
}

async fn whole(body: Body, t: &Translation) -> Result<Bytes, Error> {
    let limited = http_body_util::Limited::new(body, MAX_WHOLE);
    limited.collect().await.map(|c| c.to_bytes()).map_err(|e| {
        Error::upstream(format!(
            "the {} upstream broke off its answer",
            t.upstream.as_str()
        ))
        .with_source(e)
    })
}

fn decode_whole(t: &Translation, bytes: &[u8]) -> Result<ir::Response, Error> {
    let v: Value = switchyard_core::from_json(bytes).map_err(|e| {
        Error::upstream(format!(
            "the {} upstream answered something that is not JSON",
            t.upstream.as_str()
        ))
        .with_source(e)
    })?;
    t.upstream.decode_response(&v).map_err(|e| {
        Error::upstream(format!(
            "the {} upstream's answer could not be read: {e}",
            t.upstream.as_str()
        ))
    })
}

fn assemble(t: &Translation, bytes: &[u8]) -> Result<ir::Response, Error> {
    let mut decoder = t.upstream.decoder();
    let mut events = Vec::new();
    let fail = |e: switchyard_protocol::ConvertError| {
        Error::upstream(format!(
            "the {} upstream's stream could not be read: {e}",
            t.upstream.as_str()
        ))
    };
    decoder.feed(bytes, &mut events).map_err(fail)?;
    decoder.finish(&mut events).map_err(fail)?;
    let mut a = Assembler::new();
    for e in &events {
        a.push(e);
    }
    a.finish().map_err(|(kind, message)| {
        Error::upstream(format!("upstream error mid-stream ({kind}): {message}"))
    })
}
