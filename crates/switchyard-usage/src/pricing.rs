//! [`Pricing`]: the cost of an exchange from its usage and the model catalog.

use std::collections::HashSet;

use switchyard_core::{Cost, Usage};

use crate::catalog::ModelCatalog;

/// Prices exchanges: the catalog's price of the model as served by the
/// provider, or nothing for models on local providers the catalog does not
/// know (a local Ollama's `llama3.2` costs 0), or unknown.
///
/// ```
/// use switchyard_core::Usage;
/// use switchyard_usage::{ModelCatalog, Pricing};
/// let pricing = Pricing::new(ModelCatalog::builtin()).local_provider("ollama");
/// let usage = Usage { input_tokens: 1_000_000, output_tokens: 0, ..Usage::default() };
/// assert_eq!(pricing.cost("openai", "gpt-4o", &usage, 0).unwrap().usd(), 2.5);
/// assert_eq!(pricing.cost("ollama", "llama3.2", &usage, 0).unwrap().usd(), 0.0);
/// assert_eq!(pricing.cost("openai", "unknown-model", &usage, 0), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Pricing {
    catalog: ModelCatalog,
    local: HashSet<String>,
}

impl Pricing {
    /// Prices from `catalog`.
    pub fn new(catalog: ModelCatalog) -> Self {
        Pricing {
            catalog,
            local: HashSet::new(),
        }
    }

    /// Marks a provider as local: its models the catalog does not price cost 0.
    pub fn local_provider(mut self, id: impl Into<String>) -> Self {
        self.local.insert(id.into());
        self
    }

    /// The catalog.
    pub fn catalog(&self) -> &ModelCatalog {
        &self.catalog
    }

    /// Whether `provider` is local.
    pub fn is_local(&self, provider: &str) -> bool {
        self.local.contains(provider)
    }

    /// The cost of `usage` (plus `cache_write` prompt tokens written to the
    /// cache, part of `usage.input_tokens`) on `model` served by `provider`;
    /// `None` when the price is unknown.
    pub fn cost(
        &self,
        provider: &str,
        model: &str,
        usage: &Usage,
        cache_write: u64,
    ) -> Option<Cost> {
        let Some(info) = self
            .catalog
            .lookup(provider, model)
            .filter(|m| m.is_priced())
        else {
            return self.is_local(provider).then_some(Cost::ZERO);
        };
        let input = info.input.unwrap_or(0.0);
        let output = info.output.unwrap_or(0.0);
        let cached_price = info.cached_input.unwrap_or(input);
        let write_price = info.cache_write.unwrap_or(input);
        let cached = usage.cached_tokens.min(usage.input_tokens);
        let written = cache_write.min(usage.input_tokens - cached);
        let plain = usage.input_tokens - cached - written;
        let micro = plain as f64 * input
            + cached as f64 * cached_price
            + written as f64 * write_price
            + usage.output_tokens as f64 * output;
        Some(Cost::from_usd(micro / 1e6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_and_written_tokens_have_their_own_price() {
        let catalog = ModelCatalog::from_toml(
            r#"[models."c"]
               input = 3.0
               output = 15.0
               cached_input = 0.3
               cache_write = 3.75"#,
        )
        .unwrap();
        let p = Pricing::new(catalog);
        let usage = Usage {
            input_tokens: 135,
            output_tokens: 15,
            cached_tokens: 100,
            ..Usage::default()
        };
        // 25 * 3 + 100 * 0.3 + 10 * 3.75 + 15 * 15 = 75 + 30 + 37.5 + 225 = 367.5 micro-dollars
        assert_eq!(p.cost("x", "c", &usage, 10).unwrap().nanos(), 367_500);
    }
}
