//! The async driver of [`multistream`](crate::multistream): negotiates a protocol over any
//! tokio byte stream and hands back that stream, with the bytes read past the negotiation
//! replayed first.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::Error;
use crate::multistream::{Dialer, Listener};
use crate::write_owned::{self, WriteOwned};

/// Bytes read from the stream per attempt while negotiating.
const READ_CHUNK: usize = 1024;

/// A stream whose protocol was negotiated (or, for an optimistic dialer, proposed).
#[derive(Debug)]
pub struct Negotiated<T> {
    io: T,
    protocol: String,
    state: State,
    /// A write, flush or shutdown waiting for the held-back confirmation to go out. The
    /// stream below keeps one write waker (Yamux per stream, a pipe per direction), and a
    /// read that sends the confirmation takes it over; whoever sends the last of it wakes
    /// this one.
    waiting_writer: Option<Waker>,
}

#[derive(Debug)]
enum State {
    /// Optimistic dialer: the listener's header and echo are still to be read.
    AwaitingConfirmation { dialer: Dialer, buffer: BytesMut },
    /// Optimistic dialer whose protocol the listener refused: reads and writes fail with
    /// that refusal from then on.
    Refused { proposed: Vec<String> },
    /// Negotiated; `leftover` holds bytes that arrived with the last negotiation message,
    /// `unsent` the listener's confirmation, which goes out with the first data written
    /// (at most [`MAX_COALESCED`] bytes of it while the stream below is blocked).
    Ready {
        leftover: BytesMut,
        unsent: BytesMut,
    },
}

impl State {
    /// Negotiated, with the bytes read past the last negotiation message and the
    /// confirmation still to send.
    fn ready(mut leftover: BytesMut, unsent: BytesMut) -> State {
        release_if_empty(&mut leftover);
        State::Ready { leftover, unsent }
    }
}

/// Frees `buffer`'s memory once everything in it is used up. Negotiation buffers are small,
/// but a negotiated stream may live as long as its connection (the connection's own
/// security and muxer negotiations, a keepalive ping stream), and an idle one should hold
/// no buffers.
fn release_if_empty(buffer: &mut BytesMut) {
    if buffer.is_empty() && buffer.capacity() > 0 {
        *buffer = BytesMut::new();
    }
}

impl<T> Negotiated<T> {
    fn new(io: T, protocol: String, state: State) -> Negotiated<T> {
        Negotiated {
            io,
            protocol,
            state,
            waiting_writer: None,
        }
    }

    /// The protocol this stream speaks.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Whether the listener has confirmed the protocol (always true for listeners and for
    /// dialers that proposed more than one protocol).
    pub fn is_confirmed(&self) -> bool {
        matches!(self.state, State::Ready { .. })
    }

