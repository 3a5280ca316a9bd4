//! What a [`NoiseStream`](crate::NoiseStream) reserves for the frame it reads: a whole frame's
//! buffer while it holds one, nothing while the connection is quiet.
//!
//! A peer decides how large the frame we buffer is and how slowly it arrives, so the buffer
//! is reserved from the connection's resource scope before the stream reads into it. The
//! stream frees its read buffer once the connection goes quiet, and gives the reservation
//! back with it: a node holding thousands of idle connections reserves nothing for their
//! secured channels, and the budget is left to the connections that are busy. A stream whose
//! reservation is refused does not fail: it leaves the peer's bytes in the socket and tries
//! again later, [`MIN_MEMORY_RETRY`] first, then twice as long each time up to
//! [`MAX_MEMORY_RETRY`], the way the Yamux session above it waits for memory.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyphae_core::resources::{LimitExceeded, Scope};
pub use hyphae_core::resources::{MAX_MEMORY_RETRY, MIN_MEMORY_RETRY};
use tokio::time::Sleep;

use crate::stream::FRAME_CAPACITY;

/// The reservation of a stream's read buffer in its connection's scope.
pub(crate) struct ReadMemory {
    scope: Scope,
    /// Whether [`FRAME_CAPACITY`] is reserved, i.e. whether the stream may hold a read buffer.
    reserved: bool,
    /// After a refusal: the timer of the next try.
    retry: Option<Pin<Box<Sleep>>>,
    /// The wait after the next refusal.
    next_delay: Duration,
}

impl ReadMemory {
    pub(crate) fn new(scope: Scope) -> ReadMemory {
        ReadMemory {
            scope,
            reserved: false,
            retry: None,
            next_delay: MIN_MEMORY_RETRY,
        }
    }

    /// Reserves the read buffer now, or says why not.
    pub(crate) fn reserve(&mut self) -> Result<(), LimitExceeded> {
        if !self.reserved {
            self.scope.reserve_memory(FRAME_CAPACITY)?;
            self.reserved = true;
            self.retry = None;
            self.next_delay = MIN_MEMORY_RETRY;
        }
        Ok(())
    }

    /// Ready once the read buffer is reserved; while the scope refuses it, pending until the
    /// next try is due (the task is woken then).
    pub(crate) fn poll_reserve(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.reserve().is_ok() {
                return Poll::Ready(());
            }
            let retry = match &mut self.retry {
                Some(retry) => retry,
                None => {
                    let delay = self.next_delay;
                    self.next_delay = (delay * 2).min(MAX_MEMORY_RETRY);
                    self.retry.insert(Box::pin(tokio::time::sleep(delay)))
                }
            };
            if retry.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.retry = None;
        }
    }

    /// Gives the reservation back: the stream no longer holds a read buffer.
    pub(crate) fn release(&mut self) {
        if std::mem::take(&mut self.reserved) {
            self.scope.release_memory(FRAME_CAPACITY);
        }
    }
}

impl Drop for ReadMemory {
    fn drop(&mut self) {
        self.release();
    }
}
