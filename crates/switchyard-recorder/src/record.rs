//! [`Record`]: one exchange, as journals store it and the admin API shows it.

use bytes::Bytes;
use serde::{Serialize, Serializer};

/// How an exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The answer went out whole (whatever its status).
    Completed,
    /// The client went away before the end of the answer.
    ClientDisconnected,
    /// The answer broke off (an upstream error mid-stream).
    StreamError,
    /// No answer: the stack failed before a response head.
    Failed,
}

impl Outcome {
    /// The name used in journals.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::ClientDisconnected => "client_disconnected",
            Outcome::StreamError => "stream_error",
            Outcome::Failed => "failed",
        }
    }
}

/// Token figures of a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UsageRecord {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Answer tokens, reasoning ones included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Answer tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Whether the figures are estimates (the provider reported none).
    pub estimated: bool,
}

/// One try at one candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// The provider's id.
    pub provider: String,
    /// The model sent.
    pub model: String,
    /// The upstream's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Milliseconds from sending to the answer's head.
    pub duration_ms: f64,
}

/// One finding of the prompt guard: what and where, never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRecord {
    /// What was found (`aws_access_key`, `email` ...).
    pub kind: &'static str,
    /// A JSON pointer to the string of the request body it is in.
    pub field: String,
    /// Its byte offset in that string.
    pub offset: usize,
    /// Its length in bytes.
    pub length: usize,
    /// What the guard did: `log`, `redact` or `block`.
    pub action: &'static str,
}

impl From<&switchyard_core::GuardFinding> for FindingRecord {
    fn from(f: &switchyard_core::GuardFinding) -> Self {
        FindingRecord {
            kind: f.kind,
            field: f.field.to_string(),
            offset: f.offset,
            length: f.length,
            action: f.action,
        }
    }
}

/// One exchange: who, what, where it went, how it ended, what it cost.
///
/// Serialises to the JSON the journal's JSONL sink writes and the admin API
/// answers. Bodies are capped; secrets in them are redacted
/// ([`scrub_secrets`]), and no header is ever recorded.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// The request id (`x-switchyard-request-id`).
    pub id: String,
    /// When the request was received, RFC 3339.
    pub time: String,
    /// The same, in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// The endpoint called (`chat_completions`, `messages` ...).
    pub endpoint: &'static str,
    /// The client's protocol (`openai`, `anthropic`).
    pub protocol: &'static str,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The virtual key's id (never the key).
    pub key_id: Option<String>,
    /// The key's team.
    pub team: Option<String>,
    /// `x-source`.
    pub source: Option<String>,
    /// The key's project, else `x-project`.
    pub project: Option<String>,
    /// Tags the classifiers gave the request.
    pub tags: Vec<String>,
    /// The rule (or provider glob) that routed it.
    pub route: Option<String>,
    /// The model the client asked for.
    pub requested_model: Option<String>,
    /// Where it could go, best first (`provider/model`).
    pub candidates: Vec<String>,
    /// Every try, in order.
    pub attempts: Vec<AttemptRecord>,
    /// The provider that answered (or, when none did, the last one tried).
    pub provider: Option<String>,
    /// The model sent to it.
    pub model: Option<String>,
    /// The model the provider says answered.
    pub response_model: Option<String>,
    /// The HTTP status the client got.
    pub status: u16,
    /// How it ended.
    pub outcome: Outcome,
    /// The class of failure, from a closed set (see `ErrorClass`).
    pub error_type: Option<&'static str>,
    /// Why the answer ended, as the provider said.
    pub finish_reason: Option<String>,
    /// Token figures, when an answer was accounted.
    pub usage: Option<UsageRecord>,
    /// Cost in USD, when the price is known.
    pub cost_usd: Option<f64>,
    /// Milliseconds from the request to the end of the answer.
    pub duration_ms: f64,
    /// Milliseconds to the answer's first body byte.
    pub ttfb_ms: Option<f64>,
    /// Milliseconds to the first token.
    pub ttft_ms: Option<f64>,
    /// Microseconds spent in the gateway before the head, upstream wait excluded.
    pub overhead_us: Option<u64>,
    /// Output tokens per second after the first token.
    pub tokens_per_second: Option<f64>,
    /// Body frames sent to the client.
    pub chunks: u64,
    /// Body bytes sent to the client.
    pub response_bytes: u64,
    /// The request body, capped, secrets redacted.
    #[serde(serialize_with = "text")]
    pub request_body: Bytes,
    /// Whether `request_body` was cut.
    pub request_truncated: bool,
    /// A non-streamed answer's body, capped, secrets redacted.
    #[serde(serialize_with = "opt_text")]
    pub response_body: Option<Bytes>,
    /// Whether `response_body` was cut.
    pub response_truncated: bool,
    /// The answer's text (streams included), capped.
    pub answer: Option<String>,
    /// Whether `answer` was cut.
    pub answer_truncated: bool,
    /// What the prompt guard found in the request (then `request_body` is
    /// the guard's copy with every finding redacted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guard_findings: Vec<FindingRecord>,
}

