//! The gateway's configuration: defaults < TOML file < `SWITCHYARD_*` env < CLI flags.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Top-level keys that may also come from `SWITCHYARD_<KEY>` environment variables.
const ENV_KEYS: &[&str] = &[
    "listen",
    "body_limit_bytes",
    "backend_timeout_secs",
    "connect_timeout_secs",
    "discovery_interval_secs",
    "shutdown_grace_secs",
    "workers",
];

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on, `host:port`.
    pub listen: String,
    /// Largest request body accepted, in bytes (413 above).
    pub body_limit_bytes: usize,
    /// Default time to wait for a provider's first byte, in seconds (504 after).
    pub backend_timeout_secs: f64,
    /// Time to wait for a TCP/TLS connection to a provider, in seconds (502 after).
    pub connect_timeout_secs: f64,
    /// How often providers with `discover = true` are asked for their models.
    pub discovery_interval_secs: u64,
    /// On SIGTERM/Ctrl-C, how long in-flight requests may take to finish.
    pub shutdown_grace_secs: u64,
    /// Runtime worker threads (0 = one per CPU core).
    pub workers: usize,
    /// The admin API's key (`Authorization: Bearer`); unset: the admin API answers loopback clients only.
    pub admin_key: Option<Secret>,
    /// Client authentication: open, one gateway key, or virtual keys (`[auth]`).
    pub auth: crate::access::AuthConfig,
    /// The journal of every exchange (`[journal]`).
    pub journal: switchyard_journal::JournalConfig,
    /// Pricing and token estimates (`[usage]`).
    pub usage: crate::observe::UsageConfig,
    /// The Prometheus endpoint (`[metrics]`).
    pub metrics: crate::observe::MetricsConfig,
    /// The providers, in routing order.
    pub providers: Vec<ProviderConfig>,
    /// Retries across candidates, circuit breakers, stream guard (`[failover]`).
    pub failover: switchyard_failover::FailoverPolicy,
    /// The prompt guard: secrets and personal data in prompts (`[guard]`).
    pub guard: switchyard_guard::GuardConfig,
    /// Rate limits and budgets per key, team and model (`[limits]`).
    pub limits: switchyard_limit::LimitsConfig,
    /// Request and response classifiers (`[classify]`).
    pub classify: crate::routing::config::ClassifyConfig,
    /// Routing rules, tried in order (`[[rules]]`).
    pub rules: Vec<crate::routing::config::RuleConfig>,
    /// Model names that stand for targets (`[virtual_models.<name>]`).
    pub virtual_models: BTreeMap<String, crate::routing::config::VirtualModelConfig>,
    /// Parameter profiles (`[profiles.<name>]`).
    pub profiles: BTreeMap<String, crate::routing::config::ProfileConfig>,
    /// Profiles applied to targets by provider and model (`[[profile_targets]]`).
    pub profile_targets: Vec<crate::routing::config::ProfileTargetConfig>,
    /// Model discovery for `discovered` rules (`[[discovery]]`).
    pub discovery: Vec<crate::routing::config::DiscoveryConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: switchyard_core::ParseLayer::DEFAULT_LIMIT,
            backend_timeout_secs: 300.0,
            connect_timeout_secs: 10.0,
            discovery_interval_secs: 300,
            shutdown_grace_secs: 30,
            workers: 0,
            admin_key: None,
            auth: Default::default(),
            journal: Default::default(),
            usage: Default::default(),
            metrics: Default::default(),
            providers: Vec::new(),
            failover: switchyard_failover::FailoverPolicy::default(),
            guard: Default::default(),
            limits: Default::default(),
            classify: Default::default(),
            rules: Vec::new(),
            virtual_models: BTreeMap::new(),
            profiles: BTreeMap::new(),
            profile_targets: Vec::new(),
            discovery: Vec::new(),
        }
    }
}

