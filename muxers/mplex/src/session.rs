//! The sans-IO mplex session: feed it received bytes, take the bytes it wants sent, with the
//! sans-IO verbs of every hyphae core (see "The sans-IO verbs" in the crate docs of
//! `hyphae_core`). mplex keeps no time and reports no events (its driver wakes every waiter on
//! any change), so it needs only `handle_input` and `poll_transmit`.

use std::collections::{HashMap, VecDeque};

use bytes::{Buf, Bytes};
use hyphae_core::resources::Scope;
use tracing::debug;

use crate::frame::{self, Flag, Frame, MAX_FRAME_DATA};
use crate::{Config, Error};

/// Room for the frames we send in answer to the peer (resets of the streams it opens past
/// the limits) beyond [`Config::max_outbound_buffer`], which bounds our own writes. Once
/// the outbound queue fills it, the peer is not reading what we send: the session takes no
/// more input ([`Session::is_read_blocked`]) until the queue drains, so a peer that opens
/// streams without reading neither grows our memory nor keeps our CPU busy.
const CONTROL_HEADROOM: usize = 64 * 1024;

/// A stream of a session: its number and which side opened it.
///
/// mplex numbers streams per opener, so both sides may use the same number at once; the
/// frame's flag (Initiator/Receiver) tells which of the two a frame concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId {
    /// The stream number chosen by its opener.
    pub number: u64,
    /// Whether we opened the stream.
    pub is_outbound: bool,
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Buffered data (never empty).
    Data(Bytes),
    /// Nothing buffered yet; the peer may still send.
    Blocked,
    /// The peer closed its side and every byte was read (end of stream).
    Finished,
}

#[derive(Debug, Default)]
struct StreamState {
    buffer: VecDeque<Bytes>,
    buffered: usize,
    is_remote_closed: bool,
    is_local_closed: bool,
    is_reset: bool,
}

/// Whether [`Session::handle_input`] could take a frame.
enum Taken {
    Yes,
    /// The frame is for this stream, whose buffer has no room for it yet.
    NoRoom(StreamId),
}

/// An mplex session as a state machine without I/O.
///
/// Received bytes go in through [`Session::handle_input`]; bytes to send come out of
/// [`Session::poll_transmit`]. A protocol violation closes the session: the error is returned
/// once, and every later call sees [`Error::ConnectionClosed`].
#[derive(Debug)]
pub struct Session {
    config: Config,
    streams: HashMap<StreamId, StreamState>,
    pending_inbound: VecDeque<StreamId>,
    next_number: u64,
    outbound: Vec<u8>,
    /// The stream whose full buffer stopped [`Session::handle_input`]; see [`Session::is_read_blocked`].
    blocked: Option<StreamId>,
    is_closed: bool,
    /// Where the outbound queue and received data are reserved, if anywhere.
    memory: Option<Scope>,
    /// Received bytes buffered in streams (reserved in `memory`).
    buffered: usize,
}

impl Session {
    /// A new session with `config`'s limits.
    pub fn new(config: Config) -> Session {
        Session {
            config,
            streams: HashMap::new(),
            pending_inbound: VecDeque::new(),
            next_number: 0,
            outbound: Vec::new(),
            blocked: None,
            is_closed: false,
            memory: None,
            buffered: 0,
        }
    }

    /// This session, reserving from `scope` its outbound queue now (refused if the scope
    /// cannot spare it) and every received byte while it is buffered. mplex has no flow
    /// control, so a data frame the scope cannot hold resets its stream, as rust-libp2p's
    /// `MaxBufferBehaviour::ResetStream` does for a full buffer.
    pub fn with_memory_scope(mut self, scope: Scope) -> Result<Session, Error> {
        scope.reserve_memory(self.fixed_memory())?;
        self.memory = Some(scope);
        Ok(self)
    }

    fn fixed_memory(&self) -> usize {
        self.config.max_outbound_buffer + CONTROL_HEADROOM
    }

    /// Gives back the reservation of `bytes` no longer buffered.
    fn unbuffer(&mut self, bytes: usize) {
        self.buffered -= bytes;
        if let Some(memory) = &self.memory {
            memory.release_memory(bytes);
        }
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.is_closed
    }

