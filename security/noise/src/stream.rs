//! [`NoiseStream`]: an established Noise session over a tokio byte stream.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, BytesMut};
use hyphae_core::WriteOwned;
use hyphae_core::bursts::Bursts;
use hyphae_core::resources::{LimitExceeded, Scope};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::in_place::InPlaceFrames;
use crate::read_memory::ReadMemory;
use crate::transport::{Ciphers, DecryptedFrame, Decryptor, Encryptor};
use crate::{MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN, frame};

/// Room for one whole frame: length prefix and the largest Noise message (also what a
/// stream with a memory scope reserves for the frame it reads).
pub(crate) const FRAME_CAPACITY: usize = frame::PREFIX_LEN + MAX_MESSAGE_LEN;

/// Sealed frames are handed to the socket once this many bytes of them are waiting (or on
/// `flush`). Each `send` ends with a push of whatever does not fill a whole TCP segment, so
/// sending frame by frame puts a small segment beside every full one on loopback (whose
/// segments hold 64 KiB, just less than a frame): twice the packets, wake-ups and ACKs per
/// byte. Four frames a call make that one small segment in five.
const SEND_BATCH: usize = 4 * FRAME_CAPACITY;

/// Buffers handed over with [`WriteOwned`] of at least this many bytes are sealed where they
/// lie; smaller ones are copied into a frame, which gathers them with what comes next.
const SEAL_IN_PLACE_MIN: usize = MAX_PLAINTEXT_LEN / 4;

/// Slices per vectored write: three per frame sealed in place, and `write_buf`'s frames.
const MAX_WRITE_SLICES: usize = 16;

/// An encrypted, authenticated connection to a peer: what you write is encrypted into Noise
/// transport frames, what you read has been decrypted and authenticated.
///
/// Writes are gathered into frames of up to [`MAX_PLAINTEXT_LEN`] bytes; full frames are
/// sent four at a time, and everything on `flush`, so **flush after a message that must
/// leave now**. Memory stays bounded: at most one frame being received, and one frame being
/// filled plus up to four full frames waiting for the socket. Large buffers written with
/// [`WriteOwned`] are sealed where they lie (no copy) and wait likewise, four frames at a
/// time. Given its connection's resource scope ([`NoiseStream::set_memory_scope`]), it
/// reserves the frame it reads before reading it, and gives that back once the connection
/// is quiet (see [`MIN_MEMORY_RETRY`](crate::MIN_MEMORY_RETRY) for what a refusal does).
///
/// A frame that fails to decrypt, or a connection that ends inside a frame, is an I/O error
/// (`InvalidData` or `UnexpectedEof`) carrying the crate's [`Error`](crate::Error);
/// the session cannot continue after it.
pub struct NoiseStream<T> {
    io: T,
    encryptor: Encryptor,
    decryptor: Decryptor,
    /// Bytes received from `io`; its first frame may already be decrypted in place.
    read_buf: BytesMut,
    /// The first frame of `read_buf` once decrypted, with its plaintext not yet read.
    readable: Option<DecryptedFrame>,
    /// Sealed frames waiting for `io` (the first `sealed` bytes), then possibly one open
    /// frame: a length placeholder and the plaintext gathered so far.
    write_buf: BytesMut,
    sealed: usize,
    /// Frames sealed in buffers handed over with [`WriteOwned`]: they go out before
    /// `write_buf`'s, so they are queued only while `write_buf` is empty.
    in_place: InPlaceFrames,
    /// Bytes read from the socket between pauses (it had nothing to read): tells when the
    /// connection goes quiet and the read buffer can go.
    read_bursts: Bursts,
    /// Bytes handed to the socket between flushes: tells when the write buffer can go.
    write_bursts: Bursts,
    /// The reservation of `read_buf`, if the stream has a scope: held while `read_buf` has
    /// room allocated.
    read_memory: Option<ReadMemory>,
}

impl<T> NoiseStream<T> {
    /// Wraps `io` after a handshake; `read_buf` holds bytes already received after the last
    /// handshake message.
    pub(crate) fn new(io: T, ciphers: Ciphers, read_buf: BytesMut) -> NoiseStream<T> {
        NoiseStream {
            io,
            encryptor: ciphers.encryptor,
            decryptor: ciphers.decryptor,
            read_buf,
            readable: None,
            write_buf: BytesMut::new(),
            sealed: 0,
            in_place: InPlaceFrames::default(),
            read_bursts: Bursts::new(),
            write_bursts: Bursts::new(),
            read_memory: None,
        }
    }

