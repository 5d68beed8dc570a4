//! [`OpenAi`]: any OpenAI-compatible server.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::BodyExt;
use serde::Deserialize;
use switchyard_core::{Body, Endpoint, Error};
use tower::Service;

use crate::HttpClient;
use crate::{forward, request};

/// Configuration of an [`OpenAi`] provider.
///
/// `Debug` shows neither the API key nor the values of the extra headers.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// The provider's id, as routes name it.
    pub id: String,
    /// The API root including the version, like the OpenAI SDK's `base_url`:
    /// `https://api.openai.com/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>`; when unset, the client's own
    /// `authorization` header is forwarded (bring your own key).
    pub api_key: Option<String>,
    /// Extra headers sent with every request; they replace any of the same name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time from sending the request until the first frame of the
    /// answer's body arrives: the commit point. Past it the attempt fails as a
    /// timeout, even if the response headers came.
    pub first_byte_timeout: Duration,
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("headers", &header_names(&self.headers))
            .field("first_byte_timeout", &self.first_byte_timeout)
            .finish()
    }
}

fn header_names(headers: &[(HeaderName, HeaderValue)]) -> Vec<&str> {
    headers.iter().map(|(name, _)| name.as_str()).collect()
}

/// A provider for any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, LM Studio, ...).
///
/// Serves chat completions, completions, embeddings and the model list; other
/// endpoints are answered with a 404 in the client's protocol. The request body
/// is forwarded byte for byte unless the candidate's model differs from the
/// one asked for. Upstream HTTP errors pass through unchanged.
///
/// Cloning is cheap and shares the configuration and the HTTP client's pool.
#[derive(Clone)]
pub struct OpenAi {
    inner: Arc<Inner>,
}

struct Inner {
    id: Arc<str>,
    /// `base_url` without a trailing slash.
    base_url: String,
    auth: Auth,
    headers: Vec<(HeaderName, HeaderValue)>,
    first_byte_timeout: Duration,
    client: HttpClient,
    /// Each supported endpoint's URL, parsed once (`None`: it does not
    /// parse, and each request reports that).
    urls: Vec<(Endpoint, Option<forward::Target>)>,
}

/// How requests are authenticated upstream.
enum Auth {
    /// Forward the client's `authorization`.
    Passthrough,
    /// `Bearer <api_key>`, marked sensitive.
    Bearer(HeaderValue),
    /// The configured key cannot be a header value.
    Invalid,
}

enum Prepared {
    /// Answer without going upstream.
    Answer(Response<Body>),
    /// Send this upstream.
    Send(forward::Outbound),
}

/// The endpoints an OpenAI-compatible server serves.
const SUPPORTED: [Endpoint; 4] = [
    Endpoint::ChatCompletions,
    Endpoint::Completions,
    Endpoint::Embeddings,
    Endpoint::Models,
];

