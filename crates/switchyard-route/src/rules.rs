//! [`Rules`]: ordered rules and virtual models in front of the provider table.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use globset::{GlobSet, GlobSetBuilder};
use http::{HeaderMap, StatusCode};
use switchyard_core::{
    AlwaysHealthy, Candidate, ErrorType, ParsedRequest, Rejection, RequestContext, RouteDecision,
    TargetHealth,
};

use crate::build::Build;
use crate::rule::{Conditions, Rule};
use crate::set::TargetSet;
use crate::stats::TargetStats;
use crate::table::{RouteError, RouteTable};
use crate::target::StickyKey;
use crate::virtual_model::VirtualModel;

#[derive(Debug)]
pub(crate) enum Dest {
    Set(Arc<TargetSet>),
    Discovered(Vec<Arc<str>>),
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) label: Arc<str>,
    pub(crate) conditions: Conditions,
    pub(crate) dest: Dest,
}

/// Where requests go: ordered rules (first match wins), then virtual model
/// names, then the provider [`RouteTable`] (`provider/model` prefixes, model
/// globs, discovered models) as the fallback.
///
/// The result is a [`RouteDecision`]: every target of the matching rule or
/// virtual model, best first by its [`Strategy`](crate::Strategy), for a failover layer to walk.
///
/// ```
/// use std::sync::Arc;
/// use switchyard_route::{RouteTable, Rule, Rules, Strategy, Target, VirtualModel};
/// let table = RouteTable::builder()
///     .provider("openai", ["gpt-*"])
///     .provider("local", ["llama*"])
///     .build()
///     .unwrap();
/// let rules = Rules::builder(Arc::new(table))
///     .virtual_model(
///         VirtualModel::new("coder")
///             .target(Target::new("local", "qwen2.5-coder"))
///             .target(Target::new("openai", "gpt-4o-mini"))
///             .profile("coding"),
///     )
///     .rule(Rule::new("vision").tag("vision").to([Target::new("openai", "gpt-4o")]))
///     .build()
///     .unwrap();
/// assert_eq!(rules.virtual_models().next().map(|v| v.0), Some("coder"));
/// // A rule naming an unknown provider is refused, naming the rule:
/// let table = RouteTable::builder().provider("openai", ["gpt-*"]).build().unwrap();
/// let e = Rules::builder(Arc::new(table))
///     .rule(Rule::new("bad").to([Target::new("nope", "m")]))
///     .build()
///     .unwrap_err();
/// assert_eq!(e.to_string(), "rule `bad` (rules[0]): unknown provider `nope` in target `nope/m`");
/// ```
#[derive(Debug)]
pub struct Rules {
    table: Arc<RouteTable>,
    rules: Vec<CompiledRule>,
    /// Every rule's model globs in one set, matched once per request.
    globs: GlobSet,
    /// The rule each glob of `globs` belongs to.
    glob_rule: Vec<usize>,
    virtuals: HashMap<Arc<str>, Arc<TargetSet>>,
    listed: Vec<(Arc<str>, Option<Arc<str>>)>,
    stats: TargetStats,
    health: Arc<dyn TargetHealth>,
}

/// Builds [`Rules`].
#[derive(Debug)]
pub struct RulesBuilder {
    table: Arc<RouteTable>,
    rules: Vec<Rule>,
    virtuals: Vec<VirtualModel>,
    stats: TargetStats,
    health: Arc<dyn TargetHealth>,
}

impl RulesBuilder {
    /// Adds a rule; rules are tried in the order added.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds a virtual model.
    pub fn virtual_model(mut self, vm: VirtualModel) -> Self {
        self.virtuals.push(vm);
        self
    }

    /// Shares a stats registry (keep one across reloads).
    pub fn stats(mut self, stats: TargetStats) -> Self {
        self.stats = stats;
        self
    }

    /// The health signal health-aware strategies read (default: all healthy).
    pub fn health(mut self, health: Arc<dyn TargetHealth>) -> Self {
        self.health = health;
        self
    }