    /// Whether receiving stopped at a data frame for a stream whose buffer is full.
    ///
    /// mplex has no flow control, so like rust-libp2p's default (`MaxBufferBehaviour::Block`)
    /// the only back-pressure is to stop reading the connection until that stream's reader
    /// makes room: the driver reads no more bytes while this holds, and calls
    /// [`Session::handle_input`] again with what it kept once a [`Session::read`] of that stream
    /// (or its reset) clears it. A stream nobody reads therefore stalls its whole connection.
    ///
    /// It also holds while the outbound queue is past [`Config::max_outbound_buffer`] and the
    /// control headroom: the peer is not reading what we send, and the frames it sends may
    /// call for answers. The driver calls [`Session::handle_input`] again once
    /// [`Session::poll_transmit`] has taken the queue.
    pub fn is_read_blocked(&self) -> bool {
        self.blocked.is_some() || self.is_outbound_full()
    }

    /// Whether the outbound queue holds more than our writes and the answers we may owe.
    fn is_outbound_full(&self) -> bool {
        !self.is_closed && self.outbound.len() >= self.config.max_outbound_buffer + CONTROL_HEADROOM
    }

    /// How many streams are open (including those not yet accepted).
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Closes the session: every stream ends with [`Error::ConnectionClosed`]. mplex has no
    /// goodbye frame; the caller flushes [`Session::poll_transmit`] and closes the connection.
    pub fn close(&mut self) {
        if !self.is_closed {
            debug!("mplex session closed");
        }
        self.is_closed = true;
        self.blocked = None;
        self.pending_inbound.clear();
    }

    /// Opens a stream (sends NewStream with an empty name).
    pub fn open_stream(&mut self) -> Result<StreamId, Error> {
        if self.is_closed {
            return Err(Error::ConnectionClosed);
        }
        if self.streams.len() >= self.config.max_streams {
            return Err(Error::TooManyStreams {
                max: self.config.max_streams,
            });
        }
        let id = StreamId {
            number: self.next_number,
            is_outbound: true,
        };
        self.next_number += 1;
        frame::encode(id.number, Flag::NewStream, b"", &mut self.outbound);
        self.streams.insert(id, StreamState::default());
        debug!(?id, "opened stream");
        Ok(id)
    }

    /// The next stream the peer opened, if any.
    pub fn accept(&mut self) -> Option<StreamId> {
        self.pending_inbound.pop_front()
    }

    /// Whether [`Session::write`] would accept bytes now (the outbound queue has room).
    pub fn can_write(&self) -> bool {
        self.outbound.len() < self.config.max_outbound_buffer
    }

    /// Queues `data` on stream `id`; returns how much was taken (0 while the outbound queue
    /// is full: wait until the bytes are taken, then retry).
    pub fn write(&mut self, id: StreamId, data: &[u8]) -> Result<usize, Error> {
        let state = self.stream(id)?;
        if state.is_reset {
            return Err(Error::StreamReset(id));
        }
        if state.is_local_closed {
            return Err(Error::WriteClosed(id));
        }
        if data.is_empty() || !self.can_write() {
            return Ok(0);
        }
        let room = self.config.max_outbound_buffer - self.outbound.len();
        let taken = data.len().min(room).min(MAX_FRAME_DATA);
        let flag = if id.is_outbound {
            Flag::MessageInitiator
        } else {
            Flag::MessageReceiver
        };
        frame::encode(id.number, flag, &data[..taken], &mut self.outbound);
        Ok(taken)
    }

    /// Reads up to `max` buffered bytes of stream `id`.
    ///
    /// Data received before the session closed stays readable after it, and so does data
    /// received before the peer reset the stream: what a peer sends just before resetting is
    /// often why it resets (a multistream-select `na`, an error message). Only then does the
    /// read fail with [`Error::StreamReset`]. After our own reset, reads fail at once.
    pub fn read(&mut self, id: StreamId, max: usize) -> Result<ReadOutcome, Error> {
        let is_closed = self.is_closed;
        let state = self.streams.get_mut(&id).ok_or(Error::UnknownStream(id))?;
        if state.is_reset && state.buffered == 0 {
            return Err(Error::StreamReset(id));
        }
        let Some(front) = state.buffer.front_mut() else {
            if state.is_remote_closed {
                return Ok(ReadOutcome::Finished);
            }
            if is_closed {
                return Err(Error::ConnectionClosed);
            }
            return Ok(ReadOutcome::Blocked);
        };
        let chunk = if front.len() <= max {
            state.buffer.pop_front().unwrap_or_default()
        } else {
            let chunk = front.slice(..max);
            front.advance(max);
            chunk
        };
        state.buffered -= chunk.len();
        if chunk.is_empty() {
            return Ok(ReadOutcome::Blocked);
        }
        self.unbuffer(chunk.len());
        self.unblock(id);
        Ok(ReadOutcome::Data(chunk))
    }

