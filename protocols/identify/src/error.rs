use std::io;
use std::time::Duration;

use hyphae_identity::PeerId;

/// Why an identify exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No stream to the peer could be opened.
    #[error(transparent)]
    Node(#[from] hyphae_service::Error),
    /// The peer's messages on one stream exceed the limit.
    #[error("identify message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The size received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message is not a valid identify protobuf.
    #[error("malformed identify message")]
    Malformed(#[source] prost::DecodeError),
    /// The public key in the message is invalid.
    #[error("invalid public key in identify message")]
    PublicKey(#[source] hyphae_identity::Error),
    /// The public key in the message is not the peer's.
    #[error("identify from {expected} carries the key of {actual}")]
    PeerIdMismatch {
        /// The peer the connection authenticated.
        expected: PeerId,
        /// The peer the key belongs to.
        actual: PeerId,
    },
    /// The exchange took longer than allowed.
    #[error("identify timed out after {:.1} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// Reading or writing the stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Framing the message failed.
    #[error(transparent)]
    Frame(#[from] hyphae_core::Error),
}
