//! [`WsStream`]: a byte stream carried as binary WebSocket messages (RFC 6455 sections 5
//! and 7), the thin tokio driver around [`crate::frame`].
//!
//! Each write becomes one binary frame of at most [`Config::write_frame_size`] bytes; reads
//! yield the payloads of data frames in order, whatever their message boundaries (text
//! frames are passed through as bytes too). Pings are answered, close frames end the stream
//! in both directions.
//!
//! Copies: a payload is copied at most once on the way in (from the read buffer, or not at
//! all when the caller's buffer is large enough to read into directly) and at most once on
//! the way out (servers write header and payload with one vectored write and only buffer
//! what the socket did not take; clients must mask, so they copy and mask in one pass).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::Config;
use crate::error::FrameError;
use crate::frame::{
    self, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, Header, MAX_CONTROL_PAYLOAD,
    MAX_HEADER_LEN, MaskRng, OpCode, Role,
};

/// The read buffer's size. Headers and control payloads (at most 139 bytes) always fit, and
/// reads into a caller's buffer at least this large bypass it.
const READ_BUFFER: usize = 16 * 1024;

/// An upgraded WebSocket connection used as one ordered byte stream.
#[derive(Debug)]
pub struct WsStream<T> {
    io: T,
    role: Role,
    rng: MaskRng,
    max_frame_size: u64,
    write_frame_size: usize,
    /// Received bytes not yet consumed: `read_buffer[read_start..read_end]`.
    read_buffer: Box<[u8]>,
    read_start: usize,
    read_end: usize,
    read: ReadState,
    /// A fragmented message has started and not yet ended.
    in_message: bool,
    /// Encoded frames not yet written: `write_buffer[write_start..]`. Holds at most one data
    /// frame plus control frames, so it stays within one frame's size.
    write_buffer: Vec<u8>,
    write_start: usize,
    /// The pong owed for the latest ping (older ones need no answer: RFC 6455 section 5.5.3).
    pending_pong: Option<ControlPayload>,
    /// A close frame to send; the inner `Option` is its status code (none for an empty echo).
    pending_close: Option<Option<u16>>,
    /// A close frame is queued or sent: no more data may be written.
    is_close_sent: bool,
    /// The last write, flush or shutdown returned `Pending`, so the writer's task waits on
    /// the socket and will flush queued control frames itself. Reads then leave writing
    /// alone rather than take over the socket's write wake-up.
    is_writer_waiting: bool,
}

#[derive(Debug, Clone, Copy)]
enum ReadState {
    /// Waiting for a frame header.
    Header,
    /// Inside a data frame's payload.
    Data {
        remaining: u64,
        mask: Option<[u8; 4]>,
        /// Payload bytes already delivered, modulo 4: the masking key's phase.
        phase: usize,
    },
    /// Waiting for a whole control frame's payload.
    Control(Header),
    /// A close frame arrived or the connection ended between frames.
    Eof,
    /// The peer broke the protocol; every further read fails.
    Failed(FrameError),
}

#[derive(Debug, Clone, Copy)]
struct ControlPayload {
    len: usize,
    bytes: [u8; MAX_CONTROL_PAYLOAD],
}

impl<T> WsStream<T> {
    /// Wraps a connection whose upgrade handshake is complete; `received` holds bytes read
    /// past the end of the handshake (the first frames).
    pub(crate) fn new(io: T, role: Role, received: &[u8], config: &Config) -> WsStream<T> {
        let mut read_buffer = vec![0; READ_BUFFER.max(received.len())].into_boxed_slice();
        read_buffer[..received.len()].copy_from_slice(received);
        WsStream {
            io,
            role,
            rng: MaskRng::from_os(),
            max_frame_size: config.max_frame_size as u64,
            write_frame_size: config.write_frame_size.max(1),
            read_buffer,
            read_start: 0,
            read_end: received.len(),
            read: ReadState::Header,
            in_message: false,
            write_buffer: Vec::new(),
            write_start: 0,
            pending_pong: None,
            pending_close: None,
            is_close_sent: false,
            is_writer_waiting: false,
        }
    }

