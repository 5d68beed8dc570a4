//! Stream translation throughput: every upstream decoder paired with every
//! client encoder, in IR events per second, and each pair's encoder alone.
//!
//! `cargo bench -p switchyard-protocol --bench stream`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

#[path = "../tests/transcripts.rs"]
mod transcripts;

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchyard_protocol::{EncodeOptions, Format};

fn transcript(format: Format) -> &'static str {
    match format {
        Format::OpenAiChat => transcripts::OPENAI,
        Format::Anthropic => transcripts::ANTHROPIC,
        Format::Responses => transcripts::RESPONSES,
        Format::Gemini => transcripts::GEMINI,
        Format::Ollama => transcripts::OLLAMA,
    }
}

/// Splits a transcript into 64-byte frames, as a network would.
fn frames(format: Format) -> Vec<&'static [u8]> {
    transcript(format).as_bytes().chunks(64).collect()
}

fn events_of(format: Format) -> u64 {
    let mut d = format.decoder();
    let mut out = Vec::new();
    for f in frames(format) {
        let _ = d.feed(f, &mut out);
    }
    out.len() as u64
}

fn pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_encode");
    for upstream in Format::ALL {
        let input = frames(upstream);
        group.throughput(Throughput::Elements(events_of(upstream)));
        for client in [Format::OpenAiChat, Format::Anthropic, Format::Responses] {
            let id = BenchmarkId::new(upstream.as_str(), client.as_str());
            group.bench_with_input(id, &input, |b, input| {
                let mut events = Vec::with_capacity(32);
                let mut out = BytesMut::with_capacity(8192);
                b.iter(|| {
                    let mut d = upstream.decoder();
                    let Some(mut e) = client.encoder(EncodeOptions::default()) else {
                        return;
                    };
                    for frame in input {
                        events.clear();
                        let _ = d.feed(frame, &mut events);
                        for ev in &events {
                            e.encode(ev, &mut out);
                        }
                    }
                    e.finish(&mut out);
                    black_box(out.split());
                });
            });
        }
    }
    group.finish();
}

/// A long answer: `n` text deltas between a format's opening and closing events.
fn long(format: Format, n: usize) -> String {
    let (head, delta, tail) = match format {
        Format::OpenAiChat => (
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
        ),
        Format::Anthropic => (
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":5}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" word\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ),
        Format::Responses => (
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"g\"}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" word\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":5,\"output_tokens\":9}}}\n\n",
        ),
        Format::Gemini => (
            "",
            "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" word\"}]}}],\"modelVersion\":\"g\",\"responseId\":\"r\"}\r\n\r\n",
            "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":9}}\r\n\r\n",
        ),
        Format::Ollama => (
            "",
            "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\" word\"},\"done\":false}\n",
            "{\"model\":\"q\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":5,\"eval_count\":9}\n",
        ),
    };
    let mut s = String::from(head);
    for _ in 0..n {
        s.push_str(delta);
    }
    s.push_str(tail);
    s
}

/// Steady state: a 1,000-delta answer per pair, so per-stream setup is amortised.
fn steady(c: &mut Criterion) {
    let mut group = c.benchmark_group("steady_1000_deltas");
    for upstream in Format::ALL {
        let text = long(upstream, 1000);
        let input: Vec<&[u8]> = text.as_bytes().chunks(256).collect();
        let mut d = upstream.decoder();
        let mut all = Vec::new();
        for f in &input {
            let _ = d.feed(f, &mut all);
        }
        group.throughput(Throughput::Elements(all.len() as u64));
        for client in [Format::OpenAiChat, Format::Anthropic, Format::Responses] {
            let id = BenchmarkId::new(upstream.as_str(), client.as_str());
            group.bench_with_input(id, &input, |b, input| {
                let mut events = Vec::with_capacity(32);
                let mut out = BytesMut::with_capacity(8192);
                b.iter(|| {
                    let mut d = upstream.decoder();
                    let Some(mut e) = client.encoder(EncodeOptions::default()) else {
                        return;
                    };
                    for frame in input {
                        events.clear();
                        let _ = d.feed(frame, &mut events);
                        for ev in &events {
                            e.encode(ev, &mut out);
                        }
                        black_box(out.split());
                    }
                    e.finish(&mut out);
                    black_box(out.split());
                });
            });
        }
    }
    group.finish();
}

/// The encoder alone, per translation pair: each upstream format's 1,000-delta
/// answer decoded once up front, its IR events encoded for each client format.
fn encoders(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_1000_deltas");
    for upstream in Format::ALL {
        let text = long(upstream, 1000);
        let mut d = upstream.decoder();
        let mut events = Vec::new();
        for f in text.as_bytes().chunks(256) {
            let _ = d.feed(f, &mut events);
        }
        group.throughput(Throughput::Elements(events.len() as u64));
        for client in [Format::OpenAiChat, Format::Anthropic, Format::Responses] {
            let id = BenchmarkId::new(upstream.as_str(), client.as_str());
            group.bench_with_input(id, &events, |b, events| {
                let mut out = BytesMut::with_capacity(8192);
                b.iter(|| {
                    let Some(mut e) = client.encoder(EncodeOptions::default()) else {
                        return;
                    };
                    for ev in events {
                        e.encode(ev, &mut out);
                        if out.len() > 4096 {
                            black_box(out.split());
                        }
                    }
                    e.finish(&mut out);
                    black_box(out.split());
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, pairs, steady, encoders);
criterion_main!(benches);
