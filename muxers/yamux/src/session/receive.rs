//! How a [`Session`] handles each frame the peer sends.

use std::time::{Duration, Instant};

use bytes::buf::Limit;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tracing::{debug, trace};

use super::{Event, Session, mark_reset};
use crate::Error;
use crate::config::INITIAL_WINDOW;
use crate::frame::{Flags, FrameType, GoAwayCode, HEADER_LEN, Header, StreamId};
use crate::stream_state::{Direction, StreamState};

impl Session {
    /// Processes every complete frame at the front of `input`, leaving a partial frame in it.
    ///
    /// A Data frame longer than the window it may use is rejected as soon as its header is
    /// there. On a protocol violation the session queues a Go Away (protocol error), closes
    /// and returns the violation; after that, input is ignored.
    ///
    /// While [`Session::wants_input`] is false (the peer is not reading what we send), frames
    /// are left in `input`, complete or not: call again once it is true.
    pub fn handle_input(&mut self, now: Instant, input: &mut BytesMut) -> Result<(), Error> {
        self.now = Some(now);
        // Anything the peer sends may need an answer: the headroom for answers is reserved
        // first (refused, the input waits for memory).
        if !input.is_empty() && self.touch().is_err() {
            return Ok(());
        }
        while !self.closed {
            if !self.wants_input() {
                trace!("peer is not reading, input paused");
                return Ok(());
            }
            let header = match Header::decode(input) {
                Ok(Some(header)) => header,
                Ok(None) => return Ok(()),
                Err(error) => return Err(self.protocol_error(error)),
            };
            if let Err(error) = self.check_data_len(&header) {
                return Err(self.protocol_error(error));
            }
            // Before the payload is read: the window it fills is reserved (refused, the frame
            // waits for memory).
            if !self.wake_window(&header) {
                return Ok(());
            }
            let payload_len = header.payload_len();
            if input.len() < HEADER_LEN + payload_len {
                return Ok(());
            }
            input.advance(HEADER_LEN);
            // Copied, not sliced: a payload in the buffer then costs exactly its size, so the
            // windows bound our memory, and `input` stays unshared, reused without allocating.
            let payload = Bytes::copy_from_slice(&input[..payload_len]);
            input.advance(payload_len);
            if let Err(error) = self.on_frame(now, header, payload) {
                return Err(self.protocol_error(error));
            }
        }
        input.clear();
        Ok(())
    }

    /// After [`Session::handle_input`] stopped at an incomplete Data frame whose payload is at
    /// least `min_len` bytes, takes that frame out of `input`: its header, and what arrived of
    /// its payload moved into the buffer `buffer_for(len)` returns for the whole payload of
    /// `len` bytes.
    ///
    /// The caller reads the rest straight into [`PendingPayload::buf_mut`] and hands the frame
    /// to [`Session::handle_payload`] once [complete](PendingPayload::is_complete). Bulk data
    /// then skips one copy (out of `input`), and readers get the payload in that very buffer.
    ///
    /// The buffer is the caller's memory strategy: `BytesMut::with_capacity` for one of
    /// exactly `len` bytes, or one kept from an earlier payload (anything in it is discarded;
    /// one with less room grows). A buffered payload pins the buffer's whole capacity, so to
    /// keep the windows bounding memory, supply none much larger than `len` (the
    /// [`Connection`](crate::Connection) driver's are at most twice it). `buffer_for` is
    /// called only when a frame is taken. The header was checked against the window by
    /// `handle_input`, so its length is one we granted.
    pub fn take_pending_payload(
        &mut self,
        input: &mut BytesMut,
        min_len: usize,
        buffer_for: impl FnOnce(usize) -> BytesMut,
    ) -> Option<PendingPayload> {
        if self.closed || !self.wants_input() {
            return None;
        }
        let header = Header::decode(input).ok()??;
        let payload_len = header.payload_len();
        let incomplete = input.len() < HEADER_LEN + payload_len;
        if header.frame_type != FrameType::Data || payload_len < min_len || !incomplete {
            return None;
        }
        self.check_data_len(&header).ok()?;
        if !self.wake_window(&header) {
            return None;
        }
        input.advance(HEADER_LEN);
        let mut payload = buffer_for(payload_len);
        payload.clear();
        payload.extend_from_slice(input);
        input.clear();
        Some(PendingPayload { header, payload })
    }

