//! Response classifiers: read the answer as it passes and tag it.

use std::sync::{Arc, LazyLock};

use memchr::memmem;
use serde_json::Value;
use switchyard_core::{AnswerStart, Exchange, from_json};

/// Phrases that open a refusal (matched lowercased, near the start of the answer).
pub const DEFAULT_REFUSAL_PHRASES: &[&str] = &[
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i’m sorry, but i can’t",
    "i am sorry, but i cannot",
    "sorry, i can't help with",
    "i can't help with that",
    "i cannot help with that",
    "i can't assist with",
    "i cannot assist with",
    "i can’t assist with",
    "i’m unable to help",
    "i'm unable to help",
    "i am unable to help",
    "i'm not able to help with",
    "i won't be able to help",
    "i must decline",
    "i cannot comply",
    "i can't comply",
    "i can't provide that",
    "i cannot provide that",
];

/// Refusal phrases must start within this many bytes of the answer.
const REFUSAL_WINDOW: usize = 40;

/// The refusal openers, lowercased, and one automaton that finds the
/// leftmost of them in a single pass over the answer's start.
#[derive(Debug)]
pub(crate) struct Refusal {
    phrases: Vec<String>,
    longest: usize,
    /// `None` only if the automaton could not be built (never for phrase
    /// lists of a sane size); then each phrase is searched on its own.
    finder: Option<aho_corasick::AhoCorasick>,
}

impl Refusal {
    fn new(phrases: Vec<String>) -> Refusal {
        let finder = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(&phrases)
            .ok();
        Refusal {
            longest: phrases.iter().map(String::len).max().unwrap_or(0),
            phrases,
            finder,
        }
    }
}

/// Which response classifiers run, and their settings.
#[derive(Clone, Debug)]
pub struct ResponseClassifiers {
    pub(crate) refusal: Option<Arc<Refusal>>,
    pub(crate) truncated: bool,
    pub(crate) max_buffer: usize,
}

impl Default for ResponseClassifiers {
    fn default() -> Self {
        ResponseClassifiers {
            refusal: Some(Arc::new(Refusal::new(
                DEFAULT_REFUSAL_PHRASES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            ))),
            truncated: true,
            max_buffer: 1 << 20,
        }
    }
}

impl ResponseClassifiers {
    /// None at all: responses pass untouched and unread.
    pub fn none() -> Self {
        ResponseClassifiers {
            refusal: None,
            truncated: false,
            max_buffer: 1 << 20,
        }
    }

    /// Tags `refusal` when the answer opens with one of `phrases` (any case),
    /// or the provider flags a refusal; `None` turns it off.
    pub fn refusal(mut self, phrases: Option<Vec<String>>) -> Self {
        self.refusal =
            phrases.map(|p| Arc::new(Refusal::new(p.iter().map(|s| s.to_lowercase()).collect())));
        self
    }

    /// Tags `truncated` when the answer stopped at its token limit.
    pub fn truncated(mut self, on: bool) -> Self {
        self.truncated = on;
        self
    }

    /// Largest non-streamed answer read whole to tag it in a header (default 1 MiB);
    /// a larger one passes through and its tags go to the trailers and the exchange only.
    pub fn max_buffer(mut self, bytes: usize) -> Self {
        self.max_buffer = bytes;
        self
    }

    /// Whether any response classifier is on.
    pub fn any(&self) -> bool {
        self.refusal.is_some() || self.truncated
    }

    /// How many characters of the answer's start (after leading white
    /// space) the refusal check can look at: a phrase starting within
    /// [`REFUSAL_WINDOW`] bytes, plus one. Once that much is kept, only the
    /// events that can end the answer are read.
    pub(crate) fn prefix_chars(&self) -> usize {
        self.refusal
            .as_ref()
            .map_or(0, |r| REFUSAL_WINDOW + r.longest + 1)
    }
}

/// The parts of an OpenAI-format stream chunk the classifiers read (the
/// same ones [`Answer::choice`] reads from a `Value`).
#[derive(serde::Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    choices: Option<Vec<ChunkChoice<'a>>>,
}

