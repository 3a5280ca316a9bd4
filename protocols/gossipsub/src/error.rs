//! The one error type of the crate.

use std::fmt;

use hyphae_identity::PeerId;

/// Why an RPC could not be read or written, or a message could not be published or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The gossipsub service has stopped (its node shut down, or it was misconfigured).
    #[error("the gossipsub service has stopped")]
    Stopped,
    /// The RPC, or the length its prefix announces, is over [`Limits::max_rpc_len`].
    ///
    /// [`Limits::max_rpc_len`]: crate::Limits::max_rpc_len
    #[error("RPC of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The length announced, received or to be sent.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The length prefix in front of an RPC is not a valid unsigned varint.
    #[error("malformed RPC frame: {0}")]
    Frame(hyphae_core::Error),
    /// The RPC is not valid protobuf, or a known field has a wire type its schema does not
    /// give it.
    #[error("malformed RPC protobuf: {0}")]
    Protobuf(#[from] hyphae_encoding::Error),
    /// Signing a message we publish failed (only RSA signing can).
    #[error("signing the message failed: {0}")]
    Sign(hyphae_identity::Error),
    /// Under `StrictSign`, a received message lacks a field every signed message carries.
    #[error("message lacks its {0} field, which the StrictSign policy requires")]
    MissingField(MessageField),
    /// Under `StrictSign`, the author's peer id is a hash of its key and the message does not
    /// carry the key in its `key` field, so the signature cannot be checked.
    #[error("message lacks the key of its author {author}, whose peer id does not inline it")]
    MissingKey {
        /// The author the `from` field names.
        author: PeerId,
    },
    /// Under `StrictNoSign`, a received message carries a field that policy forbids, even
    /// if empty.
    #[error("message carries a {0} field, which the StrictNoSign policy forbids")]
    UnexpectedField(MessageField),
    /// The `from` field is not a valid binary peer id.
    #[error("message author is not a valid peer id: {0}")]
    InvalidAuthor(hyphae_identity::Error),
    /// The `seqno` field is not the 8 bytes of a big-endian `u64`.
    #[error("message seqno is {len} bytes long, not 8")]
    InvalidSeqnoLength {
        /// The length found.
        len: usize,
    },
    /// The author's key, from the `key` field or inlined in the peer id, does not decode.
    #[error("message author's public key is invalid: {0}")]
    InvalidKey(hyphae_identity::Error),
    /// The `key` field holds a key other than the one the `from` peer id names.
    #[error("message key belongs to {key_owner}, not to its author {author}")]
    KeyMismatch {
        /// The author the `from` field names.
        author: PeerId,
        /// The peer the carried key belongs to.
        key_owner: PeerId,
    },
    /// The signature does not verify with the author's key.
    #[error("message signature does not verify with the key of its author {author}")]
    InvalidSignature {
        /// The author the `from` field names.
        author: PeerId,
    },
}

/// A field of a published message that the signature policies govern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageField {
    /// `from`, the author's peer id.
    From,
    /// `seqno`, the author's sequence number.
    Seqno,
    /// `signature`.
    Signature,
    /// `key`, the author's public key.
    Key,
}

/// The field's name in the protobuf schema.
impl fmt::Display for MessageField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageField::From => "from",
            MessageField::Seqno => "seqno",
            MessageField::Signature => "signature",
            MessageField::Key => "key",
        })
    }
}
