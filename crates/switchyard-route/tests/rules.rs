//! Rules on their own: conditions, virtual models, strategies, sticky routing, validation.
#![expect(
    clippy::unwrap_used,
    reason = "helpers fail the test loudly on unexpected errors"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};
use switchyard_core::{
    Attribution, Endpoint, HealthBoard, Identity, ParsedRequest, RequestContext, RouteDecision,
};
use switchyard_route::{
    HeaderMatch, RouteTable, Rule, Rules, RulesBuilder, Sticky, Strategy, Target, TargetStats,
    VirtualModel,
};

fn table() -> Arc<RouteTable> {
    Arc::new(
        RouteTable::builder()
            .provider("openai", ["gpt-*"])
            .provider("anthropic", ["claude-*"])
            .discovered_provider("local", ["llama*"])
            .discovered_provider("vllm", Vec::<String>::new())
            .build()
            .unwrap(),
    )
}

fn builder() -> RulesBuilder {
    Rules::builder(table())
}

struct Req {
    endpoint: Endpoint,
    body: Value,
    tags: Vec<&'static str>,
    headers: HeaderMap,
    attribution: Attribution,
    identity: Option<Identity>,
}

fn chat(model: &str, prompt: &str) -> Req {
    Req {
        endpoint: Endpoint::ChatCompletions,
        body: json!({"model": model, "messages": [{"role": "user", "content": prompt}]}),
        tags: Vec::new(),
        headers: HeaderMap::new(),
        attribution: Attribution::default(),
        identity: None,
    }
}

impl Req {
    fn tag(mut self, t: &'static str) -> Self {
        self.tags.push(t);
        self
    }

    fn header(mut self, k: &'static str, v: &'static str) -> Self {
        self.headers.insert(k, v.parse().unwrap());
        self
    }

    fn route(&self, rules: &Rules) -> Result<RouteDecision, switchyard_core::Rejection> {
        let raw = Bytes::from(self.body.to_string());
        let parsed = ParsedRequest::parse(self.endpoint, raw).unwrap();
        let mut ctx = RequestContext::new(self.endpoint).with_attribution(self.attribution.clone());
        for t in &self.tags {
            ctx.add_tag(*t);
        }
        if let Some(id) = &self.identity {
            ctx.set_identity(id.clone());
        }
        rules.route(&parsed, &ctx, &self.headers)
    }

    /// (rule, "provider/model" of each candidate)
    fn go(&self, rules: &Rules) -> (String, Vec<String>) {
        let d = self.route(rules).unwrap();
        let c = d
            .candidates
            .iter()
            .map(|c| format!("{}/{}", c.provider, c.model))
            .collect();
        (d.rule.to_string(), c)
    }

    fn first(&self, rules: &Rules) -> String {
        self.go(rules).1.remove(0)
    }
}

fn t(p: &str, m: &str) -> Target {
    Target::new(p, m)
}

