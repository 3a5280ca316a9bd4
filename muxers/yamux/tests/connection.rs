//! The tokio driver over in-memory pipes and real loopback TCP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyphae_yamux::{Config, Connection, Mode, WriteOwned};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Period of the test data: a prime, so streams at different offsets differ everywhere.
const PERIOD: usize = 65_521;

/// Two periods of pseudo-random bytes: any run of up to `PERIOD` bytes is one slice.
fn block() -> &'static [u8] {
    static BLOCK: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BLOCK.get_or_init(|| {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let period: Vec<u8> = (0..PERIOD)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                (state >> 56) as u8
            })
            .collect();
        [period.clone(), period].concat()
    })
}

/// Bytes `position..position + len` (`len <= PERIOD`) of what stream `index` sends.
fn pattern_at(index: usize, position: usize, len: usize) -> &'static [u8] {
    let start = (index * 7_919 + position) % PERIOD;
    &block()[start..start + len]
}

/// The first `len` bytes stream `index` sends.
fn pattern(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .step_by(PERIOD)
        .flat_map(|at| pattern_at(index, at, PERIOD.min(len - at)).iter().copied())
        .collect()
}

/// Accepts streams forever and echoes each one until the peer's FIN.
fn spawn_echo_server(server: Connection) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(stream) = server.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = tokio::io::split(stream);
                tokio::io::copy(&mut reader, &mut writer).await.unwrap();
                writer.shutdown().await.unwrap();
            });
        }
    })
}

/// Opens a stream, sends `len` bytes, half-closes, and checks the echo.
async fn echo_one(client: Connection, index: usize, len: usize) {
    const PIECE: usize = 16 * 1024;
    let stream = client.open_stream().await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let writing = tokio::spawn(async move {
        for start in (0..len).step_by(PIECE) {
            let piece = pattern_at(index, start, PIECE.min(len - start));
            writer.write_all(piece).await.unwrap();
        }
        writer.shutdown().await.unwrap();
        writer
    });
    let mut buf = vec![0u8; PIECE];
    let mut received = 0;
    loop {
        let n = reader.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(received + n <= len, "stream {index}: echo too long");
        assert!(
            buf[..n] == *pattern_at(index, received, n),
            "stream {index}: echo differs after {received} bytes"
        );
        received += n;
    }
    assert_eq!(received, len, "stream {index}: echo length");
    let _writer = writing.await.unwrap();
}

async fn echo_many(client: Connection, server: Connection, streams: usize, len: usize) {
    let echo = spawn_echo_server(server);
    let mut tasks = JoinSet::new();
    for index in 0..streams {
        tasks.spawn(echo_one(client.clone(), index, len));
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    client.close().await;
    echo.await.unwrap();
}

fn many_streams_config() -> Config {
    let mut config = Config::default();
    config.max_streams = 1024;
    config
}

fn pair<T>(a: T, b: T, config: Config) -> (Connection, Connection)
where
    T: AsyncRead + WriteOwned + Send + 'static,
{
    (
        Connection::new(a, Mode::Client, config.clone()),
        Connection::new(b, Mode::Server, config),
    )
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (dialed, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let dialed = dialed.unwrap();
    let accepted = accepted.unwrap().0;
    dialed.set_nodelay(true).unwrap();
    accepted.set_nodelay(true).unwrap();
    (dialed, accepted)
}

#[tokio::test]
async fn echoes_one_stream_over_a_duplex_pipe() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());
    echo_many(client, server, 1, 3 * 1024 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_100_concurrent_streams_over_a_duplex_pipe() {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (client, server) = pair(a, b, many_streams_config());
    echo_many(client, server, 100, 256 * 1024).await;
}

/// The acceptance test: 1000 concurrent streams each echoing 1 MiB, bytes checked,
/// over real loopback TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_1000_concurrent_streams_of_1_mib_over_tcp() {
    let (a, b) = tcp_pair().await;
    let (client, server) = pair(a, b, many_streams_config());
    echo_many(client, server, 1000, 1024 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_1000_concurrent_streams_over_a_duplex_pipe() {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (client, server) = pair(a, b, many_streams_config());
    echo_many(client, server, 1000, 64 * 1024).await;
}

#[tokio::test]
async fn opening_more_streams_than_the_limit_waits_for_capacity() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut config = Config::default();
    config.max_streams = 4;
    let (client, server) = pair(a, b, config);
    echo_many(client, server, 40, 10_000).await;
}

#[tokio::test]
async fn half_close_lets_the_other_direction_finish() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());

    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"question").await.unwrap();
    outbound.shutdown().await.unwrap();

    let mut inbound = server.accept().await.unwrap();
    let mut request = Vec::new();
    inbound.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, b"question");
    // Our write side is still open after the peer's FIN.
    inbound.write_all(b"answer").await.unwrap();
    inbound.shutdown().await.unwrap();

    let mut response = Vec::new();
    outbound.read_to_end(&mut response).await.unwrap();
    assert_eq!(response, b"answer");
    assert!(outbound.write_all(b"late").await.is_err());
}

