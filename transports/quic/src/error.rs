use std::io;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

/// Why a QUIC listen, dial or stream operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not one this transport can use (`/ip4|ip6/…/udp/…/quic-v1`, and for
    /// dialing also `/dns|dns4|dns6/…`, optionally ending in `/p2p/…`).
    #[error("{addr} is not a QUIC v1 address this transport can {action}")]
    UnsupportedAddress {
        /// The address given.
        addr: Multiaddr,
        /// `dial` or `listen on`.
        action: &'static str,
    },
    /// The `/dns*` name could not be resolved to an address to dial.
    #[error(transparent)]
    Resolve(#[from] hyphae_tcp::ResolveError),
    /// Binding or configuring a UDP socket failed.
    #[error("{action} {addr}: {error}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The address involved.
        addr: Multiaddr,
        /// The operating system's error.
        error: io::Error,
    },
    /// The dial (resolution and handshake) did not complete in time.
    #[error("dialing {addr} timed out after {seconds:.1} s")]
    HandshakeTimeout {
        /// The address dialled.
        addr: Multiaddr,
        /// The timeout.
        seconds: f64,
    },
    /// The peer authenticated as someone other than the peer we meant to reach.
    #[error("expected peer {expected}, but the remote authenticated as {actual}")]
    PeerIdMismatch {
        /// The peer id we dialled (from the `/p2p/` address).
        expected: PeerId,
        /// The peer id the remote's certificate proves.
        actual: PeerId,
    },
    /// The peer's certificate did not authenticate it, or our TLS setup failed.
    #[error("TLS: {0}")]
    Tls(hyphae_tls::Error),
    /// quinn refused to start the connection (e.g. the endpoint is shutting down).
    #[error("starting the QUIC connection: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or ended: handshake failure, timeout, reset or close by
    /// either side.
    #[error("QUIC connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The endpoint was closed.
    #[error("the QUIC endpoint is closed")]
    EndpointClosed,
    /// A setting cannot be expressed in QUIC.
    #[error("invalid QUIC configuration: {0}")]
    InvalidConfig(&'static str),
}

impl From<hyphae_tls::Error> for Error {
    fn from(error: hyphae_tls::Error) -> Error {
        match error {
            hyphae_tls::Error::PeerIdMismatch { expected, actual } => {
                Error::PeerIdMismatch { expected, actual }
            }
            error => Error::Tls(error),
        }
    }
}
