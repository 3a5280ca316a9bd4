//! Message ids: what routers deduplicate, gossip (IHAVE, IWANT, IDONTWANT) and score by
//! (pubsub/README.md, "Message Identification").
//!
//! Every peer of a topic must compute ids the same way, or gossip about the topic fails. The
//! spec's default is "the string concatenation of the `from` and `seqno` fields", and the
//! implementations read that differently:
//! - go-libp2p-pubsub (`DefaultMsgIdFn`): the bytes of `from` followed by the bytes of
//!   `seqno` ([`author_seqno_id`], our default for `StrictSign`), as go is the reference;
//! - rust-libp2p: the text of the author's base58 peer id followed by the seqno in decimal
//!   ([`author_seqno_text_id`]);
//! - js-libp2p (`msgIdFnStrictSign`, 2026): the author's protobuf-encoded public key
//!   followed by the 8 seqno bytes, which for an Ed25519 author is go's id without the
//!   peer id's two-byte multihash prefix. Not offered here; [`MessageIdFn::new`] can.
//!
//! So peers of the three on their defaults gossip ids the others do not recognise; a mixed
//! topic needs one function configured everywhere. For `StrictNoSign` messages, which carry
//! neither field, go's default gives every message the empty id and rust's one fixed id,
//! while js-libp2p (`msgIdFnStrictNoSign`) uses the SHA-256 digest of `data`
//! ([`data_sha256_id`], our default for `StrictNoSign`). Networks such as Ethereum's define
//! their own function, which [`MessageIdFn::new`] takes.

use std::fmt;
use std::sync::Arc;

use hyphae_encoding::multibase::base58;
use sha2::{Digest, Sha256};

use crate::policy::{SEQNO_LEN, SignaturePolicy};
use crate::rpc::{Message, MessageId};

/// The function that computes a topic's message ids: cheap to clone, shareable across
/// threads, and total: it must return an id for any message, even one that will fail
/// validation, since routers deduplicate before verifying.
///
/// ```
/// use hyphae_gossipsub::{Message, MessageId, MessageIdFn, SignaturePolicy};
///
/// let by_topic_and_data = MessageIdFn::new(|message: &Message| {
///     let mut id = message.topic.as_bytes().to_vec();
///     id.extend_from_slice(message.data.as_deref().unwrap_or_default());
///     MessageId::new(id)
/// });
/// let message = Message { topic: "t".into(), data: Some("x".into()), ..Message::default() };
/// assert_eq!(by_topic_and_data.message_id(&message).as_bytes(), b"tx");
/// let default = MessageIdFn::default_for(SignaturePolicy::StrictNoSign);
/// assert_eq!(default.message_id(&message).as_bytes().len(), 32);
/// ```
#[derive(Clone)]
pub struct MessageIdFn(Arc<dyn Fn(&Message) -> MessageId + Send + Sync>);

impl MessageIdFn {
    /// A custom function.
    pub fn new(function: impl Fn(&Message) -> MessageId + Send + Sync + 'static) -> MessageIdFn {
        MessageIdFn(Arc::new(function))
    }

    /// The default for topics under `policy`: [`author_seqno_id`] for `StrictSign`, as go
    /// computes it, and [`data_sha256_id`] for `StrictNoSign`, as js does.
    pub fn default_for(policy: SignaturePolicy) -> MessageIdFn {
        match policy {
            SignaturePolicy::StrictSign => MessageIdFn::new(author_seqno_id),
            SignaturePolicy::StrictNoSign => MessageIdFn::new(data_sha256_id),
        }
    }

    /// The id of `message`.
    pub fn message_id(&self, message: &Message) -> MessageId {
        (self.0)(message)
    }
}

impl fmt::Debug for MessageIdFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageIdFn(..)")
    }
}

/// `from` followed by `seqno`, as bytes: go-libp2p-pubsub's `DefaultMsgIdFn`. An absent
/// field counts as empty.
pub fn author_seqno_id(message: &Message) -> MessageId {
    let from = message.from.as_deref().unwrap_or_default();
    let seqno = message.seqno.as_deref().unwrap_or_default();
    let mut id = Vec::with_capacity(from.len() + seqno.len());
    id.extend_from_slice(from);
    id.extend_from_slice(seqno);
    MessageId::new(id)
}

/// rust-libp2p's default: the UTF-8 text of `from` in base58 followed by `seqno` as a
/// decimal `u64`, for topics shared with rust-libp2p peers on their defaults.
///
/// As rust-libp2p reads them, an absent `from` counts as the peer id bytes `00 01 00`
/// (base58 `15R`), and an absent `seqno`, or one that is not 8 bytes, as 0.
pub fn author_seqno_text_id(message: &Message) -> MessageId {
    /// rust-libp2p's stand-in author for messages without one.
    const NO_AUTHOR: &[u8] = &[0, 1, 0];
    let from = message.from.as_deref().unwrap_or(NO_AUTHOR);
    let seqno = message
        .seqno
        .as_deref()
        .and_then(|seqno| <[u8; SEQNO_LEN]>::try_from(seqno).ok())
        .map_or(0, u64::from_be_bytes);
    let mut id = base58::encode(from);
    id.push_str(&seqno.to_string());
    MessageId::new(id.into_bytes())
}

/// The SHA-256 digest of `data` (32 bytes, no multihash prefix): content-addressed ids for
/// anonymous messages, js-libp2p's default for `StrictNoSign`. Identical payloads get
/// identical ids, so a topic cannot repeat a message within the seen-cache's time.
pub fn data_sha256_id(message: &Message) -> MessageId {
    let data = message.data.as_deref().unwrap_or_default();
    MessageId::new(Sha256::digest(data).to_vec())
}
