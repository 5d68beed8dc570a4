//! [`Skim`]: a strict JSON reader for the few fields accounting takes from an answer.
//!
//! Every event of a stream passes through the usage layer, which needs a
//! handful of its fields (the text, the finish reason, the usage). A derived
//! `Deserialize` over serde_json reads a 200-byte OpenAI chunk in about 6,000
//! instructions: it decodes every key into a string, matches it against the
//! field names through the visitor machinery, and parses every number it then
//! ignores (about 4,700 here). This reader walks the text once with a
//! cursor: keys are compared as they stand, values nobody reads are only checked and stepped over
//! (strings eight bytes at a time), and the strings it keeps are borrowed
//! unless they hold escapes (those are decoded by serde_json).
//!
//! It accepts exactly what serde_json accepts for the shapes read with it, so
//! a malformed event is refused whole, as before: each wire format's tests
//! keep the derived readers as the reference and compare the two on a corpus
//! and on every one-byte mutation of it (`assert_parity`, built for tests). Two
//! differences are left: a struct written as a JSON array (serde accepts
//! `[0, ...]` for a struct; no provider sends it) and a key that is not
//! UTF-8 (serde refuses it; here it is a key no field has). Like serde_json,
//! it checks the UTF-8 of the strings it decodes and not of those it steps over.

use std::borrow::Cow;

/// The text was not the JSON expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

pub(crate) type Result<T> = std::result::Result<T, Malformed>;

/// serde_json's nesting limit.
const MAX_DEPTH: u32 = 128;

