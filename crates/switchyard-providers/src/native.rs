//! What the providers that speak their own wire format share: sending a
//! (maybe translated) body and translating the answer back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use switchyard_core::{Body, Error};

use crate::HttpClient;
use crate::forward;
use crate::translate::{Translation, respond};

/// A request ready to go upstream.
pub(crate) struct Outgoing {
    /// The full URL.
    pub url: String,
    /// Headers, auth included.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// How to convert the answer back, if the body was translated.
    pub translation: Option<Translation>,
    /// The answer is a Gemini `countTokens` result for an Anthropic client.
    pub gemini_count: bool,
}

/// The parts of a provider's config every native provider has.
#[derive(Clone)]
pub(crate) struct Common {
    pub id: Arc<str>,
    pub client: HttpClient,
    pub first_byte_timeout: Duration,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Common {
    /// `content-type: application/json`, the client's `accept`, then `extra`
    /// and the configured headers (which win).
    pub fn headers(&self, client: &HeaderMap, extra: &[(HeaderName, HeaderValue)]) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(4 + extra.len() + self.headers.len());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(a) = client.get(ACCEPT) {
            h.insert(ACCEPT, a.clone());
        }
        for (k, v) in extra.iter().chain(&self.headers) {
            h.insert(k.clone(), v.clone());
        }
        h
    }

    /// Sends `out` and translates the answer if needed.
    pub fn send(&self, out: Outgoing) -> BoxFuture<'static, Result<Response<Body>, Error>> {
        let common = self.clone();
        Box::pin(async move {
            let uri = forward::uri(&common.id, &out.url)?;
            let request = forward::Target::new(uri).request(Method::POST, out.headers, out.body);
            let res = forward::send(
                common.client.clone(),
                request,
                common.id.clone(),
                common.first_byte_timeout,
            )
            .await?;
            match out.translation {
                None if out.gemini_count => Ok(crate::translate::gemini_count(res).await),
                None => Ok(res),
                Some(t) => respond(t, res).await,
            }
        })
    }
}

/// A header value marked sensitive, or an internal error naming the provider.
pub(crate) fn secret(id: &str, value: &str) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Error::internal(format!(
            "the credentials of provider `{id}` are not a valid header value"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// A ready answer as the provider's future.
pub(crate) fn ready(
    res: Result<Response<Body>, Error>,
) -> BoxFuture<'static, Result<Response<Body>, Error>> {
    Box::pin(std::future::ready(res))
}
