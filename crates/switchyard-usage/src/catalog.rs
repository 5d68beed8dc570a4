//! [`ModelCatalog`]: prices, context windows and capabilities of known models.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The catalog shipped with Switchyard (`config/models.toml`).
const BUILTIN: &str = include_str!("../../../config/models.toml");

/// What the catalog knows about one model. Prices are USD per million tokens.
///
/// Every field is optional, so an override in config can change one price
/// and keep the rest ([`ModelCatalog::merge`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    /// Who makes or sells the model (`openai`, `anthropic`, `google` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Price of a million prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<f64>,
    /// Price of a million answer tokens (reasoning included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<f64>,
    /// Price of a million prompt tokens read from the cache (default: `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Price of a million prompt tokens written to the cache (default: `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// The most tokens of prompt and answer together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// The most answer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// What it can do: `chat`, `vision`, `tools`, `reasoning`, `embeddings` ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Other names of the same model (dated snapshots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl ModelInfo {
    /// Whether the model has both an input and an output price.
    pub fn is_priced(&self) -> bool {
        self.input.is_some() && self.output.is_some()
    }

    fn merge(&mut self, over: &ModelInfo) {
        macro_rules! take {
            ($($f:ident),*) => {$( if over.$f.is_some() { self.$f = over.$f.clone(); } )*};
        }
        take!(
            vendor,
            input,
            output,
            cached_input,
            cache_write,
            context_window,
            max_output_tokens
        );
        if !over.capabilities.is_empty() {
            self.capabilities = over.capabilities.clone();
        }
        for alias in &over.aliases {
            if !self.aliases.contains(alias) {
                self.aliases.push(alias.clone());
            }
        }
    }

    fn validate(&self, name: &str) -> Result<(), String> {
        let prices = [
            ("input", self.input),
            ("output", self.output),
            ("cached_input", self.cached_input),
            ("cache_write", self.cache_write),
        ];
        for (field, price) in prices {
            if let Some(p) = price
                && !(p.is_finite() && p >= 0.0)
            {
                return Err(format!(
                    "model `{name}`: `{field}` must be a price >= 0 (USD per million tokens), got {p}"
                ));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    models: BTreeMap<String, ModelInfo>,
}

/// Models by name: prices per million tokens, context windows, capabilities.
///
/// Lookups are forgiving about the spellings providers use: an exact name or
/// alias first, then without a `vendor/` or `models/` prefix, then without a
/// date or version suffix (`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`,
/// `claude-sonnet-4@20250514`, `gemini-1.5-pro-002`, `llama3:latest`). An
/// entry named `provider/model` applies to that provider only and wins.
///
/// ```
/// use switchyard_usage::ModelCatalog;
/// let catalog = ModelCatalog::builtin();
/// let m = catalog.lookup("openai", "gpt-4o-mini-2024-07-18").unwrap();
/// assert_eq!(m.input, Some(0.15));
/// assert!(catalog.lookup("openai", "no-such-model").is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ModelCatalog {
    models: HashMap<String, Arc<ModelInfo>, foldhash::fast::RandomState>,
    aliases: HashMap<String, String, foldhash::fast::RandomState>,
}

impl ModelCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        ModelCatalog::default()
    }

    /// The catalog shipped with Switchyard.
    pub fn builtin() -> Self {
        ModelCatalog::from_toml(BUILTIN).unwrap_or_else(|e| {
            // A test parses the shipped file, so this is unreachable in a release.
            tracing::error!(error = %e, "the built-in model catalog is invalid");
            ModelCatalog::new()
        })
    }

    /// A catalog from TOML text: `[models."name"]` tables of [`ModelInfo`] fields.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut catalog = ModelCatalog::new();
        for (name, info) in file.models {
            catalog.insert(name, info)?;
        }
        Ok(catalog)
    }

    /// Adds a model, or updates the fields `info` sets of one already known.
    pub fn insert(&mut self, name: impl Into<String>, info: ModelInfo) -> Result<(), String> {
        let name = name.into();
        info.validate(&name)?;
        let key = self.aliases.get(&name).cloned().unwrap_or(name);
        let entry = self.models.entry(key.clone()).or_default();
        Arc::make_mut(entry).merge(&info);
        for alias in &info.aliases {
            self.aliases.insert(alias.clone(), key.clone());
        }
        Ok(())
    }

    /// Applies every entry of `other` over this catalog.
    pub fn merge(&mut self, other: &ModelCatalog) -> Result<(), String> {
        for (name, info) in &other.models {
            self.insert(name.clone(), (**info).clone())?;
        }
        Ok(())
    }

    /// How many models it knows.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether it knows no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Every model, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ModelInfo)> {
        self.models.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// What is known about `model` as served by `provider`.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<&ModelInfo> {
        // One buffer for every `provider/name` spelled: a lookup runs twice
        // per request (the price for limits, then for the record), and a
        // `format!` per spelling cost more than the hash lookups.
        let mut qualified_name = String::with_capacity(provider.len() + 1 + model.len());
        let mut name = model;
        loop {
            qualified_name.clear();
            qualified_name.push_str(provider);
            qualified_name.push('/');
            qualified_name.push_str(name);
            if let Some(info) = self.get(&qualified_name) {
                return Some(info);
            }
            if let Some(info) = self.get(name) {
                return Some(info);
            }
            name = simpler(name)?;
        }
    }

    fn get(&self, name: &str) -> Option<&ModelInfo> {
        let key = self.aliases.get(name).map_or(name, String::as_str);
        self.models.get(key).map(|m| &**m)
    }
}

