//! [`Finished`]: a `complete` event of the live feed, and how the terminal
//! clients print it.

use serde::Deserialize;

/// Token figures of a finished request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Tokens {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Answer tokens.
    pub output_tokens: u64,
    /// Whether the gateway estimated them.
    pub estimated: bool,
}

/// The fields of a `complete` event the terminal clients show (the event
/// carries more; `switchyard watch --json` prints it whole).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Finished {
    /// Request id.
    pub id: String,
    /// When it was received, RFC 3339.
    pub time: String,
    /// `x-project`, else the key's project.
    pub project: Option<String>,
    /// `x-source`.
    pub source: Option<String>,
    /// Classifier tags.
    pub tags: Vec<String>,
    /// The rule (or provider glob) that routed it.
    pub route: Option<String>,
    /// The model the client asked for.
    pub requested_model: Option<String>,
    /// The provider that answered (or the last one tried).
    pub provider: Option<String>,
    /// The model sent to it.
    pub model: Option<String>,
    /// Tries made.
    pub attempts: usize,
    /// The status the client got.
    pub status: u16,
    /// `completed`, `client_disconnected`, `stream_error` or `failed`.
    pub outcome: String,
    /// The class of failure, if any.
    pub error_type: Option<String>,
    /// Token figures, when accounted.
    pub usage: Option<Tokens>,
    /// Cost in USD, when priced.
    pub cost_usd: Option<f64>,
    /// Milliseconds to the end of the answer.
    pub duration_ms: f64,
}

impl Finished {
    /// Parses a `complete` event's data.
    pub fn parse(data: &str) -> Result<Finished, String> {
        serde_json::from_str(data).map_err(|e| format!("a feed event that is not a record: {e}"))
    }

    /// Whether the client got an error or the answer broke off.
    pub fn is_error(&self) -> bool {
        self.status >= 400 || self.outcome != "completed"
    }

    /// Input and output tokens (0 when not accounted).
    pub fn tokens(&self) -> (u64, u64) {
        self.usage
            .map_or((0, 0), |u| (u.input_tokens, u.output_tokens))
    }

    /// `provider/model` it went to, or `-`.
    pub fn target(&self) -> String {
        match (&self.provider, &self.model) {
            (Some(p), Some(m)) => format!("{p}/{m}"),
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (None, None) => "-".into(),
        }
    }

    /// The time of day, `HH:MM:SS`, of the RFC 3339 `time`.
    pub fn clock(&self) -> &str {
        self.time.get(11..19).unwrap_or(&self.time)
    }

    /// Tags joined with commas, or `-`.
    pub fn tag_list(&self) -> String {
        if self.tags.is_empty() {
            "-".into()
        } else {
            self.tags.join(",")
        }
    }

    /// The status, with the outcome and error class when it did not simply complete.
    pub fn status_text(&self) -> String {
        let mut s = self.status.to_string();
        if self.outcome != "completed" && !self.outcome.is_empty() {
            s = format!("{s} {}", self.outcome);
        }
        if let Some(e) = &self.error_type {
            s = format!("{s} ({e})");
        }
        s
    }

    /// One line for `switchyard watch`.
    pub fn line(&self) -> String {
        let (input, output) = self.tokens();
        let estimated = if self.usage.is_some_and(|u| u.estimated) {
            "~"
        } else {
            ""
        };
        format!(
            "{}  {}  {} → {}  {}  tags={}  rule={}  attempts={}  {}  tokens={estimated}{input}+{output}  cost={}",
            self.time,
            self.id,
            self.requested_model.as_deref().unwrap_or("-"),
            self.target(),
            self.status_text(),
            self.tag_list(),
            self.route.as_deref().unwrap_or("-"),
            self.attempts,
            millis(self.duration_ms),
            cost(self.cost_usd),
        )
    }

    /// Whether `filter` (lower case) occurs in any shown field.
    pub fn matches(&self, filter: &str) -> bool {
        if filter.is_empty() {
            return true;
        }
        let fields = [
            self.id.as_str(),
            self.requested_model.as_deref().unwrap_or_default(),
            self.provider.as_deref().unwrap_or_default(),
            self.model.as_deref().unwrap_or_default(),
            self.route.as_deref().unwrap_or_default(),
            self.project.as_deref().unwrap_or_default(),
            self.source.as_deref().unwrap_or_default(),
            self.outcome.as_str(),
        ];
        fields.iter().any(|f| f.to_lowercase().contains(filter))
            || self.tags.iter().any(|t| t.to_lowercase().contains(filter))
            || self.status.to_string().starts_with(filter)
    }
}

/// `812ms` or `1.24s`.
pub fn millis(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// `$0.000123`, or `-` when unpriced.
pub fn cost(usd: Option<f64>) -> String {
    match usd {
        Some(c) if c >= 1.0 => format!("${c:.2}"),
        Some(c) => format!("${c:.6}"),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"id":"req_1","time":"2026-01-02T03:04:05.678Z","endpoint":"chat_completions",
        "stream":true,"key_id":null,"team":null,"source":"ci","project":"apollo","tags":["code","long"],
        "route":"coding","requested_model":"smart","provider":"openai","model":"gpt-4o","attempts":2,
        "status":200,"outcome":"completed","error_type":null,"finish_reason":"stop",
        "usage":{"input_tokens":12,"output_tokens":34,"cached_tokens":0,"cache_write_tokens":0,
        "reasoning_tokens":0,"estimated":false},"cost_usd":0.000123,"duration_ms":812.4,
        "ttft_ms":100.0,"overhead_us":50,"tokens_per_second":40.0}"#;

    #[test]
    fn a_complete_event_becomes_one_line() {
        let f = Finished::parse(EVENT).unwrap();
        assert_eq!(
            f.line(),
            "2026-01-02T03:04:05.678Z  req_1  smart → openai/gpt-4o  200  tags=code,long  \
             rule=coding  attempts=2  812ms  tokens=12+34  cost=$0.000123"
        );
        assert_eq!(f.clock(), "03:04:05");
        assert!(!f.is_error());
        assert!(f.matches("apollo") && f.matches("cod") && f.matches("200") && f.matches(""));
        assert!(!f.matches("anthropic"));
    }

    #[test]
    fn failures_and_missing_fields() {
        let f = Finished::parse(
            r#"{"id":"req_2","time":"t","status":502,"outcome":"failed","error_type":"upstream_5xx","duration_ms":1500}"#,
        )
        .unwrap();
        assert!(f.is_error());
        assert_eq!(
            f.line(),
            "t  req_2  - → -  502 failed (upstream_5xx)  tags=-  rule=-  attempts=0  1.50s  tokens=0+0  cost=-"
        );
        assert!(Finished::parse("[1,2]").is_err());
        assert!(Finished::parse("not json").is_err());
    }
}