    /// Processes a frame taken with [`Session::take_pending_payload`] once its payload is
    /// complete, as [`Session::handle_input`] would have.
    pub fn handle_payload(&mut self, now: Instant, pending: PendingPayload) -> Result<(), Error> {
        self.now = Some(now);
        if self.closed {
            return Ok(());
        }
        debug_assert!(
            pending.is_complete(),
            "payload handed over before it was complete"
        );
        let PendingPayload { header, payload } = pending;
        if let Err(error) = self.check_data_len(&header) {
            return Err(self.protocol_error(error));
        }
        if let Err(error) = self.on_frame(now, header, payload.freeze()) {
            return Err(self.protocol_error(error));
        }
        Ok(())
    }

    /// Rejects a Data frame longer than the window it may use, before its payload arrives.
    fn check_data_len(&self, header: &Header) -> Result<(), Error> {
        if header.frame_type != FrameType::Data {
            return Ok(());
        }
        let len = header.length;
        match self.streams.get(&header.stream_id) {
            Some(stream) if len > stream.receive_credit => Err(Error::ReceiveWindowExceeded {
                stream: header.stream_id,
                len,
                window: stream.receive_credit,
            }),
            None if header.flags.contains(Flags::SYN) && len > INITIAL_WINDOW => {
                Err(Error::ReceiveWindowExceeded {
                    stream: header.stream_id,
                    len,
                    window: INITIAL_WINDOW,
                })
            }
            None if len > self.config.max_receive_window => Err(Error::FrameTooLarge {
                len,
                max: self.config.max_receive_window,
            }),
            _ => Ok(()),
        }
    }

    fn on_frame(&mut self, now: Instant, header: Header, payload: Bytes) -> Result<(), Error> {
        match header.frame_type {
            FrameType::Data | FrameType::WindowUpdate => self.on_stream_frame(header, payload),
            FrameType::Ping => {
                self.on_ping(now, header);
                Ok(())
            }
            FrameType::GoAway => {
                self.on_go_away(GoAwayCode::from_u32(header.length));
                Ok(())
            }
        }
    }

    fn on_stream_frame(&mut self, header: Header, payload: Bytes) -> Result<(), Error> {
        let id = header.stream_id;
        let flags = header.flags;
        if id.is_session() {
            return Err(Error::InvalidStreamId(id));
        }
        if flags.contains(Flags::SYN) && !self.on_syn(id, flags)? {
            return Ok(());
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            trace!(stream = %id, ?flags, "frame for unknown stream dropped");
            return Ok(());
        };
        if stream.in_ack_backlog {
            // Any answer, ACK or not, shows the peer has taken the stream.
            stream.in_ack_backlog = false;
            self.ack_backlog -= 1;
            self.notify_open_capacity();
        }
        if flags.contains(Flags::RST) {
            self.on_remote_reset(id);
            return Ok(());
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        match header.frame_type {
            FrameType::Data => {
                if stream.receive(payload) {
                    if std::mem::take(&mut stream.read_waiting) {
                        self.events.push_back(Event::Readable(id));
                    }
                } else if stream.wants_window_update() {
                    self.queue_control(id);
                }
            }
            _ => {
                stream.send_window = stream
                    .send_window
                    .checked_add(header.length)
                    .ok_or(Error::SendWindowOverflow(id))?;
                if header.length > 0 && std::mem::take(&mut stream.write_waiting) {
                    self.events.push_back(Event::Writable(id));
                }
            }
        }
        if flags.contains(Flags::FIN)
            && let Some(stream) = self.streams.get_mut(&id)
            && !stream.read_closed
        {
            stream.read_closed = true;
            stream.note_fin();
            if std::mem::take(&mut stream.read_waiting) {
                self.events.push_back(Event::Readable(id));
            }
            self.free_if_finished(id);
            // Closed both ways now, perhaps: that stream no longer counts toward the limit.
            self.notify_open_capacity();
        }
        Ok(())
    }

    /// Handles a SYN: registers the new inbound stream, or refuses it with RST. Returns
    /// whether the rest of the frame applies to a stream we keep.
    fn on_syn(&mut self, id: StreamId, flags: Flags) -> Result<bool, Error> {
        if self.is_ours(id) {
            return Err(Error::InvalidStreamId(id));
        }
        if self.streams.contains_key(&id) {
            return Err(Error::DuplicateStream(id));
        }
        if flags.contains(Flags::RST) {
            return Ok(false);
        }
        // Ended streams our application still holds do not count toward the limit (the
        // peer has forgotten them), but at most as many again are kept: a peer resetting
        // streams cannot make our application work on more than twice the limit.
        let admitted = !self.local_go_away
            && self.remote_go_away.is_none()
            && self.live_streams(false) < self.config.max_streams
            && self.held_inbound_streams() < self.config.max_streams.saturating_mul(2)
            && self.pending_inbound.len() < self.config.max_pending_inbound_streams
            && self.reserve_initial_window().is_ok();
        if !admitted {
            debug!(stream = %id, "refusing inbound stream");
            self.queue_control_frame(Header::window_update(id, Flags::RST, 0));
            return Ok(false);
        }
        self.streams
            .insert(id, StreamState::new(Direction::Inbound, self.now));
        self.pending_inbound.push_back(id);
        if std::mem::take(&mut self.accept_waiting) {
            self.events.push_back(Event::IncomingStream);
        }
        trace!(stream = %id, "inbound stream");
        Ok(true)
    }

    fn on_remote_reset(&mut self, id: StreamId) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.reset {
            return;
        }
        trace!(stream = %id, "stream reset by peer");
        mark_reset(stream);
        if !stream.accepted {
            // The application never saw it: nothing to tell, nobody to release it.
            stream.released = true;
        }
        if std::mem::take(&mut stream.read_waiting) {
            self.events.push_back(Event::Readable(id));
        }
        if std::mem::take(&mut stream.write_waiting) | std::mem::take(&mut stream.buffer_waiting) {
            self.events.push_back(Event::Writable(id));
        }
        self.free_if_finished(id);
        // Ended: it no longer counts toward the limit.
        self.notify_open_capacity();
    }

