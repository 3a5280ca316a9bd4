//! The state of one stream inside a [`Session`](crate::Session): its lifecycle flags, its
//! receive buffer and both flow-control windows.
//!
//! Receive-window auto-tuning lives here ([`StreamState::take_window_update`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::INITIAL_WINDOW;
use crate::frame::Flags;

/// Credit is announced once the reader has freed 1 / `UPDATE_DIVISOR` of the window (see
/// [`StreamState::wants_window_update`]).
const UPDATE_DIVISOR: u32 = 4;

/// How many round-trip times the reader may take to drain a quarter of its window for the
/// window to double (see [`StreamState::take_window_update`]).
const AUTO_TUNE_RTT_FACTOR: u32 = 2;

/// Who opened a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Outbound,
    Inbound,
}

#[derive(Debug)]
pub(crate) struct StreamState {
    /// Inbound: handed to the application by `accept`. Outbound: always.
    pub(crate) accepted: bool,
    /// Outbound and not yet answered by the peer: counts in the ACK backlog.
    pub(crate) in_ack_backlog: bool,
    /// The application gave the stream up; the session frees it once it is finished.
    pub(crate) released: bool,
    /// We sent (or queued) FIN, or the stream was reset.
    pub(crate) write_closed: bool,
    /// The peer sent FIN, or the stream was reset.
    pub(crate) read_closed: bool,
    pub(crate) reset: bool,
    /// Both sides sent FIN before any reset; see [`StreamState::has_ended`].
    closed_cleanly: bool,
    /// SYN, ACK or FIN still to be sent, on the next frame of this stream.
    pub(crate) pending_flags: Flags,
    /// Whether the stream is in the session's queue of streams with a control frame to send.
    pub(crate) control_queued: bool,

    pub(crate) send_window: u32,
    /// A write found no send window: tell the application when a Window Update arrives.
    pub(crate) write_waiting: bool,
    /// A write found the session's write buffer full; the stream is in the session's queue.
    pub(crate) buffer_waiting: bool,

    /// The window we currently grant: at most this many bytes are buffered or in flight.
    pub(crate) receive_window: u32,
    /// Bytes the peer may still send before it needs a Window Update.
    pub(crate) receive_credit: u32,
    buffer: VecDeque<Bytes>,
    buffered: u32,
    /// A read found nothing: tell the application when data, FIN or a reset arrives.
    pub(crate) read_waiting: bool,
    /// When we last granted credit: the start of the auto-tuning epoch.
    epoch_start: Option<Instant>,
    /// How much of the receive window is reserved in the session's scope now: all of it for
    /// a new or busy stream, none while it is quiet, steps of it as a quiet stream's data
    /// arrives again (see `Session`'s `IDLE_RELEASE` and `RESERVATION_STEP`).
    pub(crate) window_reserved: u32,
}

impl StreamState {
    pub(crate) fn new(direction: Direction, now: Option<Instant>) -> StreamState {
        StreamState {
            accepted: direction == Direction::Outbound,
            in_ack_backlog: direction == Direction::Outbound,
            released: false,
            write_closed: false,
            read_closed: false,
            closed_cleanly: false,
            reset: false,
            pending_flags: Flags::NONE,
            control_queued: false,
            send_window: INITIAL_WINDOW,
            write_waiting: false,
            buffer_waiting: false,
            receive_window: INITIAL_WINDOW,
            receive_credit: INITIAL_WINDOW,
            buffer: VecDeque::new(),
            buffered: 0,
            read_waiting: false,
            epoch_start: now,
            window_reserved: INITIAL_WINDOW,
        }
    }

    /// Bytes received and not yet read.
    pub(crate) fn buffered(&self) -> u32 {
        self.buffered
    }

    /// Whether the stream has ended for the peer — both sides sent FIN, or it was reset —
    /// even if our application still holds it. Such streams stop counting toward the stream
    /// limit, so that both ends count alike: the peer may open a new stream as soon as it has
    /// seen an old one end, before our handler has let go of it. (The session still bounds
    /// how many ended streams the application may hold; see `Session::on_syn`.)
    pub(crate) fn has_ended(&self) -> bool {
        self.closed_cleanly || self.reset
    }

