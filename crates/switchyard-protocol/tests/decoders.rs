//! Stream decoders: exact events from realistic transcripts, and the same
//! events whatever the chunk splits (property tests).
#![expect(clippy::unwrap_used, reason = "test helpers")]

mod transcripts;

use proptest::prelude::*;
use switchyard_protocol::ir::{Event, Finish, FinishReason, Usage};
use switchyard_protocol::{Assembler, Format};

fn decode(format: Format, chunks: &[&[u8]]) -> Vec<Event> {
    let mut d = format.decoder();
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut out).unwrap();
    }
    d.finish(&mut out).unwrap();
    out
}

fn whole(format: Format, text: &str) -> Vec<Event> {
    decode(format, &[text.as_bytes()])
}

fn transcript(format: Format) -> &'static str {
    match format {
        Format::OpenAiChat => transcripts::OPENAI,
        Format::Anthropic => transcripts::ANTHROPIC,
        Format::Responses => transcripts::RESPONSES,
        Format::Gemini => transcripts::GEMINI,
        Format::Ollama => transcripts::OLLAMA,
    }
}

#[test]
fn anthropic_events_are_exact() {
    let events = whole(Format::Anthropic, transcripts::ANTHROPIC);
    assert_eq!(
        events,
        vec![
            Event::Start {
                id: "msg_01".into(),
                model: "claude-sonnet-4-5".into()
            },
            Event::Ping,
            Event::Thinking("Let me think \u{e9}\u{1F600}".into()),
            Event::ThinkingSignature("EqQBCgIYAhIM".into()),
            Event::Text("Checking the weather.".into()),
            Event::ToolCallStart {
                index: 0,
                id: "toolu_01".into(),
                name: "get_weather".into()
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "{\"city\": ".into()
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "\"Paris\"}".into()
            },
            Event::Usage(Usage {
                input_tokens: 125,
                output_tokens: 42,
                cache_read_tokens: 100,
                cache_write_tokens: 5,
                reasoning_tokens: 0
            }),
            Event::Finish(Finish::new(FinishReason::ToolCalls)),
        ]
    );
}

#[test]
fn every_format_assembles_the_same_answer() {
    for format in Format::ALL {
        let mut a = Assembler::new();
        for e in whole(format, transcript(format)) {
            a.push(&e);
        }
        let r = a.finish().unwrap();
        let expected = if format == Format::OpenAiChat {
            "Checking \u{e9}\u{1F600}"
        } else {
            "Checking the weather."
        };
        assert_eq!(r.text(), expected, "{format:?}");
        let calls: Vec<_> = r
            .parts
            .iter()
            .filter_map(|p| match p {
                switchyard_protocol::ir::Part::ToolCall(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 1, "{format:?}");
        assert_eq!(calls[0].name, "get_weather");
        assert_eq!(
            calls[0].arguments_value(),
            serde_json::json!({"city": "Paris"}),
            "{format:?}"
        );
        assert!(!calls[0].id.is_empty());
        assert_eq!(
            r.finish.unwrap().reason,
            FinishReason::ToolCalls,
            "{format:?}"
        );
        let u = r.usage.unwrap();
        assert_eq!(u.input_tokens, 125, "{format:?}");
        if format != Format::Gemini {
            assert_eq!(u.output_tokens, 42, "{format:?}");
        }
    }
}

#[test]
fn gemini_thoughts_and_signatures() {
    let events = whole(Format::Gemini, transcripts::GEMINI);
    assert!(events.contains(&Event::Thinking("Let me think \u{e9}\u{1F600}".into())));
    assert!(events.contains(&Event::ThinkingSignature("CiQB".into())));
    let u = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Usage(u) => Some(*u),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (u.output_tokens, u.reasoning_tokens, u.cache_read_tokens),
        (42, 30, 100)
    );
}

#[test]
fn byte_by_byte_equals_whole() {
    for format in Format::ALL {
        let text = transcript(format).as_bytes();
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(
            decode(format, &bytes),
            whole(format, transcript(format)),
            "{format:?}"
        );
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for format in Format::ALL {
        let mut d = format.decoder();
        let mut out = Vec::new();
        let r = d.feed(b"data: {not json\n\n{oops\n", &mut out);
        assert!(r.is_err(), "{format:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_split_gives_the_same_events(format in 0usize..5, cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let format = Format::ALL[format];
        let text = transcript(format).as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(text.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&text[last..p]);
            last = p;
        }
        chunks.push(&text[last..]);
        prop_assert_eq!(decode(format, &chunks), whole(format, transcript(format)));
    }
}
