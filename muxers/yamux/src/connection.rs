//! The tokio driver: one task per connection moves bytes between the socket and the
//! [`Session`]; [`Connection`] handles and [`Stream`]s use the session directly under a
//! short-held lock, so stream data never passes through a channel.
//!
//! The socket and the batch being written to it form the [`Link`], under a lock of its own.
//! The batch is the session's queue of outbound frames, swapped out whole (no copy) and
//! written outside the session's lock with [`WriteOwned`]: Noise below seals large batches
//! of frames where they lie and holds them until the socket takes them (the session
//! meanwhile fills another buffer, or the same one again once they are sent). A writer's
//! bytes are copied once, into the outbound queue. Whoever finds a full queue first writes
//! it: the driver, or the stream whose write found no room (see [`crate::link`]).
//!
//! The driver does all the reading ([`crate::reader`]), keeps the session's time, and
//! writes what no stream did.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyphae_core::WriteOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;
use tracing::{Instrument, debug};

use crate::frame::{GoAwayCode, StreamId};
use crate::link::{Io, Link};
use crate::reader::{ReadStep, Reader};
use crate::session::{Event, Mode, Session};
use crate::spare_buffers::SpareBuffers;
use crate::stream::Stream;
use crate::{Config, Error};

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
        let shared = Arc::new(Shared::new(session, Box::new(io)));
        let driver = Driver::new(Arc::clone(&shared));
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
    /// Taken before `inner` where both are held, never after.
    link: Mutex<Link>,
}

impl Shared {
    fn new(session: Session, io: Box<dyn Io>) -> Shared {
        Shared {
            link: Mutex::new(Link::new(io)),
            inner: Mutex::new(Inner {
                session,
                spare_buffers: SpareBuffers::default(),
                wakers: HashMap::new(),
                driver_waker: None,
                driver_task: None,
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

    /// Locks the link (see [`Shared::lock`] on poisoning).
    fn link(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the session's queued frames from the calling task, if the link is free and
    /// done with its last batch: for a writer that found the write buffer full, which then
    /// tries again (see [`crate::link`]). Otherwise the driver sends them, as it would have.
    pub(crate) fn write_through(&self) {
        let mut link = match self.link.try_lock() {
            Ok(link) => link,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if !link.is_idle() {
            return;
        }
        let mut wake = Vec::new();
        let driver = {
            let mut inner = self.lock();
            let Some(driver) = inner.driver_task.clone() else {
                return;
            };
            inner.session.poll_transmit(now(), &mut link.write_buf);
            inner.dispatch_to_streams(&mut wake);
            driver
        };
        wake_all(&mut wake);
        link.poll_write_out(&mut Context::from_waker(&driver));
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
    /// The driver task's waker, kept while it runs, for writes made through the link by
    /// other tasks: the socket wakes the driver to finish them.
    driver_task: Option<Waker>,
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
        self.dispatch_to_streams(wake);
        if self.session.has_transmit()
            && let Some(waker) = self.driver_waker.take()
        {
            wake.push(waker);
        }
    }

    /// Turns the session's events into wakers to wake, leaving the driver be.
    pub(crate) fn dispatch_to_streams(&mut self, wake: &mut Vec<Waker>) {
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

/// The task that reads the link and writes to it what no stream wrote through, and keeps
/// the session's time.
struct Driver {
    shared: Arc<Shared>,
    reader: Reader,
    sleep: Option<(Instant, Pin<Box<Sleep>>)>,
    wake: Vec<Waker>,
}

impl Driver {
    fn new(shared: Arc<Shared>) -> Driver {
        Driver {
            shared,
            reader: Reader::new(),
            sleep: None,
            wake: Vec::new(),
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

            // Take what the session has to send once the previous batch is written, and
            // write it.
            let mut guard = self.shared.link();
            let link = &mut *guard;
            let (closed, more_to_send, timeout) = {
                let mut inner = self.shared.lock();
                // The driver is running: it must not wake itself. It registers again before
                // it waits. Woken for frames it cannot write yet (the socket is full), it
                // would spin until the peer reads.
                inner.driver_waker = None;
                register_one(&mut inner.driver_task, cx);
                if link.write_buf.is_empty() {
                    inner.session.poll_transmit(now, &mut link.write_buf);
                }
                inner.dispatch(&mut self.wake);
                (
                    inner.session.is_closed(),
                    inner.session.has_transmit(),
                    inner.session.poll_timeout(),
                )
            };
            wake_all(&mut self.wake);

            progress |= link.poll_write_out(cx);
            if self.reader.is_quiet() && link.is_idle() {
                // A quiet connection keeps no write buffer either.
                link.write_buf = BytesMut::new();
            }

            if closed {
                if link.write_failed {
                    return Poll::Ready(());
                }
                if link.write_buf.is_empty() && !link.needs_flush && !more_to_send {
                    // Best effort: the peer may be gone already.
                    if let Some(io) = link.io.as_mut() {
                        let _ = std::task::ready!(Pin::new(io).poll_shutdown(cx));
                    }
                    return Poll::Ready(());
                }
                if progress || (link.write_buf.is_empty() && more_to_send) {
                    continue;
                }
                return Poll::Pending;
            }
            if self.reader.resume(&self.shared, now, &mut self.wake) {
                // The peer read what we sent: the frames left in the read buffer went first.
                wake_all(&mut self.wake);
                progress = true;
            }
            if self.reader.is_paused() {
                // Backpressure: the peer must read our answers before we read its frames,
                // or the session waits for memory. The write above waits for the socket and
                // the timer for the session's next try; either wakes us once it can go on.
                drop(guard);
                progress |= self.poll_timer(cx, timeout);
                if !progress && self.park(cx) {
                    return Poll::Pending;
                }
                continue;
            }
            let Some(io) = link.io.as_mut() else {
                return Poll::Ready(());
            };
            match self
                .reader
                .poll_read(io.as_mut(), &self.shared, cx, now, &mut self.wake)
            {
                ReadStep::Progress => progress = true,
                ReadStep::Pending => {}
                ReadStep::Failed(error) => {
                    drop(guard);
                    return self.fail(error);
                }
            }
            drop(guard);
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
        let link = self.shared.link();
        let mut inner = self.shared.lock();
        if link.write_buf.is_empty() && inner.session.has_transmit() {
            return false;
        }
        register_one(&mut inner.driver_waker, cx);
        true
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_run(cx)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The socket closes now, not when the last handle goes.
        self.shared.link().io = None;
        let mut wake = Vec::new();
        {
            let mut inner = self.shared.lock();
            inner.session.handle_eof();
            inner.driver_done = true;
            inner.driver_task = None;
            inner.dispatch(&mut wake);
            inner.wake_everyone(&mut wake);
        }
        wake_all(&mut wake);
    }
}
