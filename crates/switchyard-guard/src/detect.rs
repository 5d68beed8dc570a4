//! [`Scanner`]: text without a digit or an `@` (which the personal-data
//! detectors need) is looked at only where a word another detector begins
//! with is; text where anything can match gets every detector in one
//! `RegexSet` pass, then the patterns that matched run alone to find their
//! spans, which their checks confirm.

use std::ops::Range;

use aho_corasick::{AhoCorasick, packed};
use regex::{Regex, RegexSet, RegexSetBuilder};
use regex_automata::{Anchored, Input, meta};

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

/// Where every match of a detector's pattern begins: what lets the scanner
/// look there instead of running all the patterns over every byte.
#[derive(Clone, Copy)]
enum Starts {
    /// At one of these words.
    With(&'static [&'static str]),
    /// At one of these words, or anywhere in text with a digit: the words
    /// begin only the matches without one. (Teddy, the literal search,
    /// slows by half with a word shorter than three bytes.)
    WithOrDigit(&'static [&'static str]),
    /// At one of these words, ASCII case ignored.
    WithAnyCase(&'static [&'static str]),
    /// At one of these words, and every match begins with this bounded
    /// pattern, which is looked for there instead (the whole pattern could
    /// run from each start to the end of the text).
    Lead(&'static [&'static str], &'static str),
    /// Anywhere, but every match holds an `@`.
    HoldsAt,
    /// Anywhere, but every match holds an ASCII digit.
    HoldsDigit,
}

impl Starts {
    /// The case-sensitive words a detector begins at (none for the others).
    fn exact_words(self) -> &'static [&'static str] {
        match self {
            Starts::With(w) | Starts::WithOrDigit(w) | Starts::Lead(w, _) => w,
            Starts::WithAnyCase(_) | Starts::HoldsAt | Starts::HoldsDigit => &[],
        }
    }

    /// The words a detector begins at with ASCII case ignored, lower-cased
    /// (none for the others).
    fn any_case_words(self) -> impl Iterator<Item = String> {
        let words = match self {
            Starts::WithAnyCase(w) => w,
            _ => &[],
        };
        words.iter().map(|w| w.to_ascii_lowercase())
    }
}

