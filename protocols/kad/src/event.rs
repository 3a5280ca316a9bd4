//! What the DHT core asks its driver to send and tells it happened.

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use crate::message::{Message, Record};
use crate::query::LookupStats;

/// Identifies one request the core asked its driver to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// Identifies one query (a lookup and what follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub(crate) u64);

impl RequestId {
    /// The number of this request, for logs and the simulator's traces.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl QueryId {
    /// The number of this query, for logs and the simulator's traces.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A request for the driver to send: open a stream to `peer` (dialling one of `addrs` if
/// not connected), write `message`, and report the answer with
/// [`Dht::handle_response`](crate::Dht::handle_response), or
/// [`Dht::handle_delivered`](crate::Dht::handle_delivered) when no answer is expected, or
/// [`Dht::handle_failure`](crate::Dht::handle_failure).
#[derive(Debug, Clone, PartialEq)]
pub struct Transmit {
    /// Reported back with the outcome.
    pub request: RequestId,
    /// Whom to send to.
    pub peer: PeerId,
    /// Addresses the core knows for the peer (it may also be connected already).
    pub addrs: Vec<Multiaddr>,
    /// The request.
    pub message: Message,
    /// Whether the peer answers (ADD_PROVIDER has no answer).
    pub expects_response: bool,
}

/// A peer with the addresses the DHT learned for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddrs {
    /// The peer.
    pub peer: PeerId,
    /// Its addresses (possibly none).
    pub addrs: Vec<Multiaddr>,
}

/// What a query found while running: results stream out as they arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// `find_peer` found the peer's addresses.
    FoundPeer(PeerAddrs),
    /// `get_value` received a valid record from `peer` (`None`: from the local store).
    Record {
        /// Who sent it.
        peer: Option<PeerId>,
        /// The record.
        record: Record,
    },
    /// `find_providers` found a provider not reported before.
    Provider(PeerAddrs),
}

/// How a query ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The closest peers to the key that answered, nearest first (`get_closest_peers`,
    /// `bootstrap`, and the lookup of every other query).
    ClosestPeers(Vec<PeerAddrs>),
    /// `find_peer`: the peer, if found.
    FoundPeer(Option<PeerAddrs>),
    /// `get_value`: the best record among those found, if any.
    Value(Option<Record>),
    /// `put_value`: how many peers stored the record, of how many asked.
    Stored {
        /// Peers that acknowledged.
        succeeded: usize,
        /// Peers asked.
        asked: usize,
        /// Whether `succeeded` reached the quorum.
        quorum_reached: bool,
    },
    /// `provide`: how many peers the provider record was sent to.
    Provided {
        /// Peers that accepted the record.
        succeeded: usize,
        /// Peers asked.
        asked: usize,
    },
    /// `find_providers`: how many distinct providers were reported.
    Providers(usize),
}

/// Something the driver or the application should know.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A query found something.
    Progress {
        /// The query.
        query: QueryId,
        /// What it found.
        progress: Progress,
    },
    /// A query ended (and its id is free).
    Finished {
        /// The query.
        query: QueryId,
        /// What it achieved.
        outcome: Outcome,
        /// How the lookup went.
        stats: LookupStats,
    },
    /// A peer entered the routing table.
    PeerAdded(PeerId),
    /// A peer left the routing table.
    PeerRemoved(PeerId),
}
