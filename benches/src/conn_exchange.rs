//! The byte exchanges of the connection benchmarks, written once over tokio I/O: both the
//! hyphae node and the rust-libp2p node (its streams through `tokio_util::compat`) serve and
//! drive them, so the two stacks run exactly the same application code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::ensure;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Echoes what the stream carries until the peer closes its side, then closes ours.
pub(crate) async fn serve_echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return stream.shutdown().await;
        }
        stream.write_all(&buffer[..read]).await?;
        stream.flush().await?;
    }
}

/// Reads the stream to its end, then acknowledges with one byte.
pub(crate) async fn serve_sink<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; crate::BUFFER_SIZE];
    while stream.read(&mut buffer).await? != 0 {}
    stream.write_all(&[1]).await?;
    stream.shutdown().await
}

/// Sends one byte on an echo stream and waits for it to come back.
pub(crate) async fn echo_byte<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> anyhow::Result<()> {
    stream.write_all(&[7]).await?;
    stream.flush().await?;
    let mut byte = [0u8];
    stream.read_exact(&mut byte).await?;
    ensure!(byte == [7], "echo returned another byte");
    Ok(())
}

/// `count` ping-sized (32-byte) round trips on an echo stream; returns each round trip.
pub(crate) async fn round_trips<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut payload = [0u8; 32];
    let mut reply = [0u8; 32];
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let start = Instant::now();
        stream.write_all(&payload).await?;
        stream.flush().await?;
        stream.read_exact(&mut reply).await?;
        samples.push(start.elapsed());
        ensure!(reply == payload, "echo returned another payload");
    }
    Ok(samples)
}

/// Writes to a sink stream until dropped (or the stream fails), adding what each write
/// handed to the stream to `sent`.
pub(crate) async fn upload_counting<S: AsyncWrite + Unpin>(
    mut stream: S,
    sent: &AtomicU64,
) -> anyhow::Result<()> {
    let buffer = vec![0u8; crate::BUFFER_SIZE];
    loop {
        stream.write_all(&buffer).await?;
        sent.fetch_add(buffer.len() as u64, Ordering::Relaxed);
    }
}

/// Uploads `bytes` to a sink stream, closes it and waits for the acknowledgement.
pub(crate) async fn upload_to_sink<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    bytes: u64,
) -> anyhow::Result<()> {
    let buffer = vec![0u8; crate::BUFFER_SIZE];
    let mut remaining = bytes;
    while remaining > 0 {
        let chunk = usize::try_from(remaining).map_or(buffer.len(), |r| r.min(buffer.len()));
        stream.write_all(&buffer[..chunk]).await?;
        remaining -= chunk as u64;
    }
    stream.shutdown().await?;
    let mut ack = Vec::new();
    stream.read_to_end(&mut ack).await?;
    ensure!(ack == [1], "sink did not acknowledge");
    Ok(())
}
