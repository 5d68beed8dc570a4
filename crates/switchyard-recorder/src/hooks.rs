//! [`OnRecord`]: what the recorder tells about each exchange, and to whom.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::record::Record;

/// What is known when a request starts.
#[derive(Clone, Debug, Serialize)]
pub struct Started {
    /// The request id.
    pub id: String,
    /// When it was received, RFC 3339.
    pub time: String,
    /// The endpoint called.
    pub endpoint: &'static str,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The model the client asked for.
    pub requested_model: Option<String>,
    /// `x-source`.
    pub source: Option<String>,
    /// `x-project`.
    pub project: Option<String>,
}

/// Hooks the recorder calls for each exchange.
///
/// Every `on_start` is followed by exactly one `on_complete` (after the end
/// of the stream, an error, or the client going away); `on_routed` when the
/// answer's head is ready, `on_first_token` once, if a token was seen. Hooks
/// run on the request's task: keep them quick (push to a queue, bump a
/// counter). A closure `Fn(&Arc<Record>)` is a hook for completions only; a
/// tuple of hooks calls each in turn.
pub trait OnRecord: Clone + Send + Sync + 'static {
    /// A request started.
    fn on_start(&self, started: &Started) {
        let _ = started;
    }

    /// The answer's head is ready: who serves it, after how many attempts.
    fn on_routed(&self, id: &str, provider: Option<&str>, model: Option<&str>, attempts: usize) {
        let _ = (id, provider, model, attempts);
    }

    /// The first token of the answer was seen, `ttft` after the request.
    fn on_first_token(&self, id: &str, ttft: Duration) {
        let _ = (id, ttft);
    }

    /// Whether `on_first_token` does anything (the recorder skips the check otherwise).
    fn wants_first_token(&self) -> bool {
        false
    }

    /// The exchange is over.
    fn on_complete(&self, record: &Arc<Record>);
}

impl OnRecord for () {
    fn on_complete(&self, _record: &Arc<Record>) {}
}

impl<F> OnRecord for F
where
    F: Fn(&Arc<Record>) + Clone + Send + Sync + 'static,
{
    fn on_complete(&self, record: &Arc<Record>) {
        self(record)
    }
}

macro_rules! tuple_hooks {
    ($($h:ident . $i:tt),+) => {
        impl<$($h: OnRecord),+> OnRecord for ($($h,)+) {
            fn on_start(&self, started: &Started) {
                $(self.$i.on_start(started);)+
            }
            fn on_routed(&self, id: &str, provider: Option<&str>, model: Option<&str>, attempts: usize) {
                $(self.$i.on_routed(id, provider, model, attempts);)+
            }
            fn on_first_token(&self, id: &str, ttft: Duration) {
                $(self.$i.on_first_token(id, ttft);)+
            }
            fn wants_first_token(&self) -> bool {
                false $(|| self.$i.wants_first_token())+
            }
            fn on_complete(&self, record: &Arc<Record>) {
                $(self.$i.on_complete(record);)+
            }
        }
    };
}

tuple_hooks!(A.0, B.1);
tuple_hooks!(A.0, B.1, C.2);
tuple_hooks!(A.0, B.1, C.2, D.3);

impl<H: OnRecord> OnRecord for Option<H> {
    fn on_start(&self, started: &Started) {
        if let Some(h) = self {
            h.on_start(started);
        }
    }

    fn on_routed(&self, id: &str, provider: Option<&str>, model: Option<&str>, attempts: usize) {
        if let Some(h) = self {
            h.on_routed(id, provider, model, attempts);
        }
    }

    fn on_first_token(&self, id: &str, ttft: Duration) {
        if let Some(h) = self {
            h.on_first_token(id, ttft);
        }
    }

    fn wants_first_token(&self) -> bool {
        self.as_ref().is_some_and(OnRecord::wants_first_token)
    }

    fn on_complete(&self, record: &Arc<Record>) {
        if let Some(h) = self {
            h.on_complete(record);
        }
    }
}
