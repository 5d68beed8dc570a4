//! [`Rule`]: conditions, all of which must hold, and where matching requests go.

use std::sync::Arc;

use globset::Glob;
use http::{HeaderMap, HeaderName};
use regex::Regex;
use switchyard_core::{Endpoint, ParsedRequest, RequestContext};

use crate::target::{Sticky, Strategy, TargetRef};

/// How a header must look for a rule to match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderMatch {
    /// The header is present, whatever its value.
    Present,
    /// The header has exactly this value.
    Exact(String),
    /// The header's value matches this regex.
    Regex(String),
}

/// Where a rule sends the requests it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Destination {
    /// Targets (and virtual models, flattened), ordered by the rule's strategy.
    Targets(Vec<TargetRef>),
    /// The requested model, on the first of these providers whose discovered
    /// model list has it (the rest that have it follow as fallbacks); when
    /// none has it, the rule does not match.
    Discovered(Vec<String>),
}

/// An ordered routing rule: conditions combined by AND, a destination, and
/// how to choose among its targets.
///
/// ```
/// use switchyard_route::{Rule, Strategy, Target};
/// let rule = Rule::new("vision-to-4o")
///     .tag("vision")
///     .model_glob("gpt-*")
///     .to([Target::new("openai", "gpt-4o")]);
/// let weighted = Rule::new("split")
///     .model("chat")
///     .to([Target::new("a", "m").weight(3), Target::new("b", "m").weight(1)])
///     .strategy(Strategy::Weighted);
/// # let _ = (rule, weighted);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub(crate) name: String,
    pub(crate) models: Vec<ModelSpec>,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) tags_all: Vec<String>,
    pub(crate) tags_any: Vec<String>,
    pub(crate) tags_none: Vec<String>,
    pub(crate) prompt_regex: Option<String>,
    pub(crate) body_bytes: (Option<usize>, Option<usize>),
    pub(crate) tokens: (Option<usize>, Option<usize>),
    pub(crate) sources: Vec<String>,
    pub(crate) projects: Vec<String>,
    pub(crate) callers: Vec<String>,
    pub(crate) headers: Vec<(String, HeaderMatch)>,
    pub(crate) destination: Option<Destination>,
    pub(crate) strategy: Option<Strategy>,
    pub(crate) sticky: Option<Sticky>,
    pub(crate) profile: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ModelSpec {
    Exact(String),
    Prefix(String),
    Glob(String),
}

impl Rule {
    /// A rule named `name` (for errors, logs and the `x-switchyard-route` header).
    pub fn new(name: impl Into<String>) -> Self {
        Rule {
            name: name.into(),
            models: Vec::new(),
            endpoints: Vec::new(),
            tags_all: Vec::new(),
            tags_any: Vec::new(),
            tags_none: Vec::new(),
            prompt_regex: None,
            body_bytes: (None, None),
            tokens: (None, None),
            sources: Vec::new(),
            projects: Vec::new(),
            callers: Vec::new(),
            headers: Vec::new(),
            destination: None,
            strategy: None,
            sticky: None,
            profile: None,
        }
    }

