//! [`Profile`]: what to do to a request's parameters, and how to apply it.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

/// An invalid parameter profile or profile set, naming the profile and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamsError(pub(crate) String);

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamsError {}

/// A JSON field addressed by a dotted path (`chat_template_kwargs.enable_thinking`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldPath {
    text: Arc<str>,
    parts: Vec<Arc<str>>,
}

impl FieldPath {
    pub(crate) fn parse(path: &str) -> Result<FieldPath, String> {
        let parts: Vec<Arc<str>> = path.split('.').map(Arc::from).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("`{path}` is not a field path (use `a` or `a.b`)"));
        }
        if matches!(&*parts[0], "model" | "stream") {
            return Err(format!(
                "`{}` cannot be set by a profile (routing sets `model`; `stream` changes the answer's shape)",
                parts[0]
            ));
        }
        Ok(FieldPath {
            text: Arc::from(path),
            parts,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.parts.iter().try_fold(root, |v, p| v.get(&**p))
    }

    /// Sets the field, creating objects on the way; `false` if a non-object is in the way.
    fn set(&self, root: &mut Value, value: Value) -> bool {
        let Some((last, parents)) = self.parts.split_last() else {
            return false;
        };
        let mut cur = root;
        for p in parents {
            let Value::Object(map) = cur else {
                return false;
            };
            cur = map
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        match cur {
            Value::Object(map) => {
                map.insert(last.to_string(), value);
                true
            }
            _ => false,
        }
    }

    fn remove(&self, root: &mut Value) {
        let Some((last, parents)) = self.parts.split_last() else {
            return;
        };
        let mut cur = root;
        for p in parents {
            match cur.get_mut(&**p) {
                Some(v) => cur = v,
                None => return,
            }
        }
        if let Value::Object(map) = cur {
            map.shift_remove(&**last);
        }
    }
}

/// Numeric bounds on one field.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Bounds {
    min: Option<f64>,
    max: Option<f64>,
}

/// What a profile does to a request's JSON, in three layers: **defaults <
/// caller < clamp**, then numeric bounds, then removals.
///
/// - `default`: set when the caller did not (absent or `null`).
/// - `clamp`: always set, whatever the caller sent.
/// - `min` / `max`: a numeric value outside the bounds is moved to the bound.
/// - `remove`: fields the target rejects are dropped.
///
/// Fields are dotted paths, so nested fields work
/// (`chat_template_kwargs.enable_thinking`, `reasoning.effort`).
///
/// ```
/// use switchyard_params::Profile;
/// let p = Profile::new()
///     .default_value("temperature", 0.2)
///     .clamp("reasoning_effort", "low")
///     .max("max_tokens", 8192)
///     .remove("logit_bias");
/// assert!(p.is_ok());
/// assert!(!Profile::new().max("model", 1).is_ok()); // routing owns `model`
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    defaults: Vec<(FieldPath, Value)>,
    clamps: Vec<(FieldPath, Value)>,
    bounds: Vec<(FieldPath, Bounds)>,
    removals: Vec<FieldPath>,
    error: Option<String>,
}

impl Profile {
    /// A profile that changes nothing.
    pub fn new() -> Self {
        <Profile as Default>::default()
    }

