//! The sans-IO Yamux session: bytes and calls in, bytes and events out, time passed in.
//!
//! A [`Session`] never touches a socket or a clock, and speaks the
//! [sans-IO verbs](hyphae_core#the-sans-io-verbs) of every hyphae core. Its owner
//! - feeds it what arrives from the peer with [`Session::handle_input`] (and
//!   [`Session::handle_eof`] when the connection ends), and stops reading from the peer
//!   while [`Session::wants_input`] is false (the peer is not reading our answers),
//! - sends what [`Session::poll_transmit`] hands out,
//! - calls [`Session::handle_timeout`] at [`Session::poll_timeout`],
//! - drains [`Session::poll_event`] to learn which streams can make progress,
//! - and uses streams through [`Session::open_stream`], [`Session::accept`],
//!   [`Session::write`], [`Session::read_chunk`], [`Session::close_write`],
//!   [`Session::reset`] and [`Session::release`].
//!
//! Memory is bounded by the configuration: per stream by its receive window (data beyond it
//! is a protocol error), per session by [`Config::max_connection_receive_window`],
//! [`Config::max_streams`], [`Config::max_pending_inbound_streams`] and
//! [`Config::max_write_buffer`] (plus a fixed headroom for the answers we owe the peer).
//! A session given a resource scope ([`Session::with_memory_scope`]) also reserves from it
//! what it may hold: the headroom once, the write buffer in steps as writers fill it (see
//! [`RESERVATION_STEP`]), and each stream's receive window as it opens and grows. A stream
//! whose window the scope refuses is not opened (the peer's is refused with a reset), and a
//! window the scope cannot grow stays as it is.
//!
//! A session quiet for [`IDLE_RELEASE`] gives back what it reserved for buffers it does not
//! hold: the window of every stream with nothing buffered, and (once nothing is queued or
//! buffered at all) the write buffer and headroom. They are reserved again before they can
//! fill: a stream's window in steps as Data frames for it arrive (each before its payload is
//! read), the headroom when anything is received, written, read or opened, the write buffer
//! in steps as writers queue data again. Memory a peer makes us hold is always reserved
//! first, and a node holding thousands of idle connections reserves nothing for their
//! sessions (nor, with Noise below, for their secured channels), not the worst case of every
//! stream of every connection at once; a keepalive ping that wakes one reserves a few steps,
//! not a whole window and write buffer.
//!
//! A scope that refuses such a wake does not end the connection: the session waits for
//! memory. It takes no input ([`Session::wants_input`] is false, so its owner stops reading
//! and the peer's data waits in the kernel and then at the peer, as TCP's flow control has it),
//! writers wait as for a full write buffer, and [`Session::poll_timeout`] asks to try again
//! after [`MIN_MEMORY_RETRY`], twice as long after each refusal up to [`MAX_MEMORY_RETRY`].
//! A node taking thousands of connections at once fills its budget for a moment (each
//! connection is busy with its handshakes and first streams); the connections whose wake
//! finds it full then pause until the others go quiet, instead of being lost.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyphae_core::resources::Scope;
use tracing::{debug, trace};

use crate::Error;
use crate::config::{Config, INITIAL_WINDOW, MAX_ACK_BACKLOG};
use crate::frame::{self, Flags, GoAwayCode, HEADER_LEN, Header, StreamId};
use crate::stream_state::{Direction, StreamState};

mod receive;

pub use receive::PendingPayload;

/// Room for control frames (pongs, refusals, window updates) beyond the data a full write
/// buffer holds. Our own control frames are bounded by the streams and pings we keep, far
/// below it; only the answers owed to a peer that sends pings or opens streams without
/// reading what we send can fill it. Once it is full the session takes no more input
/// ([`Session::wants_input`]) until the peer reads: its owner stops reading from the
/// connection, so such a peer neither grows our memory nor keeps our CPU busy, and no answer
/// is ever dropped.
const CONTROL_HEADROOM: usize = 64 * 1024;

/// The first step in which a session reserves its write buffer, and a quiet stream's window
/// when data for it arrives again, and the least such a reservation grows by. A session woken
/// by a ping or a request reserves this much for what it writes and for the stream it reads,
/// not the whole [`Config::max_write_buffer`] and window; a bulk writer or sender doubles the
/// reservation as it fills the buffer or window, reaching the whole in a few steps. An idle
/// node's connections wake in turn (keepalive pings), and what each reserves while awake is
/// what the node's budget must hold at rest.
pub const RESERVATION_STEP: usize = 16 * 1024;

/// What a stepped reservation of `reserved` bytes grows to when `needed` bytes must fit: at
/// least one [`RESERVATION_STEP`] and twice what it was, at most `whole`.
fn next_reservation(reserved: usize, needed: usize, whole: usize) -> usize {
    needed.max(2 * reserved).max(RESERVATION_STEP).min(whole)
}

/// Priority of the memory a window's growth reserves (see
/// [`Scope::reserve_memory_with_priority`]): growth is nice to have, so it takes memory only
/// while every scope is at most half full, and new streams always find room.
const WINDOW_GROWTH_PRIORITY: u8 = 127;

// The waits of a session whose wake the scope refused (see the module docs); sessions give
// memory back `IDLE_RELEASE` after their last activity.
pub use hyphae_core::resources::{MAX_MEMORY_RETRY, MIN_MEMORY_RETRY};

/// Most pings of the application that may await their answer at once.
const MAX_PENDING_PINGS: usize = 16;