    /// Matches this exact model name (several model conditions: any of them).
    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.models.push(ModelSpec::Exact(name.into()));
        self
    }

    /// Matches model names starting with `prefix`.
    pub fn model_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.models.push(ModelSpec::Prefix(prefix.into()));
        self
    }

    /// Matches model names matching the glob (`gpt-4*`, `{a,b}`).
    pub fn model_glob(mut self, glob: impl Into<String>) -> Self {
        self.models.push(ModelSpec::Glob(glob.into()));
        self
    }

    /// Matches requests to this endpoint (several: any of them).
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// Requires the request tag `tag`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags_all.push(tag.into());
        self
    }

    /// Requires at least one of `tags`.
    pub fn any_tag<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags_any.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Requires the request not to have `tag`.
    pub fn without_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags_none.push(tag.into());
        self
    }

    /// Requires the prompt text to match `regex`.
    pub fn prompt_regex(mut self, regex: impl Into<String>) -> Self {
        self.prompt_regex = Some(regex.into());
        self
    }

    /// Requires the body's length in bytes to be within `min..=max`.
    pub fn body_bytes(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        self.body_bytes = (min, max);
        self
    }

    /// Requires the prompt's estimated tokens to be within `min..=max`.
    pub fn tokens(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        self.tokens = (min, max);
        self
    }

    /// Requires `x-source` to be `source` (several: any of them).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.sources.push(source.into());
        self
    }

    /// Requires the project (`x-project`, or the caller's key's project) to be `project`.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.projects.push(project.into());
        self
    }

    /// Requires the caller (key id, key label or team) to be `caller`.
    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.callers.push(caller.into());
        self
    }

    /// Requires header `name` to match.
    pub fn header(mut self, name: impl Into<String>, matches: HeaderMatch) -> Self {
        self.headers.push((name.into(), matches));
        self
    }

    /// Sends matching requests to these targets (or virtual models).
    pub fn to<I: IntoIterator<Item = T>, T: Into<TargetRef>>(mut self, targets: I) -> Self {
        let targets = targets.into_iter().map(Into::into).collect();
        self.destination = Some(Destination::Targets(targets));
        self
    }

    /// Sends matching requests to the virtual model `name`, with its strategy.
    pub fn to_virtual(mut self, name: impl Into<String>) -> Self {
        self.destination = Some(Destination::Targets(vec![TargetRef::Virtual(name.into())]));
        self
    }

    /// Sends matching requests to whichever of `providers` discovered the model.
    pub fn to_discovered<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        providers: I,
    ) -> Self {
        let providers = providers.into_iter().map(Into::into).collect();
        self.destination = Some(Destination::Discovered(providers));
        self
    }

    /// How to order the rule's targets (default: a virtual model's own, else `first_available`).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// Binds a conversation key to the target it first went to.
    pub fn sticky(mut self, sticky: Sticky) -> Self {
        self.sticky = Some(sticky);
        self
    }

    /// The parameter profile for targets that have none of their own.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A rule's conditions, compiled.
#[derive(Debug)]
pub(crate) struct Conditions {
    exact: Vec<Arc<str>>,
    prefixes: Vec<Arc<str>>,
    /// The rule's model globs (matched for all rules at once, see [`Rules`](crate::Rules)).
    pub(crate) globs: Vec<Glob>,
    endpoints: Vec<Endpoint>,
    tags_all: Vec<Arc<str>>,
    tags_any: Vec<Arc<str>>,
    tags_none: Vec<Arc<str>>,
    prompt: Option<Regex>,
    body_bytes: (Option<usize>, Option<usize>),
    tokens: (Option<usize>, Option<usize>),
    sources: Vec<String>,
    projects: Vec<String>,
    callers: Vec<String>,
    headers: Vec<(HeaderName, CompiledHeader)>,
}

#[derive(Debug)]
enum CompiledHeader {
    Present,
    Exact(String),
    Regex(Regex),
}

fn regex(what: &str, pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid {what} regex `{pattern}`: {e}"))
}

fn range_ok(name: &str, (min, max): (Option<usize>, Option<usize>)) -> Result<(), String> {
    match (min, max) {
        (Some(a), Some(b)) if a > b => Err(format!("`{name}` min {a} is greater than max {b}")),
        _ => Ok(()),
    }
}