/// Which provider implementation serves a `[[providers]]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, LM Studio, Groq, Together, Ollama's `/v1` ...).
    Openai,
    /// The built-in mock: answers in the OpenAI format without a network.
    Mock,
    /// Anthropic's Messages API.
    Anthropic,
    /// Azure OpenAI: a deployment per model, `api-key` header, `api-version`.
    Azure,
    /// Google AI Studio's Gemini API (`generateContent`).
    Gemini,
    /// Vertex AI: Gemini and Claude models, Application Default Credentials.
    Vertex,
    /// Ollama's native `/api/chat`.
    Ollama,
    /// A Responses-API server (`/v1/responses`): OpenAI or any OpenResponses server.
    Openresponses,
}

impl ProviderKind {
    /// The kind's name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Mock => "mock",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Azure => "azure",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Vertex => "vertex",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Openresponses => "openresponses",
        }
    }
}

/// One `[[providers]]` entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Unique id, used in routing (`<id>/<model>`), headers and metrics.
    pub id: String,
    /// The implementation.
    pub kind: ProviderKind,
    /// API root including `/v1` (openai kind).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Key sent as `Authorization: Bearer` (openai kind); if unset, the client's own header is forwarded.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Extra headers sent with every request to this provider.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Model names or globs this provider serves (`gpt-*`); first provider to match wins.
    #[serde(default)]
    pub models: Vec<String>,
    /// Ask the upstream's `GET /models` what it serves, and route those too (openai kind; default true).
    #[serde(default)]
    pub discover: Option<bool>,
    /// Overrides `backend_timeout_secs` for this provider.
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Azure: the deployment name (default: the model name).
    #[serde(default)]
    pub deployment: Option<String>,
    /// Azure: the `api-version` query parameter.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Anthropic (and Claude on Vertex): `max_tokens` when the client sets none (default 4096).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Anthropic: `anthropic-version` when the client sends none (default "2023-06-01").
    #[serde(default)]
    pub anthropic_version: Option<String>,
    /// Vertex: the Google Cloud project (default: the credentials' project).
    #[serde(default)]
    pub project: Option<String>,
    /// Vertex: the region, e.g. "us-central1" or "global".
    #[serde(default)]
    pub location: Option<String>,
    /// Vertex: a credentials JSON file (default: Application Default Credentials).
    #[serde(default)]
    pub credentials_file: Option<String>,
    /// Time to connect (TCP + TLS) to this provider; overrides `connect_timeout_secs`.
    #[serde(default)]
    pub connect_timeout_secs: Option<f64>,
    /// Longest silence between two chunks of a streamed answer; overrides `failover.idle_timeout_secs`.
    #[serde(default)]
    pub idle_timeout_secs: Option<f64>,
    /// Speak HTTP/2 without negotiating it: h2c to an `http://` URL, only h2 to an `https://` one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub http2_prior_knowledge: bool,
    /// Requests one HTTP/2 connection to this provider carries at once before another is opened (default 100).
    #[serde(default)]
    pub http2_max_streams: Option<usize>,
    /// Don't run active health probes against this provider.
    #[serde(default)]
    pub skip_probe: bool,
    /// Path (below `base_url`) of the active health probe (default `/models`).
    #[serde(default)]
    pub health_check_path: Option<String>,
    /// Seconds between active health probes (default 60).
    #[serde(default)]
    pub health_check_interval_secs: Option<f64>,
    /// Mock: delay between streamed chunks, in milliseconds (default 20).
    #[serde(default)]
    pub chunk_delay_ms: Option<u64>,
    /// Mock: status of injected errors (default 500).
    #[serde(default)]
    pub error_status: Option<u16>,
    /// Mock: every Nth request fails with `error_status` (0 = never).
    #[serde(default)]
    pub error_every: Option<u32>,
    /// Mock: length of embedding vectors (default 16).
    #[serde(default)]
    pub embedding_dims: Option<usize>,
}

impl ProviderConfig {
    /// Whether this provider's models are discovered from the upstream.
    pub fn discovers(&self) -> bool {
        self.kind == ProviderKind::Openai && self.discover.unwrap_or(true)
    }
}