/// How long a session with a resource scope must be quiet (nothing received, written, read
/// or opened) before it gives back the reservations of buffers it does not hold (see the
/// [module docs](self)). Short, so that keepalive pings every 15 s leave an idle connection
/// reserved a small fraction of the time, and a node taking thousands of new connections
/// does not hold each one's worst case for long after its handshakes (at 1 s, 10,000
/// connections set up at once filled a 3 GiB budget); long enough that a burst of requests
/// or a transfer reserves once.
pub const IDLE_RELEASE: Duration = Duration::from_millis(500);

/// Which end of the connection a session is: the client opens odd stream ids, the server
/// even ones ("StreamID Field"). Usually the dialer is the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Opens streams with odd ids.
    Client,
    /// Opens streams with even ids.
    Server,
}

/// Something the session's owner may want to act on, from [`Session::poll_event`].
///
/// Readiness events are edge-triggered and only follow a call that found nothing to do:
/// [`Event::Readable`] comes after a read returned [`ReadOutcome::Blocked`], and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer opened a stream: [`Session::accept`] returns it.
    IncomingStream,
    /// Data, the end of the stream or a reset arrived on a stream a read was blocked on.
    Readable(StreamId),
    /// A stream a write was blocked on got send window or write-buffer room, or was reset.
    Writable(StreamId),
    /// [`Session::open_stream`] may succeed again after it failed with
    /// [`Error::TooManyStreams`] or [`Error::AckBacklogFull`].
    StreamsAvailable,
    /// The peer answered a ping sent with [`Session::ping`].
    Pong {
        /// The value [`Session::ping`] returned.
        opaque: u32,
        /// Time between sending the ping and receiving the answer.
        rtt: Duration,
    },
    /// The peer sent Go Away: it accepts no new streams (existing ones go on after a normal
    /// Go Away; after an error code the session closes).
    GoAway(GoAwayCode),
    /// The session is closed: nothing more is sent or received, stream operations fail with
    /// [`Error::ConnectionClosed`] (reads first return what was buffered).
    Closed,
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome<T> {
    /// Data (never empty unless the caller asked for 0 bytes).
    Data(T),
    /// Nothing yet: an [`Event::Readable`] follows when something arrives.
    Blocked,
    /// The peer closed its write side and everything it sent has been read.
    Finished,
}

/// A snapshot of a stream's flow-control state, for diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes we may still send before the peer grants more.
    pub send_window: u32,
    /// The receive window we grant (grows with auto-tuning).
    pub receive_window: u32,
    /// Bytes received and not yet read.
    pub buffered: u32,
}

/// A Yamux session over one connection, as a state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Session {
    mode: Mode,
    config: Config,
    streams: HashMap<StreamId, StreamState>,
    next_id: u64,
    /// Inbound streams not yet accepted, oldest first.
    pending_inbound: VecDeque<StreamId>,
    accept_waiting: bool,
    open_waiting: bool,
    ack_backlog: usize,
    /// Streams with flags or a window update to send.
    control_queue: VecDeque<StreamId>,
    /// Streams whose writes found the write buffer full, oldest first.
    buffer_waiters: VecDeque<StreamId>,
    out: BytesMut,
    events: VecDeque<Event>,
    now: Option<Instant>,
    rtt: Option<Duration>,
    next_rtt_ping: Option<Instant>,
    rtt_ping: Option<(u32, Instant)>,
    user_pings: VecDeque<(u32, Instant)>,
    next_opaque: u32,
    /// Sum of the receive windows of all streams.
    granted_window: usize,
    /// Where the windows and the write buffer are reserved, if anywhere.
    memory: Option<Scope>,
    /// Whether the control headroom is reserved now (not after a quiet period, until the
    /// session is active again).
    headroom_reserved: bool,
    /// What is reserved now for the data frames writers queue: grown in steps as they fill
    /// the write buffer, up to [`Config::max_write_buffer`], given back with the headroom.
    write_reserved: usize,
    /// Sum of what is reserved now for the streams' receive windows.
    reserved_window: usize,
    /// When to look for reservations a quiet session can give back: [`IDLE_RELEASE`] after
    /// it was last active, while it holds any.
    release_at: Option<Instant>,
    /// Whether the scope refused memory (the headroom at a wake, the write buffer's next
    /// step, a stream's window) and the session waits for it: no input is taken meanwhile.
    memory_wait: bool,
    /// When a session waiting for memory tries again (`None`: at the next timeout).
    memory_retry_at: Option<Instant>,
    /// How long the next wait for memory lasts: doubles with each refusal, back to
    /// [`MIN_MEMORY_RETRY`] once a wake succeeds.
    memory_retry_delay: Duration,
    local_go_away: bool,
    remote_go_away: Option<GoAwayCode>,
    closed: bool,
}

impl Session {
    /// A new session for one end of a connection.
    pub fn new(mode: Mode, config: Config) -> Session {
        Session {
            mode,
            config: config.clamped(),
            streams: HashMap::new(),
            next_id: match mode {
                Mode::Client => 1,
                Mode::Server => 2,
            },
            pending_inbound: VecDeque::new(),
            accept_waiting: false,
            open_waiting: false,
            ack_backlog: 0,
            control_queue: VecDeque::new(),
            buffer_waiters: VecDeque::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            now: None,
            rtt: None,
            next_rtt_ping: None,
            rtt_ping: None,
            user_pings: VecDeque::new(),
            next_opaque: 1,
            granted_window: 0,
            memory: None,
            headroom_reserved: false,
            write_reserved: 0,
            reserved_window: 0,
            release_at: None,
            memory_wait: false,
            memory_retry_at: None,
            memory_retry_delay: MIN_MEMORY_RETRY,
            local_go_away: false,
            remote_go_away: None,
            closed: false,
        }
    }

