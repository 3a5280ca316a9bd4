//! The tokio driver: one task per connection moves bytes between the socket and the
//! [`Session`]; [`Connection`] handles and [`Stream`]s use the session directly under a
//! short-held lock, so stream data never passes through a channel or another task.
//!
//! The task owns the socket and two buffers. It swaps its drained write buffer with the
//! session's queue of outbound frames (no copy) and writes it outside the lock with
//! [`WriteOwned`]: Noise below seals large batches of frames where they lie and holds them
//! until the socket takes them (the session meanwhile fills another buffer, or the same one
//! again once they are sent). A writer's bytes are copied once, into the outbound queue.
//!
//! It reads up to [`READ_CHUNK`] bytes at a time; the session copies each small Data payload
//! out into a [`Bytes`](bytes::Bytes) of exactly its size, which readers then take without
//! further copies. A large payload is read straight into a buffer of its own
//! ([`Session::take_pending_payload`]), and after one the driver reads only the next header
//! first, so bulk data is never copied between the socket's reader and the stream's reader.
//!
//! Payloads are not sliced off the read buffer: a small unread frame would then pin a whole
//! read buffer, and a peer could make us hold far more memory than the windows we granted.
//! With a buffer per payload, buffered data costs at most twice what the windows allow (a
//! recycled buffer may be up to twice its payload). Readers hand finished buffers back to the
//! driver's spare buffers, kept beside the session under the same lock, and the driver hands
//! them to the session for later payloads while bulk data moves — allocating and freeing one
//! per frame cost page faults; it frees them once the connection goes quiet. That memory
//! strategy is the driver's alone: the session only uses the buffer it is handed.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use hyphae_core::WriteOwned;
use hyphae_core::bursts::Bursts;
use tokio::io::AsyncRead;
use tokio::time::Sleep;
use tracing::{Instrument, debug};

use crate::frame::{self, GoAwayCode, StreamId};
use crate::session::{Event, Mode, PendingPayload, Session};
use crate::spare_buffers::SpareBuffers;
use crate::stream::Stream;
use crate::{Config, Error};

/// Bytes the driver asks the socket for per read while bulk data moves (more when a larger
/// frame is arriving).
const READ_CHUNK: usize = 256 * 1024;

/// Bytes asked for per read on a quiet connection: enough for pings and small requests, and
/// all the read buffer a connection that trickles a frame in makes us hold beyond the frame.
const QUIET_READ_CHUNK: usize = 8 * 1024;

/// Data payloads worth reading straight into a buffer of their own
/// ([`Session::take_pending_payload`]) rather than into the read buffer and copied out of it:
/// below this, the copy costs less than the extra reads. Smaller buffers are not recycled.
pub const LARGE_PAYLOAD: usize = 8 * 1024;

/// A read buffer grown past this for one large frame is given back once empty.
const MAX_IDLE_READ_BUFFER: usize = 4 * READ_CHUNK;

/// Rounds of read/write work one poll of the driver does before yielding to other tasks.
const MAX_ROUNDS_PER_POLL: usize = 32;

/// A Yamux connection running on tokio: a cheap-to-clone handle to open and accept
/// [`Stream`]s over one underlying byte stream.
///
/// [`Connection::new`] spawns the task that drives the connection on the current tokio
/// runtime (which needs its time driver: pings run on a timer). The connection closes (Go
/// Away, normal) when [`Connection::close`] is called, or once every `Connection` handle and
/// every `Stream` is dropped.
pub struct Connection {
    shared: Arc<Shared>,
}

impl Connection {
    /// Starts Yamux over `io` as `mode` (usually the dialer is the client).
    ///
    /// `io` hands the frames to send to a secure channel below without a copy where it can
    /// ([`WriteOwned`]); for any other stream, `impl WriteOwned for MyStream {}` copies.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn new<T>(io: T, mode: Mode, config: Config) -> Connection
    where
        T: AsyncRead + WriteOwned + Send + 'static,
    {
        Connection::from_session(io, Session::new(mode, config))
    }