    /// Half-closes stream `id`: we send no more, the peer may still.
    pub fn close_write(&mut self, id: StreamId) -> Result<(), Error> {
        let state = self.stream_mut(id)?;
        if state.is_reset {
            return Err(Error::StreamReset(id));
        }
        if state.is_local_closed {
            return Ok(());
        }
        state.is_local_closed = true;
        let flag = if id.is_outbound {
            Flag::CloseInitiator
        } else {
            Flag::CloseReceiver
        };
        frame::encode(id.number, flag, b"", &mut self.outbound);
        Ok(())
    }

    /// Resets stream `id`: both directions end at once, unread data is dropped.
    pub fn reset(&mut self, id: StreamId) -> Result<(), Error> {
        if self.is_closed {
            return Ok(());
        }
        let state = self.streams.get_mut(&id).ok_or(Error::UnknownStream(id))?;
        let dropped = if state.is_reset {
            0
        } else {
            Self::reset_state(state, id, &mut self.outbound)
        };
        self.unbuffer(dropped);
        self.unblock(id);
        Ok(())
    }

    /// Forgets stream `id` (its handle was dropped): a stream not closed both ways is reset
    /// first, so the peer never takes a truncated stream for a complete one.
    pub fn release(&mut self, id: StreamId) {
        let is_closed = self.is_closed;
        if let Some(state) = self.streams.get_mut(&id) {
            let mut dropped = state.buffered;
            if !state.is_reset && !state.is_local_closed && !is_closed {
                dropped = Self::reset_state(state, id, &mut self.outbound);
            }
            self.streams.remove(&id);
            self.unbuffer(dropped);
        }
        self.unblock(id);
    }

    /// Lets [`Session::handle_input`] go on if it was waiting for room in stream `id`.
    fn unblock(&mut self, id: StreamId) {
        if self.blocked == Some(id) {
            self.blocked = None;
        }
    }

