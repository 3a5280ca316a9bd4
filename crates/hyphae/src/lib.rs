//! hyphae: a libp2p node that is simple to use.
//!
//! A [`Node`] listens and dials over TCP, WebSocket and QUIC, secures TCP and WebSocket
//! connections with Noise or TLS and multiplexes them with Yamux or mplex, serves ping and
//! identify, and routes inbound streams to the handlers you
//! register with [`Node::handle`]. Open streams to any peer with [`Node::open_stream`].
//!
//! Specs (libp2p/specs): connections/README.md for the upgrade flow, ping/ping.md,
//! identify/README.md; the lower layers cite their own.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod builder;
mod config;
mod connection;
mod error;
mod event;
pub mod identify;
mod muxer;
mod node;
mod peerstore;
pub mod ping;
mod pool;
mod router;
mod stream;
mod transport;
mod upgrade;

pub use builder::{
    Builder, DEFAULT_AGENT_VERSION, DEFAULT_PING_INTERVAL, DEFAULT_PROTOCOL_VERSION,
};
pub use config::{Limits, Multiplexer, Security};
pub use error::Error;
pub use event::{ConnectionId, Direction, Event};
pub use node::{Node, Protocols};
pub use peerstore::{MAX_ADDRS_PER_PEER, MAX_PEERS, MAX_PROTOCOLS_PER_PEER, PeerInfo, Peerstore};
pub use stream::Stream;
pub use transport::Transport;

pub use hyphae_dns::Resolver as DnsResolver;
pub use hyphae_identity::{KeyType, Keypair, PeerId, PublicKey};
pub use hyphae_multiaddr::{Multiaddr, Protocol};
/// The transport and muxer crates, for their configuration types.
pub use {
    hyphae_mplex as mplex, hyphae_tcp as tcp, hyphae_websocket as websocket, hyphae_yamux as yamux,
};