    /// Reserves the buffer of the frame being read from `scope` (the connection's) from now
    /// on: before each read that needs one, and only until the connection goes quiet. What
    /// is already buffered is reserved at once, which the scope may refuse. What the stream
    /// sends is not reserved here: the layer above bounds it (Yamux's write buffer).
    pub fn set_memory_scope(&mut self, scope: Scope) -> Result<(), LimitExceeded> {
        let mut memory = ReadMemory::new(scope);
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        } else {
            memory.reserve()?;
        }
        self.read_memory = Some(memory);
        Ok(())
    }

    /// The underlying connection, e.g. to read its addresses. Bytes must not be written to
    /// it directly.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Bytes of buffer memory the stream holds for reading and writing: none once a quiet
    /// connection has nothing pending, some while bulk data moves.
    pub fn buffer_capacity(&self) -> usize {
        self.read_buf.capacity() + self.write_buf.capacity() + self.in_place.unsent()
    }

    /// Plaintext bytes in the open frame, if there is one.
    fn open_len(&self) -> Option<usize> {
        (self.write_buf.len() > self.sealed)
            .then(|| self.write_buf.len() - self.sealed - frame::PREFIX_LEN)
    }

    /// Encrypts the open frame in place so it can be sent; an empty one is dropped.
    fn seal_open(&mut self) -> io::Result<()> {
        match self.open_len() {
            None => {}
            Some(0) => self.write_buf.truncate(self.sealed),
            Some(_) => {
                self.encryptor.seal(&mut self.write_buf, self.sealed)?;
                self.sealed = self.write_buf.len();
            }
        }
        Ok(())
    }
}

impl<T: AsyncWrite + Unpin> NoiseStream<T> {
    /// Sealed bytes waiting for the socket.
    fn unsent(&self) -> usize {
        self.in_place.unsent() + self.sealed
    }

