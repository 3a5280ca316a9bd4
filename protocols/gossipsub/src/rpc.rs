//! The pubsub RPC and its parts, one Rust type per protobuf message of the specs.
//!
//! Schemas, in libp2p/specs: `RPC`, `SubOpts` and `Message` in pubsub/README.md ("The RPC",
//! "The Message"); `ControlMessage`, `ControlIHave`, `ControlIWant`, `ControlGraft` and
//! `ControlPrune` in pubsub/gossipsub/gossipsub-v1.0.md ("Protobuf"); `ControlPrune.peers`,
//! `ControlPrune.backoff` and `PeerInfo` in gossipsub-v1.1.md ("PRUNE Backoff and Peer
//! Exchange"); `ControlIDontWant` in gossipsub-v1.2.md ("Protobuf Extension");
//! `ControlMessage.extensions`, `ControlExtensions` and the experimental test extension in
//! gossipsub-v1.3.md and pubsub/gossipsub/extensions/extensions.proto.
//!
//! The schemas are proto2, where an `optional` field that is absent differs from one that is
//! present and empty. Where that difference matters the field is an `Option`: a message's
//! signature covers the protobuf encoding of the message itself, so a message must encode
//! back to exactly the fields its author set, and the `StrictNoSign` policy rejects a message
//! that carries `from`, `seqno`, `signature` or `key` at all, even empty. Topics and the
//! `subscribe` flag read as empty or false when absent, as every implementation reads them;
//! they are always written, as go-libp2p and rust-libp2p write them.

use std::fmt;

use bytes::Bytes;

/// One RPC on a pubsub stream: subscription changes, published messages and gossipsub
/// control messages, any of which may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rpc {
    /// Topics the sender joins or leaves (field 1).
    pub subscriptions: Vec<SubOpts>,
    /// Messages published or forwarded (field 2).
    pub publish: Vec<Message>,
    /// Gossipsub control messages (field 3).
    pub control: Option<ControlMessage>,
    /// The experimental v1.3 test extension's message (field 6492434, an empty message),
    /// which a peer sends once both sides announced the test extension.
    pub test_extension: bool,
}

impl Rpc {
    /// Whether the RPC carries nothing at all.
    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
            && self.publish.is_empty()
            && self.control.is_none()
            && !self.test_extension
    }
}

/// A subscription change: the sender joins or leaves a topic (`RPC.SubOpts`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubOpts {
    /// True to subscribe, false to unsubscribe (field 1).
    pub subscribe: bool,
    /// The topic (field 2, `topicid`).
    pub topic: String,
}

/// A published message (`Message`).
///
/// Which of the optional fields are set depends on the signature policy and the message-id
/// function (pubsub/README.md, "Message Signing"), which the router enforces, not the codec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The author's peer id, in binary (field 1). The spec's schema says `string` but every
    /// implementation puts the binary peer id here, which is not UTF-8, so it is bytes.
    pub from: Option<Vec<u8>>,
    /// The payload (field 2), shared rather than copied when forwarded to many peers.
    pub data: Option<Bytes>,
    /// The author's sequence number, 8 bytes big-endian by convention (field 3).
    pub seqno: Option<Vec<u8>>,
    /// The topic it is published to (field 4, `required` in the schema).
    pub topic: String,
    /// The author's signature (field 5).
    pub signature: Option<Vec<u8>>,
    /// The author's public key, when the peer id does not inline it (field 6).
    pub key: Option<Vec<u8>>,
}

/// The gossipsub control messages of one RPC (`ControlMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlMessage {
    /// Announcements of message ids the sender holds (field 1).
    pub ihave: Vec<ControlIHave>,
    /// Requests for messages by id (field 2).
    pub iwant: Vec<ControlIWant>,
    /// Requests to join the receiver's mesh for a topic (field 3).
    pub graft: Vec<ControlGraft>,
    /// Notices of removal from the sender's mesh for a topic (field 4).
    pub prune: Vec<ControlPrune>,
    /// Ids the sender already has and does not want sent (field 5, v1.2).
    pub idontwant: Vec<ControlIDontWant>,
    /// The extensions the sender supports (field 6, v1.3), sent at most once per stream, in
    /// its first RPC.
    pub extensions: Option<ControlExtensions>,
}

impl ControlMessage {
    /// Whether no control message is in it.
    pub fn is_empty(&self) -> bool {
        self.ihave.is_empty()
            && self.iwant.is_empty()
            && self.graft.is_empty()
            && self.prune.is_empty()
            && self.idontwant.is_empty()
            && self.extensions.is_none()
    }
}

/// IHAVE: message ids the sender has seen recently in a topic (`ControlIHave`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlIHave {
    /// The topic (field 1, `topicID`).
    pub topic: String,
    /// The ids (field 2, `messageIDs`).
    pub message_ids: Vec<MessageId>,
}

/// IWANT: message ids the sender asks to be sent in full (`ControlIWant`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlIWant {
    /// The ids (field 1, `messageIDs`).
    pub message_ids: Vec<MessageId>,
}

/// GRAFT: the sender added the receiver to its mesh for a topic (`ControlGraft`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlGraft {
    /// The topic (field 1, `topicID`).
    pub topic: String,
}

/// PRUNE: the sender removed the receiver from its mesh for a topic (`ControlPrune`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlPrune {
    /// The topic (field 1, `topicID`).
    pub topic: String,
    /// Other peers in the topic to connect to instead (field 2, v1.1 peer exchange).
    pub peers: Vec<PeerInfo>,
    /// Seconds before the receiver may graft again (field 3, v1.1). Absent means the
    /// receiver's default. A peer chooses it: saturate any arithmetic done with it.
    pub backoff: Option<u64>,
}

/// A peer offered by peer exchange in a PRUNE (`PeerInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerInfo {
    /// The peer's binary peer id (field 1, `peerID`).
    pub peer_id: Option<Vec<u8>>,
    /// Its signed peer record, a sealed envelope the receiver verifies before dialing
    /// (field 2, `signedPeerRecord`).
    pub signed_peer_record: Option<Vec<u8>>,
}

/// IDONTWANT: message ids the sender already received and does not want (`ControlIDontWant`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlIDontWant {
    /// The ids (field 1, `messageIDs`).
    pub message_ids: Vec<MessageId>,
}

/// The v1.3 extensions the sender supports (`ControlExtensions`).
///
/// No canonical extension is specified yet; extensions this type does not know are skipped
/// when decoding, as the spec requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlExtensions {
    /// Support for the experimental test extension (field 6492434,
    /// extensions/experimental/test-extension.md). Written only when true.
    pub test_extension: bool,
}

/// A message id, as the topic's message-id function computes it: opaque bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MessageId(Vec<u8>);

impl MessageId {
    /// An id with these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> MessageId {
        MessageId(bytes.into())
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The id's bytes, without copying them.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for MessageId {
    fn from(bytes: Vec<u8>) -> MessageId {
        MessageId(bytes)
    }
}

impl From<&[u8]> for MessageId {
    fn from(bytes: &[u8]) -> MessageId {
        MessageId(bytes.to_vec())
    }
}

impl AsRef<[u8]> for MessageId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Hex, because ids are opaque bytes and often hashes.
impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageId(")?;
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        f.write_str(")")
    }
}
