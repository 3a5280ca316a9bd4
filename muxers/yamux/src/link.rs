//! The byte stream below a connection and its outbound batch, shared by the driver task and
//! the streams that write through it.
//!
//! The driver owns the link's reading. Writing goes to whichever task gets there first: the
//! driver when it wakes, or a stream whose writer found the session's write buffer full
//! ([`Shared::write_through`](crate::connection::Shared::write_through)). Writing through
//! seals and sends a batch on the writer's own task and core, while its bytes are still in
//! that core's cache, instead of waking the driver to do it on another worker: with two
//! tasks per connection, a busy runtime moves them between its workers, and the batch with
//! them.
//!
//! Every write to the link, whoever makes it, is polled with the driver's waker: when the
//! socket below cannot take a batch now, it is the driver that is woken once it can, and
//! that finishes the batch. A stream therefore only ever leaves work the driver is sure to
//! be woken for.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use hyphae_core::WriteOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

/// What a connection runs over: anything readable that takes owned batches.
pub(crate) trait Io: AsyncRead + WriteOwned + Send {}

impl<T: AsyncRead + WriteOwned + Send> Io for T {}

/// The byte stream below and the batch being written to it.
pub(crate) struct Link {
    /// `None` once the driver has ended: the socket closes with it, not with the last
    /// stream handle.
    pub(crate) io: Option<Box<dyn Io>>,
    /// Frames taken from the session, being written.
    pub(crate) write_buf: BytesMut,
    /// Whether something was written since the last flush.
    pub(crate) needs_flush: bool,
    /// Whether a write failed; nothing more is written.
    pub(crate) write_failed: bool,
}

impl Link {
    pub(crate) fn new(io: Box<dyn Io>) -> Link {
        Link {
            io: Some(io),
            write_buf: BytesMut::new(),
            needs_flush: false,
            write_failed: false,
        }
    }

    /// Whether a new batch can be taken: the last one is written and flushed, and writing
    /// still works.
    pub(crate) fn is_idle(&self) -> bool {
        self.io.is_some() && self.write_buf.is_empty() && !self.needs_flush && !self.write_failed
    }

    /// Writes the batch and flushes once it is out. Returns whether anything was written.
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(io) = self.io.as_mut() else {
            self.write_buf.clear();
            return false;
        };
        if self.write_failed {
            self.write_buf.clear();
        }
        let mut progress = false;
        let mut failure = None;
        while !self.write_buf.is_empty() {
            // A secure channel below may seal the frames in place (see [`WriteOwned`]).
            match io.poll_write_owned(cx, &mut self.write_buf) {
                Poll::Ready(Ok(0)) => {
                    failure = Some(io::ErrorKind::WriteZero.into());
                    break;
                }
                Poll::Ready(Ok(_)) => {
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(error)) => {
                    failure = Some(error);
                    break;
                }
                Poll::Pending => break,
            }
        }
        if failure.is_none() && self.write_buf.is_empty() && self.needs_flush {
            match Pin::new(io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(error)) => failure = Some(error),
                Poll::Pending => {}
            }
        }
        if let Some(error) = failure {
            self.fail(error);
        }
        progress
    }

    /// Stops writing after an I/O error. Reading goes on: what the peer sent before it went
    /// away (data, FINs, its Go Away) is still delivered, and the read side ends soon after.
    fn fail(&mut self, error: io::Error) {
        debug!(%error, "writing to the connection failed");
        self.write_failed = true;
        self.write_buf.clear();
        self.needs_flush = false;
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("open", &self.io.is_some())
            .field("unsent", &self.write_buf.len())
            .field("needs_flush", &self.needs_flush)
            .field("write_failed", &self.write_failed)
            .finish()
    }
}
