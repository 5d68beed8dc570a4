//! Request classifiers: each gives a tag when its test holds.

use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use switchyard_core::Prompt;

/// Which part of the prompt a text classifier reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every text part: system, every message, tool-free.
    #[default]
    All,
    /// The last user message only.
    LastUser,
}

/// A length range; each bound is optional and inclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LengthRange {
    /// At least this many characters.
    pub min_chars: Option<usize>,
    /// At most this many characters.
    pub max_chars: Option<usize>,
    /// At least this many estimated tokens.
    pub min_tokens: Option<usize>,
    /// At most this many estimated tokens.
    pub max_tokens: Option<usize>,
}

impl LengthRange {
    /// Whether a prompt of `chars` characters and `tokens` estimated tokens is in range.
    pub fn contains(&self, chars: usize, tokens: usize) -> bool {
        self.min_chars.is_none_or(|m| chars >= m)
            && self.max_chars.is_none_or(|m| chars <= m)
            && self.min_tokens.is_none_or(|m| tokens >= m)
            && self.max_tokens.is_none_or(|m| tokens <= m)
    }

    fn is_empty(&self) -> bool {
        *self == LengthRange::default()
    }
}

/// Whole-word, case-insensitive keywords.
#[derive(Clone)]
pub(crate) struct Keywords {
    ac: AhoCorasick,
    count: usize,
}

impl fmt::Debug for Keywords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keywords")
            .field("count", &self.count)
            .finish()
    }
}

impl Keywords {
    fn new(words: &[String]) -> Result<Keywords, String> {
        let lowered: Vec<String> = words.iter().map(|w| w.trim().to_lowercase()).collect();
        if lowered.is_empty() || lowered.iter().any(String::is_empty) {
            return Err("`keywords` must list at least one non-empty word".into());
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&lowered)
            .map_err(|e| format!("keywords: {e}"))?;
        Ok(Keywords {
            ac,
            count: lowered.len(),
        })
    }

    /// Whether a whole-word keyword occurs in `lowered` (already lowercased).
    fn find(&self, lowered: &str) -> bool {
        self.ac.find_overlapping_iter(lowered).any(|m| {
            let before = lowered[..m.start()].chars().next_back();
            let after = lowered[m.end()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Clone, Debug)]
pub(crate) enum Test {
    Keywords(Keywords, Scope),
    Regex(Regex, Scope),
    Length(LengthRange),
    Vision,
    Tools,
    Code,
    LongContext(usize),
}

/// One request classifier: a tag and the test that gives it.
#[derive(Clone, Debug)]
pub struct Classifier {
    pub(crate) tag: Arc<str>,
    pub(crate) test: Test,
}

impl Classifier {
    /// `tag` when one of `words` occurs as a whole word, any case.
    pub fn keywords(tag: &str, words: &[String], scope: Scope) -> Result<Self, String> {
        Ok(Classifier::new(
            tag,
            Test::Keywords(Keywords::new(words)?, scope),
        ))
    }

    /// `tag` when `pattern` (Rust regex syntax; `(?i)` for any case) matches.
    pub fn regex(tag: &str, pattern: &str, scope: Scope) -> Result<Self, String> {
        let re = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("invalid regex `{pattern}`: {e}"))?;
        Ok(Classifier::new(tag, Test::Regex(re, scope)))
    }

    /// `tag` when the prompt's length is within `range`.
    pub fn length(tag: &str, range: LengthRange) -> Result<Self, String> {
        if range.is_empty() {
            return Err("a length classifier needs a min or max (chars or tokens)".into());
        }
        Ok(Classifier::new(tag, Test::Length(range)))
    }

    /// `tag` when the request carries an image.
    pub fn vision(tag: &str) -> Self {
        Classifier::new(tag, Test::Vision)
    }

    /// `tag` when the request offers tools.
    pub fn tools(tag: &str) -> Self {
        Classifier::new(tag, Test::Tools)
    }

    /// `tag` when the prompt has a code fence or several code-like lines.
    pub fn code(tag: &str) -> Self {
        Classifier::new(tag, Test::Code)
    }

    /// `tag` when the prompt has at least `min_tokens` estimated tokens.
    pub fn long_context(tag: &str, min_tokens: usize) -> Self {
        Classifier::new(tag, Test::LongContext(min_tokens))
    }

    fn new(tag: &str, test: Test) -> Self {
        Classifier {
            tag: Arc::from(tag),
            test,
        }
    }

    /// The tag given.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub(crate) fn needs_lowercase(&self) -> bool {
        matches!(self.test, Test::Keywords(..))
    }

    pub(crate) fn matches(&self, prompt: &Prompt, lower: &Lowered) -> bool {
        match &self.test {
            Test::Keywords(k, scope) => k.find(lower.get(*scope)),
            Test::Regex(re, Scope::All) => re.is_match(prompt.text()),
            Test::Regex(re, Scope::LastUser) => re.is_match(prompt.last_user_text()),
            Test::Length(r) => r.contains(prompt.char_count(), prompt.estimated_tokens()),
            Test::Vision => prompt.image_count() > 0,
            Test::Tools => prompt.has_tools(),
            Test::Code => looks_like_code(prompt.text()),
            Test::LongContext(min) => prompt.estimated_tokens() >= *min,
        }
    }
}

/// The prompt lowercased, made only when a keyword classifier needs it.
#[derive(Default)]
pub(crate) struct Lowered {
    all: String,
    last_user: String,
}

impl Lowered {
    pub(crate) fn new(prompt: &Prompt) -> Self {
        Lowered {
            all: prompt.text().to_lowercase(),
            last_user: prompt.last_user_text().to_lowercase(),
        }
    }

