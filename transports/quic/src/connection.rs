//! An established, authenticated QUIC connection and its streams.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyphae_identity::{PeerId, PublicKey};
use hyphae_multiaddr::Multiaddr;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::memory::Reservation;
use crate::stream_credit::{HeldStream, StreamCredit};
use crate::{Error, address};

/// The application error code of a connection we close: 0, "no error".
const CLOSE_CODE: u32 = 0;
/// The application error code of a stream we reset or stop by dropping it: 0 (libp2p
/// assigns no codes).
const RESET_CODE: u32 = 0;

/// A QUIC connection to an authenticated peer. Cheap to clone: clones share the connection,
/// which closes when [`close`](Self::close) is called or the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: quinn::Connection,
    remote_peer: PeerId,
    remote_public_key: PublicKey,
    /// The resource scope holding its receive window, if the endpoint has a memory budget.
    reservation: Reservation,
    /// The peer's stream limit, grown as the peer uses it.
    credit: Arc<StreamCredit>,
}

impl Connection {
    /// Wraps an established quinn connection, reading the peer's identity from the
    /// certificate the handshake verified (remembered by `tls`, so not checked again). The
    /// peer may open up to `max_streams` streams at once, granted as it uses them (see
    /// [`INITIAL_STREAM_CREDIT`]).
    ///
    /// [`INITIAL_STREAM_CREDIT`]: crate::INITIAL_STREAM_CREDIT
    pub(crate) fn new(
        inner: quinn::Connection,
        tls: &hyphae_tls::Config,
        max_streams: u32,
    ) -> Result<Connection, Error> {
        let certificates = inner
            .peer_identity()
            .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok());
        let certificate = tls.verified_peer(certificates.as_deref().map(Vec::as_slice))?;
        Ok(Connection {
            remote_peer: certificate.peer_id(),
            remote_public_key: certificate.public_key().clone(),
            inner,
            reservation: Reservation::default(),
            credit: StreamCredit::new(max_streams),
        })
    }

    /// This connection, holding `reservation` until it is taken.
    pub(crate) fn holding(mut self, reservation: Reservation) -> Connection {
        self.reservation = reservation;
        self
    }

    /// Takes the connection's resource scope (in the transient scope) and the receive window
    /// reserved in it, if the endpoint has a memory budget ([`Endpoint::set_memory`]): the
    /// node moves it to the peer's scope. `None` after the first call.
    ///
    /// [`Endpoint::set_memory`]: crate::Endpoint::set_memory
    pub fn take_reservation(&self) -> Option<(hyphae_core::resources::ConnectionScope, u32)> {
        self.reservation.take()
    }

    /// The peer at the other end, as its certificate proved.
    pub fn remote_peer(&self) -> PeerId {
        self.remote_peer
    }

    /// The peer's identity key.
    pub fn remote_public_key(&self) -> &PublicKey {
        &self.remote_public_key
    }

    /// The peer's address, `/ip4|ip6/…/udp/…/quic-v1` (it may change if the peer migrates).
    pub fn remote_addr(&self) -> Multiaddr {
        address::socket_multiaddr(self.remote_socket_addr())
    }

    /// The peer's UDP socket address.
    pub fn remote_socket_addr(&self) -> SocketAddr {
        address::canonical(self.inner.remote_address())
    }

    /// Opens a bidirectional stream. Waits while the peer's stream limit is reached.
    ///
    /// QUIC announces a stream to the peer with its first bytes: a stream on which nothing is
    /// written is never seen by the peer's [`accept`](Self::accept).
    pub async fn open_stream(&self) -> Result<Stream, Error> {
        let (send, recv) = self.inner.open_bi().await?;
        Ok(Stream::new(send, recv, None))
    }

    /// The next stream the peer opened, or `None` once the connection is closed.
    pub async fn accept(&self) -> Option<Stream> {
        match self.inner.accept_bi().await {
            Ok((send, recv)) => {
                let (held, grown) = HeldStream::accepted(&self.credit);
                if let Some(limit) = grown {
                    tracing::trace!(peer = %self.remote_peer, limit, "peer may open more streams");
                    self.inner
                        .set_max_concurrent_bi_streams(quinn::VarInt::from_u32(limit));
                }
                Some(Stream::new(send, recv, Some(held)))
            }
            Err(error) => {
                // The path's statistics are gathered only when debug logging is on.
                tracing::debug!(
                    peer = %self.remote_peer,
                    %error,
                    path = ?self.inner.stats().path,
                    "QUIC connection ended"
                );
                None
            }
        }
    }

    /// Closes the connection at once: open streams fail, unsent data is abandoned.
    pub fn close(&self) {
        if self.inner.close_reason().is_none() {
            // What the path was like (losses, congestion events, MTU): why a transfer was slow.
            tracing::debug!(
                peer = %self.remote_peer,
                path = ?self.inner.stats().path,
                "closing QUIC connection"
            );
        }
        self.inner.close(quinn::VarInt::from_u32(CLOSE_CODE), b"");
    }

    /// Whether the connection has closed, by either side or by timeout.
    pub fn is_closed(&self) -> bool {
        self.inner.close_reason().is_some()
    }

    /// Why the connection closed, once it has.
    pub fn close_reason(&self) -> Option<quinn::ConnectionError> {
        self.inner.close_reason()
    }

    /// Waits until the connection is closed and says why.
    pub async fn closed(&self) -> quinn::ConnectionError {
        self.inner.closed().await
    }

    /// The largest UDP payload the path has been found to carry so far, in bytes: 1200 at
    /// first, then what path MTU discovery confirms, up to
    /// [`Config::mtu_discovery_upper_bound`](crate::Config::mtu_discovery_upper_bound); to our
    /// own host, [`Config::max_udp_payload_size`](crate::Config::max_udp_payload_size) from
    /// the start.
    pub fn path_mtu(&self) -> u16 {
        self.inner.stats().path.current_mtu
    }

    /// The smoothed round-trip time quinn measures.
    pub fn rtt(&self) -> std::time::Duration {
        self.inner.rtt()
    }
}

/// One bidirectional QUIC stream as a byte stream.
///
/// `shutdown` finishes our sending half (the peer reads end of stream) while reading goes
/// on; dropping the stream stops both halves: the peer's writes fail, and whatever we
/// wrote is reset unless `shutdown` finished it first.
#[derive(Debug)]
pub struct Stream {
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    is_finished: bool,
    /// For a stream the peer opened: counts it in the connection's stream credit.
    _held: Option<HeldStream>,
}

impl Stream {
    fn new(send: quinn::SendStream, recv: quinn::RecvStream, held: Option<HeldStream>) -> Stream {
        Stream {
            send,
            recv,
            is_finished: false,
            _held: held,
        }
    }

    /// The QUIC stream id, for logs.
    pub fn id(&self) -> u64 {
        self.send.id().index()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        AsyncRead::poll_read(Pin::new(&mut self.get_mut().recv), cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(&mut self.get_mut().send), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().send).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_finished {
            return Poll::Ready(Ok(()));
        }
        let result = Pin::new(&mut this.send).poll_shutdown(cx);
        if let Poll::Ready(Ok(())) = result {
            this.is_finished = true;
        }
        result
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if !self.is_finished {
            // Abandoned mid-write: tell the peer the data is incomplete rather than let quinn
            // finish it as if it were whole. Fails only if already reset or finished.
            let _ = self.send.reset(quinn::VarInt::from_u32(RESET_CODE));
        }
        // The receiving half stops itself (STOP_SENDING) on drop unless fully read.
    }
}
