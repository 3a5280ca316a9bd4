//! Reading the link: frames into the session, large payloads straight into buffers of
//! their own.
//!
//! It reads up to [`READ_CHUNK`] bytes at a time; the session copies each small Data payload
//! out into a [`Bytes`](bytes::Bytes) of exactly its size, which readers then take without
//! further copies. A large payload is read straight into a buffer of its own
//! ([`Session::take_pending_payload`](crate::Session::take_pending_payload)), and after one
//! only the next header is read first, so bulk data is never copied between the socket's
//! reader and the stream's reader.
//!
//! Payloads are not sliced off the read buffer: a small unread frame would then pin a whole
//! read buffer, and a peer could make us hold far more memory than the windows we granted.
//! With a buffer per payload, buffered data costs at most twice what the windows allow (a
//! recycled buffer may be up to twice its payload). Readers hand finished buffers back to the
//! connection's spare buffers, and they go to later payloads while bulk data moves —
//! allocating and freeing one per frame cost page faults; they are freed once the connection
//! goes quiet.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use hyphae_core::bursts::Bursts;
use tracing::debug;

use crate::connection::Shared;
use crate::frame;
use crate::link::Io;
use crate::session::PendingPayload;

/// Bytes asked for per read while bulk data moves (more when a larger frame is arriving).
const READ_CHUNK: usize = 256 * 1024;

/// Bytes asked for per read on a quiet connection: enough for pings and small requests, and
/// all the read buffer a connection that trickles a frame in makes us hold beyond the frame.
const QUIET_READ_CHUNK: usize = 8 * 1024;

/// Data payloads worth reading straight into a buffer of their own
/// ([`Session::take_pending_payload`](crate::Session::take_pending_payload)) rather than into
/// the read buffer and copied out of it: below this, the copy costs less than the extra
/// reads. Smaller buffers are not recycled.
pub const LARGE_PAYLOAD: usize = 8 * 1024;

/// A read buffer grown past this for one large frame is given back once empty.
const MAX_IDLE_READ_BUFFER: usize = 4 * READ_CHUNK;

/// What one read of the link came to.
pub(crate) enum ReadStep {
    /// Bytes or the end of the stream were read and handed to the session.
    Progress,
    /// Nothing to read now; the waker given is woken once there is.
    Pending,
    /// Reading failed: the connection is over.
    Failed(io::Error),
}

/// The read side's buffers and what it knows about the traffic.
#[derive(Debug)]
pub(crate) struct Reader {
    read_buf: BytesMut,
    /// A large Data frame whose payload is being read into a buffer of its own.
    pending: Option<PendingPayload>,
    /// Whether to read only a frame header next (see [`LARGE_PAYLOAD`]).
    header_first: bool,
    /// Whether read buffers are recycled: while bulk data arrives, not once the connection
    /// has gone quiet.
    recycling: bool,
    /// Bytes read between pauses (the socket had nothing to read): tells when the connection
    /// goes quiet, and the read buffer and spare buffers can go.
    read_bursts: Bursts,
    /// Whether reads ask for [`QUIET_READ_CHUNK`]: from a pause that found the connection
    /// quiet until a read fills that chunk.
    quiet: bool,
    /// Whether the session stopped taking input ([`Session::wants_input`]): the peer does not
    /// read what we send. Nothing is read from the socket until the session takes input
    /// again, and then the frames left in the read buffer go first.
    ///
    /// [`Session::wants_input`]: crate::Session::wants_input
    input_paused: bool,
}

impl Reader {
    pub(crate) fn new() -> Reader {
        Reader {
            read_buf: BytesMut::new(),
            pending: None,
            header_first: false,
            recycling: true,
            read_bursts: Bursts::new(),
            quiet: true,
            input_paused: false,
        }
    }

    /// Whether the connection has gone quiet (see [`QUIET_READ_CHUNK`]).
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether reading waits for the peer to read what we send.
    pub(crate) fn is_paused(&self) -> bool {
        self.input_paused
    }

    /// Once the session takes input again, hands it the frames left in the read buffer.
    /// Returns whether reading resumed.
    pub(crate) fn resume(&mut self, shared: &Shared, now: Instant, wake: &mut Vec<Waker>) -> bool {
        if !self.input_paused {
            return false;
        }
        if !shared.lock().session.wants_input() {
            return false;
        }
        debug!("reading resumed");
        self.receive(shared, now, false, wake);
        true
    }

