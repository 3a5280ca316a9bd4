use std::io;
use std::net::SocketAddr;

use hyphae_multiaddr::Multiaddr;

/// Why a DNS lookup or a `/dnsaddr` resolution failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The resolver has no nameserver to ask.
    #[error("no nameservers configured")]
    NoNameservers,
    /// The name cannot be put in a DNS query.
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No answer came from the nameserver in time (after the retry).
    #[error("DNS query to {server} timed out")]
    Timeout {
        /// The last nameserver tried.
        server: SocketAddr,
    },
    /// The response could not be decoded or broke a rule of RFC 1035.
    #[error("malformed DNS response: {reason}")]
    Malformed {
        /// What was wrong.
        reason: &'static str,
    },
    /// The nameserver answered with an error code other than NXDOMAIN (SERVFAIL = 2,
    /// REFUSED = 5, ...).
    #[error("DNS server failure, RCODE {rcode}")]
    ServerFailure {
        /// The RCODE of the response (RFC 1035 §4.1.1).
        rcode: u8,
    },
    /// The address given to `resolve_dnsaddr` does not start with `/dnsaddr/<domain>`.
    #[error("{addr} is not a /dnsaddr address")]
    NotDnsaddr {
        /// The address given.
        addr: Multiaddr,
    },
    /// Nothing resolved and a `/dnsaddr` chain hit the nesting or lookup limit (a loop or
    /// an oversized zone).
    #[error("/dnsaddr resolution hit the recursion or lookup limit")]
    RecursionLimit,
    /// A socket operation failed.
    #[error("{action} {server}: {error}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The nameserver involved.
        server: SocketAddr,
        /// The operating system's error.
        error: io::Error,
    },
    /// The operating system's random number generator failed (needed for query ids).
    #[error("no randomness for a DNS query id: {0}")]
    Random(getrandom::Error),
}
