use std::io;

use hyphae_multiaddr::Multiaddr;

/// Why a TCP listen or dial failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not one the TCP transport can use.
    #[error("{addr} is not a TCP address this transport can {action}")]
    UnsupportedAddress {
        /// The address given.
        addr: Multiaddr,
        /// `dial` or `listen on`.
        action: &'static str,
    },
    /// Name resolution failed.
    #[error("resolving {host}: {error}")]
    Resolve {
        /// The name being resolved.
        host: String,
        /// The resolver's error.
        error: io::Error,
    },
    /// The name resolved to no address of the family the multiaddr asks for.
    #[error("{host} has no {family} address")]
    NoAddresses {
        /// The name resolved.
        host: String,
        /// `IPv4`, `IPv6` or `IP`.
        family: &'static str,
    },
    /// The dial did not complete in time.
    #[error("dialing {addr} timed out after {seconds:.1} s")]
    DialTimeout {
        /// The address dialled.
        addr: Multiaddr,
        /// The timeout.
        seconds: f64,
    },
    /// A socket operation failed.
    #[error("{action} {addr}: {error}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The address involved.
        addr: Multiaddr,
        /// The operating system's error.
        error: io::Error,
    },
}
