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
    /// Reading or writing the underlying stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}
