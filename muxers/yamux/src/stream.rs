//! A Yamux stream as a tokio `AsyncRead + AsyncWrite`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::connection::{Inner, Shared, register_one, wake_all};
use crate::frame::StreamId;
use crate::session::ReadOutcome;

/// One stream of a [`Connection`](crate::Connection).
///
/// Reads wait for data; writes wait for send window (the peer's reader sets the pace) and
/// return once the data is queued for the connection, so `flush` has nothing to wait for.
/// `shutdown` half-closes the stream (FIN): the peer reads to the end, and reading goes on
/// until the peer closes its side.
///
/// **Dropping** a stream that was not shut down resets it: the peer sees an error rather than
/// taking a truncated message for a complete one (after reading what arrived before the
/// reset). Shut it down (`AsyncWriteExt::shutdown`)
/// to end it cleanly; after that, dropping it is graceful even if the peer is still sending
/// (what it sends is discarded).
pub struct Stream {
    id: StreamId,
    shared: Arc<Shared>,
}

impl Stream {
    pub(crate) fn new(id: StreamId, shared: Arc<Shared>) -> Stream {
        Stream { id, shared }
    }

    /// The stream's id within its connection.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Resets the stream: both directions end at once, the peer sees a reset, unread data is
    /// dropped.
    pub fn reset(self) {
        // Errors mean the stream or the connection is already gone: nothing to reset.
        let _ = self.with_inner(|inner, _| inner.session.reset(self.id));
    }

    /// Runs `op` under the lock, then wakes whoever the session's events concern.
    fn with_inner<R>(&self, op: impl FnOnce(&mut Inner, StreamId) -> R) -> R {
        let mut wake: Vec<Waker> = Vec::new();
        let result = {
            let mut inner = self.shared.lock();
            let result = op(&mut inner, self.id);
            inner.dispatch(&mut wake);
            result
        };
        wake_all(&mut wake);
        result
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.with_inner(|inner, id| {
            let mut filled = false;
            while buf.remaining() > 0 {
                match inner.session.read_chunk(id, buf.remaining()) {
                    Ok(ReadOutcome::Data(chunk)) => {
                        buf.put_slice(&chunk);
                        inner.spare_buffers.put(chunk);
                        filled = true;
                    }
                    Ok(ReadOutcome::Finished) => break,
                    Ok(ReadOutcome::Blocked) if filled => break,
                    Ok(ReadOutcome::Blocked) => {
                        register_one(&mut inner.wakers.entry(id).or_default().read, cx);
                        return Poll::Pending;
                    }
                    // Report the error on the next call, after the bytes already copied.
                    Err(_) if filled => break,
                    Err(error) => return Poll::Ready(Err(error.into_io())),
                }
            }
            Poll::Ready(Ok(()))
        })
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A writer that finds the write buffer full first sends it itself, if the link is
        // free (see `crate::link`), and tries once more.
        let mut wrote_through = false;
        loop {
            let mut wake = Vec::new();
            let outcome = {
                let mut inner = self.shared.lock();
                let outcome = match inner.session.write(self.id, buf) {
                    Ok(0) if !buf.is_empty() => {
                        if !wrote_through && inner.session.has_transmit() {
                            None
                        } else {
                            register_one(&mut inner.wakers.entry(self.id).or_default().write, cx);
                            Some(Poll::Pending)
                        }
                    }
                    Ok(written) => Some(Poll::Ready(Ok(written))),
                    Err(error) => Some(Poll::Ready(Err(error.into_io()))),
                };
                if outcome.is_some() {
                    inner.dispatch(&mut wake);
                } else {
                    inner.dispatch_to_streams(&mut wake);
                }
                outcome
            };
            wake_all(&mut wake);
            match outcome {
                Some(outcome) => return outcome,
                None => {
                    self.shared.write_through();
                    wrote_through = true;
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(
            self.with_inner(|inner, id| inner.session.close_write(id))
                .map_err(|error| error.into_io()),
        )
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.with_inner(|inner, id| {
            inner.session.release(id);
            inner.wakers.remove(&id);
            crate::session::shrink_if_mostly_empty(&mut inner.wakers);
            inner.live_streams -= 1;
            inner.close_if_unused();
        });
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("id", &self.id).finish()
    }
}
