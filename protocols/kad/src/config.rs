//! How a DHT node behaves; `Config::default()` is what joins the Amino DHT.

use std::time::Duration;

use crate::{ALPHA, BETA, K, PROVIDER_ADDR_TTL, RECORD_TTL, REFRESH_INTERVAL, REPROVIDE_INTERVAL};

/// Whether a node serves the DHT or only uses it (spec: "Client and server mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Answers requests and advertises the protocol; other peers add it to their tables.
    Server,
    /// Sends requests only: what a node behind a NAT or on a phone should be, since peers
    /// that cannot reach it would waste their queries on it.
    Client,
}

/// How many peers must answer a `get_value` or acknowledge a `put_value` before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quorum {
    /// One peer.
    One,
    /// A majority of the k closest (k / 2 + 1).
    Majority,
    /// All k closest that answered.
    All,
    /// This many peers (at least one).
    N(usize),
}

impl Quorum {
    /// The number of peers this quorum means when `k` peers are asked.
    pub fn of(self, k: usize) -> usize {
        match self {
            Quorum::One => 1,
            Quorum::Majority => k / 2 + 1,
            Quorum::All => k,
            Quorum::N(n) => n.clamp(1, k.max(1)),
        }
    }
}

/// The configuration of a DHT node. Defaults follow the spec and, where it is silent,
/// go-libp2p-kad-dht (the implementation most of the network runs).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The protocol id; `/ipfs/lan/kad/1.0.0` for a LAN DHT beside the public one.
    pub protocol: String,
    /// Bucket size and replication factor, k.
    pub k: usize,
    /// Concurrent requests per lookup, α.
    pub alpha: usize,
    /// Closest peers that must answer before a lookup ends, β.
    pub beta: usize,
    /// How long one request may take before its peer counts as failed.
    pub request_timeout: Duration,
    /// How long a request may be outstanding before it stops holding one of the α slots and
    /// stops holding back the end of a lookup: one slow peer never slows the whole lookup.
    pub slow_after: Duration,
    /// The longest a whole query may run; it then ends with what it has found.
    pub query_timeout: Duration,
    /// How often the routing table is refreshed.
    pub refresh_interval: Duration,
    /// How often the table is refreshed while it holds fewer than
    /// [`low_peers`](Config::low_peers) peers (go-libp2p: every 2 minutes).
    pub low_peers_interval: Duration,
    /// The table size below which it counts as nearly empty.
    pub low_peers: usize,
    /// How long stored records live.
    pub record_ttl: Duration,
    /// How long provider entries live.
    pub provider_ttl: Duration,
    /// How long a provider's addresses are handed out with its entry.
    pub provider_addr_ttl: Duration,
    /// How often a node re-announces the keys it provides.
    pub reprovide_interval: Duration,
    /// How often a node re-publishes the records it published itself.
    pub republish_interval: Duration,
    /// Peers that must answer a `get_value` before it ends.
    pub get_quorum: Quorum,
    /// Peers that must store a `put_value` for it to succeed.
    pub put_quorum: Quorum,
    /// Addresses sent per peer in a response.
    pub max_addrs_per_peer: usize,
    /// Queries running at once; more are refused with [`Error::TooManyQueries`](crate::Error).
    pub max_queries: usize,
    /// Optimistic provide: during a `provide` walk, store the provider entry at once at each
    /// peer that is 90 % sure to be among the k closest (judged by the estimated network
    /// size); end the walk when k peers were asked or the nearest peers known are as near as
    /// the true k closest are expected to be; report once 75 % of k took the entry, the rest
    /// finishing in the background. Fewer round trips, at the risk of storing at a peer just
    /// outside the k closest. Off by default, as in go-libp2p's library (Kubo turns it on).
    pub optimistic_provide: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            protocol: crate::PROTOCOL.to_owned(),
            k: K,
            alpha: ALPHA,
            beta: BETA,
            request_timeout: Duration::from_secs(10),
            slow_after: Duration::from_secs(1),
            query_timeout: Duration::from_secs(60),
            refresh_interval: REFRESH_INTERVAL,
            low_peers_interval: Duration::from_secs(2 * 60),
            low_peers: 10,
            record_ttl: RECORD_TTL,
            provider_ttl: RECORD_TTL,
            provider_addr_ttl: PROVIDER_ADDR_TTL,
            reprovide_interval: REPROVIDE_INTERVAL,
            republish_interval: REPROVIDE_INTERVAL,
            get_quorum: Quorum::One,
            put_quorum: Quorum::One,
            max_addrs_per_peer: 16,
            max_queries: 256,
            optimistic_provide: false,
        }
    }
}
