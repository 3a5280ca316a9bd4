//! hyphae: a libp2p node that is simple to use.
//!
//! A [`Node`] listens and dials over TCP, WebSocket, QUIC and in-process `/memory`
//! addresses, secures TCP and WebSocket connections with Noise or TLS and multiplexes them
//! with Yamux or mplex, and routes inbound streams to the handlers you register with
//! [`Node::handle`]. Open streams to any peer with [`Node::open_stream`].
//!
//! Every protocol runs as a [`Service`]: the node's defaults are [`ping`] and [`identify`];
//! [`perf`], [`request_response`] and others are installed with [`Builder::service`], and an application's own
//! protocols can be services too (see `examples/`). A service gets a [`Context`] and is
//! reached with [`Node::service`].
//!
//! Specs (libp2p/specs): connections/README.md for the upgrade flow; each protocol crate
//! cites its own.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod builder;
mod config;
mod connection;
mod event;
mod host;
mod inbound_gate;
mod memory_wait;
mod metrics;
mod muxer;
mod node;
mod open_streams;
mod pending;
mod pool;
mod refusal_log;
mod router;
mod transport;
mod trim;
mod upgrade;

pub use builder::Builder;
pub use config::{Limits, Multiplexer, Security};
pub use event::Event;
pub use hyphae_core::resources;
pub use inbound_gate::RateLimit;
pub use ipnet::IpNet;
pub use node::Node;
pub use transport::Transport;

pub use hyphae_service::{
    ConnectionEvent, ConnectionEvents, ConnectionId, ConnectionInfo, Context, Direction, Error,
    Identified, Incoming, Limit, LocalChanges, MAX_ADDRS_PER_PEER, MAX_PEERS,
    MAX_PROTOCOLS_PER_PEER, PeerInfo, PeerTags, PeerUpdate, Peerstore, Protocols, Service, Stream,
    Timeout,
};

pub use hyphae_dns::Resolver as DnsResolver;
pub use hyphae_identity::{KeyType, Keypair, PeerId, PublicKey};
pub use hyphae_multiaddr::{Multiaddr, Protocol};
/// The protocol crates, each a service.
pub use {hyphae_identify as identify, hyphae_ping as ping};
/// The transport and muxer crates, for their configuration types.
pub use {
    hyphae_memory as memory, hyphae_mplex as mplex, hyphae_quic as quic, hyphae_tcp as tcp,
    hyphae_websocket as websocket, hyphae_yamux as yamux,
};

/// Publish/subscribe with gossipsub (`/meshsub/1.2.0` to `1.0.0`, `/floodsub/1.0.0`):
/// the [`Gossipsub`](hyphae_gossipsub::Gossipsub) service, its handle and its router.
#[cfg(feature = "gossipsub")]
pub use hyphae_gossipsub as gossipsub;
/// The Kademlia DHT (`/ipfs/kad/1.0.0`): find peers and providers, store records.
#[cfg(feature = "kad")]
pub use hyphae_kad as kad;
/// The perf protocol (`/perf/1.0.0`): its stream functions and its service.
#[cfg(feature = "perf")]
pub use hyphae_perf as perf;
/// Request-response protocols: a service with typed codecs (length-prefixed bytes, JSON,
/// CBOR), compatible with rust-libp2p's `request_response`.
#[cfg(feature = "request-response")]
pub use hyphae_request_response as request_response;

/// The README's library example, compiled as a doctest so that it keeps compiling as pasted.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExample;
