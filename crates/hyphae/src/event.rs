use std::sync::Arc;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use hyphae_service::Limit;

use crate::{ConnectionId, Direction, Error, Multiplexer, Security};

/// Something that happened to the node, delivered by [`Node::events`](crate::Node::events).
///
/// These are the node's own lifecycle events; protocols report theirs through their
/// services' handles (e.g. `node.service::<Ping>()`).
#[derive(Debug, Clone)]
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
        error: Arc<Error>,
    },
    /// An inbound connection was refused before its handshake started.
    IncomingConnectionRefused {
        /// Where it came from.
        remote_addr: Multiaddr,
        /// The limit that refused it.
        limit: Limit,
    },
}
