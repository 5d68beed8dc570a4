//! The recorder's response future: the head, the overhead header, failures.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::{InFlight, RecordedBody};
use crate::hooks::OnRecord;

pin_project! {
    /// The future of [`Recorder`](crate::Recorder).
    pub struct ResponseFuture<F, H>
    where
        H: OnRecord,
    {
        #[pin]
        fut: F,
        inflight: Option<Box<InFlight<H>>>,
    }
}

impl<F, H: OnRecord> ResponseFuture<F, H> {
    pub(crate) fn new(fut: F, inflight: Option<Box<InFlight<H>>>) -> Self {
        ResponseFuture { fut, inflight }
    }
}

impl<F, H, B, E> Future for ResponseFuture<F, H>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: std::error::Error + 'static,
    H: OnRecord,
    B: http_body::Body<Data = bytes::Bytes>,
{
    type Output = Result<Response<RecordedBody<B, H>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.fut.poll(cx));
        let inflight = this.inflight.take();
        Poll::Ready(match result {
            Ok(mut res) => {
                let inflight = inflight.map(|mut f| {
                    f.on_head(&mut res);
                    f
                });
                Ok(res.map(|body| RecordedBody::new(body, inflight)))
            }
            Err(e) => {
                if let Some(mut f) = inflight {
                    let core = (&e as &(dyn std::error::Error + 'static))
                        .downcast_ref::<switchyard_core::Error>();
                    f.failed(core.map(switchyard_core::Error::kind));
                }
                Err(e)
            }
        })
    }
}
