//! The transport phase through [`NoiseStream`]: bulk data, framing, end of stream and
//! tampering.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyphae_identity::Keypair;
use hyphae_noise::{
    Config, Error, MAX_PLAINTEXT_LEN, NoiseStream, upgrade_inbound, upgrade_outbound,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

/// A small deterministic generator for sizes and data (xorshift64*).
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

async fn pair_over<A, B>(a: A, b: B) -> (NoiseStream<A>, NoiseStream<B>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let config = Config::default();
    let (outbound, inbound) = tokio::join!(
        upgrade_outbound(a, &dialer, &config, Some(listener.peer_id())),
        upgrade_inbound(b, &listener, &config),
    );
    (outbound.unwrap().1, inbound.unwrap().1)
}

async fn pair(buffer: usize) -> (NoiseStream<DuplexStream>, NoiseStream<DuplexStream>) {
    let (a, b) = tokio::io::duplex(buffer);
    pair_over(a, b).await
}

/// Writes `data` in randomly sized pieces, flushing now and then, then shuts down.
async fn send(stream: &mut (impl AsyncWrite + Unpin), data: &[u8], seed: u64) {
    let mut sizes = Sequence(seed);
    let mut sent = 0;
    while sent < data.len() {
        let len = (1 + sizes.below(3 * MAX_PLAINTEXT_LEN / 2)).min(data.len() - sent);
        stream.write_all(&data[sent..sent + len]).await.unwrap();
        if sizes.below(4) == 0 {
            stream.flush().await.unwrap();
        }
        sent += len;
    }
    stream.shutdown().await.unwrap();
}

/// Reads until end of stream in randomly sized reads.
async fn receive(stream: &mut (impl AsyncRead + Unpin), seed: u64) -> Vec<u8> {
    let mut sizes = Sequence(seed);
    let mut received = Vec::new();
    let mut buf = vec![0u8; 2 * MAX_PLAINTEXT_LEN];
    loop {
        let len = 1 + sizes.below(buf.len());
        match stream.read(&mut buf[..len]).await.unwrap() {
            0 => return received,
            n => received.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mebibytes_each_way_arrive_intact() {
    const LEN: usize = 10 * 1024 * 1024;
    let (a, b) = pair(16 * 1024).await;
    let to_listener = Sequence(1).bytes(LEN);
    let to_dialer = Sequence(2).bytes(LEN);
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let (_, _, at_listener, at_dialer) = tokio::join!(
        send(&mut a_write, &to_listener, 3),
        send(&mut b_write, &to_dialer, 4),
        receive(&mut b_read, 5),
        receive(&mut a_read, 6),
    );
    assert!(
        at_listener == to_listener,
        "dialer -> listener data differs"
    );
    assert!(at_dialer == to_dialer, "listener -> dialer data differs");
}

/// Reads whatever arrives until a read would wait.
async fn read_until_pending(stream: &mut (impl AsyncRead + Unpin)) -> usize {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    while let Ok(read) =
        tokio::time::timeout(std::time::Duration::from_millis(50), stream.read(&mut buf)).await
    {
        total += read.unwrap();
    }
    total
}

#[tokio::test]
async fn buffers_are_kept_while_bulk_data_moves_and_freed_when_quiet() {
    let (mut a, mut b) = pair(4 << 20).await;

    // Bulk: a 1 MiB transfer leaves both ends their buffers for the next burst.
    a.write_all(&vec![7u8; 1 << 20]).await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(read_until_pending(&mut b).await, 1 << 20);
    assert!(a.buffer_capacity() > 0, "the writer kept its frame buffer");
    assert!(b.buffer_capacity() > 0, "the reader kept its frame buffer");

    // A small message afterwards: the connection is quiet again, both ends let go.
    a.write_all(b"ping").await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(read_until_pending(&mut b).await, 4);
    // A connection's reader is always waiting for input, as a muxer's is.
    assert_eq!(read_until_pending(&mut a).await, 0);
    assert_eq!(a.buffer_capacity(), 0);
    assert_eq!(b.buffer_capacity(), 0);
}

#[tokio::test]
async fn vectored_writes_are_gathered_into_frames() {
    let (mut a, mut b) = pair(256 * 1024).await;
    let parts = [vec![1u8; 12], vec![2u8; 70_000], vec![3u8; 5]];
    let mut slices = parts.each_ref().map(|part| io::IoSlice::new(part));
    let mut remaining = &mut slices[..];
    while !remaining.is_empty() {
        let n = a.write_vectored(remaining).await.unwrap();
        assert!(n > 0);
        io::IoSlice::advance_slices(&mut remaining, n);
    }
    a.shutdown().await.unwrap();
    let received = receive(&mut b, 9).await;
    assert_eq!(received, parts.concat());
}

#[tokio::test]
async fn nothing_is_sent_before_a_flush_or_a_full_frame() {
    let (mut a, mut b) = pair(256 * 1024).await;
    a.write_all(b"held back").await.unwrap();
    let mut buf = [0u8; 9];
    let early = tokio::time::timeout(std::time::Duration::from_millis(50), b.read(&mut buf)).await;
    assert!(early.is_err(), "nothing may arrive before the flush");
    a.flush().await.unwrap();
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"held back");
}

#[tokio::test]
async fn full_frames_leave_four_to_a_write() {
    let (a, b) = tokio::io::duplex(1 << 20);
    // The length of every write once armed (`Some`).
    let writes = Arc::new(std::sync::Mutex::new(None::<Vec<usize>>));
    let log = writes.clone();
    let logged = Intercepted {
        inner: a,
        on_write: Box::new(move |buf| {
            if let Some(lengths) = &mut *log.lock().unwrap() {
                lengths.push(buf.len());
            }
            None
        }),
    };
    let (mut sender, mut receiver) = pair_over(logged, b).await;
    *writes.lock().unwrap() = Some(Vec::new());
    let frame = 2 + MAX_PLAINTEXT_LEN + 16;

    // Four full frames: three sealed, one full but open; none sent yet.
    sender
        .write_all(&vec![1u8; 4 * MAX_PLAINTEXT_LEN])
        .await
        .unwrap();
    assert_eq!(writes.lock().unwrap().as_deref(), Some(&[][..]));
    // The next byte seals the fourth, and the four leave in one write.
    sender.write_all(&[2]).await.unwrap();
    assert_eq!(writes.lock().unwrap().as_deref(), Some(&[4 * frame][..]));
    // A flush sends the rest.
    sender.flush().await.unwrap();
    assert_eq!(
        writes.lock().unwrap().as_deref(),
        Some(&[4 * frame, 2 + 1 + 16][..])
    );
    let mut received = vec![0u8; 4 * MAX_PLAINTEXT_LEN + 1];
    receiver.read_exact(&mut received).await.unwrap();
    assert!(
        received[..4 * MAX_PLAINTEXT_LEN]
            .iter()
            .all(|&byte| byte == 1)
    );
    assert_eq!(received[4 * MAX_PLAINTEXT_LEN], 2);
}

#[tokio::test]
async fn shutdown_flushes_and_ends_the_peers_stream() {
    let (mut a, mut b) = pair(1024).await;
    a.write_all(b"last words").await.unwrap();
    a.shutdown().await.unwrap();
    let mut received = Vec::new();
    b.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"last words");
}

#[tokio::test]
async fn a_connection_cut_inside_a_frame_is_an_unexpected_eof() {
    let (a, b) = tokio::io::duplex(1024);
    let (raw_a, raw_b) = tokio::io::duplex(1024);
    // Relay a -> b only up to a point, then cut.
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(raw_a);
    let cut = Arc::new(AtomicBool::new(false));
    let relay_cut = cut.clone();
    let forward = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let n = a_read.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            let n = if relay_cut.load(Ordering::SeqCst) {
                n.min(7)
            } else {
                n
            };
            b_write.write_all(&buf[..n]).await.unwrap();
            if relay_cut.load(Ordering::SeqCst) {
                break;
            }
        }
        b_write.shutdown().await.unwrap();
    });
    let backward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut b_read, &mut a_write).await;
    });
    let (mut sender, mut receiver) = pair_over(b, raw_b).await;
    cut.store(true, Ordering::SeqCst);
    sender
        .write_all(b"this frame will be cut short")
        .await
        .unwrap();
    sender.flush().await.unwrap();
    let error = receiver.read(&mut [0u8; 64]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    forward.await.unwrap();
    drop((sender, receiver));
    backward.await.unwrap();
}

