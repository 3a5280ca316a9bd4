use std::io;

use crate::session::StreamId;

/// What went wrong in an mplex session or one of its streams.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame header carries flag 7, which the spec does not define.
    #[error("unknown mplex flag {0}")]
    UnknownFlag(u8),
    /// A frame's data is longer than the spec's 1 MiB.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The largest length we accept.
        max: usize,
    },
    /// A header or length varint is malformed (overlong, not minimal).
    #[error("malformed frame: {0}")]
    Malformed(hyphae_encoding::Error),
    /// The peer opened a stream whose id is still in use.
    #[error("peer opened stream {0}, which is already open")]
    DuplicateStream(u64),
    /// The peer wrote to a stream after closing or resetting it.
    #[error("peer wrote to stream {0} after closing it")]
    WriteAfterClose(u64),
    /// No stream with this id is open.
    #[error("no open stream {0:?}")]
    UnknownStream(StreamId),
    /// The stream was reset, by the peer or by us (also when its buffer overflowed).
    #[error("stream {0:?} was reset")]
    StreamReset(StreamId),
    /// Data was written after the stream's write side was closed.
    #[error("stream {0:?} is closed for writing")]
    WriteClosed(StreamId),
    /// Opening a stream would exceed [`Config::max_streams`](crate::Config::max_streams).
    #[error("{max} streams are already open")]
    TooManyStreams {
        /// The limit.
        max: usize,
    },
    /// The session is closed: by us, by a protocol error or because the connection ended.
    #[error("connection closed")]
    ConnectionClosed,
    /// The resource scope refused the memory the session needs.
    #[error(transparent)]
    ResourceLimit(#[from] hyphae_core::resources::LimitExceeded),
    /// Reading or writing the underlying connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// Converts a stream error into the `io::Error` an `AsyncRead`/`AsyncWrite` caller sees.
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            Error::StreamReset(_) => io::ErrorKind::ConnectionReset,
            Error::WriteClosed(_) => io::ErrorKind::BrokenPipe,
            Error::ConnectionClosed => io::ErrorKind::ConnectionAborted,
            Error::Io(error) => error.kind(),
            _ => io::ErrorKind::Other,
        };
        match self {
            Error::Io(error) => error,
            other => io::Error::new(kind, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn an_io_failure_is_printed_once_in_the_error_chain() {
        let error = Error::from(io::Error::new(io::ErrorKind::BrokenPipe, "pipe broke"));
        assert_eq!(error.to_string(), "pipe broke");
        assert!(error.source().is_none());
    }
}
