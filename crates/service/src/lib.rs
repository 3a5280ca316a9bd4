//! The service API of hyphae: what a protocol needs from a libp2p node, and the types the
//! node and its services share.
//!
//! Every protocol of a node (ping, identify, perf, request-response, Kademlia, an
//! application's own) is a [`Service`]: started once with a [`Context`], it accepts its
//! protocol's streams ([`Context::accept`] → [`Incoming`]), follows connections
//! ([`Context::connections`] → [`ConnectionEvents`]), opens streams on a given connection
//! or to a peer, and runs tasks that end with the node ([`Context::spawn`]). A `Context`
//! holds its node weakly, so a service never keeps a node alive.
//!
//! Users depend on the `hyphae` crate, which re-exports all of this; protocol crates depend
//! on this one, so that the node can ship some of them as defaults without a cycle.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod connection;
mod connection_events;
mod error;
pub mod incoming;
mod peerstore;
mod service;
mod stream;
mod tags;

pub use connection::{ConnectionId, ConnectionInfo, Direction, Protocols};
pub use connection_events::{ConnectionEvent, ConnectionEvents, ConnectionHub, Identified};
pub use error::{Error, Limit, Timeout};
pub use incoming::{Incoming, IncomingSender};
pub use peerstore::{
    MAX_ADDRS_PER_PEER, MAX_PEERS, MAX_PROTOCOLS_PER_PEER, PeerInfo, PeerUpdate, Peerstore,
};
pub use service::{BoxFuture, Context, Host, Io, LocalChanges, Service};
pub use stream::{Stream, StreamIo};
pub use tags::PeerTags;

pub use hyphae_identity::{Keypair, PeerId, PublicKey};
pub use hyphae_multiaddr::{Multiaddr, Protocol};
