//! Stream translation throughput: every upstream decoder paired with every
//! client encoder, in IR events per second.
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

criterion_group!(benches, pairs);
criterion_main!(benches);