#[derive(serde::Deserialize)]
struct ChunkChoice<'a> {
    #[serde(borrow)]
    delta: Option<ChunkDelta<'a>>,
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    finish_reason: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct ChunkDelta<'a> {
    #[serde(borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
    /// Present and not null: the model refused.
    refusal: Option<serde::de::IgnoredAny>,
}

/// The parts of a whole OpenAI-format answer the classifiers read; `delta`,
/// `content` and `output` only tell that the answer has another shape.
#[derive(serde::Deserialize)]
struct Whole<'a> {
    #[serde(borrow)]
    choices: Option<Vec<WholeChoice<'a>>>,
    content: Option<serde::de::IgnoredAny>,
    output: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct WholeChoice<'a> {
    #[serde(borrow)]
    message: Option<ChunkDelta<'a>>,
    delta: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    finish_reason: Option<std::borrow::Cow<'a, str>>,
}

/// What has been seen of an answer so far.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The answer's start (see [`ResponseClassifiers::prefix_chars`]).
    start: AnswerStart,
    refusal_flag: bool,
    finish: Option<String>,
}

impl Default for Answer {
    fn default() -> Self {
        Answer::new(&ResponseClassifiers::default())
    }
}

impl Answer {
    /// An answer read for `config`'s classifiers.
    pub(crate) fn new(config: &ResponseClassifiers) -> Self {
        Answer {
            start: AnswerStart::new(config.prefix_chars()),
            refusal_flag: false,
            finish: None,
        }
    }

    /// The answer as a usage layer inside read it, once it wrote its
    /// [`AnswerDigest`](switchyard_core::AnswerDigest) into `exchange`.
    pub(crate) fn from_digest(config: &ResponseClassifiers, exchange: &Exchange) -> Option<Self> {
        let (digest, finish) = exchange.answer_digest()?;
        let mut answer = Answer::new(config);
        answer.start.push(&digest.start);
        answer.refusal_flag = digest.refused;
        answer.finish = finish.as_deref().map(str::to_owned);
        Some(answer)
    }

    fn text(&mut self, s: &str) {
        self.start.push(s);
    }

    fn prefix_full(&self) -> bool {
        self.start.is_full()
    }

    fn finish(&mut self, reason: Option<&Value>) {
        if let Some(r) = reason.and_then(Value::as_str) {
            self.finish = Some(r.to_owned());
        }
    }

    /// A whole non-streamed answer's bytes; false if they are not JSON.
    ///
    /// OpenAI-format answers are read through a borrowed typed view (no
    /// `Value` tree); any other shape through [`read_json`](Self::read_json).
    pub(crate) fn read_body(&mut self, body: &[u8]) -> bool {
        if let Ok(w) = from_json::<Whole<'_>>(body)
            && w.content.is_none()
            && w.output.is_none()
            && w.choices
                .as_ref()
                .is_none_or(|c| c.first().is_none_or(|c| c.delta.is_none()))
        {
            if let Some(c) = w.choices.as_ref().and_then(|c| c.first()) {
                self.typed_choice(
                    c.message.as_ref(),
                    c.text.as_deref(),
                    c.finish_reason.as_deref(),
                );
            }
            return true;
        }
        match from_json::<Value>(body) {
            Ok(v) => {
                self.read_json(&v);
                true
            }
            Err(_) => false,
        }
    }

    /// [`choice`](Self::choice) over the typed views.
    fn typed_choice(
        &mut self,
        msg: Option<&ChunkDelta<'_>>,
        text: Option<&str>,
        finish: Option<&str>,
    ) {
        if let Some(m) = msg {
            if let Some(t) = &m.content {
                self.text(t);
            }
            if m.refusal.is_some() {
                self.refusal_flag = true;
            }
        }
        if let Some(t) = text {
            self.text(t);
        }
        if let Some(r) = finish {
            self.finish = Some(r.to_owned());
        }
    }

