//! Serving: listener with `TCP_NODELAY`, graceful shutdown with a grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

/// Binds `addr`. Resolves host names; the error names the address.
pub async fn bind(addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on `{addr}`: {e}"))
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for up to `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    // Nagle's algorithm would hold a streamed event back until the previous
    // one is acknowledged: ~40 ms late on a reused connection.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY failed");
        }
    });
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let deadline = async move {
        let _ = rx.wait_for(|stopping| *stopping).await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down; draining in-flight requests"
        );
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = server => r,
        () = deadline => {
            tracing::warn!("grace period over; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
///
/// The handlers are registered when this is called, not when the future is
/// first polled: call it before announcing that the server is ready, or a
/// signal sent right after the announcement meets the default action (exit).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