#[test]
fn each_condition_kind_and_first_match_wins() {
    let rules = builder()
        .rule(
            Rule::new("exact")
                .model("fast")
                .to([t("openai", "gpt-4o-mini")]),
        )
        .rule(
            Rule::new("prefix")
                .model_prefix("team-")
                .to([t("anthropic", "claude-haiku")]),
        )
        .rule(
            Rule::new("glob")
                .model_glob("big-{a,b}")
                .to([t("openai", "gpt-4o")]),
        )
        .rule(
            Rule::new("vision")
                .tag("vision")
                .to([t("openai", "gpt-4o")]),
        )
        .rule(
            Rule::new("anyof")
                .any_tag(["code", "sql"])
                .without_tag("long_context")
                .to([t("local", "qwen-coder")]),
        )
        .rule(
            Rule::new("translate")
                .prompt_regex("(?i)^translate")
                .to([t("local", "nllb")]),
        )
        .rule(
            Rule::new("tiny")
                .body_bytes(None, Some(70))
                .to([t("local", "tiny")]),
        )
        .rule(
            Rule::new("tokens")
                .tokens(Some(100), None)
                .to([t("anthropic", "claude-long")]),
        )
        .rule(Rule::new("cli").source("cli").to([t("local", "cli-model")]))
        .rule(
            Rule::new("proj")
                .project("apollo")
                .to([t("local", "apollo-model")]),
        )
        .rule(
            Rule::new("team")
                .caller("team-red")
                .to([t("local", "red-model")]),
        )
        .rule(
            Rule::new("gold")
                .header("x-tier", HeaderMatch::Exact("gold".into()))
                .to([t("openai", "gpt-4.1")]),
        )
        .rule(
            Rule::new("beta")
                .header("x-beta", HeaderMatch::Present)
                .header("x-client", HeaderMatch::Regex("^sdk/".into()))
                .to([t("openai", "gpt-beta")]),
        )
        .rule(
            Rule::new("embed")
                .endpoint(Endpoint::Embeddings)
                .to([t("openai", "text-embedding-3-small")]),
        )
        .build()
        .unwrap();
    let long_prompt = "a long prompt for this test ".repeat(20);
    assert_eq!(
        chat("fast", &long_prompt).go(&rules),
        ("rule:exact".into(), vec!["openai/gpt-4o-mini".into()])
    );
    assert_eq!(chat("team-x", &long_prompt).go(&rules).0, "rule:prefix");
    assert_eq!(chat("big-b", &long_prompt).go(&rules).0, "rule:glob");
    assert_eq!(chat("big-c", &long_prompt).go(&rules).0, "rule:tokens");
    assert_eq!(
        chat("fast", "x").tag("vision").go(&rules).0,
        "rule:exact",
        "first match wins"
    );
    assert_eq!(
        chat("any", &long_prompt).tag("vision").go(&rules).0,
        "rule:vision"
    );
    assert_eq!(
        chat("any", &long_prompt).tag("sql").go(&rules).0,
        "rule:anyof"
    );
    assert_eq!(
        chat("any", &long_prompt)
            .tag("sql")
            .tag("long_context")
            .go(&rules)
            .0,
        "rule:tokens"
    );
    assert_eq!(
        chat("any", &format!("Translate: {long_prompt}"))
            .go(&rules)
            .0,
        "rule:translate"
    );
    assert_eq!(chat("m", "hi").go(&rules).0, "rule:tiny");
    let mid = "medium sized prompt";
    let mut r = chat("gpt-4o", mid);
    r.attribution.source = Some("cli".into());
    assert_eq!(r.go(&rules).0, "rule:cli");
    let mut r = chat("gpt-4o", mid);
    r.identity = Some(Identity {
        project: Some("apollo".into()),
        ..Default::default()
    });
    assert_eq!(r.go(&rules).0, "rule:proj");
    let mut r = chat("gpt-4o", mid);
    r.attribution.project = Some("apollo".into());
    assert_eq!(r.go(&rules).0, "rule:proj");
    let mut r = chat("gpt-4o", mid);
    r.identity = Some(Identity {
        team: Some("team-red".into()),
        ..Default::default()
    });
    assert_eq!(r.go(&rules).0, "rule:team");
    assert_eq!(
        chat("gpt-4o", mid).header("x-tier", "gold").go(&rules).0,
        "rule:gold"
    );
    assert_eq!(
        chat("gpt-4o", mid).header("x-tier", "silver").go(&rules).0,
        "provider:openai"
    );
    assert_eq!(
        chat("gpt-4o", mid)
            .header("x-beta", "1")
            .header("x-client", "sdk/2")
            .go(&rules)
            .0,
        "rule:beta"
    );
    assert_eq!(
        chat("gpt-4o", mid)
            .header("x-beta", "1")
            .header("x-client", "web")
            .go(&rules)
            .0,
        "provider:openai"
    );
    let mut r = chat("emb", mid);
    r.endpoint = Endpoint::Embeddings;
    r.body = json!({"model": "emb", "input": "some text to embed here, long enough to pass the tiny rule"});
    assert_eq!(r.go(&rules).0, "rule:embed");
}

