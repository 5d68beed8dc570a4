//! The configuration of classifiers, rules, virtual models, parameter profiles and discovery.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `[classify]`: request tags before routing, response tags after.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifyConfig {
    /// The built-in tags `vision`, `tools`, `code` and `long_context`.
    pub builtins: bool,
    /// `long_context` from this many estimated tokens (a token is about 4 characters).
    pub long_context_tokens: usize,
    /// Tag answers that open with a refusal (or that the provider flags) `refusal`.
    pub refusal: bool,
    /// Phrases added to the built-in refusal openers (matched in any case).
    pub refusal_phrases: Vec<String>,
    /// Tag answers that stopped at their token limit `truncated`.
    pub truncated: bool,
    /// Largest non-streamed answer read whole to put its tags in a header.
    pub max_buffer_bytes: usize,
    /// Custom tags, each given by one test.
    pub tags: Vec<TagConfig>,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            builtins: true,
            long_context_tokens: switchyard_classify::DEFAULT_LONG_CONTEXT_TOKENS,
            refusal: true,
            refusal_phrases: Vec::new(),
            truncated: true,
            max_buffer_bytes: 1 << 20,
            tags: Vec::new(),
        }
    }
}

/// One `[[classify.tags]]` entry: a tag and exactly one kind of test.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// The tag given.
    pub tag: String,
    /// Whole words, any case.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A regex on the prompt text (`(?i)` for any case).
    #[serde(default)]
    pub regex: Option<String>,
    /// Which text keywords and regexes read: `all` (default) or `last_user`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Length range, in characters.
    #[serde(default)]
    pub min_chars: Option<usize>,
    /// Length range, in characters.
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// Length range, in estimated tokens.
    #[serde(default)]
    pub min_tokens: Option<usize>,
    /// Length range, in estimated tokens.
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// A built-in test under this tag's name: `vision`, `tools`, `code`, `long_context`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// A target as written in config: `"provider/model"`, a virtual model's
/// name, or a table with weights, profile, price and quality.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetConfig {
    /// `"provider/model"` or a virtual model's name.
    Name(String),
    /// `{ target = "provider/model", weight = 2, ... }`.
    Table(TargetTable),
}

/// The table form of a target.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetTable {
    /// `"provider/model"` or a virtual model's name.
    pub target: String,
    /// Share under the `weighted` strategy (default 1).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Parameter profile for this target.
    #[serde(default)]
    pub profile: Option<String>,
    /// USD per million input tokens (for `cheapest` and `quality_cost`).
    #[serde(default)]
    pub input_price: Option<f64>,
    /// USD per million output tokens.
    #[serde(default)]
    pub output_price: Option<f64>,
    /// Quality score in 0..=1 (for `quality_cost`).
    #[serde(default)]
    pub quality: Option<f64>,
}

/// One target or several.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Targets {
    /// Several targets (tried first: a one-element list would otherwise
    /// read as a target table, whose fields serde also takes by position).
    Many(Vec<TargetConfig>),
    /// A single target.
    One(TargetConfig),
}

impl Targets {
    /// The targets as a list.
    pub fn list(&self) -> Vec<TargetConfig> {
        match self {
            Targets::One(t) => vec![t.clone()],
            Targets::Many(v) => v.clone(),
        }
    }
}

/// One name or several.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Names {
    /// One name.
    One(String),
    /// Several names.
    Many(Vec<String>),
}

impl Names {
    /// The names as a list.
    pub fn list(&self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s.clone()],
            Names::Many(v) => v.clone(),
        }
    }
}

/// Sticky routing in config: `{ header = "x-session-id" }` or `{ field = "user" }`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickyConfig {
    /// Key: this request header's value.
    #[serde(default)]
    pub header: Option<String>,
    /// Key: this body field's value (dotted path).
    #[serde(default)]
    pub field: Option<String>,
    /// How long a key stays bound after its last request (default 3600).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// The most keys remembered (default 100000).
    #[serde(default)]
    pub capacity: Option<usize>,
}

