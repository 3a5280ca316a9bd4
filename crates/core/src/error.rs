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
    /// Reading or writing the underlying stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}
