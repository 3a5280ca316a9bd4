use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyphae_core::resources::{LimitExceeded, Resource, ScopeKind};
use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use crate::ConnectionId;

/// Why a node operation failed.
///
/// Each variant says one thing; a wrapped lower-layer error is the
/// [`source`](std::error::Error::source), never repeated in this message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP transport failed to listen or dial.
    #[error(transparent)]
    Tcp(#[from] hyphae_tcp::Error),
    /// The WebSocket transport failed to listen, dial or upgrade.
    #[error(transparent)]
    WebSocket(#[from] hyphae_websocket::Error),
    /// The QUIC transport failed to listen, dial or authenticate.
    #[error(transparent)]
    Quic(#[from] hyphae_quic::Error),
    /// Protocol negotiation (multistream-select) or framing failed.
    #[error(transparent)]
    Negotiation(#[from] hyphae_core::Error),
    /// The Noise handshake failed.
    #[error(transparent)]
    Noise(#[from] hyphae_noise::Error),
    /// The TLS handshake failed.
    #[error(transparent)]
    Tls(#[from] hyphae_tls::Error),
    /// The Yamux session failed (a refusal by a resource limit is
    /// [`Error::LimitReached`] instead).
    #[error(transparent)]
    Yamux(hyphae_yamux::Error),
    /// The mplex session failed (a refusal by a resource limit is [`Error::LimitReached`]
    /// instead).
    #[error(transparent)]
    Mplex(hyphae_mplex::Error),
    /// A key, peer id or signed record was invalid.
    #[error(transparent)]
    Identity(#[from] hyphae_identity::Error),
    /// Resolving a `/dnsaddr` address failed.
    #[error(transparent)]
    Dns(#[from] hyphae_dns::Error),
    /// The in-process transport failed to listen or dial.
    #[error(transparent)]
    Memory(#[from] hyphae_memory::Error),
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
    /// Both sides agreed on a protocol this node does not run (a bug on one side).
    #[error("{stage} agreed on {protocol}, which this node does not run")]
    UnexpectedProtocol {
        /// Which negotiation (`"security"`, `"stream multiplexer"`).
        stage: &'static str,
        /// The protocol agreed on.
        protocol: String,
    },
    /// We tried to dial ourselves.
    #[error("refusing to dial our own peer id")]
    DialSelf,
    /// No known address to dial the peer at.
    #[error("no known address for {0}")]
    NoAddresses(PeerId),
    /// Every address of the peer failed.
    #[error("could not reach {peer}: {}", Attempts(attempts))]
    Unreachable {
        /// The peer.
        peer: PeerId,
        /// Each address tried and why it failed.
        attempts: Vec<(Multiaddr, Error)>,
    },
    /// No address a `/dnsaddr` resolved to could be reached (the list is empty when it
    /// resolved to nothing).
    #[error("could not reach {addr}: {}", Attempts(attempts))]
    DnsaddrUnreachable {
        /// The `/dnsaddr` address.
        addr: Multiaddr,
        /// Each address it resolved to and why dialling it failed.
        attempts: Vec<(Multiaddr, Error)>,
    },
    /// A dial of this peer that concurrent calls shared failed: each of them gets this,
    /// with the one error the dial met (a call that dialled alone gets that error itself).
    #[error("the dial of {peer}, shared by concurrent calls, failed")]
    DialFailed {
        /// The peer.
        peer: PeerId,
        /// Why the dial failed.
        #[source]
        source: Arc<Error>,
    },
    /// The address names no transport this node has.
    #[error("no transport can dial {0}")]
    UnsupportedAddress(Multiaddr),
    /// The address names no transport this node can listen on.
    #[error("no transport can listen on {0}{hint}", hint = listen_hint(.0))]
    UnsupportedListenAddress(Multiaddr),
    /// Something took longer than allowed.
    #[error("{what} timed out after {:.1} s", after.as_secs_f64())]
    Timeout {
        /// What timed out.
        what: Timeout,
        /// The limit.
        after: Duration,
    },
    /// A resource limit refused the connection or stream.
    #[error("{0}")]
    LimitReached(Limit),
    /// The peer has no connection and none could be made.
    #[error("not connected to {0}")]
    NotConnected(PeerId),
    /// The connection is closed or was never ours.
    #[error("connection {0} is closed")]
    ConnectionClosed(ConnectionId),
    /// The node runs no service of this kind (it was left out of the builder).
    #[error("the {0} service is not running")]
    ServiceNotRunning(&'static str),
    /// The node has shut down.
    #[error("the node has shut down")]
    Shutdown,
    /// Reading or writing a connection or stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What an [`Error::Timeout`] was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// A new connection's security and muxer handshakes.
    Handshake,
    /// The first bytes of an inbound connection (a peer that connects and sends nothing).
    FirstBytes,
    /// Negotiating a stream's protocol.
    StreamNegotiation,
    /// Resolving a `/dnsaddr` address.
    DnsaddrResolution,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Handshake => "connection handshake",
            Timeout::FirstBytes => "waiting for the peer's first bytes",
            Timeout::StreamNegotiation => "stream protocol negotiation",
            Timeout::DnsaddrResolution => "dnsaddr resolution",
        })
    }
}

/// Which resource limit an [`Error::LimitReached`] hit, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Established connections in total.
    Connections(usize),
    /// Established connections to one peer.
    ConnectionsPerPeer(usize),
    /// Inbound connections in their handshakes, in total.
    PendingInbound(usize),
    /// Inbound connections in their handshakes from one IP address.
    PendingInboundPerIp(usize),
    /// Inbound connections (in their handshakes or established) from one address group
    /// (an IPv4 address, an IPv6 /56).
    InboundPerIp(usize),
    /// New inbound connections from one address group faster than its rate (the value is
    /// the bucket's burst).
    InboundRatePerIp(u32),
    /// A scope of the resource manager refused: its limit on `resource`, `limit`.
    Resource {
        /// The kind of scope that refused.
        scope: ScopeKind,
        /// What it refused.
        resource: Resource,
        /// Its limit.
        limit: u64,
    },
}

impl From<hyphae_yamux::Error> for Error {
    fn from(error: hyphae_yamux::Error) -> Error {
        match error {
            hyphae_yamux::Error::ResourceLimit(refused) => Error::from(refused),
            other => Error::Yamux(other),
        }
    }
}

impl From<hyphae_mplex::Error> for Error {
    fn from(error: hyphae_mplex::Error) -> Error {
        match error {
            hyphae_mplex::Error::ResourceLimit(refused) => Error::from(refused),
            other => Error::Mplex(other),
        }
    }
}

impl From<LimitExceeded> for Error {
    fn from(refused: LimitExceeded) -> Error {
        Error::LimitReached(Limit::from(&refused))
    }
}

impl From<&LimitExceeded> for Limit {
    fn from(refused: &LimitExceeded) -> Limit {
        Limit::Resource {
            scope: refused.scope.kind(),
            resource: refused.resource,
            limit: refused.limit,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Connections(max) => write!(f, "connection limit reached ({max})"),
            Limit::ConnectionsPerPeer(max) => {
                write!(f, "per-peer connection limit reached ({max})")
            }
            Limit::PendingInbound(max) => write!(f, "pending handshake limit reached ({max})"),
            Limit::PendingInboundPerIp(max) => {
                write!(f, "per-IP pending handshake limit reached ({max})")
            }
            Limit::InboundPerIp(max) => {
                write!(f, "per-address inbound connection limit reached ({max})")
            }
            Limit::InboundRatePerIp(burst) => {
                write!(
                    f,
                    "per-address inbound connection rate exceeded (burst {burst})"
                )
            }
            Limit::Resource {
                scope,
                resource,
                limit,
            } => write!(
                f,
                "{scope} scope's {} limit reached ({limit})",
                resource.as_str()
            ),
        }
    }
}

/// What a listen address that names no transport probably lacks.
fn listen_hint(addr: &Multiaddr) -> &'static str {
    use hyphae_multiaddr::Protocol;
    let has = |wanted: fn(&Protocol) -> bool| addr.iter().any(|p| wanted(&p));
    if has(|p| matches!(p, Protocol::Udp(_))) && !has(|p| matches!(p, Protocol::QuicV1)) {
        " (QUIC addresses end in /quic-v1)"
    } else {
        ""
    }
}

/// Shows each attempt as `addr: error`.
struct Attempts<'a>(&'a [(Multiaddr, Error)]);

impl fmt::Display for Attempts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            // Only a /dnsaddr can leave nothing to try.
            return f.write_str("it resolved to no address");
        }
        for (i, (addr, error)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{addr}: {error}")?;
            // The attempt's own causes, so that one line says why each address failed.
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                write!(f, ": {cause}")?;
                source = cause.source();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_lists_each_attempt_with_its_causes() {
        let peer = PeerId::random();
        let error = Error::Unreachable {
            peer,
            attempts: vec![
                (
                    "/ip4/10.0.0.1/tcp/1".parse().unwrap(),
                    Error::Io(io::Error::new(io::ErrorKind::ConnectionRefused, "refused")),
                ),
                (
                    "/ip4/10.0.0.2/tcp/1".parse().unwrap(),
                    Error::Timeout {
                        what: Timeout::Handshake,
                        after: Duration::from_secs(10),
                    },
                ),
            ],
        };
        assert_eq!(
            error.to_string(),
            format!(
                "could not reach {peer}: /ip4/10.0.0.1/tcp/1: refused; \
                 /ip4/10.0.0.2/tcp/1: connection handshake timed out after 10.0 s"
            )
        );
    }

    #[test]
    fn a_udp_listen_address_without_quic_says_what_is_missing() {
        let error = Error::UnsupportedListenAddress("/ip4/0.0.0.0/udp/4001".parse().unwrap());
        assert_eq!(
            error.to_string(),
            "no transport can listen on /ip4/0.0.0.0/udp/4001 (QUIC addresses end in /quic-v1)"
        );
    }

    #[test]
    fn a_shared_dial_carries_its_error_once() {
        let leader = Arc::new(Error::DialSelf);
        let joined = Error::DialFailed {
            peer: PeerId::random(),
            source: Arc::clone(&leader),
        };
        assert!(!joined.to_string().contains("our own peer id"));
        let source = std::error::Error::source(&joined).unwrap();
        assert_eq!(source.to_string(), leader.to_string());
    }
}
