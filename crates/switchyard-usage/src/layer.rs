//! [`UsageLayer`]: configuration of the usage service.

use std::sync::Arc;

use tower::Layer;

use crate::pricing::Pricing;
use crate::service::UsageService;

/// Accounts for every answer: tokens, cost, finish reason, first-token time.
///
/// See the [crate documentation](crate) for an example and the behaviour.
#[derive(Clone, Debug)]
pub struct UsageLayer {
    pub(crate) pricing: Arc<Pricing>,
    pub(crate) max_whole_body: usize,
    pub(crate) estimate: bool,
    pub(crate) request_stream_usage: bool,
}

impl UsageLayer {
    /// Non-streamed answers up to this size (16 MiB) are read whole so their
    /// head can carry the usage headers; larger ones pass on as they come,
    /// without the headers, and are accounted from the `usage` at their end.
    pub const DEFAULT_MAX_WHOLE_BODY: usize = 16 << 20;

    /// A layer pricing with `pricing`.
    pub fn new(pricing: Arc<Pricing>) -> Self {
        UsageLayer {
            pricing,
            max_whole_body: Self::DEFAULT_MAX_WHOLE_BODY,
            estimate: true,
            request_stream_usage: true,
        }
    }

    /// Sets the largest non-streamed answer read whole (see [`DEFAULT_MAX_WHOLE_BODY`](Self::DEFAULT_MAX_WHOLE_BODY)).
    pub fn max_whole_body(mut self, bytes: usize) -> Self {
        self.max_whole_body = bytes;
        self
    }

    /// Whether to estimate figures the provider did not report (default `true`);
    /// when off they count as 0.
    pub fn estimate(mut self, on: bool) -> Self {
        self.estimate = on;
        self
    }

    /// Whether to ask OpenAI-format streams for their usage
    /// (`stream_options.include_usage`) when the client did not (default
    /// `true`). Turn off for upstreams that refuse the field; their streams
    /// are then estimated.
    pub fn request_stream_usage(mut self, on: bool) -> Self {
        self.request_stream_usage = on;
        self
    }
}

impl<S> Layer<S> for UsageLayer {
    type Service = UsageService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        UsageService {
            inner,
            layer: self.clone(),
        }
    }
}