    /// The underlying stream. Bytes already read but not yet returned are not in it.
    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

/// Proposes `protocols` in order over `io` and returns the stream speaking the first one the
/// listener accepts.
///
/// With a single protocol the negotiation is optimistic: this returns as soon as the proposal
/// is written, so the caller can send data in the same round trip. A refusal then surfaces as
/// an error on the first read: an [`io::Error`] whose inner error
/// ([`io::Error::get_ref`]) is [`Error::NegotiationFailed`] naming the protocol. A write,
/// flush or shutdown that fails before the listener's answer was read (the listener reset or
/// closed the stream after refusing) reports that refusal too when the answer has already
/// arrived, rather than the bare reset. Once a refusal has been seen, every later read, write
/// and flush fails with it.
pub async fn dial<T: AsyncRead + AsyncWrite + Unpin>(
    mut io: T,
    protocols: Vec<String>,
) -> Result<Negotiated<T>, Error> {
    let mut dialer = Dialer::new(protocols)?;
    io.write_all(&dialer.poll_transmit()).await?;
    io.flush().await?;
    if dialer.is_optimistic() {
        return Ok(Negotiated::new(
            io,
            dialer.proposed().to_owned(),
            State::AwaitingConfirmation {
                dialer,
                buffer: BytesMut::new(),
            },
        ));
    }
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    loop {
        read_some(&mut io, &mut buffer).await?;
        let selected = dialer.handle_input(&mut buffer)?.map(str::to_owned);
        let output = dialer.poll_transmit();
        if !output.is_empty() {
            io.write_all(&output).await?;
            io.flush().await?;
        }
        if let Some(protocol) = selected {
            return Ok(Negotiated::new(
                io,
                protocol,
                State::ready(buffer, BytesMut::new()),
            ));
        }
    }
}

/// Answers the dialer's proposals over `io` with the `supported` protocols and returns the
/// stream speaking the accepted one.
///
/// Our header is sent together with our first answer, and the confirmation of the accepted
/// protocol is held back until the stream is first written, flushed or read, so it travels
/// with the first response (as go-multistream does). This also means the negotiation only
/// ever waits on the peer, never on a congested connection's write queue, so a timeout around
/// it measures the peer alone.
///
/// When the negotiation fails after we answered (typically an optimistic dialer whose one
/// protocol we refused with `na`: the data it sent right behind its proposal is then read as
/// a malformed next proposal), our answers are flushed and our write side is shut down
/// before the error is returned. The dialer thus reads `na` followed by a clean end and
/// reports that the protocol was refused. Without it, the caller dropping the failed stream
/// would reset it, and a muxer may drop unread data on a reset (go-yamux does), leaving the
/// dialer with only "stream reset".
pub async fn listen<T, P>(mut io: T, supported: P) -> Result<Negotiated<T>, Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
    P: AsRef<[String]>,
{
    let mut listener = Listener::new(supported);
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    loop {
        read_some(&mut io, &mut buffer).await?;
        let selected = listener
            .handle_input(&mut buffer)
            .map(|selected| selected.map(str::to_owned));
        let output = listener.poll_transmit();
        if let Ok(Some(protocol)) = selected {
            return Ok(Negotiated::new(
                io,
                protocol,
                State::ready(buffer, BytesMut::from(&output[..])),
            ));
        }
        // Answers already decided (`na`s) are sent even if the exchange then failed.
        if !output.is_empty() {
            io.write_all(&output).await?;
            io.flush().await?;
        }
        if let Err(error) = selected {
            // Best effort: the negotiation error is what the caller needs to see.
            let _ = io.shutdown().await;
            return Err(error);
        }
    }
}

/// Reads at least one byte into `buffer`; the end of the stream mid-negotiation is an error.
async fn read_some<T: AsyncRead + Unpin>(io: &mut T, buffer: &mut BytesMut) -> Result<(), Error> {
    buffer.reserve(READ_CHUNK);
    if io.read_buf(buffer).await? == 0 {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "stream closed during protocol negotiation",
        )));
    }
    Ok(())
}

fn to_io_error(error: Error) -> io::Error {
    match error {
        Error::Io(error) => error,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// The listener refused every protocol in `proposed`.
fn refusal(proposed: &[String]) -> io::Error {
    to_io_error(Error::NegotiationFailed {
        proposed: proposed.to_vec(),
    })
}

/// Whether `error` is a negotiation outcome ([`to_io_error`] of one of our errors) rather than
/// a failure of the underlying stream.
fn is_negotiation_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<Error>().is_some())
}

impl<T: AsyncRead + Unpin> Negotiated<T> {
    /// Whether writes go straight to the stream: nothing of the negotiation is left to send
    /// and no refusal to report. An optimistic dialer's data goes behind its proposal, so it
    /// passes through too.
    fn passes_writes_through(&self) -> bool {
        match &self.state {
            State::Ready { unsent, .. } => unsent.is_empty(),
            State::AwaitingConfirmation { .. } => true,
            State::Refused { .. } => false,
        }
    }