/// One `[virtual_models.<name>]` entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualModelConfig {
    /// Its targets, in order.
    pub targets: Targets,
    /// `first_available` (default), `round_robin`, `weighted`, `random`, `pinned`,
    /// `cheapest`, `fastest`, `highest_throughput`, `quality_cost`, `least_loaded`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// `cheapest`: leave out targets above this blended price per million tokens.
    #[serde(default)]
    pub max_price: Option<f64>,
    /// `quality_cost`: 0..=1, weight of quality against cost (default 0.5).
    #[serde(default)]
    pub quality_bias: Option<f64>,
    /// Keep a conversation on one target.
    #[serde(default)]
    pub sticky: Option<StickyConfig>,
    /// Parameter profile for targets without their own.
    #[serde(default)]
    pub profile: Option<String>,
    /// Shown by `GET /v1/models`.
    #[serde(default)]
    pub description: Option<String>,
}

/// One `[[rules]]` entry: conditions (all must hold) and a destination.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Names the rule in errors, logs and `x-switchyard-route` (default `rules[i]`).
    #[serde(default)]
    pub name: Option<String>,
    /// The requested model is one of these.
    #[serde(default)]
    pub model: Option<Names>,
    /// The requested model starts with one of these.
    #[serde(default)]
    pub model_prefix: Option<Names>,
    /// The requested model matches one of these globs.
    #[serde(default)]
    pub model_glob: Option<Names>,
    /// The endpoint is one of these (`chat_completions`, `embeddings`, `messages`, ...).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// The request has every one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The request has at least one of these tags.
    #[serde(default)]
    pub any_tags: Vec<String>,
    /// The request has none of these tags.
    #[serde(default)]
    pub not_tags: Vec<String>,
    /// The prompt text matches this regex.
    #[serde(default)]
    pub prompt_regex: Option<String>,
    /// Body length range, in bytes.
    #[serde(default)]
    pub min_body_bytes: Option<usize>,
    /// Body length range, in bytes.
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    /// Estimated prompt tokens range.
    #[serde(default)]
    pub min_tokens: Option<usize>,
    /// Estimated prompt tokens range.
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// `x-source` is one of these.
    #[serde(default)]
    pub sources: Vec<String>,
    /// `x-project` (or the caller's project) is one of these.
    #[serde(default)]
    pub projects: Vec<String>,
    /// The caller's key id, key label or team is one of these.
    #[serde(default)]
    pub callers: Vec<String>,
    /// Headers with exactly these values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values match these regexes.
    #[serde(default)]
    pub header_regex: BTreeMap<String, String>,
    /// Headers that must be present.
    #[serde(default)]
    pub header_present: Vec<String>,
    /// Destination: targets and virtual models.
    #[serde(default)]
    pub to: Option<Targets>,
    /// Destination: the requested model, on whichever of these providers discovered it.
    #[serde(default)]
    pub discovered: Option<Names>,
    /// `first_available` (default), `round_robin`, `weighted`, `random`, `pinned`,
    /// `cheapest`, `fastest`, `highest_throughput`, `quality_cost`, `least_loaded`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// `cheapest`: leave out targets above this blended price per million tokens.
    #[serde(default)]
    pub max_price: Option<f64>,
    /// `quality_cost`: 0..=1, weight of quality against cost (default 0.5).
    #[serde(default)]
    pub quality_bias: Option<f64>,
    /// Keep a conversation on one target.
    #[serde(default)]
    pub sticky: Option<StickyConfig>,
    /// Parameter profile for targets without their own.
    #[serde(default)]
    pub profile: Option<String>,
}

/// One `[profiles.<name>]` entry: defaults < caller < clamp, bounds, removals.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Set when the caller did not (dotted keys for nested fields).
    #[serde(default)]
    pub defaults: Map<String, Value>,
    /// Always set, whatever the caller sent.
    #[serde(default)]
    pub clamp: Map<String, Value>,
    /// Numeric lower bounds.
    #[serde(default)]
    pub min: BTreeMap<String, f64>,
    /// Numeric upper bounds (`max_tokens = 8192`).
    #[serde(default)]
    pub max: BTreeMap<String, f64>,
    /// Fields the target rejects.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// One `[[profile_targets]]` entry: a profile for every matching target.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileTargetConfig {
    /// The provider (any provider when absent).
    #[serde(default)]
    pub provider: Option<String>,
    /// Model globs (all models when empty).
    #[serde(default)]
    pub models: Vec<String>,
    /// The profile applied.
    pub profile: String,
}

/// One `[[discovery]]` entry: ask an upstream what models it serves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// The provider whose models are discovered.
    pub provider: String,
    /// `ollama` (`GET /api/tags`) or `openai` (`GET /models` under the API root).
    pub source: String,
    /// The server's root (ollama) or API root (openai); default: from the provider's `base_url`.
    #[serde(default)]
    pub url: Option<String>,
}
