use std::io;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP transport failed to listen or dial.
    #[error(transparent)]
    Tcp(#[from] hyphae_tcp::Error),
    /// The WebSocket transport failed to listen, dial or upgrade.
    #[error("websocket: {0}")]
    WebSocket(#[from] hyphae_websocket::Error),
    /// The QUIC transport failed to listen, dial or authenticate.
    #[error("quic: {0}")]
    Quic(#[from] hyphae_quic::Error),
    /// Protocol negotiation (multistream-select) or framing failed.
    #[error(transparent)]
    Negotiation(#[from] hyphae_core::Error),
    /// The Noise handshake failed.
    #[error("noise handshake: {0}")]
    Noise(#[from] hyphae_noise::Error),
    /// The TLS handshake failed.
    #[error("tls handshake: {0}")]
    Tls(#[from] hyphae_tls::Error),
    /// The Yamux session failed.
    #[error("yamux: {0}")]
    Yamux(#[from] hyphae_yamux::Error),
    /// The mplex session failed.
    #[error("mplex: {0}")]
    Mplex(#[from] hyphae_mplex::Error),
    /// A key, peer id or signed record was invalid.
    #[error(transparent)]
    Identity(#[from] hyphae_identity::Error),
    /// The peer authenticated as someone other than the peer we dialled.
    #[error("dialled {expected} but the peer is {actual}")]
    PeerIdMismatch {
        /// The peer id in the dialled address.
        expected: PeerId,
        /// The peer id the peer proved.
        actual: PeerId,
    },
    /// The builder was left with an empty list of something both sides must agree on.
    #[error("no {0} configured")]
    NothingToNegotiate(&'static str),
    /// We tried to dial ourselves.
    #[error("refusing to dial our own peer id")]
    DialSelf,
    /// No known address to dial the peer at.
    #[error("no known address for {0}")]
    NoAddresses(PeerId),
    /// Every address of the peer failed.
    #[error("could not reach {peer}: {}", summarize(.attempts))]
    Unreachable {
        /// The peer.
        peer: PeerId,
        /// Each address tried and why it failed.
        attempts: Vec<(Multiaddr, String)>,
    },
    /// Resolving a `/dnsaddr` address failed.
    #[error("dns: {0}")]
    Dns(#[from] hyphae_dns::Error),
    /// No address a `/dnsaddr` resolved to could be reached (the list is empty when it
    /// resolved to nothing).
    #[error("could not reach {addr}: {}", summarize_or_none(.attempts))]
    DnsaddrUnreachable {
        /// The `/dnsaddr` address.
        addr: Multiaddr,
        /// Each address it resolved to and why dialling it failed.
        attempts: Vec<(Multiaddr, String)>,
    },
    /// The address names no transport this node has.
    #[error("no transport can dial {0}")]
    UnsupportedAddress(Multiaddr),
    /// Something took longer than allowed.
    #[error("{what} timed out after {seconds:.1} s")]
    Timeout {
        /// What timed out.
        what: &'static str,
        /// The limit.
        seconds: f64,
    },
    /// A resource limit refused the connection or stream.
    #[error("limit reached: {limit} ({max})")]
    LimitReached {
        /// Which limit.
        limit: &'static str,
        /// Its value.
        max: usize,
    },
    /// A protocol message exceeded its size limit.
    #[error("{protocol} message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The protocol.
        protocol: &'static str,
        /// The message size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A protocol message could not be decoded.
    #[error("malformed {protocol} message: {reason}")]
    Malformed {
        /// The protocol.
        protocol: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The peer has no connection and none could be made.
    #[error("not connected to {0}")]
    NotConnected(PeerId),
    /// The node has shut down.
    #[error("the node has shut down")]
    Shutdown,
    /// Reading or writing a connection or stream failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

fn summarize_or_none(attempts: &[(Multiaddr, String)]) -> String {
    if attempts.is_empty() {
        "it resolved to no address".to_owned()
    } else {
        summarize(attempts)
    }
}

fn summarize(attempts: &[(Multiaddr, String)]) -> String {
    attempts
        .iter()
        .map(|(addr, error)| format!("{addr}: {error}"))
        .collect::<Vec<_>>()
        .join("; ")
}