#[tokio::test]
async fn reset_is_seen_by_the_peer() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());

    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"x").await.unwrap();
    let mut inbound = server.accept().await.unwrap();
    let mut byte = [0u8; 1];
    inbound.read_exact(&mut byte).await.unwrap();

    outbound.reset();
    let error = inbound.read(&mut byte).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    let error = inbound.write_all(b"y").await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn dropping_a_stream_without_shutdown_resets_it() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());

    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"partial").await.unwrap();
    let mut inbound = server.accept().await.unwrap();
    drop(outbound);
    let mut received = Vec::new();
    let error = inbound.read_to_end(&mut received).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);

    // A stream reset before it was accepted never reaches the application.
    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"partial").await.unwrap();
    drop(outbound);
    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"complete").await.unwrap();
    outbound.shutdown().await.unwrap();
    let mut inbound = server.accept().await.unwrap();
    let mut received = Vec::new();
    inbound.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"complete");
}

#[tokio::test]
async fn dropping_a_stream_after_shutdown_delivers_everything() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());

    // Less than a window, so the writer finishes (and drops the stream) before any read.
    let len = 200 * 1024;
    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(&pattern(1, len)).await.unwrap();
    outbound.shutdown().await.unwrap();
    drop(outbound);
    let mut inbound = server.accept().await.unwrap();
    let mut received = Vec::new();
    inbound.read_to_end(&mut received).await.unwrap();
    assert!(received == pattern(1, len));
}

/// With the clock paused, tokio advances it only when every task is idle: the timeout fires
/// exactly when the writer can make no more progress.
#[tokio::test(start_paused = true)]
async fn a_writer_waits_for_a_slow_reader() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());
    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"!").await.unwrap();
    let mut inbound = server.accept().await.unwrap();

    let chunk = vec![0u8; 16 * 1024];
    let mut written = 0usize;
    let blocked = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            written += outbound.write(&chunk).await.unwrap();
        }
    })
    .await;
    assert!(blocked.is_err(), "the writer must block");
    // One window in flight or buffered at the reader, plus what the two write buffers and
    // the pipe hold.
    let bound = 256 * 1024 + 2 * 256 * 1024 + 64 * 1024;
    assert!(
        written >= 256 * 1024 - 1,
        "a whole window is sent ({written})"
    );
    assert!(
        written <= bound,
        "{written} bytes written, more than {bound}"
    );

    // Reading releases the writer.
    let mut buf = vec![0u8; written + 1];
    inbound.read_exact(&mut buf).await.unwrap();
    outbound.write_all(&chunk).await.unwrap();
}