/// A secret from config: never printed, logged or serialised.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// Command-line overrides, the highest layer of configuration.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--config`: the TOML file (default `switchyard.toml` if present).
    pub config: Option<PathBuf>,
    /// `--listen host:port`.
    pub listen: Option<String>,
    /// `--port N` (keeps the host of `listen`).
    pub port: Option<u16>,
    /// `--bind HOST` (keeps the port of `listen`).
    pub bind: Option<String>,
    /// `--backend-timeout-secs N`.
    pub backend_timeout_secs: Option<f64>,
}

/// A configuration problem, naming the file, the field and the problem (never a secret's value).
#[derive(Debug)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Where the configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A TOML file.
    File(PathBuf),
    /// No file: providers from `OPENAI_API_KEY` / `OPENAI_BASE_URL`, or a local Ollama.
    Environment,
}

impl Config {
    /// Loads the configuration: defaults < TOML file < `SWITCHYARD_*` env < `overrides`,
    /// then resolves `${VAR}` references and validates.
    pub fn load(overrides: &Overrides) -> Result<(Config, Source), ConfigError> {
        let path = match &overrides.config {
            Some(p) if !p.exists() => {
                return Err(ConfigError(format!(
                    "config file `{}` not found",
                    p.display()
                )));
            }
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from("switchyard.toml")).filter(|p| p.exists()),
        };
        let toml = path.as_ref().map(Toml::file_exact);
        Config::load_from(overrides, path, toml)
    }

    /// Loads `text` as if it were the content of the config file `path`, with
    /// the same layers, interpolation and validation as [`Config::load`] (the
    /// admin API checks an edited file this way before writing it).
    pub fn load_str(overrides: &Overrides, path: &Path, text: &str) -> Result<Config, ConfigError> {
        let toml = Some(Toml::string(text));
        Config::load_from(overrides, Some(path.to_owned()), toml).map(|(c, _)| c)
    }

    fn load_from(
        overrides: &Overrides,
        path: Option<PathBuf>,
        toml: Option<figment::providers::Data<Toml>>,
    ) -> Result<(Config, Source), ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(toml) = toml {
            figment = figment.merge(toml);
        }
        figment = figment.merge(Env::prefixed("SWITCHYARD_").only(ENV_KEYS));
        if let Some(l) = &overrides.listen {
            figment = figment.merge(Serialized::default("listen", l));
        }
        if let Some(t) = overrides.backend_timeout_secs {
            figment = figment.merge(Serialized::default("backend_timeout_secs", t));
        }
        let origin = match &path {
            Some(p) => format!("config file `{}`", p.display()),
            None => "configuration".to_owned(),
        };
        let mut value: serde_json::Value = figment
            .extract()
            .map_err(|e| ConfigError(format!("{origin}: {e}")))?;
        interpolate(&mut value, &mut String::new(), &|k| std::env::var(k).ok())
            .map_err(|e| ConfigError(format!("{origin}: {e}")))?;
        let mut config: Config = serde_path_to_error::deserialize(value)
            .map_err(|e| ConfigError(format!("{origin}: `{}`: {}", e.path(), e.inner())))?;
        config.apply_listen_overrides(overrides)?;
        let source = match path {
            Some(p) => Source::File(p),
            None => {
                if config.providers.is_empty() {
                    config.providers = providers_from_env(|k| std::env::var(k).ok());
                }
                Source::Environment
            }
        };
        config
            .validate()
            .map_err(|e| ConfigError(format!("{origin}: {e}")))?;
        Ok((config, source))
    }

    fn apply_listen_overrides(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        if o.port.is_none() && o.bind.is_none() {
            return Ok(());
        }
        let (host, port) = self
            .listen
            .rsplit_once(':')
            .ok_or_else(|| ConfigError(format!("`listen` = `{}` is not host:port", self.listen)))?;
        let host = o.bind.clone().unwrap_or_else(|| host.to_owned());
        let port = o
            .port
            .map(|p| p.to_string())
            .unwrap_or_else(|| port.to_owned());
        self.listen = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(())
    }

    /// Checks what serde cannot: required fields per kind, unique ids, sane numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.body_limit_bytes == 0 {
            return Err("`body_limit_bytes` must be greater than 0".into());
        }
        for (name, v) in [
            ("backend_timeout_secs", self.backend_timeout_secs),
            ("connect_timeout_secs", self.connect_timeout_secs),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "`{name}` must be a positive number of seconds, got {v}"
                ));
            }
        }
        self.failover
            .validate()
            .map_err(|e| format!("[failover]: {e}"))?;
        switchyard_guard::Policy::from_config(&self.guard).map_err(|e| format!("[guard]: {e}"))?;
        self.limits.policy()?;
        for (i, p) in self.providers.iter().enumerate() {
            let at_ = format!("providers[{i}] (`{}`)", p.id);
            for (name, v) in [
                ("idle_timeout_secs", p.idle_timeout_secs),
                ("connect_timeout_secs", p.connect_timeout_secs),
                ("health_check_interval_secs", p.health_check_interval_secs),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v > 0.0)
                {
                    return Err(format!(
                        "{at_}: `{name}` must be a positive number of seconds"
                    ));
                }
            }
            if p.http2_max_streams == Some(0) {
                return Err(format!("{at_}: `http2_max_streams` must be at least 1"));
            }
            let at = format!("providers[{i}] (`{}`)", p.id);
            if p.id.is_empty() || p.id.contains('/') || p.id.contains(char::is_whitespace) {
                return Err(format!(
                    "providers[{i}]: `id` must be non-empty, without `/` or spaces"
                ));
            }
            if self.providers[..i].iter().any(|q| q.id == p.id) {
                return Err(format!(
                    "{at}: id `{}` is used by an earlier provider",
                    p.id
                ));
            }
            if let Some(t) = p.timeout_secs
                && !(t.is_finite() && t > 0.0)
            {
                return Err(format!("{at}: `timeout_secs` must be a positive number"));
            }
            match p.kind {
                ProviderKind::Openai => {
                    let url = p.base_url.as_deref().unwrap_or_default();
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(format!(
                            "{at}: `base_url` must be an http:// or https:// URL (e.g. \"https://api.openai.com/v1\"), got `{url}`"
                        ));
                    }
                    if p.models.is_empty() && !p.discovers() {
                        return Err(format!(
                            "{at}: serves no models: list `models` (globs allowed) or set `discover = true`"
                        ));
                    }
                    let mock_only = [
                        ("chunk_delay_ms", p.chunk_delay_ms.is_some()),
                        ("error_status", p.error_status.is_some()),
                        ("error_every", p.error_every.is_some()),
                        ("embedding_dims", p.embedding_dims.is_some()),
                    ];
                    if let Some((field, _)) = mock_only.iter().find(|(_, set)| *set) {
                        return Err(format!("{at}: `{field}` applies to kind \"mock\" only"));
                    }
                }
                ProviderKind::Anthropic
                | ProviderKind::Azure
                | ProviderKind::Gemini
                | ProviderKind::Vertex
                | ProviderKind::Ollama
                | ProviderKind::Openresponses => crate::upstreams::validate(p, &at)?,
                ProviderKind::Mock => {
                    if p.base_url.is_some() || p.api_key.is_some() {
                        return Err(format!(
                            "{at}: kind \"mock\" takes no `base_url` or `api_key`"
                        ));
                    }
                    if let Some(s) = p.error_status
                        && !(400..=599).contains(&s)
                    {
                        return Err(format!("{at}: `error_status` must be 400..=599, got {s}"));
                    }
                }
            }
            for name in p.headers.keys() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(format!(
                        "{at}: `headers` has an invalid header name `{name}`"
                    ));
                }
            }
        }
        crate::routing::validate(self)?;
        self.auth.validate(&self.providers)?;
        Ok(())
    }
}

