//! The tokio driver over an in-memory duplex pipe.

use hyphae_mplex::{Config, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pair() -> (Connection, Connection) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    (
        Connection::new(a, Config::default()),
        Connection::new(b, Config::default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_streams_echo_64_kib_each() {
    let (client, server) = pair();
    let echo = tokio::spawn(async move {
        let mut tasks = Vec::new();
        while let Some(mut stream) = server.accept().await {
            tasks.push(tokio::spawn(async move {
                let mut data = Vec::new();
                stream.read_to_end(&mut data).await.unwrap();
                stream.write_all(&data).await.unwrap();
                stream.shutdown().await.unwrap();
            }));
            if tasks.len() == 100 {
                break;
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        server
    });
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let payload: Vec<u8> = (0..64 * 1024u32)
                .map(|j| (i.wrapping_mul(31) ^ j) as u8)
                .collect();
            let mut stream = client.open_stream().await.unwrap();
            let (mut reader, mut writer) = tokio::io::split(&mut stream);
            let send = async {
                writer.write_all(&payload).await.unwrap();
                writer.shutdown().await.unwrap();
            };
            let mut echoed = Vec::new();
            let receive = reader.read_to_end(&mut echoed);
            let ((), received) = tokio::join!(send, receive);
            received.unwrap();
            assert_eq!(echoed, payload);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let _server = echo.await.unwrap();
    client.close().await;
    assert!(client.is_closed());
}

#[tokio::test]
async fn dropping_a_stream_resets_it() {
    let (client, server) = pair();
    let mut stream = client.open_stream().await.unwrap();
    stream.write_all(b"partial").await.unwrap();
    let mut inbound = server.accept().await.unwrap();
    drop(stream);
    let mut data = Vec::new();
    let error = inbound.read_to_end(&mut data).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn closing_ends_accept_on_both_sides() {
    let (client, server) = pair();
    client.close().await;
    assert!(client.accept().await.is_none());
    assert!(server.accept().await.is_none());
    assert!(server.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_every_byte_through_a_small_buffer() {
    let mut config = Config::default();
    config.max_buffer_per_stream = 64 * 1024;
    let (a, b) = tokio::io::duplex(64 * 1024);
    let sender = Connection::new(a, Config::default());
    let receiver = Connection::new(b, config);
    let payload: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();

    let expected = payload.clone();
    let reading = tokio::spawn(async move {
        let mut inbound = receiver.accept().await.unwrap();
        let mut received = Vec::new();
        let mut chunk = vec![0; 16 * 1024];
        loop {
            // A reader far slower than the sender: the connection has to wait for it.
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
            let n = inbound.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&chunk[..n]);
        }
        assert!(received == expected, "bytes differ");
    });
    let mut outbound = sender.open_stream().await.unwrap();
    outbound.write_all(&payload).await.unwrap();
    outbound.shutdown().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), reading)
        .await
        .expect("transfer finished")
        .unwrap();
}

/// Counts the wake-ups of a task polled by hand.
#[derive(Default)]
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[tokio::test]
async fn a_writer_waiting_for_room_is_woken_when_there_is_some_not_before() {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWrite;

    let (a, mut peer) = tokio::io::duplex(1024);
    let connection = Connection::new(a, Config::default());
    let mut stream = connection.open_stream().await.unwrap();

    // Polled by hand on this single-threaded runtime, nothing else runs meanwhile: the
    // writes fill the outbound queue until one has to wait.
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let chunk = vec![7u8; 64 * 1024];
    while let Poll::Ready(written) = Pin::new(&mut stream).poll_write(&mut cx, &chunk) {
        written.unwrap();
    }
    assert_eq!(
        wakes.0.load(Ordering::Relaxed),
        0,
        "not woken before the queue has room"
    );

    // Once the peer reads, the queue drains and the writer goes on.
    tokio::spawn(async move { while peer.read(&mut [0u8; 64 * 1024]).await.unwrap_or(0) > 0 {} });
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.write_all(&chunk))
        .await
        .expect("the write goes through once the peer reads")
        .unwrap();
    assert!(wakes.0.load(Ordering::Relaxed) >= 1, "woken when room came");
}

/// A peer that opens streams past the limits without reading the resets we answer with:
/// once they fill the pipe and the outbound queue, we stop reading from it, and once it
/// reads we go on and answer every stream. The clock is paused, so the timeout fires only
/// when nothing can move.
#[tokio::test(start_paused = true)]
async fn a_peer_that_opens_streams_without_reading_is_no_longer_read() {
    use hyphae_mplex::frame::{self, Flag};
    use std::time::Duration;

    let (a, peer) = tokio::io::duplex(64 * 1024);
    let config = Config::default();
    let outbound_limit = config.max_outbound_buffer;
    let (max_streams, max_pending) = (config.max_streams, config.max_pending_inbound);
    let connection = Connection::new(a, config);
    let (mut peer_reader, mut peer_writer) = tokio::io::split(peer);

    let streams = 2_000_000u64;
    let mut flood = Vec::new();
    for number in 0..streams {
        frame::encode(number, Flag::NewStream, b"", &mut flood);
    }
    let mut written = 0usize;
    let blocked = tokio::time::timeout(Duration::from_secs(5), async {
        while written < flood.len() {
            written += peer_writer.write(&flood[written..]).await.unwrap();
        }
    })
    .await;
    assert!(blocked.is_err(), "all {written} bytes were read");
    // The two pipes, our read buffer, and twice what the session queues (the writer's
    // buffer and the session's queue, each at most the outbound limit and the 64 KiB
    // headroom).
    let bound = 2 * 64 * 1024 + 2 * 64 * 1024 + 2 * (outbound_limit + 64 * 1024);
    assert!(written <= bound, "{written} bytes taken, more than {bound}");

    let reader = tokio::spawn(async move {
        let mut answers = Vec::new();
        let mut resets = 0u64;
        let refused = streams - max_streams.min(max_pending) as u64;
        let mut buf = vec![0u8; 64 * 1024];
        while resets < refused {
            let n = peer_reader.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection ended after {resets} resets");
            answers.extend_from_slice(&buf[..n]);
            let mut at = 0;
            while let Some((frame, consumed)) = frame::decode(&answers[at..], 0).unwrap() {
                assert_eq!(frame.flag, Flag::ResetReceiver);
                resets += 1;
                at += consumed;
            }
            answers.drain(..at);
        }
    });
    peer_writer.write_all(&flood[written..]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("every stream past the limits is reset")
        .unwrap();
    assert!(!connection.is_closed());
}
