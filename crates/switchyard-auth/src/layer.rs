//! [`AuthLayer`] and its service [`Auth`].

use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use switchyard_core::{
    Endpoint, ErrorType, Identity, LayerFuture, Protocol, Rejection, RequestExt,
};
use tower::{Layer, Service};

use crate::keys::{KeyIndex, VirtualKey};
use crate::secret::KeyHash;
use crate::store::KeyStore;

/// The headers a client may send its key in, in the order they are read.
pub const KEY_HEADERS: [HeaderName; 3] = [
    AUTHORIZATION,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("x-goog-api-key"),
];

/// How callers are authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// No key needed (local use); client credentials pass through to providers.
    Open,
    /// One gateway key.
    Key,
    /// Virtual keys, each standing for an identity (and the gateway key, if set).
    VirtualKeys,
}

impl AuthMode {
    /// `open`, `key` or `virtual_keys`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Open => "open",
            AuthMode::Key => "key",
            AuthMode::VirtualKeys => "virtual_keys",
        }
    }
}

/// The identity of open mode: nobody in particular, no limits.
static ANONYMOUS: LazyLock<Arc<Identity>> = LazyLock::new(|| Arc::new(Identity::default()));

/// The identity of the single gateway key.
static GATEWAY: LazyLock<Arc<Identity>> = LazyLock::new(|| {
    Arc::new(Identity {
        key_id: Some("gateway".into()),
        ..Identity::default()
    })
});

/// Authenticates each request by its key and writes the caller's
/// [`Identity`] into the `RequestContext`, or answers 401/403 in the
/// client's protocol.
///
/// The key is read from `Authorization: Bearer`, `x-api-key` or
/// `x-goog-api-key`, hashed (SHA-256) and looked up in the configured keys,
/// then in the run-time [`KeyStore`]; digests compare in constant time.
/// Once accepted, those headers are removed, so a gateway key never reaches
/// a provider.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use switchyard_auth::{AuthLayer, KeyIndex, KeySpec, Origin, VirtualKey};
/// use switchyard_core::{ParseLayer, RequestExt};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let key = VirtualKey::from_spec(
///     KeySpec { id: "team-a".into(), key: Some("sk-team-a-secret".into()),
///               models: vec!["gpt-4o*".into()], ..KeySpec::default() },
///     Origin::Config,
/// ).unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new())
///     .layer(AuthLayer::virtual_keys(KeyIndex::new([key]).unwrap()))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         let who = req.context().unwrap().identity().unwrap().key_id.clone().unwrap();
///         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(who))))
///     });
/// let req = |key: &str, model: &str| http::Request::post("/v1/chat/completions")
///     .header("authorization", format!("Bearer {key}"))
///     .body(Full::new(Bytes::from(format!(r#"{{"model":"{model}","messages":[]}}"#))))
///     .unwrap();
/// let res = svc.clone().oneshot(req("sk-team-a-secret", "gpt-4o-mini")).await.unwrap();
/// assert_eq!(res.status(), 200);
/// assert_eq!(svc.clone().oneshot(req("sk-wrong-key", "gpt-4o-mini")).await.unwrap().status(), 401);
/// assert_eq!(svc.clone().oneshot(req("sk-team-a-secret", "claude-3")).await.unwrap().status(), 403);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct AuthLayer {
    mode: AuthMode,
    gateway: Option<KeyHash>,
    keys: Arc<KeyIndex>,
    store: Option<KeyStore>,
}

impl AuthLayer {
    /// No key needed.
    pub fn open() -> Self {
        AuthLayer {
            mode: AuthMode::Open,
            gateway: None,
            keys: Arc::default(),
            store: None,
        }
    }

    /// One gateway key, given as plaintext.
    pub fn key(key: &str) -> Self {
        AuthLayer::key_hash(KeyHash::of(key))
    }

    /// One gateway key, given as its digest.
    pub fn key_hash(hash: KeyHash) -> Self {
        AuthLayer {
            mode: AuthMode::Key,
            gateway: Some(hash),
            ..AuthLayer::open()
        }
    }