    /// A whole non-streamed answer, in any protocol's shape.
    pub(crate) fn read_json(&mut self, v: &Value) {
        if let Some(choices) = v.get("choices").and_then(Value::as_array) {
            for c in choices.iter().take(1) {
                let msg = c.get("message").or_else(|| c.get("delta"));
                self.choice(c, msg);
            }
        }
        if let Some(content) = v.get("content").and_then(Value::as_array) {
            for block in content {
                if let Some(t) = block.get("text").and_then(Value::as_str) {
                    self.text(t);
                }
            }
            self.finish(v.get("stop_reason"));
        }
        if let Some(output) = v.get("output").and_then(Value::as_array) {
            for item in output {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match part.get("type").and_then(Value::as_str) {
                        Some("refusal") => self.refusal_flag = true,
                        _ => {
                            if let Some(t) = part.get("text").and_then(Value::as_str) {
                                self.text(t);
                            }
                        }
                    }
                }
            }
            self.responses_status(v);
        }
    }

    fn choice(&mut self, c: &Value, msg: Option<&Value>) {
        if let Some(m) = msg {
            if let Some(t) = m.get("content").and_then(Value::as_str) {
                self.text(t);
            }
            if m.get("refusal").is_some_and(|r| !r.is_null()) {
                self.refusal_flag = true;
            }
        }
        if let Some(t) = c.get("text").and_then(Value::as_str) {
            self.text(t);
        }
        self.finish(c.get("finish_reason"));
    }

    fn responses_status(&mut self, v: &Value) {
        if v.get("status").and_then(Value::as_str) == Some("incomplete") {
            let reason = v
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str);
            self.finish = Some(reason.unwrap_or("incomplete").to_owned());
        }
    }

    /// One streamed event's data.
    pub(crate) fn read_event(&mut self, data: &[u8]) {
        if data == b"[DONE]" || data.is_empty() {
            return;
        }
        // Once the start of the answer is known, only the ends matter.
        if self.prefix_full() && !mentions_end(data) {
            return;
        }
        // OpenAI-format chunks (most streams) are read into a borrowed typed
        // view, skipping what is not needed, instead of a whole `Value` tree
        // per event; anything else, or a chunk of another shape, below.
        static CHOICES: LazyLock<memmem::Finder<'static>> =
            LazyLock::new(|| memmem::Finder::new(b"\"choices\""));
        if CHOICES.find(data).is_some()
            && let Ok(chunk) = from_json::<Chunk<'_>>(data)
            && let Some(choices) = chunk.choices
        {
            if let Some(c) = choices.first() {
                self.typed_choice(
                    c.delta.as_ref(),
                    c.text.as_deref(),
                    c.finish_reason.as_deref(),
                );
            }
            return;
        }
        let Ok(v) = from_json::<Value>(data) else {
            return;
        };
        if let Some(choices) = v.get("choices").and_then(Value::as_array) {
            if let Some(c) = choices.first() {
                self.choice(c, c.get("delta"));
            }
            return;
        }
        match v.get("type").and_then(Value::as_str) {
            Some("content_block_delta") => {
                if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
                    self.text(t);
                }
            }
            Some("message_delta") => self.finish(v.pointer("/delta/stop_reason")),
            Some("response.output_text.delta") => {
                if let Some(t) = v.get("delta").and_then(Value::as_str) {
                    self.text(t);
                }
            }
            Some("response.refusal.delta") => self.refusal_flag = true,
            Some("response.incomplete") | Some("response.completed") => {
                if let Some(r) = v.get("response") {
                    self.responses_status(r);
                }
            }
            _ => {}
        }
    }

    /// The tags the answer earns.
    pub(crate) fn tags(&self, config: &ResponseClassifiers) -> Vec<&'static str> {
        let mut tags = Vec::new();
        if let Some(refusal) = &config.refusal {
            let refused = self.refusal_flag
                || self.finish.as_deref() == Some("refusal")
                || is_refusal(self.start.as_str(), refusal);
            if refused {
                tags.push("refusal");
            }
        }
        if config.truncated
            && matches!(
                self.finish.as_deref(),
                Some("length" | "max_tokens" | "max_output_tokens")
            )
        {
            tags.push("truncated");
        }
        if self.finish.as_deref() == Some("content_filter") {
            tags.push("content_filter");
        }
        tags
    }
}

