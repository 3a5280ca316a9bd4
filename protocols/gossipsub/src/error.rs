//! The one error type of the crate.

/// Why an RPC could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
}
