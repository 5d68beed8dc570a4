//! The one pooled HTTP client every provider shares.

use std::sync::Arc;
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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 256,
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

pub(crate) type Direct = HyperClient<HttpsConnector<HttpConnector>, reqwest::Body>;

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
    let reqwest = reqwest::Client::builder()
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
    Ok(HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(opts.pool_idle_timeout)
        .pool_max_idle_per_host(opts.pool_max_idle_per_host)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

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
