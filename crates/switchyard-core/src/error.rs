//! Errors: infrastructure failures inside the stack ([`Error`]) and rejections
//! answered to the client in its own protocol's shape ([`Rejection`]).

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::body::BoxError;
use crate::protocol::Protocol;

/// What went wrong, for failures Switchyard itself produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The upstream could not be reached (DNS, refused, TLS, proxy).
    Connect,
    /// The upstream did not answer in time.
    Timeout,
    /// The upstream answered something that is not HTTP we can forward.
    Upstream,
    /// No candidate could serve the request.
    Unavailable,
    /// A bug or a misassembled stack (a layer's input is missing).
    Internal,
}

impl ErrorKind {
    /// A short stable name, used as the `code` of error bodies and in journals.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "upstream_connect",
            ErrorKind::Timeout => "upstream_timeout",
            ErrorKind::Upstream => "upstream_error",
            ErrorKind::Unavailable => "no_upstream_available",
            ErrorKind::Internal => "gateway_internal",
        }
    }

    /// The HTTP status answered to the client.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Connect | ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether another attempt (on this or another candidate) may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Upstream
        )
    }
}

/// An infrastructure failure inside the stack: a kind, a message and a source.
///
/// The outermost layer ([`CatchLayer`](crate::CatchLayer)) turns it into a
/// `gateway_error` response in the client's protocol.
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    source: Option<BoxError>,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The upstream could not be reached.
    pub fn connect(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Connect, message)
    }

    /// The upstream did not answer in time.
    pub fn timeout(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Timeout, message)
    }

    /// The upstream broke the protocol.
    pub fn upstream(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Upstream, message)
    }

    /// No candidate could serve the request.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Unavailable, message)
    }

    /// A bug or a misassembled stack.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// The message shown to the client (never contains secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The rejection this error becomes at the edge of the stack.
    pub fn to_rejection(&self) -> Rejection {
        Rejection::new(
            self.kind.status(),
            ErrorType::Gateway,
            self.message.clone().into_owned(),
        )
        .code(self.kind.as_str())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// The class of a rejection, mapped to each protocol's own error `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorType {
    /// The request is malformed (400, 405, 422).
    InvalidRequest,
    /// The key is missing or wrong (401).
    Authentication,
    /// The key may not do this (403).
    PermissionDenied,
    /// Unknown model or path (404).
    NotFound,
    /// Body over the limit (413).
    RequestTooLarge,
    /// A rate limit or budget was hit (429).
    RateLimit,
    /// A failure Switchyard itself produced (5xx): `gateway_error`.
    Gateway,
}

impl ErrorType {
    /// The error `type` string in the given protocol.
    pub fn as_str(self, protocol: Protocol) -> &'static str {
        match (self, protocol) {
            (ErrorType::InvalidRequest, _) => "invalid_request_error",
            (ErrorType::Authentication, _) => "authentication_error",
            (ErrorType::PermissionDenied, Protocol::OpenAi) => "permission_denied",
            (ErrorType::PermissionDenied, Protocol::Anthropic) => "permission_error",
            (ErrorType::NotFound, Protocol::OpenAi) => "invalid_request_error",
            (ErrorType::NotFound, Protocol::Anthropic) => "not_found_error",
            (ErrorType::RequestTooLarge, Protocol::OpenAi) => "invalid_request_error",
            (ErrorType::RequestTooLarge, Protocol::Anthropic) => "request_too_large",
            (ErrorType::RateLimit, Protocol::OpenAi) => "rate_limit_exceeded",
            (ErrorType::RateLimit, Protocol::Anthropic) => "rate_limit_error",
            (ErrorType::Gateway, _) => "gateway_error",
        }
    }
}

/// A refusal answered to the client in its own protocol's error shape.
///
/// OpenAI: `{"error":{"message","type","param","code"}}`;
/// Anthropic: `{"type":"error","error":{"type","message"}}`.
///
/// ```
/// use switchyard_core::{ErrorType, Protocol, Rejection};
/// let res: http::Response<bytes::Bytes> =
///     Rejection::new(http::StatusCode::NOT_FOUND, ErrorType::NotFound, "model `x` not found")
///         .code("model_not_found")
///         .into_response(Protocol::Anthropic);
/// assert_eq!(res.status(), 404);
/// let v: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
/// assert_eq!(v["error"]["type"], "not_found_error");
/// ```
#[derive(Clone, Debug)]
pub struct Rejection {
    status: StatusCode,
    error_type: ErrorType,
    message: String,
    param: Option<String>,
    code: Option<Cow<'static, str>>,
    retry_after: Option<u64>,
}

impl Rejection {
    /// A rejection with a status, a class and a message for the client.
    pub fn new(status: StatusCode, error_type: ErrorType, message: impl Into<String>) -> Self {
        Rejection {
            status,
            error_type,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request_error`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Rejection::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message)
    }

    /// Names the request field at fault (OpenAI's `param`).
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// A machine-readable code (OpenAI's `code`).
    pub fn code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Adds a `Retry-After` header, in seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON error body in the given protocol's shape.
    pub fn to_json(&self, protocol: Protocol) -> serde_json::Value {
        let ty = self.error_type.as_str(protocol);
        match protocol {
            Protocol::OpenAi => serde_json::json!({
                "error": {
                    "message": self.message,
                    "type": ty,
                    "param": self.param,
                    "code": self.code,
                }
            }),
            Protocol::Anthropic => serde_json::json!({
                "type": "error",
                "error": { "type": ty, "message": self.message },
            }),
        }
    }

    /// Builds the response, with any body type that can be made from `Bytes`.
    pub fn into_response<B: From<Bytes>>(self, protocol: Protocol) -> Response<B> {
        let body = Bytes::from(self.to_json(protocol).to_string());
        let mut res = Response::new(B::from(body));
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<&Error> for Rejection {
    fn from(e: &Error) -> Self {
        e.to_rejection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape() {
        let r = Rejection::bad_request("bad").param("messages");
        let v = r.to_json(Protocol::OpenAi);
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "messages");
        assert_eq!(v["error"]["message"], "bad");
        assert!(v["error"]["code"].is_null());
    }

    #[test]
    fn gateway_errors_are_gateway_error() {
        let e = Error::timeout("upstream `a` sent no response within 5s");
        let res: Response<Bytes> = e.to_rejection().into_response(Protocol::Anthropic);
        assert_eq!(res.status(), 504);
        let v: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "gateway_error");
        let res: Response<Bytes> = Error::connect("refused")
            .to_rejection()
            .into_response(Protocol::OpenAi);
        assert_eq!(res.status(), 502);
        let v: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(v["error"]["type"], "gateway_error");
        assert_eq!(v["error"]["code"], "upstream_connect");
    }

    #[test]
    fn retry_after_header() {
        let res: Response<Bytes> =
            Rejection::new(StatusCode::TOO_MANY_REQUESTS, ErrorType::RateLimit, "slow")
                .retry_after(7)
                .into_response(Protocol::OpenAi);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
    }
}