/// One detector: a kind, a pattern, where its matches begin, the capture
/// group holding the value, whether its neighbours must not continue it, and
/// its check.
struct Detector {
    kind: Kind,
    pattern: &'static str,
    starts: Starts,
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
        starts: Starts::Lead(&["-----BEGIN "], "-----BEGIN "),
        group: 0,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::GcpServiceAccount,
        pattern: r#"private_key_id\\?"\s*:\s*\\?"([0-9a-f]{40})"#,
        starts: Starts::With(&["private_key_id"]),
        group: 1,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::AwsAccessKey,
        pattern: r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}",
        starts: Starts::With(&[
            "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA",
            "ASCA",
        ]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::AwsSecretKey,
        pattern: r#"(?i-u:aws)[A-Za-z0-9_ .-]{0,30}?(?i-u:secret|private)[A-Za-z0-9_ .-]{0,20}?["']?\s*(?:[:=]|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        starts: Starts::WithAnyCase(&["aws"]),
        group: 1,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::GoogleApiKey,
        pattern: r"AIza[0-9A-Za-z_-]{35}",
        starts: Starts::With(&["AIza"]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::Jwt,
        pattern: r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
        starts: Starts::Lead(&["eyJ"], "eyJ[A-Za-z0-9_-]{10}"),
        group: 0,
        isolated: true,
        check: |s| when(v::jwt(s), s),
    },
    Detector {
        kind: Kind::GithubToken,
        pattern: r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}",
        starts: Starts::With(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::GitlabToken,
        pattern: r"gl(?:pat|dt|rt|ptt|soat|cbt|imt|agent)-[A-Za-z0-9_-]{20,}",
        starts: Starts::With(&[
            "glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "glimt-", "glagent-",
        ]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::SlackWebhook,
        pattern: r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}",
        starts: Starts::With(&["https://hooks.slack.com/"]),
        group: 0,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::SlackToken,
        pattern: r"xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}",
        starts: Starts::With(&["xox", "xapp-"]),
        group: 0,
        isolated: true,
        check: |s| when(s.bytes().any(|b| b.is_ascii_digit()), s),
    },
    Detector {
        kind: Kind::StripeKey,
        pattern: r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        starts: Starts::With(&["sk_", "rk_"]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::AnthropicKey,
        pattern: r"sk-ant-[A-Za-z0-9_-]{32,}",
        starts: Starts::With(&["sk-ant-"]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::OpenaiKey,
        pattern: r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}",
        starts: Starts::With(&["sk-"]),
        group: 0,
        isolated: true,
        check: |s| when(mixed(s), s),
    },
    Detector {
        kind: Kind::TwilioKey,
        pattern: r"(?:AC|SK)[0-9a-f]{32}",
        starts: Starts::WithOrDigit(&[
            "ACa", "ACb", "ACc", "ACd", "ACe", "ACf", "SKa", "SKb", "SKc", "SKd", "SKe", "SKf",
        ]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::SendgridKey,
        pattern: r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        starts: Starts::With(&["SG."]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::NpmToken,
        pattern: r"npm_[A-Za-z0-9]{36}",
        starts: Starts::With(&["npm_"]),
        group: 0,
        isolated: true,
        check: all,
    },
    Detector {
        kind: Kind::HuggingfaceToken,
        pattern: r"hf_[A-Za-z0-9]{30,}",
        starts: Starts::With(&["hf_"]),
        group: 0,
        isolated: true,
        check: |s| when(mixed(s), s),
    },
    Detector {
        kind: Kind::AzureStorageKey,
        pattern: r"AccountKey=([A-Za-z0-9+/]{40,}={0,2})",
        starts: Starts::With(&["AccountKey="]),
        group: 1,
        isolated: false,
        check: all,
    },
    Detector {
        kind: Kind::DatabaseUrl,
        pattern: r#"(?i-u:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|cockroachdb|clickhouse)://[^\s:/@"'<>]+:([^\s/"'<>]+)@[A-Za-z0-9.-]+"#,
        starts: Starts::WithAnyCase(&[
            "postgres",
            "mysql",
            "mariadb",
            "mongodb",
            "redis",
            "amqp",
            "mssql",
            "sqlserver",
            "cockroachdb",
            "clickhouse",
        ]),
        group: 1,
        isolated: false,
        check: |s| when(db_password(s), s),
    },
    Detector {
        kind: Kind::GenericSecret,
        pattern: r#"(?i-u:api[_-]?key|apikey|secret|token|passwd|password|pwd|passphrase|credentials?|private[_-]?key|access[_-]?key|auth[_-]?key|bearer)[A-Za-z0-9_-]{0,20}["']?(?:\s*(?:[:=]|=>|:=)\s*|\s+(?i-u:is)\s+|\s+)["'`]?([A-Za-z0-9+/_=.~-]{16,})"#,
        starts: Starts::WithAnyCase(&[
            "api",
            "secret",
            "token",
            "pass",
            "pwd",
            "credential",
            "private",
            "access",
            "auth",
            "bearer",
        ]),
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
        starts: Starts::WithAnyCase(&["pass", "pwd"]),
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
        starts: Starts::HoldsAt,
        group: 0,
        isolated: true,
        check: |s| when(email(s), s),
    },
    Detector {
        kind: Kind::UsSsn,
        pattern: r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}",
        starts: Starts::HoldsDigit,
        group: 0,
        isolated: true,
        check: |s| when(v::ssn(s), s),
    },
    Detector {
        kind: Kind::CnResidentId,
        pattern: r"[1-8][0-9]{16}[0-9Xx]",
        starts: Starts::HoldsDigit,
        group: 0,
        isolated: true,
        check: |s| when(v::cn_resident_id(s), s),
    },
    Detector {
        kind: Kind::CardNumber,
        pattern: r"[0-9](?:[ -]?[0-9]){12,18}",
        starts: Starts::HoldsDigit,
        group: 0,
        isolated: true,
        check: |s| when(v::card(s), s),
    },
    Detector {
        kind: Kind::UkNino,
        pattern: r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
        starts: Starts::HoldsDigit,
        group: 0,
        isolated: true,
        check: |s| when(v::nino(s), s),
    },
    Detector {
        kind: Kind::Iban,
        pattern: r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?",
        starts: Starts::HoldsDigit,
        group: 0,
        isolated: false,
        check: iban_prefix,
    },
    Detector {
        kind: Kind::Phone,
        pattern: r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}|\(?[2-9][0-9]{2}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}|0[1-9][0-9]{1,4}[ .-][0-9]{3,4}[ .-]?[0-9]{3,4}|0[1-9](?:[ .][0-9]{2}){4}",
        starts: Starts::HoldsDigit,
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

/// Every detector, compiled: where their matches can begin, a set for the
/// one pass, and each pattern alone.
#[derive(Debug)]
pub struct Scanner {
    candidates: Candidates,
    set: RegexSet,
    each: Vec<Regex>,
}

/// Where the detectors' matches can be: for most, at the words they begin
/// with, found by a SIMD literal search, with the detectors searched anchored
/// at each; for the rest, anywhere in text with a digit or an `@`.
#[derive(Debug)]
struct Candidates {
    /// The case-sensitive words.
    words: Words,
    /// The words of the detectors that ignore case, in lower case.
    words_any_case: Words,
    /// The detectors that begin at a word (their leads where they have
    /// one), searched anchored at each.
    at_words: meta::Regex,
    /// Whether a detector's matches hold a digit, an `@`.
    digit: bool,
    at: bool,
}

/// How large the detectors may compile, for the set and the anchored look.
const NFA_LIMIT: usize = 64 << 20;
/// How much their lazy DFAs may cache.
const DFA_CACHE: usize = 16 << 20;

/// How much the lower-case pages overlap: more than the longest word that
/// ignores case, so that each start is looked at in a page it fits in.
const OVERLAP: usize = 16;

/// A literal search for many words: Teddy where the CPU has it.
#[derive(Debug)]
enum Words {
    None,
    /// Two Teddy searchers: one for the words shorter than four bytes, one
    /// for the rest. Teddy fingerprints as many leading bytes as its
    /// shortest word has (at most four), so a three-byte word among the
    /// long ones would make every word match on three bytes, which prose
    /// does by chance far more often; two passes cost less (measured on
    /// English prose: 0.51 → 0.37 ns a byte for the case-sensitive words,
    /// 0.40 → 0.33 for the lower-cased ones).
    Packed {
        short: Option<packed::Searcher>,
        long: Option<packed::Searcher>,
    },
    Automaton(AhoCorasick),
}

/// Words shorter than this go to the short searcher.
const LONG_WORD: usize = 4;

impl Words {
    fn new(words: &[&str]) -> Words {
        if words.is_empty() {
            return Words::None;
        }
        let teddy = |long: bool| -> Option<Option<packed::Searcher>> {
            let set: Vec<&str> = words
                .iter()
                .copied()
                .filter(|w| (w.len() >= LONG_WORD) == long)
                .collect();
            if set.is_empty() {
                return Some(None);
            }
            packed::Config::new()
                .match_kind(packed::MatchKind::LeftmostFirst)
                .builder()
                .extend(&set)
                .build()
                .map(Some)
        };
        match (teddy(false), teddy(true)) {
            (Some(short), Some(long)) => Words::Packed { short, long },
            _ => Words::automaton(words),
        }
    }

    /// The fallback where the CPU has no Teddy (and for tests).
    fn automaton(words: &[&str]) -> Words {
        Words::Automaton(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(words)
                .unwrap_or_else(|e| panic!("guard words: {e}")),
        )
    }

    /// Whether `f` holds at a position where one of the words begins; the
    /// positions are tried in order, each once.
    fn any(&self, hay: &[u8], mut f: impl FnMut(usize) -> bool) -> bool {
        let span = |from: usize| aho_corasick::Span::from(from..hay.len());
        match self {
            Words::None => false,
            Words::Automaton(a) => {
                let mut from = 0;
                while let Some(m) = a.find(aho_corasick::Input::new(hay).span(span(from))) {
                    if f(m.start()) {
                        return true;
                    }
                    from = m.start() + 1;
                }
                false
            }
            Words::Packed { short, long } => {
                let find = |s: &Option<packed::Searcher>, from: usize| {
                    s.as_ref()?.find_in(hay, span(from)).map(|m| m.start())
                };
                // Each searcher's next start; the earlier is tried, and
                // whichever found it moves on.
                let (mut a, mut b) = (find(short, 0), find(long, 0));
                loop {
                    let at = match (a, b) {
                        (None, None) => return false,
                        (Some(x), None) | (None, Some(x)) => x,
                        (Some(x), Some(y)) => x.min(y),
                    };
                    if f(at) {
                        return true;
                    }
                    if a == Some(at) {
                        a = find(short, at + 1);
                    }
                    if b == Some(at) {
                        b = find(long, at + 1);
                    }
                }
            }
        }
    }
}

impl Candidates {
    fn new(detectors: &[Detector]) -> Candidates {
        let mut words = Vec::new();
        let mut any_case = Vec::new();
        let mut at_words = Vec::new();
        let (mut digit, mut at) = (false, false);
        for d in detectors {
            words.extend_from_slice(d.starts.exact_words());
            any_case.extend(d.starts.any_case_words());
            match d.starts {
                Starts::With(_) => at_words.push(d.pattern),
                Starts::WithOrDigit(_) => {
                    at_words.push(d.pattern);
                    digit = true;
                }
                Starts::Lead(_, lead) => at_words.push(lead),
                Starts::WithAnyCase(_) => at_words.push(d.pattern),
                Starts::HoldsAt => at = true,
                Starts::HoldsDigit => digit = true,
            }
        }
        let any_case: Vec<&str> = any_case.iter().map(String::as_str).collect();
        Candidates {
            words: Words::new(&words),
            words_any_case: Words::new(&any_case),
            at_words: meta::Regex::builder()
                .configure(
                    meta::Config::new()
                        .nfa_size_limit(Some(NFA_LIMIT))
                        .hybrid_cache_capacity(DFA_CACHE),
                )
                .build_many(&at_words)
                .unwrap_or_else(|e| panic!("guard patterns: {e}")),
            digit,
            at,
        }
    }

    /// Whether any detector can match in `text`: false only when none does.
    fn any(&self, text: &str) -> bool {
        let hay = text.as_bytes();
        if self.holds_digit_or_at(hay) {
            return true;
        }
        // A look at a word costs 35 to 100 ns, the full pass ~1.7 ns a
        // byte: past one word in 256 bytes the text goes to the full pass
        // (so the looks add at most about half of it).
        let mut looks = 16 + hay.len() / 256;
        let mut at = |start: usize| {
            looks = looks.saturating_sub(1);
            looks == 0
                || self
                    .at_words
                    .is_match(Input::new(hay).range(start..).anchored(Anchored::Yes))
        };
        self.words.any(hay, &mut at) || self.any_case(hay, &mut at)
    }

    /// Whether `hay` holds a byte the digit or e-mail detectors need.
    fn holds_digit_or_at(&self, hay: &[u8]) -> bool {
        let (digit, at) = (self.digit, self.at);
        let wanted = |b: &u8| (digit && b.wrapping_sub(b'0') < 10) || (at && *b == b'@');
        // Branch-free within a chunk, so it vectorises.
        hay.chunks(64)
            .any(|c| c.iter().fold(false, |any, b| any | wanted(b)))
    }

    /// Whether `f` holds where a word of the detectors that ignore case
    /// begins: the words are looked for in a lower-case copy, a page at a time.
    fn any_case(&self, hay: &[u8], mut f: impl FnMut(usize) -> bool) -> bool {
        const PAGE: usize = 4096;
        if matches!(self.words_any_case, Words::None) {
            return false;
        }
        // Sized to the text: most prompt strings are far shorter than a page
        // (a zeroed page on the stack cost more than the search).
        let mut page = Vec::with_capacity(hay.len().min(PAGE));
        let mut from = 0;
        loop {
            let end = (from + PAGE).min(hay.len());
            page.clear();
            page.extend_from_slice(&hay[from..end]);
            let lower = &mut page[..];
            lower.make_ascii_lowercase();
            let last = end == hay.len();
            let mine = if last { lower.len() } else { PAGE - OVERLAP };
            if self
                .words_any_case
                .any(lower, |at| at < mine && f(from + at))
            {
                return true;
            }
            if last {
                return false;
            }
            from += PAGE - OVERLAP;
        }
    }
}

impl Scanner {
    /// Compiles the detectors.
    pub fn new() -> Scanner {
        let patterns = DETECTORS.iter().map(|d| d.pattern);
        // The patterns are constants, tested below; a failure is a bug.
        let set = RegexSetBuilder::new(patterns)
            .size_limit(NFA_LIMIT)
            .dfa_size_limit(DFA_CACHE)
            .build()
            .unwrap_or_else(|e| panic!("guard patterns: {e}"));
        let each = DETECTORS
            .iter()
            .map(|d| Regex::new(d.pattern).unwrap_or_else(|e| panic!("guard pattern: {e}")))
            .collect();
        Scanner {
            candidates: Candidates::new(DETECTORS),
            set,
            each,
        }
    }

    /// The findings in `text`, in order, none overlapping; `keep` may drop
    /// a candidate value (an allow-list).
    pub fn scan(&self, text: &str, keep: impl Fn(Kind, &str) -> bool) -> Vec<Hit> {
        // Most prompts hold nothing. Where no digit or `@` is, looking only
        // where a word a detector begins with is (a SIMD literal search)
        // takes ~40 % of the time of the set's lazy DFA, which steps every
        // byte: no literal search can skip for it, as the detectors of
        // personal data begin with a class, not a word.
        if !self.candidates.any(text) {
            return Vec::new();
        }
        // An unanchored `is_match` (stops at the first candidate, no
        // per-pattern bookkeeping) costs a third of the overlapping search
        // that names every matching pattern (callgrind: 8 against 28
        // instructions a byte of prose), and text with a digit gets here.
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
    use proptest::prelude::*;

    /// Each detector's own candidates, and the detector alone.
    fn alone() -> &'static [(Candidates, Regex)] {
        static ALONE: std::sync::LazyLock<Vec<(Candidates, Regex)>> =
            std::sync::LazyLock::new(|| {
                DETECTORS
                    .iter()
                    .map(|d| {
                        let one = std::slice::from_ref(d);
                        (Candidates::new(one), Regex::new(d.pattern).unwrap())
                    })
                    .collect()
            });
        &ALONE
    }

    /// Wherever a detector's pattern matches, its candidates say it can.
    fn sound(alone: &[(Candidates, Regex)], text: &str) {
        for (i, (c, re)) in alone.iter().enumerate() {
            if re.is_match(text) {
                assert!(c.any(text), "{:?} missed in {text:?}", DETECTORS[i].kind);
            }
        }
    }

    #[test]
    fn words_that_ignore_case_fit_in_the_overlap() {
        for d in DETECTORS {
            if let Starts::WithAnyCase(words) = d.starts {
                assert!(words.iter().all(|w| w.len() < OVERLAP), "{words:?}");
            }
        }
        // A word across the edge of the first lower-case page is found.
        let c = Candidates::new(DETECTORS);
        for pad in 4070..4100 {
            let text = format!("{}Password = 'Zq!xLkVb#QwE'", "x".repeat(pad));
            assert!(c.any(&text), "{pad}");
            assert!(!c.any(&text.replace('=', ";")), "{pad}");
        }
    }

    #[test]
    fn the_automaton_finds_the_starts_teddy_finds() {
        // Where the CPU has no Teddy, `Words` falls back to an automaton.
        let words: Vec<&str> = DETECTORS
            .iter()
            .flat_map(|d| d.starts.exact_words())
            .copied()
            .collect();
        let packed = Words::new(&words);
        if !matches!(packed, Words::Packed { .. }) {
            return;
        }
        let automaton = Words::automaton(&words);
        let starts = |w: &Words, text: &str| {
            let mut found = Vec::new();
            w.any(text.as_bytes(), |at| {
                found.push(at);
                false
            });
            found
        };
        let text = include_str!("../tests/data/positives.jsonl");
        let found = starts(&packed, text);
        assert!(found.len() > 100, "{}", found.len());
        assert_eq!(found, starts(&automaton, text));
        // The words that ignore case, on the lower-cased text.
        let any_case: Vec<String> = DETECTORS
            .iter()
            .flat_map(|d| d.starts.any_case_words())
            .collect();
        let any_case: Vec<&str> = any_case.iter().map(String::as_str).collect();
        let lower = text.to_ascii_lowercase();
        let found = starts(&Words::new(&any_case), &lower);
        assert!(found.len() > 100, "{}", found.len());
        assert_eq!(found, starts(&Words::automaton(&any_case), &lower));
    }

    #[test]
    fn candidates_miss_no_match_of_the_corpus_or_its_mutations() {
        let alone = alone();
        let texts = include_str!("../tests/data/positives.jsonl")
            .lines()
            .chain(include_str!("../tests/data/negatives.jsonl").lines())
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["text"].as_str().map(str::to_owned))
            .collect::<Vec<_>>();
        assert!(texts.len() > 300);
        let mut matched = 0;
        for text in &texts {
            matched += usize::from(alone.iter().any(|(_, re)| re.is_match(text)));
            sound(alone, text);
            sound(alone, &text.to_ascii_lowercase());
            sound(alone, &text.to_ascii_uppercase());
            // Every byte dropped, and doubled: a match may begin or end anywhere.
            for (i, c) in text.char_indices() {
                let end = i + c.len_utf8();
                sound(alone, &format!("{}{}", &text[..i], &text[end..]));
                sound(alone, &format!("{}{}", &text[..end], &text[i..]));
            }
        }
        assert!(matched > 140, "{matched}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn candidates_miss_no_match_of_made_up_text(parts in prop::collection::vec(prop::sample::select(&[
            "AKIA", "ASIA", "AIza", "sk-", "sk-ant-", "sk_live_", "ghp_", "glpat-", "xoxb-", "xapp-1-",
            "hf_", "npm_", "SG.", "AC", "SK", "eyJ", "AccountKey=", "private_key_id", "\\\"",
            "-----BEGIN ", "RSA ", "PRIVATE KEY-----", "-----END ", "https://hooks.slack.com/services/",
            "aws", "AWS_", "secret", "Secret", "token", "PASSWORD", "password", "pwd", "api_key",
            "bearer", "postgres://", "redis://", "u", ":", "=", "=>", " is ", "\"", "'", "`",
            "@", ".", "com", "gmail", "-", "_", "/", "+", "(", ")", " ", "  ", "\n", "\t",
            "0", "1", "4", "9", "12", "555", "4111", "07", "GB", "AB", "X", "Q", "é", "中",
            "abcdefghij", "ABCDEFGHIJ", "0123456789", "AbC9", "zz",
        ][..]), 0..40)) {
            sound(alone(), &parts.concat());
        }
    }

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