impl OpenAi {
    /// A provider sending requests through `client` (see [`http_client`](crate::http_client)).
    pub fn new(config: OpenAiConfig, client: HttpClient) -> Self {
        let auth = match &config.api_key {
            None => Auth::Passthrough,
            Some(key) => match HeaderValue::try_from(format!("Bearer {key}")) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    Auth::Bearer(value)
                }
                Err(_) => Auth::Invalid,
            },
        };
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        let urls = SUPPORTED
            .iter()
            .map(|&e| {
                (
                    e,
                    forward::uri(&config.id, &format!("{base_url}{}", e.suffix()))
                        .ok()
                        .map(forward::Target::new),
                )
            })
            .collect();
        OpenAi {
            inner: Arc::new(Inner {
                id: Arc::from(config.id),
                base_url,
                urls,
                auth,
                headers: config.headers,
                first_byte_timeout: config.first_byte_timeout,
                client,
            }),
        }
    }

    /// The provider's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// An active health check: `GET {base_url}{path}` with the provider's
    /// credentials, within `first_byte_timeout`; healthy on any 2xx.
    pub async fn probe(&self, path: &str) -> bool {
        let inner = &*self.inner;
        let Ok(auth) = inner.auth() else {
            return false;
        };
        let headers = forward::upstream_headers(&HeaderMap::new(), auth, &inner.headers, false);
        let url = format!("{}/{}", inner.base_url, path.trim_start_matches('/'));
        let Ok(uri) = forward::uri(&inner.id, &url) else {
            return false;
        };
        let request = forward::Target::new(uri).request(Method::GET, headers, Bytes::new());
        match forward::send(
            inner.client.clone(),
            request,
            inner.id.clone(),
            inner.first_byte_timeout,
        )
        .await
        {
            Ok(res) => res.status().is_success(),
            Err(e) => {
                tracing::debug!(provider = %inner.id, error = %e, "health probe failed");
                false
            }
        }
    }

    /// Lists the upstream's models (`GET {base_url}/models`), within `first_byte_timeout`.
    pub async fn list_models(&self) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct List {
            data: Vec<Model>,
        }
        #[derive(Deserialize)]
        struct Model {
            id: String,
        }

        let inner = &*self.inner;
        let id = &inner.id;
        let headers =
            forward::upstream_headers(&HeaderMap::new(), inner.auth()?, &inner.headers, false);
        let request = inner
            .target(Endpoint::Models)?
            .request(Method::GET, headers, Bytes::new());
        let fetch = async {
            let res = forward::send(
                inner.client.clone(),
                request,
                id.clone(),
                inner.first_byte_timeout,
            )
            .await?;
            if !res.status().is_success() {
                return Err(Error::upstream(format!(
                    "upstream `{id}` answered {} to GET /models",
                    res.status()
                )));
            }
            let body = res.into_body().collect().await.map_err(|e| {
                Error::upstream(format!("upstream `{id}` broke off its model list")).with_source(e)
            })?;
            serde_json::from_slice::<List>(&body.to_bytes()).map_err(|e| {
                Error::upstream(format!(
                    "upstream `{id}` sent a model list not in OpenAI's shape"
                ))
                .with_source(e)
            })
        };
        let list = tokio::time::timeout(inner.first_byte_timeout, fetch)
            .await
            .map_err(|_| {
                Error::timeout(format!(
                    "upstream `{id}` sent no model list within {}s",
                    inner.first_byte_timeout.as_secs_f64()
                ))
            })??;
        Ok(list.data.into_iter().map(|m| m.id).collect())
    }

    /// Everything `call` decides before going upstream.
    fn prepare<B>(&self, req: &Request<B>) -> Result<Prepared, Error> {
        let inner = &*self.inner;
        let (parsed, candidate) = request::target(req)?;
        let endpoint = parsed.endpoint();
        if !SUPPORTED.contains(&endpoint) {
            let res = request::unsupported(endpoint, &inner.id, "openai");
            return Ok(Prepared::Answer(res));
        }
        let has_body = endpoint.has_body();
        let team = request::caller_key(req, &inner.id, "Bearer ");
        let auth = match &team {
            Some(key) => Some(key),
            None => inner.auth()?,
        };
        let headers = forward::upstream_headers(req.headers(), auth, &inner.headers, has_body);
        let target = inner.target(endpoint)?;
        let body = if has_body {
            let mut parsed = parsed.clone();
            if let Err(rejection) = parsed.set_model(&candidate.model) {
                return Ok(Prepared::Answer(rejection.into_response(parsed.protocol())));
            }
            parsed.body()
        } else {
            Bytes::new()
        };
        Ok(Prepared::Send(target.request(
            endpoint.method(),
            headers,
            body,
        )))
    }
}

impl Inner {
    fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.base_url, endpoint.suffix())
    }

    /// The endpoint's target as made at construction (no parse per request),
    /// or made now if its URL did not parse then.
    fn target(&self, endpoint: Endpoint) -> Result<std::borrow::Cow<'_, forward::Target>, Error> {
        match self.urls.iter().find(|(e, _)| *e == endpoint) {
            Some((_, Some(target))) => Ok(std::borrow::Cow::Borrowed(target)),
            _ => forward::uri(&self.id, &self.url(endpoint))
                .map(|uri| std::borrow::Cow::Owned(forward::Target::new(uri))),
        }
    }

    fn auth(&self) -> Result<Option<&HeaderValue>, Error> {
        match &self.auth {
            Auth::Passthrough => Ok(None),
            Auth::Bearer(value) => Ok(Some(value)),
            Auth::Invalid => Err(Error::internal(format!(
                "the API key of provider `{}` is not a valid header value",
                self.id
            ))),
        }
    }
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let api_key = match inner.auth {
            Auth::Passthrough => None,
            Auth::Bearer(_) | Auth::Invalid => Some("<redacted>"),
        };
        f.debug_struct("OpenAi")
            .field("id", &inner.id)
            .field("base_url", &inner.base_url)
            .field("api_key", &api_key)
            .field("headers", &header_names(&inner.headers))
            .field("first_byte_timeout", &inner.first_byte_timeout)
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for OpenAi {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.prepare(&req) {
            Ok(Prepared::Send(request)) => {
                let inner = &*self.inner;
                Box::pin(forward::send(
                    inner.client.clone(),
                    request,
                    inner.id.clone(),
                    inner.first_byte_timeout,
                ))
            }
            Ok(Prepared::Answer(res)) => Box::pin(std::future::ready(Ok(res))),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}
