use std::io;

/// Why a frame or record could not be read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A length prefix announces more bytes than the protocol allows.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The protocol's limit.
        max: usize,
    },
    /// A length prefix is not a valid varint.
    #[error("invalid frame length prefix: {0}")]
    LengthPrefix(hyphae_encoding::Error),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({read} of {expected} bytes read)")]
    TruncatedFrame {
        /// Bytes of the frame that arrived.
        read: usize,
        /// Bytes the length prefix announced.
        expected: usize,
    },
    /// A dialer was given no protocols to propose.
    #[error("no protocols to propose")]
    NoProtocolsToPropose,
    /// A protocol id cannot be sent in multistream-select.
    #[error("invalid protocol id {protocol:?}: {reason}")]
    InvalidProtocolId {
        /// The protocol id (truncated if long).
        protocol: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The listener answered `na` to every protocol we proposed.
    #[error("peer supports none of the proposed protocols {proposed:?}")]
    NegotiationFailed {
        /// What we proposed, in order.
        proposed: Vec<String>,
    },
    /// The peer sent a negotiation message that does not fit the exchange so far.
    #[error("unexpected multistream-select message {received:?}, expected {expected}")]
    UnexpectedNegotiationMessage {
        /// What the exchange called for.
        expected: String,
        /// What arrived.
        received: String,
    },
    /// A negotiation message is not a UTF-8 line ending in a newline.
    #[error("invalid multistream-select message: {0}")]
    InvalidNegotiationMessage(&'static str),
    /// The dialer kept proposing protocols we do not support.
    #[error("peer proposed more than {limit} unsupported protocols")]
    TooManyProposals {
        /// How many rejections we answer.
        limit: usize,
    },
    /// A key, peer id or envelope was invalid.
    #[error(transparent)]
    Identity(#[from] hyphae_identity::Error),
    /// A multiaddr was invalid.
    #[error(transparent)]
    Multiaddr(#[from] hyphae_multiaddr::Error),
    /// A peer record payload is not a valid `PeerRecord` protobuf.
    #[error("malformed peer record: {0}")]
    PeerRecordProtobuf(prost::DecodeError),
    /// A peer record names a different peer than the key that signed it.
    #[error("peer record for {record} is signed by {signer}")]
    PeerRecordSignerMismatch {
        /// The peer the record names.
        record: hyphae_identity::PeerId,
        /// The peer whose key signed it.
        signer: hyphae_identity::PeerId,
    },
    /// A peer record lists more addresses than we accept.
    #[error("peer record lists {count} addresses, more than the {max} accepted")]
    TooManyRecordAddresses {
        /// Addresses in the record.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Reading or writing the underlying stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}
