//! The state of one query: its lookup, the addresses its walk learned, and what its kind
//! collects (records, providers, acknowledgements).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use crate::event::PeerAddrs;
use crate::message::{Message, Record};
use crate::query::{Lookup, LookupConfig};
use crate::{Config, Key};

/// Peers whose addresses one query remembers; a lying peer naming thousands of peers cannot
/// grow it further (peers beyond it are still asked, with the addresses the node knows).
pub(crate) const MAX_ADDR_BOOK: usize = 1024;

/// What a query is for.
#[derive(Debug)]
pub(crate) enum Kind {
    /// `get_closest_peers`.
    ClosestPeers,
    /// A self lookup, or the lookup of a random key that refreshes one bucket.
    Bootstrap,
    /// `find_peer`, with the addresses once found.
    FindPeer {
        target: PeerId,
        found: Option<Vec<Multiaddr>>,
    },
    /// `get_value`: valid records received and who sent them (`None`: the local store).
    GetValue {
        quorum: usize,
        found: Vec<(Option<PeerId>, Record)>,
    },
    /// `put_value`: store `record` at the k closest peers.
    PutValue { record: Record, quorum: usize },
    /// `provide`: announce ourselves at the k closest peers.
    Provide,
    /// `find_providers`: providers reported so far.
    FindProviders { limit: usize, seen: HashSet<PeerId> },
}

/// Where a query is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Walking towards the key (an optimistic provide may already be storing).
    Lookup,
    /// Sending the record or provider entry to the closest peers found.
    Storing,
}

/// The storing requests of a `put_value` or `provide`.
#[derive(Debug, Default)]
pub(crate) struct Stores {
    /// Peers asked to store, in the order asked (at most k).
    pub(crate) asked: Vec<PeerId>,
    pub(crate) pending: usize,
    pub(crate) succeeded: usize,
}

/// One running query.
#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) kind: Kind,
    /// The key on the wire.
    pub(crate) key: Vec<u8>,
    /// The key's place in the keyspace.
    pub(crate) target: Key,
    pub(crate) lookup: Lookup,
    /// Addresses learned during the walk, for dialling the peers it asks.
    pub(crate) addrs: HashMap<PeerId, Vec<Multiaddr>>,
    /// When the query ends whatever it has found.
    pub(crate) deadline: Instant,
    pub(crate) phase: Phase,
    pub(crate) stores: Stores,
    /// Cancelled by the user: end without a storing phase.
    pub(crate) is_cancelled: bool,
}

impl Query {
    pub(crate) fn new(
        config: &Config,
        local: PeerId,
        kind: Kind,
        key: Vec<u8>,
        target: Key,
        seeds: Vec<PeerAddrs>,
        now: Instant,
    ) -> Query {
        let lookup_config = LookupConfig {
            k: config.k,
            alpha: config.alpha,
            beta: config.beta,
            request_timeout: config.request_timeout,
            slow_after: config.slow_after,
            ..LookupConfig::default()
        };
        let lookup = Lookup::new(
            &local,
            target,
            seeds.iter().map(|seed| seed.peer),
            lookup_config,
            now,
        );
        let addrs = seeds
            .into_iter()
            .map(|seed| (seed.peer, seed.addrs))
            .collect();
        Query {
            kind,
            key,
            target,
            lookup,
            addrs,
            deadline: now + config.query_timeout,
            phase: Phase::Lookup,
            stores: Stores::default(),
            is_cancelled: false,
        }
    }

    /// The request the lookup sends to each peer it asks.
    pub(crate) fn lookup_message(&self) -> Message {
        match self.kind {
            Kind::GetValue { .. } => Message::get_value(self.key.clone()),
            Kind::FindProviders { .. } => Message::get_providers(self.key.clone()),
            _ => Message::find_node(self.key.clone()),
        }
    }

    /// Remembers addresses a peer gave for `peer`, within the bounds.
    pub(crate) fn learn_addrs(&mut self, peer: PeerId, mut addrs: Vec<Multiaddr>, max: usize) {
        if addrs.is_empty()
            || (self.addrs.len() >= MAX_ADDR_BOOK && !self.addrs.contains_key(&peer))
        {
            return;
        }
        addrs.truncate(max);
        self.addrs.insert(peer, addrs);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Lookup => Some(match self.lookup.poll_timeout() {
                Some(at) => at.min(self.deadline),
                None => self.deadline,
            }),
            // Storing requests carry their own deadlines.
            Phase::Storing => None,
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Lookup {
            if now >= self.deadline {
                self.lookup.finish();
            } else {
                self.lookup.handle_timeout(now);
            }
        }
    }

    /// One storing request ended.
    pub(crate) fn on_stored(&mut self, is_success: bool) {
        self.stores.pending = self.stores.pending.saturating_sub(1);
        if is_success {
            self.stores.succeeded += 1;
        }
    }

    pub(crate) fn cancel(&mut self) {
        self.is_cancelled = true;
        self.lookup.finish();
        self.stores.pending = 0;
    }
}
