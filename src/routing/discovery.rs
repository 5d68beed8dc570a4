//! Model discovery for `discovered` rules: Ollama's `GET /api/tags` and
//! OpenAI-compatible `GET /models`, refreshed in the background.

use std::time::Duration;

use serde::Deserialize;
use switchyard_route::ModelDirectory;

use crate::config::{Config, ProviderKind};

/// Where a provider's model list comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// `GET {root}/api/tags`.
    Ollama,
    /// `GET {api_root}/models`.
    OpenAi,
}

#[derive(Clone, Debug)]
struct Source {
    provider: String,
    kind: Kind,
    url: String,
}

/// The discovery sources of the routing sections; fills the route table's directory.
#[derive(Debug)]
pub struct Discovery {
    sources: Vec<Source>,
    directory: ModelDirectory,
    client: reqwest::Client,
}

/// Providers whose models the default binary already discovers (`discover = true`).
fn discovered_by_provider(config: &Config, id: &str) -> bool {
    config.providers.iter().any(|p| p.id == id && p.discovers())
}

fn plan(config: &Config) -> Result<Vec<Source>, String> {
    let mut out: Vec<Source> = Vec::new();
    for (i, d) in config.discovery.iter().enumerate() {
        let at = format!("`discovery[{i}]` (`{}`)", d.provider);
        let Some(p) = config.providers.iter().find(|p| p.id == d.provider) else {
            return Err(format!("{at}: unknown provider `{}`", d.provider));
        };
        let kind = match d.source.as_str() {
            "ollama" => Kind::Ollama,
            "openai" => Kind::OpenAi,
            s => {
                return Err(format!(
                    "{at}: `source` must be \"ollama\" or \"openai\", got `{s}`"
                ));
            }
        };
        let base = d.url.clone().or_else(|| p.base_url.clone());
        let url = match (&kind, base) {
            (Kind::Ollama, base) => ollama_tags_url(base.as_deref()),
            (Kind::OpenAi, Some(b)) => format!("{}/models", b.trim_end_matches('/')),
            (Kind::OpenAi, None) => {
                return Err(format!(
                    "{at}: set `url` (the API root, e.g. http://127.0.0.1:8000/v1)"
                ));
            }
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("{at}: `{url}` is not an http:// or https:// URL"));
        }
        out.push(Source {
            provider: d.provider.clone(),
            kind,
            url,
        });
    }
    // Providers in `discovered` rules need a source; native Ollama gets one by default.
    for (i, r) in config.rules.iter().enumerate() {
        for id in r.discovered.iter().flat_map(|d| d.list()) {
            if out.iter().any(|s| s.provider == id) || discovered_by_provider(config, &id) {
                continue;
            }
            let p = config.providers.iter().find(|p| p.id == id);
            match p {
                Some(p) if p.kind == ProviderKind::Ollama => out.push(Source {
                    provider: id.clone(),
                    kind: Kind::Ollama,
                    url: ollama_tags_url(p.base_url.as_deref()),
                }),
                Some(_) => {
                    return Err(format!(
                        "rule `{}` (rules[{i}]): provider `{id}` in `discovered` has no model discovery: set `discover = true` on it or add a [[discovery]] entry",
                        r.name.clone().unwrap_or_else(|| format!("rules[{i}]"))
                    ));
                }
                // The rule check names unknown providers.
                None => {}
            }
        }
    }
    Ok(out)
}

/// `{root}/api/tags`, the root being `base_url` without a trailing `/v1` or `/api`.
fn ollama_tags_url(base: Option<&str>) -> String {
    let base = base
        .unwrap_or("http://127.0.0.1:11434")
        .trim_end_matches('/');
    let root = base
        .strip_suffix("/v1")
        .or_else(|| base.strip_suffix("/api"))
        .unwrap_or(base);
    format!("{root}/api/tags")
}

/// Checks the discovery sections.
pub(super) fn check(config: &Config) -> Result<(), String> {
    plan(config).map(|_| ())
}

/// The sources of `config`, filling `directory`.
pub(super) fn sources(
    config: &Config,
    directory: ModelDirectory,
    client: reqwest::Client,
) -> Result<Discovery, String> {
    Ok(Discovery {
        sources: plan(config)?,
        directory,
        client,
    })
}

#[derive(Deserialize)]
struct Tags {
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

#[derive(Deserialize)]
struct List {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
}

impl Discovery {
    /// Whether there is anything to discover.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Asks every source now, concurrently; a failed source keeps its last list.
    pub async fn refresh(&self) {
        let all = self.sources.iter().map(|s| async move {
            match tokio::time::timeout(Duration::from_secs(10), self.fetch(s)).await {
                Ok(Ok(models)) => {
                    tracing::debug!(provider = %s.provider, count = models.len(), "discovered models");
                    self.directory.set(&s.provider, models);
                }
                Ok(Err(e)) => tracing::warn!(provider = %s.provider, error = %e, "model discovery failed"),
                Err(_) => tracing::warn!(provider = %s.provider, "model discovery timed out"),
            }
        });
        futures_util::future::join_all(all).await;
    }

    async fn fetch(&self, s: &Source) -> Result<Vec<String>, String> {
        let res = self
            .client
            .get(&s.url)
            .send()
            .await
            .map_err(|e| format!("GET {}: {}", s.url, e.without_url()))?;
        if !res.status().is_success() {
            return Err(format!("GET {} answered {}", s.url, res.status()));
        }
        let body = res.bytes().await.map_err(|e| e.without_url().to_string())?;
        match s.kind {
            Kind::Ollama => {
                let tags: Tags = serde_json::from_slice(&body)
                    .map_err(|e| format!("not an Ollama tag list: {e}"))?;
                // `llama3.2:latest` is also asked for as `llama3.2`.
                let mut out = Vec::with_capacity(tags.models.len() * 2);
                for t in tags.models {
                    if let Some(bare) = t.name.strip_suffix(":latest") {
                        out.push(bare.to_owned());
                    }
                    out.push(t.name);
                }
                Ok(out)
            }
            Kind::OpenAi => {
                let list: List = serde_json::from_slice(&body)
                    .map_err(|e| format!("not an OpenAI model list: {e}"))?;
                Ok(list.data.into_iter().map(|m| m.id).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_urls() {
        assert_eq!(ollama_tags_url(None), "http://127.0.0.1:11434/api/tags");
        assert_eq!(
            ollama_tags_url(Some("http://h:1/v1/")),
            "http://h:1/api/tags"
        );
        assert_eq!(ollama_tags_url(Some("http://h:1")), "http://h:1/api/tags");
    }
}
