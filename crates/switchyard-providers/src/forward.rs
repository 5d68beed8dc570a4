//! Forwarding over HTTP: upstream request headers, the first-byte commit point,
//! the committed response body, and reqwest error mapping.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, Uri};
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
    // Room for what is added later too (`host`, `user-agent`, and the
    // `content-length` hyper writes into the map): no regrowth on the way.
    let mut headers = HeaderMap::with_capacity(6 + extra.len());
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

/// A request for an upstream, as the direct client sends it.
pub(crate) type Outbound = http::Request<reqwest::Body>;

/// An upstream's URI and the `Host` header for it, when that is ours to set.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    uri: Uri,
    host: Option<HeaderValue>,
}

impl Target {
    /// The target at `uri`.
    ///
    /// For plain `http` (always HTTP/1) the `Host` header is made here, once
    /// per target where it is kept: the pooling client formats it for every
    /// request otherwise (~2,200 instructions). As it would: host and port,
    /// the port only when not the default. Over TLS, ALPN picks the protocol
    /// and HTTP/2 carries the authority itself; the client is left to it.
    pub(crate) fn new(uri: Uri) -> Target {
        let host = uri
            .authority()
            .filter(|a| {
                uri.scheme() == Some(&http::uri::Scheme::HTTP)
                    && !a.as_str().contains('@')
                    && a.port_u16() != Some(80)
            })
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok());
        Target { uri, host }
    }

    /// A request to this target: `method` with `headers` and `body`.
    pub(crate) fn request(
        &self,
        method: Method,
        mut headers: HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> Outbound {
        if let Some(host) = &self.host {
            headers.entry(HOST).or_insert_with(|| host.clone());
        }
        let mut request = http::Request::new(body.into());
        *request.method_mut() = method;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = headers;
        request
    }
}

/// The URI of upstream `url`.
///
/// An absolute URL that is already a valid URI in normal form is taken as it
/// stands (~1,000 instructions). Anything else (a space or non-ASCII text in
/// a model name, an upper-case scheme, a default port written out, a dot
/// segment) is normalised by the WHATWG URL parser first, as reqwest did for
/// every request (~10,000 instructions with its IDNA pass), so the bytes sent
/// are the same as before.
pub(crate) fn uri(id: &str, url: &str) -> Result<Uri, Error> {
    if let Ok(uri) = Uri::try_from(url)
        && normal(&uri)
    {
        return Ok(uri);
    }
    let invalid = || Error::upstream(format!("the request to upstream `{id}` failed"));
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid().with_source(e))?;
    Uri::try_from(parsed.as_str()).map_err(|e| invalid().with_source(e))
}

/// Whether the URL parser would leave `uri` as it stands: `http` or
/// `https`; a host of lower-case ASCII labels (no punycode) or a dotted quad
/// in canonical form, without user info or its scheme's default port; a
/// path and query of characters it does not escape, without dot segments.
fn normal(uri: &Uri) -> bool {
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return false,
    };
    let (Some(authority), Some(pq)) = (uri.authority(), uri.path_and_query()) else {
        return false;
    };
    if authority.as_str().contains('@') || authority.port_u16() == Some(default_port) {
        return false;
    }
    // `host:port` with the port in canonical form (the parser drops an empty
    // port and leading zeros).
    let port = authority.port();
    let port = port.as_ref().map(|p| p.as_str());
    let canonical_port = port.is_none_or(|p| p == "0" || !p.starts_with('0'));
    let spelled = authority.host().len() + port.map_or(0, |p| 1 + p.len());
    canonical_port
        && authority.as_str().len() == spelled
        && normal_host(authority.host())
        && normal_path_and_query(pq.as_str().as_bytes())
}

