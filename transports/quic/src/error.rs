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
    Resolve(#[from] hyphae_netaddr::ResolveError),
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
    #[error(transparent)]
    Tls(hyphae_tls::Error),
    /// quinn refused to start the connection (e.g. the endpoint is shutting down).
    #[error("could not start the QUIC connection")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or ended: handshake failure, timeout, reset or close by
    /// either side.
    #[error("the QUIC connection ended")]
    Connection(#[from] quinn::ConnectionError),
    /// The endpoint was closed.
    #[error("the QUIC endpoint is closed")]
    EndpointClosed,
    /// The node's memory budget cannot spare even the smallest receive window
    /// ([`MIN_WINDOW`](crate::MIN_WINDOW)) for a new connection.
    #[error("no memory left for a QUIC connection's receive window")]
    NoMemory,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of `error` and its sources, joined as `anyhow`'s `{:#}` prints them.
    fn chain(error: &(dyn std::error::Error + 'static)) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    #[test]
    fn each_cause_is_printed_once_in_the_error_chain() {
        let ended = Error::from(quinn::ConnectionError::TimedOut);
        assert_eq!(chain(&ended), "the QUIC connection ended: timed out");
        let rejected = Error::from(hyphae_tls::Error::from(
            hyphae_tls::CertificateError::Expired,
        ));
        assert_eq!(
            chain(&rejected),
            "the peer's certificate was rejected: certificate has expired"
        );
        let refused = Error::from(quinn::ConnectError::EndpointStopping);
        assert_eq!(
            chain(&refused),
            format!(
                "could not start the QUIC connection: {}",
                quinn::ConnectError::EndpointStopping
            )
        );
    }
}