#[tokio::test]
async fn read_buffers_kept_during_bulk_data_are_freed_once_quiet() {
    let (a, b) = tokio::io::duplex(1024 * 1024);
    let (client, server) = pair(a, b, Config::default());
    let mut outbound = client.open_stream().await.unwrap();
    let writer = tokio::spawn(async move {
        outbound
            .write_all(&vec![7u8; 8 * 1024 * 1024])
            .await
            .unwrap();
        outbound.shutdown().await.unwrap();
        outbound
    });
    let mut inbound = server.accept().await.unwrap();
    // Whole payloads fit the reader's buffer, so each one read is handed back. (This test
    // runs on one thread: nothing takes them between the read and the check.)
    let mut buf = vec![0u8; 256 * 1024];
    let (mut received, mut most_kept) = (0, 0);
    loop {
        let n = inbound.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|byte| *byte == 7));
        received += n;
        most_kept = most_kept.max(server.spare_buffer_capacity());
    }
    assert_eq!(received, 8 * 1024 * 1024);
    drop(writer.await.unwrap());
    assert!(
        most_kept > 0,
        "payload buffers are recycled while bulk data moves"
    );
    assert!(most_kept <= 4 * 1024 * 1024, "{most_kept}");

    // A small exchange, then a pause: the server's driver lets the buffers go.
    client.ping().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while server.spare_buffer_capacity() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("spare buffers are freed once the connection is quiet");
}

/// A read that takes several queued payloads, small ones (copied out of the read buffer) and
/// large ones (read into buffers of their own, recycled), returns every byte in order.
#[tokio::test]
async fn reads_mixing_small_and_large_payloads_return_every_byte_in_order() {
    let (a, b) = tokio::io::duplex(1024 * 1024);
    let (client, server) = pair(a, b, Config::default());
    let mut outbound = client.open_stream().await.unwrap();
    // Every third piece a large payload, the others small ones.
    let pieces: Vec<usize> = (0..40)
        .map(|i| if i % 3 == 0 { 60 * 1024 } else { 100 + i })
        .collect();
    let message: Vec<u8> = (0..pieces.iter().sum::<usize>())
        .map(|j| (j * 7 / 5) as u8)
        .collect();
    let sent = message.clone();
    let writer = tokio::spawn(async move {
        let mut rest = &sent[..];
        for len in pieces {
            outbound.write_all(&rest[..len]).await.unwrap();
            rest = &rest[len..];
        }
        outbound.shutdown().await.unwrap();
        outbound
    });
    let mut inbound = server.accept().await.unwrap();
    // Let a window's worth arrive first, so that reads find small and large payloads queued.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 200 * 1024];
    loop {
        let n = inbound.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    drop(writer.await.unwrap());
    assert_eq!(received.len(), message.len());
    assert!(received == message, "bytes arrived out of order");
}

#[tokio::test]
async fn ping_reports_the_round_trip_time() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, _server) = pair(a, b, Config::default());
    let rtt = client.ping().await.unwrap();
    assert!(rtt < Duration::from_secs(5));
    assert!(client.rtt().is_some());
}

#[tokio::test]
async fn closing_ends_the_connection_on_both_sides() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());
    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"x").await.unwrap();
    let mut inbound = server.accept().await.unwrap();

    client.close().await;
    assert!(client.is_closed());
    assert!(client.open_stream().await.is_err());
    // The server sees Go Away, then the end of the connection.
    assert!(server.accept().await.is_none());
    assert!(server.open_stream().await.is_err());
    let mut byte = [0u8; 1];
    inbound.read_exact(&mut byte).await.unwrap();
    assert!(inbound.read(&mut byte).await.is_err());
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, server) = pair(a, b, Config::default());
    let mut stream = client.open_stream().await.unwrap();
    stream.write_all(b"bye").await.unwrap();
    stream.shutdown().await.unwrap();
    drop(client);
    drop(stream);
    let mut inbound = server.accept().await.unwrap();
    let mut received = Vec::new();
    inbound.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"bye");
    assert!(server.accept().await.is_none());
}

