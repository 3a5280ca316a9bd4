//! The secured byte stream a handshake returns.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyphae_core::WriteOwned;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A TLS 1.3 session over `T`: what you write is encrypted, what you read decrypted.
/// `shutdown` sends TLS `close_notify` and then shuts the underlying stream down.
#[derive(Debug)]
pub struct TlsStream<T> {
    inner: tokio_rustls::TlsStream<T>,
}

impl<T> TlsStream<T> {
    pub(crate) fn new(inner: tokio_rustls::TlsStream<T>) -> TlsStream<T> {
        TlsStream { inner }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &T {
        self.inner.get_ref().0
    }

    /// The underlying stream, mutably: reading or writing it directly corrupts the session.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut().0
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

/// rustls copies what it seals into its own records, so this copies too.
impl<T: AsyncRead + AsyncWrite + Unpin> WriteOwned for TlsStream<T> {}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