    /// Writes sealed frames to `io`, those sealed in place first, until none are left or it
    /// would block.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.unsent() > 0 {
            let sealed = &self.write_buf[..self.sealed];
            let n = if self.in_place.is_empty() {
                ready!(Pin::new(&mut self.io).poll_write(cx, sealed))?
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
                let mut filled = self.in_place.gather(&mut slices);
                if filled < MAX_WRITE_SLICES && !sealed.is_empty() {
                    slices[filled] = IoSlice::new(sealed);
                    filled += 1;
                }
                ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..filled]))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let from_write_buf = self.in_place.consume(n);
            self.write_buf.advance(from_write_buf);
            self.sealed -= from_write_buf;
            self.write_bursts.record(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Seals up to a batch of `buf`'s bytes where they lie and queues them, taking them out
    /// of `buf`. Falls back to copying while `write_buf` holds frames the socket has not
    /// taken yet (they must go first).
    fn poll_write_in_place(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        self.seal_open()?;
        if self.sealed > 0 {
            if let Poll::Ready(Err(error)) = self.poll_drain(cx) {
                return Poll::Ready(Err(error));
            }
            if self.sealed > 0 {
                return self.poll_write_copied(cx, buf);
            }
        }
        if self.in_place.unsent() >= SEND_BATCH {
            if let Poll::Ready(Err(error)) = self.poll_drain(cx) {
                return Poll::Ready(Err(error));
            }
            if self.in_place.unsent() >= SEND_BATCH {
                // `poll_drain` is pending and will wake us.
                return Poll::Pending;
            }
        }
        // At most a batch and a frame wait, as in `write_buf`.
        let mut taken = 0;
        while self.in_place.unsent() < SEND_BATCH && !buf.is_empty() {
            let mut plaintext = buf.split_to(buf.len().min(MAX_PLAINTEXT_LEN));
            let (prefix, tag) = self.encryptor.seal_detached(&mut plaintext)?;
            taken += plaintext.len();
            self.in_place.push(prefix, plaintext, tag);
        }
        Poll::Ready(Ok(taken))
    }

    /// Copies what fits of `buf` into the open frame and takes it out of `buf`.
    fn poll_write_copied(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.poll_write_slices(cx, &[&buf[..]]))?;
        buf.advance(n);
        Poll::Ready(Ok(n))
    }

    /// Copies as much of `bufs` as fits into the open frame, starting one if needed.
    fn poll_write_slices(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[&[u8]],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|buf| buf.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        if self.open_len() == Some(MAX_PLAINTEXT_LEN) {
            self.seal_open()?;
        }
        // Sealed frames go to the socket a batch at a time (see [`SEND_BATCH`]); waiting is
        // only needed while a whole batch is still unsent.
        if self.unsent() >= SEND_BATCH {
            if let Poll::Ready(Err(error)) = self.poll_drain(cx) {
                return Poll::Ready(Err(error));
            }
            if self.unsent() >= SEND_BATCH {
                // `poll_drain` is pending and will wake us.
                return Poll::Pending;
            }
        }
        let mut room = match self.open_len() {
            Some(len) => MAX_PLAINTEXT_LEN - len,
            None => {
                self.write_buf.reserve(FRAME_CAPACITY);
                self.write_buf.put_bytes(0, frame::PREFIX_LEN);
                MAX_PLAINTEXT_LEN
            }
        };
        let mut written = 0;
        for buf in bufs {
            let n = buf.len().min(room);
            self.write_buf.extend_from_slice(&buf[..n]);
            written += n;
            room -= n;
            if room == 0 {
                break;
            }
        }
        Poll::Ready(Ok(written))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for NoiseStream<T> {
    /// Fills `buf` with the plaintext of as many buffered frames as fit, reading from the
    /// connection only when nothing is buffered.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let capacity = buf.remaining();
        loop {
            if let Some(frame) = &mut this.readable {
                let n = frame.plaintext.len().min(buf.remaining());
                let start = frame.plaintext.start;
                buf.put_slice(&this.read_buf[start..start + n]);
                frame.plaintext.start += n;
                if frame.plaintext.is_empty() {
                    this.read_buf.advance(frame.len);
                    this.readable = None;
                }
            }
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let has_read = buf.remaining() < capacity;
            match this.decryptor.decrypt_in_place(&mut this.read_buf) {
                Ok(Some(frame)) if frame.plaintext.is_empty() => this.read_buf.advance(frame.len),
                Ok(Some(frame)) => this.readable = Some(frame),
                // Deliver what we have; a bad frame fails the next read (its nonce is unused).
                Ok(None) | Err(_) if has_read => return Poll::Ready(Ok(())),
                Err(error) => return Poll::Ready(Err(error.into())),
                Ok(None) => {
                    if let Some(memory) = &mut this.read_memory {
                        // Refused: the peer's bytes wait in the socket until memory frees.
                        ready!(memory.poll_reserve(cx));
                    }
                    this.read_buf.reserve(FRAME_CAPACITY);
                    let read = tokio_util::io::poll_read_buf(
                        Pin::new(&mut this.io),
                        cx,
                        &mut this.read_buf,
                    );
                    let Poll::Ready(read) = read else {
                        // Nothing to read for now: a quiet connection keeps no frame buffer
                        // and no keyed cipher state, only the key.
                        let quiet = this.read_bursts.pause();
                        if settle_at_pause(&mut this.read_buf, quiet) {
                            this.decryptor.release_key_state();
                            if let Some(memory) = &mut this.read_memory {
                                memory.release();
                            }
                        }
                        return Poll::Pending;
                    };
                    let n = read?;
                    this.read_bursts.record(n);
                    if n == 0 {
                        return Poll::Ready(if this.read_buf.is_empty() {
                            Ok(())
                        } else {
                            Err(crate::Error::ConnectionClosed.into())
                        });
                    }
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for NoiseStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, &[buf])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Gather up to a frame's worth; more slices than that are taken on the next call.
        let mut slices: [&[u8]; 16] = [&[]; 16];
        for (slot, buf) in slices.iter_mut().zip(bufs) {
            *slot = buf;
        }
        self.get_mut()
            .poll_write_slices(cx, &slices[..bufs.len().min(16)])
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Seals and sends the open frame, then flushes the connection.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.seal_open()?;
        ready!(this.poll_drain(cx))?;
        // Everything is handed to the socket: unless bulk data is moving, give the frame
        // buffer and keyed cipher state back rather than keep them for a connection that may
        // now sit idle (most of them, most of the time).
        let quiet = this.write_bursts.pause();
        if settle_at_pause(&mut this.write_buf, quiet) {
            this.encryptor.release_key_state();
            this.in_place.release_if_empty();
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    /// Flushes, then shuts down the connection's write side.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// At a pause (nothing to read, or everything written), once [`Bursts::pause`] said whether
/// the connection is going `quiet`: frees `buffer` if it is empty and the connection quiet,
/// or keeps it rewound to the start of its allocation while bulk data moves. Returns whether
/// it freed the buffer, i.e. whether the connection went quiet.
fn settle_at_pause(buffer: &mut BytesMut, quiet: bool) -> bool {
    if !buffer.is_empty() {
        return false;
    }
    if quiet {
        *buffer = BytesMut::new();
        true
    } else {
        let _ = buffer.try_reclaim(FRAME_CAPACITY);
        false
    }
}

impl<T: AsyncWrite + Unpin> WriteOwned for NoiseStream<T> {
    /// Seals large buffers where they lie and sends them with vectored writes (if `io` has
    /// them); copies small ones into a frame, as `poll_write` does.
    fn poll_write_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        if buf.len() >= SEAL_IN_PLACE_MIN && self.io.is_write_vectored() {
            self.poll_write_in_place(cx, buf)
        } else {
            self.poll_write_copied(cx, buf)
        }
    }
}

impl<T> std::fmt::Debug for NoiseStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseStream")
            .field("buffered_in", &self.read_buf.len())
            .field(
                "buffered_out",
                &(self.write_buf.len() + self.in_place.unsent()),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use hyphae_core::testing::VectoredStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::cipher::CipherState;

    fn ciphers(send_key: u8, receive_key: u8) -> Ciphers {
        Ciphers {
            encryptor: Encryptor::new(CipherState::for_transport(&[send_key; 32])),
            decryptor: Decryptor::new(CipherState::for_transport(&[receive_key; 32])),
        }
    }

    /// Reads exactly `len` bytes, then reads on until the connection is found quiet.
    async fn read_then_pause(stream: &mut NoiseStream<tokio::io::DuplexStream>, len: usize) {
        stream.read_exact(&mut vec![0u8; len]).await.unwrap();
        let quiet = std::time::Duration::from_millis(20);
        assert!(
            tokio::time::timeout(quiet, stream.read(&mut [0]))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn owned_writes_arrive_in_order_among_copied_ones() {
        let (a, b) = tokio::io::duplex(1 << 20);
        // Writes of at most 7919 bytes stop inside prefixes, ciphertexts and tags.
        let below = VectoredStream::new(a, 7919);
        let mut a = NoiseStream::new(below, ciphers(1, 2), BytesMut::new());
        let mut b = NoiseStream::new(b, ciphers(2, 1), BytesMut::new());
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            b.read_to_end(&mut received).await.unwrap();
            received
        });
        // Large buffers are sealed in place, small ones copied; both kinds in turn, some
        // bigger than a frame, some bigger than a batch.
        let mut sent = Vec::new();
        for (i, len) in [300_000, 5, 70_000, 16_384, 100, 65_519, 1, 200_000, 16_383]
            .into_iter()
            .enumerate()
        {
            let chunk: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
            sent.extend_from_slice(&chunk);
            let mut buf = BytesMut::from(&chunk[..]);
            while !buf.is_empty() {
                let before = buf.len();
                let taken = std::future::poll_fn(|cx| a.poll_write_owned(cx, &mut buf))
                    .await
                    .unwrap();
                assert_eq!(before - buf.len(), taken);
                assert!(taken > 0);
            }
        }
        a.shutdown().await.unwrap();
        assert!(a.in_place.is_empty());
        // The large buffers went out sealed in place, in vectored writes.
        assert!(a.get_ref().vectored_writes > 0);
        assert_eq!(reader.await.unwrap(), sent);
    }

    #[tokio::test]
    async fn cipher_state_is_kept_while_bulk_data_moves_and_released_when_quiet() {
        let (a, b) = tokio::io::duplex(4 << 20);
        let mut a = NoiseStream::new(a, ciphers(1, 2), BytesMut::new());
        let mut b = NoiseStream::new(b, ciphers(2, 1), BytesMut::new());
        a.write_all(&vec![7u8; 1 << 20]).await.unwrap();
        a.flush().await.unwrap();
        read_then_pause(&mut b, 1 << 20).await;
        // Known once bulk data has tried OpenSSL (it may lack the cipher).
        let bulk_library = crate::aead::fastest_uses_openssl();
        assert_eq!(a.encryptor.holds_bulk_state(), bulk_library);
        assert_eq!(b.decryptor.holds_bulk_state(), bulk_library);
        assert!(a.encryptor.holds_key_state());
        assert!(b.decryptor.holds_key_state());

        a.write_all(b"ping").await.unwrap();
        a.flush().await.unwrap();
        read_then_pause(&mut b, 4).await;
        assert!(!a.encryptor.holds_key_state());
        assert!(!b.decryptor.holds_key_state());

        // Keyed again from the key for the next message, with the nonces where they were.
        a.write_all(b"pong").await.unwrap();
        a.flush().await.unwrap();
        let mut pong = [0u8; 4];
        b.read_exact(&mut pong).await.unwrap();
        assert_eq!(&pong, b"pong");
    }

    /// A node holds thousands of idle connections, each with its stream for life: the
    /// libraries' keyed state (ring's key object alone is 544 bytes, one per direction) is
    /// not part of it while the connection is quiet.
    #[test]
    fn a_stream_holds_no_keyed_cipher_state_inline() {
        let size = std::mem::size_of::<NoiseStream<tokio::net::TcpStream>>();
        assert!(size <= 640, "a NoiseStream takes {size} bytes");
    }
}
