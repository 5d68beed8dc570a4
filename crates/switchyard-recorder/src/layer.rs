//! [`RecorderLayer`]: configuration of the recorder.

use tower::Layer;

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
}

impl RecorderLayer<()> {
    /// A recorder with no hooks yet.
    pub fn new() -> Self {
        RecorderLayer {
            hooks: (),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
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
        }
    }
}
