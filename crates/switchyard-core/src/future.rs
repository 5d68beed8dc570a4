//! [`LayerFuture`]: the future of a layer that either answers itself or awaits its inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    #[project = StateProj]
    enum State<F, T> {
        Inner {
            #[pin]
            fut: F,
        },
        Ready {
            res: Option<T>,
        },
    }
}

pin_project! {
    /// A layer's response future: the inner service's future, or an answer the
    /// layer gave itself (a rejection). No boxing on either path.
    pub struct LayerFuture<F, T> {
        #[pin]
        state: State<F, T>,
    }
}

impl<F, T> LayerFuture<F, T> {
    /// Awaits the inner service's future.
    pub fn inner(fut: F) -> Self {
        LayerFuture {
            state: State::Inner { fut },
        }
    }

    /// Answers with `res` at once.
    pub fn ready(res: T) -> Self {
        LayerFuture {
            state: State::Ready { res: Some(res) },
        }
    }
}

impl<F, T, E> Future for LayerFuture<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { fut } => fut.poll(cx),
            StateProj::Ready { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => {
                    tracing::error!("LayerFuture polled after completion");
                    Poll::Pending
                }
            },
        }
    }
}
