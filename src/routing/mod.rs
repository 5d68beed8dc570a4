//! Routing in the default binary: builds the classify, route and params
//! layers from the `[classify]`, `[[rules]]`, `[virtual_models]`,
//! `[profiles]`, `[[profile_targets]]` and `[[discovery]]` sections.

pub mod config;
mod discovery;
mod targets;

use std::sync::Arc;

use serde_json::{Value, json};
use switchyard_classify::{
    Classifier, Classifiers, ClassifyLayer, DEFAULT_REFUSAL_PHRASES, LengthRange,
    ResponseClassifiers, Scope,
};
use switchyard_core::{AlwaysHealthy, Endpoint, TargetHealth};
use switchyard_params::{ParamsLayer, Profile, Profiles};
use switchyard_route::{HeaderMatch, RouteTable, Rule, Rules, TargetStats, VirtualModel};

pub use discovery::Discovery;

use crate::config::Config;
use config::{ClassifyConfig, ProfileConfig, RuleConfig, TagConfig};
use targets::Resolver;

/// The three layers and the discovery task, built from the configuration.
pub struct Routing {
    /// Tags requests and answers (before routing).
    pub classify: ClassifyLayer,
    /// Rules, virtual models and the provider table.
    pub rules: Arc<Rules>,
    /// Per-target parameter profiles (inside failover, per attempt).
    pub params: ParamsLayer,
    /// Model discovery for `discovered` rules.
    pub discovery: Arc<Discovery>,
}

/// Builds everything over `table` (whose directory discovery fills).
pub fn build(
    config: &Config,
    table: Arc<RouteTable>,
    health: Arc<dyn TargetHealth>,
    stats: TargetStats,
    client: reqwest::Client,
) -> Result<Routing, String> {
    let classifiers = classifiers(&config.classify)?;
    let profiles = profiles(config)?;
    let rules = rules(config, table.clone(), health, stats)?;
    let discovery = discovery::sources(config, table.directory().clone(), client)?;
    Ok(Routing {
        classify: ClassifyLayer::new(Arc::new(classifiers)),
        rules: Arc::new(rules),
        params: ParamsLayer::new(Arc::new(profiles)),
        discovery: Arc::new(discovery),
    })
}

/// Checks the routing sections against the providers, as a start would.
pub fn validate(config: &Config) -> Result<(), String> {
    let mut table = RouteTable::builder();
    for p in &config.providers {
        table = table.provider(&p.id, Vec::<String>::new());
    }
    let table = Arc::new(table.build().map_err(|e| e.to_string())?);
    classifiers(&config.classify)?;
    profiles(config)?;
    rules(config, table, Arc::new(AlwaysHealthy), TargetStats::new())?;
    discovery::check(config)
}

/// Virtual models as `GET /v1/models` entries.
pub fn model_entries(rules: &Rules) -> Vec<Value> {
    rules
        .virtual_models()
        .map(|(name, description)| {
            let mut v =
                json!({"id": name, "object": "model", "created": 0, "owned_by": "switchyard"});
            if let Some(d) = description {
                v["description"] = json!(d);
            }
            v
        })
        .collect()
}

fn classifiers(c: &ClassifyConfig) -> Result<Classifiers, String> {
    if c.long_context_tokens == 0 {
        return Err("`classify.long_context_tokens` must be greater than 0".into());
    }
    let mut out = Classifiers::none();
    if c.builtins {
        out = out
            .with(Classifier::vision("vision"))
            .with(Classifier::tools("tools"))
            .with(Classifier::code("code"))
            .with(Classifier::long_context(
                "long_context",
                c.long_context_tokens,
            ));
    }
    for (i, t) in c.tags.iter().enumerate() {
        let classifier = tag(t).map_err(|e| format!("`classify.tags[{i}]` (`{}`): {e}", t.tag))?;
        out = out.with(classifier);
    }
    let refusal = c.refusal.then(|| {
        DEFAULT_REFUSAL_PHRASES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(c.refusal_phrases.iter().cloned())
            .collect()
    });
    let response = ResponseClassifiers::default()
        .refusal(refusal)
        .truncated(c.truncated)
        .max_buffer(c.max_buffer_bytes);
    Ok(out.response(response))
}

