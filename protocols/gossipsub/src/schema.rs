//! The field numbers of the pubsub protobuf schema, in one place, named as the specs name the
//! fields. Encoder and decoder both read them from here, so the two cannot disagree.
//!
//! ```protobuf
//! // pubsub/README.md, gossipsub-v1.0.md, -v1.1.md, -v1.2.md, extensions/extensions.proto
//! message RPC {
//!   repeated SubOpts subscriptions = 1;
//!   repeated Message publish = 2;
//!   optional ControlMessage control = 3;
//!   optional TestExtension testExtension = 6492434;
//!   message SubOpts { optional bool subscribe = 1; optional string topicid = 2; }
//! }
//! message Message {
//!   optional string from = 1; optional bytes data = 2; optional bytes seqno = 3;
//!   required string topic = 4; optional bytes signature = 5; optional bytes key = 6;
//! }
//! message ControlMessage {
//!   repeated ControlIHave ihave = 1; repeated ControlIWant iwant = 2;
//!   repeated ControlGraft graft = 3; repeated ControlPrune prune = 4;
//!   repeated ControlIDontWant idontwant = 5; optional ControlExtensions extensions = 6;
//! }
//! message ControlIHave { optional string topicID = 1; repeated bytes messageIDs = 2; }
//! message ControlIWant { repeated bytes messageIDs = 1; }
//! message ControlGraft { optional string topicID = 1; }
//! message ControlPrune {
//!   optional string topicID = 1; repeated PeerInfo peers = 2; optional uint64 backoff = 3;
//! }
//! message PeerInfo { optional bytes peerID = 1; optional bytes signedPeerRecord = 2; }
//! message ControlIDontWant { repeated bytes messageIDs = 1; }
//! message ControlExtensions { optional bool testExtension = 6492434; }
//! message TestExtension {}
//! ```

/// `RPC`.
pub(crate) mod rpc {
    pub(crate) const SUBSCRIPTIONS: u32 = 1;
    pub(crate) const PUBLISH: u32 = 2;
    pub(crate) const CONTROL: u32 = 3;
    /// Experimental extensions use field numbers of at least 4 varint bytes (> 0x200000).
    pub(crate) const TEST_EXTENSION: u32 = 6_492_434;
}

/// `RPC.SubOpts`.
pub(crate) mod sub_opts {
    pub(crate) const SUBSCRIBE: u32 = 1;
    pub(crate) const TOPIC_ID: u32 = 2;
}

/// `Message`.
pub(crate) mod message {
    pub(crate) const FROM: u32 = 1;
    pub(crate) const DATA: u32 = 2;
    pub(crate) const SEQNO: u32 = 3;
    pub(crate) const TOPIC: u32 = 4;
    pub(crate) const SIGNATURE: u32 = 5;
    pub(crate) const KEY: u32 = 6;
}

/// `ControlMessage`.
pub(crate) mod control {
    pub(crate) const IHAVE: u32 = 1;
    pub(crate) const IWANT: u32 = 2;
    pub(crate) const GRAFT: u32 = 3;
    pub(crate) const PRUNE: u32 = 4;
    pub(crate) const IDONTWANT: u32 = 5;
    pub(crate) const EXTENSIONS: u32 = 6;
}

/// `ControlIHave`.
pub(crate) mod ihave {
    pub(crate) const TOPIC_ID: u32 = 1;
    pub(crate) const MESSAGE_IDS: u32 = 2;
}

/// `ControlIWant` and `ControlIDontWant`, which share their one field.
pub(crate) mod message_ids {
    pub(crate) const MESSAGE_IDS: u32 = 1;
}

/// `ControlGraft`.
pub(crate) mod graft {
    pub(crate) const TOPIC_ID: u32 = 1;
}

/// `ControlPrune`.
pub(crate) mod prune {
    pub(crate) const TOPIC_ID: u32 = 1;
    pub(crate) const PEERS: u32 = 2;
    pub(crate) const BACKOFF: u32 = 3;
}

/// `PeerInfo`.
pub(crate) mod peer_info {
    pub(crate) const PEER_ID: u32 = 1;
    pub(crate) const SIGNED_PEER_RECORD: u32 = 2;
}

/// `ControlExtensions`.
pub(crate) mod extensions {
    pub(crate) const TEST_EXTENSION: u32 = 6_492_434;
}
