use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyphae_multiaddr::Multiaddr;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

use crate::address::memory_multiaddr;
use crate::registry::Reservation;

/// Most bytes in flight in each direction of a connection: 64 KiB written and not yet read.
/// A writer that finds the buffer full waits until the peer reads (back-pressure), so a
/// connection never holds more than twice this, however slow its reader.
pub const BUFFER_SIZE: usize = 64 * 1024;

/// One end of an in-process connection: a full-duplex byte stream.
///
/// Shutting down the write side makes the peer read end-of-file while this end can still
/// read. Dropping one end makes the other read end-of-file (after any bytes already sent)
/// and fail writes with [`io::ErrorKind::BrokenPipe`]. Each direction buffers at most
/// [`BUFFER_SIZE`] bytes.
#[derive(Debug)]
pub struct MemoryStream {
    inner: DuplexStream,
    local_port: u64,
    remote_port: u64,
    /// The dialling end holds its ephemeral port for as long as it exists.
    _local_reservation: Option<Reservation>,
}

impl MemoryStream {
    /// A connected pair: the dialling end (holding `dialer`, its ephemeral port) and the end
    /// for the listener on `listener_port`.
    pub(crate) fn pair(dialer: Reservation, listener_port: u64) -> (MemoryStream, MemoryStream) {
        let (dialing, accepted) = tokio::io::duplex(BUFFER_SIZE);
        let dialer_port = dialer.port();
        let accepted = MemoryStream {
            inner: accepted,
            local_port: listener_port,
            remote_port: dialer_port,
            _local_reservation: None,
        };
        let dialing = MemoryStream {
            inner: dialing,
            local_port: dialer_port,
            remote_port: listener_port,
            _local_reservation: Some(dialer),
        };
        (dialing, accepted)
    }

    /// This end's address: the listener's `/memory/<port>` on an accepted stream, the
    /// dialler's ephemeral `/memory/<port>` on a dialled one.
    pub fn local_addr(&self) -> Multiaddr {
        memory_multiaddr(self.local_port)
    }

    /// The other end's address (see [`MemoryStream::local_addr`]).
    pub fn remote_addr(&self) -> Multiaddr {
        memory_multiaddr(self.remote_port)
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