/// What a test does with each write to the connection before it goes out: `Some(bytes)`
/// sends those bytes instead.
type WriteHook = Box<dyn FnMut(&[u8]) -> Option<Vec<u8>> + Send>;

/// A connection whose writes a test watches or alters.
struct Intercepted {
    inner: DuplexStream,
    on_write: WriteHook,
}

impl AsyncRead for Intercepted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Intercepted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match (self.on_write)(buf) {
            // The altered bytes have the same length, so the count stays right.
            Some(altered) => Pin::new(&mut self.inner).poll_write(cx, &altered),
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `inner`, flipping one ciphertext bit in the next write once `armed`.
fn tampering(inner: DuplexStream, armed: Arc<AtomicBool>) -> Intercepted {
    Intercepted {
        inner,
        on_write: Box::new(move |buf| {
            (buf.len() > 4 && armed.swap(false, Ordering::SeqCst)).then(|| {
                let mut altered = buf.to_vec();
                altered[4] ^= 0x01;
                altered
            })
        }),
    }
}

#[tokio::test]
async fn tampered_ciphertext_is_rejected() {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let armed = Arc::new(AtomicBool::new(false));
    let tamper = tampering(a, armed.clone());
    let (mut sender, mut receiver) = pair_over(tamper, b).await;
    sender.write_all(b"authentic").await.unwrap();
    sender.flush().await.unwrap();
    let mut buf = [0u8; 9];
    receiver.read_exact(&mut buf).await.unwrap();
    armed.store(true, Ordering::SeqCst);
    sender.write_all(b"altered in flight").await.unwrap();
    sender.flush().await.unwrap();
    let error = receiver.read(&mut [0u8; 64]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(matches!(inner, Some(Error::Decrypt)), "{error:?}");
}

#[tokio::test]
async fn data_before_a_tampered_frame_is_delivered_then_the_read_fails() {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let armed = Arc::new(AtomicBool::new(false));
    let tamper = tampering(a, armed.clone());
    let (mut sender, mut receiver) = pair_over(tamper, b).await;
    sender.write_all(b"good").await.unwrap();
    sender.flush().await.unwrap();
    armed.store(true, Ordering::SeqCst);
    sender.write_all(b"bad").await.unwrap();
    sender.flush().await.unwrap();
    // Both frames are buffered by now; one read takes the good one and stops there.
    tokio::task::yield_now().await;
    let mut buf = [0u8; 64];
    let n = receiver.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"good");
    let error = receiver.read(&mut buf).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
}
