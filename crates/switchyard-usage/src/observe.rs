//! [`Observation`]: what the usage layer learns from an answer as it passes.

use switchyard_core::{AnswerDigest, AnswerStart};

/// Text kept for counting tokens when the provider reports none: 1 MiB, then
/// only characters are counted.
const COUNT_CAP: usize = 1 << 20;

/// What an answer told about itself: the provider's own usage figures (each
/// `None` until reported), the finish reason, the model, and its text.
///
/// Token figures are normalised: `input_tokens` includes cached and
/// cache-written prompt tokens, `output_tokens` includes reasoning tokens.
#[derive(Debug, Default)]
pub struct Observation {
    /// Prompt tokens, all of them.
    pub input_tokens: Option<u64>,
    /// Answer tokens, reasoning included.
    pub output_tokens: Option<u64>,
    /// Prompt tokens read from the provider's cache.
    pub cached_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: Option<u64>,
    /// Answer tokens spent on reasoning.
    pub reasoning_tokens: Option<u64>,
    /// Why the answer ended.
    pub finish_reason: Option<String>,
    /// The model the upstream says answered.
    pub model: Option<String>,
    /// The provider reported an error instead of (or in the middle of) the answer.
    pub error: bool,
    /// The provider flagged a refusal (OpenAI's `refusal`, a Responses refusal).
    pub refused: bool,
    /// The start of the answer, when a layer outside asked for a digest.
    start: Option<AnswerStart>,
    capture: usize,
    answer: String,
    answer_truncated: bool,
    counted: String,
    overflow_chars: u64,
}

impl Observation {
    /// An observation keeping up to `capture` bytes of answer text.
    pub fn new(capture: usize) -> Self {
        Observation {
            capture,
            ..Observation::default()
        }
    }

    /// Also keeps the first `chars` characters of the answer for its
    /// [`digest`](Self::digest).
    pub fn with_start(mut self, chars: usize) -> Self {
        self.start = Some(AnswerStart::new(chars));
        self
    }

    /// What the classifiers outside read of the answer, if they asked.
    pub fn digest(&self) -> Option<AnswerDigest> {
        self.start.as_ref().map(|s| AnswerDigest {
            start: s.as_str().into(),
            refused: self.refused,
        })
    }

    /// Adds answer text: counted, and captured up to the limit.
    pub fn push_answer(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(start) = &mut self.start {
            start.push(text);
        }
        let room = self.capture.saturating_sub(self.answer.len());
        if text.len() <= room {
            self.answer.push_str(text);
        } else {
            self.answer
                .push_str(&text[..floor_char_boundary(text, room)]);
            self.answer_truncated = true;
        }
        self.push_counted(text);
    }

    /// Adds text that costs tokens but is not the answer (reasoning, tool-call arguments).
    pub fn push_counted(&mut self, text: &str) {
        let room = COUNT_CAP.saturating_sub(self.counted.len());
        if text.len() <= room {
            self.counted.push_str(text);
        } else {
            let cut = floor_char_boundary(text, room);
            self.counted.push_str(&text[..cut]);
            self.overflow_chars += text[cut..].chars().count() as u64;
        }
    }

    /// The captured answer text and whether it was cut at the limit.
    pub fn answer(&self) -> (&str, bool) {
        (&self.answer, self.answer_truncated)
    }

    /// Every text that costs output tokens (capped), and how many characters
    /// went past the cap.
    pub fn counted(&self) -> (&str, u64) {
        (&self.counted, self.overflow_chars)
    }

    /// Whether the provider reported both input and output tokens.
    pub fn has_usage(&self) -> bool {
        self.input_tokens.is_some() && self.output_tokens.is_some()
    }

    /// Sets `field` to `value` if the provider reported one.
    pub(crate) fn set(field: &mut Option<u64>, value: Option<u64>) {
        if value.is_some() {
            *field = value;
        }
    }
}

/// The largest index `<= i` on a char boundary of `s`.
pub(crate) fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_cuts_on_a_char_boundary() {
        let mut o = Observation::new(5);
        o.push_answer("h\u{e9}llo");
        assert_eq!(o.answer(), ("h\u{e9}ll", true));
        assert_eq!(o.counted().0, "h\u{e9}llo");
        let mut o = Observation::new(0);
        o.push_answer("abc");
        assert_eq!(o.answer(), ("", true));
    }
}