    /// For an optimistic dialer whose write, flush or shutdown failed with `error`: the
    /// listener's refusal instead, if its `na` has already arrived. A listener refusing a
    /// protocol typically resets or closes the stream, and the data we wrote behind our
    /// proposal then fails with "reset" or "broken pipe", which hides why.
    fn refusal_or(&mut self, cx: &mut Context<'_>, error: io::Error) -> io::Error {
        if !matches!(self.state, State::AwaitingConfirmation { .. }) {
            return error;
        }
        match self.poll_confirmation(cx) {
            Poll::Ready(Err(refusal)) if is_negotiation_error(&refusal) => refusal,
            _ => error,
        }
    }

    /// Drives an optimistic dialer until the listener's echo arrived.
    fn poll_confirmation(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let (dialer, buffer) = match &mut self.state {
                State::AwaitingConfirmation { dialer, buffer } => (dialer, buffer),
                State::Refused { proposed } => return Poll::Ready(Err(refusal(proposed))),
                State::Ready { .. } => return Poll::Ready(Ok(())),
            };
            match dialer.handle_input(buffer) {
                Ok(Some(_)) => {
                    self.state = State::ready(std::mem::take(buffer), BytesMut::new());
                    return Poll::Ready(Ok(()));
                }
                Ok(None) => {}
                Err(Error::NegotiationFailed { proposed }) => {
                    let error = refusal(&proposed);
                    self.state = State::Refused { proposed };
                    return Poll::Ready(Err(error));
                }
                Err(error) => return Poll::Ready(Err(to_io_error(error))),
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read_buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut read_buf))?;
            if read_buf.filled().is_empty() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream closed before the protocol was confirmed",
                )));
            }
            buffer.extend_from_slice(read_buf.filled());
        }
    }
}

impl<T: AsyncWrite + Unpin> Negotiated<T> {
    /// Writes out a held-back confirmation (and the data joined to it), if any, and wakes a
    /// writer that waited for it when it is gone or has failed.
    fn poll_unsent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let State::Ready { unsent, .. } = &mut self.state else {
            return Poll::Ready(Ok(()));
        };
        let result = loop {
            if unsent.is_empty() {
                release_if_empty(unsent);
                break Ok(());
            }
            match ready!(Pin::new(&mut self.io).poll_write(cx, unsent)) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => unsent.advance(written),
                Err(error) => break Err(error),
            }
        };
        if let Some(writer) = self.waiting_writer.take()
            && !writer.will_wake(cx.waker())
        {
            writer.wake();
        }
        Poll::Ready(result)
    }

    /// [`poll_unsent`](Self::poll_unsent) for a write, flush or shutdown, which must be woken
    /// when the confirmation is out even if a read sends the rest of it.
    fn poll_unsent_for_writer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = self.poll_unsent(cx);
        if poll.is_pending() {
            self.waiting_writer = Some(cx.waker().clone());
        }
        poll
    }
}