    /// Validates everything: providers exist, regexes and globs compile,
    /// weights do not sum to 0, virtual models have no cycle.
    pub fn build(self) -> Result<Rules, RouteError> {
        let mut b = Build {
            table: &self.table,
            defs: HashMap::new(),
            stats: &self.stats,
        };
        for vm in &self.virtuals {
            if vm.name.is_empty() || vm.name.contains('/') {
                return Err(err(format!(
                    "virtual model `{}`: a name must be non-empty, without `/`",
                    vm.name
                )));
            }
            if b.defs.insert(vm.name.as_str(), vm).is_some() {
                return Err(err(format!("virtual model `{}` is defined twice", vm.name)));
            }
        }
        let mut virtuals = HashMap::new();
        let mut listed = Vec::new();
        for vm in &self.virtuals {
            let at = format!("virtual model `{}`", vm.name);
            let targets = b
                .flatten_vm(&vm.name, &mut Vec::new())
                .map_err(|e| err(format!("{at}: {e}")))?;
            let set = b
                .set(targets, vm.strategy, vm.sticky.clone())
                .map_err(|e| err(format!("{at}: {e}")))?;
            virtuals.insert(Arc::from(vm.name.as_str()), Arc::new(set));
            listed.push((
                Arc::from(vm.name.as_str()),
                vm.description.as_deref().map(Arc::from),
            ));
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut globs = GlobSetBuilder::new();
        let mut glob_rule = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = format!("rule `{}` (rules[{i}])", rule.name);
            let compiled = b
                .rule(rule, &virtuals)
                .map_err(|e| err(format!("{at}: {e}")))?;
            for g in &compiled.conditions.globs {
                globs.add(g.clone());
                glob_rule.push(i);
            }
            rules.push(compiled);
        }
        let globs = globs
            .build()
            .map_err(|e| err(format!("model globs: {e}")))?;
        Ok(Rules {
            table: self.table,
            rules,
            globs,
            glob_rule,
            virtuals,
            listed,
            stats: self.stats,
            health: self.health,
        })
    }
}

fn err(msg: String) -> RouteError {
    RouteError::new(msg)
}

impl Rules {
    /// A builder over the provider table.
    pub fn builder(table: Arc<RouteTable>) -> RulesBuilder {
        RulesBuilder {
            table,
            rules: Vec::new(),
            virtuals: Vec::new(),
            stats: TargetStats::new(),
            health: Arc::new(AlwaysHealthy),
        }
    }

    /// Just the provider table: no rules, no virtual models.
    pub fn from_table(table: Arc<RouteTable>) -> Rules {
        Rules {
            table,
            rules: Vec::new(),
            globs: GlobSet::empty(),
            glob_rule: Vec::new(),
            virtuals: HashMap::new(),
            listed: Vec::new(),
            stats: TargetStats::new(),
            health: Arc::new(AlwaysHealthy),
        }
    }

    /// The provider table used as the fallback.
    pub fn table(&self) -> &Arc<RouteTable> {
        &self.table
    }

    /// The stats registry the strategies read and the route layer fills.
    pub fn stats(&self) -> &TargetStats {
        &self.stats
    }

