//! The stream multiplexers a connection can run, behind one type, so the rest of the node
//! does not care which one was negotiated.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::Error;

/// A multiplexed connection.
#[derive(Debug, Clone)]
pub(crate) enum Muxer {
    /// `/yamux/1.0.0`
    Yamux(hyphae_yamux::Connection),
}

/// One stream of a [`Muxer`], before its protocol is negotiated.
#[derive(Debug)]
pub(crate) enum RawStream {
    /// A Yamux stream.
    Yamux(hyphae_yamux::Stream),
}

impl Muxer {
    /// Opens a stream, waiting while the connection's stream limits are reached.
    pub(crate) async fn open_stream(&self) -> Result<RawStream, Error> {
        match self {
            Muxer::Yamux(connection) => Ok(RawStream::Yamux(connection.open_stream().await?)),
        }
    }

    /// The next stream the peer opens; `None` once the connection is closed.
    pub(crate) async fn accept(&self) -> Option<RawStream> {
        match self {
            Muxer::Yamux(connection) => connection.accept().await.map(RawStream::Yamux),
        }
    }

    /// Closes the connection gracefully.
    pub(crate) async fn close(&self) {
        match self {
            Muxer::Yamux(connection) => connection.close().await,
        }
    }

    /// Whether the connection is closed.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Muxer::Yamux(connection) => connection.is_closed(),
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
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RawStream::Yamux(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RawStream::Yamux(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