    /// Records a FIN (ours or the peer's): once both are in, before any reset, the stream
    /// is closed both ways for good (a later reset does not make it count again).
    pub(crate) fn note_fin(&mut self) {
        if !self.reset && self.write_closed && self.read_closed {
            self.closed_cleanly = true;
        }
    }

    /// Whether the session may forget the stream: the application let go of it and nothing
    /// is left to send or receive.
    pub(crate) fn is_finished(&self) -> bool {
        self.released
            && self.pending_flags.is_empty()
            && (self.reset || (self.write_closed && self.read_closed))
    }

    /// Takes `payload` (already checked against the credit) into the receive buffer, or
    /// drops it if nobody will read it. Returns whether it was buffered.
    pub(crate) fn receive(&mut self, payload: Bytes) -> bool {
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.receive_credit = self.receive_credit.saturating_sub(len);
        if payload.is_empty() || self.reset || self.read_closed || self.released {
            // Dropped data is as good as read: its credit flows back to the peer.
            return false;
        }
        self.buffered += len;
        self.buffer.push_back(payload);
        true
    }

    /// Removes up to `max_len` bytes from the front of the receive buffer.
    pub(crate) fn read_chunk(&mut self, max_len: usize) -> Option<Bytes> {
        let front = self.buffer.front_mut()?;
        let chunk = if front.len() <= max_len {
            self.buffer.pop_front()?
        } else {
            front.split_to(max_len)
        };
        self.buffered -= u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        Some(chunk)
    }

    /// Gives up the receive buffer's room if it holds nothing (a quiet stream).
    pub(crate) fn shrink_buffer(&mut self) {
        if self.buffer.is_empty() {
            self.buffer = VecDeque::new();
        }
    }

    /// Drops everything buffered (on reset or release).
    pub(crate) fn discard_buffer(&mut self) {
        self.buffer.clear();
        self.buffered = 0;
    }

    /// Credit the reader has freed that the peer does not know about yet.
    fn unannounced_credit(&self) -> u32 {
        self.receive_window - self.receive_credit - self.buffered
    }

    /// Whether enough credit has been freed to be worth a Window Update: a quarter of the
    /// window. rust-yamux and go-yamux wait for half, and a window-bound stream then tends to
    /// settle into one burst of half the window per round trip: on a 60 ms path with a
    /// 16 MiB window, TCP + TLS carried 8.4 MB per 61 ms (1.1 Gbit/s) with the other half
    /// held as unannounced or unread credit. At a quarter, at least three quarters of the
    /// window stay usable, for one 12-byte frame per quarter window.
    pub(crate) fn wants_window_update(&self) -> bool {
        !self.read_closed
            && !self.reset
            && self.unannounced_credit() >= self.receive_window / UPDATE_DIVISOR
    }

    /// How far the window could grow at the next update: it at most doubles, up to
    /// `max_window`.
    pub(crate) fn growth_room(&self, max_window: u32) -> usize {
        self.receive_window
            .min(max_window.saturating_sub(self.receive_window)) as usize
    }