    fn get(&self, scope: Scope) -> &str {
        match scope {
            Scope::All => &self.all,
            Scope::LastUser => &self.last_user,
        }
    }
}

/// A code fence, or at least three lines that read like code.
pub(crate) fn looks_like_code(text: &str) -> bool {
    // memchr's vectorised search: `str::contains` is a scalar Two-Way search,
    // a few instructions a byte, which a long prompt feels. Built once:
    // `memmem::find` builds a searcher per call.
    static FENCE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"```"));
    if FENCE.find(text.as_bytes()).is_some() {
        return true;
    }
    const STARTS: [&str; 20] = [
        "def ",
        "fn ",
        "pub fn ",
        "function ",
        "class ",
        "import ",
        "from ",
        "#include",
        "package ",
        "func ",
        "const ",
        "let ",
        "var ",
        "return ",
        "public ",
        "private ",
        "SELECT ",
        "if (",
        "for (",
        "while (",
    ];
    // The bytes the starts begin with: most lines of prose begin with none
    // of them and are ruled out with one lookup.
    static FIRST: std::sync::LazyLock<[bool; 256]> = std::sync::LazyLock::new(|| {
        let mut first = [false; 256];
        for s in STARTS {
            first[usize::from(s.as_bytes()[0])] = true;
        }
        first
    });
    let mut code_lines = 0;
    // Lines found with memchr's vectorised search: `str::lines` looks for
    // each newline with core's scalar memchr (~1.2 instructions a byte).
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes());
    let mut start = 0;
    for end in newlines.chain([text.len()]) {
        // `\n` is ASCII: both ends are character boundaries.
        let line = &text[start..end];
        start = end + 1;
        let t = line.trim();
        let Some(&b) = t.as_bytes().first() else {
            continue;
        };
        let ends = t.ends_with(';') || t.ends_with('{') || t == "}" || t.ends_with("):");
        if ends || (FIRST[usize::from(b)] && STARTS.iter().any(|s| t.starts_with(s))) {
            code_lines += 1;
            if code_lines >= 3 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_whole_words_any_case() {
        let k = Keywords::new(&["Contract".into(), "nda".into(), "café".into()]).unwrap();
        assert!(k.find("please review this contract."));
        assert!(k.find("an nda, quickly"));
        assert!(k.find("au café"));
        assert!(!k.find("contractor work"));
        assert!(!k.find("subcontract"));
        assert!(!k.find("agenda"));
        assert!(k.find("subcontract then contract"));
        assert!(Keywords::new(&[]).is_err());
        assert!(Keywords::new(&[" ".into()]).is_err());
    }

    #[test]
    fn code_heuristics() {
        assert!(looks_like_code("fix this:\n```\nx\n```"));
        assert!(looks_like_code("fn main() {\n    let x = 1;\n}\n"));
        assert!(looks_like_code("def f(x):\n    return x\nimport os"));
        assert!(!looks_like_code(
            "Write a poem about the sea.\nMake it rhyme."
        ));
    }

    #[test]
    fn length_ranges() {
        let r = LengthRange {
            max_tokens: Some(10),
            ..Default::default()
        };
        assert!(r.contains(40, 10));
        assert!(!r.contains(44, 11));
        assert!(Classifier::length("x", LengthRange::default()).is_err());
    }
}
