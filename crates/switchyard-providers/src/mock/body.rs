//! [`Paced`]: prepared chunks sent one by one, with a pause between them.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

pin_project! {
    /// A body of prepared chunks: the first goes out at once, each next one
    /// `delay` after the previous. No task, no channel: the timer is polled
    /// by whoever reads the body.
    pub(super) struct Paced {
        chunks: VecDeque<Bytes>,
        delay: Duration,
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl Paced {
    pub(super) fn new(chunks: VecDeque<Bytes>, delay: Duration) -> Self {
        Paced {
            chunks,
            delay,
            sleep: None,
        }
    }
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let mut this = self.project();
        if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
            ready!(sleep.poll(cx));
            this.sleep.set(None);
        }
        let Some(chunk) = this.chunks.pop_front() else {
            return Poll::Ready(None);
        };
        if !this.chunks.is_empty() && !this.delay.is_zero() {
            // Created here, not in `new`, so the timer is the reader's runtime's.
            this.sleep.set(Some(tokio::time::sleep(*this.delay)));
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    use tokio::time::Instant;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn first_chunk_at_once_then_paced() {
        let chunks = [b"a", b"b", b"c"].map(|c| Bytes::from_static(c)).into();
        let mut body = std::pin::pin!(Paced::new(chunks, Duration::from_millis(20)));
        assert_eq!(body.size_hint().exact(), Some(3));
        let start = Instant::now();
        let mut seen = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            seen.push((data, start.elapsed().as_millis()));
        }
        assert_eq!(
            seen,
            [
                (Bytes::from_static(b"a"), 0),
                (Bytes::from_static(b"b"), 20),
                (Bytes::from_static(b"c"), 40)
            ]
        );
        assert!(body.is_end_stream());
    }
}