/// The name with one decoration less: a path prefix, a tag, a date or version suffix.
fn simpler(name: &str) -> Option<&str> {
    if let Some((_, rest)) = name.split_once('/') {
        return Some(rest);
    }
    if let Some((base, _)) = name.split_once([':', '@']) {
        return Some(base);
    }
    if let Some(base) = name.strip_suffix("-latest") {
        return Some(base);
    }
    let (base, suffix) = name.rsplit_once('-')?;
    let digits = suffix.len() >= 2 && suffix.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return None;
    }
    // `-2024-08-06`: strip the whole date, not just the day.
    match base.rsplit_once('-') {
        Some((b, month)) if suffix.len() == 2 && month.len() == 2 => match b.rsplit_once('-') {
            Some((b2, year)) if year.len() == 4 && year.bytes().all(|c| c.is_ascii_digit()) => {
                Some(b2)
            }
            _ => Some(base),
        },
        _ => Some(base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_prices_the_common_models() {
        let c = ModelCatalog::from_toml(BUILTIN).unwrap();
        for (provider, model) in [
            ("openai", "gpt-4o"),
            ("openai", "gpt-4o-mini"),
            ("openai", "gpt-4.1"),
            ("openai", "o3-mini"),
            ("openai", "text-embedding-3-small"),
            ("anthropic", "claude-sonnet-4-5"),
            ("anthropic", "claude-3-5-haiku-20241022"),
            ("google", "gemini-2.5-flash"),
            ("google", "gemini-2.5-pro"),
        ] {
            let m = c
                .lookup(provider, model)
                .unwrap_or_else(|| panic!("{model}"));
            assert!(m.is_priced(), "{model}");
            assert!(m.context_window.is_some(), "{model}");
        }
    }

    #[test]
    fn simplifies_decorated_names() {
        assert_eq!(simpler("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(
            simpler("claude-3-5-haiku-20241022"),
            Some("claude-3-5-haiku")
        );
        assert_eq!(simpler("claude-sonnet-4@20250514"), Some("claude-sonnet-4"));
        assert_eq!(simpler("models/gemini-1.5-pro"), Some("gemini-1.5-pro"));
        assert_eq!(simpler("gemini-1.5-pro-002"), Some("gemini-1.5-pro"));
        assert_eq!(simpler("llama3.2:latest"), Some("llama3.2"));
        assert_eq!(simpler("gpt-4o"), None);
        assert_eq!(simpler("o3-mini"), None);
    }

    #[test]
    fn overrides_merge_field_by_field_and_provider_entries_win() {
        let mut c = ModelCatalog::from_toml(
            r#"[models."m"]
               input = 1.0
               output = 2.0
               context_window = 1000
               aliases = ["m-old"]"#,
        )
        .unwrap();
        let over = ModelCatalog::from_toml(
            r#"[models."m-old"]
               output = 4.0
               [models."azure/m"]
               input = 0.5
               output = 0.5"#,
        )
        .unwrap();
        c.merge(&over).unwrap();
        let m = c.lookup("openai", "m").unwrap();
        assert_eq!(
            (m.input, m.output, m.context_window),
            (Some(1.0), Some(4.0), Some(1000))
        );
        assert_eq!(c.lookup("azure", "m-2025-01-01").unwrap().input, Some(0.5));
        // Long names, qualified and not.
        let long = "l".repeat(200);
        let mut c = ModelCatalog::new();
        let info = |price| ModelInfo {
            input: Some(price),
            output: Some(price),
            ..ModelInfo::default()
        };
        c.insert(long.clone(), info(1.0)).unwrap();
        c.insert(format!("azure/{long}"), info(2.0)).unwrap();
        assert_eq!(c.lookup("azure", &long).unwrap().input, Some(2.0));
        assert_eq!(c.lookup("openai", &long).unwrap().input, Some(1.0));
        let e = ModelCatalog::from_toml("[models.x]\ninput = -1\noutput = 1").unwrap_err();
        assert!(e.contains("`input` must be a price"), "{e}");
        let e = ModelCatalog::from_toml("[models.x]\nprice = 1").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
