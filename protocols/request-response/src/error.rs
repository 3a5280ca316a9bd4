use std::fmt;
use std::io;
use std::time::Duration;

use hyphae_service::PeerId;

/// A boxed error from a codec's serialisation library (serde_json, cbor4ii, a user's own).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request or a response failed.
///
/// Each variant says one thing; a wrapped error is the
/// [`source`](std::error::Error::source), never repeated in this message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The exchange took longer than [`Config::timeout`](crate::Config::timeout): no
    /// response arrived in time, or (responding) the response came too late.
    #[error("the request timed out after {:.1} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// A message is larger than its limit. Nothing beyond the limit was read or written.
    #[error("{message}{} exceeds the limit of {limit} bytes", Size(*.size))]
    TooLarge {
        /// The request or the response.
        message: Message,
        /// Its size in bytes, if known: a message read to the end of its stream is cut off
        /// at the limit, so only its length prefix (or an encoder) knows its whole size.
        size: Option<u64>,
        /// The limit it exceeds.
        limit: usize,
    },
    /// The peer supports none of the service's protocols (it refused them all in
    /// multistream-select).
    #[error("{peer} supports none of the protocols {protocols:?}")]
    UnsupportedProtocols {
        /// The peer.
        peer: PeerId,
        /// The protocols proposed, in order.
        protocols: Vec<String>,
    },
    /// The stream failed, was reset or ended early (the connection closed, the peer
    /// dropped the request) before the whole message was sent or received.
    #[error("the stream closed before the whole {message} was transferred")]
    StreamClosed {
        /// The message being transferred.
        message: Message,
        /// What the stream reported.
        #[source]
        source: io::Error,
    },
    /// A message arrived whole but is not a valid encoding.
    #[error("invalid {message}")]
    Decode {
        /// The request or the response.
        message: Message,
        /// What the decoder reported.
        #[source]
        source: BoxError,
    },
    /// A message could not be encoded (a type that serde cannot represent in the format,
    /// such as a JSON map with non-string keys).
    #[error("could not encode the {message}")]
    Encode {
        /// The request or the response.
        message: Message,
        /// What the encoder reported.
        #[source]
        source: BoxError,
    },
    /// No stream to the peer could be opened (dialling failed, no known address, ...).
    #[error("could not open a stream to {peer}")]
    Open {
        /// The peer.
        peer: PeerId,
        /// Why the node could not open it (boxed: the node's error is large, and this one
        /// travels in every `Result` of the crate).
        #[source]
        source: Box<hyphae_service::Error>,
    },
    /// As many outbound requests as allowed are already waiting for their responses.
    #[error("{0}")]
    TooManyInflight(InflightLimit),
    /// The node has shut down (or the service's node is gone).
    #[error("the node has shut down")]
    Shutdown,
}

impl Error {
    /// A [`Error::Decode`] of `message` caused by `source`, for codecs.
    pub fn decode(message: Message, source: impl Into<BoxError>) -> Error {
        Error::Decode {
            message,
            source: source.into(),
        }
    }

    /// An [`Error::Encode`] of `message` caused by `source`, for codecs.
    pub fn encode(message: Message, source: impl Into<BoxError>) -> Error {
        Error::Encode {
            message,
            source: source.into(),
        }
    }

    /// A [`Error::StreamClosed`] while transferring `message`, for codecs.
    pub fn stream(message: Message, source: io::Error) -> Error {
        Error::StreamClosed { message, source }
    }
}

/// Which message of an exchange an [`Error`] concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// The request.
    Request,
    /// The response.
    Response,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Message::Request => "request",
            Message::Response => "response",
        })
    }
}

/// Which bound on outbound requests an [`Error::TooManyInflight`] hit, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InflightLimit {
    /// Requests to one peer ([`Config::max_outbound_per_peer`](crate::Config::max_outbound_per_peer)).
    PerPeer(usize),
    /// Requests to all peers ([`Config::max_outbound`](crate::Config::max_outbound)).
    Total(usize),
}

impl fmt::Display for InflightLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflightLimit::PerPeer(max) => {
                write!(f, "{max} requests to this peer are already in flight")
            }
            InflightLimit::Total(max) => write!(f, "{max} requests are already in flight"),
        }
    }
}

/// Shows a message size if known: ` of N bytes`, or nothing.
struct Size(Option<u64>);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(size) => write!(f, " of {size} bytes"),
            None => Ok(()),
        }
    }
}
