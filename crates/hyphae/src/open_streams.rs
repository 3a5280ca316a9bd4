//! Counting the streams open on each connection, so that the connection manager can tell
//! an idle connection from a busy one. The ping keepalive stream, which every connection
//! has for its whole life, does not count.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use hyphae_core::resources::Scope;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream's I/O that counts itself among its connection's open streams while it lives
/// (unless it is the ping keepalive), and in its protocol's gauge of the node's metrics.
#[derive(Debug)]
pub(crate) struct Counted<T> {
    io: T,
    open: Option<Arc<AtomicUsize>>,
    gauge: Gauge,
    /// The stream's resource scope: its place in the counts, given back when it drops.
    _scope: Option<Scope>,
}

impl<T> Counted<T> {
    /// `io`, a stream of `protocol`, counted in `open` and in `gauge` (raised already).
    pub(crate) fn new(io: T, protocol: &str, open: &Arc<AtomicUsize>, gauge: Gauge) -> Counted<T> {
        let open = (protocol != hyphae_ping::PROTOCOL).then(|| {
            open.fetch_add(1, Ordering::Relaxed);
            Arc::clone(open)
        });
        Counted {
            io,
            open,
            gauge,
            _scope: None,
        }
    }

    /// This stream, holding `scope` for its life.
    pub(crate) fn holding(mut self, scope: Scope) -> Counted<T> {
        self._scope = Some(scope);
        self
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.fetch_sub(1, Ordering::Relaxed);
        }
        self.gauge.dec();
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_counts_while_it_lives_unless_it_is_the_ping_keepalive() {
        let open = Arc::new(AtomicUsize::new(0));
        let counted =
            |protocol| Counted::new(tokio::io::empty(), protocol, &open, Gauge::default());
        let first = counted("/app/1");
        let second = counted("/app/2");
        let ping = counted(hyphae_ping::PROTOCOL);
        assert_eq!(open.load(Ordering::Relaxed), 2);
        drop(ping);
        assert_eq!(open.load(Ordering::Relaxed), 2);
        drop(first);
        assert_eq!(open.load(Ordering::Relaxed), 1);
        drop(second);
        assert_eq!(open.load(Ordering::Relaxed), 0);
    }
}
