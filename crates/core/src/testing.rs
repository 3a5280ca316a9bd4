//! Test doubles for the crates built on this one (feature `testing`, and this crate's own
//! tests). Not part of the API.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

use crate::resources::{ConnectionScope, Opener, ResourceLimits, ResourceManager, ScopeLimits};
use crate::write_owned::{self, WriteOwned};

/// An inbound connection's scope that allows `memory` bytes, under limits roomy enough
/// otherwise: for tests of what a connection reserves.
///
/// # Panics
///
/// Never with these limits (the manager is new, so the connection is its first).
pub fn connection_scope(memory: u64) -> ConnectionScope {
    let mut limits = ResourceLimits::scaled(1 << 30, 1024);
    limits.connection = ScopeLimits::UNLIMITED.with_memory(memory);
    match ResourceManager::new(limits).open_connection(Opener::Remote, false) {
        Ok(scope) => scope,
        Err(refused) => panic!("a new manager refused its first connection: {refused}"),
    }
}

/// A [`DuplexStream`] with vectored writes, as a TCP socket has, that takes at most
/// `max_write` bytes a call (so that writes stop anywhere) and counts the vectored and owned
/// writes that reach it.
#[derive(Debug)]
pub struct VectoredStream {
    pub io: DuplexStream,
    pub max_write: usize,
    pub vectored_writes: usize,
    pub owned_writes: usize,
}

impl VectoredStream {
    pub fn new(io: DuplexStream, max_write: usize) -> VectoredStream {
        VectoredStream {
            io,
            max_write,
            vectored_writes: 0,
            owned_writes: 0,
        }
    }
}

impl AsyncRead for VectoredStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for VectoredStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.max_write);
        Pin::new(&mut self.io).poll_write(cx, &buf[..n])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.vectored_writes += 1;
        let joined: Vec<u8> = bufs.iter().flat_map(|buf| buf.to_vec()).collect();
        self.poll_write(cx, &joined)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl WriteOwned for VectoredStream {
    fn poll_write_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        self.owned_writes += 1;
        write_owned::poll_write_copied(self, cx, buf)
    }
}