fn mentions_end(data: &[u8]) -> bool {
    // Built once: `memmem::find` builds a searcher per call.
    static ENDS: LazyLock<[memmem::Finder<'static>; 4]> = LazyLock::new(|| {
        ["finish_reason", "stop_reason", "incomplete", "refusal"]
            .map(|k| memmem::Finder::new(k.as_bytes()))
    });
    // OpenAI chunks carry `"finish_reason":null` (and often `"refusal":null`)
    // in every event: a key set to null is not an end, and the event is not parsed.
    ENDS.iter().any(|f| {
        f.find_iter(data)
            .any(|at| !null_value(&data[at + f.needle().len()..]))
    })
}

/// Whether `rest`, what follows a key's name, is `": null` (the key present, unset).
fn null_value(rest: &[u8]) -> bool {
    let Some(rest) = rest.strip_prefix(b"\"") else {
        return false;
    };
    let Some(rest) = rest.trim_ascii_start().strip_prefix(b":") else {
        return false;
    };
    rest.trim_ascii_start().starts_with(b"null")
}

/// Whether a phrase starts within [`REFUSAL_WINDOW`] bytes of the
/// (lowercased) answer. Only as much of the answer is lowercased as a phrase
/// starting in the window can reach; one pass of the automaton finds the
/// leftmost phrase in it.
fn is_refusal(prefix: &str, refusal: &Refusal) -> bool {
    let reach = REFUSAL_WINDOW + refusal.longest;
    let text = prefix.trim_start();
    // The characters kept are those before the lowered text passes `reach`
    // bytes: `reach + 1` of them when all are ASCII, lowered at once (a
    // character at a time cost ~11 instructions each).
    let ascii = &text.as_bytes()[..text.len().min(reach + 1)];
    let lower = if ascii.is_ascii() {
        // ASCII bytes: valid UTF-8 as they are.
        String::from_utf8(ascii.to_ascii_lowercase()).unwrap_or_default()
    } else {
        let mut lower = String::with_capacity(reach + 4);
        for c in text.chars() {
            if lower.len() > reach {
                break;
            }
            if c.is_ascii() {
                lower.push(c.to_ascii_lowercase());
            } else {
                lower.extend(c.to_lowercase());
            }
        }
        lower
    };
    match &refusal.finder {
        Some(finder) => finder
            .find(lower.as_str())
            .is_some_and(|m| m.start() <= REFUSAL_WINDOW),
        None => refusal.phrases.iter().any(|p| {
            lower
                .find(p.as_str())
                .is_some_and(|at| at <= REFUSAL_WINDOW)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tags(v: Value) -> Vec<&'static str> {
        let mut a = Answer::default();
        a.read_json(&v);
        a.tags(&ResponseClassifiers::default())
    }

    #[test]
    fn null_ends_are_not_ends() {
        assert!(!mentions_end(
            br#"{"choices":[{"delta":{"content":"x","refusal":null},"finish_reason":null}]}"#
        ));
        assert!(!mentions_end(br#"{"finish_reason" :  null}"#));
        assert!(mentions_end(
            br#"{"choices":[{"delta":{},"finish_reason": "length"}]}"#
        ));
        assert!(mentions_end(
            br#"{"delta":{"refusal":"no"},"finish_reason":null}"#
        ));
        assert!(mentions_end(br#"{"type":"response.incomplete"}"#));
        assert!(mentions_end(br#"{"delta":{"stop_reason":"max_tokens"}}"#));
    }

    #[test]
    fn openai_refusal_and_length() {
        let v = json!({"choices":[{"message":{"content":"I'm sorry, but I can't help with that."},"finish_reason":"stop"}]});
        assert_eq!(tags(v), ["refusal"]);
        let v = json!({"choices":[{"message":{"content":"Sure: 1, 2"},"finish_reason":"length"}]});
        assert_eq!(tags(v), ["truncated"]);
        let v =
            json!({"choices":[{"message":{"content":null,"refusal":"no"},"finish_reason":"stop"}]});
        assert_eq!(tags(v), ["refusal"]);
        let v = json!({"choices":[{"message":{"content":"The report covers many topics, and it explains why I can't help with that being slow: ..."},"finish_reason":"stop"}]});
        assert!(
            tags(v).is_empty(),
            "a phrase deep in the answer is not a refusal opener"
        );
    }

    #[test]
    fn whole_bodies_read_typed_or_as_values_alike() {
        let config = ResponseClassifiers::default();
        let bodies: [&[u8]; 7] = [
            br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"I'm sorry, but I can't help."},"finish_reason":"length"}],"usage":{"prompt_tokens":1}}"#,
            br#"{"choices":[{"message":{"content":null,"refusal":"no"},"finish_reason":"stop"}]}"#,
            br#"{"choices":[{"message":{"content":"ok","refusal":null},"finish_reason":"content_filter"}]}"#,
            br#"{"choices":[{"text":"I must decline.","finish_reason":null}]}"#,
            br#"{"choices":[{"message":{"content":[{"type":"text","text":"I cannot comply"}]},"finish_reason":7}]}"#,
            br#"{"content":[{"type":"text","text":"I cannot comply"}],"stop_reason":"max_tokens","choices":null}"#,
            br#"{"choices":[{"delta":{"content":"I must decline"}}]}"#,
        ];
        for body in bodies {
            let mut typed = Answer::default();
            assert!(typed.read_body(body));
            let mut valued = Answer::default();
            valued.read_json(&serde_json::from_slice(body).unwrap());
            assert_eq!(
                (typed.tags(&config), typed.start.as_str(), &typed.finish),
                (valued.tags(&config), valued.start.as_str(), &valued.finish),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(!Answer::default().read_body(b"{\"choices\":[{\"message\""));
    }

    #[test]
    fn openai_stream_chunks_are_read_like_values() {
        let config = ResponseClassifiers::default();
        let mut a = Answer::default();
        a.read_event(br#"{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":"I'm sorry, but I can't"},"finish_reason":null}]}"#);
        a.read_event(br#"{"id":"x","choices":[{"index":0,"delta":{"content":" do \"that\""},"finish_reason":"length"}]}"#);
        assert_eq!(a.tags(&config), ["refusal", "truncated"]);
        assert_eq!(a.start.as_str(), "I'm sorry, but I can't do \"that\"");
        let mut b = Answer::default();
        b.read_event(
            br#"{"choices":[{"delta":{"content":null,"refusal":"no"},"finish_reason":null}]}"#,
        );
        assert_eq!(b.tags(&config), ["refusal"]);
        let mut n = Answer::default();
        n.read_event(
            br#"{"choices":[{"delta":{"content":"Sure","refusal":null},"finish_reason":null}]}"#,
        );
        assert!(n.tags(&config).is_empty());
        // Chunks of another shape still go through the `Value` reading.
        let mut c = Answer::default();
        c.read_event(br#"{"choices":[{"delta":{"content":[{"type":"text","text":"x"}]},"finish_reason":7}]}"#);
        c.read_event(
            br#"{"choices":[{"text":"I must decline.","finish_reason":"content_filter"}]}"#,
        );
        assert_eq!(c.tags(&config), ["refusal", "content_filter"]);
        let mut d = Answer::default();
        d.read_event(br#"{"choices":null,"type":"content_block_delta","delta":{"type":"text_delta","text":"I cannot comply"}}"#);
        assert_eq!(d.tags(&config), ["refusal"]);
    }

    #[test]
    fn only_the_start_the_refusal_check_needs_is_kept() {
        let config = ResponseClassifiers::default();
        let chunk = |content: &str, finish: &str| {
            format!(
                r#"{{"choices":[{{"delta":{{"content":{}}},"finish_reason":{finish}}}]}}"#,
                serde_json::to_string(content).unwrap()
            )
        };
        // Leading white space split over chunks does not count.
        let mut a = Answer::new(&config);
        a.read_event(chunk("  \n", "null").as_bytes());
        a.read_event(chunk(" I must", "null").as_bytes());
        a.read_event(chunk(" decline.", "null").as_bytes());
        assert_eq!(a.start.as_str(), "I must decline.");
        assert_eq!(a.tags(&config), ["refusal"]);
        // A long answer keeps its start only, and its end is still read.
        let mut b = Answer::new(&config);
        for _ in 0..500 {
            b.read_event(chunk(" word", "null").as_bytes());
        }
        b.read_event(chunk(" last", r#""length""#).as_bytes());
        assert_eq!(b.start.chars(), config.prefix_chars());
        assert_eq!(b.tags(&config), ["truncated"]);
        // A phrase starting at the last byte of the window fits whole.
        let mut c = Answer::new(&config);
        let longest = DEFAULT_REFUSAL_PHRASES
            .iter()
            .map(|p| p.len())
            .max()
            .unwrap();
        let phrase = DEFAULT_REFUSAL_PHRASES
            .iter()
            .find(|p| p.len() == longest)
            .unwrap();
        c.read_event(
            chunk(
                &format!("{}{phrase} that", "x".repeat(REFUSAL_WINDOW)),
                "null",
            )
            .as_bytes(),
        );
        assert_eq!(c.tags(&config), ["refusal"]);
        // Without the refusal classifier nothing is kept.
        let truncated_only = ResponseClassifiers::none().truncated(true);
        let mut d = Answer::new(&truncated_only);
        d.read_event(chunk("I must decline.", r#""length""#).as_bytes());
        assert_eq!(d.start.as_str(), "");
        assert_eq!(d.tags(&truncated_only), ["truncated"]);
    }

    #[test]
    fn refusals_start_within_the_window_only() {
        let phrases = Refusal::new(
            DEFAULT_REFUSAL_PHRASES
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
        );
        assert!(is_refusal("  I'M SORRY, BUT I CAN'T do that", &phrases));
        assert!(is_refusal(
            "I’m unable to help with this request.",
            &phrases
        ));
        // Starts at byte 40: still in; at 41: out.
        let at = |n: usize| format!("{}I must decline.", "x".repeat(n));
        assert!(is_refusal(&at(40), &phrases));
        assert!(!is_refusal(&at(41), &phrases));
        // Text past the window does not matter, ASCII or not.
        assert!(is_refusal(
            &format!("{}{}", at(40), "\u{c9}".repeat(60)),
            &phrases
        ));
        assert!(is_refusal(
            &format!("{}{}", at(0), "x".repeat(600)),
            &phrases
        ));
        // Multi-byte text before the phrase counts in bytes, as before.
        assert!(is_refusal("\u{e9}\u{e9} i cannot comply", &phrases));
        assert!(!is_refusal(
            &format!("{} i cannot comply", "\u{e9}".repeat(30)),
            &phrases
        ));
        assert!(!is_refusal("Sure, here it is.", &phrases));
        assert!(!is_refusal("", &phrases));
        assert!(is_refusal("", &Refusal::new(vec![String::new()])));
        // The leftmost phrase decides, whichever is listed first.
        let late_first = Refusal::new(vec!["decline".into(), "i must".into()]);
        assert!(is_refusal(
            &format!("{}I must decline", "x".repeat(38)),
            &late_first
        ));
        // Without the automaton, each phrase on its own answers the same.
        let mut plain = Refusal::new(phrases.phrases.clone());
        plain.finder = None;
        for text in [
            at(40),
            at(41),
            "  I'M SORRY, BUT I CAN'T".into(),
            "Sure.".into(),
        ] {
            assert_eq!(
                is_refusal(&text, &plain),
                is_refusal(&text, &phrases),
                "{text}"
            );
        }
    }

    #[test]
    fn anthropic_and_responses_shapes() {
        let v = json!({"content":[{"type":"text","text":"ok"}],"stop_reason":"max_tokens"});
        assert_eq!(tags(v), ["truncated"]);
        let v = json!({"output":[{"content":[{"type":"output_text","text":"x"}]}],
                       "status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}});
        assert_eq!(tags(v), ["truncated"]);
    }

    #[test]
    fn stream_events() {
        let mut a = Answer::default();
        a.read_event(br#"{"choices":[{"delta":{"content":"I cannot "}}]}"#);
        a.read_event(br#"{"choices":[{"delta":{"content":"help with that."}}]}"#);
        a.read_event(br#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#);
        a.read_event(b"[DONE]");
        assert_eq!(
            a.tags(&ResponseClassifiers::default()),
            ["refusal", "truncated"]
        );
        let mut a = Answer::default();
        a.read_event(
            br#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}"#,
        );
        a.read_event(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#);
        assert!(a.tags(&ResponseClassifiers::default()).is_empty());
    }
}
