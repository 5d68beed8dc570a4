//! Scripted replies and the gate that holds a stream back.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// One scripted answer, queued with [`FakeUpstream::push`].
///
/// A scripted reply answers the next request whatever its path, and skips
/// the default validation.
///
/// [`FakeUpstream::push`]: crate::FakeUpstream::push
#[derive(Clone, Debug)]
pub enum Reply {
    /// A reply with this text, in the shape of the path hit: a
    /// `text_completion` on `/v1/completions`, a `chat.completion`
    /// anywhere else; streamed if the request says `"stream": true`.
    Text(String),
    /// Any status with a raw body and extra headers (e.g. 429 with
    /// `retry-after`, or 500). A JSON body gets `content-type:
    /// application/json` unless the headers name another one.
    Status {
        /// HTTP status code.
        status: u16,
        /// Raw response body.
        body: String,
        /// Extra response headers, as (name, value).
        headers: Vec<(String, String)>,
    },
    /// A `200 text/event-stream` of raw SSE events: each string is a data
    /// payload written as `data: {s}\n\n`, with `delay` between events, then
    /// the end of the body. Include `"[DONE]"` yourself if you want it.
    Events {
        /// The data payloads, in order.
        events: Vec<String>,
        /// Pause between two events.
        delay: Duration,
    },
    /// The first event, then nothing until `gate` is opened, then the rest.
    /// Proves the first chunk reached the client before the upstream sent
    /// the second.
    Gated {
        /// Data payload sent at once.
        first: String,
        /// Data payloads sent once the gate is open.
        rest: Vec<String>,
        /// The gate to wait on.
        gate: Gate,
    },
    /// Accept the request and never answer, not even with headers.
    Hang,
    /// Send `200` and the SSE headers, then never a byte of body.
    HeadersThenHang,
    /// Send these events, then abort the connection mid-stream.
    BreakAfter {
        /// Data payloads sent before the break.
        events: Vec<String>,
    },
}

/// A one-way latch a test opens to let a [`Reply::Gated`] stream go on.
///
/// Clones share the latch. Opening before anyone waits is fine: a later wait
/// returns at once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use switchyard_testkit::Gate;
///
/// let gate = Gate::new();
/// gate.open();
/// gate.wait().await; // already open: returns at once
/// assert!(gate.is_open());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Gate(Arc<watch::Sender<bool>>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }

    /// Opens the gate for every current and future waiter.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    /// Whether the gate has been opened.
    pub fn is_open(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until the gate is open.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so this only returns once open.
        let _ = rx.wait_for(|open| *open).await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}
