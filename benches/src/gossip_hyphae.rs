//! The hyphae side of the gossipsub benchmarks (`gossip` binary): a node with the gossipsub
//! service configured as the rust-libp2p side is ([`crate::gossip_libp2p`]), and the
//! settings both sides share.

use bytes::Bytes;
use hyphae::gossipsub::{
    Config, Gossipsub, Handle, Limits as GossipLimits, Message, MessageId, MessageIdFn,
    SignaturePolicy,
};
use hyphae::{Limits, Multiaddr, Node};

/// Largest RPC either side sends or takes: room for the 64 KiB messages (rust-libp2p's
/// default is 64 KiB for the whole RPC, hyphae's 1 MiB, go-libp2p's 1 MiB).
pub const MAX_TRANSMIT_SIZE: usize = 1 << 20;

/// Bytes at the front of every benchmark message: its sequence number, big-endian.
pub const ID_LEN: usize = 8;

/// The name of benchmark topic `index`.
pub fn topic(index: usize) -> String {
    format!("bench-{index}")
}

/// Both sides' message id: the first [`ID_LEN`] bytes of the data (the publisher writes a
/// sequence number there). Messages are anonymous (`StrictNoSign`), so there is no author
/// and seqno to build an id from; a digest of the data would add the same cost to both sides
/// and hide the routers' own.
pub fn message_id_of(data: &[u8]) -> Vec<u8> {
    data[..data.len().min(ID_LEN)].to_vec()
}

/// A benchmark message of `len` bytes (at least [`ID_LEN`]) carrying `seq`.
pub fn message(seq: u64, len: usize) -> Bytes {
    let mut data = vec![0u8; len.max(ID_LEN)];
    data[..ID_LEN].copy_from_slice(&seq.to_be_bytes());
    Bytes::from(data)
}

/// The sequence number a benchmark message carries.
pub fn seq_of(data: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(..ID_LEN)?.try_into().ok()?))
}

/// The gossipsub service of every hyphae node here: the spec's defaults (D = 6, 1 s
/// heartbeat, flood publishing), anonymous messages, [`message_id_of`], no validator.
pub fn service() -> Gossipsub {
    let config = Config {
        max_transmit_size: MAX_TRANSMIT_SIZE,
        ..Config::default()
    };
    Gossipsub::new(config)
        .signature_policy(SignaturePolicy::StrictNoSign)
        .message_id_fn(MessageIdFn::new(|message: &Message| {
            MessageId::new(message_id_of(message.data.as_deref().unwrap_or_default()))
        }))
        .limits(GossipLimits {
            max_rpc_len: MAX_TRANSMIT_SIZE + 4096,
            ..GossipLimits::default()
        })
}

/// The node limits: the defaults, with room for the 1000 peers of the memory benchmark,
/// which all dial from 127.0.0.1 at once.
pub fn limits() -> Limits {
    Limits {
        max_connections: 4096,
        max_pending_inbound: 1024,
        max_pending_inbound_per_ip: 1024,
        ..Limits::default()
    }
}

/// Starts a node (TCP + Noise + Yamux) listening on `listen` with [`service`].
pub async fn start(listen: &[Multiaddr]) -> anyhow::Result<(Node, Handle)> {
    let mut builder = Node::builder()
        .security([hyphae::Security::Noise])
        .muxers([hyphae::Multiplexer::Yamux])
        .limits(limits())
        .service(service());
    for addr in listen {
        builder = builder.listen(addr.clone());
    }
    let node = builder.start().await?;
    let handle = node
        .service::<Gossipsub>()
        .ok_or_else(|| anyhow::anyhow!("no gossipsub service"))?;
    Ok((node, handle))
}
