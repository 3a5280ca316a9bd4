//! The peer's side of a connection for targets that drive a tokio reader: it delivers the
//! input in chunks, then ends; what is written to it is dropped.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection replaying `chunks`, then closed. A chunk larger than the reader's buffer
/// is delivered over several reads.
pub(crate) struct Replay<'a> {
    chunks: std::slice::Chunks<'a, u8>,
    current: &'a [u8],
    /// Whether a read finds nothing (pending) before each chunk, as a socket waiting for
    /// the peer does.
    pauses: bool,
    paused: bool,
    closed: bool,
}

impl<'a> Replay<'a> {
    /// Every chunk is there as soon as it is read.
    pub(crate) fn ready(chunks: std::slice::Chunks<'a, u8>) -> Replay<'a> {
        Replay {
            chunks,
            current: &[],
            pauses: false,
            paused: false,
            closed: false,
        }
    }

    /// Every chunk comes after a read that finds nothing.
    pub(crate) fn pausing(chunks: std::slice::Chunks<'a, u8>) -> Replay<'a> {
        Replay {
            pauses: true,
            ..Replay::ready(chunks)
        }
    }
}

impl AsyncRead for Replay<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.closed {
            return Poll::Ready(Ok(()));
        }
        if self.current.is_empty() {
            if self.pauses && !self.paused {
                self.paused = true;
                return Poll::Pending;
            }
            self.paused = false;
            match self.chunks.next() {
                Some(chunk) => self.current = chunk,
                None => {
                    self.closed = true;
                    return Poll::Ready(Ok(()));
                }
            }
        }
        let n = self.current.len().min(buf.remaining());
        let (now, later) = self.current.split_at(n);
        buf.put_slice(now);
        self.current = later;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
