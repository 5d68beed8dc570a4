//! [`Finisher`]: finishes records after the answer's last frame was handed
//! to the server, on one background task, instead of inside that last poll.
//!
//! Building a record and running the hooks (journal push, metrics, feed)
//! inside the body's last `poll_frame` delays the end of the answer by that
//! work: the server writes the final bytes only after the poll returns. With
//! a finisher the last poll only queues the exchange; the server flushes the
//! answer, and the finisher's task, woken once per batch, finishes what
//! queued up. Nothing is lost: a full queue, a missing runtime or a dropped
//! finisher finish records inline, and [`Finisher::flush`] finishes what
//! waits (the binary calls it before closing the journal).

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// An exchange whose outcome is known and whose record waits to be built.
pub(crate) trait Pending: Send {
    /// Builds the record and runs the hooks.
    fn finish_pending(self: Box<Self>);
}

/// Exchanges waiting to be finished at most; more finish inline.
const CAPACITY: usize = 4096;

/// A handle to the queue of exchanges waiting to be finished; clones share it.
#[derive(Clone)]
pub(crate) struct Finisher {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Finisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finisher")
            .field("waiting", &lock(&self.shared.queue).len())
            .finish()
    }
}

struct Shared {
    queue: Mutex<Vec<Box<dyn Pending>>>,
    wake: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Finisher {
    pub(crate) fn new() -> Self {
        Finisher {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                wake: Arc::new(Notify::new()),
                task: Mutex::new(None),
            }),
        }
    }

    /// Queues `f` (its outcome already set) to be finished after this poll.
    pub(crate) fn defer(&self, f: Box<dyn Pending>) {
        if !self.ensure_task() {
            return f.finish_pending();
        }
        let mut queue = lock(&self.shared.queue);
        if queue.len() >= CAPACITY {
            drop(queue);
            return f.finish_pending();
        }
        let was_empty = queue.is_empty();
        queue.push(f);
        drop(queue);
        if was_empty {
            // One wake-up per batch: the task takes everything queued.
            self.shared.wake.notify_one();
        }
    }

    /// Finishes every exchange waiting, now, on this thread.
    pub(crate) fn flush(&self) {
        self.shared.run_queue(&mut Vec::new());
    }

    /// Starts the task on the current runtime if it is not running; false
    /// when there is no runtime to run it on.
    fn ensure_task(&self) -> bool {
        let mut task = lock(&self.shared.task);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let shared = Arc::downgrade(&self.shared);
        let wake = self.shared.wake.clone();
        *task = Some(runtime.spawn(run(shared, wake)));
        // A task that died with its runtime may have left exchanges queued.
        self.shared.wake.notify_one();
        true
    }
}

/// The task: wakes when the queue turns non-empty, finishes what waits; ends
/// when the finisher is gone.
async fn run(shared: Weak<Shared>, wake: Arc<Notify>) {
    let mut batch = Vec::new();
    loop {
        wake.notified().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.run_queue(&mut batch);
    }
}

impl Shared {
    fn run_queue(&self, batch: &mut Vec<Box<dyn Pending>>) {
        std::mem::swap(&mut *lock(&self.queue), batch);
        for f in batch.drain(..) {
            f.finish_pending();
        }
    }
}

impl Drop for Shared {
    /// The last handle is gone: finish what waits, and let the task end.
    fn drop(&mut self) {
        self.run_queue(&mut Vec::new());
        self.wake.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