    /// Reads once from `io` and hands what came to the session.
    pub(crate) fn poll_read(
        &mut self,
        io: &mut dyn Io,
        shared: &Shared,
        cx: &mut Context<'_>,
        now: Instant,
        wake: &mut Vec<Waker>,
    ) -> ReadStep {
        let read = match &mut self.pending {
            Some(pending) => {
                tokio_util::io::poll_read_buf(Pin::new(io), cx, &mut pending.buf_mut())
            }
            None => {
                // After a large payload, the next frame is likely another: read just its
                // header, so that its payload goes straight to a buffer of its own.
                let chunk = if self.quiet {
                    QUIET_READ_CHUNK
                } else {
                    READ_CHUNK
                };
                let limit = if self.header_first && self.read_buf.is_empty() {
                    frame::HEADER_LEN
                } else {
                    frame::bytes_needed(&self.read_buf).max(chunk)
                };
                self.read_buf.reserve(limit);
                tokio_util::io::poll_read_buf(
                    Pin::new(io),
                    cx,
                    &mut (&mut self.read_buf).limit(limit),
                )
            }
        };
        match read {
            Poll::Ready(Ok(0)) => {
                let mut inner = shared.lock();
                inner.session.handle_eof();
                inner.dispatch(wake);
                ReadStep::Progress
            }
            Poll::Ready(Ok(n)) => {
                self.read_bursts.record(n);
                if n >= QUIET_READ_CHUNK {
                    self.quiet = false;
                }
                let bulk = n >= LARGE_PAYLOAD || self.pending.is_some();
                self.receive(shared, now, bulk, wake);
                ReadStep::Progress
            }
            Poll::Ready(Err(error)) => ReadStep::Failed(error),
            Poll::Pending => {
                self.settle_at_pause(shared);
                ReadStep::Pending
            }
        }
    }

    /// Nothing to read for now: a connection found quiet keeps no read buffer and no spare
    /// buffers.
    fn settle_at_pause(&mut self, shared: &Shared) {
        if !self.read_bursts.pause() {
            return;
        }
        self.quiet = true;
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        } else if self.read_buf.capacity() > 2 * QUIET_READ_CHUNK {
            // The start of a frame: keep it, not the room of a bulk read.
            self.read_buf = BytesMut::from(&self.read_buf[..]);
        }
        if std::mem::take(&mut self.recycling) {
            shared.lock().spare_buffers.set_enabled(false);
        }
    }

    /// Hands what was just read to the session: a large payload once complete, else the
    /// frames in the read buffer, taking a large payload that has only begun out of it.
    /// A `bulk` read turns buffer recycling on (a pause that finds the connection quiet
    /// turns it off).
    fn receive(&mut self, shared: &Shared, now: Instant, bulk: bool, wake: &mut Vec<Waker>) {
        let mut guard = shared.lock();
        let inner = &mut *guard;
        if bulk && !self.recycling {
            self.recycling = true;
            inner.spare_buffers.set_enabled(true);
        }
        let result = match self.pending.take() {
            Some(pending) if pending.is_complete() => {
                self.header_first = true;
                inner.session.handle_payload(now, pending)
            }
            Some(pending) => {
                self.pending = Some(pending);
                return;
            }
            None => {
                let result = inner.session.handle_input(now, &mut self.read_buf);
                let spare_buffers = &mut inner.spare_buffers;
                self.pending =
                    inner
                        .session
                        .take_pending_payload(&mut self.read_buf, LARGE_PAYLOAD, |len| {
                            spare_buffers.take(len)
                        });
                self.header_first = self.pending.is_some();
                result
            }
        };
        if let Err(error) = result {
            debug!(%error, "peer broke the protocol");
        }
        self.input_paused = !inner.session.wants_input();
        if self.input_paused {
            debug!("peer is not reading what we send, reading paused");
        }
        inner.dispatch(wake);
        if self.read_buf.is_empty() && self.read_buf.capacity() > MAX_IDLE_READ_BUFFER {
            self.read_buf = BytesMut::new();
        }
    }
}