    /// Virtual models as (name, description), in the order defined.
    pub fn virtual_models(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.listed.iter().map(|(n, d)| (&**n, d.as_deref()))
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides where a request goes, or a 404 (unknown model) in the client's protocol.
    pub fn route(
        &self,
        parsed: &ParsedRequest,
        ctx: &RequestContext,
        headers: &HeaderMap,
    ) -> Result<RouteDecision, Rejection> {
        let model = parsed.model().unwrap_or_default();
        for (rule, glob_hit) in self.rules.iter().zip(self.glob_hits(model)) {
            if !rule
                .conditions
                .matches(model, glob_hit, parsed, ctx, headers)
            {
                continue;
            }
            let candidates = match &rule.dest {
                Dest::Set(set) => self.order(set, parsed, headers),
                Dest::Discovered(providers) => self.discovered(providers, model),
            };
            if !candidates.is_empty() {
                return Ok(decision(model, rule.label.clone(), candidates));
            }
        }
        if let Some((name, set)) = self.virtuals.get_key_value(model) {
            let label = Arc::from(format!("virtual:{name}"));
            return Ok(decision(model, label, self.order(set, parsed, headers)));
        }
        self.table.route(model).map_err(|r| self.not_found(r))
    }

    /// Each rule, in order, with whether its conditions hold for this request
    /// (a dry run's trace; [`Rules::route`] decides). A rule that holds but
    /// finds no target (e.g. `discovered` on providers without the model) is
    /// passed over by `route`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use switchyard_core::{Endpoint, ParsedRequest, RequestContext};
    /// use switchyard_route::{RouteTable, Rule, Rules, Target};
    /// let table = RouteTable::builder().provider("openai", ["gpt-*"]).build().unwrap();
    /// let rules = Rules::builder(Arc::new(table))
    ///     .rule(Rule::new("mini").model("gpt-4o-mini").to([Target::new("openai", "gpt-4o-mini")]))
    ///     .rule(Rule::new("any").model_prefix("gpt-").to([Target::new("openai", "gpt-4o")]))
    ///     .build()
    ///     .unwrap();
    /// let body = br#"{"model":"gpt-5","messages":[]}"#;
    /// let parsed = ParsedRequest::parse(Endpoint::ChatCompletions, body.to_vec().into()).unwrap();
    /// let ctx = RequestContext::new(Endpoint::ChatCompletions);
    /// let trace: Vec<(String, bool)> = rules
    ///     .trace(&parsed, &ctx, &http::HeaderMap::new())
    ///     .into_iter()
    ///     .map(|(label, hit)| (label.to_string(), hit))
    ///     .collect();
    /// assert_eq!(trace, [("rule:mini".to_owned(), false), ("rule:any".to_owned(), true)]);
    /// ```
    pub fn trace(
        &self,
        parsed: &ParsedRequest,
        ctx: &RequestContext,
        headers: &HeaderMap,
    ) -> Vec<(Arc<str>, bool)> {
        let model = parsed.model().unwrap_or_default();
        self.rules
            .iter()
            .zip(self.glob_hits(model))
            .map(|(rule, glob_hit)| {
                let hit = rule
                    .conditions
                    .matches(model, glob_hit, parsed, ctx, headers);
                (rule.label.clone(), hit)
            })
            .collect()
    }

    /// Which rules' model globs `model` matches, by rule index.
    fn glob_hits(&self, model: &str) -> Vec<bool> {
        let mut hits = vec![false; self.rules.len()];
        if !self.glob_rule.is_empty() {
            for g in self.globs.matches(model) {
                hits[self.glob_rule[g]] = true;
            }
        }
        hits
    }

    fn order(
        &self,
        set: &TargetSet,
        parsed: &ParsedRequest,
        headers: &HeaderMap,
    ) -> Vec<Candidate> {
        let key = set
            .sticky_key()
            .and_then(|k| sticky_value(k, parsed, headers));
        set.order(&*self.health, key.as_deref())
    }

    fn discovered(&self, providers: &[Arc<str>], model: &str) -> Vec<Candidate> {
        let dir = self.table.directory();
        let mut out: Vec<Candidate> = providers
            .iter()
            .filter(|p| dir.contains(p, model))
            .map(|p| Candidate::new(p.clone(), model))
            .collect();
        out.sort_by_key(|c| !self.health.is_healthy(&c.provider, &c.model));
        out
    }

    fn not_found(&self, r: Rejection) -> Rejection {
        if r.status() != StatusCode::NOT_FOUND || self.listed.is_empty() {
            return r;
        }
        let names: Vec<&str> = self.listed.iter().map(|(n, _)| &**n).collect();
        let msg = format!("{} Virtual models: {}.", r.message(), names.join(", "));
        Rejection::new(StatusCode::NOT_FOUND, ErrorType::NotFound, msg)
            .param("model")
            .code("model_not_found")
    }
}

fn decision(model: &str, rule: Arc<str>, candidates: Vec<Candidate>) -> RouteDecision {
    RouteDecision {
        requested_model: Arc::from(model),
        rule,
        candidates,
    }
}

/// The sticky key's value in this request, if present.
fn sticky_value<'a>(
    key: &StickyKey,
    parsed: &'a ParsedRequest,
    headers: &'a HeaderMap,
) -> Option<Cow<'a, [u8]>> {
    match key {
        StickyKey::Header(name) => headers
            .get(name.as_str())
            .map(|v| Cow::Borrowed(v.as_bytes())),
        StickyKey::Field(path) => {
            let v = path.split('.').try_fold(parsed.json(), |v, p| v.get(p))?;
            match v {
                serde_json::Value::String(s) => Some(Cow::Borrowed(s.as_bytes())),
                serde_json::Value::Null => None,
                other => Some(Cow::Owned(other.to_string().into_bytes())),
            }
        }
    }
}
