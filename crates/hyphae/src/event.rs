use std::time::Duration;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use crate::{Multiplexer, Security};

/// Which side opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We dialled.
    Outbound,
    /// The peer dialled us.
    Inbound,
}

/// Identifies one connection of this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub(crate) u64);

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Something that happened to the node, delivered by [`Node::events`](crate::Node::events).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The node listens on a new address.
    ListenAddr {
        /// The address, ending in `/p2p/<our id>`.
        addr: Multiaddr,
    },
    /// A connection finished its handshakes.
    ConnectionEstablished {
        /// The authenticated peer.
        peer: PeerId,
        /// The connection.
        connection: ConnectionId,
        /// The peer's address on this connection.
        remote_addr: Multiaddr,
        /// Who dialled.
        direction: Direction,
        /// The negotiated security protocol; `None` when the transport brings its own
        /// (QUIC).
        security: Option<Security>,
        /// The negotiated stream multiplexer; `None` when the transport brings its own
        /// (QUIC).
        muxer: Option<Multiplexer>,
    },
    /// A connection ended.
    ConnectionClosed {
        /// The peer.
        peer: PeerId,
        /// The connection.
        connection: ConnectionId,
    },
    /// An inbound connection failed before it was established.
    IncomingConnectionFailed {
        /// Where it came from.
        remote_addr: Multiaddr,
        /// Why it failed.
        error: String,
    },
    /// A peer answered identify; its information is in the peerstore.
    PeerIdentified {
        /// The peer.
        peer: PeerId,
        /// Its agent version, if it sent one.
        agent_version: Option<String>,
        /// The protocols it accepts.
        protocols: Vec<String>,
    },
    /// A ping round trip completed.
    Ping {
        /// The peer.
        peer: PeerId,
        /// The measured round-trip time.
        rtt: Duration,
    },
}