    fn path(&mut self, path: &str) -> Option<FieldPath> {
        match FieldPath::parse(path) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// Sets `path` to `value` when the caller did not.
    pub fn default_value(mut self, path: &str, value: impl Into<Value>) -> Self {
        if let Some(p) = self.path(path) {
            upsert(&mut self.defaults, p, value.into());
        }
        self
    }

    /// Sets `path` to `value` whatever the caller sent.
    pub fn clamp(mut self, path: &str, value: impl Into<Value>) -> Self {
        if let Some(p) = self.path(path) {
            upsert(&mut self.clamps, p, value.into());
        }
        self
    }

    /// Lowers a numeric `path` above `max` to `max`.
    pub fn max(mut self, path: &str, max: impl Into<f64>) -> Self {
        let max = max.into();
        if let Some(p) = self.path(path) {
            self.bound(p).max = Some(max);
        }
        self
    }

    /// Raises a numeric `path` below `min` to `min`.
    pub fn min(mut self, path: &str, min: impl Into<f64>) -> Self {
        let min = min.into();
        if let Some(p) = self.path(path) {
            self.bound(p).min = Some(min);
        }
        self
    }

    /// Drops `path` from the request (a field the target rejects).
    pub fn remove(mut self, path: &str) -> Self {
        if let Some(p) = self.path(path)
            && !self.removals.contains(&p)
        {
            self.removals.push(p);
        }
        self
    }

    fn bound(&mut self, p: FieldPath) -> &mut Bounds {
        let i = match self.bounds.iter().position(|(q, _)| *q == p) {
            Some(i) => i,
            None => {
                self.bounds.push((p, Bounds::default()));
                self.bounds.len() - 1
            }
        };
        &mut self.bounds[i].1
    }

    /// Checks the profile: valid paths, finite bounds with `min <= max`, and
    /// no field both removed and set.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        for (p, b) in &self.bounds {
            let finite = b.min.is_none_or(f64::is_finite) && b.max.is_none_or(f64::is_finite);
            if !finite {
                return Err(format!("bounds of `{}` must be finite numbers", p.as_str()));
            }
            if let (Some(min), Some(max)) = (b.min, b.max)
                && min > max
            {
                return Err(format!(
                    "`{}`: min {min} is greater than max {max}",
                    p.as_str()
                ));
            }
        }
        for r in &self.removals {
            let set = self
                .defaults
                .iter()
                .chain(&self.clamps)
                .any(|(p, _)| p == r);
            if set {
                return Err(format!("`{}` is both removed and set", r.as_str()));
            }
        }
        Ok(())
    }

    /// Whether [`validate`](Self::validate) passes.
    pub fn is_ok(&self) -> bool {
        self.validate().is_ok()
    }

    /// Whether the profile changes nothing.
    pub fn is_empty(&self) -> bool {
        self.defaults.is_empty()
            && self.clamps.is_empty()
            && self.bounds.is_empty()
            && self.removals.is_empty()
    }

    /// Layers `more` (more specific) over `self`: its defaults and clamps win,
    /// bounds narrow, removals add up.
    pub(crate) fn merged(&self, more: &Profile) -> Profile {
        let mut out = self.clone();
        for (p, v) in &more.defaults {
            upsert(&mut out.defaults, p.clone(), v.clone());
        }
        for (p, v) in &more.clamps {
            upsert(&mut out.clamps, p.clone(), v.clone());
        }
        for (p, b) in &more.bounds {
            let cur = out.bound(p.clone());
            cur.min = max_opt(cur.min, b.min);
            cur.max = min_opt(cur.max, b.max);
        }
        for r in &more.removals {
            if !out.removals.contains(r) {
                out.removals.push(r.clone());
            }
        }
        out
    }

    /// The edits this profile makes to `body`, without touching it; empty
    /// when the body already complies (so it stays byte-identical).
    pub(crate) fn plan(&self, body: &Value) -> Vec<Edit> {
        let mut edits = Vec::new();
        for (p, v) in &self.defaults {
            if p.get(body).is_none_or(Value::is_null) {
                edits.push(Edit::Set(p.clone(), v.clone()));
            }
        }
        for (p, v) in &self.clamps {
            if p.get(body) != Some(v) {
                edits.push(Edit::Set(p.clone(), v.clone()));
            }
        }
        for (p, b) in &self.bounds {
            // A default or clamp planned above may be what gets bounded.
            let planned = edits.iter().rev().find_map(|e| match e {
                Edit::Set(q, v) if q == p => Some(v),
                _ => None,
            });
            let Some(v) = planned.or_else(|| p.get(body)) else {
                continue;
            };
            if let Some(bounded) = bound(v, *b) {
                edits.push(Edit::Set(p.clone(), bounded));
            }
        }
        for r in &self.removals {
            if r.get(body).is_some() {
                edits.push(Edit::Remove(r.clone()));
            }
        }
        edits
    }
}

