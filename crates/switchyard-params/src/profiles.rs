//! [`Profiles`]: named profiles, and which targets get which.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use globset::{Glob, GlobMatcher};
use switchyard_core::Candidate;

use crate::profile::{Edit, ParamsError, Profile};

#[derive(Debug)]
struct TargetRule {
    provider: Option<Arc<str>>,
    models: Vec<GlobMatcher>,
    profile: Arc<str>,
}

impl TargetRule {
    fn matches(&self, c: &Candidate) -> bool {
        self.provider.as_ref().is_none_or(|p| *p == c.provider)
            && (self.models.is_empty() || self.models.iter().any(|g| g.is_match(&*c.model)))
    }
}

type CacheKey = (Arc<str>, Arc<str>, Option<Arc<str>>);

/// Named parameter profiles and the targets they apply to.
///
/// For a candidate, the effective profile layers, least to most specific:
/// every target rule matching its provider and model (in the order added),
/// then the candidate's own profile (a virtual model's or a rule's).
/// Later layers' defaults and clamps win; bounds narrow; removals add up.
/// The merged profile is cached per (provider, model, profile).
///
/// ```
/// use switchyard_core::Candidate;
/// use switchyard_params::{Profile, Profiles};
/// let profiles = Profiles::builder()
///     .profile("local-limits", Profile::new().max("max_tokens", 8192).remove("logit_bias"))
///     .profile("coder", Profile::new().default_value("temperature", 0.2))
///     .target(Some("local"), ["*"], "local-limits")
///     .build()
///     .unwrap();
/// let c = Candidate::new("local", "qwen3").with_profile("coder");
/// let mut body = serde_json::json!({"max_tokens": 99999, "logit_bias": {}});
/// let changed = profiles.apply(&c, &mut body).unwrap();
/// assert_eq!(changed, ["temperature", "max_tokens", "logit_bias"]);
/// assert_eq!(body, serde_json::json!({"max_tokens": 8192, "temperature": 0.2}));
/// ```
#[derive(Debug)]
pub struct Profiles {
    profiles: HashMap<Arc<str>, Profile>,
    targets: Vec<TargetRule>,
    cache: RwLock<HashMap<CacheKey, Arc<Profile>>>,
}

/// Builds [`Profiles`].
#[derive(Debug, Default)]
pub struct ProfilesBuilder {
    profiles: Vec<(String, Profile)>,
    targets: Vec<(Option<String>, Vec<String>, String)>,
}

impl ProfilesBuilder {
    /// Adds the profile `name`.
    pub fn profile(mut self, name: impl Into<String>, profile: Profile) -> Self {
        self.profiles.push((name.into(), profile));
        self
    }

    /// Applies profile `profile` to every target of `provider` (any provider
    /// when `None`) whose model matches one of `models` (globs; none = all).
    pub fn target<I, M>(
        mut self,
        provider: Option<&str>,
        models: I,
        profile: impl Into<String>,
    ) -> Self
    where
        I: IntoIterator<Item = M>,
        M: Into<String>,
    {
        let models = models.into_iter().map(Into::into).collect();
        self.targets
            .push((provider.map(str::to_owned), models, profile.into()));
        self
    }

    /// Validates every profile and target rule.
    pub fn build(self) -> Result<Profiles, ParamsError> {
        let mut profiles = HashMap::new();
        for (name, p) in self.profiles {
            if name.is_empty() {
                return Err(ParamsError("a profile name must not be empty".into()));
            }
            p.validate()
                .map_err(|e| ParamsError(format!("profile `{name}`: {e}")))?;
            if profiles.insert(Arc::from(name.as_str()), p).is_some() {
                return Err(ParamsError(format!("profile `{name}` is defined twice")));
            }
        }
        let mut targets = Vec::new();
        for (i, (provider, models, profile)) in self.targets.into_iter().enumerate() {
            if !profiles.contains_key(profile.as_str()) {
                return Err(ParamsError(format!(
                    "target rule {i}: unknown profile `{profile}`"
                )));
            }
            let models = models
                .iter()
                .map(|m| {
                    Glob::new(m).map(|g| g.compile_matcher()).map_err(|e| {
                        ParamsError(format!("target rule {i}: invalid model pattern `{m}`: {e}"))
                    })
                })
                .collect::<Result<_, _>>()?;
            targets.push(TargetRule {
                provider: provider.map(Arc::from),
                models,
                profile: Arc::from(profile),
            });
        }
        Ok(Profiles {
            profiles,
            targets,
            cache: RwLock::default(),
        })
    }
}

impl Profiles {
    /// A builder.
    pub fn builder() -> ProfilesBuilder {
        ProfilesBuilder::default()
    }

    /// No profiles: the layer forwards every body untouched.
    pub fn empty() -> Profiles {
        Profiles {
            profiles: HashMap::new(),
            targets: Vec::new(),
            cache: RwLock::default(),
        }
    }

    /// Whether profile `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    /// Profile names, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(|k| &**k)
    }

    /// The effective profile for `candidate`, or an error naming an unknown profile.
    pub fn effective(&self, candidate: &Candidate) -> Result<Arc<Profile>, String> {
        let key = (
            candidate.provider.clone(),
            candidate.model.clone(),
            candidate.profile.clone(),
        );
        if let Some(p) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(p.clone());
        }
        let mut out = Profile::new();
        for t in self.targets.iter().filter(|t| t.matches(candidate)) {
            if let Some(p) = self.profiles.get(&t.profile) {
                out = out.merged(p);
            }
        }
        if let Some(name) = &candidate.profile {
            let p = self
                .profiles
                .get(name)
                .ok_or_else(|| format!("unknown parameter profile `{name}`"))?;
            out = out.merged(p);
        }
        let out = Arc::new(out);
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(key, out.clone());
        Ok(out)
    }

    /// Applies the effective profile of `candidate` to `body`; returns the
    /// fields changed (empty: the body was left alone).
    pub fn apply(
        &self,
        candidate: &Candidate,
        body: &mut serde_json::Value,
    ) -> Result<Vec<String>, String> {
        let edits = self.effective(candidate)?.plan(body);
        for e in &edits {
            e.apply(body);
        }
        Ok(edits.iter().map(|e| e.field().to_owned()).collect())
    }

    /// The edits for `candidate`; `body` is asked for only when its
    /// profile has any (building the body's JSON tree costs more than the
    /// rest of the layer).
    pub(crate) fn plan<'a>(
        &self,
        candidate: &Candidate,
        body: impl FnOnce() -> &'a serde_json::Value,
    ) -> Result<Vec<Edit>, String> {
        let profile = self.effective(candidate)?;
        if profile.is_empty() {
            return Ok(Vec::new());
        }
        Ok(profile.plan(body()))
    }
}
