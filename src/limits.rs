//! The `[limits]` table in the default stack: the limiter (state that
//! outlives reloads) and the limit layer of each configuration.

use std::sync::Arc;

use switchyard_core::Usage;
use switchyard_limit::{LimitLayer, Limiter};
use switchyard_usage::Pricing;

use crate::config::Config;

/// The limiter `config` asks for: shared through Redis with `redis_url`, else in memory.
pub fn limiter(config: &Config) -> Result<Limiter, String> {
    let limits = &config.limits;
    match &limits.redis_url {
        Some(url) => Limiter::redis(url, limits.lease_options()?),
        None => Ok(Limiter::in_memory()),
    }
}

/// The limit layer for `config` over `limiter`, pricing reservations with the usage layer's catalog.
pub fn layer(
    config: &Config,
    limiter: &Limiter,
    pricing: Arc<Pricing>,
) -> Result<LimitLayer, String> {
    let policy = config.limits.policy()?;
    let prices = move |provider: &str, model: &str, input: u64, output: u64| {
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        };
        pricing.cost(provider, model, &usage, 0)
    };
    Ok(LimitLayer::new(limiter.clone(), policy).prices(prices))
}