fn tag(t: &TagConfig) -> Result<Classifier, String> {
    if t.tag.trim().is_empty() || t.tag.contains(',') {
        return Err("`tag` must be non-empty, without commas".into());
    }
    let scope = match t.scope.as_deref() {
        None | Some("all") => Scope::All,
        Some("last_user") => Scope::LastUser,
        Some(s) => {
            return Err(format!(
                "`scope` must be \"all\" or \"last_user\", got `{s}`"
            ));
        }
    };
    let range = LengthRange {
        min_chars: t.min_chars,
        max_chars: t.max_chars,
        min_tokens: t.min_tokens,
        max_tokens: t.max_tokens,
    };
    let kinds = [
        !t.keywords.is_empty(),
        t.regex.is_some(),
        range != LengthRange::default(),
        t.kind.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(
            "give exactly one test: `keywords`, `regex`, a length range (`min_chars` / `max_chars` / `min_tokens` / `max_tokens`) or `kind`"
                .into(),
        );
    }
    if !t.keywords.is_empty() {
        return Classifier::keywords(&t.tag, &t.keywords, scope);
    }
    if let Some(re) = &t.regex {
        return Classifier::regex(&t.tag, re, scope);
    }
    match t.kind.as_deref() {
        None => Classifier::length(&t.tag, range),
        Some("vision") => Ok(Classifier::vision(&t.tag)),
        Some("tools") => Ok(Classifier::tools(&t.tag)),
        Some("code") => Ok(Classifier::code(&t.tag)),
        Some("long_context") => Ok(Classifier::long_context(
            &t.tag,
            switchyard_classify::DEFAULT_LONG_CONTEXT_TOKENS,
        )),
        Some(k) => Err(format!(
            "unknown `kind` `{k}` (one of: vision, tools, code, long_context)"
        )),
    }
}

fn profile(name: &str, p: &ProfileConfig) -> Result<Profile, String> {
    let mut out = Profile::new();
    for (k, v) in &p.defaults {
        out = out.default_value(k, v.clone());
    }
    for (k, v) in &p.clamp {
        out = out.clamp(k, v.clone());
    }
    for (k, v) in &p.min {
        out = out.min(k, *v);
    }
    for (k, v) in &p.max {
        out = out.max(k, *v);
    }
    for k in &p.remove {
        out = out.remove(k);
    }
    out.validate()
        .map_err(|e| format!("`profiles.{name}`: {e}"))?;
    Ok(out)
}

fn profiles(config: &Config) -> Result<Profiles, String> {
    let mut b = Profiles::builder();
    for (name, p) in &config.profiles {
        b = b.profile(name.as_str(), profile(name, p)?);
    }
    for (i, t) in config.profile_targets.iter().enumerate() {
        if let Some(p) = &t.provider
            && !config.providers.iter().any(|q| &q.id == p)
        {
            return Err(format!("`profile_targets[{i}]`: unknown provider `{p}`"));
        }
        b = b.target(t.provider.as_deref(), t.models.clone(), t.profile.as_str());
    }
    b.build()
        .map_err(|e| e.to_string().replace("target rule ", "profile_targets["))
}