/// Most bytes held back with the listener's confirmation: application data is joined to it
/// (to travel in one write) until the held-back bytes reach this, then writes wait for the
/// stream below, as they would without the confirmation.
const MAX_COALESCED: usize = 16 * 1024;

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Negotiated<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_confirmation(cx))?;
        // A dialer that proposed several protocols waits for our confirmation before it
        // sends anything: send it now rather than wait to be written to. If the write
        // blocks, its waker brings us back. If it fails (the dialer closed the connection
        // right after its request), the confirmation can reach no one, but what the dialer
        // sent is already here and still worth reading: later writes report the failure.
        if let Poll::Ready(Err(_)) = this.poll_unsent(cx)
            && let State::Ready { unsent, .. } = &mut this.state
        {
            *unsent = BytesMut::new();
        }
        if let State::Ready { leftover, .. } = &mut this.state
            && !leftover.is_empty()
        {
            let len = leftover.len().min(buf.remaining());
            buf.put_slice(&leftover[..len]);
            leftover.advance(len);
            release_if_empty(leftover);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

/// Writes fail as the underlying stream's do, except for an optimistic dialer whose protocol
/// was refused: once the refusal has been read, writes and flushes fail with it, and a write,
/// flush or shutdown that fails while the listener's `na` is already waiting to be read
/// reports the refusal instead of its own error (see [`dial`]). Shutting down a refused
/// stream is still allowed.
impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Negotiated<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let State::Refused { proposed } = &this.state {
            return Poll::Ready(Err(refusal(proposed)));
        }
        if let State::Ready { unsent, .. } = &mut this.state
            && !unsent.is_empty()
            && !buf.is_empty()
        {
            // Send the confirmation and the first data together.
            let joined = MAX_COALESCED.saturating_sub(unsent.len()).min(buf.len());
            unsent.extend_from_slice(&buf[..joined]);
            if joined > 0 {
                // Taken, whether or not the stream below takes it now.
                return match this.poll_unsent(cx) {
                    Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                    _ => Poll::Ready(Ok(joined)),
                };
            }
            // As much is held back as we allow: wait until it is out, then write through.
            ready!(this.poll_unsent_for_writer(cx))?;
        }
        match ready!(Pin::new(&mut this.io).poll_write(cx, buf)) {
            Err(error) => Poll::Ready(Err(this.refusal_or(cx, error))),
            written => Poll::Ready(written),
        }
    }

    /// Passes the slices through once the negotiation is behind us; until then writes the
    /// first non-empty one, as `poll_write` does.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.passes_writes_through() {
            let first = bufs
                .iter()
                .find(|buf| !buf.is_empty())
                .map_or(&[][..], |buf| buf);
            return Pin::new(this).poll_write(cx, first);
        }
        match ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs)) {
            Err(error) => Poll::Ready(Err(this.refusal_or(cx, error))),
            written => Poll::Ready(written),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let State::Refused { proposed } = &this.state {
            return Poll::Ready(Err(refusal(proposed)));
        }
        ready!(this.poll_unsent_for_writer(cx))?;
        match ready!(Pin::new(&mut this.io).poll_flush(cx)) {
            Err(error) => Poll::Ready(Err(this.refusal_or(cx, error))),
            Ok(()) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_unsent_for_writer(cx))?;
        match ready!(Pin::new(&mut this.io).poll_shutdown(cx)) {
            Err(error) => Poll::Ready(Err(this.refusal_or(cx, error))),
            Ok(()) => Poll::Ready(Ok(())),
        }
    }
}

