//! [`Scanner`]: every detector in one `RegexSet` pass, then the patterns that
//! matched run alone to find their spans, which their checks confirm.

use std::ops::Range;

use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::kind::Kind;
use crate::validate as v;

/// A confirmed finding in one string: its kind and byte span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// What was found.
    pub kind: Kind,
    /// Where, in bytes of the scanned string.
    pub span: Range<usize>,
}

/// A check on a candidate value: the length of it that is a finding, if any.
type Check = fn(&str) -> Option<usize>;

/// One detector: a kind, a pattern, the capture group holding the value,
/// whether its neighbours must not continue it, and its check.
struct Detector {
    kind: Kind,
    pattern: &'static str,
    group: usize,
    isolated: bool,
    check: Check,
}

fn all(s: &str) -> Option<usize> {
    Some(s.len())
}

fn when(ok: bool, s: &str) -> Option<usize> {
    ok.then_some(s.len())
}

/// Detectors in priority order: when two findings overlap, the earlier detector's wins.
const DETECTORS: &[Detector] = &[
    Detector {
        kind: Kind::PrivateKey,
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\:-]{40,})",
        group: 0,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::GcpServiceAccount,
        pattern: r#"private_key_id\\?"\s*:\s*\\?"([0-9a-f]{40})"#,
        group: 1,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::AwsAccessKey,
        pattern: r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::AwsSecretKey,
        pattern: r#"(?i-u:aws)[A-Za-z0-9_ .-]{0,30}?(?i-u:secret|private)[A-Za-z0-9_ .-]{0,20}?["']?\s*(?:[:=]|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        group: 1,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::GoogleApiKey,
        pattern: r"AIza[0-9A-Za-z_-]{35}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::Jwt,
        pattern: r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
        group: 0,
        isolated: true,
        check: |s| when(v::jwt(s), s),
    },
    Detector {
        kind: Kind::GithubToken,
        pattern: r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::GitlabToken,
        pattern: r"gl(?:pat|dt|rt|ptt|soat|cbt|imt|agent)-[A-Za-z0-9_-]{20,}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::SlackWebhook,
        pattern: r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}",
        group: 0,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::SlackToken,
        pattern: r"xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}",
        group: 0,
        isolated: true,
        check: |s| when(s.bytes().any(|b| b.is_ascii_digit()), s),
    },
    Detector {
        kind: Kind::StripeKey,
        pattern: r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::AnthropicKey,
        pattern: r"sk-ant-[A-Za-z0-9_-]{32,}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::OpenaiKey,
        pattern: r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}",
        group: 0,
        isolated: true,
        check: |s| when(mixed(s), s),
    },
    Detector {
        kind: Kind::TwilioKey,
        pattern: r"(?:AC|SK)[0-9a-f]{32}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::SendgridKey,
        pattern: r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::NpmToken,
        pattern: r"npm_[A-Za-z0-9]{36}",
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::HuggingfaceToken,
        pattern: r"hf_[A-Za-z0-9]{30,}",
        group: 0,
        isolated: true,
        check: |s| when(mixed(s), s),
    },
    Detector {
        kind: Kind::AzureStorageKey,
        pattern: r"AccountKey=([A-Za-z0-9+/]{40,}={0,2})",
        group: 1,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::DatabaseUrl,
        pattern: r#"(?i-u:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|cockroachdb|clickhouse)://[^\s:/@"'<>]+:([^\s/"'<>]+)@[A-Za-z0-9.-]+"#,
        group: 1,
        isolated: false,
        check: |s| when(db_password(s), s),
    },
    Detector {
        kind: Kind::GenericSecret,
        pattern: r#"(?i-u:api[_-]?key|apikey|secret|token|passwd|password|pwd|passphrase|credentials?|private[_-]?key|access[_-]?key|auth[_-]?key|bearer)[A-Za-z0-9_-]{0,20}["']?(?:\s*(?:[:=]|=>|:=)\s*|\s+(?i-u:is)\s+|\s+)["'`]?([A-Za-z0-9+/_=.~-]{16,})"#,
        group: 1,
        isolated: false,
        check: |s| {
            let t = s.trim_end_matches(['.', ',', ';']);
            when(v::generic_secret(t), t)
        },
    },
    Detector {
        kind: Kind::GenericSecret,
        pattern: r#"(?i-u:passwd|password|pwd|passphrase)["']?\s*(?:[:=]|=>|:=|\s(?i-u:is))\s*["'`]?([^\s"'`,;]{8,64})"#,
        group: 1,
        isolated: false,
        check: |s| {
            let t = s.trim_end_matches(['.', ')']);
            when(password(t), t)
        },
    },
    Detector {
        kind: Kind::Email,
        pattern: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}",
        group: 0,
        isolated: true,
        check: |s| when(email(s), s),
    },
    Detector {
        kind: Kind::UsSsn,
        pattern: r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}",
        group: 0,
        isolated: true,
        check: |s| when(v::ssn(s), s),
    },
    Detector {
        kind: Kind::CnResidentId,
        pattern: r"[1-8][0-9]{16}[0-9Xx]",
        group: 0,
        isolated: true,
        check: |s| when(v::cn_resident_id(s), s),
    },
    Detector {
        kind: Kind::CardNumber,
        pattern: r"[0-9](?:[ -]?[0-9]){12,18}",
        group: 0,
        isolated: true,
        check: |s| when(v::card(s), s),
    },
    Detector {
        kind: Kind::UkNino,
        pattern: r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
        group: 0,
        isolated: true,
        check: |s| when(v::nino(s), s),
    },
    Detector {
        kind: Kind::Iban,
        pattern: r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?",
        group: 0,
        isolated: false,
        check: iban_prefix,
    },
    Detector {
        kind: Kind::Phone,
        pattern: r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}|\(?[2-9][0-9]{2}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}|0[1-9][0-9]{1,4}[ .-][0-9]{3,4}[ .-]?[0-9]{3,4}|0[1-9](?:[ .][0-9]{2}){4}",
        group: 0,
        isolated: true,
        check: |s| when(v::phone(s), s),
    },
];