/// Lower-case labels of letters, digits and `-`, none empty, no punycode;
/// when the last is a number (an IPv4 address to the parser), a canonical
/// dotted quad.
fn normal_host(host: &str) -> bool {
    let b = host.as_bytes();
    let chars = b
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
    if !chars
        || b.is_empty()
        || b[0] == b'.'
        || b[b.len() - 1] == b'.'
        || b.windows(2).any(|w| w == b"..")
        || host.contains("xn--")
    {
        return false;
    }
    let numeric = |l: &str| l.bytes().all(|c| c.is_ascii_digit());
    if !host.rsplit('.').next().is_some_and(numeric) {
        return true;
    }
    let mut labels = 0;
    let canonical = host.split('.').all(|l| {
        labels += 1;
        numeric(l) && (l == "0" || !l.starts_with('0')) && l.parse::<u8>().is_ok()
    });
    canonical && labels == 4
}

/// Bytes the URL parser keeps as they are in a path and query, a table.
const KEPT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric();
        c += 1;
    }
    let extra = b"-._~!$&()*+,;=:@/%?";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

/// An absolute path (and query) of kept bytes, with no `%2e` and no `.` or
/// `..` segment in the path.
fn normal_path_and_query(b: &[u8]) -> bool {
    let path = match b.iter().position(|&c| c == b'?') {
        Some(q) => &b[..q],
        None => b,
    };
    b.first() == Some(&b'/')
        && b.iter().all(|&c| KEPT[usize::from(c)])
        && (!b.contains(&b'%')
            || !b
                .windows(3)
                .any(|w| w[0] == b'%' && w[1] == b'2' && w[2] | 0x20 == b'e'))
        && !path.split(|&c| c == b'/').any(|s| s == b"." || s == b"..")
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
    mut request: Outbound,
    id: std::sync::Arc<str>,
    first_byte_timeout: Duration,
) -> Result<Response<Body>, Error> {
    let attempt = async {
        let (parts, mut body) = match client.direct() {
            Some(direct) => {
                // What reqwest would have added.
                let headers = request.headers_mut();
                headers
                    .entry(USER_AGENT)
                    .or_insert(HeaderValue::from_static(crate::client::USER_AGENT));
                headers
                    .entry(ACCEPT)
                    .or_insert(HeaderValue::from_static("*/*"));
                let (response, permit) = direct
                    .request(request)
                    .await
                    .map_err(|e| direct_error(&id, &e))?;
                let (parts, body) = response.into_parts();
                (parts, Rest::Direct { body, permit })
            }
            None => {
                let request =
                    reqwest::Request::try_from(request).map_err(|e| request_error(&id, e))?;
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
    Direct {
        body: hyper::body::Incoming,
        /// The request's place on an HTTP/2 connection, until the body ends.
        permit: Option<crate::client::Permit>,
    },
    Reqwest {
        body: reqwest::Body,
    },
}

impl http_body::Body for Rest {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Rest::Direct { body, permit } => {
                let frame = ready!(Pin::new(body).poll_frame(cx));
                if !matches!(frame, Some(Ok(_))) {
                    // The stream is over: its place is free.
                    permit.take();
                }
                Poll::Ready(frame.map(|f| f.map_err(BoxError::from)))
            }
            Rest::Reqwest { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|e| BoxError::from(e.without_url())),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Rest::Direct { body, .. } => body.is_end_stream(),
            Rest::Reqwest { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Rest::Direct { body, .. } => body.size_hint(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What reqwest sent for `url`: the WHATWG parse, as a URI.
    fn reqwest_uri(url: &str) -> Option<String> {
        let parsed = reqwest::Url::parse(url).ok()?;
        Uri::try_from(parsed.as_str()).ok().map(|u| u.to_string())
    }

    #[test]
    fn upstream_uris_are_what_the_url_parser_made_of_them() {
        let urls = [
            "http://127.0.0.1:8080/v1/chat/completions",
            "https://api.openai.com/v1/chat/completions",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            "https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
            "http://localhost:11434/api/chat",
            "http://localhost",
            "https://API.Example.com/v1/x",
            "HTTPS://api.example.com/v1/x",
            "https://api.example.com:443/v1/x",
            "http://api.example.com:80/v1/x",
            "http://api.example.com:8443/v1/x",
            "http://127.1/v1",
            "http://127.000.0.1/v1",
            "http://0x7f.0.0.1/v1",
            "http://[::1]:8080/v1",
            "http://[0:0:0:0:0:0:0:1]/v1",
            "https://user:pass@api.example.com/v1",
            "https://api.example.com/v1/models/my model:generateContent",
            "https://api.example.com/v1/models/caf\u{e9}:generateContent",
            "https://b\u{fc}cher.example/v1",
            "https://xn--bcher-kva.example/v1",
            "https://api.example.com/v1/./models/../x",
            "https://api.example.com/v1/%2e%2E/x",
            "https://api.example.com/v1/a%2fb",
            "https://api.example.com/v1/x?q='a'",
            "https://api.example.com/v1/x?q=\"a\"",
            "https://api.example.com/v1/{x}|y",
            "https://api.example.com/v1/x#frag",
            "https://api.example.com/v1\\x",
            "https://api.example.com./v1",
            "https://a..b/v1",
            "https://api.example.com/v1/x;y=1,z(2)*$!~",
            "https://api.example.com/v1/a%zz?q=%ZZ&r=%41",
            "https://api.example.com/v1//x",
            "http://api.example.com:08080/v1",
            "http://api.example.com:/v1",
            "http://api.example.com:65536/v1",
            "http://api_x.example.com/v1",
            "http://1.2.3/v1",
            "http://1.2.3.4.5/v1",
            "http://256.1.1.1/v1",
            "http://01.2.3.4/v1",
            "http://example.123/v1",
            "http://h.example/v1?",
            "http://h.example?x=1",
            "http://h.example/v1/%2F%2f?a=b=c&&d",
            "http://h.example/v1/.hidden/..x/x..",
            "ftp://api.example.com/v1",
            "not a url",
            "/v1/relative",
        ];
        for url in urls {
            let ours = uri("p", url).ok().map(|u| u.to_string());
            assert_eq!(ours, reqwest_uri(url), "{url}");
            if let Ok(u) = Uri::try_from(url)
                && normal(&u)
            {
                // The fast path only takes what the parser leaves as it is.
                assert_eq!(Some(u.to_string()), reqwest_uri(url), "{url}");
            }
        }
        let fast = |url: &str| Uri::try_from(url).is_ok_and(|u| normal(&u));
        assert!(fast("http://127.0.0.1:8080/v1/chat/completions"));
        assert!(fast(urls[2]) && fast(urls[3]) && fast(urls[4]));
    }

    #[test]
    fn the_host_header_is_set_for_plain_http_as_the_pooling_client_would() {
        let host = |url: &str| {
            let target = Target::new(Uri::try_from(url).unwrap());
            let req = target.request(Method::POST, HeaderMap::new(), Bytes::new());
            assert_eq!(req.uri().to_string(), url);
            req.headers()
                .get(HOST)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            host("http://127.0.0.1:8080/v1/x").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(host("http://localhost/v1/x").as_deref(), Some("localhost"));
        assert_eq!(
            host("http://[::1]:11434/api/chat").as_deref(),
            Some("[::1]:11434")
        );
        // Left to the client: the default port written out, user info, TLS.
        assert_eq!(host("http://localhost:80/v1/x"), None);
        assert_eq!(host("http://u:p@localhost:8080/v1/x"), None);
        assert_eq!(host("https://api.openai.com/v1/x"), None);
        // A configured Host header wins.
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("proxy.internal"));
        let target = Target::new(Uri::from_static("http://127.0.0.1:9/v1"));
        let req = target.request(Method::GET, headers, Bytes::new());
        assert_eq!(req.headers()[HOST], "proxy.internal");
        assert_eq!(req.headers().get_all(HOST).iter().count(), 1);
    }

    #[test]
    fn a_bad_url_is_an_upstream_error_naming_the_provider_only() {
        let e = uri("acme", "http://exa mple.com/v1").unwrap_err();
        assert!(e.to_string().contains("`acme`"), "{e}");
        assert!(!e.to_string().contains("exa mple"), "{e}");
    }
}
