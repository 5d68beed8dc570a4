//! [`Plan`]: the limits one request must fit under, and what it reserves of each.

use std::sync::Arc;

use switchyard_core::{Endpoint, Exchange, JsonRef, ParsedRequest, Quota, RequestContext};

use crate::check::{Check, Scope, Unit};
use crate::config::Policy;
use crate::period::Period;
use crate::price::PriceList;

/// A request's checks and estimates.
pub(crate) struct Plan {
    pub checks: Vec<Check>,
    pub endpoint: Endpoint,
    pub exchange: Arc<Exchange>,
    pub provider: Arc<str>,
    pub model: Arc<str>,
    pub input_tokens: u64,
    pub stream: bool,
}

/// Output tokens the request may produce: its own cap, else the default.
fn max_output(endpoint: Endpoint, body: JsonRef<'_>, default: u64) -> u64 {
    if endpoint == Endpoint::Embeddings {
        return 0;
    }
    ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| body.get(k).and_then(JsonRef::as_u64))
        .unwrap_or(default)
}

/// The checks for `ctx`'s key, team and routed model; `None` when nothing applies.
pub(crate) fn plan(
    policy: &Policy,
    prices: &dyn PriceList,
    ctx: &RequestContext,
    parsed: &ParsedRequest,
) -> Option<Plan> {
    let endpoint = ctx.endpoint();
    if matches!(endpoint, Endpoint::CountTokens | Endpoint::Models) {
        return None;
    }
    let identity = ctx.identity();
    let key = identity.and_then(|i| i.key_id.as_deref()).map(|k| {
        let q = merge(identity.map(|i| i.quota.clone()), &policy.keys);
        (Arc::<str>::from(k), q)
    });
    let team = identity.and_then(|i| i.team.as_deref()).and_then(|t| {
        policy
            .teams
            .get(t)
            .map(|q| (Arc::<str>::from(t), q.clone()))
    });
    let target = ctx.target().ok();
    let model = target.and_then(|t| policy.model(&t.model).map(|r| (t.model.clone(), r)));
    if key.as_ref().is_none_or(|(_, q)| *q == Quota::default()) && team.is_none() && model.is_none()
    {
        return None;
    }
    let needs_tokens = key.as_ref().is_some_and(|(_, q)| needs_tokens(q))
        || team.as_ref().is_some_and(|(_, q)| needs_tokens(q))
        || model.as_ref().is_some_and(|(_, r)| r.tpm.is_some());
    let (input, output) = if needs_tokens {
        let input = parsed.prompt().estimated_tokens() as u64;
        (
            input.max(1),
            max_output(endpoint, parsed.view(), policy.default_max_tokens),
        )
    } else {
        (0, 0)
    };
    let (provider, model_name): (Arc<str>, Arc<str>) = match target {
        Some(t) => (t.provider.clone(), t.model.clone()),
        None => (Arc::from(""), Arc::from(parsed.model().unwrap_or(""))),
    };
    let cost = if needs_tokens {
        prices
            .price(&provider, &model_name, input, output)
            .map_or(0, |c| c.nanos())
    } else {
        0
    };
    let mut checks = Vec::with_capacity(8);
    for (scope, (subject, q)) in [(Scope::Key, key), (Scope::Team, team)]
        .into_iter()
        .filter_map(|(s, x)| x.map(|x| (s, x)))
    {
        quota_checks(&mut checks, scope, &subject, &q, input + output, cost);
    }
    if let Some((m, r)) = model {
        if let Some(rpm) = r.rpm {
            checks.push(Check::new(
                Scope::Model,
                &m,
                Unit::Requests,
                Period::Minute,
                rpm,
                1,
            ));
        }
        if let Some(tpm) = r.tpm {
            checks.push(Check::new(
                Scope::Model,
                &m,
                Unit::Tokens,
                Period::Minute,
                tpm,
                input + output,
            ));
        }
    }
    Some(Plan {
        checks,
        endpoint,
        exchange: ctx.exchange().clone(),
        provider,
        model: model_name,
        input_tokens: input,
        stream: parsed.is_stream(),
    })
}

fn needs_tokens(q: &Quota) -> bool {
    q.tokens_per_minute.is_some() || q.budget_daily.is_some() || q.budget_monthly.is_some()
}

/// A key's own quota, field by field over the configured defaults.
fn merge(own: Option<Quota>, defaults: &Quota) -> Quota {
    let own = own.unwrap_or_default();
    Quota {
        requests_per_minute: own.requests_per_minute.or(defaults.requests_per_minute),
        tokens_per_minute: own.tokens_per_minute.or(defaults.tokens_per_minute),
        budget_daily: own.budget_daily.or(defaults.budget_daily),
        budget_monthly: own.budget_monthly.or(defaults.budget_monthly),
    }
}

fn quota_checks(
    out: &mut Vec<Check>,
    scope: Scope,
    subject: &Arc<str>,
    q: &Quota,
    tokens: u64,
    cost: u64,
) {
    if let Some(rpm) = q.requests_per_minute {
        out.push(Check::new(
            scope,
            subject,
            Unit::Requests,
            Period::Minute,
            rpm,
            1,
        ));
    }
    if let Some(tpm) = q.tokens_per_minute {
        out.push(Check::new(
            scope,
            subject,
            Unit::Tokens,
            Period::Minute,
            tpm,
            tokens,
        ));
    }
    if let Some(b) = q.budget_daily {
        out.push(Check::new(
            scope,
            subject,
            Unit::Usd,
            Period::Day,
            b.nanos(),
            cost,
        ));
    }
    if let Some(b) = q.budget_monthly {
        out.push(Check::new(
            scope,
            subject,
            Unit::Usd,
            Period::Month,
            b.nanos(),
            cost,
        ));
    }
}
