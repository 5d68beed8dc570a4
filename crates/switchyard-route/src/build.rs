//! Compiling rules and virtual models: flattening, validation, target sets.

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_core::Candidate;

use crate::rule::{Conditions, Destination, Rule};
use crate::rules::{CompiledRule, Dest};
use crate::set::{Resolved, TargetSet};
use crate::stats::TargetStats;
use crate::table::RouteTable;
use crate::target::{Sticky, Strategy, Target, TargetRef};
use crate::virtual_model::VirtualModel;

pub(crate) struct Build<'a> {
    pub(crate) table: &'a RouteTable,
    pub(crate) defs: HashMap<&'a str, &'a VirtualModel>,
    pub(crate) stats: &'a TargetStats,
}

impl<'a> Build<'a> {
    pub(crate) fn flatten_vm(
        &self,
        name: &'a str,
        stack: &mut Vec<&'a str>,
    ) -> Result<Vec<Target>, String> {
        if let Some(start) = stack.iter().position(|n| *n == name) {
            let mut cycle: Vec<&str> = stack[start..].to_vec();
            cycle.push(name);
            return Err(format!("virtual model cycle: {}", cycle.join(" -> ")));
        }
        let vm = self
            .defs
            .get(name)
            .ok_or_else(|| format!("unknown virtual model `{name}`"))?;
        stack.push(name);
        let out = self.flatten(&vm.targets, vm.profile.as_deref(), stack);
        stack.pop();
        let out = out?;
        if out.is_empty() {
            return Err(format!("virtual model `{name}` has no targets"));
        }
        Ok(out)
    }

    fn flatten(
        &self,
        refs: &'a [TargetRef],
        profile: Option<&str>,
        stack: &mut Vec<&'a str>,
    ) -> Result<Vec<Target>, String> {
        let mut out = Vec::new();
        for r in refs {
            let more = match r {
                TargetRef::Target(t) => {
                    if !self.table.provider_ids().any(|p| p == &*t.provider) {
                        return Err(format!(
                            "unknown provider `{}` in target `{}/{}`",
                            t.provider, t.provider, t.model
                        ));
                    }
                    if t.model.is_empty() {
                        return Err(format!(
                            "target of provider `{}` names no model",
                            t.provider
                        ));
                    }
                    vec![t.clone()]
                }
                TargetRef::Virtual(n) => self.flatten_vm(n, stack)?,
            };
            for mut t in more {
                if t.profile.is_none() {
                    t.profile = profile.map(Arc::from);
                }
                out.push(t);
            }
        }
        Ok(out)
    }

    pub(crate) fn set(
        &self,
        targets: Vec<Target>,
        strategy: Strategy,
        sticky: Option<Sticky>,
    ) -> Result<TargetSet, String> {
        check_strategy(&targets, strategy)?;
        let resolved = targets
            .into_iter()
            .map(|t| {
                let mut candidate = Candidate::new(t.provider.clone(), t.model.clone());
                candidate.profile = t.profile.clone();
                Resolved {
                    stat: self.stats.get(&t.provider, &t.model),
                    candidate,
                    weight: t.weight,
                    price: t.price.map(|p| p.blended()),
                    quality: t.quality.unwrap_or(0.5),
                }
            })
            .collect();
        Ok(TargetSet::new(resolved, strategy, sticky))
    }

    pub(crate) fn rule(
        &self,
        rule: &'a Rule,
        virtuals: &HashMap<Arc<str>, Arc<TargetSet>>,
    ) -> Result<CompiledRule, String> {
        let conditions = Conditions::compile(rule)?;
        let dest = match &rule.destination {
            None => return Err("has no destination (`to`)".into()),
            Some(Destination::Discovered(providers)) => {
                if providers.is_empty() {
                    return Err("`discovered` lists no provider".into());
                }
                for p in providers {
                    if !self.table.provider_ids().any(|id| id == p) {
                        return Err(format!("unknown provider `{p}` in `discovered`"));
                    }
                }
                Dest::Discovered(providers.iter().map(|p| Arc::from(p.as_str())).collect())
            }
            Some(Destination::Targets(refs)) => match refs.as_slice() {
                [TargetRef::Virtual(n)]
                    if rule.strategy.is_none()
                        && rule.sticky.is_none()
                        && rule.profile.is_none() =>
                {
                    let set = virtuals
                        .get(n.as_str())
                        .ok_or_else(|| format!("unknown virtual model `{n}`"))?;
                    Dest::Set(set.clone())
                }
                [] => return Err("has no targets".into()),
                refs => {
                    let targets = self.flatten(refs, rule.profile.as_deref(), &mut Vec::new())?;
                    let strategy = rule.strategy.unwrap_or_default();
                    Dest::Set(Arc::new(self.set(
                        targets,
                        strategy,
                        rule.sticky.clone(),
                    )?))
                }
            },
        };
        Ok(CompiledRule {
            label: Arc::from(format!("rule:{}", rule.name)),
            conditions,
            dest,
        })
    }
}

fn check_strategy(targets: &[Target], strategy: Strategy) -> Result<(), String> {
    if targets.iter().all(|t| t.weight == 0) {
        return Err("target weights sum to 0".into());
    }
    for t in targets {
        if let Some(q) = t.quality
            && !(0.0..=1.0).contains(&q)
        {
            return Err(format!(
                "quality of `{}/{}` must be within 0..=1, got {q}",
                t.provider, t.model
            ));
        }
        if let Some(p) = t.price
            && !(p.input_per_mtok.is_finite()
                && p.input_per_mtok >= 0.0
                && p.output_per_mtok.is_finite()
                && p.output_per_mtok >= 0.0)
        {
            return Err(format!(
                "price of `{}/{}` must be non-negative numbers",
                t.provider, t.model
            ));
        }
    }
    match strategy {
        Strategy::QualityCost { quality_bias } if !(0.0..=1.0).contains(&quality_bias) => Err(
            format!("`quality_bias` must be within 0..=1, got {quality_bias}"),
        ),
        Strategy::Cheapest {
            max_price: Some(max),
        } => {
            let under = targets
                .iter()
                .any(|t| t.price.is_some_and(|p| p.blended() <= max));
            if under {
                Ok(())
            } else {
                Err(format!(
                    "no target has a price at or under `max_price` {max}"
                ))
            }
        }
        _ => Ok(()),
    }
}
