//! What every provider reads from a request, and the answer to an endpoint it does not serve.

use http::{HeaderValue, Request, Response, StatusCode};
use switchyard_core::{
    Body, Candidate, Endpoint, Error, ErrorType, ParsedRequest, Rejection, RequestExt,
};

/// The parsed body and the candidate this attempt goes to.
pub(crate) fn target<B>(req: &Request<B>) -> Result<(&ParsedRequest, &Candidate), Error> {
    let parsed = req.parsed()?;
    let candidate = req.context()?.target()?;
    Ok((parsed, candidate))
}

/// The caller's own key for provider `id` (`Identity::provider_keys`, a
/// team's credentials), as a sensitive header value with `prefix` before it.
pub(crate) fn caller_key<B>(req: &Request<B>, id: &str, prefix: &str) -> Option<HeaderValue> {
    let key = req.context().ok()?.identity()?.provider_keys.get(id)?;
    let mut value = HeaderValue::try_from(format!("{prefix}{key}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// A 404 in the client's protocol: `endpoint` is not served by provider `id`.
pub(crate) fn unsupported(endpoint: Endpoint, id: &str, kind: &str) -> Response<Body> {
    Rejection::new(
        StatusCode::NOT_FOUND,
        ErrorType::NotFound,
        format!(
            "`{}` is not supported by provider `{id}` ({kind})",
            endpoint.path()
        ),
    )
    .code("unsupported_endpoint")
    .into_response(endpoint.protocol())
}