/// With no config file: an OpenAI-compatible provider from `OPENAI_API_KEY` /
/// `OPENAI_BASE_URL`, else a local Ollama's OpenAI-compatible API.
pub fn providers_from_env(var: impl Fn(&str) -> Option<String>) -> Vec<ProviderConfig> {
    let key = var("OPENAI_API_KEY").filter(|k| !k.is_empty());
    let base = var("OPENAI_BASE_URL").filter(|k| !k.is_empty());
    let (id, base_url, models) = if key.is_some() || base.is_some() {
        let base = base.unwrap_or_else(|| "https://api.openai.com/v1".into());
        ("openai", base, vec!["*".to_owned()])
    } else {
        ("local", "http://127.0.0.1:11434/v1".to_owned(), Vec::new())
    };
    vec![ProviderConfig {
        id: id.into(),
        kind: ProviderKind::Openai,
        base_url: Some(base_url),
        api_key: key.map(Secret),
        headers: BTreeMap::new(),
        models,
        discover: Some(true),
        timeout_secs: None,
        connect_timeout_secs: None,
        idle_timeout_secs: None,
        http2_prior_knowledge: false,
        http2_max_streams: None,
        skip_probe: false,
        health_check_path: None,
        health_check_interval_secs: None,
        deployment: None,
        api_version: None,
        max_tokens: None,
        anthropic_version: None,
        project: None,
        location: None,
        credentials_file: None,
        chunk_delay_ms: None,
        error_status: None,
        error_every: None,
        embedding_dims: None,
    }]
}

