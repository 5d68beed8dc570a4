//! [`TailObserver`]: usage of a whole answer too large to hold, read from its end.

use bytes::{Bytes, BytesMut};

use crate::future::Accounting;
use crate::observe::Observation;

/// Bytes of the end of the answer kept: usage objects sit there.
const TAIL: usize = 64 << 10;

/// Keeps the last bytes of an answer that passes through, and accounts for it
/// once (at the end, or when dropped) from the `"usage"` object found there.
///
/// OpenAI and Anthropic put `usage` after the content, so a 60 MB embeddings
/// answer is still charged by the provider's figures.
pub(crate) struct TailObserver {
    acct: Accounting,
    tail: BytesMut,
    done: bool,
}

impl TailObserver {
    pub(crate) fn new(acct: Accounting, prefix: &Bytes) -> Self {
        let mut o = TailObserver {
            acct,
            tail: BytesMut::with_capacity(2 * TAIL),
            done: false,
        };
        o.on_data(prefix);
        o
    }

    pub(crate) fn on_data(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(TAIL)..];
        self.tail.extend_from_slice(data);
        if self.tail.len() > 2 * TAIL {
            let cut = self.tail.len() - TAIL;
            let _ = self.tail.split_to(cut);
        }
    }

    /// Accounts once, from the last `"usage"` object in the tail.
    pub(crate) fn finish(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let mut obs = Observation::new(0);
        if let Some(usage) = last_usage(&self.tail) {
            let mut doc = Vec::with_capacity(usage.len() + 10);
            doc.extend_from_slice(b"{\"usage\":");
            doc.extend_from_slice(usage);
            doc.push(b'}');
            self.acct.format.read_body(&doc, &mut obs);
        }
        self.acct.finish(&obs);
    }
}

impl Drop for TailObserver {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The JSON value after the last `"usage":` in `tail`, if it parses.
fn last_usage(tail: &[u8]) -> Option<&[u8]> {
    let key = b"\"usage\"";
    let at = tail.windows(key.len()).rposition(|w| w == key)?;
    let rest = &tail[at + key.len()..];
    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let value = &rest[colon + 1..];
    let mut values =
        serde_json::Deserializer::from_slice(value).into_iter::<serde::de::IgnoredAny>();
    values.next()?.ok()?;
    Some(&value[..values.byte_offset()])
}

#[cfg(test)]
mod tests {
    use super::last_usage;

    #[test]
    fn finds_the_last_usage_object() {
        let body =
            br#"{"data":[{"usage":1}],"model":"m","usage": {"prompt_tokens":7,"total_tokens":7}}"#;
        assert_eq!(
            last_usage(body),
            Some(&br#" {"prompt_tokens":7,"total_tokens":7}"#[..])
        );
        assert_eq!(last_usage(br#"{"usage": {"prompt_tok"#), None);
        assert_eq!(last_usage(b"{}"), None);
    }
}
