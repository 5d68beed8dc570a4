//! The one pooled HTTP client every provider shares.

use std::time::Duration;

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

/// Builds the HTTP client shared by all providers.
///
/// rustls, `TCP_NODELAY`, no automatic decompression (bytes are forwarded
/// untouched), system proxies from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`,
/// and the user agent `switchyard/<version>`.
///
/// ```
/// let client = switchyard_providers::http_client(&Default::default()).unwrap();
/// # drop(client);
/// ```
pub fn http_client(opts: &ClientOptions) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(opts.connect_timeout)
        .pool_idle_timeout(opts.pool_idle_timeout)
        .pool_max_idle_per_host(opts.pool_max_idle_per_host)
        .tcp_nodelay(true)
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::internal("could not build the upstream HTTP client").with_source(e))
}
