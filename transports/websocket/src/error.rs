use std::io;

use hyphae_multiaddr::Multiaddr;

/// Why a WebSocket listen, dial, upgrade or frame failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not one the WebSocket transport can use.
    #[error("{addr} is not a WebSocket address this transport can {action}")]
    UnsupportedAddress {
        /// The address given.
        addr: Multiaddr,
        /// `dial` or `listen on`.
        action: &'static str,
    },
    /// Listening on `/wss` or `/tls/ws` needs a server certificate in [`crate::Config::tls`].
    #[error("listening on {addr} needs a TLS server certificate in the config")]
    TlsNotConfigured {
        /// The address that asked for TLS.
        addr: Multiaddr,
    },
    /// The name to verify the server's certificate against is not a DNS name or IP address.
    #[error("{name:?} is not a valid TLS server name")]
    InvalidServerName {
        /// The name from `/dns*/` or `/sni/`.
        name: String,
    },
    /// Building a rustls configuration failed (for instance, a key the provider cannot use).
    #[error("TLS configuration: {0}")]
    TlsConfig(rustls::Error),
    /// The TCP connection under the WebSocket could not be made or accepted.
    #[error(transparent)]
    Tcp(#[from] hyphae_tcp::Error),
    /// The TLS handshake under `/wss` failed.
    #[error("TLS handshake: {0}")]
    Tls(io::Error),
    /// The HTTP upgrade exchange was refused or malformed.
    #[error("the WebSocket handshake failed")]
    Handshake(#[from] HandshakeError),
    /// TLS and the HTTP upgrade together did not finish within
    /// [`crate::Config::handshake_timeout`].
    #[error("the WebSocket handshake timed out after {seconds:.1} s")]
    HandshakeTimeout {
        /// The timeout.
        seconds: f64,
    },
    /// A frame broke RFC 6455 or this side's limits.
    #[error("invalid WebSocket frame")]
    Frame(#[from] FrameError),
    /// The listener's accept task is gone (it only stops when the listener is dropped).
    #[error("the listener is closed")]
    ListenerClosed,
    /// Reading or writing the connection failed during the handshake.
    #[error("{action}: {error}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        error: io::Error,
    },
}

/// Why the HTTP/1.1 Upgrade exchange (RFC 6455 section 4) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request or response head did not end within the size limit.
    #[error("HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The head has more header lines than the parser accepts.
    #[error("more than {limit} HTTP headers")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The bytes are not an HTTP/1.x head.
    #[error("malformed HTTP: {0}")]
    Malformed(String),
    /// The request method is not `GET`.
    #[error("method {0:?} is not GET")]
    NotGet(String),
    /// The HTTP version is older than 1.1.
    #[error("HTTP/1.{0} is too old for a WebSocket upgrade (1.1 needed)")]
    HttpVersion(u8),
    /// A header the upgrade requires is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header the upgrade requires has a value that does not satisfy it.
    #[error("bad {name} header: {value:?}")]
    BadHeader {
        /// The header's name.
        name: &'static str,
        /// Its value (lossily decoded).
        value: String,
    },
    /// The client asked for a WebSocket version other than 13.
    #[error("unsupported Sec-WebSocket-Version {0:?} (13 needed)")]
    UnsupportedVersion(String),
    /// The server did not answer `101 Switching Protocols`.
    #[error("server answered {code} {reason}")]
    Status {
        /// The HTTP status code.
        code: u16,
        /// The reason phrase.
        reason: String,
    },
    /// The server's `Sec-WebSocket-Accept` is not derived from our key.
    #[error("Sec-WebSocket-Accept does not match the key sent")]
    AcceptMismatch,
    /// The server chose an extension or subprotocol although we offered none.
    #[error("server selected {0} although none was offered")]
    UnrequestedSelection(&'static str),
    /// The connection ended before the head was complete.
    #[error("connection closed during the handshake")]
    ConnectionClosed,
}

/// Why a WebSocket frame was refused (RFC 6455 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// RSV1-3 are set but no extension was negotiated.
    #[error("reserved bits {0:#05b} set without a negotiated extension")]
    ReservedBits(u8),
    /// The opcode is one RFC 6455 reserves.
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A control frame (close, ping, pong) is longer than 125 bytes.
    #[error("control frame of {0} bytes exceeds 125")]
    ControlTooLong(u64),
    /// A control frame has FIN clear: control frames must not be fragmented.
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A client sent an unmasked frame; clients must mask every frame.
    #[error("unmasked frame from a client")]
    UnmaskedClientFrame,
    /// A server sent a masked frame; servers must not mask.
    #[error("masked frame from a server")]
    MaskedServerFrame,
    /// The 64-bit length has its most significant bit set.
    #[error("64-bit payload length has its top bit set")]
    LengthOverflow,
    /// The payload is longer than this side accepts.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The announced payload length.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// A continuation frame arrived with no fragmented message open.
    #[error("continuation frame outside a fragmented message")]
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was still open.
    #[error("new data frame inside an unfinished fragmented message")]
    UnfinishedMessage,
    /// A close frame's payload is one byte, carries a status code that may not be sent, or
    /// its reason is not UTF-8.
    #[error("invalid close frame payload")]
    InvalidClose,
    /// The connection ended in the middle of a frame.
    #[error("connection closed in the middle of a frame")]
    Truncated,
}

impl From<FrameError> for io::Error {
    fn from(error: FrameError) -> io::Error {
        let kind = match error {
            FrameError::Truncated => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, Error::Frame(error))
    }
}