    /// Starts Yamux over `io` as [`Connection::new`] does, reserving the session's memory
    /// (the headroom for its answers, its write buffer as writers fill it, and each stream's
    /// receive window as it opens and grows) from `scope`: see
    /// [`Session::with_memory_scope`]. Fails if the scope cannot spare the headroom.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn with_memory_scope<T>(
        io: T,
        mode: Mode,
        config: Config,
        scope: hyphae_core::resources::Scope,
    ) -> Result<Connection, Error>
    where
        T: AsyncRead + WriteOwned + Send + 'static,
    {
        let session = Session::new(mode, config).with_memory_scope(scope)?;
        Ok(Connection::from_session(io, session))
    }

    /// Drives `session` over `io`: for a session made with [`Session::new`] and perhaps
    /// [`Session::with_memory_scope`], when its making may have to be tried again (a scope
    /// short of memory) before `io` is given up.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn from_session<T>(io: T, session: Session) -> Connection
    where
        T: AsyncRead + WriteOwned + Send + 'static,
    {
        let mode = session.mode();
        let shared = Arc::new(Shared::new(session));
        let driver = Driver::new(io, Arc::clone(&shared));
        let span = tracing::debug_span!("yamux", ?mode);
        tokio::spawn(driver.instrument(span));
        Connection { shared }
    }

    /// Opens a stream. Waits while the stream limit or the ACK backlog is reached; fails once
    /// the connection is closed or the peer sent Go Away.
    pub async fn open_stream(&self) -> Result<Stream, Error> {
        poll_fn(|cx| {
            let mut wake = Vec::new();
            let result = {
                let mut inner = self.shared.lock();
                let result = match inner.session.open_stream() {
                    Ok(id) => {
                        inner.live_streams += 1;
                        Poll::Ready(Ok(id))
                    }
                    Err(Error::TooManyStreams { .. } | Error::AckBacklogFull { .. }) => {
                        register(&mut inner.open_wakers, cx);
                        Poll::Pending
                    }
                    Err(error) => Poll::Ready(Err(error)),
                };
                inner.dispatch(&mut wake);
                result
            };
            wake_all(&mut wake);
            result.map_ok(|id| Stream::new(id, Arc::clone(&self.shared)))
        })
        .await
    }

    /// Waits for the next stream the peer opens; `None` once the connection is closed.
    pub async fn accept(&self) -> Option<Stream> {
        poll_fn(|cx| {
            let mut wake = Vec::new();
            let result = {
                let mut inner = self.shared.lock();
                let result = match inner.session.accept() {
                    Some(id) => {
                        inner.live_streams += 1;
                        Poll::Ready(Some(id))
                    }
                    None if inner.session.is_closed() => Poll::Ready(None),
                    None => {
                        register(&mut inner.accept_wakers, cx);
                        Poll::Pending
                    }
                };
                inner.dispatch(&mut wake);
                result
            };
            wake_all(&mut wake);
            result.map(|id| id.map(|id| Stream::new(id, Arc::clone(&self.shared))))
        })
        .await
    }

    /// Pings the peer and returns the round-trip time.
    pub async fn ping(&self) -> Result<Duration, Error> {
        let opaque = {
            let mut wake = Vec::new();
            let opaque = {
                let mut inner = self.shared.lock();
                let opaque = inner.session.ping(now())?;
                inner.pings.insert(opaque, PingSlot::default());
                inner.dispatch(&mut wake);
                opaque
            };
            wake_all(&mut wake);
            opaque
        };
        let _guard = PingGuard {
            shared: &self.shared,
            opaque,
        };
        poll_fn(|cx| {
            let mut inner = self.shared.lock();
            let closed = inner.session.is_closed();
            match inner.pings.get_mut(&opaque) {
                Some(PingSlot { rtt: Some(rtt), .. }) => Poll::Ready(Ok(*rtt)),
                _ if closed => Poll::Ready(Err(Error::ConnectionClosed)),
                Some(slot) => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                None => Poll::Ready(Err(Error::ConnectionClosed)),
            }
        })
        .await
    }

    /// The smoothed round-trip time measured by pings, once known.
    pub fn rtt(&self) -> Option<Duration> {
        self.shared.lock().session.rtt()
    }

    /// Bytes of read buffers kept for reuse: some while bulk data arrives, none once the
    /// connection has gone quiet.
    pub fn spare_buffer_capacity(&self) -> usize {
        self.shared.lock().spare_buffers.capacity()
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().session.is_closed()
    }

    /// Whether [`Connection::open_stream`] can still succeed: the connection is open and the
    /// peer has not sent Go Away (after which the streams already open go on until the peer
    /// closes the connection).
    pub fn can_open_streams(&self) -> bool {
        let inner = self.shared.lock();
        !inner.session.is_closed() && !inner.session.peer_went_away()
    }

    /// Closes the connection: sends Go Away (normal), ends every stream, flushes and shuts the
    /// underlying stream down. Returns once that is done.
    pub async fn close(&self) {
        {
            let mut wake = Vec::new();
            {
                let mut inner = self.shared.lock();
                inner.session.close(GoAwayCode::Normal);
                inner.dispatch(&mut wake);
            }
            wake_all(&mut wake);
        }
        poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if inner.driver_done {
                Poll::Ready(())
            } else {
                register(&mut inner.close_wakers, cx);
                Poll::Pending
            }
        })
        .await
    }
}

