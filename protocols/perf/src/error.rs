use std::io;

/// What went wrong in a perf exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client closed the stream before sending the whole 8-byte size header.
    #[error("stream ended after {received} of the 8 header bytes")]
    MissingHeader {
        /// How many header bytes arrived.
        received: usize,
    },
    /// The client sent no complete size header within [`HEADER_TIMEOUT`](crate::HEADER_TIMEOUT).
    #[error("no size header within the timeout")]
    HeaderTimeout,
    /// The server closed the stream before sending all the bytes we asked for.
    #[error("server sent {received} of the {expected} bytes requested")]
    TooFewBytes {
        /// The download size we requested.
        expected: u64,
        /// What arrived before the end of the stream.
        received: u64,
    },
    /// The server sent more bytes than we asked for.
    #[error("server sent more than the {expected} bytes requested")]
    TooManyBytes {
        /// The download size we requested.
        expected: u64,
    },
    /// Reading from or writing to the stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// No stream to the peer could be opened.
    #[error(transparent)]
    Node(#[from] hyphae_service::Error),
}
