//! The crate's one error type.

use hyphae_identity::PeerId;

/// Why text or bytes are not a valid multiaddr, naming the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Multiaddr text must start with `/`.
    #[error("multiaddr text must start with '/', got {text:?}")]
    MustStartWithSlash {
        /// The start of the text.
        text: String,
    },
    /// Two slashes with nothing between them.
    #[error("empty component after {after:?}")]
    EmptyComponent {
        /// The text before the empty component.
        after: String,
    },
    /// A protocol name we do not know.
    #[error("unknown protocol /{name}")]
    UnknownProtocol {
        /// The name.
        name: String,
    },
    /// A protocol code we do not know.
    #[error("unknown protocol code {code:#x}")]
    UnknownCode {
        /// The code.
        code: u64,
    },
    /// A protocol that takes a value was not given one.
    #[error("/{protocol} needs a value")]
    MissingValue {
        /// The protocol.
        protocol: &'static str,
    },
    /// A protocol's value is malformed.
    #[error("invalid /{protocol} value {value:?}: {reason}")]
    InvalidValue {
        /// The protocol.
        protocol: &'static str,
        /// The offending value, as text (hex for bytes; truncated if long).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes end inside a protocol's value.
    #[error("/{protocol} value is truncated")]
    Truncated {
        /// The protocol.
        protocol: &'static str,
    },
    /// A protocol code or length prefix is not a valid varint.
    #[error("invalid varint in multiaddr bytes: {0}")]
    Varint(hyphae_encoding::Error),
    /// A component index past the end of the address.
    #[error("component index {index} is out of range for an address of {len} components")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// How many components the address has.
        len: usize,
    },
    /// The address already ends with a different peer id.
    #[error("address already ends with /p2p/{existing}, not /p2p/{new}")]
    PeerIdMismatch {
        /// The peer id already there.
        existing: PeerId,
        /// The peer id that was to be added.
        new: PeerId,
    },
}