fn rules(
    config: &Config,
    table: Arc<RouteTable>,
    health: Arc<dyn TargetHealth>,
    stats: TargetStats,
) -> Result<Rules, String> {
    let resolver = Resolver::new(config);
    let known_profile = |p: &Option<String>, at: &str| match p {
        Some(p) if !config.profiles.contains_key(p) => Err(format!(
            "{at}: unknown profile `{p}` (define it under [profiles.{p}])"
        )),
        _ => Ok(()),
    };
    let mut b = Rules::builder(table).health(health).stats(stats);
    for (name, vm) in &config.virtual_models {
        let at = format!("virtual model `{name}`");
        known_profile(&vm.profile, &at)?;
        let mut v = VirtualModel::new(name.as_str()).strategy(resolver.strategy(
            vm.strategy.as_deref(),
            vm.max_price,
            vm.quality_bias,
            &at,
        )?);
        for t in vm.targets.list() {
            v = v.target(resolver.target(&t, &at)?);
        }
        if let Some(s) = &vm.sticky {
            v = v.sticky(targets::sticky(s, &at)?);
        }
        if let Some(p) = &vm.profile {
            v = v.profile(p.as_str());
        }
        if let Some(d) = &vm.description {
            v = v.description(d.as_str());
        }
        b = b.virtual_model(v);
    }
    for (i, r) in config.rules.iter().enumerate() {
        let name = r.name.clone().unwrap_or_else(|| format!("rules[{i}]"));
        let at = format!("rule `{name}` (rules[{i}])");
        known_profile(&r.profile, &at)?;
        b = b.rule(rule(r, name, &resolver, &at)?);
    }
    b.build().map_err(|e| e.to_string())
}

fn rule(r: &RuleConfig, name: String, resolver: &Resolver<'_>, at: &str) -> Result<Rule, String> {
    let mut rule = Rule::new(name);
    for m in r.model.iter().flat_map(|n| n.list()) {
        rule = rule.model(m);
    }
    for m in r.model_prefix.iter().flat_map(|n| n.list()) {
        rule = rule.model_prefix(m);
    }
    for m in r.model_glob.iter().flat_map(|n| n.list()) {
        rule = rule.model_glob(m);
    }
    for e in &r.endpoints {
        let endpoint = Endpoint::ALL
            .into_iter()
            .find(|x| x.as_str() == e)
            .ok_or_else(|| {
                let names: Vec<&str> = Endpoint::ALL.iter().map(|x| x.as_str()).collect();
                format!(
                    "{at}: unknown endpoint `{e}` (one of: {})",
                    names.join(", ")
                )
            })?;
        rule = rule.endpoint(endpoint);
    }
    for t in &r.tags {
        rule = rule.tag(t.as_str());
    }
    if !r.any_tags.is_empty() {
        rule = rule.any_tag(r.any_tags.iter().cloned());
    }
    for t in &r.not_tags {
        rule = rule.without_tag(t.as_str());
    }
    if let Some(re) = &r.prompt_regex {
        rule = rule.prompt_regex(re.as_str());
    }
    rule = rule
        .body_bytes(r.min_body_bytes, r.max_body_bytes)
        .tokens(r.min_tokens, r.max_tokens);
    for s in &r.sources {
        rule = rule.source(s.as_str());
    }
    for p in &r.projects {
        rule = rule.project(p.as_str());
    }
    for c in &r.callers {
        rule = rule.caller(c.as_str());
    }
    for (k, v) in &r.headers {
        rule = rule.header(k.as_str(), HeaderMatch::Exact(v.clone()));
    }
    for (k, v) in &r.header_regex {
        rule = rule.header(k.as_str(), HeaderMatch::Regex(v.clone()));
    }
    for k in &r.header_present {
        rule = rule.header(k.as_str(), HeaderMatch::Present);
    }
    match (&r.to, &r.discovered) {
        (Some(_), Some(_)) => return Err(format!("{at}: give `to` or `discovered`, not both")),
        (None, None) => {
            return Err(format!(
                "{at}: has no destination: set `to` (targets) or `discovered` (providers)"
            ));
        }
        (Some(to), None) => {
            let list = to.list();
            let mut refs = Vec::with_capacity(list.len());
            for t in &list {
                refs.push(resolver.target(t, at)?);
            }
            rule = rule.to(refs);
        }
        (None, Some(d)) => rule = rule.to_discovered(d.list()),
    }
    let explicit = r.strategy.is_some() || r.max_price.is_some() || r.quality_bias.is_some();
    if explicit {
        rule = rule.strategy(resolver.strategy(
            r.strategy.as_deref(),
            r.max_price,
            r.quality_bias,
            at,
        )?);
    }
    if let Some(s) = &r.sticky {
        rule = rule.sticky(targets::sticky(s, at)?);
    }
    if let Some(p) = &r.profile {
        rule = rule.profile(p.as_str());
    }
    Ok(rule)
}
