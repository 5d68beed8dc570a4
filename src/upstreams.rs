//! The providers that speak their own wire format (`anthropic`, `azure`,
//! `gemini`, `vertex`, `ollama`, `openresponses`): config validation and
//! construction for the default binary.

use std::time::Duration;

use http::{HeaderName, HeaderValue};
use switchyard_protocol::Format;
use switchyard_providers::{
    Anthropic, AnthropicConfig, Azure, AzureConfig, Gemini, GeminiConfig, Ollama, OllamaConfig,
    OpenResponses, OpenResponsesConfig, ProviderSet, Translate, TranslateLayer, Vertex,
    VertexConfig,
};
use tower::Layer;

use crate::config::{Config, ProviderConfig, ProviderKind};

/// Wraps an OpenAI-format provider so Anthropic and Responses clients reach it too.
pub fn translating<S>(provider: S) -> Translate<S> {
    TranslateLayer::new(Format::OpenAiChat).layer(provider)
}

/// Checks the fields of a native-format provider entry.
pub fn validate(p: &ProviderConfig, at: &str) -> Result<(), String> {
    if let Some(url) = p.base_url.as_deref()
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!(
            "{at}: `base_url` must be an http:// or https:// URL, got `{url}`"
        ));
    }
    if p.models.is_empty() {
        return Err(format!(
            "{at}: serves no models: list `models` (globs allowed)"
        ));
    }
    let allowed: &[&str] = match p.kind {
        ProviderKind::Anthropic => &["max_tokens", "anthropic_version"],
        ProviderKind::Azure => &["deployment", "api_version"],
        ProviderKind::Vertex => &[
            "project",
            "location",
            "credentials_file",
            "max_tokens",
            "anthropic_version",
        ],
        _ => &[],
    };
    let set = [
        ("deployment", p.deployment.is_some()),
        ("api_version", p.api_version.is_some()),
        ("max_tokens", p.max_tokens.is_some()),
        ("anthropic_version", p.anthropic_version.is_some()),
        ("project", p.project.is_some()),
        ("location", p.location.is_some()),
        ("credentials_file", p.credentials_file.is_some()),
        ("chunk_delay_ms", p.chunk_delay_ms.is_some()),
        ("error_status", p.error_status.is_some()),
        ("error_every", p.error_every.is_some()),
        ("embedding_dims", p.embedding_dims.is_some()),
    ];
    if let Some((field, _)) = set.iter().find(|(f, on)| *on && !allowed.contains(f)) {
        return Err(format!(
            "{at}: `{field}` does not apply to kind \"{}\"",
            p.kind.as_str()
        ));
    }
    match p.kind {
        ProviderKind::Azure if p.base_url.is_none() => Err(format!(
            "{at}: kind \"azure\" needs `base_url` (https://<resource>.openai.azure.com)"
        )),
        ProviderKind::Openresponses if p.base_url.is_none() => Err(format!(
            "{at}: kind \"openresponses\" needs `base_url` (the API root, e.g. https://api.openai.com/v1)"
        )),
        ProviderKind::Anthropic if p.max_tokens == Some(0) => {
            Err(format!("{at}: `max_tokens` must be at least 1"))
        }
        _ => Ok(()),
    }
}

fn headers(p: &ProviderConfig) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::with_capacity(p.headers.len());
    for (k, v) in &p.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("provider `{}`: invalid header name `{k}`", p.id))?;
        let mut value = HeaderValue::from_str(v)
            .map_err(|_| format!("provider `{}`: invalid value for header `{k}`", p.id))?;
        value.set_sensitive(true);
        out.push((name, value));
    }
    Ok(out)
}

fn timeout(config: &Config, p: &ProviderConfig) -> Duration {
    Duration::from_secs_f64(p.timeout_secs.unwrap_or(config.backend_timeout_secs))
}

