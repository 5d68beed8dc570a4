//! Micro-benches of the core hot path: body validation + model extraction,
//! SSE parsing, and the usage layer's read of each answer format.
//!
//! `cargo bench --bench core`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use switchyard::core::{Endpoint, ParsedRequest, Prompt, SseEvent, SseParser};
use switchyard_usage::Observation;
use switchyard_usage::WireFormat;
use switchyard_usage::wire::{AnthropicMessages, OpenAiChat, OpenAiEmbeddings, OpenAiResponses};

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
        // What the binary does (`ParseLayer::eager_json`): validate and read
        // the body into its `Doc` in one pass, then build the prompt from it;
        // against the same with a `serde_json::Value` tree.
        g.bench_with_input(
            BenchmarkId::new("read_doc_and_prompt", size),
            &body,
            |b, body| {
                b.iter(|| {
                    let p = ParsedRequest::parse_json(
                        Endpoint::ChatCompletions,
                        black_box(body.clone()),
                    )
                    .expect("valid");
                    black_box(p.prompt().char_count())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("read_value_and_prompt", size),
            &body,
            |b, body| {
                b.iter(|| {
                    let v: serde_json::Value =
                        switchyard::core::from_json(black_box(body)).expect("valid");
                    black_box(Prompt::from_json(Endpoint::ChatCompletions, &v).char_count())
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

/// An embeddings answer: `vectors` vectors of 1,536 floats.
fn embeddings_answer(vectors: usize) -> Vec<u8> {
    let data: Vec<serde_json::Value> = (0..vectors)
        .map(|i| {
            let v: Vec<f64> = (0..1536)
                .map(|j| (((i * 1536 + j) as f64) * 0.7123).sin() * 0.05)
                .collect();
            serde_json::json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    let answer = serde_json::json!({"object": "list", "data": data, "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 80, "total_tokens": 80}});
    serde_json::to_vec(&answer).expect("serialises")
}

/// The usage layer's read of one stream event or whole answer per format
/// (what every chunk of every stream costs it).
fn usage_read(c: &mut Criterion) {
    let event = |data: &'static str| SseEvent {
        event: None,
        data: data.as_bytes(),
        id: None,
    };
    let events: [(&str, &dyn WireFormat, SseEvent<'static>); 3] = [
        (
            "openai_chat_chunk",
            &OpenAiChat,
            event(
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]}"#,
            ),
        ),
        (
            "anthropic_text_delta",
            &AnthropicMessages,
            event(
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" word"}}"#,
            ),
        ),
        (
            "responses_text_delta",
            &OpenAiResponses,
            event(
                r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":" word","sequence_number":5}"#,
            ),
        ),
    ];
    let mut g = c.benchmark_group("usage_read");
    g.throughput(Throughput::Elements(1));
    for (name, format, ev) in &events {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let mut o = Observation::new(4096);
                black_box(format.read_event(black_box(ev), &mut o));
                black_box(o.answer().0.len())
            })
        });
    }
    let answer = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Switchyard sits between your client and the provider; this answer is about as long as a short reply.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":512,"completion_tokens":38,"total_tokens":550,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#;
    g.throughput(Throughput::Bytes(answer.len() as u64));
    g.bench_function("openai_chat_answer", |b| {
        b.iter(|| {
            let mut o = Observation::new(4096);
            OpenAiChat.read_body(black_box(answer), &mut o);
            black_box(o.output_tokens)
        })
    });
    let embeddings = embeddings_answer(10);
    g.throughput(Throughput::Bytes(embeddings.len() as u64));
    g.bench_function("embeddings_answer_10x1536", |b| {
        b.iter(|| {
            let mut o = Observation::new(0);
            OpenAiEmbeddings.read_body(black_box(&embeddings), &mut o);
            black_box(o.input_tokens)
        })
    });
    g.finish();
}

criterion_group!(benches, parse, sse, usage_read);
criterion_main!(benches);
