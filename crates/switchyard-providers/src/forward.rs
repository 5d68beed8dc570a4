//! Forwarding over HTTP: upstream request headers, the first-byte commit point,
//! the committed response body, and reqwest error mapping.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONNECTION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use switchyard_core::{Body, BoxError, Error};

use crate::client::HttpClient;

/// Response headers that describe one connection, not the message.
const HOP_BY_HOP: [HeaderName; 7] = [
    http::header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
    http::header::TE,
    http::header::TRAILER,
];

/// The headers sent upstream, built fresh: nothing of the client's leaks by default.
///
/// `content-type` when there is a body; the client's `accept`; `auth` if set,
/// else the client's own `authorization` (bring your own key); then `extra`,
/// which replaces any header of the same name.
pub(crate) fn upstream_headers(
    client: &HeaderMap,
    auth: Option<&HeaderValue>,
    extra: &[(HeaderName, HeaderValue)],
    has_body: bool,
) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(3 + extra.len());
    if has_body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(accept) = client.get(ACCEPT) {
        headers.insert(ACCEPT, accept.clone());
    }
    if let Some(auth) = auth.or_else(|| client.get(AUTHORIZATION)) {
        let mut auth = auth.clone();
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
    }
    for (name, _) in extra {
        headers.remove(name);
    }
    for (name, value) in extra {
        headers.append(name.clone(), value.clone());
    }
    headers
}

/// Removes hop-by-hop headers, including any the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    switchyard_core::remove_headers(headers, &HOP_BY_HOP);
}

/// Sends `request` and waits for the first frame of the answer's body, all
/// within `first_byte_timeout`: the commit point.
///
/// The response returned yields that frame, then the rest of the upstream
/// body as it arrives. Dropping the future or the body drops the upstream
/// request, which closes its connection.
pub(crate) async fn send(
    client: HttpClient,
    request: reqwest::Request,
    id: std::sync::Arc<str>,
    first_byte_timeout: Duration,
) -> Result<Response<Body>, Error> {
    let attempt = async {
        let (parts, mut body) = match client.direct() {
            Some(direct) => {
                let mut request = http::Request::<reqwest::Body>::try_from(request)
                    .map_err(|e| request_error(&id, e))?;
                // What reqwest would have added.
                let headers = request.headers_mut();
                headers
                    .entry(USER_AGENT)
                    .or_insert(HeaderValue::from_static(crate::client::USER_AGENT));
                headers
                    .entry(ACCEPT)
                    .or_insert(HeaderValue::from_static("*/*"));
                let (parts, body) = direct
                    .request(request)
                    .await
                    .map_err(|e| direct_error(&id, &e))?
                    .into_parts();
                (parts, Rest::Direct { body })
            }
            None => {
                let res = client
                    .reqwest()
                    .execute(request)
                    .await
                    .map_err(|e| request_error(&id, e))?;
                let (parts, body) = Response::<reqwest::Body>::from(res).into_parts();
                (parts, Rest::Reqwest { body })
            }
        };
        let first = body.frame().await.transpose().map_err(|e| {
            Error::upstream(format!("upstream `{id}` broke off its response")).with_source(e)
        })?;
        Ok::<_, Error>((parts, first, body))
    };
    let (parts, first, rest) = tokio::time::timeout(first_byte_timeout, attempt)
        .await
        .map_err(|_| {
            Error::timeout(format!(
                "upstream `{id}` sent no response within {}s",
                first_byte_timeout.as_secs_f64()
            ))
        })??;
    let body = match first {
        Some(first) => Body::new(Committed {
            first: Some(first),
            rest,
        }),
        None => Body::empty(),
    };
    let mut res = Response::new(body);
    *res.status_mut() = parts.status;
    *res.headers_mut() = parts.headers;
    strip_hop_by_hop(res.headers_mut());
    // The layers outside add a dozen headers (route, rate limits, usage,
    // request id ...): room for them at once rather than two regrowths.
    res.headers_mut().reserve(16);
    Ok(res)
}

/// Maps a reqwest failure to the core error kind; the message names the
/// provider, never its URL or key.
pub(crate) fn request_error(id: &str, e: reqwest::Error) -> Error {
    let e = e.without_url();
    let error = if e.is_timeout() && e.is_connect() {
        Error::timeout(format!("timed out connecting to upstream `{id}`"))
    } else if e.is_timeout() {
        Error::timeout(format!("upstream `{id}` timed out"))
    } else if e.is_connect() {
        Error::connect(format!("could not connect to upstream `{id}`"))
    } else if e.is_body() || e.is_decode() {
        Error::upstream(format!("upstream `{id}` broke off its response"))
    } else {
        Error::upstream(format!("the request to upstream `{id}` failed"))
    };
    error.with_source(e)
}

/// Maps a failure of the direct client like [`request_error`] does
/// reqwest's (the messages are the same).
fn direct_error(id: &str, e: &hyper_util::client::legacy::Error) -> Error {
    let timed_out = std::iter::successors(std::error::Error::source(e), |s| s.source()).any(|s| {
        s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    });
    let error = if e.is_connect() && timed_out {
        Error::timeout(format!("timed out connecting to upstream `{id}`"))
    } else if e.is_connect() {
        Error::connect(format!("could not connect to upstream `{id}`"))
    } else if timed_out {
        Error::timeout(format!("upstream `{id}` timed out"))
    } else {
        Error::upstream(format!("the request to upstream `{id}` failed"))
    };
    // The error's own text names the URL's host; keep only its cause.
    match std::error::Error::source(e) {
        Some(cause) => error.with_source(BoxError::from(cause.to_string())),
        None => error,
    }
}

/// The rest of an upstream body, from whichever client sent the request.
enum Rest {
    Direct { body: hyper::body::Incoming },
    Reqwest { body: reqwest::Body },
}

impl http_body::Body for Rest {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Rest::Direct { body } => Pin::new(body).poll_frame(cx).map_err(BoxError::from),
            Rest::Reqwest { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|e| BoxError::from(e.without_url())),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Rest::Direct { body } => body.is_end_stream(),
            Rest::Reqwest { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Rest::Direct { body } => body.size_hint(),
            Rest::Reqwest { body } => body.size_hint(),
        }
    }
}

/// An upstream body whose first frame was read at the commit point.
struct Committed {
    first: Option<Frame<Bytes>>,
    rest: Rest,
}

impl http_body::Body for Committed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let first = self
            .first
            .as_ref()
            .and_then(Frame::data_ref)
            .map_or(0, |d| d.len() as u64);
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}