    /// Whether this end sent the upgrade request (and so masks its frames).
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection under the WebSocket.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The connection under the WebSocket; writing to it directly corrupts the stream.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsStream<T> {
    /// Reads more bytes into the read buffer; `Ok(0)` means the connection ended.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read_start == self.read_end {
            self.read_start = 0;
            self.read_end = 0;
        } else if self.read_buffer.len() - self.read_end < MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD {
            self.read_buffer
                .copy_within(self.read_start..self.read_end, 0);
            self.read_end -= self.read_start;
            self.read_start = 0;
        }
        let mut spare = ReadBuf::new(&mut self.read_buffer[self.read_end..]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut spare))?;
        let filled = spare.filled().len();
        self.read_end += filled;
        Poll::Ready(Ok(filled))
    }

    /// Writes out everything queued, then any owed pong and close frame.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.write_start == self.write_buffer.len() {
                self.write_buffer.clear();
                self.write_start = 0;
                if let Some(pong) = self.pending_pong.take() {
                    self.queue_frame(OpCode::Pong, &pong.bytes[..pong.len]);
                } else if let Some(code) = self.pending_close.take() {
                    let payload = code.map(u16::to_be_bytes);
                    self.queue_frame(OpCode::Close, payload.as_ref().map_or(&[], |p| &p[..]));
                } else {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let written = ready!(
                Pin::new(&mut self.io).poll_write(cx, &self.write_buffer[self.write_start..])
            )?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.write_start += written;
        }
    }

    /// Appends a frame to the write buffer, masking it if we are the client.
    fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        let mask = match self.role {
            Role::Client => Some(self.rng.next_key()),
            Role::Server => None,
        };
        let header = Header {
            fin: true,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.write_buffer.reserve(head_len + payload.len());
        self.write_buffer.extend_from_slice(&head[..head_len]);
        let start = self.write_buffer.len();
        self.write_buffer.extend_from_slice(payload);
        if let Some(key) = mask {
            frame::apply_mask(&mut self.write_buffer[start..], key, 0);
        }
    }

    /// Tries to send queued frames from the read side, unless a writer is already waiting
    /// on the socket (it will send them). Write errors are left for the writer.
    fn flush_control_from_read(&mut self, cx: &mut Context<'_>) {
        if !self.is_writer_waiting {
            let _ = self.poll_drain(cx);
        }
    }

    /// Records a protocol violation: answer with a close frame and fail this and later reads.
    fn fail(&mut self, cx: &mut Context<'_>, error: FrameError) -> Poll<io::Result<()>> {
        self.read = ReadState::Failed(error);
        if !self.is_close_sent && error != FrameError::Truncated {
            let code = match error {
                FrameError::TooLarge { .. } => CLOSE_TOO_BIG,
                _ => CLOSE_PROTOCOL_ERROR,
            };
            self.pending_close = Some(Some(code));
            self.is_close_sent = true;
            self.flush_control_from_read(cx);
        }
        Poll::Ready(Err(error.into()))
    }

    /// Moves to the state a new frame's header calls for.
    fn start_frame(&mut self, header: Header) -> Result<(), FrameError> {
        match header.opcode {
            OpCode::Continuation if !self.in_message => {
                return Err(FrameError::UnexpectedContinuation);
            }
            OpCode::Text | OpCode::Binary if self.in_message => {
                return Err(FrameError::UnfinishedMessage);
            }
            opcode if opcode.is_control() => {
                self.read = ReadState::Control(header);
                return Ok(());
            }
            _ => {}
        }
        self.in_message = !header.fin;
        self.read = ReadState::Data {
            remaining: header.payload_len,
            mask: header.mask,
            phase: 0,
        };
        Ok(())
    }

    /// Acts on a complete control frame. Returns whether the stream has ended.
    fn handle_control(
        &mut self,
        cx: &mut Context<'_>,
        header: Header,
        payload: ControlPayload,
    ) -> Result<bool, FrameError> {
        match header.opcode {
            OpCode::Ping => {
                self.pending_pong = Some(payload);
                self.flush_control_from_read(cx);
                Ok(false)
            }
            OpCode::Close => {
                let code = frame::parse_close(&payload.bytes[..payload.len])?;
                tracing::debug!(?code, "WebSocket close received");
                if !self.is_close_sent {
                    // RFC 6455 section 5.5.1: answer with a close frame, echoing the code.
                    self.pending_close = Some(code);
                    self.is_close_sent = true;
                }
                self.flush_control_from_read(cx);
                self.read = ReadState::Eof;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn poll_write_frame(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.is_close_sent {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the WebSocket is closing: no data may follow a close frame",
            )));
        }
        ready!(self.poll_drain(cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let payload = &data[..data.len().min(self.write_frame_size)];
        if self.role == Role::Server && self.io.is_write_vectored() {
            // Unmasked: try to hand header and payload to the socket without copying.
            let header = Header {
                fin: true,
                opcode: OpCode::Binary,
                mask: None,
                payload_len: payload.len() as u64,
            };
            let mut head = [0; MAX_HEADER_LEN];
            let head_len = header.encode(&mut head);
            let slices = [IoSlice::new(&head[..head_len]), IoSlice::new(payload)];
            let written = match Pin::new(&mut self.io).poll_write_vectored(cx, &slices) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => written,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => 0,
            };
            if written < head_len {
                self.write_buffer
                    .extend_from_slice(&head[written..head_len]);
                self.write_buffer.extend_from_slice(payload);
            } else {
                self.write_buffer
                    .extend_from_slice(&payload[written - head_len..]);
            }
        } else {
            self.queue_frame(OpCode::Binary, payload);
            // The frame is ours now; a socket that is not ready yet gets it on the next call.
            if let Poll::Ready(Err(error)) = self.poll_drain(cx) {
                return Poll::Ready(Err(error));
            }
        }
        Poll::Ready(Ok(payload.len()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Frames a write accepted but the socket did not take yet go out now, so a caller
        // that writes and then waits for the answer without flushing is not stuck.
        if this.write_start < this.write_buffer.len() {
            this.flush_control_from_read(cx);
        }
        let before = buf.filled().len();
        match this.poll_read_frames(cx, buf) {
            // Bytes already delivered come first: a pending read or an error (which the
            // next call reports again, from the failed state or the socket) waits.
            Poll::Pending | Poll::Ready(Err(_)) if buf.filled().len() > before => {
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsStream<T> {
    /// Fills `buf` with payload bytes from as many frames as arrive without waiting.
    fn poll_read_frames(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self;
        loop {
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            match this.read {
                ReadState::Eof => return Poll::Ready(Ok(())),
                ReadState::Failed(error) => return Poll::Ready(Err(error.into())),
                ReadState::Header => {
                    let input = &this.read_buffer[this.read_start..this.read_end];
                    match frame::decode_header(input, this.role, this.max_frame_size) {
                        Ok(Some((header, len))) => {
                            this.read_start += len;
                            if let Err(error) = this.start_frame(header) {
                                return this.fail(cx, error);
                            }
                        }
                        Ok(None) => {
                            if ready!(this.poll_fill(cx))? == 0 {
                                let is_clean = this.read_start == this.read_end && !this.in_message;
                                if !is_clean {
                                    return this.fail(cx, FrameError::Truncated);
                                }
                                // The peer closed TCP without a close frame: treat as EOF.
                                this.read = ReadState::Eof;
                            }
                        }
                        Err(error) => return this.fail(cx, error),
                    }
                }
                ReadState::Control(header) => {
                    // Bounded by decode_header: control payloads are at most 125 bytes.
                    let len = header.payload_len as usize;
                    if this.read_end - this.read_start < len {
                        if ready!(this.poll_fill(cx))? == 0 {
                            return this.fail(cx, FrameError::Truncated);
                        }
                        continue;
                    }
                    let mut payload = ControlPayload {
                        len,
                        bytes: [0; MAX_CONTROL_PAYLOAD],
                    };
                    payload.bytes[..len]
                        .copy_from_slice(&this.read_buffer[this.read_start..this.read_start + len]);
                    if let Some(key) = header.mask {
                        frame::apply_mask(&mut payload.bytes[..len], key, 0);
                    }
                    this.read_start += len;
                    this.read = ReadState::Header;
                    match this.handle_control(cx, header, payload) {
                        Ok(true) => return Poll::Ready(Ok(())),
                        Ok(false) => {}
                        Err(error) => return this.fail(cx, error),
                    }
                }
                ReadState::Data {
                    remaining,
                    mask,
                    phase,
                } => {
                    if remaining == 0 {
                        this.read = ReadState::Header;
                        continue;
                    }
                    let want = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(buf.remaining());
                    let start = buf.filled().len();
                    let got = if this.read_start < this.read_end {
                        let got = want.min(this.read_end - this.read_start);
                        buf.put_slice(&this.read_buffer[this.read_start..this.read_start + got]);
                        this.read_start += got;
                        got
                    } else if buf.remaining() >= this.read_buffer.len() {
                        // Large caller buffer: read the payload straight into it.
                        let got = {
                            let mut direct = ReadBuf::new(buf.initialize_unfilled_to(want));
                            ready!(Pin::new(&mut this.io).poll_read(cx, &mut direct))?;
                            direct.filled().len()
                        };
                        if got == 0 {
                            return this.fail(cx, FrameError::Truncated);
                        }
                        buf.advance(got);
                        got
                    } else {
                        if ready!(this.poll_fill(cx))? == 0 {
                            return this.fail(cx, FrameError::Truncated);
                        }
                        continue;
                    };
                    if let Some(key) = mask {
                        frame::apply_mask(&mut buf.filled_mut()[start..], key, phase);
                    }
                    let remaining = remaining - got as u64;
                    this.read = if remaining == 0 {
                        ReadState::Header
                    } else {
                        ReadState::Data {
                            remaining,
                            mask,
                            phase: (phase + got) % 4,
                        }
                    };
                    // Go on with buffered frames; stop before any wait for the socket.
                    if this.read_start == this.read_end {
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = this.poll_write_frame(cx, data);
        this.is_writer_waiting = result.is_pending();
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_flush(cx),
            other => other,
        };
        this.is_writer_waiting = result.is_pending();
        result
    }

    /// Sends a close frame (status 1000) after any queued data, then shuts down the
    /// connection's write side. Reading may continue until the peer's close frame.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.is_close_sent {
            this.pending_close = Some(Some(CLOSE_NORMAL));
            this.is_close_sent = true;
        }
        let result = match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => match Pin::new(&mut this.io).poll_shutdown(cx) {
                // The peer may already have closed the connection after our close frame.
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::NotConnected => {
                    Poll::Ready(Ok(()))
                }
                other => other,
            },
            other => other,
        };
        this.is_writer_waiting = result.is_pending();
        result
    }
}