    /// Virtual keys from `keys` (add run-time ones with [`store`](Self::store)).
    pub fn virtual_keys(keys: KeyIndex) -> Self {
        AuthLayer {
            mode: AuthMode::VirtualKeys,
            keys: Arc::new(keys),
            ..AuthLayer::open()
        }
    }

    /// Also accepts the gateway key (in virtual-keys mode: a key without limits).
    pub fn gateway_key(mut self, hash: KeyHash) -> Self {
        self.gateway = Some(hash);
        self
    }

    /// Also looks keys up in `store` (keys created at run time).
    pub fn store(mut self, store: KeyStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The keys from configuration.
    pub fn keys(&self) -> &Arc<KeyIndex> {
        &self.keys
    }

    /// Who `headers` authenticate as, or the refusal (never naming the key tried).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Rejection> {
        if self.mode == AuthMode::Open {
            return Ok(Caller::Anonymous);
        }
        let Some(given) = presented(headers) else {
            return Err(refuse(
                "missing",
                "missing API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`",
            ));
        };
        let hash = KeyHash::of(given);
        if self.gateway.as_ref() == Some(&hash) {
            return Ok(Caller::Gateway);
        }
        if self.mode == AuthMode::VirtualKeys {
            if let Some(key) = self.keys.get(&hash) {
                return Ok(Caller::Key(key.clone()));
            }
            if let Some(key) = self
                .store
                .as_ref()
                .and_then(|s| s.index().get(&hash).cloned())
            {
                return Ok(Caller::Key(key));
            }
        }
        Err(refuse("invalid", "invalid API key"))
    }

    fn admit<B>(&self, req: &mut Request<B>) -> Result<(), Rejection> {
        let caller = self.authenticate(req.headers())?;
        if self.mode != AuthMode::Open {
            switchyard_core::remove_headers(req.headers_mut(), &KEY_HEADERS);
        }
        let (identity, key) = match caller {
            Caller::Anonymous => (ANONYMOUS.clone(), None),
            Caller::Gateway => (GATEWAY.clone(), None),
            Caller::Key(key) => (key.identity().clone(), Some(key)),
        };
        if let Ok(ctx) = req.context_mut() {
            ctx.set_shared_identity(identity);
        }
        // A refused model is journaled under the key that asked for it.
        if let Some(key) = key
            && let Ok(parsed) = req.parsed()
            && let Some(model) = parsed.model()
            && !key.allows(model)
        {
            metrics::counter!("switchyard_auth_rejected_total", "reason" => "model").increment(1);
            return Err(Rejection::new(
                StatusCode::FORBIDDEN,
                ErrorType::PermissionDenied,
                format!("key `{}` may not use model `{model}`", key.id()),
            )
            .code("model_not_allowed")
            .param("model"));
        }
        Ok(())
    }
}

/// Who a request authenticated as.
#[derive(Clone, Debug)]
pub enum Caller {
    /// Open mode: nobody in particular.
    Anonymous,
    /// The single gateway key.
    Gateway,
    /// A virtual key.
    Key(Arc<VirtualKey>),
}

fn refuse(reason: &'static str, message: &'static str) -> Rejection {
    metrics::counter!("switchyard_auth_rejected_total", "reason" => reason).increment(1);
    tracing::debug!(reason, "request refused: no valid API key");
    Rejection::new(StatusCode::UNAUTHORIZED, ErrorType::Authentication, message)
        .code("invalid_api_key")
}

/// The key the client sent: the first non-empty of `Authorization: Bearer`, `x-api-key`, `x-goog-api-key`.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        });
    let other = || {
        KEY_HEADERS[1..].iter().find_map(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        })
    };
    bearer.filter(|v| !v.is_empty()).or_else(other)
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> Auth<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for Auth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future, Response<ResBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match self.layer.admit(&mut req) {
            Ok(()) => LayerFuture::inner(self.inner.call(req)),
            Err(rejection) => {
                let protocol = Endpoint::from_path(req.uri().path())
                    .map(Endpoint::protocol)
                    .unwrap_or(Protocol::OpenAi);
                let unauthorized = rejection.status() == StatusCode::UNAUTHORIZED;
                let mut res: Response<ResBody> = rejection.into_response(protocol);
                if unauthorized {
                    res.headers_mut()
                        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                LayerFuture::ready(res)
            }
        }
    }
}