/// Replaces `${VAR}` (and `${VAR:-default}`) in every string; `$${` is a literal `${`.
/// An unset variable without a default is an error naming the variable and the field.
fn interpolate(
    value: &mut serde_json::Value,
    path: &mut String,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('$') => {
            *s = expand(s, var).map_err(|e| format!("`{path}`: {e}"))?
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                interpolate(item, path, var)?;
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                interpolate(item, path, var)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand(s: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(lit) = after.strip_prefix("${") {
            out.push_str("${");
            rest = lit;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "unclosed `${` in value".to_owned())?;
            let (name, default) = match body[..end].split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (&body[..end], None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a valid environment variable reference"
                ));
            }
            match (var(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!("environment variable `{name}` is not set"));
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The path of a config file, for messages.
pub fn describe(source: &Source) -> String {
    match source {
        Source::File(p) => Path::new(p).display().to_string(),
        Source::Environment => "environment (no config file)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "KEY" => Some("sk-1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_references() {
        assert_eq!(expand("Bearer ${KEY}", &env).unwrap(), "Bearer sk-1");
        assert_eq!(expand("${NOPE:-http://x}/v1", &env).unwrap(), "http://x/v1");
        assert_eq!(expand("a$${KEY}b", &env).unwrap(), "a${KEY}b");
        assert_eq!(expand("cost $5", &env).unwrap(), "cost $5");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        let e = expand("${NOPE}", &env).unwrap_err();
        assert_eq!(e, "environment variable `NOPE` is not set");
        assert!(expand("${KEY", &env).is_err());
        assert!(expand("${A B}", &env).is_err());
    }

    #[test]
    fn interpolation_names_the_field() {
        let mut v = serde_json::json!({"providers": [{"api_key": "${NOPE}"}]});
        let e = interpolate(&mut v, &mut String::new(), &env).unwrap_err();
        assert_eq!(
            e,
            "`providers[0].api_key`: environment variable `NOPE` is not set"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("sk-very-secret");
        assert!(!format!("{s:?}").contains("very"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    }

    #[test]
    fn env_fallback() {
        let p = providers_from_env(env);
        assert_eq!(p[0].base_url.as_deref(), Some("http://127.0.0.1:11434/v1"));
        let p = providers_from_env(|k| (k == "OPENAI_API_KEY").then(|| "sk".to_owned()));
        assert_eq!(p[0].id, "openai");
        assert_eq!(p[0].models, ["*"]);
        assert_eq!(p[0].api_key.as_ref().unwrap().expose(), "sk");
    }

    #[test]
    fn listen_overrides() {
        let mut c = Config::default();
        c.apply_listen_overrides(&Overrides {
            port: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        c.apply_listen_overrides(&Overrides {
            bind: Some("::1".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.listen, "[::1]:0");
    }
}
