//! What every provider reads from a request, and the answer to an endpoint it does not serve.

use http::{Request, Response, StatusCode};
use switchyard_core::{
    Body, Candidate, Endpoint, Error, ErrorType, ParsedRequest, Rejection, RequestExt,
};

/// The parsed body and the candidate this attempt goes to.
pub(crate) fn target<B>(req: &Request<B>) -> Result<(&ParsedRequest, &Candidate), Error> {
    let parsed = req.parsed()?;
    let candidate = req.context()?.target()?;
    Ok((parsed, candidate))
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