/// One change to a request body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edit {
    Set(FieldPath, Value),
    Remove(FieldPath),
}

impl Edit {
    pub(crate) fn apply(&self, body: &mut Value) {
        match self {
            Edit::Set(p, v) => {
                if !p.set(body, v.clone()) {
                    tracing::debug!(field = p.as_str(), "params: a non-object is in the way");
                }
            }
            Edit::Remove(p) => p.remove(body),
        }
    }

    pub(crate) fn field(&self) -> &str {
        match self {
            Edit::Set(p, _) | Edit::Remove(p) => p.as_str(),
        }
    }
}

fn upsert(list: &mut Vec<(FieldPath, Value)>, p: FieldPath, v: Value) {
    match list.iter_mut().find(|(q, _)| *q == p) {
        Some(slot) => slot.1 = v,
        None => list.push((p, v)),
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The value moved inside `b`, or `None` if it is inside already or not a number.
fn bound(v: &Value, b: Bounds) -> Option<Value> {
    let n = v.as_f64()?;
    let target = match (b.min, b.max) {
        (Some(min), _) if n < min => min,
        (_, Some(max)) if n > max => max,
        _ => return None,
    };
    // Keep integers integers (`max_tokens` must stay an integer).
    if (v.is_i64() || v.is_u64()) && target.fract() == 0.0 {
        if target >= 0.0 {
            return Some(Value::from(target as u64));
        }
        return Some(Value::from(target as i64));
    }
    serde_json::Number::from_f64(target).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(p: &Profile, mut body: Value) -> Value {
        for e in p.plan(&body) {
            e.apply(&mut body);
        }
        body
    }

    #[test]
    fn defaults_caller_clamp() {
        let p = Profile::new()
            .default_value("temperature", 0.2)
            .default_value("top_p", 0.9)
            .clamp("chat_template_kwargs.enable_thinking", false);
        let out = apply(&p, json!({"temperature": 1.0, "top_p": null}));
        assert_eq!(
            out,
            json!({"temperature": 1.0, "top_p": 0.9, "chat_template_kwargs": {"enable_thinking": false}})
        );
        assert!(p.plan(&out).is_empty(), "applying twice changes nothing");
    }

    #[test]
    fn bounds_keep_integers_and_bound_defaults() {
        let p = Profile::new()
            .max("max_tokens", 8192)
            .min("temperature", 0.1);
        let out = apply(&p, json!({"max_tokens": 100000, "temperature": 0}));
        assert_eq!(out, json!({"max_tokens": 8192, "temperature": 0.1}));
        assert!(p.plan(&json!({"max_tokens": "many"})).is_empty());
        let p = Profile::new()
            .default_value("max_tokens", 20000)
            .max("max_tokens", 4096);
        assert_eq!(apply(&p, json!({})), json!({"max_tokens": 4096}));
    }

    #[test]
    fn merge_narrows_and_overrides() {
        let base = Profile::new()
            .default_value("temperature", 0.7)
            .max("max_tokens", 8192)
            .remove("logit_bias");
        let more = Profile::new()
            .default_value("temperature", 0.2)
            .max("max_tokens", 2048)
            .remove("seed");
        let m = base.merged(&more);
        let out = apply(&m, json!({"max_tokens": 4000, "logit_bias": {}, "seed": 1}));
        assert_eq!(out, json!({"max_tokens": 2048, "temperature": 0.2}));
    }

    #[test]
    fn invalid_profiles_are_named() {
        assert!(Profile::new().clamp("a..b", 1).validate().is_err());
        let e = Profile::new()
            .min("x", 5)
            .max("x", 1)
            .validate()
            .unwrap_err();
        assert!(e.contains("min 5 is greater than max 1"), "{e}");
        let e = Profile::new()
            .default_value("x", 1)
            .remove("x")
            .validate()
            .unwrap_err();
        assert!(e.contains("both removed and set"), "{e}");
        let e = Profile::new().clamp("stream", true).validate().unwrap_err();
        assert!(e.contains("`stream` cannot be set"), "{e}");
    }
}
