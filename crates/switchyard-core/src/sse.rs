//! An incremental Server-Sent Events parser for observing streams as they pass.

/// How many `data:` fields occur in `bytes`: an event count for layers that
/// watch a stream's pace without parsing it (a field split across two chunks
/// is missed, as such a count allows).
pub fn count_data_fields(bytes: &[u8]) -> usize {
    // Built once: `memmem::find_iter` builds a searcher per call, which
    // costs more than the search on a small chunk.
    static DATA: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"data:"));
    DATA.find_iter(bytes).count()
}

/// One dispatched event. Borrowed from the parser; valid until the next `feed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, if any.
    pub event: Option<&'a str>,
    /// The `data:` lines joined by `\n`, as bytes (usually JSON).
    pub data: &'a [u8],
    /// The `id:` field, if any.
    pub id: Option<&'a str>,
}

impl SseEvent<'_> {
    /// Whether this is OpenAI's end-of-stream marker `data: [DONE]`.
    pub fn is_done(&self) -> bool {
        self.data == b"[DONE]"
    }
}

/// Incremental SSE parser (WHATWG `text/event-stream` rules).
///
/// Feed it the frames of a body as they pass; it calls back once per complete
/// event and keeps only the unfinished tail of the current event. Lines may end
/// in `\n`, `\r\n` or `\r`, split anywhere across chunks (including between the
/// `\r` and `\n`, and inside multi-byte UTF-8). An event larger than the cap is
/// skipped and counted, never buffered without bound. Buffers are reused, so
/// steady-state parsing does not allocate.
///
/// ```
/// use switchyard_core::SseParser;
/// let mut p = SseParser::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"data: {\"a\""[..], b":1}\n", b"\ndata: [DONE]\n\n"] {
///     p.feed(chunk, |ev| seen.push(String::from_utf8(ev.data.to_vec()).unwrap()));
/// }
/// assert_eq!(seen, ["{\"a\":1}", "[DONE]"]);
/// ```
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    event: String,
    id: String,
    has_data: bool,
    skip_lf: bool,
    discarding: bool,
    max_event: usize,
    oversized: u64,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser with a 16 MiB cap per event.
    pub fn new() -> Self {
        SseParser::with_max_event_size(16 << 20)
    }

    /// A parser that skips events larger than `max` bytes.
    pub fn with_max_event_size(max: usize) -> Self {
        SseParser {
            line: Vec::new(),
            data: Vec::new(),
            event: String::new(),
            id: String::new(),
            has_data: false,
            skip_lf: false,
            discarding: false,
            max_event: max,
            oversized: 0,
        }
    }

    /// How many events were skipped for exceeding the cap.
    pub fn oversized_events(&self) -> u64 {
        self.oversized
    }

    /// Whether an event has started but not finished (bytes are held).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.has_data || !self.event.is_empty()
    }

    /// Bytes held for the unfinished event.
    pub fn buffered(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// Parses a chunk, calling `on_event` for every event it completes.
    pub fn feed(&mut self, mut chunk: &[u8], mut on_event: impl FnMut(SseEvent<'_>)) {
        if chunk.is_empty() {
            return;
        }
        if self.skip_lf {
            self.skip_lf = false;
            if let [b'\n', rest @ ..] = chunk {
                chunk = rest;
            }
        }
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', chunk) {
            let (head, rest) = (&chunk[..pos], &chunk[pos + 1..]);
            let was_cr = chunk[pos] == b'\r';
            if self.line.is_empty() {
                self.process_line(head, &mut on_event);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                self.process_line(&line, &mut on_event);
                line.clear();
                self.line = line;
            }
            chunk = rest;
            if was_cr {
                match chunk {
                    [b'\n', rest @ ..] => chunk = rest,
                    [] => self.skip_lf = true,
                    _ => {}
                }
            }
        }
        if !chunk.is_empty() && !self.discarding {
            if self.line.len() + self.data.len() + chunk.len() > self.max_event {
                self.start_discarding();
            } else {
                self.line.extend_from_slice(chunk);
            }
        }
    }

    fn start_discarding(&mut self) {
        self.discarding = true;
        self.oversized += 1;
        self.line.clear();
        self.data.clear();
        self.has_data = false;
    }

    fn process_line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent<'_>)) {
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if self.discarding || line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_event {
                    self.start_discarding();
                    return;
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.id.clear();
                self.id.push_str(&String::from_utf8_lossy(value));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(SseEvent<'_>)) {
        if self.discarding {
            self.discarding = false;
        } else if self.has_data {
            on_event(SseEvent {
                event: (!self.event.is_empty()).then_some(self.event.as_str()),
                data: &self.data,
                id: (!self.id.is_empty()).then_some(self.id.as_str()),
            });
        }
        self.data.clear();
        self.event.clear();
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_fields_are_counted_in_a_chunk() {
        assert_eq!(count_data_fields(b""), 0);
        assert_eq!(count_data_fields(b"event: ping\n\n"), 0);
        assert_eq!(count_data_fields(b"data: {\"a\":1}\n\ndata: [DONE]\n\n"), 2);
        // Twice: the finder is built once and reused.
        assert_eq!(count_data_fields(b"data:x\ndata:y\ndata:z\n\n"), 3);
        assert_eq!(count_data_fields(b"data:x\ndata:y\ndata:z\n\n"), 3);
    }

    type Seen = Vec<(Option<String>, String)>;

    fn run(chunks: &[&[u8]]) -> Seen {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| {
                out.push((
                    e.event.map(str::to_owned),
                    String::from_utf8(e.data.to_vec()).unwrap(),
                ))
            });
        }
        out
    }

    const STREAM: &str = "event: message_start\r\ndata: {\"x\":\"h\u{e9}llo \u{1F600}\"}\r\n\r\n: keep-alive\n\ndata: a\ndata: b\n\nevent: ping\ndata:\n\rdata: [DONE]\r\r";

    #[test]
    fn whole_stream() {
        let out = run(&[STREAM.as_bytes()]);
        assert_eq!(
            out,
            vec![
                (
                    Some("message_start".into()),
                    "{\"x\":\"h\u{e9}llo \u{1F600}\"}".into()
                ),
                (None, "a\nb".into()),
                (Some("ping".into()), "".into()),
                (None, "[DONE]".into()),
            ]
        );
    }

    #[test]
    fn every_split_gives_the_same_events() {
        let whole = run(&[STREAM.as_bytes()]);
        let b = STREAM.as_bytes();
        for i in 0..=b.len() {
            for j in i..=b.len() {
                assert_eq!(
                    run(&[&b[..i], &b[i..j], &b[j..]]),
                    whole,
                    "split at {i},{j}"
                );
            }
        }
        let bytes: Vec<&[u8]> = b.chunks(1).collect();
        assert_eq!(run(&bytes), whole);
    }

    #[test]
    fn oversized_events_are_skipped_and_counted() {
        let mut p = SseParser::with_max_event_size(8);
        let mut out = Vec::new();
        p.feed(b"data: 0123456789abcdef\n\ndata: ok\n\n", |e| {
            out.push(e.data.to_vec())
        });
        p.feed(b"data: 0123", |e| out.push(e.data.to_vec()));
        p.feed(b"456789\n\ndata: ok2\n\n", |e| out.push(e.data.to_vec()));
        assert_eq!(out, vec![b"ok".to_vec(), b"ok2".to_vec()]);
        assert_eq!(p.oversized_events(), 2);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn holds_only_the_tail() {
        let mut p = SseParser::new();
        let mut n = 0;
        p.feed(b"data: {\"a\":1}\n\ndata: {\"b\"", |_| n += 1);
        assert_eq!(n, 1);
        assert_eq!(p.buffered(), b"data: {\"b\"".len());
        assert!(p.has_partial());
    }
}
