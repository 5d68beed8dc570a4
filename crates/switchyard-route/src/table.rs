//! [`RouteTable`]: which provider serves which model.

use std::fmt;
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use http::StatusCode;
use switchyard_core::{Candidate, ErrorType, Rejection, RouteDecision};

use crate::directory::ModelDirectory;

/// An invalid routing configuration, naming the provider and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteError(String);

impl RouteError {
    pub(crate) fn new(message: String) -> Self {
        RouteError(message)
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteError {}

#[derive(Debug)]
struct ProviderModels {
    id: Arc<str>,
    patterns: Vec<String>,
    globs: GlobSet,
    discover: bool,
    /// The rule names decisions carry, spelled once (`prefix:`, `provider:`, `discovered:`).
    rules: [Arc<str>; 3],
}

/// Providers in order, each with the model globs it serves.
///
/// A model is routed to the first provider whose globs match it or whose
/// discovered models ([`ModelDirectory`]) list it. A `provider/model` name
/// routes straight to that provider with the prefix stripped (a name whose
/// prefix is not a provider id, like `meta-llama/Llama-3-8B`, is matched whole).
///
/// ```
/// use switchyard_route::RouteTable;
/// let table = RouteTable::builder()
///     .provider("openai", ["gpt-*", "o3*"])
///     .provider("local", ["llama*"])
///     .build()
///     .unwrap();
/// assert_eq!(&*table.route("gpt-4o").unwrap().candidates[0].provider, "openai");
/// let d = table.route("local/qwen3").unwrap();
/// assert_eq!((&*d.candidates[0].provider, &*d.candidates[0].model), ("local", "qwen3"));
/// assert_eq!(table.route("claude-3").unwrap_err().status(), 404);
/// ```
#[derive(Debug)]
pub struct RouteTable {
    providers: Vec<ProviderModels>,
    directory: ModelDirectory,
}

/// Builds a [`RouteTable`].
#[derive(Debug, Default)]
pub struct RouteTableBuilder {
    providers: Vec<(String, Vec<String>, bool)>,
    directory: ModelDirectory,
}

impl RouteTableBuilder {
    /// Adds a provider serving models that match any of `patterns` (`*`, `?`, `[..]`, `{a,b}`).
    pub fn provider<I, P>(mut self, id: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let patterns = patterns.into_iter().map(Into::into).collect();
        self.providers.push((id.into(), patterns, false));
        self
    }

    /// Adds a provider that also serves whatever the directory discovered for it.
    pub fn discovered_provider<I, P>(mut self, id: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let patterns = patterns.into_iter().map(Into::into).collect();
        self.providers.push((id.into(), patterns, true));
        self
    }

    /// Shares a directory of discovered models.
    pub fn directory(mut self, directory: ModelDirectory) -> Self {
        self.directory = directory;
        self
    }

    /// Validates the globs and provider ids.
    pub fn build(self) -> Result<RouteTable, RouteError> {
        let mut providers = Vec::with_capacity(self.providers.len());
        for (id, patterns, discover) in self.providers {
            if id.is_empty() || id.contains('/') {
                return Err(RouteError(format!(
                    "provider id `{id}` must be non-empty and contain no `/`"
                )));
            }
            if providers.iter().any(|p: &ProviderModels| *p.id == *id) {
                return Err(RouteError(format!("provider id `{id}` is used twice")));
            }
            let mut set = GlobSetBuilder::new();
            for p in &patterns {
                let glob = Glob::new(p).map_err(|e| {
                    RouteError(format!("provider `{id}`: invalid model pattern `{p}`: {e}"))
                })?;
                set.add(glob);
            }
            let globs = set
                .build()
                .map_err(|e| RouteError(format!("provider `{id}`: {e}")))?;
            let rules =
                ["prefix", "provider", "discovered"].map(|r| Arc::from(format!("{r}:{id}")));
            providers.push(ProviderModels {
                id: Arc::from(id),
                patterns,
                globs,
                discover,
                rules,
            });
        }
        Ok(RouteTable {
            providers,
            directory: self.directory,
        })
    }
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

impl RouteTable {
    /// A builder.
    pub fn builder() -> RouteTableBuilder {
        RouteTableBuilder::default()
    }

    /// The directory of discovered models this table reads.
    pub fn directory(&self) -> &ModelDirectory {
        &self.directory
    }

    /// Provider ids, in routing order.
    pub fn provider_ids(&self) -> impl Iterator<Item = &str> {
        self.providers.iter().map(|p| &*p.id)
    }

    /// Decides where `model` goes, or a 404 listing what is available.
    pub fn route(&self, model: &str) -> Result<RouteDecision, Rejection> {
        if let Some((prefix, rest)) = model.split_once('/')
            && let Some(p) = self.providers.iter().find(|p| &*p.id == prefix)
        {
            if rest.is_empty() {
                return Err(Rejection::bad_request(format!(
                    "model `{model}` names provider `{prefix}` but no model"
                ))
                .param("model"));
            }
            return Ok(decision(model, &p.rules[0], &p.id, rest));
        }
        for p in &self.providers {
            if p.globs.is_match(model) {
                return Ok(decision(model, &p.rules[1], &p.id, model));
            }
            if p.discover && self.directory.contains(&p.id, model) {
                return Ok(decision(model, &p.rules[2], &p.id, model));
            }
        }
        Err(self.not_found(model))
    }

    /// Concrete model names (configured or discovered), each with its provider.
    pub fn models(&self) -> Vec<(Arc<str>, Arc<str>)> {
        let mut out: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        for p in &self.providers {
            let configured = p
                .patterns
                .iter()
                .filter(|m| !is_glob(m))
                .map(|m| Arc::from(m.as_str()));
            let discovered = self.directory.get(&p.id);
            for m in configured.chain(discovered.iter().cloned()) {
                if !out.iter().any(|(_, seen)| *seen == m) {
                    out.push((p.id.clone(), m));
                }
            }
        }
        out
    }

    fn not_found(&self, model: &str) -> Rejection {
        const SHOWN: usize = 40;
        let names: Vec<_> = self.models().into_iter().map(|(_, m)| m).collect();
        let patterns: Vec<&str> = self
            .providers
            .iter()
            .flat_map(|p| p.patterns.iter().map(String::as_str).filter(|m| is_glob(m)))
            .collect();
        let mut msg = format!("model `{model}` is not served by this gateway.");
        if names.is_empty() && patterns.is_empty() {
            msg.push_str(" No models are configured.");
        }
        if !names.is_empty() {
            let list: Vec<&str> = names.iter().take(SHOWN).map(|m| &**m).collect();
            msg.push_str(&format!(" Available models: {}", list.join(", ")));
            if names.len() > SHOWN {
                msg.push_str(&format!(
                    " (and {} more; see GET /v1/models)",
                    names.len() - SHOWN
                ));
            }
            msg.push('.');
        }
        if !patterns.is_empty() {
            msg.push_str(&format!(" Model patterns served: {}.", patterns.join(", ")));
        }
        let ids: Vec<&str> = self.provider_ids().collect();
        if !ids.is_empty() {
            msg.push_str(&format!(
                " Or name a provider: `<provider>/<model>` with provider one of {}.",
                ids.join(", ")
            ));
        }
        Rejection::new(StatusCode::NOT_FOUND, ErrorType::NotFound, msg)
            .param("model")
            .code("model_not_found")
    }
}

fn decision(requested: &str, rule: &Arc<str>, provider: &Arc<str>, model: &str) -> RouteDecision {
    RouteDecision {
        requested_model: Arc::from(requested),
        rule: rule.clone(),
        candidates: vec![Candidate::new(provider.clone(), model)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::builder()
            .provider("openai", ["gpt-*", "text-embedding-3-small"])
            .provider("together", ["meta-llama/*"])
            .discovered_provider("local", Vec::<String>::new())
            .build()
            .unwrap()
    }

    #[test]
    fn first_match_wins() {
        let t = RouteTable::builder()
            .provider("a", ["gpt-4*"])
            .provider("b", ["gpt-*"])
            .build()
            .unwrap();
        assert_eq!(&*t.route("gpt-4o").unwrap().candidates[0].provider, "a");
        assert_eq!(&*t.route("gpt-3.5").unwrap().candidates[0].provider, "b");
    }

    #[test]
    fn slash_names_that_are_not_providers_match_whole() {
        let d = table().route("meta-llama/Llama-3-8B").unwrap();
        assert_eq!(&*d.candidates[0].provider, "together");
        assert_eq!(&*d.candidates[0].model, "meta-llama/Llama-3-8B");
    }

    #[test]
    fn discovered_models_route() {
        let t = table();
        assert!(t.route("llama3.2").is_err());
        t.directory().set("local", vec!["llama3.2".into()]);
        let d = t.route("llama3.2").unwrap();
        assert_eq!(&*d.candidates[0].provider, "local");
        assert_eq!(&*d.rule, "discovered:local");
    }

    #[test]
    fn unknown_model_lists_what_is_available() {
        let t = table();
        t.directory().set("local", vec!["qwen3".into()]);
        let e = t.route("claude").unwrap_err();
        assert_eq!(e.status(), 404);
        let m = e.message();
        assert!(
            m.contains("text-embedding-3-small") && m.contains("qwen3"),
            "{m}"
        );
        assert!(m.contains("gpt-*") && m.contains("meta-llama/*"), "{m}");
        assert!(m.contains("openai, together, local"), "{m}");
        let v = e.to_json(switchyard_core::Protocol::OpenAi);
        assert_eq!(v["error"]["code"], "model_not_found");
        assert!(table().route("openai/").is_err());
    }

    #[test]
    fn invalid_config_is_named() {
        let e = RouteTable::builder()
            .provider("a", ["gpt-[4"])
            .build()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("provider `a`: invalid model pattern `gpt-[4`"),
            "{e}"
        );
        let e = RouteTable::builder()
            .provider("a", ["x"])
            .provider("a", ["y"])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("used twice"));
    }
}