#[tokio::test]
async fn a_peer_that_breaks_the_protocol_is_disconnected() {
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    let server = Connection::new(a, Mode::Server, Config::default());
    // Version 1 does not exist.
    b.write_all(&[1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0])
        .await
        .unwrap();
    assert!(server.accept().await.is_none());
    // We answered with Go Away (protocol error) and closed; our RTT ping may come first.
    let mut sent = Vec::new();
    b.read_to_end(&mut sent).await.unwrap();
    assert!(
        sent.ends_with(&[0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        "{sent:?}"
    );
}

/// A peer that pings without ever reading the pongs: once they fill the pipe and what we
/// queue, we stop reading from it (no spinning, no growing), and once it reads we go on and
/// answer every ping. The clock is paused, so the timeout fires only when nothing can move.
#[tokio::test(start_paused = true)]
async fn a_peer_that_pings_without_reading_is_no_longer_read() {
    use hyphae_yamux::frame::{Flags, HEADER_LEN, Header};

    let (a, peer) = tokio::io::duplex(64 * 1024);
    let mut config = Config::default();
    config.rtt_interval = None;
    let server = Connection::new(a, Mode::Server, config);
    let (mut peer_reader, mut peer_writer) = tokio::io::split(peer);

    let pings = 400_000u32;
    let flood: Vec<u8> = (0..pings)
        .flat_map(|opaque| Header::ping(Flags::SYN, opaque).encode())
        .collect();
    let mut written = 0usize;
    let blocked = tokio::time::timeout(Duration::from_secs(5), async {
        while written < flood.len() {
            written += peer_writer.write(&flood[written..]).await.unwrap();
        }
    })
    .await;
    assert!(blocked.is_err(), "all {written} bytes of pings were read");
    // The two pipes, our read buffer (256 KiB), and twice what the session queues (our write
    // buffer and the session's queue): 256 KiB of writes, one 64 KiB frame, 64 KiB of
    // control headroom.
    let bound = 2 * 64 * 1024 + 256 * 1024 + 2 * (256 + 64 + 64) * 1024 + 2 * HEADER_LEN;
    assert!(
        written <= bound,
        "{written} bytes of pings taken, more than {bound}"
    );

    // The peer reads at last: every ping is answered, in order.
    let reader = tokio::spawn(async move {
        let mut pong = [0u8; HEADER_LEN];
        for opaque in 0..pings {
            peer_reader.read_exact(&mut pong).await.unwrap();
            assert_eq!(
                Header::decode(&pong).unwrap(),
                Some(Header::ping(Flags::ACK, opaque))
            );
        }
    });
    peer_writer.write_all(&flood[written..]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("every ping is answered")
        .unwrap();
    assert!(!server.is_closed());
}

/// A quiet connection whose wake its memory scope refuses is kept: it stops reading until
/// the memory frees (the driver tries again on its timer while reading is paused), then
/// goes on where it stopped. The clock is paused, so the waits take no real time.
#[tokio::test(start_paused = true)]
async fn a_connection_the_scope_cannot_wake_pauses_until_memory_frees() {
    use hyphae_core::resources::{Opener, ResourceLimits, ResourceManager, ScopeLimits};
    use hyphae_yamux::{IDLE_RELEASE, INITIAL_WINDOW, RESERVATION_STEP, Session};

    let mut config = Config::default();
    config.rtt_interval = None;
    let probe = ResourceManager::new(ResourceLimits::scaled(1 << 30, 1024))
        .open_connection(Opener::Remote, false)
        .unwrap();
    let fixed = {
        let _session = Session::new(Mode::Server, config.clone())
            .with_memory_scope(probe.scope().clone())
            .unwrap();
        probe.scope().usage().memory
    };
    let window = u64::from(INITIAL_WINDOW);
    let mut limits = ResourceLimits::scaled(1 << 30, 1024);
    limits.connection = ScopeLimits::UNLIMITED.with_memory(fixed + window);
    let scope = ResourceManager::new(limits)
        .open_connection(Opener::Remote, false)
        .unwrap();

    let (a, b) = tokio::io::duplex(1 << 20);
    let client = Connection::new(a, Mode::Client, config.clone());
    let server =
        Connection::with_memory_scope(b, Mode::Server, config, scope.scope().clone()).unwrap();
    let mut outbound = client.open_stream().await.unwrap();
    outbound.write_all(b"hi").await.unwrap();
    let mut inbound = server.accept().await.unwrap();
    let mut hi = [0u8; 2];
    inbound.read_exact(&mut hi).await.unwrap();
    tokio::time::sleep(2 * IDLE_RELEASE).await;
    assert_eq!(scope.scope().usage().memory, 0, "quiet: nothing reserved");

    // Something else takes the memory; the peer sends meanwhile.
    let taken = (window + 1) as usize;
    scope.scope().reserve_memory(taken).unwrap();
    outbound.write_all(b"wake up").await.unwrap();
    let mut received = [0u8; 7];
    let early =
        tokio::time::timeout(Duration::from_secs(3), inbound.read_exact(&mut received)).await;
    assert!(early.is_err(), "nothing is read without memory for it");
    assert!(
        !server.is_closed() && !client.is_closed(),
        "the connection is kept"
    );

    scope.scope().release_memory(taken);
    tokio::time::timeout(Duration::from_secs(3), inbound.read_exact(&mut received))
        .await
        .expect("read once memory frees")
        .unwrap();
    assert_eq!(&received, b"wake up");
    assert_eq!(
        scope.scope().usage().memory,
        fixed + RESERVATION_STEP as u64,
        "the headroom and a step of the window"
    );
}

/// A writer that fills the write buffer sends it from its own task (see `link.rs`): here the
/// driver never runs between the writes, and the frames reach the pipe all the same.
#[tokio::test(flavor = "current_thread")]
async fn a_writer_that_fills_the_write_buffer_sends_it_itself() {
    let (a, mut b) = tokio::io::duplex(4 * 1024 * 1024);
    let client = Connection::new(a, Mode::Client, Config::default());
    let mut outbound = client.open_stream().await.unwrap();
    // Let the driver start, send the SYN and wait.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let mut sent_before = vec![0u8; 1024 * 1024];
    let before = read_available(&mut b, &mut sent_before);

    // No await from here on: only this task runs.
    let mut cx = Context::from_waker(Waker::noop());
    let chunk = vec![7u8; 64 * 1024];
    let mut written = 0;
    while let Poll::Ready(result) = Pin::new(&mut outbound).poll_write(&mut cx, &chunk) {
        written += result.unwrap();
    }
    let mut sent = vec![0u8; 4 * 1024 * 1024];
    let through = read_available(&mut b, &mut sent);
    // The first window (256 KiB) went out, in frames of up to 64 KiB plus their headers.
    assert_eq!(written, 256 * 1024, "one window is written");
    assert!(
        through >= written,
        "{through} bytes reached the pipe for {written} written ({before} before)"
    );
}

/// Reads what `pipe` holds now, without waiting.
fn read_available(pipe: &mut DuplexStream, buf: &mut [u8]) -> usize {
    let mut cx = Context::from_waker(Waker::noop());
    let mut read = 0;
    while read < buf.len() {
        let mut read_buf = ReadBuf::new(&mut buf[read..]);
        match Pin::new(&mut *pipe).poll_read(&mut cx, &mut read_buf) {
            Poll::Ready(Ok(())) if !read_buf.filled().is_empty() => {
                read += read_buf.filled().len();
            }
            _ => break,
        }
    }
    read
}

/// A write made through the link that the pipe cannot take at once is finished by the
/// driver, which the pipe wakes: a 4 KiB pipe, so every batch is left half written.
#[tokio::test(flavor = "current_thread")]
async fn a_batch_written_through_a_full_pipe_is_finished_by_the_driver() {
    let (a, b) = tokio::io::duplex(4 * 1024);
    let (client, server) = pair(a, b, Config::default());
    let data = pattern(3, 3 * 1024 * 1024);
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        let mut outbound = client.open_stream().await.unwrap();
        outbound.write_all(&data).await.unwrap();
        outbound.shutdown().await.unwrap();
        outbound
    });
    let mut inbound = server.accept().await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), inbound.read_to_end(&mut received))
        .await
        .expect("every batch is finished")
        .unwrap();
    assert!(received == expected, "the data arrives intact");
    drop(writer.await.unwrap());
}
