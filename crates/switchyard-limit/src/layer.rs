//! [`LimitLayer`]: configuration of the limit service.

use std::sync::Arc;

use tower::Layer;

use crate::config::Policy;
use crate::limiter::Limiter;
use crate::price::{NoPrices, PriceList};
use crate::service::LimitService;

/// Enforces rate limits and budgets per key, team and model.
///
/// See the [crate documentation](crate) for an example and the behaviour.
#[derive(Clone)]
pub struct LimitLayer {
    pub(crate) limiter: Limiter,
    pub(crate) policy: Arc<Policy>,
    pub(crate) prices: Arc<dyn PriceList>,
}

impl std::fmt::Debug for LimitLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitLayer")
            .field("limiter", &self.limiter)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl LimitLayer {
    /// A layer enforcing `policy` (and each key's own quota) on the counters of `limiter`.
    pub fn new(limiter: Limiter, policy: Policy) -> Self {
        LimitLayer {
            limiter,
            policy: Arc::new(policy),
            prices: Arc::new(NoPrices),
        }
    }

    /// Prices reservations and running stream costs with `prices`
    /// (without prices, budgets only refuse once they are used up).
    pub fn prices(mut self, prices: impl PriceList) -> Self {
        self.prices = Arc::new(prices);
        self
    }

    /// The counters.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }
}

impl<S> Layer<S> for LimitLayer {
    type Service = LimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService {
            inner,
            layer: self.clone(),
        }
    }
}
