//! [`RecorderLayer`]: configuration of the recorder.

use tower::Layer;

use crate::defer::Finisher;
use crate::hooks::OnRecord;
use crate::service::Recorder;

/// Records every exchange and hands the [`Record`](crate::Record) to hooks.
///
/// Sits just inside `ParseLayer`. See the [crate documentation](crate) for an
/// example and the behaviour.
#[derive(Clone, Debug)]
pub struct RecorderLayer<H = ()> {
    pub(crate) hooks: H,
    pub(crate) max_body_bytes: usize,
    pub(crate) finisher: Option<Finisher>,
}

impl RecorderLayer<()> {
    /// A recorder with no hooks yet.
    pub fn new() -> Self {
        RecorderLayer {
            hooks: (),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            finisher: None,
        }
    }
}

impl Default for RecorderLayer<()> {
    fn default() -> Self {
        RecorderLayer::new()
    }
}

impl<H> RecorderLayer<H> {
    /// Bodies and answer text kept per record by default: 64 KiB each.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 10;

    /// Sets the hooks (a tuple of hooks calls each).
    pub fn hooks<H2: OnRecord>(self, hooks: H2) -> RecorderLayer<H2> {
        RecorderLayer {
            hooks,
            max_body_bytes: self.max_body_bytes,
            finisher: self.finisher,
        }
    }

    /// Finishes each record just after the answer's last frame was handed to
    /// the server, on one background task of the runtime, instead of inside
    /// that last poll (default `false`).
    ///
    /// The end of an answer then reaches the client without waiting for the
    /// record to be built and the hooks to run; `on_complete` runs a moment
    /// after the body ended (on the next turn of the runtime), not before
    /// its last poll returns. Records never get lost: with no runtime, or
    /// more than 4096 waiting, they finish inline, and [`flush`](Self::flush)
    /// finishes what waits. Layers made from clones share the task.
    pub fn finish_after_send(mut self, on: bool) -> Self {
        self.finisher = on.then(|| self.finisher.take().unwrap_or_else(Finisher::new));
        self
    }

    /// Finishes now every record waiting for the background task (see
    /// [`finish_after_send`](Self::finish_after_send)); call it at shutdown
    /// before closing what the hooks write to.
    pub fn flush(&self) {
        if let Some(f) = &self.finisher {
            f.flush();
        }
    }

    /// Sets how many bytes of the request body, the answer body and the
    /// answer's text a record keeps (each; longer ones are cut and marked).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

impl<S, H: Clone> Layer<S> for RecorderLayer<H> {
    type Service = Recorder<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        Recorder {
            inner,
            hooks: self.hooks.clone(),
            max_body_bytes: self.max_body_bytes,
            finisher: self.finisher.clone(),
        }
    }
}
