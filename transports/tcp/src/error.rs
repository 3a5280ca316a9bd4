use std::io;

use hyphae_multiaddr::Multiaddr;

use crate::ResolveError;

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
    /// The `/dns*` name could not be resolved to an address to dial.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
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
