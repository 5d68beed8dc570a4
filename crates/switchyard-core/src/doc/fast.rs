//! The quick reader of a [`Doc`](super::Doc): the JSON grammar, strings
//! found with `memchr`'s vectorised search instead of serde_json's eight
//! bytes at a time (most of a prompt is long strings).
//!
//! It only says yes to what serde_json reads the same way: anything it is
//! not sure of (an error, a float, an integer past 64 bits, `-0`, nesting
//! past 100) makes it give up, and the caller reads the body with serde_json
//! (the same answer or the same error as `Value`). Strings with escapes and
//! floats are handed to serde_json one at a time, for its exact decoding.

use super::Node;

/// Past this depth serde_json decides (its own limit is 128).
const DEPTH: usize = 100;

/// The root, the nodes and the decoded strings of `text`; `None` where
/// serde_json must decide.
pub(super) fn read(text: &str) -> Option<(Node, Vec<Node>, String)> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        decoded: String::new(),
        // About what a chat body needs (a message is four to six nodes
        // in some 200 to 2,000 bytes), so that few of them regrow.
        nodes: Vec::with_capacity(16 + text.len() / 64),
        stack: Vec::with_capacity(32),
    };
    let root = r.value(DEPTH)?;
    r.space();
    (r.pos == r.bytes.len()).then_some((root, r.nodes, r.decoded))
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    decoded: String,
    nodes: Vec<Node>,
    stack: Vec<Node>,
}

impl Reader<'_> {
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after white space, consumed.
    fn next(&mut self) -> Option<u8> {
        self.space();
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        match self.next()? {
            b'{' => self.object(depth.checked_sub(1)?),
            b'[' => self.array(depth.checked_sub(1)?),
            b'"' => self.string(),
            b't' => self.literal(b"rue", Node::Bool(true)),
            b'f' => self.literal(b"alse", Node::Bool(false)),
            b'n' => self.literal(b"ull", Node::Null),
            b'-' | b'0'..=b'9' => self.number(self.pos - 1),
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], node: Node) -> Option<Node> {
        let end = self.pos + rest.len();
        (self.bytes.get(self.pos..end)? == rest).then(|| {
            self.pos = end;
            node
        })
    }

    fn array(&mut self, depth: usize) -> Option<Node> {
        let (first, len) = self.sequence(b']', |r| {
            let v = r.value(depth)?;
            r.stack.push(v);
            Some(())
        })?;
        Some(Node::Array { first, len })
    }

    fn object(&mut self, depth: usize) -> Option<Node> {
        let (first, len) = self.sequence(b'}', |r| {
            if r.next()? != b'"' {
                return None;
            }
            let key = r.string()?;
            if r.next()? != b':' {
                return None;
            }
            let v = r.value(depth)?;
            r.stack.push(key);
            r.stack.push(v);
            Some(())
        })?;
        Some(Node::Object {
            first,
            len: len / 2,
        })
    }

    /// The items of an array or object whose opening bracket was just read,
    /// each pushed by `item`, separated by commas up to `close`: gathered
    /// into the nodes as one container's (its first node and node count).
    fn sequence(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<(u32, u32)> {
        let mark = self.stack.len();
        self.space();
        if self.bytes.get(self.pos) == Some(&close) {
            self.pos += 1;
        } else {
            loop {
                item(self)?;
                match self.next()? {
                    b',' => {}
                    c if c == close => break,
                    _ => return None,
                }
            }
        }
        super::gather(&mut self.nodes, &mut self.stack, mark)
    }

    /// A string whose opening quote was just read.
    fn string(&mut self) -> Option<Node> {
        let start = self.pos;
        let mut at = start;
        let mut escaped = false;
        loop {
            at += find_quote_or_escape(self.bytes.get(at..)?)?;
            if self.bytes.get(at) == Some(&b'"') {
                break;
            }
            // An escape: its next byte is never the closing quote (`\u`'s
            // digits are checked by serde_json below).
            escaped = true;
            at += 2;
        }
        self.pos = at + 1;
        if escaped {
            // serde_json decodes (and checks) the escapes; the quotes
            // around the string are part of what it reads.
            let s: String = serde_json::from_str(self.text.get(start - 1..at + 1)?).ok()?;
            let begin = u32::try_from(self.decoded.len()).ok()?;
            self.decoded.push_str(&s);
            return Some(Node::Decoded {
                start: begin,
                len: u32::try_from(s.len()).ok()?,
            });
        }
        if has_control(self.bytes.get(start..at)?) {
            return None;
        }
        Some(Node::Str {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(at - start).ok()?,
        })
    }

    /// A number starting at `start` (its first byte already read).
    fn number(&mut self, start: usize) -> Option<Node> {
        self.pos = start;
        let negative = self.bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let digits = self.pos;
        match self.bytes.get(self.pos)? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        let int_end = self.pos;
        let mut float = false;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            float = true;
            if !self.bytes.get(self.pos)?.is_ascii_digit() {
                return None;
            }
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            float = true;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !self.bytes.get(self.pos)?.is_ascii_digit() {
                return None;
            }
            self.skip_digits();
        }
        // After a leading `0` only a fraction or an exponent may follow.
        if self.bytes.get(digits) == Some(&b'0') && int_end - digits > 1 {
            return None;
        }
        if !float {
            let mut n: u64 = 0;
            let mut fits = true;
            for &b in self.bytes.get(digits..int_end)? {
                match n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(b - b'0')))
                {
                    Some(m) => n = m,
                    None => fits = false,
                }
            }
            if fits && !negative {
                return Some(Node::Uint(n));
            }
            // As serde_json: a negative integer an `i64` holds (not `-0`).
            if fits
                && n != 0
                && let Some(v) = 0i64.checked_sub_unsigned(n)
            {
                return Some(Node::Int(v));
            }
        }
        // A float, `-0`, or an integer past 64 bits: serde_json's reading.
        let f: f64 = serde_json::from_str(self.text.get(start..self.pos)?).ok()?;
        Some(Node::Float(f))
    }

    fn skip_digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }
}

/// Where the first `"` or `\\` of `bytes` is. Keys and short values are
/// looked through a byte at a time, cheaper than setting up a vector
/// search; the rest of a longer string goes to `memchr`.
fn find_quote_or_escape(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 16;
    let head = bytes.get(..SHORT).unwrap_or(bytes);
    if let Some(i) = head.iter().position(|b| matches!(b, b'"' | b'\\')) {
        return Some(i);
    }
    let rest = bytes.get(SHORT..)?;
    memchr::memchr2(b'"', b'\\', rest).map(|i| i + SHORT)
}

/// Whether `bytes` holds a control character (which a JSON string must
/// escape): the least byte of each 64, a fold the compiler turns into
/// vector minimums.
fn has_control(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    let least = |c: &[u8]| c.iter().fold(u8::MAX, |m, &b| m.min(b));
    chunks.any(|c| least(c) < 0x20) || least(chunks.remainder()) < 0x20
}