/// A cursor over one JSON document.
pub(crate) struct Skim<'a> {
    text: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Skim<'a> {
    /// Reads `bytes` as one JSON document whose value `read` consumes; only
    /// white space may follow it.
    pub(crate) fn document<T>(
        bytes: &'a [u8],
        read: impl FnOnce(&mut Skim<'a>) -> Result<T>,
    ) -> Result<T> {
        let mut s = Skim {
            text: bytes,
            pos: 0,
            depth: 0,
        };
        s.ws();
        let value = read(&mut s)?;
        s.ws();
        if s.pos == bytes.len() {
            Ok(value)
        } else {
            Err(Malformed)
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// Steps over white space; most JSON on the wire has none, so that case
    /// is one comparison.
    #[inline]
    fn ws(&mut self) {
        if self.text.get(self.pos).is_some_and(|&c| c > b' ') {
            return;
        }
        self.more_ws();
    }

    fn more_ws(&mut self) {
        let b = self.text;
        while let Some(c) = b.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// `null` at the cursor: consumed, `true`. Any other value is left.
    pub(crate) fn null(&mut self) -> Result<bool> {
        self.ws();
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal("null")?;
        Ok(true)
    }

    /// `None` for `null`, else the value `read` reads.
    pub(crate) fn opt<T>(
        &mut self,
        read: impl FnOnce(&mut Skim<'a>) -> Result<T>,
    ) -> Result<Option<T>> {
        if self.null()? {
            Ok(None)
        } else {
            read(self).map(Some)
        }
    }

    fn literal(&mut self, word: &str) -> Result<()> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn enter(&mut self, open: u8) -> Result<()> {
        self.expect(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Malformed);
        }
        Ok(())
    }

    /// An object: `field` is called with each key (its bytes, unescaped)
    /// and the cursor at its value, which it must consume (read it, or
    /// [`skip`](Self::skip) it).
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&[u8], &mut Skim<'a>) -> Result<()>,
    ) -> Result<()> {
        self.sequence(b'{', b'}', |s| {
            let key = s.key()?;
            s.expect(b':')?;
            s.ws();
            field(&key, s)
        })
    }

    /// An object read as serde's derived readers read a struct: `field` is
    /// called with the index in `names` of each known key and the cursor at
    /// its value, which it must consume; other fields are stepped over, and
    /// a known one given twice is an error.
    pub(crate) fn fields(
        &mut self,
        names: &[&[u8]],
        mut field: impl FnMut(usize, &mut Skim<'a>) -> Result<()>,
    ) -> Result<()> {
        debug_assert!(names.len() <= 32);
        let mut seen = 0u32;
        // Length and first byte rule out most names before a comparison.
        let known = |key: &[u8]| {
            names.iter().position(|name| {
                name.len() == key.len() && name.first() == key.first() && *name == key
            })
        };
        self.object(|key, s| match known(key) {
            Some(i) => {
                if seen & 1 << i != 0 {
                    return Err(Malformed);
                }
                seen |= 1 << i;
                field(i, s)
            }
            None => s.skip().map(drop),
        })
    }

    /// An object whose known fields, `names`, are each `null` or a value
    /// `read` reads (the rest stepped over, as [`fields`](Self::fields)
    /// does): their values, in the order of `names`.
    pub(crate) fn values<T, const N: usize>(
        &mut self,
        names: [&[u8]; N],
        mut read: impl FnMut(&mut Skim<'a>) -> Result<T>,
    ) -> Result<[Option<T>; N]> {
        let mut values = [const { None }; N];
        self.fields(&names, |i, s| {
            values[i] = s.opt(&mut read)?;
            Ok(())
        })?;
        Ok(values)
    }

    /// An array: `item` is called with the cursor at each item, which it must consume.
    pub(crate) fn array(&mut self, item: impl FnMut(&mut Skim<'a>) -> Result<()>) -> Result<()> {
        self.sequence(b'[', b']', item)
    }

    /// `open`, then items `item` reads (the cursor at each) between commas, then `close`.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Skim<'a>) -> Result<()>,
    ) -> Result<()> {
        self.enter(open)?;
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(Malformed),
            }
        }
    }

    /// An array of what `read` reads.
    pub(crate) fn list<T>(
        &mut self,
        mut read: impl FnMut(&mut Skim<'a>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        self.array(|s| {
            items.push(read(s)?);
            Ok(())
        })?;
        Ok(items)
    }

    /// A string, borrowed from the text unless it holds escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>> {
        self.ws();
        let start = self.pos;
        let escaped = self.step_over_string()?;
        let quoted = &self.text[start..self.pos];
        if escaped {
            serde_json::from_slice::<String>(quoted)
                .map(Cow::Owned)
                .map_err(|_| Malformed)
        } else {
            std::str::from_utf8(&quoted[1..quoted.len() - 1])
                .map(Cow::Borrowed)
                .map_err(|_| Malformed)
        }
    }

    /// A key: its bytes, borrowed unless it holds escapes. (Not checked to
    /// be UTF-8: it is only compared with field names.)
    fn key(&mut self) -> Result<Cow<'a, [u8]>> {
        let start = self.pos;
        let escaped = self.step_over_string()?;
        let quoted = &self.text[start..self.pos];
        if escaped {
            serde_json::from_slice::<String>(quoted)
                .map(|k| Cow::Owned(k.into_bytes()))
                .map_err(|_| Malformed)
        } else {
            Ok(Cow::Borrowed(&quoted[1..quoted.len() - 1]))
        }
    }

    /// `null` or a string.
    pub(crate) fn opt_string(&mut self) -> Result<Option<Cow<'a, str>>> {
        self.opt(Skim::string)
    }

    /// A non-negative integer that fits in a `u32`, as serde reads one (no
    /// sign, fraction or exponent).
    pub(crate) fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.unsigned()?).map_err(|_| Malformed)
    }

    /// A non-negative integer that fits in a `u64`, as serde reads one.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.unsigned()
    }

    /// Digits read as they are stepped over. What serde refuses for an
    /// unsigned integer is refused here or by the caller, which finds the
    /// cursor on the rest: a sign (`-0` too: serde reads it as a float), a
    /// leading zero, a fraction or an exponent; a value past `u64::MAX`
    /// (serde reads it as a float) overflows.
    fn unsigned(&mut self) -> Result<u64> {
        self.ws();
        let b = self.text;
        let mut i = self.pos;
        let mut n: u64 = match b.get(i) {
            Some(&c @ b'0'..=b'9') => u64::from(c - b'0'),
            _ => return Err(Malformed),
        };
        i += 1;
        // After a leading zero no digit is read: the caller finds it.
        while n != 0
            && let Some(&c) = b.get(i)
            && c.is_ascii_digit()
        {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')))
                .ok_or(Malformed)?;
            i += 1;
        }
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            return Err(Malformed);
        }
        self.pos = i;
        Ok(n)
    }

    /// Steps over any value, checking it; returns its text.
    pub(crate) fn skip(&mut self) -> Result<&'a [u8]> {
        self.ws();
        let start = self.pos;
        self.step_over_value()?;
        Ok(&self.text[start..self.pos])
    }

    /// Steps over the value at the cursor (no white space before it).
    fn step_over_value(&mut self) -> Result<()> {
        match self.peek().ok_or(Malformed)? {
            b'{' => self.object(|_, s| s.step_over_value()),
            b'[' => self.array(Skim::step_over_value),
            b'"' => self.step_over_string().map(drop),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.step_over_number(),
        }
    }

    /// Steps over a string at the cursor (checking its escapes and that it
    /// holds no control character); returns whether it holds escapes.
    #[inline]
    fn step_over_string(&mut self) -> Result<bool> {
        let b = self.text;
        if b.get(self.pos) != Some(&b'"') {
            return Err(Malformed);
        }
        // Most strings hold no escape: the first special byte closes them.
        let i = special_from(b, self.pos + 1).ok_or(Malformed)?;
        if b[i] == b'"' {
            self.pos = i + 1;
            return Ok(false);
        }
        self.escaped_string_from(i)
    }

    /// The rest of a string from `i`, its first escape or control character:
    /// `true` (it holds an escape) when it is well formed.
    #[cold]
    fn escaped_string_from(&mut self, mut i: usize) -> Result<bool> {
        let b = self.text;
        loop {
            i = special_from(b, i).ok_or(Malformed)?;
            match b[i] {
                // Only reached past an escape: a control character fails first.
                b'"' => {
                    self.pos = i + 1;
                    return Ok(true);
                }
                b'\\' => {
                    i += 1;
                    match b.get(i).ok_or(Malformed)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 1,
                        b'u' => {
                            let hex = b.get(i + 1..i + 5).ok_or(Malformed)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Malformed);
                            }
                            i += 5;
                        }
                        _ => return Err(Malformed),
                    }
                }
                _ => return Err(Malformed), // a control character
            }
        }
    }

    /// Steps over a number as JSON writes one: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn step_over_number(&mut self) -> Result<()> {
        let b = self.text;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits_end(b, i + 1),
            _ => return Err(Malformed),
        }
        if b.get(i) == Some(&b'.') {
            let end = digits_end(b, i + 1);
            if end == i + 1 {
                return Err(Malformed);
            }
            i = end;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits_end(b, i);
            if end == i {
                return Err(Malformed);
            }
            i = end;
        }
        self.pos = i;
        Ok(())
    }
}

