//! Signature policies: which authenticity fields a topic's messages carry, and checking a
//! received message against that (pubsub/README.md, "Signature Policy Options";
//! gossipsub-v1.1.md relies on them for scoring invalid messages).
//!
//! Only the two strict policies are offered. The spec calls `LaxSign` and `LaxNoSign`
//! legacy and insecure, to be deprecated; go-libp2p-pubsub and rust-libp2p keep them for old
//! networks only.
//!
//! We follow the spec's text where the implementations are looser, so that what we accept
//! every other implementation accepts too: `StrictSign` requires an 8-byte `seqno`, as
//! rust-libp2p does (go-libp2p-pubsub checks neither its presence nor its length, but its
//! publishers always send 8 bytes); a carried `key` that does not decode is refused
//! (rust-libp2p then falls back to a key inlined in the peer id); `StrictNoSign` refuses a
//! `key` too (rust-libp2p's anonymous mode ignores it).

use hyphae_identity::PeerId;

use crate::error::{Error, MessageField};
use crate::rpc::Message;
use crate::signing;

/// Length of a sequence number: a big-endian `u64` (pubsub/README.md, "The Message").
pub(crate) const SEQNO_LEN: usize = 8;

/// What a topic's messages must carry to prove who wrote them.
///
/// All peers of a topic must use the same policy: each one drops what the other publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignaturePolicy {
    /// Every message carries its author (`from`), a sequence number (`seqno`), a signature
    /// and, when the author's peer id does not inline it, the author's key; a message
    /// lacking any of them, or whose signature does not verify, is refused. The default of
    /// go-libp2p-pubsub, rust-libp2p and js-libp2p.
    #[default]
    StrictSign,
    /// No message carries `from`, `seqno`, `signature` or `key`, not even empty; a message
    /// with any of them is refused. For anonymous publishing and content-addressed
    /// messages (Ethereum uses it); authenticity, if any, is the application's.
    StrictNoSign,
}

/// Who a message that passed its policy says wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A signed message: its author, proven by the signature, and the author's number for it.
    Author {
        /// The author's peer id, from `from`.
        peer_id: PeerId,
        /// The author's sequence number, from `seqno`.
        seqno: u64,
    },
    /// A message under `StrictNoSign`, which names no author.
    Anonymous,
}

impl SignaturePolicy {
    /// Checks a received `message` against the policy and, under `StrictSign`, verifies its
    /// signature; returns who wrote it.
    ///
    /// Verifying costs a public-key operation, so a router deduplicates by message id before
    /// calling this, as go-libp2p-pubsub does; message-id functions accept any message.
    pub fn validate(self, message: &Message) -> Result<Origin, Error> {
        match self {
            SignaturePolicy::StrictSign => validate_signed(message),
            SignaturePolicy::StrictNoSign => validate_anonymous(message),
        }
    }
}

fn validate_signed(message: &Message) -> Result<Origin, Error> {
    let from = message
        .from
        .as_deref()
        .ok_or(Error::MissingField(MessageField::From))?;
    let seqno = message
        .seqno
        .as_deref()
        .ok_or(Error::MissingField(MessageField::Seqno))?;
    let signature = message
        .signature
        .as_deref()
        .ok_or(Error::MissingField(MessageField::Signature))?;
    let seqno: [u8; SEQNO_LEN] = seqno
        .try_into()
        .map_err(|_| Error::InvalidSeqnoLength { len: seqno.len() })?;
    let author = PeerId::from_bytes(from).map_err(Error::InvalidAuthor)?;
    signing::verify(message, &author, signature)?;
    Ok(Origin::Author {
        peer_id: author,
        seqno: u64::from_be_bytes(seqno),
    })
}

fn validate_anonymous(message: &Message) -> Result<Origin, Error> {
    let fields = [
        (MessageField::From, message.from.is_some()),
        (MessageField::Seqno, message.seqno.is_some()),
        (MessageField::Signature, message.signature.is_some()),
        (MessageField::Key, message.key.is_some()),
    ];
    match fields.into_iter().find(|&(_, is_present)| is_present) {
        Some((field, _)) => Err(Error::UnexpectedField(field)),
        None => Ok(Origin::Anonymous),
    }
}
