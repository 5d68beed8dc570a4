//! Serving: HTTP/1.1 and h2c on one listener with `TCP_NODELAY`, graceful
//! shutdown with a grace period.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Binds `addr`. Resolves host names; the error names the address.
pub async fn bind(addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on `{addr}`: {e}"))
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for up to `grace`.
///
/// HTTP/1.1 and HTTP/2 (prior knowledge, as h2c) on the same port, like
/// `axum::serve`, but the protocol is told from the connection's first bytes
/// here ([`sniff`]) and those bytes reach hyper together with the rest of the
/// first read. `axum::serve` hands hyper the 24 bytes it read to tell the
/// protocol in a read of their own, which makes hyper grow every
/// connection's 8 KiB read buffer to 16 KiB (a reallocation and a read call
/// per connection). A connection that has sent nothing yet when shutdown
/// begins is closed at once, as hyper does with an idle one.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    // Connections still waiting for their first bytes are not hyper's yet.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Nagle's algorithm would hold a streamed event back until the previous
        // one is acknowledged: ~40 ms late on a reused connection.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY failed");
        }
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(remote));
                req.map(axum::body::Body::new)
            },
        ));
        let watcher = graceful.watcher();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let sniffed = tokio::select! {
                sniffed = sniff(tcp) => sniffed,
                _ = stop.wait_for(|stopping| *stopping) => return,
            };
            let (version, io) = match sniffed {
                Ok(sniffed) => sniffed,
                Err(e) => {
                    tracing::trace!(error = %e, "connection closed before its first request");
                    return;
                }
            };
            let io = TokioIo::new(io);
            // hyper's own connection types rather than hyper-util's `auto`
            // one, whose future holds room for an HTTP/2 connection in
            // every HTTP/1 connection's task; the rare h2c one is boxed.
            let ended = match version {
                Version::Http1 => {
                    watcher
                        .watch(http1::Builder::new().serve_connection(io, service))
                        .await
                }
                Version::Http2 => {
                    let conn =
                        http2::Builder::new(TokioExecutor::new()).serve_connection(io, service);
                    Box::pin(watcher.watch(conn)).await
                }
            };
            if let Err(e) = ended {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down; draining in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("grace period over; closing remaining connections");
        }
    }
    Ok(())
}

/// An accept error: a connection gone before it was accepted is nothing; any
/// other (say, out of file descriptors) is logged and waited out for a
/// second, as hyper's and axum's servers do.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept error");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The connection preface of HTTP/2 with prior knowledge.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Http1,
    Http2,
}

/// Reads a connection's first bytes until they are HTTP/2's preface or cannot
/// be: an HTTP/1 request differs from it by its first byte or, at worst, by
/// its sixth (`PRI *` is not a method anyone sends over HTTP/1).
async fn sniff(mut tcp: TcpStream) -> std::io::Result<(Version, Sniffed)> {
    use tokio::io::AsyncReadExt;
    let mut read = [0u8; 24];
    let mut len = 0;
    let version = loop {
        if read[..len] != H2_PREFACE[..len] {
            break Version::Http1;
        }
        if len == H2_PREFACE.len() {
            break Version::Http2;
        }
        let n = tcp.read(&mut read[len..]).await?;
        if n == 0 {
            // Closed mid-preface: HTTP/1 says so to the client, if anything.
            break Version::Http1;
        }
        len += n;
    };
    Ok((
        version,
        Sniffed {
            read,
            start: 0,
            end: len,
            tcp,
        },
    ))
}

pin_project_lite::pin_project! {
    /// A connection whose first bytes were read by [`sniff`]: a read returns
    /// them followed by whatever the socket has ready, in one go.
    struct Sniffed {
        read: [u8; 24],
        start: usize,
        end: usize,
        #[pin]
        tcp: TcpStream,
    }
}

impl AsyncRead for Sniffed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        if *this.start == *this.end {
            return this.tcp.poll_read(cx, buf);
        }
        let n = (*this.end - *this.start).min(buf.remaining());
        buf.put_slice(&this.read[*this.start..*this.start + n]);
        *this.start += n;
        if *this.start == *this.end && buf.remaining() > 0 {
            // The rest of what has arrived, if any: the bytes above are
            // returned either way (an error shows again on the next read).
            let _ = this.tcp.poll_read(cx, buf);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Sniffed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.project().tcp.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.project().tcp.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().tcp.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().tcp.poll_shutdown(cx)
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
