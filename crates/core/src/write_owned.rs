//! [`WriteOwned`]: writing out of a buffer the writer may change, so that a secure channel
//! can seal a muxer's frames where they lie instead of copying them first.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWrite;

/// A byte stream that takes the bytes to send out of a buffer it is given, and may change
/// them on the way: Noise encrypts them in place and keeps them until the socket takes them.
///
/// The provided method copies (it is [`AsyncWrite::poll_write`]), so any writer implements
/// it with `impl WriteOwned for MyStream {}`; a writer that can avoid the copy overrides it.
pub trait WriteOwned: AsyncWrite + Unpin {
    /// Takes bytes from the front of `buf` to send and returns how many it took, as
    /// `poll_write` does; `buf` has them removed. The bytes are sent, or fail to be, in the
    /// order they were taken, and like `poll_write`'s they may wait in the writer until
    /// [`poll_flush`](AsyncWrite::poll_flush). Returns `Ready(Ok(0))` only for an empty
    /// `buf`.
    fn poll_write_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        poll_write_copied(self, cx, buf)
    }
}

/// What [`WriteOwned::poll_write_owned`] does unless a writer overrides it: writes from the
/// front of `buf` with [`AsyncWrite::poll_write`] (a copy) and removes what was taken. For
/// overrides that copy in some cases.
pub fn poll_write_copied<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    let n = ready!(Pin::new(writer).poll_write(cx, buf))?;
    buf.advance(n);
    Poll::Ready(Ok(n))
}

impl WriteOwned for tokio::net::TcpStream {}

impl WriteOwned for tokio::io::DuplexStream {}

impl<T: WriteOwned + ?Sized> WriteOwned for Box<T> {
    fn poll_write_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        (**self).poll_write_owned(cx, buf)
    }
}