    /// This session, reserving what it may hold from `scope`: its control headroom now
    /// (refused if the scope cannot spare it), its write buffer as writers fill it, each
    /// stream's receive window as it opens and grows. Everything is given back as streams end and when the session
    /// is dropped.
    ///
    /// After [`IDLE_RELEASE`] of quiet the session gives back what it does not hold, and
    /// reserves it again before it can fill (see the [module docs](self)).
    pub fn with_memory_scope(mut self, scope: Scope) -> Result<Session, Error> {
        scope.reserve_memory(CONTROL_HEADROOM + self.granted_window)?;
        self.memory = Some(scope);
        self.headroom_reserved = true;
        self.reserved_window = self.granted_window;
        for stream in self.streams.values_mut() {
            stream.window_reserved = stream.receive_window;
        }
        Ok(self)
    }

    /// The session is active: looks again for what to give back [`IDLE_RELEASE`] from now,
    /// and reserves the headroom if a quiet period gave it back. If the
    /// scope refuses them, the session waits for memory (see the [module docs](self)).
    fn touch(&mut self) -> Result<(), Error> {
        let Some(memory) = &self.memory else {
            return Ok(());
        };
        if !self.headroom_reserved && !self.closed {
            if let Err(refused) = memory.reserve_memory(CONTROL_HEADROOM) {
                // Not woken: this does not count as activity.
                debug!(%refused, "no memory to wake a quiet session, waiting for some");
                self.wait_for_memory();
                return Err(refused.into());
            }
            self.headroom_reserved = true;
            self.memory_retry_delay = MIN_MEMORY_RETRY;
        }
        if let Some(now) = self.now {
            self.release_at = Some(now + IDLE_RELEASE);
        }
        Ok(())
    }

    /// Reserves room in the window of the stream a Data frame is for, if a quiet period gave
    /// it back, before its payload is read: enough for what the stream buffers and the
    /// frame, at least [`RESERVATION_STEP`] and twice what was reserved, at most the window.
    /// False if the scope refused it: the session waits for memory then, and the frame stays
    /// unread.
    fn wake_window(&mut self, header: &Header) -> bool {
        if header.frame_type != frame::FrameType::Data || header.length == 0 {
            return true;
        }
        let (Some(memory), Some(stream)) = (&self.memory, self.streams.get_mut(&header.stream_id))
        else {
            return true;
        };
        // Within the window: `check_data_len` let the frame through.
        let needed = stream.buffered().saturating_add(header.length);
        if needed <= stream.window_reserved {
            return true;
        }
        let target = next_reservation(
            stream.window_reserved as usize,
            needed as usize,
            stream.receive_window as usize,
        ) as u32;
        let more = target.saturating_sub(stream.window_reserved) as usize;
        match memory.reserve_memory(more) {
            Ok(()) => {
                stream.window_reserved = target;
                self.reserved_window += more;
                self.memory_retry_delay = MIN_MEMORY_RETRY;
                true
            }
            Err(refused) => {
                debug!(%refused, stream = %header.stream_id, "no memory to wake a quiet stream, waiting for some");
                self.wait_for_memory();
                false
            }
        }
    }

    /// Stops taking input until [`Session::handle_timeout`] tries again, after the current
    /// delay (the next one is twice as long, up to [`MAX_MEMORY_RETRY`]).
    fn wait_for_memory(&mut self) {
        if self.memory_wait {
            return;
        }
        self.memory_wait = true;
        // A refusal follows a quiet period, which only `handle_timeout` can end, so the
        // time is known; were it not, the next timeout tries again.
        self.memory_retry_at = self.now.map(|now| now + self.memory_retry_delay);
        self.memory_retry_delay = (self.memory_retry_delay * 2).min(MAX_MEMORY_RETRY);
    }

    /// At the retry time of a session waiting for memory: takes input again (a stream's
    /// window is reserved as its data arrives, the write buffer as writers fill it), after
    /// reserving the headroom if it was given back (refused: the session waits longer).
    fn retry_memory(&mut self, now: Instant) {
        if !self.memory_wait || self.memory_retry_at.is_some_and(|at| now < at) {
            return;
        }
        self.memory_wait = false;
        self.memory_retry_at = None;
        if self.touch().is_err() {
            trace!("still no memory to wake the session");
        }
    }

    /// After [`IDLE_RELEASE`] of quiet, gives back the windows of streams with nothing
    /// buffered and, if nothing is buffered or queued at all, the write buffer and headroom.
    fn release_if_quiet(&mut self, now: Instant) {
        if self.release_at.is_none_or(|at| now < at) {
            return;
        }
        let Some(memory) = &self.memory else {
            return;
        };
        let mut released = 0;
        let mut holds_data = false;
        for stream in self.streams.values_mut() {
            if stream.buffered() > 0 {
                holds_data = true;
                continue;
            }
            stream.shrink_buffer();
            released += std::mem::take(&mut stream.window_reserved) as usize;
        }
        self.reserved_window -= released;
        let answers_due = self.rtt_ping.is_some() || !self.user_pings.is_empty();
        if self.headroom_reserved
            && !holds_data
            && !answers_due
            && self.out.is_empty()
            && self.control_queue.is_empty()
        {
            self.headroom_reserved = false;
            released += CONTROL_HEADROOM + std::mem::take(&mut self.write_reserved);
            // Nor its room: an idle session holds no write buffer.
            self.out = BytesMut::new();
        }
        memory.release_memory(released);
        self.release_at =
            (self.headroom_reserved || self.reserved_window > 0).then_some(now + IDLE_RELEASE);
        trace!(released, "quiet session gave memory back");
    }

