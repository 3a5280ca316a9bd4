//! The hyphae side of the connection benchmarks: a node as the `connections` binary runs it,
//! serving the two bench protocols, and the client operations it times.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyphae::{Limits, Multiaddr, Node, PeerId};
use tokio::io::AsyncWriteExt;

use crate::conn_exchange;

/// Echoes every byte back until the dialer half-closes.
pub const ECHO: &str = "/bench/echo/1.0.0";
/// Reads to the end, then answers one byte: the dialer's upload is done.
pub const SINK: &str = "/bench/sink/1.0.0";

/// Streams per connection both stacks allow in most benchmarks: room for the 1000-stream
/// benchmark.
pub const MAX_STREAMS: usize = 4096;

/// Streams per connection both stacks allow by default. rust-yamux grows stream windows only
/// from the connection window left beyond 256 KiB per allowed stream, which is nothing at
/// [`MAX_STREAMS`] (libp2p-yamux cannot raise its 1 GiB): benchmarks of one fast stream use
/// this limit.
pub const DEFAULT_STREAMS: usize = 512;

/// The limits of every bench node: the defaults, with room for `max_streams` concurrent
/// streams and for a handshake benchmark whose clients reconnect faster than old
/// connections close, and without per-address caps: every client of a benchmark dials from
/// one address.
pub fn limits(max_streams: usize) -> Limits {
    Limits {
        max_streams_per_connection: max_streams,
        max_connections_per_peer: 1024,
        ..Limits::default()
    }
    .allowing_every_address()
}

/// Starts a node pinned to Noise and Yamux (default keepalive pings, as rust-libp2p's ping
/// behaviour) listening on `listen`, serving [`ECHO`] and [`SINK`].
pub async fn start(listen: &[Multiaddr], max_streams: usize) -> anyhow::Result<Node> {
    let mut builder = Node::builder()
        .security([hyphae::Security::Noise])
        .muxers([hyphae::Multiplexer::Yamux])
        .limits(limits(max_streams));
    for addr in listen {
        builder = builder.listen(addr.clone());
    }
    let node = builder.start().await?;
    node.handle(ECHO, |stream| async move {
        let _ = conn_exchange::serve_echo(stream).await;
    });
    node.handle(SINK, |stream| async move {
        let _ = conn_exchange::serve_sink(stream).await;
    });
    Ok(node)
}

/// Connects to `addr` (a new connection: no `/p2p` suffix is needed) and does one 1-byte
/// echo; returns the peer and the time from dial start until the byte came back.
pub async fn connect_and_echo(node: &Node, addr: &Multiaddr) -> anyhow::Result<(PeerId, Duration)> {
    let start = Instant::now();
    let peer = node.dial(addr).await?;
    let mut stream = node.open_stream(peer, ECHO).await?;
    conn_exchange::echo_byte(&mut stream).await?;
    let elapsed = start.elapsed();
    stream.shutdown().await?;
    Ok((peer, elapsed))
}

/// `count` ping-sized (32-byte) round trips on one [`ECHO`] stream opened to `peer`; returns
/// each round trip.
///
/// The echo protocol rather than ping itself: rust-libp2p's ping handler serves one inbound
/// ping stream per connection and drops it for the next, which its own keepalive opens.
pub async fn pings(node: &Node, peer: PeerId, count: usize) -> anyhow::Result<Vec<Duration>> {
    let mut stream = node.open_stream(peer, ECHO).await?;
    conn_exchange::round_trips(&mut stream, count).await
}

/// Uploads to a [`SINK`] stream opened to `peer` until dropped, counting into `sent`.
pub async fn upload_counting(node: &Node, peer: PeerId, sent: &AtomicU64) -> anyhow::Result<()> {
    let stream = node.open_stream(peer, SINK).await?;
    conn_exchange::upload_counting(stream, sent).await
}

/// Opens `streams` streams to `peer` at once, each uploading `bytes` to the sink; returns the
/// time until the last upload was acknowledged.
pub async fn concurrent_uploads(
    node: &Node,
    peer: PeerId,
    streams: usize,
    bytes: u64,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let uploads = (0..streams).map(|_| {
        let node = node.clone();
        tokio::spawn(async move {
            let stream = node.open_stream(peer, SINK).await?;
            conn_exchange::upload_to_sink(stream, bytes).await
        })
    });
    for upload in futures::future::join_all(uploads).await {
        upload.context("upload task")??;
    }
    Ok(start.elapsed())
}
