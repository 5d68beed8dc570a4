//! The one pooled HTTP client every provider shares.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use switchyard_core::Error;

/// Settings of the shared upstream HTTP client.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time allowed to open a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per upstream host.
    pub pool_max_idle_per_host: usize,
    /// Speak HTTP/2 without negotiating it: h2c ("prior knowledge") to
    /// `http://` URLs, and only h2 to `https://` ones. Off, HTTP/2 is used
    /// where a TLS server offers it (ALPN) and HTTP/1.1 elsewhere.
    pub http2_prior_knowledge: bool,
    /// Requests one HTTP/2 connection carries at once before another is
    /// opened to the same upstream. hyper's pool puts every request to a
    /// host on one HTTP/2 connection, and a request beyond the server's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` waits there until a stream ends:
    /// for minutes, behind long streamed answers. Keep this at or below the
    /// servers' limit (100 is the least RFC 9113 recommends; nginx sends 128,
    /// hyper 200, Go 250).
    pub http2_max_streams: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 256,
            http2_prior_knowledge: false,
            http2_max_streams: 100,
        }
    }
}

/// The user agent sent upstream.
pub(crate) const USER_AGENT: &str = concat!("switchyard/", env!("CARGO_PKG_VERSION"));

/// The HTTP client shared by all providers.
///
/// Forwarded requests go straight to a pooled hyper client (rustls,
/// HTTP/1.1 and HTTP/2 by ALPN, `TCP_NODELAY`): the redirect and retry
/// layers reqwest adds (a URL parse and re-serialisation per request) are
/// of no use to a gateway, which passes an upstream's redirect on to its
/// client. When a proxy is configured in the environment (`HTTPS_PROXY`,
/// `HTTP_PROXY`, `ALL_PROXY`, any case) every request goes through reqwest,
/// which applies them with `NO_PROXY`. Side requests (token exchanges, model
/// discovery) always use reqwest ([`reqwest`](Self::reqwest)).
///
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    reqwest: reqwest::Client,
    direct: Option<Direct>,
}

type Hyper = HyperClient<HttpsConnector<HttpConnector>, reqwest::Body>;

/// The pooled hyper client, as shards: each its own pool, so its own
/// HTTP/2 connection per host. A request that may go over HTTP/2 takes a
/// [`Permit`] from the first shard carrying fewer than
/// [`http2_max_streams`](ClientOptions::http2_max_streams) such requests
/// (a new shard when all are full) and holds it until its answer ends; over
/// HTTP/1.1 it gives the permit back at the answer's head. Plain `http://`
/// without prior knowledge is always HTTP/1.1 and always uses the first
/// shard, without a permit.
#[derive(Clone)]
pub(crate) struct Direct(Arc<Shards>);

struct Shards {
    opts: ClientOptions,
    connector: HttpsConnector<HttpConnector>,
    /// The first of `list`, without its lock, for the HTTP/1.1-only requests.
    first: Arc<Shard>,
    list: RwLock<Vec<Arc<Shard>>>,
}

struct Shard {
    client: Hyper,
    /// Requests sent through this shard that may be HTTP/2 and have not ended.
    streams: AtomicUsize,
}

/// One request's place on a shard (see [`Direct`]); given back when dropped.
pub(crate) struct Permit(Arc<Shard>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shards = self.0.list.read().map_or(0, |l| l.len());
        f.debug_struct("Direct").field("shards", &shards).finish()
    }
}

impl Direct {
    /// Sends `request` through the shard it belongs on; the permit, if any,
    /// is to be kept for as long as the answer's body is read.
    pub(crate) async fn request(
        &self,
        request: http::Request<reqwest::Body>,
    ) -> Result<
        (http::Response<hyper::body::Incoming>, Option<Permit>),
        hyper_util::client::legacy::Error,
    > {
        let may_be_h2 = self.0.opts.http2_prior_knowledge
            || request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        if !may_be_h2 {
            return Ok((self.0.first.client.request(request).await?, None));
        }
        let permit = self.0.permit();
        let response = permit.0.client.request(request).await?;
        let permit = (response.version() == http::Version::HTTP_2).then_some(permit);
        Ok((response, permit))
    }

    /// Shards in use (for tests).
    #[cfg(test)]
    fn shards(&self) -> usize {
        self.0.list.read().map_or(0, |l| l.len())
    }
}