impl<T: AsyncRead + WriteOwned> WriteOwned for Negotiated<T> {
    /// Hands `buf` to the stream below once the negotiation is behind us, so that a secure
    /// channel negotiated over multistream-select can still seal a muxer's frames in place.
    fn poll_write_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        if !self.passes_writes_through() {
            return write_owned::poll_write_copied(self, cx, buf);
        }
        match ready!(self.io.poll_write_owned(cx, buf)) {
            Err(error) => Poll::Ready(Err(self.refusal_or(cx, error))),
            written => Poll::Ready(written),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::VectoredStream;

    fn protocols(names: &[&str]) -> Vec<String> {
        names.iter().map(|&name| name.to_owned()).collect()
    }

    #[tokio::test]
    async fn optimistic_dialer_sends_data_in_the_first_flight() {
        let (a, b) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            let mut stream = listen(b, protocols(&["/echo/1"])).await.unwrap();
            assert_eq!(stream.protocol(), "/echo/1");
            let mut request = [0u8; 5];
            stream.read_exact(&mut request).await.unwrap();
            stream.write_all(&request).await.unwrap();
        });
        let mut stream = dial(a, protocols(&["/echo/1"])).await.unwrap();
        assert!(!stream.is_confirmed());
        stream.write_all(b"hello").await.unwrap();
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"hello");
        assert!(stream.is_confirmed());
        server.await.unwrap();
    }

    #[tokio::test]
    async fn dialer_falls_back_to_the_next_protocol() {
        let (a, b) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            let mut stream = listen(b, protocols(&["/v1"])).await.unwrap();
            // Reading sends the held-back confirmation the dialer is waiting for.
            let mut request = [0u8; 5];
            stream.read_exact(&mut request).await.unwrap();
            (stream.protocol().to_owned(), request)
        });
        let mut stream = dial(a, protocols(&["/v2", "/v1"])).await.unwrap();
        assert_eq!(stream.protocol(), "/v1");
        assert!(stream.is_confirmed());
        stream.write_all(b"hello").await.unwrap();
        let (protocol, request) = server.await.unwrap();
        assert_eq!((protocol.as_str(), &request), ("/v1", b"hello"));
    }

    #[tokio::test]
    async fn listener_confirmation_travels_with_the_first_reply() {
        let (a, mut b) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            let mut stream = listen(a, protocols(&["/echo/1"])).await.unwrap();
            stream.write_all(b"reply").await.unwrap();
            stream.flush().await.unwrap();
            stream
        });
        let mut proposal = Vec::new();
        crate::multistream::Dialer::new(protocols(&["/echo/1"]))
            .map(|mut dialer| proposal = dialer.poll_transmit())
            .unwrap();
        b.write_all(&proposal).await.unwrap();
        let _server_stream = server.await.unwrap();
        // Header, echo and reply arrive as one write.
        let mut received = vec![0u8; 64];
        let n = b.read(&mut received).await.unwrap();
        assert!(
            received[..n].ends_with(b"/echo/1\nreply"),
            "{:?}",
            &received[..n]
        );
    }

    #[tokio::test]
    async fn vectored_and_owned_writes_pass_through_once_the_confirmation_is_out() {
        let (a, mut b) = tokio::io::duplex(4096);
        let mut proposal = Vec::new();
        crate::multistream::Dialer::new(protocols(&["/echo/1"]))
            .map(|mut dialer| proposal = dialer.poll_transmit())
            .unwrap();
        b.write_all(&proposal).await.unwrap();
        let below = VectoredStream::new(a, usize::MAX);
        let mut stream = listen(below, protocols(&["/echo/1"])).await.unwrap();
        // The confirmation is still unsent: it goes out with the first slice, through
        // `poll_write`, and the owned buffer likewise.
        let slices = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert_eq!(stream.write_vectored(&slices).await.unwrap(), 2);
        assert_eq!(stream.get_ref().vectored_writes, 0);
        // Once it is out, both kinds reach the stream below.
        assert_eq!(stream.write_vectored(&slices[1..]).await.unwrap(), 2);
        let mut owned = BytesMut::from(&b"ef"[..]);
        let taken = std::future::poll_fn(|cx| stream.poll_write_owned(cx, &mut owned))
            .await
            .unwrap();
        assert_eq!((taken, owned.len()), (2, 0));
        let below = stream.get_ref();
        assert_eq!((below.vectored_writes, below.owned_writes), (1, 1));
        stream.flush().await.unwrap();
        drop(stream);
        let mut received = Vec::new();
        b.read_to_end(&mut received).await.unwrap();
        assert!(received.ends_with(b"/echo/1\nabcdef"), "{received:?}");
    }

    #[tokio::test]
    async fn a_request_stays_readable_when_the_confirmation_cannot_be_sent() {
        let (a, mut b) = tokio::io::duplex(4096);
        let mut proposal = Vec::new();
        crate::multistream::Dialer::new(protocols(&["/echo/1"]))
            .map(|mut dialer| proposal = dialer.poll_transmit())
            .unwrap();
        proposal.extend_from_slice(b"hello");
        b.write_all(&proposal).await.unwrap();
        // The dialer sent its request and went away: our writes now fail.
        drop(b);
        let mut stream = listen(a, protocols(&["/echo/1"])).await.unwrap();
        let mut request = Vec::new();
        stream.read_to_end(&mut request).await.unwrap();
        assert_eq!(request, b"hello");
        assert!(stream.write_all(b"reply").await.is_err());
    }

    /// A listener on `io` whose dialer (`dialer_end`) proposed `/echo/1` and wrote nothing
    /// else: the confirmation is held back.
    async fn listener_with_unsent_confirmation(
        io: tokio::io::DuplexStream,
        dialer_end: &mut tokio::io::DuplexStream,
    ) -> Negotiated<tokio::io::DuplexStream> {
        let proposal = crate::multistream::Dialer::new(protocols(&["/echo/1"]))
            .unwrap()
            .poll_transmit();
        dialer_end.write_all(&proposal).await.unwrap();
        let stream = listen(io, protocols(&["/echo/1"])).await.unwrap();
        assert!(matches!(&stream.state, State::Ready { unsent, .. } if !unsent.is_empty()));
        stream
    }

    #[tokio::test]
    async fn writes_behind_an_unsent_confirmation_wait_for_a_blocked_stream() {
        let (a, mut b) = tokio::io::duplex(256);
        let mut stream = listener_with_unsent_confirmation(a, &mut b).await;
        // The dialer reads nothing: the pipe fills, and then the held-back bytes.
        let mut context = Context::from_waker(std::task::Waker::noop());
        let mut accepted = Vec::new();
        let chunk: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
        let mut blocked = false;
        for _ in 0..100 {
            match Pin::new(&mut stream).poll_write(&mut context, &chunk) {
                Poll::Ready(Ok(written)) => accepted.extend_from_slice(&chunk[..written]),
                Poll::Ready(Err(error)) => panic!("write failed: {error}"),
                Poll::Pending => {
                    blocked = true;
                    break;
                }
            }
        }
        assert!(blocked, "{} bytes taken without waiting", accepted.len());
        assert!(accepted.len() <= 256 + MAX_COALESCED, "{}", accepted.len());
        // What was taken arrives, behind the confirmation, once the dialer reads.
        let writer = tokio::spawn(async move {
            stream.flush().await.unwrap();
            stream.shutdown().await.unwrap();
            accepted
        });
        let mut received = Vec::new();
        b.read_to_end(&mut received).await.unwrap();
        let accepted = writer.await.unwrap();
        let confirmation = received.len() - accepted.len();
        assert!(received[..confirmation].ends_with(b"/echo/1\n"));
        assert_eq!(received[confirmation..], accepted[..]);
    }

    /// A write half waiting for the confirmation to go out is woken when the read half sends
    /// the rest of it, although the read took over the pipe's one write waker.
    #[tokio::test]
    async fn a_writer_waiting_on_the_confirmation_is_woken_when_a_read_sends_it() {
        let (a, mut b) = tokio::io::duplex(256);
        let stream = listener_with_unsent_confirmation(a, &mut b).await;
        let (mut read_half, mut write_half) = tokio::io::split(stream);
        let sent: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 253) as u8).collect();
        let expected = sent.clone();
        let writer = tokio::spawn(async move {
            write_half.write_all(&sent).await.unwrap();
            write_half.shutdown().await.unwrap();
        });
        // This runtime runs one task at a time: the writer runs until it waits on the full
        // pipe, then the reader, whose read waits for the dialer and registers its own waker
        // for the confirmation's write, the pipe's only one.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        assert!(!writer.is_finished());
        let reader = tokio::spawn(async move {
            let mut request = Vec::new();
            read_half.read_to_end(&mut request).await.unwrap();
            request
        });
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        let mut received = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            b.read_to_end(&mut received).await.unwrap();
        })
        .await
        .expect("the writer was never woken");
        assert!(received.ends_with(&expected));
        writer.await.unwrap();
        drop(b);
        assert_eq!(reader.await.unwrap(), b"");
    }

    /// The refusal inside an I/O error from a [`Negotiated`] stream, if that is what it is.
    fn refused_protocols(error: &io::Error) -> Option<Vec<String>> {
        match error.get_ref()?.downcast_ref::<Error>()? {
            Error::NegotiationFailed { proposed } => Some(proposed.clone()),
            _ => None,
        }
    }

    /// What a request-response protocol such as ping writes right behind its proposal; read
    /// by a listener as a next proposal, it is malformed (5 bytes, no newline), so the
    /// listener gives up after answering `na`.
    const REQUEST: &[u8] = b"\x05hello";

    #[tokio::test]
    async fn a_refused_optimistic_write_then_read_reports_the_refusal() {
        let (a, b) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move { listen(b, protocols(&["/other"])).await });
        let mut stream = dial(a, protocols(&["/echo/1"])).await.unwrap();
        // The listener has not run yet: the request goes out behind the proposal.
        stream.write_all(REQUEST).await.unwrap();
        stream.flush().await.unwrap();
        let error = stream.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(
            refused_protocols(&error),
            Some(protocols(&["/echo/1"])),
            "{error}"
        );
        assert!(
            error.to_string().contains("none of the proposed"),
            "{error}"
        );
        assert!(matches!(
            server.await.unwrap(),
            Err(Error::InvalidNegotiationMessage(_))
        ));
        // The refusal sticks: neither a second read nor a write turns into "broken pipe".
        let error = stream.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(refused_protocols(&error), Some(protocols(&["/echo/1"])));
        let error = stream.write_all(b"more").await.unwrap_err();
        assert_eq!(refused_protocols(&error), Some(protocols(&["/echo/1"])));
    }

    #[tokio::test]
    async fn a_write_after_the_listener_refused_and_left_reports_the_refusal() {
        let (a, b) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move { listen(b, protocols(&["/other"])).await });
        let mut stream = dial(a, protocols(&["/echo/1"])).await.unwrap();
        stream.write_all(REQUEST).await.unwrap();
        // The listener answers `na`, fails on the request and drops its end: a further write
        // finds the pipe broken, and says why.
        assert!(server.await.unwrap().is_err());
        let error = stream.write_all(b"more").await.unwrap_err();
        assert_eq!(
            refused_protocols(&error),
            Some(protocols(&["/echo/1"])),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_failed_listener_closes_its_side_after_answering() {
        let (a, mut b) = tokio::io::duplex(4096);
        let mut proposal = crate::multistream::Dialer::new(protocols(&["/echo/1"]))
            .unwrap()
            .poll_transmit();
        proposal.extend_from_slice(REQUEST);
        b.write_all(&proposal).await.unwrap();
        // The listener's end stays alive: only its shutdown can end what we read.
        let mut listener_end = a;
        assert!(
            listen(&mut listener_end, protocols(&["/other"]))
                .await
                .is_err()
        );
        // Everything the listener sent is in the pipe already: read without waiting.
        let mut answer = Vec::new();
        let mut context = Context::from_waker(std::task::Waker::noop());
        loop {
            let mut chunk = [0u8; 64];
            let mut read_buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut b).poll_read(&mut context, &mut read_buf) {
                Poll::Ready(Ok(())) if read_buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => answer.extend_from_slice(read_buf.filled()),
                other => panic!("expected the answer and its end, got {other:?}"),
            }
        }
        assert!(answer.ends_with(b"\x03na\n"), "{answer:?}");
        drop(listener_end);
    }

    #[tokio::test]
    async fn optimistic_refusal_surfaces_on_first_read() {
        let (a, b) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move { listen(b, protocols(&["/other"])).await });
        let mut stream = dial(a, protocols(&["/echo/1"])).await.unwrap();
        let mut byte = [0u8; 1];
        let error = stream.read(&mut byte).await.unwrap_err();
        assert!(
            error.to_string().contains("none of the proposed"),
            "{error}"
        );
        drop(stream);
        assert!(server.await.unwrap().is_err());
    }
}