/// The index of the first byte at or after `from` that is not an ASCII digit.
///
/// Eight bytes at a time: an embeddings answer is mostly numbers of a dozen
/// digits, and a byte at a time cost ~9 instructions a byte there.
fn digits_end(b: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // Each byte is a digit when its high nibble is 3 and adding 6 to it
        // does not carry into the high nibble (0x30..=0x39).
        let high = w & (ONES * 0xf0);
        let carry = w.wrapping_add(ONES * 0x06) & (ONES * 0xf0);
        let bad = (high ^ (ONES * 0x30)) | (carry ^ (ONES * 0x30));
        if bad != 0 {
            return i + bad.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The index of the first `"`, `\` or control character at or after `from`
/// (eight bytes at a time, as serde_json looks for them).
#[inline]
fn special_from(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let s = w ^ (ONES * u64::from(b'\\'));
        let slash = s.wrapping_sub(ONES) & !s;
        let hit = (ctrl | quote | slash) & HIGH;
        if hit != 0 {
            return Some(i + hit.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    b[i.min(b.len())..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// Checks that `skim` reads every text of `corpus`, and every one-byte
/// deletion, replacement and insertion of it, exactly as `serde` does: the
/// same value (both readers return it `{:?}`-formatted), or both refuse.
#[cfg(test)]
pub(crate) fn assert_parity(
    corpus: &[&str],
    skim: impl Fn(&[u8]) -> Option<String>,
    serde: impl Fn(&[u8]) -> Option<String>,
) {
    let check = |text: &str| {
        let skimmed = skim(text.as_bytes());
        assert_eq!(skimmed, serde(text.as_bytes()), "{text:?}");
        skimmed.is_some()
    };
    let mut read = 0;
    let mut variants = 0;
    for text in corpus {
        assert!(check(text), "the corpus itself reads: {text}");
        for (i, c) in text.char_indices() {
            let (head, tail) = (&text[..i], &text[i + c.len_utf8()..]);
            let mut mutations = vec![head.to_owned(), format!("{head}{tail}")];
            for with in [
                "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", ".", "e", "a", " ", "n",
                "\u{1}", "\"\"", "1",
            ] {
                mutations.push(format!("{head}{with}{tail}"));
                mutations.push(format!("{head}{with}{c}{tail}"));
            }
            for m in &mutations {
                read += usize::from(check(m));
                variants += 1;
            }
        }
    }
    // Most mutations break the JSON; enough still read to compare values.
    assert!(read > variants / 20, "{read} of {variants}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_bytes_are_found_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'"', b'\\', 0x01, 0x1f] {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    // A byte above 0x80 next to it must not hide it (the
                    // borrow in the subtraction trick).
                    if at + 1 < len {
                        b[at + 1] = 0xc3;
                    }
                    assert_eq!(special_from(&b, 0), Some(at), "{len} {at} {c}");
                    assert_eq!(special_from(&b, at), Some(at));
                }
            }
            assert_eq!(special_from(&vec![b'a'; len], 0), None);
            assert_eq!(special_from(&vec![0xe2; len], 0), None);
        }
    }

    #[test]
    fn digit_runs_end_where_a_byte_at_a_time_scan_ends() {
        let slow = |b: &[u8], from: usize| {
            from + b[from.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        // Every byte value at every position of runs around the word size.
        for len in 0..20 {
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut b = vec![b'7'; len];
                    b[at] = c;
                    for from in 0..=len {
                        assert_eq!(
                            digits_end(&b, from),
                            slow(&b, from),
                            "{len} {at} {c} {from}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn values_are_stepped_over_and_checked() {
        let skip = |t: &str| Skim::document(t.as_bytes(), |s| s.skip().map(<[u8]>::to_vec));
        for ok in [
            r#"{"a":[1,-2.5e+3,true,false,null,"x\"\u00e9\n"],"b":{}}"#,
            " [ ] ",
            "0",
            "-0.0E7",
            r#""\ud83d\ude00""#,
        ] {
            assert_eq!(skip(ok).as_deref(), Ok(ok.trim().as_bytes()), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "01",
            "1.",
            "1e",
            "-",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\u{1}\"",
            "\"abc",
            "[1 2]",
            "{1:2}",
            "1 2",
        ] {
            assert_eq!(skip(bad), Err(Malformed), "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(skip(&deep), Err(Malformed), "deeper than serde_json reads");
    }

    #[test]
    fn strings_are_borrowed_unless_escaped_and_integers_read_as_serde_does() {
        let read = |t: &'static str| Skim::document(t.as_bytes(), Skim::string);
        assert!(matches!(read(r#""plain é""#), Ok(Cow::Borrowed("plain é"))));
        assert_eq!(read(r#""a\"b\u00e9\n""#).unwrap(), "a\"bé\n");
        assert_eq!(read("null"), Err(Malformed));
        let int = |t: &str| Skim::document(t.as_bytes(), Skim::u32);
        let serde = |t: &str| serde_json::from_str::<u32>(t).ok();
        for t in [
            "0",
            "-0",
            "7",
            "4294967295",
            "4294967296",
            "-1",
            "1.0",
            "1e2",
            "01",
        ] {
            assert_eq!(int(t).ok(), serde(t), "{t}");
        }
    }
}
