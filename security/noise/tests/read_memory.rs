//! A stream given its connection's resource scope reserves the frame it reads while it holds
//! one, gives it back once the connection is quiet, and waits for memory (the peer's bytes
//! left in the socket) when the scope refuses.

use std::time::Duration;

use hyphae_core::testing::connection_scope;
use hyphae_identity::Keypair;
use hyphae_noise::{
    Config, MAX_MEMORY_RETRY, MAX_MESSAGE_LEN, NoiseStream, upgrade_inbound, upgrade_outbound,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::{Instant, timeout};

/// What one frame being read reserves: its length prefix and the largest message.
const FRAME_MEMORY: u64 = 2 + MAX_MESSAGE_LEN as u64;

/// Longer than any pause the tests wait out (the clock is paused: this costs nothing).
const NOT_SOON: Duration = Duration::from_secs(5);

/// Two ends of a Noise session over an in-memory duplex.
async fn pair() -> (NoiseStream<DuplexStream>, NoiseStream<DuplexStream>) {
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let config = Config::default();
    let (a, b) = duplex(1 << 20);
    let (dialled, listened) = tokio::join!(
        upgrade_outbound(a, &dialer, &config, None),
        upgrade_inbound(b, &listener, &config),
    );
    (dialled.unwrap().1, listened.unwrap().1)
}

async fn send(stream: &mut NoiseStream<DuplexStream>, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
}

/// Whether a read of one more byte is still waiting after [`NOT_SOON`].
async fn read_waits(stream: &mut NoiseStream<DuplexStream>) -> bool {
    timeout(NOT_SOON, stream.read(&mut [0])).await.is_err()
}

#[tokio::test(start_paused = true)]
async fn the_frame_being_read_is_reserved_and_given_back_once_quiet() {
    let (mut a, mut b) = pair().await;
    let scope = connection_scope(u64::MAX);
    b.set_memory_scope(scope.scope().clone()).unwrap();
    assert_eq!(scope.scope().usage().memory, 0, "nothing buffered yet");

    send(&mut a, b"0123456789").await;
    let mut first = [0u8; 4];
    b.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"0123");
    assert_eq!(scope.scope().usage().memory, FRAME_MEMORY);

    let mut rest = [0u8; 6];
    b.read_exact(&mut rest).await.unwrap();
    assert!(read_waits(&mut b).await);
    assert_eq!(scope.scope().usage().memory, 0, "quiet: the buffer went");
    assert_eq!(b.buffer_capacity(), 0);

    // Bulk data: reserved throughout, including the pauses between its reads.
    let writer = tokio::spawn(async move {
        send(&mut a, &vec![7u8; 1 << 20]).await;
        a
    });
    let mut received = vec![0u8; 1 << 20];
    b.read_exact(&mut received[..300_000]).await.unwrap();
    assert_eq!(scope.scope().usage().memory, FRAME_MEMORY);
    b.read_exact(&mut received[300_000..]).await.unwrap();
    let _a = writer.await.unwrap();
    drop(b);
    assert_eq!(
        scope.scope().usage().memory,
        0,
        "a dropped stream gives it back"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_reservation_leaves_the_frame_unread_until_memory_frees() {
    let (mut a, mut b) = pair().await;
    let scope = connection_scope(FRAME_MEMORY);
    b.set_memory_scope(scope.scope().clone()).unwrap();
    // Something else holds the connection's memory.
    scope.scope().reserve_memory(1).unwrap();

    send(&mut a, b"hello").await;
    assert!(read_waits(&mut b).await);
    assert_eq!(b.buffer_capacity(), 0, "nothing was read from the socket");
    assert_eq!(scope.scope().usage().memory, 1);

    // Tries keep coming, at most MAX_MEMORY_RETRY apart, so memory that frees is taken soon.
    scope.scope().release_memory(1);
    let freed = Instant::now();
    let mut hello = [0u8; 5];
    b.read_exact(&mut hello).await.unwrap();
    assert_eq!(&hello, b"hello");
    assert!(freed.elapsed() <= MAX_MEMORY_RETRY);
    assert_eq!(scope.scope().usage().memory, FRAME_MEMORY);
}

#[tokio::test(start_paused = true)]
async fn bytes_already_buffered_are_reserved_when_the_scope_is_given() {
    let (mut a, mut b) = pair().await;
    send(&mut a, b"0123456789").await;
    let mut first = [0u8; 4];
    b.read_exact(&mut first).await.unwrap();

    // The rest of the frame is buffered: a scope without room for it is refused...
    let full = connection_scope(FRAME_MEMORY - 1);
    assert!(b.set_memory_scope(full.scope().clone()).is_err());
    assert_eq!(full.scope().usage().memory, 0);
    // ...and one with room is charged for it at once.
    let scope = connection_scope(FRAME_MEMORY);
    b.set_memory_scope(scope.scope().clone()).unwrap();
    assert_eq!(scope.scope().usage().memory, FRAME_MEMORY);

    let mut rest = [0u8; 6];
    b.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b"456789");
    assert!(read_waits(&mut b).await);
    assert_eq!(scope.scope().usage().memory, 0);
}