impl Shards {
    /// A place on the first shard with room, or on a new one.
    fn permit(&self) -> Permit {
        let max = self.opts.http2_max_streams.max(1);
        let take = |shard: &Arc<Shard>| {
            let taken = shard.streams.fetch_add(1, Ordering::AcqRel);
            if taken < max {
                return Some(Permit(shard.clone()));
            }
            shard.streams.fetch_sub(1, Ordering::AcqRel);
            None
        };
        if let Some(permit) = self
            .list
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find_map(take)
        {
            return permit;
        }
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        if let Some(permit) = list.iter().find_map(take) {
            return permit;
        }
        let shard = Arc::new(Shard {
            client: hyper_client(&self.opts, self.connector.clone()),
            streams: AtomicUsize::new(1),
        });
        list.push(shard.clone());
        tracing::debug!(
            shards = list.len(),
            "every HTTP/2 connection pool is full; opened another"
        );
        Permit(shard)
    }
}

impl HttpClient {
    /// The reqwest client, for requests other than forwarding.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.reqwest
    }

    /// The direct client, unless a proxy is configured.
    pub(crate) fn direct(&self) -> Option<&Direct> {
        self.direct.as_ref()
    }
}

/// Builds the HTTP client shared by all providers.
///
/// rustls, `TCP_NODELAY`, no automatic decompression (bytes are forwarded
/// untouched), redirects passed on rather than followed, system proxies from
/// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, and the user agent
/// `switchyard/<version>`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = switchyard_providers::http_client(&Default::default()).unwrap();
/// # drop(client);
/// # }
/// ```
pub fn http_client(opts: &ClientOptions) -> Result<HttpClient, Error> {
    let mut reqwest = reqwest::Client::builder();
    if opts.http2_prior_knowledge {
        reqwest = reqwest.http2_prior_knowledge();
    }
    let reqwest = reqwest
        .use_rustls_tls()
        .connect_timeout(opts.connect_timeout)
        .pool_idle_timeout(opts.pool_idle_timeout)
        .pool_max_idle_per_host(opts.pool_max_idle_per_host)
        .tcp_nodelay(true)
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::internal("could not build the upstream HTTP client").with_source(e))?;
    let direct = if proxy_configured(|name| std::env::var_os(name)) {
        None
    } else {
        Some(direct(opts)?)
    };
    Ok(HttpClient { reqwest, direct })
}

/// Whether the environment names a proxy (the variables reqwest reads).
fn proxy_configured(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .any(|name| var(name).is_some_and(|v| !v.is_empty()))
}

fn direct(opts: &ClientOptions) -> Result<Direct, Error> {
    let tls_error = |e: rustls::Error| {
        Error::internal("could not set up TLS for the upstream HTTP client").with_source(e)
    };
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(tls_error)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(opts.connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    let first = Arc::new(Shard {
        client: hyper_client(opts, https.clone()),
        streams: AtomicUsize::new(0),
    });
    Ok(Direct(Arc::new(Shards {
        opts: opts.clone(),
        connector: https,
        list: RwLock::new(vec![first.clone()]),
        first,
    })))
}

fn hyper_client(opts: &ClientOptions, https: HttpsConnector<HttpConnector>) -> Hyper {
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(opts.pool_idle_timeout)
        .pool_max_idle_per_host(opts.pool_max_idle_per_host)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .http2_only(opts.http2_prior_knowledge)
        .build(https)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_fill_a_shard_before_the_next_and_come_back() {
        let opts = ClientOptions {
            http2_max_streams: 2,
            ..ClientOptions::default()
        };
        let direct = direct(&opts).unwrap();
        let permits: Vec<Permit> = (0..5).map(|_| direct.0.permit()).collect();
        assert_eq!(direct.shards(), 3);
        let on = |p: &Permit| {
            direct
                .0
                .list
                .read()
                .unwrap()
                .iter()
                .position(|s| Arc::ptr_eq(s, &p.0))
        };
        let placed: Vec<_> = permits.iter().map(on).collect();
        assert_eq!(placed, [Some(0), Some(0), Some(1), Some(1), Some(2)]);
        drop(permits);
        let again: Vec<Permit> = (0..4).map(|_| direct.0.permit()).collect();
        assert_eq!(direct.shards(), 3, "places given back are taken again");
        let placed: Vec<_> = again.iter().map(on).collect();
        assert_eq!(placed, [Some(0), Some(0), Some(1), Some(1)]);
    }

    #[test]
    fn any_proxy_variable_sends_everything_through_reqwest() {
        assert!(!proxy_configured(|_| None));
        assert!(!proxy_configured(|_| Some("".into())));
        for name in ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"] {
            assert!(proxy_configured(
                |n| (n == name).then(|| "http://p:3128".into())
            ));
        }
        assert!(!proxy_configured(|n| (n == "NO_PROXY").then(|| "*".into())));
    }
}
