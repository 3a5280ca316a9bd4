//! The byte stream: half-close, closing, and the per-direction buffer bound.

use std::io::ErrorKind;
use std::time::Duration;

use hyphae_memory::{BUFFER_SIZE, Listener, MemoryStream, dial};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// Long enough that, on the paused clock, it elapses only once nothing else can run.
const STUCK: Duration = Duration::from_secs(60);

/// A connected pair: (dialled end, accepted end).
async fn pair() -> (MemoryStream, MemoryStream) {
    let listener = Listener::bind(&"/memory/0".parse().unwrap()).unwrap();
    let target = listener.listen_addrs().remove(0);
    let (dialled, accepted) = tokio::join!(dial(&target), listener.accept());
    (dialled.unwrap(), accepted.unwrap().0)
}

#[test]
fn streams_can_move_between_threads_and_tasks() {
    fn assert_transport_stream<
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + Sync + 'static,
    >() {
    }
    assert_transport_stream::<MemoryStream>();
}

#[tokio::test]
async fn shutdown_gives_the_peer_eof_and_leaves_the_other_direction_open() {
    let (mut dialled, mut accepted) = pair().await;
    dialled.write_all(b"request").await.unwrap();
    dialled.shutdown().await.unwrap();

    let mut request = Vec::new();
    accepted.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, b"request");

    accepted.write_all(b"response").await.unwrap();
    accepted.shutdown().await.unwrap();
    let mut response = Vec::new();
    dialled.read_to_end(&mut response).await.unwrap();
    assert_eq!(response, b"response");
}

#[tokio::test]
async fn dropping_one_end_gives_the_other_the_sent_bytes_then_eof_and_broken_pipe() {
    for dropped_end in ["dialled", "accepted"] {
        let (dialled, accepted) = pair().await;
        let (mut gone, mut left) = match dropped_end {
            "dialled" => (dialled, accepted),
            _ => (accepted, dialled),
        };
        gone.write_all(b"last words").await.unwrap();
        drop(gone);

        let mut received = Vec::new();
        left.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"last words", "{dropped_end}");
        let error = left.write_all(b"hello?").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe, "{dropped_end}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_writer_without_a_reader_stops_at_the_buffer_bound() {
    let (mut dialled, mut accepted) = pair().await;
    let data = vec![7u8; 2 * BUFFER_SIZE];

    // One write takes what fits and no more.
    assert_eq!(dialled.write(&data).await.unwrap(), BUFFER_SIZE);
    assert!(
        timeout(STUCK, dialled.write_all(b"x")).await.is_err(),
        "a write into a full buffer completed"
    );
    // The other direction has its own buffer.
    accepted.write_all(&data[..BUFFER_SIZE]).await.unwrap();

    // Reading makes room for exactly what was read.
    let mut buf = vec![0u8; 1000];
    accepted.read_exact(&mut buf).await.unwrap();
    dialled.write_all(&data[..1000]).await.unwrap();
    assert!(timeout(STUCK, dialled.write_all(b"x")).await.is_err());

    let mut drained = vec![0u8; BUFFER_SIZE];
    accepted.read_exact(&mut drained).await.unwrap();
    assert!(drained.iter().all(|&byte| byte == 7));
}

/// A writer blocked on a full buffer wakes up when the reader drains it.
#[tokio::test]
async fn a_waiting_writer_resumes_when_the_reader_reads() {
    let (mut dialled, mut accepted) = pair().await;
    let data: Vec<u8> = (0..4 * BUFFER_SIZE).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let writer = tokio::spawn(async move {
        dialled.write_all(&data).await.unwrap();
        dialled.shutdown().await.unwrap();
    });
    let mut received = Vec::new();
    accepted.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, expected);
    writer.await.unwrap();
}