#[test]
fn virtual_models_flatten_with_profiles_and_fall_back_to_the_table() {
    let rules = builder()
        .virtual_model(
            VirtualModel::new("cheap")
                .target(t("local", "llama3.2"))
                .profile("small"),
        )
        .virtual_model(
            VirtualModel::new("coder")
                .target(t("local", "qwen-coder").profile("qwen"))
                .target(switchyard_route::TargetRef::Virtual("cheap".into()))
                .target(t("openai", "gpt-4o"))
                .profile("coding")
                .description("code"),
        )
        .build()
        .unwrap();
    let d = chat("coder", "x").route(&rules).unwrap();
    assert_eq!(&*d.rule, "virtual:coder");
    let got: Vec<(String, Option<String>)> = d
        .candidates
        .iter()
        .map(|c| {
            (
                format!("{}/{}", c.provider, c.model),
                c.profile.as_deref().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("local/qwen-coder".into(), Some("qwen".into())),
            ("local/llama3.2".into(), Some("small".into())),
            ("openai/gpt-4o".into(), Some("coding".into())),
        ]
    );
    assert_eq!(
        rules.virtual_models().collect::<Vec<_>>(),
        [("cheap", None), ("coder", Some("code"))]
    );
    assert_eq!(chat("gpt-4o", "x").go(&rules).0, "provider:openai");
    assert_eq!(
        chat("anthropic/claude-x", "x").go(&rules),
        ("prefix:anthropic".into(), vec!["anthropic/claude-x".into()])
    );
    let e = chat("nope", "x").route(&rules).unwrap_err();
    assert_eq!(e.status(), 404);
    assert!(
        e.message().contains("Virtual models: cheap, coder."),
        "{}",
        e.message()
    );
}

#[test]
fn invalid_configs_name_the_rule_and_the_problem() {
    let cases: Vec<(RulesBuilder, &str)> = vec![
        (
            builder().rule(Rule::new("r").to([t("nope", "m")])),
            "rule `r` (rules[0]): unknown provider `nope` in target `nope/m`",
        ),
        (
            builder().rule(Rule::new("r").prompt_regex("(unclosed")),
            "rule `r` (rules[0]): invalid prompt regex `(unclosed`",
        ),
        (
            builder().rule(Rule::new("r").model_glob("[x").to([t("openai", "m")])),
            "invalid model glob `[x`",
        ),
        (
            builder().rule(Rule::new("r").model("m")),
            "rule `r` (rules[0]): has no destination",
        ),
        (
            builder().rule(
                Rule::new("w")
                    .to([t("openai", "a").weight(0), t("openai", "b").weight(0)])
                    .strategy(Strategy::Weighted),
            ),
            "rule `w` (rules[0]): target weights sum to 0",
        ),
        (
            builder()
                .virtual_model(
                    VirtualModel::new("a").target(switchyard_route::TargetRef::Virtual("b".into())),
                )
                .virtual_model(
                    VirtualModel::new("b").target(switchyard_route::TargetRef::Virtual("a".into())),
                ),
            "virtual model `a`: virtual model cycle: a -> b -> a",
        ),
        (
            builder().virtual_model(VirtualModel::new("e")),
            "virtual model `e`: virtual model `e` has no targets",
        ),
        (
            builder().rule(Rule::new("r").to_virtual("ghost")),
            "rule `r` (rules[0]): unknown virtual model `ghost`",
        ),
        (
            builder().rule(Rule::new("r").to_discovered(["nope"])),
            "unknown provider `nope` in `discovered`",
        ),
        (
            builder().rule(
                Rule::new("c")
                    .to([t("openai", "a").price(10.0, 30.0)])
                    .strategy(Strategy::Cheapest {
                        max_price: Some(1.0),
                    }),
            ),
            "no target has a price at or under `max_price` 1",
        ),
        (
            builder().rule(
                Rule::new("q")
                    .to([t("openai", "a")])
                    .strategy(Strategy::QualityCost { quality_bias: 2.0 }),
            ),
            "`quality_bias` must be within 0..=1",
        ),
        (
            builder().rule(
                Rule::new("r")
                    .tokens(Some(10), Some(5))
                    .to([t("openai", "a")]),
            ),
            "`tokens` min 10 is greater than max 5",
        ),
        (
            builder()
                .virtual_model(VirtualModel::new("d").target(t("openai", "a")))
                .virtual_model(VirtualModel::new("d").target(t("openai", "b"))),
            "virtual model `d` is defined twice",
        ),
    ];
    for (b, want) in cases {
        let e = b.build().unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
}

fn split(strategy: Strategy, targets: Vec<Target>) -> Rules {
    builder()
        .rule(Rule::new("s").model("m").to(targets).strategy(strategy))
        .build()
        .unwrap()
}

fn counts(rules: &Rules, n: usize) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for _ in 0..n {
        *out.entry(chat("m", "x").first(rules)).or_default() += 1;
    }
    out
}

#[test]
fn round_robin_is_exact() {
    let rules = split(
        Strategy::RoundRobin,
        vec![t("openai", "a"), t("openai", "b"), t("openai", "c")],
    );
    let c = counts(&rules, 300);
    assert_eq!(
        c.values().copied().collect::<Vec<_>>(),
        [100, 100, 100],
        "{c:?}"
    );
    // The rest follow in rotation, for failover.
    let (_, order) = chat("m", "x").go(&rules);
    assert_eq!(order.len(), 3);
}

#[test]
fn weighted_follows_the_weights() {
    let rules = split(
        Strategy::Weighted,
        vec![
            t("openai", "a").weight(6),
            t("openai", "b").weight(3),
            t("openai", "c").weight(1),
            t("openai", "z").weight(0),
        ],
    );
    let n = 20_000;
    let c = counts(&rules, n);
    // Expected 60% / 30% / 10%; 4 standard deviations of a binomial is < 1.5 points here.
    for (name, share) in [("openai/a", 0.6), ("openai/b", 0.3), ("openai/c", 0.1)] {
        let got = c.get(name).copied().unwrap_or(0) as f64 / n as f64;
        assert!(
            (got - share).abs() < 0.015,
            "{name}: {got} vs {share} ({c:?})"
        );
    }
    assert_eq!(c.get("openai/z"), None, "weight 0 is never first");
    let (_, order) = chat("m", "x").go(&rules);
    assert_eq!(order.len(), 4, "every target is a candidate");
}

#[test]
fn random_is_roughly_uniform() {
    let rules = split(Strategy::Random, vec![t("openai", "a"), t("openai", "b")]);
    let c = counts(&rules, 10_000);
    let a = c["openai/a"] as f64 / 10_000.0;
    assert!((a - 0.5).abs() < 0.03, "{c:?}");
}

#[test]
fn health_aware_strategies_skip_unhealthy_targets_but_pinned_does_not() {
    let board = HealthBoard::new();
    let until = Instant::now() + Duration::from_secs(60);
    board.mark_down("openai", Some("a"), until);
    let targets = vec![t("openai", "a"), t("openai", "b"), t("openai", "c")];
    let mk = |s: Strategy| {
        builder()
            .health(Arc::new(board.clone()))
            .rule(Rule::new("s").model("m").to(targets.clone()).strategy(s))
            .build()
            .unwrap()
    };
    let (_, order) = chat("m", "x").go(&mk(Strategy::FirstAvailable));
    assert_eq!(
        order,
        ["openai/b", "openai/c", "openai/a"],
        "unhealthy last, still a fallback"
    );
    assert_eq!(chat("m", "x").first(&mk(Strategy::Pinned)), "openai/a");
    for s in [
        Strategy::RoundRobin,
        Strategy::Random,
        Strategy::Weighted,
        Strategy::LeastLoaded,
    ] {
        let rules = mk(s);
        for _ in 0..50 {
            assert_ne!(chat("m", "x").first(&rules), "openai/a", "{s:?}");
        }
    }
    board.mark_up("openai", Some("a"));
    assert_eq!(
        chat("m", "x").first(&mk(Strategy::FirstAvailable)),
        "openai/a"
    );
    board.mark_down("openai", None, until);
    let (_, order) = chat("m", "x").go(&mk(Strategy::FirstAvailable));
    assert_eq!(
        order,
        ["openai/a", "openai/b", "openai/c"],
        "all down: the configured order"
    );
}

#[test]
fn cheapest_quality_cost_fastest_and_throughput_order_by_what_they_measure() {
    let priced = vec![
        t("openai", "big").price(5.0, 15.0).quality(0.95),
        t("openai", "mid").price(0.5, 1.5).quality(0.8),
        t("openai", "free"),
        t("openai", "small").price(0.1, 0.4).quality(0.4),
    ];
    let (_, order) = chat("m", "x").go(&split(
        Strategy::Cheapest { max_price: None },
        priced.clone(),
    ));
    assert_eq!(
        order,
        ["openai/small", "openai/mid", "openai/big", "openai/free"]
    );
    let (_, order) = chat("m", "x").go(&split(
        Strategy::Cheapest {
            max_price: Some(1.0),
        },
        priced.clone(),
    ));
    assert_eq!(
        order,
        ["openai/small", "openai/mid"],
        "over the ceiling or unpriced: left out"
    );
    let (_, order) = chat("m", "x").go(&split(
        Strategy::QualityCost { quality_bias: 1.0 },
        priced.clone(),
    ));
    assert_eq!(order[0], "openai/big");
    let (_, order) = chat("m", "x").go(&split(
        Strategy::QualityCost { quality_bias: 0.0 },
        priced.clone(),
    ));
    assert_eq!(order[0], "openai/small");
    // bias 0.7: big 0.7*0.95-0.3*1 = 0.365; mid 0.56-0.3*0.1 = 0.53; small 0.28-0.3*0.025 = 0.27
    let (_, order) = chat("m", "x").go(&split(Strategy::QualityCost { quality_bias: 0.7 }, priced));
    assert_eq!(order[0], "openai/mid");

    let stats = TargetStats::new();
    stats
        .get("openai", "slow")
        .observe_latency(Duration::from_millis(900));
    stats
        .get("openai", "quick")
        .observe_latency(Duration::from_millis(80));
    stats
        .get("openai", "slow")
        .observe_throughput(400, Duration::from_secs(2));
    stats
        .get("openai", "quick")
        .observe_throughput(100, Duration::from_secs(2));
    let mk = |s: Strategy| {
        builder()
            .stats(stats.clone())
            .rule(
                Rule::new("s")
                    .model("m")
                    .to([t("openai", "slow"), t("openai", "quick")])
                    .strategy(s),
            )
            .build()
            .unwrap()
    };
    assert_eq!(chat("m", "x").first(&mk(Strategy::Fastest)), "openai/quick");
    assert_eq!(
        chat("m", "x").first(&mk(Strategy::HighestThroughput)),
        "openai/slow"
    );
    // An unmeasured target is tried first, to measure it.
    let rules = builder()
        .stats(stats.clone())
        .rule(
            Rule::new("s")
                .model("m")
                .to([t("openai", "quick"), t("openai", "new")])
                .strategy(Strategy::Fastest),
        )
        .build()
        .unwrap();
    assert_eq!(chat("m", "x").first(&rules), "openai/new");
}

#[test]
fn least_loaded_prefers_fewer_in_flight_weighted_by_latency() {
    let stats = TargetStats::new();
    for m in ["a", "b"] {
        stats
            .get("openai", m)
            .observe_latency(Duration::from_millis(100));
    }
    let rules = builder()
        .stats(stats.clone())
        .rule(
            Rule::new("s")
                .model("m")
                .to([t("openai", "a"), t("openai", "b")])
                .strategy(Strategy::LeastLoaded),
        )
        .build()
        .unwrap();
    let busy: Vec<_> = (0..5).map(|_| stats.get("openai", "a").start()).collect();
    for _ in 0..50 {
        assert_eq!(chat("m", "x").first(&rules), "openai/b");
    }
    drop(busy);
    // Same load, b much slower: a wins.
    for _ in 0..5 {
        stats
            .get("openai", "b")
            .observe_latency(Duration::from_millis(5000));
    }
    for _ in 0..50 {
        assert_eq!(chat("m", "x").first(&rules), "openai/a");
    }
    // With many targets, load spreads: over many requests with the in-flight counts held,
    // the most loaded one is never first.
    let rules = builder()
        .stats(stats.clone())
        .rule(
            Rule::new("s")
                .model("m")
                .to([t("openai", "p"), t("openai", "q"), t("openai", "r")])
                .strategy(Strategy::LeastLoaded),
        )
        .build()
        .unwrap();
    let _held: Vec<_> = (0..10).map(|_| stats.get("openai", "p").start()).collect();
    let c = counts(&rules, 3_000);
    assert_eq!(c.get("openai/p"), None, "{c:?}");
    assert!(c["openai/q"] > 500 && c["openai/r"] > 500, "{c:?}");
}

#[test]
fn sticky_keys_keep_their_target_until_it_is_unhealthy() {
    let board = HealthBoard::new();
    let rules = builder()
        .health(Arc::new(board.clone()))
        .virtual_model(
            VirtualModel::new("chat")
                .target(t("openai", "a"))
                .target(t("openai", "b"))
                .target(t("openai", "c"))
                .strategy(Strategy::RoundRobin)
                .sticky(Sticky::header("x-session-id")),
        )
        .rule(
            Rule::new("by-user")
                .model("u")
                .to([t("openai", "a"), t("openai", "b")])
                .strategy(Strategy::Random)
                .sticky(Sticky::field("user")),
        )
        .build()
        .unwrap();
    let first = chat("chat", "x").header("x-session-id", "s1").first(&rules);
    for _ in 0..20 {
        assert_eq!(
            chat("chat", "x").header("x-session-id", "s1").first(&rules),
            first
        );
    }
    let others: std::collections::HashSet<String> = (0..6)
        .map(|i| {
            let mut r = chat("chat", "x");
            r.headers
                .insert("x-session-id", format!("k{i}").parse().unwrap());
            r.first(&rules)
        })
        .collect();
    assert!(others.len() > 1, "new keys still spread: {others:?}");
    let (p, m) = first.split_once('/').unwrap();
    board.mark_down(p, Some(m), Instant::now() + Duration::from_secs(60));
    let moved = chat("chat", "x").header("x-session-id", "s1").first(&rules);
    assert_ne!(moved, first);
    assert_eq!(
        chat("chat", "x").header("x-session-id", "s1").first(&rules),
        moved,
        "re-bound"
    );
    // A body field as the key.
    let mut r = chat("u", "x");
    r.body["user"] = json!("alice");
    let got = r.first(&rules);
    for _ in 0..20 {
        assert_eq!(r.first(&rules), got);
    }
}

#[test]
fn discovered_rules_route_where_the_model_was_found() {
    let table = table();
    let rules = Rules::builder(table.clone())
        .rule(Rule::new("local-first").to_discovered(["local", "vllm"]))
        .rule(Rule::new("rest").to([t("openai", "gpt-4o-mini")]))
        .build()
        .unwrap();
    assert_eq!(chat("qwen3:8b", "x").go(&rules).0, "rule:rest");
    table.directory().set("vllm", vec!["qwen3:8b".into()]);
    assert_eq!(
        chat("qwen3:8b", "x").go(&rules),
        ("rule:local-first".into(), vec!["vllm/qwen3:8b".into()])
    );
    table
        .directory()
        .set("local", vec!["qwen3:8b".into(), "llama3.2".into()]);
    assert_eq!(
        chat("qwen3:8b", "x").go(&rules).1,
        ["local/qwen3:8b", "vllm/qwen3:8b"],
        "both have it: config order, the second as fallback"
    );
}
