//! Reading targets, strategies and sticky settings from config.

use std::time::Duration;

use switchyard_route::{Sticky, Strategy, Target, TargetRef};
use switchyard_usage::ModelCatalog;

use super::config::{StickyConfig, TargetConfig, TargetTable};
use crate::config::Config;

/// Resolves target names against the providers and virtual models of a
/// config, pricing targets from the model catalog.
pub(super) struct Resolver<'a> {
    config: &'a Config,
    catalog: ModelCatalog,
}

/// The catalog usage accounting prices with: `usage.catalog` (or the built-in
/// one) with `usage.models` over it. A broken file is reported by usage at
/// start; routing then falls back to the built-in prices.
fn catalog(config: &Config) -> ModelCatalog {
    let mut catalog = config
        .usage
        .catalog
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| ModelCatalog::from_toml(&text).ok())
        .unwrap_or_else(ModelCatalog::builtin);
    for (name, info) in &config.usage.models {
        let _ = catalog.insert(name.clone(), info.clone());
    }
    catalog
}

impl<'a> Resolver<'a> {
    pub(super) fn new(config: &'a Config) -> Self {
        Resolver {
            config,
            catalog: catalog(config),
        }
    }

    /// `provider` serving `model`, priced from the catalog when it knows the model.
    fn priced(&self, provider: &str, model: &str) -> Target {
        let target = Target::new(provider, model);
        let local = self
            .config
            .usage
            .local_providers
            .iter()
            .any(|p| p == provider)
            || self
                .config
                .providers
                .iter()
                .any(|p| p.id == provider && p.kind == crate::config::ProviderKind::Mock);
        if local {
            return target.price(0.0, 0.0);
        }
        match self.catalog.lookup(provider, model) {
            Some(info) => match (info.input, info.output) {
                (Some(i), Some(o)) => target.price(i, o),
                _ => target,
            },
            None => target,
        }
    }

    /// `"provider/model"`, or a virtual model's name.
    fn name(&self, name: &str, at: &str) -> Result<TargetRef, String> {
        if let Some((provider, model)) = name.split_once('/')
            && self.config.providers.iter().any(|p| p.id == provider)
        {
            if model.is_empty() {
                return Err(format!("{at}: target `{name}` names no model"));
            }
            return Ok(TargetRef::Target(self.priced(provider, model)));
        }
        if self.config.virtual_models.contains_key(name) {
            return Ok(TargetRef::Virtual(name.to_owned()));
        }
        let providers: Vec<&str> = self
            .config
            .providers
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        let virtuals: Vec<&str> = self
            .config
            .virtual_models
            .keys()
            .map(String::as_str)
            .collect();
        let what = match name.split_once('/') {
            Some((p, _)) => format!("unknown provider `{p}` in target `{name}`"),
            None => format!("unknown target `{name}`: not `provider/model` nor a virtual model"),
        };
        Err(format!(
            "{at}: {what} (providers: {}; virtual models: {})",
            list(&providers),
            list(&virtuals)
        ))
    }

    pub(super) fn target(&self, t: &TargetConfig, at: &str) -> Result<TargetRef, String> {
        match t {
            TargetConfig::Name(n) => self.name(n, at),
            TargetConfig::Table(t) => self.table(t, at),
        }
    }

    fn table(&self, t: &TargetTable, at: &str) -> Result<TargetRef, String> {
        let TargetRef::Target(mut target) = self.name(&t.target, at)? else {
            let extras = t.weight.is_some()
                || t.profile.is_some()
                || t.input_price.is_some()
                || t.output_price.is_some()
                || t.quality.is_some();
            if extras {
                return Err(format!(
                    "{at}: `{}` is a virtual model: weight, profile, price and quality go on provider targets",
                    t.target
                ));
            }
            return Ok(TargetRef::Virtual(t.target.clone()));
        };
        if let Some(w) = t.weight {
            target = target.weight(w);
        }
        if let Some(p) = &t.profile {
            if !self.config.profiles.contains_key(p) {
                return Err(format!(
                    "{at}: unknown profile `{p}` in target `{}`",
                    t.target
                ));
            }
            target = target.profile(p.as_str());
        }
        match (t.input_price, t.output_price) {
            (None, None) => {}
            (i, o) => target = target.price(i.unwrap_or(0.0), o.unwrap_or(0.0)),
        }
        if let Some(q) = t.quality {
            target = target.quality(q);
        }
        Ok(TargetRef::Target(target))
    }

    pub(super) fn strategy(
        &self,
        name: Option<&str>,
        max_price: Option<f64>,
        quality_bias: Option<f64>,
        at: &str,
    ) -> Result<Strategy, String> {
        let s = match name.unwrap_or("first_available") {
            "first_available" => Strategy::FirstAvailable,
            "round_robin" => Strategy::RoundRobin,
            "weighted" => Strategy::Weighted,
            "random" => Strategy::Random,
            "pinned" => Strategy::Pinned,
            "cheapest" => Strategy::Cheapest { max_price },
            "fastest" => Strategy::Fastest,
            "highest_throughput" => Strategy::HighestThroughput,
            "quality_cost" => Strategy::QualityCost {
                quality_bias: quality_bias.unwrap_or(0.5),
            },
            "least_loaded" => Strategy::LeastLoaded,
            other => {
                return Err(format!(
                    "{at}: unknown strategy `{other}` (one of: first_available, round_robin, weighted, random, pinned, cheapest, fastest, highest_throughput, quality_cost, least_loaded)"
                ));
            }
        };
        if max_price.is_some() && !matches!(s, Strategy::Cheapest { .. }) {
            return Err(format!(
                "{at}: `max_price` applies to strategy \"cheapest\" only"
            ));
        }
        if quality_bias.is_some() && !matches!(s, Strategy::QualityCost { .. }) {
            return Err(format!(
                "{at}: `quality_bias` applies to strategy \"quality_cost\" only"
            ));
        }
        Ok(s)
    }
}

pub(super) fn sticky(s: &StickyConfig, at: &str) -> Result<Sticky, String> {
    let mut sticky = match (&s.header, &s.field) {
        (Some(h), None) => {
            if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(format!("{at}: `sticky.header` `{h}` is not a header name"));
            }
            Sticky::header(h.as_str())
        }
        (None, Some(f)) if !f.is_empty() => Sticky::field(f.as_str()),
        _ => {
            return Err(format!(
                "{at}: `sticky` needs exactly one of `header` or `field`"
            ));
        }
    };
    if let Some(ttl) = s.ttl_secs {
        sticky = sticky.ttl(Duration::from_secs(ttl));
    }
    if let Some(c) = s.capacity {
        sticky = sticky.capacity(c);
    }
    Ok(sticky)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