impl Clone for Connection {
    fn clone(&self) -> Connection {
        self.shared.lock().handles += 1;
        Connection {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut wake = Vec::new();
        {
            let mut inner = self.shared.lock();
            inner.handles -= 1;
            inner.close_if_unused();
            inner.dispatch(&mut wake);
        }
        wake_all(&mut wake);
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("Connection")
            .field("mode", &inner.session.mode())
            .field("streams", &inner.session.stream_count())
            .field("closed", &inner.session.is_closed())
            .finish()
    }
}

/// Removes the slot of a ping whose future is dropped.
struct PingGuard<'a> {
    shared: &'a Shared,
    opaque: u32,
}

impl Drop for PingGuard<'_> {
    fn drop(&mut self) {
        self.shared.lock().pings.remove(&self.opaque);
    }
}

/// State shared by the driver task, the [`Connection`] handles and the [`Stream`]s.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    fn new(session: Session) -> Shared {
        Shared {
            inner: Mutex::new(Inner {
                session,
                spare_buffers: SpareBuffers::default(),
                wakers: HashMap::new(),
                driver_waker: None,
                accept_wakers: Vec::new(),
                open_wakers: Vec::new(),
                close_wakers: Vec::new(),
                pings: HashMap::new(),
                handles: 1,
                live_streams: 0,
                driver_done: false,
            }),
        }
    }

    /// Locks the state. A panic while it was held cannot leave the session half-updated in a
    /// way that matters more than the panic itself, so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wakers of the tasks blocked on one stream.
#[derive(Debug, Default)]
pub(crate) struct StreamWakers {
    pub(crate) read: Option<Waker>,
    pub(crate) write: Option<Waker>,
}

#[derive(Debug, Default)]
struct PingSlot {
    rtt: Option<Duration>,
    waker: Option<Waker>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) session: Session,
    /// Payload buffers readers finished with, for the next large payloads.
    pub(crate) spare_buffers: SpareBuffers,
    pub(crate) wakers: HashMap<StreamId, StreamWakers>,
    driver_waker: Option<Waker>,
    accept_wakers: Vec<Waker>,
    open_wakers: Vec<Waker>,
    close_wakers: Vec<Waker>,
    pings: HashMap<u32, PingSlot>,
    /// Live [`Connection`] handles.
    handles: usize,
    /// Live [`Stream`]s.
    pub(crate) live_streams: usize,
    driver_done: bool,
}

impl Inner {
    /// Turns the session's events into wakers to wake (after the lock is released), and
    /// wakes the driver if there is something to send.
    pub(crate) fn dispatch(&mut self, wake: &mut Vec<Waker>) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Readable(id) => {
                    if let Some(waker) = self.wakers.get_mut(&id).and_then(|w| w.read.take()) {
                        wake.push(waker);
                    }
                }
                Event::Writable(id) => {
                    if let Some(waker) = self.wakers.get_mut(&id).and_then(|w| w.write.take()) {
                        wake.push(waker);
                    }
                }
                Event::IncomingStream => wake.append(&mut self.accept_wakers),
                Event::StreamsAvailable | Event::GoAway(_) => wake.append(&mut self.open_wakers),
                Event::Pong { opaque, rtt } => {
                    if let Some(slot) = self.pings.get_mut(&opaque) {
                        slot.rtt = Some(rtt);
                        wake.extend(slot.waker.take());
                    }
                }
                Event::Closed => self.wake_everyone(wake),
            }
        }
        if self.session.has_transmit()
            && let Some(waker) = self.driver_waker.take()
        {
            wake.push(waker);
        }
    }

    fn wake_everyone(&mut self, wake: &mut Vec<Waker>) {
        for wakers in self.wakers.values_mut() {
            wake.extend(wakers.read.take());
            wake.extend(wakers.write.take());
        }
        wake.append(&mut self.accept_wakers);
        wake.append(&mut self.open_wakers);
        for slot in self.pings.values_mut() {
            wake.extend(slot.waker.take());
        }
        if self.driver_done {
            wake.append(&mut self.close_wakers);
        }
        wake.extend(self.driver_waker.take());
    }

    /// Closes the session once nobody can use it any more.
    pub(crate) fn close_if_unused(&mut self) {
        if self.handles == 0 && self.live_streams == 0 && !self.session.is_closed() {
            self.session.close(GoAwayCode::Normal);
        }
    }
}

