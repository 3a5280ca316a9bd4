//! What one received RPC may make us keep.

/// Bounds on what decoding one RPC may allocate.
///
/// Only the RPC's length is a hard limit: a longer RPC is an error and its body is never
/// buffered. Every other bound counts entries of one RPC, and an entry past a bound, or one
/// that is too long, is skipped unread and counted in [`DecodedRpc::skipped`]: subscriptions
/// and control messages are hints a router can do without, a published message that is
/// skipped can still arrive by gossip, and refusing the whole RPC would also lose the rest of
/// it. The counts matter because an empty entry takes two bytes on the wire but tens of
/// bytes of memory once decoded; with them, a decoded RPC holds at most its own bytes plus a
/// few hundred kilobytes of bookkeeping at the defaults.
///
/// [`DecodedRpc::skipped`]: crate::DecodedRpc::skipped
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest RPC read or written, in bytes, without its length prefix. Default 1 MiB, the
    /// size pubsub/README.md suggests and go-libp2p uses (`DefaultMaxMessageSize`), so we
    /// read whatever go-libp2p may send. A longer length prefix fails the read before the
    /// body arrives, and [`encode_frame`](crate::encode_frame) refuses to write a longer RPC.
    pub max_rpc_len: usize,
    /// Most subscription changes kept per RPC. Default 1000, several times the topics an
    /// Ethereum node joins.
    pub max_subscriptions: usize,
    /// Most published messages kept per RPC. Default 1000; implementations send one or a
    /// few per RPC.
    pub max_messages: usize,
    /// Most entries kept of each control message kind (IHAVE, IWANT, GRAFT, PRUNE,
    /// IDONTWANT) per RPC. Default 1000; implementations send at most one IHAVE, GRAFT or
    /// PRUNE per topic and one IWANT or IDONTWANT per RPC.
    pub max_control_entries: usize,
    /// Most message ids kept across the IHAVEs of one RPC. Default 5000, go-libp2p's
    /// `GossipSubMaxIHaveLength` and rust-libp2p's `max_ihave_length`, both per heartbeat.
    pub max_ihave_ids: usize,
    /// Most message ids kept across the IWANTs of one RPC. Default 5000: an IWANT answers
    /// at most one heartbeat's IHAVEs.
    pub max_iwant_ids: usize,
    /// Most message ids kept across the IDONTWANTs of one RPC. Default 5000.
    pub max_idontwant_ids: usize,
    /// Longest message id kept, in bytes; longer ids are skipped. Default 256: the default
    /// ids (author and sequence number, raw or as text) take under 80 bytes and hash-based
    /// ids 32.
    pub max_message_id_len: usize,
    /// Most peer-exchange entries kept across the PRUNEs of one RPC. Default 64;
    /// go-libp2p offers 16 per PRUNE (`GossipSubPrunePeers`).
    pub max_prune_peers: usize,
    /// Longest topic kept, in bytes; a subscription, message or control entry with a longer
    /// topic is skipped. Default 1024.
    pub max_topic_len: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_rpc_len: 1024 * 1024,
            max_subscriptions: 1000,
            max_messages: 1000,
            max_control_entries: 1000,
            max_ihave_ids: 5000,
            max_iwant_ids: 5000,
            max_idontwant_ids: 5000,
            max_message_id_len: 256,
            max_prune_peers: 64,
            max_topic_len: 1024,
        }
    }
}