    fn on_ping(&mut self, now: Instant, header: Header) {
        let opaque = header.length;
        if header.flags.contains(Flags::SYN) {
            self.queue_control_frame(Header::ping(Flags::ACK, opaque));
        } else if header.flags.contains(Flags::ACK) {
            if let Some((sent, at)) = self.rtt_ping
                && sent == opaque
            {
                self.rtt_ping = None;
                self.record_rtt(now.saturating_duration_since(at));
            } else if let Some(index) = self.user_pings.iter().position(|(sent, _)| *sent == opaque)
                && let Some((_, at)) = self.user_pings.remove(index)
            {
                let rtt = now.saturating_duration_since(at);
                self.record_rtt(rtt);
                self.events.push_back(Event::Pong { opaque, rtt });
            }
        }
    }

    fn on_go_away(&mut self, code: GoAwayCode) {
        debug!(?code, "peer sent go away");
        self.remote_go_away = Some(code);
        self.events.push_back(Event::GoAway(code));
        if code != GoAwayCode::Normal {
            self.terminate();
        }
    }

    fn record_rtt(&mut self, sample: Duration) {
        self.rtt = Some(match self.rtt {
            None => sample,
            Some(smoothed) => (smoothed * 7 + sample) / 8,
        });
    }

    /// Queues Go Away (protocol error), closes the session and hands `error` back.
    fn protocol_error(&mut self, error: Error) -> Error {
        debug!(%error, "protocol error, closing session");
        if !self.closed {
            Header::go_away(GoAwayCode::ProtocolError).encode_to(&mut self.out);
            self.local_go_away = true;
            self.terminate();
        }
        error
    }
}

/// A Data frame whose payload is being read into a buffer of its own: see
/// [`Session::take_pending_payload`].
#[derive(Debug)]
pub struct PendingPayload {
    header: Header,
    payload: BytesMut,
}

impl PendingPayload {
    /// Payload bytes still to arrive.
    pub fn remaining(&self) -> usize {
        self.header.payload_len().saturating_sub(self.payload.len())
    }

    /// Whether the whole payload has arrived.
    pub fn is_complete(&self) -> bool {
        self.remaining() == 0
    }

    /// Where the next bytes of the payload go: a buffer that takes at most
    /// [`PendingPayload::remaining`] bytes.
    pub fn buf_mut(&mut self) -> Limit<&mut BytesMut> {
        let remaining = self.remaining();
        (&mut self.payload).limit(remaining)
    }
}