/// Stores `cx`'s waker in `wakers` unless an equivalent one is there.
fn register(wakers: &mut Vec<Waker>, cx: &Context<'_>) {
    if !wakers.iter().any(|waker| waker.will_wake(cx.waker())) {
        wakers.push(cx.waker().clone());
    }
}

/// Stores `cx`'s waker in `slot`, cloning only if it changed.
pub(crate) fn register_one(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

pub(crate) fn wake_all(wake: &mut Vec<Waker>) {
    for waker in wake.drain(..) {
        waker.wake();
    }
}

/// The time the session is given: the runtime's clock, which its timers follow, so that a
/// deadline the session set has passed by that clock when the timer for it fires (the two
/// differ when a test pauses the runtime's clock).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The task that owns the socket.
struct Driver<T> {
    io: T,
    shared: Arc<Shared>,
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
    input_paused: bool,
    write_buf: BytesMut,
    sleep: Option<(Instant, Pin<Box<Sleep>>)>,
    needs_flush: bool,
    write_failed: bool,
    wake: Vec<Waker>,
}

impl<T: AsyncRead + WriteOwned> Driver<T> {
    fn new(io: T, shared: Arc<Shared>) -> Driver<T> {
        Driver {
            io,
            shared,
            read_buf: BytesMut::new(),
            pending: None,
            header_first: false,
            recycling: true,
            read_bursts: Bursts::new(),
            quiet: true,
            input_paused: false,
            write_buf: BytesMut::new(),
            sleep: None,
            needs_flush: false,
            write_failed: false,
            wake: Vec::new(),
        }
    }

    /// Stops writing after an I/O error, but goes on reading: what the peer sent before it
    /// went away (data, FINs, its Go Away) is still delivered. The read side ends soon after.
    fn write_failed(&mut self, error: io::Error) {
        debug!(%error, "writing to the connection failed");
        self.write_failed = true;
        self.write_buf.clear();
        self.needs_flush = false;
    }

    /// Hands what was just read to the session: a large payload once complete, else the
    /// frames in the read buffer, taking a large payload that has only begun out of it.
    /// A `bulk` read turns buffer recycling on (the driver turns it off when quiet).
    fn receive(&mut self, now: Instant, bulk: bool) {
        let mut guard = self.shared.lock();
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
        inner.dispatch(&mut self.wake);
        if self.read_buf.is_empty() && self.read_buf.capacity() > MAX_IDLE_READ_BUFFER {
            self.read_buf = BytesMut::new();
        }
    }

    /// Ends the connection after a read error.
    fn fail(&mut self, error: io::Error) -> Poll<()> {
        debug!(%error, "connection failed");
        {
            let mut inner = self.shared.lock();
            inner.session.handle_eof();
            inner.dispatch(&mut self.wake);
        }
        wake_all(&mut self.wake);
        Poll::Ready(())
    }

    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..MAX_ROUNDS_PER_POLL {
            let now = now();
            let mut progress = false;

            // Take what the session has to send once the previous batch is written.
            let (closed, more_to_send, timeout, wants_input) = {
                let mut inner = self.shared.lock();
                // The driver is running: it must not wake itself. It registers again before
                // it waits. Woken for frames it cannot write yet (the socket is full), it
                // would spin until the peer reads.
                inner.driver_waker = None;
                if self.write_buf.is_empty() {
                    inner.session.poll_transmit(now, &mut self.write_buf);
                }
                inner.dispatch(&mut self.wake);
                (
                    inner.session.is_closed(),
                    inner.session.has_transmit(),
                    inner.session.poll_timeout(),
                    inner.session.wants_input(),
                )
            };
            wake_all(&mut self.wake);

            if self.write_failed {
                self.write_buf.clear();
            }
            while !self.write_buf.is_empty() {
                // A secure channel below may seal the frames in place (see [`WriteOwned`]).
                match self.io.poll_write_owned(cx, &mut self.write_buf) {
                    Poll::Ready(Ok(0)) => self.write_failed(io::ErrorKind::WriteZero.into()),
                    Poll::Ready(Ok(_)) => {
                        self.needs_flush = true;
                        progress = true;
                    }
                    Poll::Ready(Err(error)) => self.write_failed(error),
                    Poll::Pending => break,
                }
            }
            if self.write_buf.is_empty() && self.needs_flush {
                match Pin::new(&mut self.io).poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        self.needs_flush = false;
                        if self.quiet {
                            // A quiet connection keeps no write buffer either.
                            self.write_buf = BytesMut::new();
                        }
                    }
                    Poll::Ready(Err(error)) => self.write_failed(error),
                    Poll::Pending => {}
                }
            }

            if closed {
                if self.write_failed {
                    return Poll::Ready(());
                }
                if self.write_buf.is_empty() && !self.needs_flush && !more_to_send {
                    // Best effort: the peer may be gone already.
                    let _ = std::task::ready!(Pin::new(&mut self.io).poll_shutdown(cx));
                    return Poll::Ready(());
                }
                if progress || (self.write_buf.is_empty() && more_to_send) {
                    continue;
                }
                return Poll::Pending;
            }

            if self.input_paused && wants_input {
                // The peer read what we sent: first the frames we left in the read buffer.
                debug!("reading resumed");
                self.receive(now, false);
                wake_all(&mut self.wake);
                progress = true;
            }
            if self.input_paused {
                // Backpressure: the peer must read our answers before we read its frames,
                // or the session waits for memory. The write above waits for the socket and
                // the timer for the session's next try; either wakes us once it can go on.
                progress |= self.poll_timer(cx, timeout);
                if !progress && self.park(cx) {
                    return Poll::Pending;
                }
                continue;
            }

            let read = match &mut self.pending {
                Some(pending) => tokio_util::io::poll_read_buf(
                    Pin::new(&mut self.io),
                    cx,
                    &mut pending.buf_mut(),
                ),
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
                        Pin::new(&mut self.io),
                        cx,
                        &mut (&mut self.read_buf).limit(limit),
                    )
                }
            };
            match read {
                Poll::Ready(Ok(0)) => {
                    let mut inner = self.shared.lock();
                    inner.session.handle_eof();
                    inner.dispatch(&mut self.wake);
                    progress = true;
                }
                Poll::Ready(Ok(n)) => {
                    self.read_bursts.record(n);
                    if n >= QUIET_READ_CHUNK {
                        self.quiet = false;
                    }
                    progress = true;
                    let bulk = n >= LARGE_PAYLOAD || self.pending.is_some();
                    self.receive(now, bulk);
                }
                Poll::Ready(Err(error)) => return self.fail(error),
                Poll::Pending => {
                    // Nothing to read for now: a quiet connection keeps no read buffer and
                    // no spare buffers.
                    if self.read_bursts.pause() {
                        self.quiet = true;
                        if self.read_buf.is_empty() {
                            self.read_buf = BytesMut::new();
                        } else if self.read_buf.capacity() > 2 * QUIET_READ_CHUNK {
                            // The start of a frame: keep it, not the room of a bulk read.
                            self.read_buf = BytesMut::from(&self.read_buf[..]);
                        }
                        if std::mem::take(&mut self.recycling) {
                            self.shared.lock().spare_buffers.set_enabled(false);
                        }
                    }
                }
            }
            wake_all(&mut self.wake);

            progress |= self.poll_timer(cx, timeout);
            if !progress && self.park(cx) {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Waits for the session's `timeout`; true if it came, and the session was told.
    fn poll_timer(&mut self, cx: &mut Context<'_>, timeout: Option<Instant>) -> bool {
        let Some(deadline) = timeout else {
            return false;
        };
        let sleep = match &mut self.sleep {
            Some((at, sleep)) if *at == deadline => sleep,
            slot => {
                let sleep = Box::pin(tokio::time::sleep_until(deadline.into()));
                &mut slot.insert((deadline, sleep)).1
            }
        };
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.sleep = None;
        self.shared.lock().session.handle_timeout(now());
        true
    }

    /// Registers to be woken by the session and returns true, unless the session has frames
    /// to send that the free write buffer can take now (then the round goes on).
    fn park(&mut self, cx: &mut Context<'_>) -> bool {
        let mut inner = self.shared.lock();
        if self.write_buf.is_empty() && inner.session.has_transmit() {
            return false;
        }
        register_one(&mut inner.driver_waker, cx);
        true
    }
}

impl<T: AsyncRead + WriteOwned> Future for Driver<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_run(cx)
    }
}

impl<T> Drop for Driver<T> {
    fn drop(&mut self) {
        let mut wake = Vec::new();
        {
            let mut inner = self.shared.lock();
            inner.session.handle_eof();
            inner.driver_done = true;
            inner.dispatch(&mut wake);
            inner.wake_everyone(&mut wake);
        }
        wake_all(&mut wake);
    }
}