/// Letters of both cases and a digit: random, not a word.
fn mixed(s: &str) -> bool {
    let has = |f: fn(&u8) -> bool| s.as_bytes().iter().any(f);
    has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_digit)
}

fn db_password(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    !v::placeholder(s) && !matches!(lower.as_str(), "pass" | "pw" | "pwd" | "user" | "pass123")
}

/// A password after `password:`: not a placeholder or a reference, and not a plain word.
fn password(s: &str) -> bool {
    if v::placeholder(s) || s.contains(['(', ')', '[', ']']) || s.starts_with('#') {
        return false;
    }
    let has = |f: fn(&u8) -> bool| s.as_bytes().iter().any(f);
    let classes = [
        has(u8::is_ascii_lowercase),
        has(u8::is_ascii_uppercase),
        has(u8::is_ascii_digit),
        has(u8::is_ascii_punctuation),
    ];
    let code_like = s.contains('.')
        && s.split('.')
            .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    classes.iter().filter(|&&c| c).count() >= 3 && !code_like && v::entropy(s) >= 2.5
}

/// File names look like addresses (`icon@2x.png`, `pkg@1.2.0.tgz`): not one.
fn email(s: &str) -> bool {
    const NOT_TLD: [&str; 16] = [
        "png", "jpg", "jpeg", "gif", "svg", "webp", "js", "ts", "css", "py", "rs", "tgz", "zip",
        "json", "md", "html",
    ];
    let tld = s
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    !s.starts_with('.') && !s.contains("..") && !NOT_TLD.contains(&tld.as_str())
}

/// The IBAN at the start of `s` (the pattern may take a word after it).
fn iban_prefix(s: &str) -> Option<usize> {
    let mut best = None;
    for (i, c) in s.char_indices() {
        if c != ' ' && v::iban(&s[..i + 1]) {
            best = Some(i + 1);
        }
    }
    best
}

/// Whether an address is a mailbox, not a login: `git@host:repo`, `ssh user@host`.
fn mailbox(text: &str, span: &Range<usize>) -> bool {
    let value = &text[span.clone()];
    if value.starts_with("git@") || text[span.end..].starts_with(':') {
        return false;
    }
    let line = text[..span.start].rsplit('\n').next().unwrap_or_default();
    let last_word = line.trim_end().rsplit(' ').next().unwrap_or_default();
    !matches!(
        last_word,
        "ssh" | "scp" | "sftp" | "rsync" | "mosh" | "telnet"
    ) && !line.trim_end().ends_with("ssh -i")
}