impl Conditions {
    pub(crate) fn compile(rule: &Rule) -> Result<Conditions, String> {
        let mut c = Conditions {
            exact: Vec::new(),
            prefixes: Vec::new(),
            globs: Vec::new(),
            endpoints: rule.endpoints.clone(),
            tags_all: rule
                .tags_all
                .iter()
                .map(|t| Arc::from(t.as_str()))
                .collect(),
            tags_any: rule
                .tags_any
                .iter()
                .map(|t| Arc::from(t.as_str()))
                .collect(),
            tags_none: rule
                .tags_none
                .iter()
                .map(|t| Arc::from(t.as_str()))
                .collect(),
            prompt: rule
                .prompt_regex
                .as_deref()
                .map(|p| regex("prompt", p))
                .transpose()?,
            body_bytes: rule.body_bytes,
            tokens: rule.tokens,
            sources: rule.sources.clone(),
            projects: rule.projects.clone(),
            callers: rule.callers.clone(),
            headers: Vec::new(),
        };
        range_ok("body_bytes", rule.body_bytes)?;
        range_ok("tokens", rule.tokens)?;
        for m in &rule.models {
            match m {
                ModelSpec::Exact(s) => c.exact.push(Arc::from(s.as_str())),
                ModelSpec::Prefix(s) => c.prefixes.push(Arc::from(s.as_str())),
                ModelSpec::Glob(g) => c
                    .globs
                    .push(Glob::new(g).map_err(|e| format!("invalid model glob `{g}`: {e}"))?),
            }
        }
        for (name, m) in &rule.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name `{name}`"))?;
            let m = match m {
                HeaderMatch::Present => CompiledHeader::Present,
                HeaderMatch::Exact(v) => CompiledHeader::Exact(v.clone()),
                HeaderMatch::Regex(p) => CompiledHeader::Regex(regex("header", p)?),
            };
            c.headers.push((header, m));
        }
        Ok(c)
    }

    /// Whether every condition holds, cheapest first; `glob_hit` says
    /// whether one of the rule's model globs matched the model.
    pub(crate) fn matches(
        &self,
        model: &str,
        glob_hit: bool,
        parsed: &ParsedRequest,
        ctx: &RequestContext,
        headers: &HeaderMap,
    ) -> bool {
        let any_model = self.exact.is_empty() && self.prefixes.is_empty() && self.globs.is_empty();
        let model_ok = any_model
            || self.exact.iter().any(|m| **m == *model)
            || self.prefixes.iter().any(|p| model.starts_with(&**p))
            || glob_hit;
        if !model_ok {
            return false;
        }
        if !self.endpoints.is_empty() && !self.endpoints.contains(&parsed.endpoint()) {
            return false;
        }
        let tags = ctx.tags();
        if !self.tags_all.iter().all(|t| tags.contains(t))
            || (!self.tags_any.is_empty() && !self.tags_any.iter().any(|t| tags.contains(t)))
            || self.tags_none.iter().any(|t| tags.contains(t))
        {
            return false;
        }
        if !within(self.body_bytes, parsed.raw().len()) {
            return false;
        }
        if !self.attribution_ok(ctx) || !self.headers_ok(headers) {
            return false;
        }
        if self.tokens != (None, None) && !within(self.tokens, parsed.prompt().estimated_tokens()) {
            return false;
        }
        self.prompt
            .as_ref()
            .is_none_or(|re| re.is_match(parsed.prompt().text()))
    }

    fn attribution_ok(&self, ctx: &RequestContext) -> bool {
        let a = ctx.attribution();
        let id = ctx.identity();
        let source_ok =
            self.sources.is_empty() || a.source.as_ref().is_some_and(|s| self.sources.contains(s));
        let project_ok = self.projects.is_empty()
            || [a.project.as_ref(), id.and_then(|i| i.project.as_ref())]
                .into_iter()
                .flatten()
                .any(|p| self.projects.contains(p));
        let caller_ok = self.callers.is_empty()
            || id.is_some_and(|i| {
                [&i.key_id, &i.label, &i.team]
                    .into_iter()
                    .flatten()
                    .any(|c| self.callers.contains(c))
            });
        source_ok && project_ok && caller_ok
    }

    fn headers_ok(&self, headers: &HeaderMap) -> bool {
        self.headers.iter().all(|(name, m)| {
            let Some(v) = headers.get(name) else {
                return false;
            };
            match m {
                CompiledHeader::Present => true,
                CompiledHeader::Exact(want) => v.as_bytes() == want.as_bytes(),
                CompiledHeader::Regex(re) => v.to_str().is_ok_and(|s| re.is_match(s)),
            }
        })
    }
}

fn within((min, max): (Option<usize>, Option<usize>), n: usize) -> bool {
    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
}
