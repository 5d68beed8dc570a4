//! Micro-benches of the core hot path: body validation + model extraction, SSE parsing.
//!
//! `cargo bench --bench core`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use switchyard::core::{Endpoint, ParsedRequest, SseParser};

fn chat_body(target: usize) -> Bytes {
    let mut messages = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < target {
        let content = format!(
            "message {i}: the quick brown fox jumps over the lazy dog, \u{e9}t\u{e9} \u{1F600}. "
        );
        len += content.len() + 40;
        messages.push(serde_json::json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": content}));
        i += 1;
    }
    let body = serde_json::json!({"model": "gpt-4o-mini", "messages": messages, "temperature": 0.2, "stream": true});
    Bytes::from(serde_json::to_vec(&body).expect("serialises"))
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_request");
    for size in [2 * 1024, 200 * 1024] {
        let body = chat_body(size);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("validate_and_model", size),
            &body,
            |b, body| {
                b.iter(|| {
                    let p =
                        ParsedRequest::parse(Endpoint::ChatCompletions, black_box(body.clone()))
                            .expect("valid");
                    black_box(p.model().map(str::len))
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("set_model_reserialise", size),
            &body,
            |b, body| {
                let p =
                    ParsedRequest::parse(Endpoint::ChatCompletions, body.clone()).expect("valid");
                b.iter(|| {
                    let mut q = p.clone();
                    q.set_model("gpt-4o").expect("object");
                    black_box(q.body().len())
                })
            },
        );
    }
    g.finish();
}

fn sse(c: &mut Criterion) {
    let mut stream = Vec::new();
    for i in 0..200 {
        stream.extend_from_slice(
            format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"finish_reason\":null}}]}}\n\n")
                .as_bytes(),
        );
    }
    stream.extend_from_slice(b"data: [DONE]\n\n");
    let mut g = c.benchmark_group("sse_parse");
    g.throughput(Throughput::Elements(201));
    for chunk in [stream.len(), 64] {
        g.bench_with_input(BenchmarkId::new("chunk", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                let mut p = SseParser::new();
                let mut n = 0usize;
                for piece in stream.chunks(chunk) {
                    p.feed(piece, |e| n += e.data.len());
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse, sse);
criterion_main!(benches);