    /// Grants the peer the credit the reader freed, growing the window first if the reader
    /// drains it fast. Returns the delta to send.
    ///
    /// Auto-tuning: an epoch runs from one window update to the next, during which the
    /// reader drained at least a quarter of the window. If that took less than
    /// [`AUTO_TUNE_RTT_FACTOR`] round trips, the sender was held back by our window rather
    /// than by the reader or the network, so the window doubles, up to `max_window` and as far
    /// as `budget` (the connection's unused receive window) allows. When the network is the
    /// bottleneck, draining a quarter window of `W` bytes at bandwidth `B` takes `W / 4B`, so
    /// growth stops by itself once `W` exceeds `4 × factor` = 8 bandwidth-delay products; a
    /// slow reader never grows its window. Windows never shrink.
    pub(crate) fn take_window_update(
        &mut self,
        now: Option<Instant>,
        rtt: Option<Duration>,
        max_window: u32,
        budget: &mut usize,
    ) -> u32 {
        if let (Some(start), Some(now), Some(rtt)) = (self.epoch_start, now, rtt)
            && now.saturating_duration_since(start) < rtt * AUTO_TUNE_RTT_FACTOR
        {
            let growth = self
                .receive_window
                .min(max_window.saturating_sub(self.receive_window))
                .min(u32::try_from(*budget).unwrap_or(u32::MAX));
            self.receive_window += growth;
            *budget -= growth as usize;
        }
        self.epoch_start = now.or(self.epoch_start);
        let delta = self.unannounced_credit();
        self.receive_credit += delta;
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = 16 * 1024 * 1024;

    fn drain(stream: &mut StreamState, bytes: u32) {
        assert!(stream.receive(Bytes::from(vec![0; bytes as usize])));
        while stream.read_chunk(usize::MAX).is_some() {}
    }

    #[test]
    fn a_fast_reader_doubles_its_window_up_to_the_maximum() {
        let start = Instant::now();
        let rtt = Duration::from_millis(10);
        let mut budget = usize::MAX;
        let mut stream = StreamState::new(Direction::Inbound, Some(start));
        let mut now = start;
        for _ in 0..20 {
            let window = stream.receive_window;
            drain(&mut stream, window / 2);
            now += rtt;
            stream.take_window_update(Some(now), Some(rtt), MAX, &mut budget);
        }
        assert_eq!(stream.receive_window, MAX);
        assert_eq!(stream.receive_credit, MAX);
    }

    #[test]
    fn a_slow_reader_keeps_the_initial_window() {
        let start = Instant::now();
        let rtt = Duration::from_millis(10);
        let mut budget = usize::MAX;
        let mut stream = StreamState::new(Direction::Inbound, Some(start));
        let mut now = start;
        for _ in 0..20 {
            drain(&mut stream, INITIAL_WINDOW / 2);
            now += rtt * 5;
            let delta = stream.take_window_update(Some(now), Some(rtt), MAX, &mut budget);
            assert_eq!(delta, INITIAL_WINDOW / 2);
        }
        assert_eq!(stream.receive_window, INITIAL_WINDOW);
    }

    #[test]
    fn growth_stops_at_the_connection_budget() {
        let start = Instant::now();
        let rtt = Duration::from_millis(10);
        let mut budget = 100_000;
        let mut stream = StreamState::new(Direction::Inbound, Some(start));
        drain(&mut stream, INITIAL_WINDOW / 2);
        let delta = stream.take_window_update(Some(start), Some(rtt), MAX, &mut budget);
        assert_eq!(stream.receive_window, INITIAL_WINDOW + 100_000);
        assert_eq!(delta, INITIAL_WINDOW / 2 + 100_000);
        assert_eq!(budget, 0);
    }

    #[test]
    fn no_growth_without_an_rtt_measurement() {
        let start = Instant::now();
        let mut budget = usize::MAX;
        let mut stream = StreamState::new(Direction::Inbound, Some(start));
        drain(&mut stream, INITIAL_WINDOW);
        assert_eq!(
            stream.take_window_update(Some(start), None, MAX, &mut budget),
            INITIAL_WINDOW
        );
        assert_eq!(stream.receive_window, INITIAL_WINDOW);
    }

    #[test]
    fn buffered_data_holds_back_credit() {
        let quarter = INITIAL_WINDOW / 4;
        let mut stream = StreamState::new(Direction::Inbound, None);
        assert!(stream.receive(Bytes::from(vec![1; 2 * quarter as usize])));
        assert!(!stream.wants_window_update());
        assert_eq!(
            stream
                .read_chunk(quarter as usize - 1)
                .map(|chunk| chunk.len()),
            Some(quarter as usize - 1)
        );
        assert_eq!(stream.buffered(), quarter + 1);
        assert!(!stream.wants_window_update());
        assert_eq!(stream.read_chunk(1).map(|chunk| chunk.len()), Some(1));
        assert!(stream.wants_window_update());
    }
}