/// Whether the characters around `span` leave it a token of its own.
fn isolated(text: &str, span: &Range<usize>) -> bool {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let joins = |c: u8| matches!(c, b'-' | b'.' | b'/' | b'+');
    if span.start > 0 {
        let p = b[span.start - 1];
        if word(p) || (joins(p) && span.start > 1 && b[span.start - 2].is_ascii_alphanumeric()) {
            return false;
        }
    }
    match b.get(span.end) {
        Some(&n) => {
            !(word(n) || (joins(n) && b.get(span.end + 1).is_some_and(u8::is_ascii_alphanumeric)))
        }
        None => true,
    }
}

/// Every detector, compiled: a set for the one pass, and each pattern alone.
#[derive(Debug)]
pub struct Scanner {
    set: RegexSet,
    each: Vec<Regex>,
}

impl Scanner {
    /// Compiles the detectors.
    pub fn new() -> Scanner {
        let patterns = DETECTORS.iter().map(|d| d.pattern);
        // The patterns are constants, tested below; a failure is a bug.
        let set = RegexSetBuilder::new(patterns)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .unwrap_or_else(|e| panic!("guard patterns: {e}"));
        let each = DETECTORS
            .iter()
            .map(|d| Regex::new(d.pattern).unwrap_or_else(|e| panic!("guard pattern: {e}")))
            .collect();
        Scanner { set, each }
    }

    /// The findings in `text`, in order, none overlapping; `keep` may drop
    /// a candidate value (an allow-list).
    pub fn scan(&self, text: &str, keep: impl Fn(Kind, &str) -> bool) -> Vec<Hit> {
        // Most prompts hold nothing: an unanchored `is_match` (stops at the
        // first candidate, no per-pattern bookkeeping) costs a third of the
        // overlapping search that names every matching pattern (callgrind: 8
        // against 28 instructions a byte of prose), so it goes first.
        if !self.set.is_match(text) {
            return Vec::new();
        }
        let matched = self.set.matches(text);
        if !matched.matched_any() {
            return Vec::new();
        }
        let mut hits: Vec<(usize, Hit)> = Vec::new();
        for i in matched.iter() {
            let d = &DETECTORS[i];
            for caps in self.each[i].captures_iter(text) {
                let Some(m) = caps.get(d.group) else { continue };
                let Some(len) = (d.check)(m.as_str()) else {
                    continue;
                };
                let span = m.start()..m.start() + len;
                if (d.isolated && !isolated(text, &span))
                    || (d.kind == Kind::Email && !mailbox(text, &span))
                    || !keep(d.kind, &text[span.clone()])
                {
                    continue;
                }
                hits.push((i, Hit { kind: d.kind, span }));
            }
        }
        resolve(hits)
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

/// Keeps, of overlapping hits, the one of the earliest detector; sorts by position.
fn resolve(mut hits: Vec<(usize, Hit)>) -> Vec<Hit> {
    hits.sort_by_key(|(i, h)| (*i, h.span.start));
    let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
    for (_, h) in hits {
        if !kept
            .iter()
            .any(|k| k.span.start < h.span.end && h.span.start < k.span.end)
        {
            kept.push(h);
        }
    }
    kept.sort_by_key(|h| h.span.start);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        Scanner::new()
            .scan(text, |_, _| true)
            .iter()
            .map(|h| h.kind.as_str())
            .collect()
    }

    #[test]
    fn finds_and_places() {
        let s = Scanner::new();
        let text = "key AKIAIOSFODNN7EXAMPLE and mail bob.smith@gmail.com.";
        let hits = s.scan(text, |_, _| true);
        assert_eq!(hits.len(), 2, "{hits:?}");
        assert_eq!(&text[hits[0].span.clone()], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(&text[hits[1].span.clone()], "bob.smith@gmail.com");
        assert!(s.scan(text, |k, _| k != Kind::Email).len() == 1);
    }

    #[test]
    fn overlaps_go_to_the_specific_detector() {
        assert_eq!(
            kinds("postgres://app:Zq9xLk2Vb7@db.internal.corp:5432/x"),
            ["database_url"]
        );
        assert_eq!(
            kinds("api_key = sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv"),
            ["openai_key"]
        );
        assert_eq!(
            kinds("token sk-ant-api03-AbCdEf0123456789AbCdEf0123456789xyz"),
            ["anthropic_key"]
        );
    }

    #[test]
    fn iban_stops_at_its_length() {
        let text = "pay to GB82 WEST 1234 5698 7654 32 TODAY";
        let hits = Scanner::new().scan(text, |_, _| true);
        assert_eq!(&text[hits[0].span.clone()], "GB82 WEST 1234 5698 7654 32");
    }
}
