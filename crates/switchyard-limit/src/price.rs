//! [`PriceList`]: what the layer prices reservations with (the binary passes the usage layer's catalog).

use switchyard_core::Cost;

/// Prices `input_tokens` and `output_tokens` on `model` served by `provider`;
/// `None` when the price is unknown (the reservation then holds no money).
///
/// A closure works:
///
/// ```
/// use switchyard_core::Cost;
/// use switchyard_limit::PriceList;
/// let flat = |_: &str, _: &str, input: u64, output: u64| Some(Cost::from_nanos(1_000 * (input + output)));
/// assert_eq!(flat.price("p", "m", 10, 5), Some(Cost::from_nanos(15_000)));
/// ```
pub trait PriceList: Send + Sync + 'static {
    /// The price, if known.
    fn price(
        &self,
        provider: &str,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Option<Cost>;
}

impl<F> PriceList for F
where
    F: Fn(&str, &str, u64, u64) -> Option<Cost> + Send + Sync + 'static,
{
    fn price(
        &self,
        provider: &str,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Option<Cost> {
        self(provider, model, input_tokens, output_tokens)
    }
}

/// Knows no prices: budgets then only refuse once they are used up.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPrices;

impl PriceList for NoPrices {
    fn price(&self, _: &str, _: &str, _: u64, _: u64) -> Option<Cost> {
        None
    }
}
