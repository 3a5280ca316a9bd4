//! The stream multiplexers a connection can run, behind one type, so the rest of the node
//! does not care which one was negotiated.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{Error, Multiplexer};

/// A multiplexed connection.
#[derive(Debug, Clone)]
pub(crate) enum Muxer {
    /// `/yamux/1.0.0`
    Yamux(hyphae_yamux::Connection),
    /// `/mplex/6.7.0`
    Mplex(hyphae_mplex::Connection),
    /// A QUIC connection, multiplexed by QUIC itself (boxed: it is several times the size
    /// of the other handles).
    Quic(Box<hyphae_quic::Connection>),
}

/// One stream of a [`Muxer`], before its protocol is negotiated.
#[derive(Debug)]
pub(crate) enum RawStream {
    /// A Yamux stream.
    Yamux(hyphae_yamux::Stream),
    /// An mplex stream.
    Mplex(hyphae_mplex::Stream),
    /// A QUIC stream.
    Quic(hyphae_quic::Stream),
}

impl Muxer {
    /// Opens a stream, waiting while the connection's stream limits are reached.
    pub(crate) async fn open_stream(&self) -> Result<RawStream, Error> {
        match self {
            Muxer::Yamux(connection) => Ok(RawStream::Yamux(connection.open_stream().await?)),
            Muxer::Mplex(connection) => Ok(RawStream::Mplex(connection.open_stream().await?)),
            Muxer::Quic(connection) => Ok(RawStream::Quic(connection.open_stream().await?)),
        }
    }

    /// The next stream the peer opens; `None` once the connection is closed.
    pub(crate) async fn accept(&self) -> Option<RawStream> {
        match self {
            Muxer::Yamux(connection) => connection.accept().await.map(RawStream::Yamux),
            Muxer::Mplex(connection) => connection.accept().await.map(RawStream::Mplex),
            Muxer::Quic(connection) => connection.accept().await.map(RawStream::Quic),
        }
    }

    /// Which multiplexer this is.
    pub(crate) fn kind(&self) -> Option<Multiplexer> {
        match self {
            Muxer::Yamux(_) => Some(Multiplexer::Yamux),
            Muxer::Mplex(_) => Some(Multiplexer::Mplex),
            Muxer::Quic(_) => None,
        }
    }

    /// Closes the connection gracefully.
    pub(crate) async fn close(&self) {
        match self {
            Muxer::Yamux(connection) => connection.close().await,
            Muxer::Mplex(connection) => connection.close().await,
            Muxer::Quic(connection) => connection.close(),
        }
    }

    /// Whether new streams can be opened: the connection is open and the peer has not
    /// told us to go away (Yamux's Go Away, which js-libp2p sends when it closes a
    /// connection gracefully).
    pub(crate) fn takes_new_streams(&self) -> bool {
        match self {
            Muxer::Yamux(connection) => connection.can_open_streams(),
            Muxer::Mplex(_) | Muxer::Quic(_) => !self.is_closed(),
        }
    }

    /// Whether the connection is closed.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Muxer::Yamux(connection) => connection.is_closed(),
            Muxer::Mplex(connection) => connection.is_closed(),
            Muxer::Quic(connection) => connection.is_closed(),
        }
    }
}

impl AsyncRead for RawStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RawStream::Yamux(stream) => Pin::new(stream).poll_read(cx, buf),
            RawStream::Mplex(stream) => Pin::new(stream).poll_read(cx, buf),
            RawStream::Quic(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for RawStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            RawStream::Yamux(stream) => Pin::new(stream).poll_write(cx, buf),
            RawStream::Mplex(stream) => Pin::new(stream).poll_write(cx, buf),
            RawStream::Quic(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RawStream::Yamux(stream) => Pin::new(stream).poll_flush(cx),
            RawStream::Mplex(stream) => Pin::new(stream).poll_flush(cx),
            RawStream::Quic(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RawStream::Yamux(stream) => Pin::new(stream).poll_shutdown(cx),
            RawStream::Mplex(stream) => Pin::new(stream).poll_shutdown(cx),
            RawStream::Quic(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