    /// Takes every byte queued for sending, appending it to `out` (swapped in without copying
    /// if `out` is empty).
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            std::mem::swap(out, &mut self.outbound);
        } else {
            out.append(&mut self.outbound);
        }
    }

    /// Whether [`Session::poll_transmit`] has bytes to send.
    pub fn has_transmit(&self) -> bool {
        !self.outbound.is_empty()
    }

    /// Processes every complete frame at the front of `bytes`.
    ///
    /// Returns how many bytes were used: the caller drops those, keeps the rest and calls
    /// again with more. It stops early at a data frame for a stream whose buffer is full, and
    /// while the peer is not reading what we send ([`Session::is_read_blocked`]). A protocol
    /// violation closes the session.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        if self.is_closed {
            return Err(Error::ConnectionClosed);
        }
        self.blocked = None;
        let mut used = 0;
        loop {
            if self.is_outbound_full() {
                debug!("peer is not reading, reading paused");
                return Ok(used);
            }
            match frame::decode(&bytes[used..], MAX_FRAME_DATA) {
                Ok(Some((frame, consumed))) => match self.on_frame(frame) {
                    Ok(Taken::Yes) => used += consumed,
                    Ok(Taken::NoRoom(id)) => {
                        self.blocked = Some(id);
                        return Ok(used);
                    }
                    Err(error) => {
                        debug!(%error, "protocol violation, closing");
                        self.close();
                        return Err(error);
                    }
                },
                Ok(None) => return Ok(used),
                Err(error) => {
                    debug!(%error, "malformed frame, closing");
                    self.close();
                    return Err(error);
                }
            }
        }
    }

    fn on_frame(&mut self, frame: Frame) -> Result<Taken, Error> {
        // The flag says which side sent the frame relative to the stream's opener: a frame
        // the opener ("Initiator") sent concerns a stream the peer opened, and vice versa.
        let (is_outbound, kind) = match frame.flag {
            Flag::NewStream => return self.on_new_stream(frame.stream).map(|()| Taken::Yes),
            Flag::MessageInitiator => (false, Flag::MessageInitiator),
            Flag::MessageReceiver => (true, Flag::MessageInitiator),
            Flag::CloseInitiator => (false, Flag::CloseInitiator),
            Flag::CloseReceiver => (true, Flag::CloseInitiator),
            Flag::ResetInitiator => (false, Flag::ResetInitiator),
            Flag::ResetReceiver => (true, Flag::ResetInitiator),
        };
        let id = StreamId {
            number: frame.stream,
            is_outbound,
        };
        let max_buffer = self.config.max_buffer_per_stream;
        // Frames for a stream we no longer know (reset or released by us) are dropped.
        let Some(state) = self.streams.get_mut(&id) else {
            return Ok(Taken::Yes);
        };
        match kind {
            Flag::MessageInitiator => {
                if state.is_reset {
                    return Ok(Taken::Yes);
                }
                if state.is_remote_closed {
                    return Err(Error::WriteAfterClose(id.number));
                }
                // An empty buffer takes any frame (frames are bounded by MAX_FRAME_DATA), so
                // a limit below one frame cannot wedge the connection.
                if state.buffered > 0 && state.buffered + frame.data.len() > max_buffer {
                    debug!(?id, "stream buffer full, reading paused");
                    return Ok(Taken::NoRoom(id));
                }
                let len = frame.data.len();
                if let Some(memory) = &self.memory
                    && let Err(refused) = memory.reserve_memory(len)
                {
                    debug!(?id, %refused, "no memory for a data frame, resetting the stream");
                    let dropped = Self::reset_state(state, id, &mut self.outbound);
                    self.unbuffer(dropped);
                    self.unblock(id);
                    return Ok(Taken::Yes);
                }
                if len > 0 {
                    self.buffered += len;
                    state.buffered += len;
                    state.buffer.push_back(frame.data);
                }
            }
            Flag::CloseInitiator => state.is_remote_closed = true,
            // What arrived before the reset stays readable; see `Session::read`.
            _ => state.is_reset = true,
        }
        Ok(Taken::Yes)
    }

    fn on_new_stream(&mut self, number: u64) -> Result<(), Error> {
        let id = StreamId {
            number,
            is_outbound: false,
        };
        if self.streams.contains_key(&id) {
            return Err(Error::DuplicateStream(number));
        }
        if self.streams.len() >= self.config.max_streams
            || self.pending_inbound.len() >= self.config.max_pending_inbound
        {
            debug!(?id, "too many streams, resetting inbound stream");
            frame::encode(number, Flag::ResetReceiver, b"", &mut self.outbound);
            return Ok(());
        }
        self.streams.insert(id, StreamState::default());
        self.pending_inbound.push_back(id);
        debug!(?id, "peer opened stream");
        Ok(())
    }

    /// Resets a stream and drops what it buffered; returns how many bytes that was.
    fn reset_state(state: &mut StreamState, id: StreamId, outbound: &mut Vec<u8>) -> usize {
        state.is_reset = true;
        state.buffer.clear();
        let dropped = std::mem::take(&mut state.buffered);
        let flag = if id.is_outbound {
            Flag::ResetInitiator
        } else {
            Flag::ResetReceiver
        };
        frame::encode(id.number, flag, b"", outbound);
        dropped
    }

    fn stream(&self, id: StreamId) -> Result<&StreamState, Error> {
        if self.is_closed {
            return Err(Error::ConnectionClosed);
        }
        self.streams.get(&id).ok_or(Error::UnknownStream(id))
    }

    fn stream_mut(&mut self, id: StreamId) -> Result<&mut StreamState, Error> {
        if self.is_closed {
            return Err(Error::ConnectionClosed);
        }
        self.streams.get_mut(&id).ok_or(Error::UnknownStream(id))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(memory) = &self.memory {
            memory.release_memory(self.fixed_memory() + self.buffered);
        }
    }
}