    /// Reserves room for `frame` more bytes in the write buffer, if what is reserved does not
    /// cover it: at least [`RESERVATION_STEP`] and twice the reservation so far, at most
    /// [`Config::max_write_buffer`] in all (the frame that may go past it lies in the
    /// headroom). False if the scope refused: the session waits for memory then.
    fn reserve_write(&mut self, frame: usize) -> bool {
        let Some(memory) = &self.memory else {
            return true;
        };
        let limit = self.config.max_write_buffer;
        let needed = (self.out.len() + frame).min(limit);
        if needed <= self.write_reserved {
            return true;
        }
        let target = next_reservation(self.write_reserved, needed, limit);
        match memory.reserve_memory(target - self.write_reserved) {
            Ok(()) => {
                self.write_reserved = target;
                true
            }
            Err(refused) => {
                debug!(%refused, "no memory to grow the write buffer, waiting for some");
                self.wait_for_memory();
                false
            }
        }
    }

    /// Puts a stream's writer in line for room in the write buffer.
    fn wait_for_buffer(&mut self, id: StreamId) {
        if let Some(stream) = self.streams.get_mut(&id)
            && !stream.buffer_waiting
        {
            stream.buffer_waiting = true;
            self.buffer_waiters.push_back(id);
        }
    }

    /// Reserves a new stream's initial receive window.
    fn reserve_initial_window(&mut self) -> Result<(), Error> {
        if let Some(memory) = &self.memory {
            memory.reserve_memory(INITIAL_WINDOW as usize)?;
        }
        self.granted_window += INITIAL_WINDOW as usize;
        self.reserved_window += INITIAL_WINDOW as usize;
        Ok(())
    }

    /// Gives back `bytes` of receive window, and `reserved` bytes of its reservation.
    fn release_window(&mut self, bytes: usize, reserved: usize) {
        self.granted_window -= bytes;
        if reserved == 0 {
            return;
        }
        self.reserved_window -= reserved;
        if let Some(memory) = &self.memory {
            memory.release_memory(reserved);
        }
    }

    /// Which end of the connection this is.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the session is closed (see [`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether the peer sent Go Away: it takes no new streams, while the open ones go on.
    pub fn peer_went_away(&self) -> bool {
        self.remote_go_away.is_some()
    }

    /// The smoothed round-trip time, once a ping has been answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Streams open in either direction, including those not accepted yet and those closed
    /// both ways but not released (see [`Session::live_stream_count`]).
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Flow-control state of an open stream.
    pub fn stream_stats(&self, id: StreamId) -> Option<StreamStats> {
        self.streams.get(&id).map(|stream| StreamStats {
            send_window: stream.send_window,
            receive_window: stream.receive_window,
            buffered: stream.buffered(),
        })
    }

    /// The connection ended (the peer closed it or it failed): closes the session.
    pub fn handle_eof(&mut self) {
        if !self.closed {
            debug!("connection ended");
            self.terminate();
        }
    }