impl Record {
    /// About how many bytes this record holds: the struct, its strings and
    /// lists (their capacity) and its bodies. What an in-memory journal
    /// counts against its memory limit.
    pub fn size(&self) -> usize {
        fn opt(s: &Option<String>) -> usize {
            s.as_ref().map_or(0, String::capacity)
        }
        fn list(v: &[String], cap: usize) -> usize {
            cap * size_of::<String>() + v.iter().map(String::capacity).sum::<usize>()
        }
        let strings = [
            &self.key_id,
            &self.team,
            &self.source,
            &self.project,
            &self.route,
            &self.requested_model,
            &self.provider,
            &self.model,
            &self.response_model,
            &self.finish_reason,
            &self.answer,
        ]
        .into_iter()
        .map(opt)
        .sum::<usize>();
        let attempts = self.attempts.capacity() * size_of::<AttemptRecord>()
            + self
                .attempts
                .iter()
                .map(|a| a.provider.capacity() + a.model.capacity() + opt(&a.error))
                .sum::<usize>();
        let findings = self.guard_findings.capacity() * size_of::<FindingRecord>()
            + self
                .guard_findings
                .iter()
                .map(|f| f.field.capacity())
                .sum::<usize>();
        size_of::<Record>()
            + self.id.capacity()
            + self.time.capacity()
            + strings
            + list(&self.tags, self.tags.capacity())
            + list(&self.candidates, self.candidates.capacity())
            + attempts
            + findings
            + self.request_body.len()
            + self.response_body.as_ref().map_or(0, Bytes::len)
    }
}

fn text<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&scrub_secrets(&lossy_text(b)))
}

fn opt_text<S: Serializer>(b: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => text(b, s),
        None => s.serialize_none(),
    }
}

/// JSON keys (quoted) whose string values are secrets, wherever they appear.
const SECRET_KEYS: [&str; 9] = [
    "\"api_key\"",
    "\"apiKey\"",
    "\"api-key\"",
    "\"authorization\"",
    "\"Authorization\"",
    "\"password\"",
    "\"client_secret\"",
    "\"access_token\"",
    "\"refresh_token\"",
];

/// Replaces the string value of every secret-named key (`"api_key": "..."`)
/// with `"[redacted]"`. Works on truncated JSON too: it scans text, it does
/// not parse it.
///
/// ```
/// use switchyard_recorder::scrub_secrets;
/// let body = r#"{"model":"m","api_key": "sk-\"live\"-123","x":{"password":"hunter2"}}"#;
/// assert_eq!(
///     scrub_secrets(body),
///     r#"{"model":"m","api_key": "[redacted]","x":{"password":"[redacted]"}}"#
/// );
/// ```
pub fn scrub_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    // One pass over the text for all the keys (most bodies have none). The
    // packed (SIMD "Teddy") searcher: every key starts with `"`, which JSON
    // is full of, so the automaton's first-byte prefilter would stop at each
    // quote; Teddy looks at the first bytes of all keys at once.
    static KEYS: std::sync::LazyLock<Option<aho_corasick::packed::Searcher>> =
        std::sync::LazyLock::new(|| aho_corasick::packed::Searcher::new(SECRET_KEYS));
    let found = match &*KEYS {
        Some(keys) => keys.find(text).is_some(),
        None => SECRET_KEYS.iter().any(|k| text.contains(k)),
    };
    if !found {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('"') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let value = SECRET_KEYS.iter().find_map(|k| {
            let after = rest.strip_prefix(k)?.trim_start();
            after.strip_prefix(':')?.trim_start().strip_prefix('"')
        });
        match value {
            Some(inner) => {
                let head = rest.len() - inner.len();
                out.push_str(&rest[..head - 1]);
                out.push_str("\"[redacted]\"");
                rest = skip_string(inner);
            }
            None => {
                out.push('"');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// `b` as text: borrowed when it is valid UTF-8 (checking that is much
/// quicker than a lossy conversion), invalid sequences replaced otherwise.
pub fn lossy_text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// The text after a JSON string's closing quote (all of it is the string if unclosed).
fn skip_string(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return &s[i + 1..],
            _ => i += 1,
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_truncated_values_and_leaves_the_rest() {
        assert_eq!(
            scrub_secrets(r#"{"api_key":"sk-abc"#),
            r#"{"api_key":"[redacted]""#
        );
        assert_eq!(scrub_secrets(r#"{"max_tokens":5}"#), r#"{"max_tokens":5}"#);
        assert_eq!(
            scrub_secrets(r#"{"password":5,"k":"h\u00e9"}"#),
            r#"{"password":5,"k":"h\u00e9"}"#
        );
    }
}
