use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::ConnectionId;

/// What a [`Stream`] carries: any byte stream whose protocol is negotiated (a muxer's
/// stream behind multistream-select, in a node).
pub trait StreamIo: AsyncRead + AsyncWrite + Send + Unpin + fmt::Debug + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + fmt::Debug + 'static> StreamIo for T {}

/// A stream to a peer, speaking a negotiated protocol. `AsyncRead + AsyncWrite`.
///
/// `shutdown` half-closes it (the peer reads to the end); dropping it without `shutdown`
/// resets it, so the peer never mistakes a truncated message for a complete one.
///
/// Whatever the muxer, a stream is one boxed value: the one indirection per read or write
/// costs nothing beside the copy, and services see a single type.
#[derive(Debug)]
pub struct Stream {
    io: Box<dyn StreamIo>,
    protocol: String,
    peer: PeerId,
    connection: ConnectionId,
    remote_addr: Multiaddr,
}

impl Stream {
    /// A stream speaking `protocol` over `io` on `connection` (what a node makes of every
    /// stream it opens or accepts).
    pub fn new(
        io: impl StreamIo,
        protocol: String,
        peer: PeerId,
        connection: ConnectionId,
        remote_addr: Multiaddr,
    ) -> Stream {
        Stream {
            io: Box::new(io),
            protocol,
            peer,
            connection,
            remote_addr,
        }
    }

    /// The peer at the other end.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// The protocol the stream speaks.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// The connection the stream runs on.
    pub fn connection(&self) -> ConnectionId {
        self.connection
    }

    /// The peer's address on that connection.
    pub fn remote_addr(&self) -> &Multiaddr {
        &self.remote_addr
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
