//! The guard's cost on clean prompts (the common case) and on prompts with
//! findings: `cargo bench -p switchyard-guard --bench scan`. Reports time per
//! scan; divide by the size (printed) for ns per KB.
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use switchyard_core::{Doc, Endpoint};
use switchyard_guard::{Action, Policy};

/// About `kb` KB of ordinary prose and code, no secrets.
fn clean(kb: usize) -> String {
    const PARTS: [&str; 4] = [
        "The borrow checker makes sure references never outlive the data they point to; \
         lifetimes are usually inferred, and only need writing when a function returns a \
         reference tied to one of several inputs. Version 1.2.3 shipped on 2024-03-15. ",
        "fn main() {\n    let token = std::env::var(\"API_TOKEN\").expect(\"unset\");\n    \
         println!(\"{}\", token.len());\n}\n",
        "SELECT id, email, created_at FROM users WHERE created_at > '2024-01-01' ORDER BY id LIMIT 100;\n",
        "Commit 3f786850e387550fdab836ed7e6dc881de23001b changed 12 files; colour #1e90ff, price $1,049.00.\n",
    ];
    let mut s = String::new();
    let mut i = 0;
    while s.len() < kb * 1024 {
        s.push_str(PARTS[i % PARTS.len()]);
        i += 1;
    }
    s.truncate(kb * 1024);
    s
}

fn bench(c: &mut Criterion) {
    let policy = Policy::new(Action::Redact);
    let mut g = c.benchmark_group("guard_scan");
    for kb in [1, 16, 64] {
        let text = clean(kb);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("clean_text", kb), &text, |b, t| {
            b.iter(|| assert!(policy.scan_text(t).is_empty()))
        });
    }
    // Prose without a digit, an `@` or a word a secret begins with.
    let prose = "We are migrating the billing service from a monolith to three \
        services behind a queue. Summarise the risks of running both paths in \
        parallel for a month, and say which metrics would tell us to roll back. "
        .repeat(16 * 1024 / 200);
    g.throughput(Throughput::Bytes(prose.len() as u64));
    g.bench_function("clean_prose_16kb", |b| {
        b.iter(|| assert!(policy.scan_text(&prose).is_empty()))
    });
    // The overhead bench's 2 KB chat body: a system prompt and three turns.
    let turn = &prose[..600];
    let body = json!({"model": "m", "messages": [
        {"role": "system", "content": "You are a careful senior engineer. Answer briefly, with concrete steps."},
        {"role": "user", "content": turn},
        {"role": "assistant", "content": turn},
        {"role": "user", "content": turn},
    ]});
    // Read as the gateway reads a body: into a `Doc`.
    let body = Doc::parse(body.to_string().into()).expect("a JSON body");
    g.throughput(Throughput::Bytes(body.body().len() as u64));
    g.bench_function("prose_chat_body_2kb", |b| {
        b.iter(|| {
            assert!(
                policy
                    .scan(Endpoint::ChatCompletions, body.root())
                    .is_empty()
            )
        })
    });
    // Texts made of the words detectors begin with and nothing that follows
    // them: the look at each must stay short (the cost stays linear). None holds a digit or an `@`, which send the text to the full pass.
    for (name, unit) in [
        ("jwt_starts", "eyJ"),
        ("key_headers", "-----BEGIN PRIVATE KEY-----!"),
        ("secret_words", "token \t  password  api "),
    ] {
        let text = unit.repeat(16 * 1024 / unit.len());
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("only_starts_16kb", name), &text, |b, t| {
            b.iter(|| policy.scan_text(t))
        });
    }
    let dirty = format!(
        "{} contact jane.doe@gmail.com, key AKIAIOSFODNN7EXAMPLE, card 4111 1111 1111 1111",
        clean(1)
    );
    g.throughput(Throughput::Bytes(dirty.len() as u64));
    g.bench_function("with_findings_1kb", |b| {
        b.iter(|| assert_eq!(policy.scan_text(&dirty).len(), 3))
    });
    let body = json!({"model": "m", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": clean(4)},
    ]});
    let body = Doc::parse(body.to_string().into()).expect("a JSON body");
    g.throughput(Throughput::Bytes(body.body().len() as u64));
    g.bench_function("clean_chat_body_4kb", |b| {
        b.iter(|| {
            assert!(
                policy
                    .scan(Endpoint::ChatCompletions, body.root())
                    .is_empty()
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