    /// Moves every frame waiting to be sent into `buf` (appended; swapped in without copying
    /// if `buf` is empty, so a driver that hands back its drained buffer recycles it).
    ///
    /// Window updates and pending flags are produced here, with `now` timing the receive-window
    /// auto-tuning; a due RTT ping is sent too.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut BytesMut) {
        self.handle_timeout(now);
        if !self.closed {
            self.flush_control(Some(now));
        }
        if buf.is_empty() {
            std::mem::swap(buf, &mut self.out);
        } else {
            buf.extend_from_slice(&self.out);
            self.out.clear();
        }
        // Writers waiting for memory need the headroom reserved (a refused wake made them
        // wait); they reserve their frames' room as they write again.
        if !self.buffer_waiters.is_empty() && !self.closed && self.touch().is_err() {
            return;
        }
        let mut room = self.config.max_write_buffer;
        while room > 0 {
            let Some(id) = self.buffer_waiters.pop_front() else {
                break;
            };
            if let Some(stream) = self.streams.get_mut(&id)
                && stream.buffer_waiting
            {
                stream.buffer_waiting = false;
                self.events.push_back(Event::Writable(id));
                room = room.saturating_sub(self.config.max_send_frame_size as usize);
            }
        }
    }

    /// Whether the session takes more input. False while the frames waiting to be sent fill
    /// the write buffer and the control headroom beyond it: the peer is not reading what we
    /// send, and every frame it sends may need an answer (a pong, a refusal) we have no room
    /// for. [`Session::handle_input`] then leaves the input where it is; its owner should stop
    /// reading from the connection until [`Session::poll_transmit`] has taken the queue out
    /// and the transmission went through (backpressure, as rust-yamux does). False as well
    /// while the session waits for memory (see the [module docs](self)), until a
    /// [`Session::handle_timeout`] at [`Session::poll_timeout`] finds some. Always true once
    /// the session is closed (input is ignored then).
    pub fn wants_input(&self) -> bool {
        self.closed || (!self.memory_wait && self.out.len() < self.max_queued_transmit())
    }

    /// Most bytes queued for sending before [`Session::wants_input`] turns false: a full write
    /// buffer, one frame written past it, and the control headroom.
    fn max_queued_transmit(&self) -> usize {
        self.config.max_write_buffer
            + HEADER_LEN
            + self.config.max_send_frame_size as usize
            + CONTROL_HEADROOM
    }

    /// Makes room for a data frame of `payload` bytes. When the write buffer has to grow for
    /// a large frame (half the largest or more: a bulk writer), it grows at once to what data
    /// frames can fill (a full buffer and one frame past it): growing it step by step copies
    /// what it holds at each step, and a buffer that a secure channel below took to seal in
    /// place comes back empty, so every burst of large writes (a thousand streams' frames, or
    /// one writer's large write cut into frames) would pay those copies again. Small frames
    /// (messages, requests) grow it only as far as they need.
    fn reserve_data_frame(&mut self, payload: usize) {
        let needed = HEADER_LEN + payload;
        if self.out.capacity() - self.out.len() >= needed {
            return;
        }
        let largest = self.config.max_send_frame_size as usize;
        if payload >= largest / 2 {
            let full = self.config.max_write_buffer + HEADER_LEN + largest;
            self.out
                .reserve(needed.max(full.saturating_sub(self.out.len())));
        } else {
            self.out.reserve(needed);
        }
    }

    /// Whether [`Session::poll_transmit`] has something to send.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty() || !self.control_queue.is_empty()
    }

    /// When [`Session::handle_timeout`] should next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let rtt_ping = match self.config.rtt_interval {
            Some(_) if self.rtt_ping.is_none() => self.next_rtt_ping,
            _ => None,
        };
        let memory_retry = self.memory_retry_at.filter(|_| self.memory_wait);
        [rtt_ping, self.release_at, memory_retry]
            .into_iter()
            .flatten()
            .min()
    }

    /// Lets time pass: sends an RTT ping when one is due, gives back the reservations of
    /// a quiet session (see [`IDLE_RELEASE`]) and tries again to find memory for one that
    /// waits for it.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        if !self.closed {
            self.release_if_quiet(now);
            self.retry_memory(now);
        }
        let Some(interval) = self.config.rtt_interval else {
            return;
        };
        if self.closed || self.rtt_ping.is_some() {
            return;
        }
        if self.next_rtt_ping.is_none_or(|due| now >= due) {
            if self.touch().is_err() {
                // No memory to wake the session for it: the next interval's ping may find some.
                self.next_rtt_ping = Some(now + interval);
                return;
            }
            let opaque = self.take_opaque();
            Header::ping(Flags::SYN, opaque).encode_to(&mut self.out);
            self.rtt_ping = Some((opaque, now));
            self.next_rtt_ping = Some(now + interval);
        }
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Opens a stream. The SYN goes out with its first frame: the first write, or a Window
    /// Update at the next [`Session::poll_transmit`]. Data may be written at once.
    ///
    /// Fails with [`Error::TooManyStreams`] or [`Error::AckBacklogFull`] while at those limits
    /// ([`Event::StreamsAvailable`] follows when that changes), with [`Error::GoAway`] after
    /// the peer's Go Away, with [`Error::ResourceLimit`] when the memory scope cannot spare
    /// the stream's window or the write buffer, and with [`Error::ConnectionClosed`] once
    /// closed.
    pub fn open_stream(&mut self) -> Result<StreamId, Error> {
        if self.closed || self.local_go_away {
            return Err(Error::ConnectionClosed);
        }
        if let Some(code) = self.remote_go_away {
            return Err(Error::GoAway(code));
        }
        if self.live_streams(true) >= self.config.max_streams {
            self.open_waiting = true;
            return Err(Error::TooManyStreams {
                max: self.config.max_streams,
            });
        }
        if self.ack_backlog >= MAX_ACK_BACKLOG {
            self.open_waiting = true;
            return Err(Error::AckBacklogFull {
                max: MAX_ACK_BACKLOG,
            });
        }
        let raw = u32::try_from(self.next_id).map_err(|_| Error::StreamIdsExhausted)?;
        self.touch()?;
        self.reserve_initial_window()?;
        self.next_id += 2;
        let id = StreamId::new(raw);
        let mut stream = StreamState::new(Direction::Outbound, self.now);
        stream.pending_flags = Flags::SYN;
        self.streams.insert(id, stream);
        self.ack_backlog += 1;
        self.queue_control(id);
        trace!(stream = %id, "opened stream");
        Ok(id)
    }

    /// Takes the oldest stream the peer opened, acknowledging it (the ACK rides on the next
    /// frame of the stream). `None` if there is none; [`Event::IncomingStream`] follows when
    /// one arrives. Streams that arrived before the session closed can still be accepted
    /// (and read) after it.
    pub fn accept(&mut self) -> Option<StreamId> {
        if !self.pending_inbound.is_empty() {
            // Its ACK is to be sent. Refused, it is sent all the same: a frame header per
            // stream, which the stream limit bounds.
            let _ = self.touch();
        }
        while let Some(id) = self.pending_inbound.pop_front() {
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            if stream.accepted {
                continue;
            }
            stream.accepted = true;
            if !self.closed {
                stream.pending_flags = stream.pending_flags | Flags::ACK;
                self.queue_control(id);
            }
            trace!(stream = %id, "accepted stream");
            return Some(id);
        }
        self.accept_waiting = !self.closed;
        None
    }

    /// Queues up to one frame of `data` on a stream, limited by its send window, the frame
    /// size and the write buffer. Returns how many bytes were taken; 0 (for non-empty `data`)
    /// means blocked, and an [`Event::Writable`] follows when that changes.
    pub fn write(&mut self, id: StreamId, data: &[u8]) -> Result<usize, Error> {
        let closed = self.closed;
        let stream = user_stream(&mut self.streams, id)?;
        if stream.reset {
            return Err(Error::StreamReset(id));
        }
        if closed {
            return Err(Error::ConnectionClosed);
        }
        if stream.write_closed {
            return Err(Error::WriteClosed(id));
        }
        if data.is_empty() {
            return Ok(0);
        }
        // Without memory for the write buffer the writer waits, as for a full one.
        if self.touch().is_err() || self.out.len() >= self.config.max_write_buffer {
            self.wait_for_buffer(id);
            return Ok(0);
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return Err(Error::UnknownStream(id));
        };
        let len = data
            .len()
            .min(stream.send_window as usize)
            .min(self.config.max_send_frame_size as usize);
        if len == 0 {
            stream.write_waiting = true;
            return Ok(0);
        }
        if !self.reserve_write(HEADER_LEN + len) {
            self.wait_for_buffer(id);
            return Ok(0);
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return Err(Error::UnknownStream(id));
        };
        let flags = std::mem::take(&mut stream.pending_flags);
        stream.send_window -= len as u32;
        let header = Header::data(id, flags, len as u32);
        self.reserve_data_frame(len);
        frame::encode(&header, &data[..len], &mut self.out);
        Ok(len)
    }

    /// Takes up to `max_len` received bytes of a stream without copying them.
    ///
    /// Reading frees receive window; the Window Update goes out with the next
    /// [`Session::poll_transmit`] once a quarter of the window is free.
    ///
    /// After the peer resets the stream, the data that arrived before its RST is still
    /// returned, then [`Error::StreamReset`]: what a peer sends just before resetting is
    /// often why it resets (a multistream-select `na`, an error message), and it is already
    /// here, within the window we granted. rust-yamux does the same; go-yamux drops it. After
    /// we reset the stream ourselves, unread data is dropped and reads fail at once.
    pub fn read_chunk(
        &mut self,
        id: StreamId,
        max_len: usize,
    ) -> Result<ReadOutcome<Bytes>, Error> {
        let closed = self.closed;
        let stream = user_stream(&mut self.streams, id)?;
        if stream.reset && stream.buffered() == 0 {
            return Err(Error::StreamReset(id));
        }
        if max_len == 0 {
            return Ok(ReadOutcome::Data(Bytes::new()));
        }
        if let Some(chunk) = stream.read_chunk(max_len) {
            if !closed && stream.wants_window_update() {
                // Sent even if the scope refuses to wake the session: one frame header.
                let _ = self.touch();
                self.queue_control(id);
            }
            return Ok(ReadOutcome::Data(chunk));
        }
        if stream.read_closed {
            return Ok(ReadOutcome::Finished);
        }
        if closed {
            return Err(Error::ConnectionClosed);
        }
        stream.read_waiting = true;
        Ok(ReadOutcome::Blocked)
    }

    /// Copies received bytes of a stream into `buf`. See [`Session::read_chunk`].
    pub fn read(&mut self, id: StreamId, buf: &mut [u8]) -> Result<ReadOutcome<usize>, Error> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read_chunk(id, buf.len() - filled) {
                Ok(ReadOutcome::Data(chunk)) => {
                    buf[filled..filled + chunk.len()].copy_from_slice(&chunk);
                    filled += chunk.len();
                }
                Ok(_) | Err(_) if filled > 0 => break,
                Ok(ReadOutcome::Blocked) => return Ok(ReadOutcome::Blocked),
                Ok(ReadOutcome::Finished) => return Ok(ReadOutcome::Finished),
                Err(error) => return Err(error),
            }
        }
        Ok(ReadOutcome::Data(filled))
    }

    /// Half-closes a stream: sends FIN after the data already written. Reading goes on until
    /// the peer closes its side. Closing twice is harmless.
    pub fn close_write(&mut self, id: StreamId) -> Result<(), Error> {
        let closed = self.closed;
        let stream = user_stream(&mut self.streams, id)?;
        if stream.reset {
            return Err(Error::StreamReset(id));
        }
        if closed {
            return Err(Error::ConnectionClosed);
        }
        if !stream.write_closed {
            // The FIN goes out even if the scope refuses to wake the session: one header.
            let _ = self.touch();
            let Some(stream) = self.streams.get_mut(&id) else {
                return Err(Error::UnknownStream(id));
            };
            stream.write_closed = true;
            stream.note_fin();
            stream.pending_flags = stream.pending_flags | Flags::FIN;
            self.queue_control(id);
            self.notify_open_capacity();
        }
        Ok(())
    }

    /// Resets a stream: both directions end at once and the peer is told with RST. Unread
    /// data is dropped. Resetting twice is harmless.
    pub fn reset(&mut self, id: StreamId) -> Result<(), Error> {
        user_stream(&mut self.streams, id)?;
        // The RST is to be sent (even if the scope refuses to wake the session: one header).
        let _ = self.touch();
        self.reset_stream(id);
        Ok(())
    }

    /// Gives a stream up (the application dropped its handle). The session frees it once both
    /// directions are finished.
    ///
    /// A stream whose write side was not closed is reset: the peer must not take a truncated
    /// message for a complete one. A stream closed for writing whose peer is still sending
    /// stays open until the peer's FIN; what it sends is dropped and its window returned, so
    /// nothing we sent before our FIN is lost to a reset.
    pub fn release(&mut self, id: StreamId) {
        let closed = self.closed;
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.released || !stream.accepted {
            return;
        }
        if !closed && !stream.reset {
            // An RST or a window update may be sent (one header, memory or not).
            let _ = self.touch();
        }
        let closed = self.closed;
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.released = true;
        stream.discard_buffer();
        if !closed && !stream.reset {
            if !stream.write_closed {
                self.reset_stream(id);
            } else if stream.wants_window_update() {
                self.queue_control(id);
            }
        }
        self.free_if_finished(id);
    }

    /// Sends a ping; [`Event::Pong`] with the returned value reports the round-trip time.
    /// Fails with [`Error::ResourceLimit`] when the memory scope cannot spare the write
    /// buffer of a quiet session.
    pub fn ping(&mut self, now: Instant) -> Result<u32, Error> {
        if self.closed {
            return Err(Error::ConnectionClosed);
        }
        if self.user_pings.len() >= MAX_PENDING_PINGS {
            return Err(Error::TooManyPings {
                max: MAX_PENDING_PINGS,
            });
        }
        self.now = Some(now);
        self.touch()?;
        let opaque = self.take_opaque();
        Header::ping(Flags::SYN, opaque).encode_to(&mut self.out);
        self.user_pings.push_back((opaque, now));
        Ok(opaque)
    }

    /// Closes the session: sends Go Away with `code` and ends every stream (see
    /// [`Event::Closed`]). Only the Go Away and frames already queued are still sent.
    pub fn close(&mut self, code: GoAwayCode) {
        if self.closed {
            return;
        }
        debug!(?code, "closing session");
        // FINs, ACKs and window updates already decided go out before the Go Away.
        self.flush_control(self.now);
        Header::go_away(code).encode_to(&mut self.out);
        self.local_go_away = true;
        self.terminate();
    }

    fn terminate(&mut self) {
        self.closed = true;
        self.control_queue.clear();
        self.buffer_waiters.clear();
        // Streams not yet accepted stay in the queue: what the peer sent on them, up to a
        // FIN, is still worth reading.
        let released: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, stream)| stream.released)
            .map(|(id, _)| *id)
            .collect();
        for id in released {
            self.free_if_finished(id);
        }
        self.events.push_back(Event::Closed);
    }

    // ---- sending ----

    fn flush_control(&mut self, now: Option<Instant>) {
        let rtt = self.rtt;
        let max_window = self.config.max_receive_window;
        let mut budget = self
            .config
            .max_connection_receive_window
            .saturating_sub(self.granted_window);
        while let Some(id) = self.control_queue.pop_front() {
            let Some(stream) = self.streams.get_mut(&id) else {
                continue;
            };
            stream.control_queued = false;
            if stream.reset {
                continue;
            }
            let flags = std::mem::take(&mut stream.pending_flags);
            let delta = if stream.wants_window_update() {
                // Growth is reserved before it is granted: all of what the window may grow
                // by now, or nothing (then it keeps its size); what it did not use is given
                // back at once.
                // A window grows only once wholly reserved. A stream woken from quiet holds
                // steps of it; busy enough to want an update, it takes the rest now (or, if
                // the scope refuses, keeps its size).
                if stream.window_reserved < stream.receive_window
                    && let Some(memory) = &self.memory
                {
                    let missing = (stream.receive_window - stream.window_reserved) as usize;
                    if memory
                        .reserve_memory_with_priority(missing, WINDOW_GROWTH_PRIORITY)
                        .is_ok()
                    {
                        stream.window_reserved = stream.receive_window;
                        self.reserved_window += missing;
                    }
                }
                let room = if stream.window_reserved == stream.receive_window {
                    stream.growth_room(max_window).min(budget)
                } else {
                    0
                };
                let mut allowed = match &self.memory {
                    Some(memory)
                        if memory
                            .reserve_memory_with_priority(room, WINDOW_GROWTH_PRIORITY)
                            .is_err() =>
                    {
                        0
                    }
                    _ => room,
                };
                let offered = allowed;
                let delta = stream.take_window_update(now, rtt, max_window, &mut allowed);
                let grown = offered - allowed;
                if let Some(memory) = &self.memory {
                    memory.release_memory(allowed);
                }
                budget -= grown;
                stream.window_reserved += grown as u32;
                self.granted_window += grown;
                self.reserved_window += grown;
                delta
            } else {
                0
            };
            if flags.is_empty() && delta == 0 {
                continue;
            }
            Header::window_update(id, flags, delta).encode_to(&mut self.out);
            self.free_if_finished(id);
        }
    }

    fn queue_control(&mut self, id: StreamId) {
        if let Some(stream) = self.streams.get_mut(&id)
            && !stream.control_queued
        {
            stream.control_queued = true;
            self.control_queue.push_back(id);
        }
    }

    /// Queues a frame we send in answer to the peer. Room is certain: input stops once the
    /// queue is full (see [`Session::wants_input`]), and a frame calls for one answer at most.
    fn queue_control_frame(&mut self, header: Header) {
        header.encode_to(&mut self.out);
    }

    fn reset_stream(&mut self, id: StreamId) {
        let closed = self.closed;
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.reset {
            return;
        }
        let syn_sent = !stream.pending_flags.contains(Flags::SYN);
        mark_reset(stream);
        // Our own reset: nobody will read what is left.
        stream.discard_buffer();
        if std::mem::take(&mut stream.in_ack_backlog) {
            self.ack_backlog -= 1;
            self.notify_open_capacity();
        }
        if syn_sent && !closed {
            Header::window_update(id, Flags::RST, 0).encode_to(&mut self.out);
        }
        trace!(stream = %id, "stream reset");
        self.free_if_finished(id);
        // Ended: it no longer counts toward the limit.
        self.notify_open_capacity();
    }

    // ---- bookkeeping ----

    fn free_if_finished(&mut self, id: StreamId) {
        let closed = self.closed;
        let Some(stream) = self.streams.get(&id) else {
            return;
        };
        if !(stream.is_finished() || (closed && stream.released)) {
            return;
        }
        let window = stream.receive_window as usize;
        let reserved = stream.window_reserved as usize;
        let in_backlog = stream.in_ack_backlog;
        self.streams.remove(&id);
        shrink_if_mostly_empty(&mut self.streams);
        self.release_window(window, reserved);
        if in_backlog {
            self.ack_backlog -= 1;
        }
        trace!(stream = %id, "stream freed");
        self.notify_open_capacity();
    }

    /// Streams that count toward [`Config::max_streams`], both directions together: all but
    /// those closed both ways or reset that the application has not released yet.
    pub fn live_stream_count(&self) -> usize {
        self.live_streams(true) + self.live_streams(false)
    }

    /// The live streams that we opened (`outbound`) or the peer opened. The limit applies to
    /// each direction on its own, so that neither side's streams (a keepalive ping, a stream
    /// it is still tearing down) can make the other side's count disagree with its peer's.
    fn live_streams(&self, outbound: bool) -> usize {
        self.streams
            .iter()
            .filter(|(id, stream)| self.is_ours(**id) == outbound && !stream.has_ended())
            .count()
    }

    /// Every stream the peer opened that we still keep, ended or not.
    fn held_inbound_streams(&self) -> usize {
        self.streams.keys().filter(|id| !self.is_ours(**id)).count()
    }

    /// Whether we opened stream `id` (client streams are odd, server streams even).
    fn is_ours(&self, id: StreamId) -> bool {
        match self.mode {
            Mode::Client => id.is_client(),
            Mode::Server => !id.is_client(),
        }
    }

    fn notify_open_capacity(&mut self) {
        if self.open_waiting
            && self.live_streams(true) < self.config.max_streams
            && self.ack_backlog < MAX_ACK_BACKLOG
        {
            self.open_waiting = false;
            self.events.push_back(Event::StreamsAvailable);
        }
    }

    fn take_opaque(&mut self) -> u32 {
        let opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        opaque
    }
}

