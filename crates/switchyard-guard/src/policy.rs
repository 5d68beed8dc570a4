//! [`Policy`]: the scanner, the action of each kind, and the allow-list;
//! [`Report`]: what it found in one request and what to do.

use std::sync::{Arc, LazyLock};

use regex::RegexSet;
use serde_json::Value;
use switchyard_core::{Endpoint, GuardFinding, JsonRef};

use crate::config::{Action, GuardConfig};
use crate::detect::{Hit, Scanner};
use crate::kind::Kind;
use crate::walk::{self, pointer};

/// A compiled `[guard]` section.
#[derive(Clone, Debug)]
pub struct Policy {
    scanner: Arc<Scanner>,
    actions: [Action; Kind::ALL.len()],
    allow: Option<RegexSet>,
}

impl Policy {
    /// Every kind gets `mode` (change kinds with [`action`](Self::action)).
    pub fn new(mode: Action) -> Policy {
        // Compiled once per process: every policy (and every reload) shares it.
        static SCANNER: LazyLock<Arc<Scanner>> = LazyLock::new(|| Arc::new(Scanner::new()));
        Policy {
            scanner: SCANNER.clone(),
            actions: [mode; Kind::ALL.len()],
            allow: None,
        }
    }

    /// Compiles a config; an unknown kind or a bad allow regex is an error naming it.
    pub fn from_config(config: &GuardConfig) -> Result<Policy, String> {
        let mut policy = Policy::new(config.mode);
        // Groups first, so a kind's own action wins over its group's.
        let mut entries: Vec<_> = config.actions.iter().collect();
        entries.sort_by_key(|(name, _)| !matches!(name.as_str(), "pii" | "credentials"));
        for (name, &action) in entries {
            match name.as_str() {
                "pii" | "credentials" => {
                    let pii = name == "pii";
                    for k in Kind::ALL.into_iter().filter(|k| k.is_pii() == pii) {
                        policy = policy.action(k, action);
                    }
                }
                other => {
                    let kind = Kind::from_name(other).ok_or_else(|| {
                        let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                        format!(
                            "unknown kind `{other}` in guard.actions; known: pii, credentials, {}",
                            names.join(", ")
                        )
                    })?;
                    policy = policy.action(kind, action);
                }
            }
        }
        policy.allow(&config.allow)
    }

    /// Sets one kind's action.
    pub fn action(mut self, kind: Kind, action: Action) -> Policy {
        self.actions[kind as usize] = action;
        self
    }

    /// Sets the allow-list: a value matching any of these regexes is not a finding.
    pub fn allow(mut self, patterns: &[String]) -> Result<Policy, String> {
        self.allow = if patterns.is_empty() {
            None
        } else {
            Some(RegexSet::new(patterns).map_err(|e| format!("guard.allow: {e}"))?)
        };
        Ok(self)
    }

    /// The action for `kind`.
    pub fn action_for(&self, kind: Kind) -> Action {
        self.actions[kind as usize]
    }

    /// Whether any kind is looked for at all.
    pub fn is_active(&self) -> bool {
        self.actions.iter().any(|a| *a != Action::Off)
    }

    /// The findings in one string.
    pub fn scan_text(&self, text: &str) -> Vec<Hit> {
        self.scanner.scan(text, |kind, value| {
            self.action_for(kind) != Action::Off
                && !self.allow.as_ref().is_some_and(|a| a.is_match(value))
        })
    }

    /// `text` with every finding replaced by `[REDACTED:<kind>]`, or `None`
    /// when it has none.
    pub fn redact_text(&self, text: &str) -> Option<String> {
        let hits = self.scan_text(text);
        if hits.is_empty() {
            return None;
        }
        let mut out = text.to_owned();
        for h in hits.iter().rev() {
            out.replace_range(h.span.clone(), &format!("[REDACTED:{}]", h.kind));
        }
        Some(out)
    }

    /// The findings in a request body sent to `endpoint`.
    pub fn scan(&self, endpoint: Endpoint, body: JsonRef<'_>) -> Report {
        let mut fields = Vec::new();
        walk::texts(endpoint, body, &mut |path, text| {
            let hits = self.scan_text(text);
            if !hits.is_empty() {
                fields.push(Field {
                    pointer: Arc::from(pointer(path)),
                    hits: hits
                        .into_iter()
                        .map(|h| (h.clone(), self.action_for(h.kind)))
                        .collect(),
                });
            }
        });
        Report { fields }
    }
}

/// One string of the body with findings.
#[derive(Clone, Debug)]
pub struct Field {
    /// Its JSON pointer.
    pub pointer: Arc<str>,
    /// Its findings and the action of each.
    pub hits: Vec<(Hit, Action)>,
}

/// What the guard found in one request.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The strings with findings, in body order.
    pub fields: Vec<Field>,
}

impl Report {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The strongest action any finding asks for.
    pub fn verdict(&self) -> Action {
        self.hits().map(|(_, a)| a).max().unwrap_or(Action::Off)
    }

    fn hits(&self) -> impl Iterator<Item = (&Hit, Action)> {
        self.fields
            .iter()
            .flat_map(|f| f.hits.iter().map(|(h, a)| (h, *a)))
    }

    /// The distinct kinds whose action is `action`, in kind order.
    pub fn kinds_with(&self, action: Action) -> Vec<Kind> {
        let mut kinds: Vec<Kind> = self
            .hits()
            .filter(|(_, a)| *a == action)
            .map(|(h, _)| h.kind)
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The findings for the journal: each one's place and the action taken
    /// (`block` for every blocking finding when the request is refused).
    pub fn findings(&self) -> Vec<GuardFinding> {
        self.fields
            .iter()
            .flat_map(|f| {
                f.hits.iter().map(|(h, a)| GuardFinding {
                    kind: h.kind.as_str(),
                    field: f.pointer.clone(),
                    offset: h.span.start,
                    length: h.span.len(),
                    action: a.as_str(),
                })
            })
            .collect()
    }

    /// Replaces, in `body`, every finding whose action passes `which` with
    /// `[REDACTED:<kind>]`; returns whether anything changed.
    pub fn redact(&self, body: &mut Value, which: impl Fn(Action) -> bool) -> bool {
        let mut changed = false;
        for f in &self.fields {
            let Some(Value::String(s)) = body.pointer_mut(&f.pointer) else {
                continue;
            };
            let mut out = s.clone();
            for (h, _) in f.hits.iter().rev().filter(|(_, a)| which(*a)) {
                if out.is_char_boundary(h.span.start) && out.is_char_boundary(h.span.end) {
                    out.replace_range(h.span.clone(), &format!("[REDACTED:{}]", h.kind));
                }
            }
            if out != *s {
                *s = out;
                changed = true;
            }
        }
        changed
    }
}
