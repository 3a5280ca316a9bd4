//! The libp2p Kademlia DHT (`/ipfs/kad/1.0.0`), spec kad-dht/README.md in libp2p/specs:
//! find a peer's addresses by its id, find who provides a key, store and fetch small records,
//! in the same DHT (Amino) that go-libp2p, rust-libp2p and js-libp2p nodes form.
//!
//! The protocol logic is sans-IO: the routing table, the lookups and the stores take time as
//! an argument and never touch a socket, so the same code runs inside a node and inside the
//! simulator (`hyphae-sim`) for thousands of nodes.
//!
//! Where the spec is silent we follow go-libp2p-kad-dht, the implementation that most of the
//! network runs: α = 10 concurrent requests, a lookup that ends when the β = 3 closest peers
//! have answered followed by a parallel pass over the rest of the k closest, check-before-add
//! for inbound peers, and an IP-group diversity limit in the routing table.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod auto_mode;
mod commands;
mod config;
mod dht;
mod diversity;
mod error;
mod event;
mod handle;
mod ipns;
mod key;
mod message;
mod netsize;
mod queries;
mod query;
mod results;
mod routing_table;
mod serve;
mod service;
mod store;
mod streams;
mod time;
mod validator;

pub use config::{Config, Mode, Quorum};
pub use dht::{Dht, Failure};
pub use diversity::IpGroup;
pub use error::Error;
pub use event::{Event, Outcome, PeerAddrs, Progress, QueryId, RequestId, Transmit};
pub use handle::Handle;
pub use hyphae_core::rng::Rng;
pub use ipns::{CborError, Ipns, IpnsRecord, MAX_IPNS_RECORD_LEN, ipns_key};
pub use key::{Distance, Key, MAX_REFRESH_CPL, random_peer_bytes_with_cpl};
pub use message::{
    ConnectionType, DecodeError, EncodeError, Limits, MAX_PEER_ENTRY_LEN, Message, MessageType,
    PeerInfo, Record, decode_frame, encode_frame,
};
pub use query::{Lookup, LookupConfig, LookupPhase, LookupStats};
pub use results::{Providers, QueryResults, Records};
pub use routing_table::{
    Entry, Insert, RoutingConfig, RoutingTable, USEFULNESS_THRESHOLD, usefulness_threshold,
};
pub use service::{Kademlia, ModeSetting, ROUTING_TABLE_TAG, ROUTING_TABLE_VALUE};
#[cfg(feature = "disk")]
pub use store::DiskStore;
pub use store::{
    Limit, MemoryStore, ProviderRecord, RecordStore, StoreError, StoreLimits, StoreUsage,
    StoredRecord,
};
pub use time::{Clock, format_rfc3339, parse_rfc3339};
pub use validator::{AcceptAll, PublicKeyValidator, RecordError, Validator, Validators, pk_key};

use std::time::Duration;

/// The protocol id of the public (Amino) DHT.
pub const PROTOCOL: &str = "/ipfs/kad/1.0.0";
/// Bucket size and replication factor (spec: k = 20).
pub const K: usize = 20;
/// Concurrent requests per lookup (go-libp2p and js-libp2p use 10; the spec suggests 3).
pub const ALPHA: usize = 10;
/// How many of the closest peers must have answered for a lookup to end (go-libp2p's
/// resiliency parameter).
pub const BETA: usize = 3;
/// How often the routing table is refreshed (spec: 10 minutes).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// How long a stored record or provider entry lives (spec: 48 hours).
pub const RECORD_TTL: Duration = Duration::from_secs(48 * 3600);
/// How often a node re-announces what it provides (spec: 22 hours).
pub const REPROVIDE_INTERVAL: Duration = Duration::from_secs(22 * 3600);
/// How long a provider's addresses are handed out with its entry (go-libp2p: 24 hours).
pub const PROVIDER_ADDR_TTL: Duration = Duration::from_secs(24 * 3600);