/// The stream behind an id the application holds.
fn user_stream(
    streams: &mut HashMap<StreamId, StreamState>,
    id: StreamId,
) -> Result<&mut StreamState, Error> {
    streams
        .get_mut(&id)
        .filter(|stream| stream.accepted && !stream.released)
        .ok_or(Error::UnknownStream(id))
}

/// Ends both directions of a stream. Data already received stays readable (see
/// [`Session::read_chunk`]); whoever no longer wants it discards it.
fn mark_reset(stream: &mut StreamState) {
    stream.reset = true;
    stream.read_closed = true;
    stream.write_closed = true;
    stream.pending_flags = Flags::NONE;
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(memory) = &self.memory {
            let headroom = if self.headroom_reserved {
                CONTROL_HEADROOM
            } else {
                0
            };
            memory.release_memory(headroom + self.write_reserved + self.reserved_window);
        }
    }
}

/// Hash tables never shrink by themselves: a connection past a burst of streams would keep
/// tables sized for it. Called after each removal from a table kept per stream; it shrinks
/// a table only once it is less than a quarter full, so that a stream count going back and
/// forth by one (a request stream beside three long-lived ones) does not reallocate the
/// table at every open and close, as shrinking at half did.
pub(crate) fn shrink_if_mostly_empty<K: Eq + std::hash::Hash, V>(table: &mut HashMap<K, V>) {
    if 4 * table.len() < table.capacity() {
        table.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Most connections settle on a few long-lived streams after a burst of short ones; the
    /// table of streams must not stay sized for the burst.
    #[test]
    fn the_stream_table_shrinks_after_a_burst() {
        let mut session = Session::new(Mode::Client, Config::default());
        let ids: Vec<StreamId> = (0..32).map(|_| session.open_stream().unwrap()).collect();
        let burst = session.streams.capacity();
        for &id in &ids[2..] {
            session.release(id);
        }
        assert_eq!(session.stream_count(), 2);
        let settled = session.streams.capacity();
        assert!(
            settled * 4 <= burst,
            "{settled} slots kept for 2 streams after a burst of 32 ({burst})"
        );
        for &id in &ids[..2] {
            session.release(id);
        }
        assert_eq!(session.streams.capacity(), 0);
    }

    /// Three long-lived streams and a request stream opened and closed beside them: the
    /// table keeps its size rather than shrinking at each close and growing at each open.
    #[test]
    fn a_request_stream_beside_long_lived_ones_does_not_resize_the_table() {
        let mut session = Session::new(Mode::Client, Config::default());
        for _ in 0..3 {
            session.open_stream().unwrap();
        }
        for _ in 0..10 {
            let request = session.open_stream().unwrap();
            let open = session.streams.capacity();
            session.release(request);
            assert_eq!(session.stream_count(), 3);
            assert_eq!(session.streams.capacity(), open, "shrunk at the close");
        }
    }
}
