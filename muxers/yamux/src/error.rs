use std::io;

use crate::frame::{GoAwayCode, StreamId};

/// What went wrong in a Yamux session or one of its streams.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame header carries a version other than 0.
    #[error("unsupported yamux version {0}")]
    UnsupportedVersion(u8),
    /// A frame header carries a type the spec does not define.
    #[error("unknown yamux frame type {0}")]
    UnknownFrameType(u8),
    /// A Data frame is longer than any receive window we grant.
    #[error("data frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The announced payload length.
        len: u32,
        /// The largest payload we accept.
        max: u32,
    },
    /// The peer sent more data on a stream than the window we granted it.
    #[error("peer sent {len} bytes on stream {stream} with only {window} bytes of window left")]
    ReceiveWindowExceeded {
        /// The stream.
        stream: StreamId,
        /// The Data frame's payload length.
        len: u32,
        /// The window the peer had left.
        window: u32,
    },
    /// The peer's window updates took a stream's send window past `u32::MAX`.
    #[error("peer's window updates overflow the send window of stream {0}")]
    SendWindowOverflow(StreamId),
    /// The peer used a stream id it may not use: 0 for a stream frame, or one of our parity
    /// in a SYN.
    #[error("peer used invalid stream id {0}")]
    InvalidStreamId(StreamId),
    /// The peer opened a stream whose id is still in use.
    #[error("peer opened stream {0}, which is already open")]
    DuplicateStream(StreamId),
    /// No stream with this id is open (or it is no longer ours to use).
    #[error("no open stream {0}")]
    UnknownStream(StreamId),
    /// The stream was reset, by the peer or by us.
    #[error("stream {0} was reset")]
    StreamReset(StreamId),
    /// Data was written after the stream's write side was closed.
    #[error("stream {0} is closed for writing")]
    WriteClosed(StreamId),
    /// Opening a stream would exceed the configured maximum of open streams.
    #[error("{max} streams are already open")]
    TooManyStreams {
        /// The limit ([`Config::max_streams`](crate::Config::max_streams)).
        max: usize,
    },
    /// The peer has not yet acknowledged as many of our streams as we may leave
    /// unacknowledged (the spec's ACK backlog).
    #[error("{max} opened streams await the peer's acknowledgement")]
    AckBacklogFull {
        /// The limit ([`MAX_ACK_BACKLOG`](crate::MAX_ACK_BACKLOG)).
        max: usize,
    },
    /// Every stream id of our parity has been used.
    #[error("stream ids exhausted")]
    StreamIdsExhausted,
    /// As many pings as we allow are already awaiting their answer.
    #[error("{max} pings already await an answer")]
    TooManyPings {
        /// The limit.
        max: usize,
    },
    /// The peer sent Go Away: it accepts no new streams.
    #[error("peer sent go away ({0:?})")]
    GoAway(GoAwayCode),
    /// The session is closed: by us, by the peer, by a protocol error or because the
    /// underlying connection ended.
    #[error("connection closed")]
    ConnectionClosed,
    /// The resource scope refused the memory a stream or the session needs.
    #[error(transparent)]
    ResourceLimit(#[from] hyphae_core::resources::LimitExceeded),
    /// Reading or writing the underlying connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// Converts a stream error into the `io::Error` an `AsyncRead`/`AsyncWrite` caller sees,
    /// with a kind that tells resets and closed connections apart.
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            Error::StreamReset(_) => io::ErrorKind::ConnectionReset,
            Error::WriteClosed(_) => io::ErrorKind::BrokenPipe,
            Error::ConnectionClosed | Error::GoAway(_) => io::ErrorKind::ConnectionAborted,
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