/// Builds the provider of entry `p` and adds it to `set`.
pub fn add(
    set: ProviderSet<axum::body::Body>,
    config: &Config,
    p: &ProviderConfig,
    client: &switchyard_providers::HttpClient,
) -> Result<ProviderSet<axum::body::Body>, String> {
    let id = p.id.as_str();
    let key = p.api_key.as_ref().map(|k| k.expose().to_owned());
    match p.kind {
        ProviderKind::Anthropic => {
            let mut c = AnthropicConfig::new(id);
            if let Some(url) = &p.base_url {
                c.base_url.clone_from(url);
            }
            c.api_key = key;
            if let Some(v) = &p.anthropic_version {
                c.version.clone_from(v);
            }
            if let Some(m) = p.max_tokens {
                c.max_tokens = m;
            }
            c.headers = headers(p)?;
            c.first_byte_timeout = timeout(config, p);
            let provider = Anthropic::new(c, client.clone()).map_err(|e| e.to_string())?;
            Ok(set.with(id, provider))
        }
        ProviderKind::Gemini => {
            let mut c = GeminiConfig::new(id);
            if let Some(url) = &p.base_url {
                c.base_url.clone_from(url);
            }
            c.api_key = key;
            c.headers = headers(p)?;
            c.first_byte_timeout = timeout(config, p);
            Ok(set.with(
                id,
                Gemini::gemini(c, client.clone()).map_err(|e| e.to_string())?,
            ))
        }
        ProviderKind::Ollama => {
            let c = OllamaConfig {
                id: id.to_owned(),
                base_url: p
                    .base_url
                    .clone()
                    .unwrap_or_else(|| "http://127.0.0.1:11434".into()),
                api_key: key,
                headers: headers(p)?,
                first_byte_timeout: timeout(config, p),
            };
            Ok(set.with(
                id,
                Ollama::ollama(c, client.clone()).map_err(|e| e.to_string())?,
            ))
        }
        ProviderKind::Openresponses => {
            let c = OpenResponsesConfig {
                id: id.to_owned(),
                base_url: p.base_url.clone().unwrap_or_default(),
                api_key: key,
                headers: headers(p)?,
                first_byte_timeout: timeout(config, p),
            };
            let provider =
                OpenResponses::openresponses(c, client.clone()).map_err(|e| e.to_string())?;
            Ok(set.with(id, provider))
        }
        ProviderKind::Azure => {
            let c = AzureConfig {
                id: id.to_owned(),
                base_url: p.base_url.clone().unwrap_or_default(),
                api_key: key,
                deployment: p.deployment.clone(),
                api_version: p.api_version.clone(),
                headers: headers(p)?,
                first_byte_timeout: timeout(config, p),
            };
            Ok(set.with(
                id,
                Azure::azure(c, client.clone()).map_err(|e| e.to_string())?,
            ))
        }
        ProviderKind::Vertex => {
            let mut c = VertexConfig::new(id);
            c.project.clone_from(&p.project);
            if let Some(l) = &p.location {
                c.location.clone_from(l);
            }
            c.base_url.clone_from(&p.base_url);
            c.credentials_file = p.credentials_file.as_ref().map(Into::into);
            if let Some(m) = p.max_tokens {
                c.max_tokens = m;
            }
            c.headers = headers(p)?;
            c.first_byte_timeout = timeout(config, p);
            Ok(set.with(
                id,
                Vertex::vertex(c, client.clone()).map_err(|e| e.to_string())?,
            ))
        }
        other => Err(format!(
            "provider `{id}`: kind \"{}\" is not available yet",
            other.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, extra: &str) -> Result<(), String> {
        let toml = format!("id = \"p\"\nkind = \"{kind}\"\nmodels = [\"m\"]\n{extra}");
        let p: ProviderConfig = toml::from_str(&toml).map_err(|e| e.to_string())?;
        validate(&p, "providers[0] (`p`)")
    }

    #[test]
    fn per_kind_fields_are_checked() {
        assert!(entry("anthropic", "max_tokens = 100").is_ok());
        assert!(entry("gemini", "").is_ok());
        assert!(entry("ollama", "base_url = \"http://127.0.0.1:11434\"").is_ok());
        assert!(entry("vertex", "project = \"x\"\nlocation = \"global\"").is_ok());
        let e = entry("azure", "").unwrap_err();
        assert!(e.contains("needs `base_url`"), "{e}");
        let e = entry("gemini", "deployment = \"d\"").unwrap_err();
        assert!(
            e.contains("`deployment` does not apply to kind \"gemini\""),
            "{e}"
        );
        let e = entry("openresponses", "").unwrap_err();
        assert!(e.contains("needs `base_url`"), "{e}");
        let e = entry("ollama", "base_url = \"localhost:11434\"").unwrap_err();
        assert!(e.contains("http://"), "{e}");
        let e = entry("anthropic", "max_tokens = 0").unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
    }
}
