//! [`Dht`]: the sans-IO state machine of one DHT node.
//!
//! It is fed inbound requests, answers to its own requests, connection facts and time, and
//! asked for requests to send ([`Dht::poll_transmit`]), events ([`Dht::poll_event`]) and
//! when to wake it ([`Dht::poll_timeout`]). The tokio service and the simulator are two
//! drivers of the same machine.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use tracing::debug;

use crate::event::{Event, PeerAddrs, QueryId, RequestId, Transmit};
use crate::message::{Message, MessageType, plain_addrs};
use crate::netsize::NetworkSize;
use crate::queries::{Kind, Query};
use crate::routing_table::{Insert, RoutingConfig, RoutingTable};
use crate::store::RecordStore;
use crate::validator::Validators;
use crate::{Config, Error, Key, Mode, Rng};

/// How often stored entries are expired and due reprovides and republishes started.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
/// Peers being checked before they may enter the routing table; identify storms beyond this
/// are not checked (the peers can still be found through lookups).
const MAX_CHECKS: usize = 64;
/// Table entries whose liveness is being checked at once; the rest wait for the next tick.
const MAX_LIVENESS_CHECKS: usize = 32;

/// Why a request failed, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The peer could not be reached (dial failed, connection closed).
    Unreachable,
    /// The peer does not speak the DHT protocol (any more).
    Unsupported,
    /// No answer in time.
    Timeout,
    /// The answer could not be decoded or was reset.
    Invalid,
}

/// Why a request was sent, to route its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A step of a query's lookup.
    Lookup(QueryId),
    /// Storing a record or provider entry after a query's lookup.
    Store(QueryId),
    /// Check-before-add: does a peer that says it is a server answer? `is_retry` for the
    /// second and last check of a server whose first went unanswered.
    Check { is_retry: bool },
    /// Sending the best record to a peer that returned an outdated one.
    Correction,
    /// Is a table entry that has not been useful for a while still there?
    Liveness,
}

#[derive(Debug)]
struct Pending {
    peer: PeerId,
    purpose: Purpose,
    deadline: Instant,
}

/// Maps the core's monotonic time to wall-clock time for stored entries (which must
/// survive restarts), without the core reading either clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    base: Instant,
    wall: SystemTime,
}

impl Clock {
    fn wall(&self, now: Instant) -> SystemTime {
        self.wall + now.saturating_duration_since(self.base)
    }
}

/// The sans-IO Kademlia node: routing table, queries and stores.
///
/// Two nodes, one lookup, no I/O: the driver moves each [`Transmit`] to the other node and
/// its answer back.
///
/// ```
/// use std::time::{Instant, SystemTime};
/// use hyphae_identity::Keypair;
/// use hyphae_kad::{Config, Dht, Event, MemoryStore, Mode, Outcome};
///
/// let now = Instant::now();
/// let node = |seed| {
///     let peer = Keypair::generate_ed25519().peer_id();
///     let store = Box::new(MemoryStore::default());
///     Dht::new(peer, Config::default(), Mode::Server, store, now, SystemTime::now(), seed)
/// };
/// let (mut a, mut b) = (node(1), node(2));
/// a.add_peer(*b.local_peer_id(), vec!["/memory/2".parse()?], now);
///
/// let query = a.get_closest_peers(b"some key".to_vec(), now)?;
/// while let Some(transmit) = a.poll_transmit() {
///     assert_eq!(transmit.peer, *b.local_peer_id());
///     let answer = b.handle_request(*a.local_peer_id(), transmit.message, now)?;
///     a.handle_response(transmit.request, answer.expect("FIND_NODE is answered"), now);
/// }
/// let finished = std::iter::from_fn(|| a.poll_event())
///     .find_map(|event| match event {
///         Event::Finished { query: q, outcome, .. } if q == query => Some(outcome),
///         _ => None,
///     });
/// let Some(Outcome::ClosestPeers(peers)) = finished else { panic!("no answer") };
/// assert_eq!(peers[0].peer, *b.local_peer_id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dht {
    pub(crate) local: PeerId,
    pub(crate) local_key: Key,
    pub(crate) config: Config,
    pub(crate) mode: Mode,
    pub(crate) table: RoutingTable,
    pub(crate) store: Box<dyn RecordStore>,
    pub(crate) validators: Validators,
    pub(crate) rng: Rng,
    clock: Clock,
    /// Our own addresses, sent in ADD_PROVIDER.
    pub(crate) local_addrs: Vec<Multiaddr>,
    pub(crate) connected: HashSet<PeerId>,
    pub(crate) queries: BTreeMap<QueryId, Query>,
    requests: BTreeMap<RequestId, Pending>,
    /// Peers being checked before entering the table, with their addresses.
    checking: HashMap<PeerId, Vec<Multiaddr>>,
    /// Identified servers whose check failed while they stayed connected (no answer in
    /// time, a refused stream), with their addresses: checked once more at the next
    /// maintenance tick, so that one lost request does not keep a live server out of the
    /// table for as long as its connection lasts.
    recheck: BTreeMap<PeerId, Vec<Multiaddr>>,
    /// Table entries being checked for liveness.
    probing: HashSet<PeerId>,
    transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
    next_request: u64,
    next_query: u64,
    pub(crate) next_refresh: Instant,
    next_maintenance: Instant,
    /// Keys we provide, with when they were last announced.
    pub(crate) provided: BTreeMap<Vec<u8>, Instant>,
    /// Records we published, with when they were last put.
    pub(crate) published: BTreeMap<Vec<u8>, (Vec<u8>, Instant)>,
    pub(crate) network_size: NetworkSize,
}

impl std::fmt::Debug for Dht {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dht")
            .field("local", &self.local)
            .field("mode", &self.mode)
            .field("table", &self.table.len())
            .field("queries", &self.queries.len())
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

impl Dht {
    /// A DHT node for `local` in `mode`, storing in `store`. `now` and `wall` are the same
    /// moment on the monotonic and the wall clock; `seed` makes every random choice (refresh
    /// targets) reproducible.
    pub fn new(
        local: PeerId,
        config: Config,
        mode: Mode,
        store: Box<dyn RecordStore>,
        now: Instant,
        wall: SystemTime,
        seed: u64,
    ) -> Dht {
        let table = RoutingTable::new(
            local,
            RoutingConfig {
                bucket_size: config.k,
                ..RoutingConfig::default()
            },
        );
        let provided = store
            .local_provided()
            .into_iter()
            // Reprovide what a previous run provided at the first maintenance tick.
            .map(|key| {
                (
                    key,
                    now.checked_sub(config.reprovide_interval).unwrap_or(now),
                )
            })
            .collect();
        Dht {
            local_key: Key::for_peer(&local),
            local,
            mode,
            table,
            store,
            validators: Validators::default(),
            rng: Rng::from_seed(seed),
            clock: Clock { base: now, wall },
            local_addrs: Vec::new(),
            connected: HashSet::new(),
            queries: BTreeMap::new(),
            requests: BTreeMap::new(),
            checking: HashMap::new(),
            recheck: BTreeMap::new(),
            probing: HashSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_request: 0,
            next_query: 0,
            next_refresh: now + config.refresh_interval,
            next_maintenance: now + MAINTENANCE_INTERVAL,
            provided,
            published: BTreeMap::new(),
            network_size: NetworkSize::default(),
            config,
        }
    }

    /// Our peer id.
    pub fn local_peer_id(&self) -> &PeerId {
        &self.local
    }

    /// Whether we serve the DHT.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Switches between server and client mode. The driver also stops or starts accepting
    /// the protocol, so that identify tells peers.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// How many DHT servers there are, as estimated from the lookups so far.
    pub fn network_size_estimate(&self) -> Option<f64> {
        self.network_size.get()
    }

    /// Turns optimistic provide on or off (see [`Config::optimistic_provide`]).
    pub fn set_optimistic_provide(&mut self, is_on: bool) {
        self.config.optimistic_provide = is_on;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The routing table (read-only).
    pub fn routing_table(&self) -> &RoutingTable {
        &self.table
    }

    /// The validators records are checked with; register a namespace's validator here.
    pub fn validators_mut(&mut self) -> &mut Validators {
        &mut self.validators
    }

    /// The record and provider store.
    pub fn store(&self) -> &dyn RecordStore {
        self.store.as_ref()
    }

    /// Our own addresses, handed out in provider announcements.
    pub fn set_local_addrs(&mut self, addrs: Vec<Multiaddr>) {
        self.local_addrs = addrs;
    }

    /// Records whether we hold a connection to `peer` (answers mark such peers `CONNECTED`).
    pub fn set_connected(&mut self, peer: PeerId, is_connected: bool) {
        if is_connected {
            self.connected.insert(peer);
        } else {
            self.connected.remove(&peer);
            self.recheck.remove(&peer);
        }
    }

    /// Adds a peer the user trusts (a bootstrap peer) to the routing table without checking
    /// it first.
    pub fn add_peer(&mut self, peer: PeerId, addrs: Vec<Multiaddr>, now: Instant) -> Insert {
        self.insert(peer, addrs, now)
    }

    /// What identify told us about a peer. A peer that advertises the protocol is a server:
    /// it is checked with one request and enters the table if it answers (go-libp2p's
    /// check-before-add, so that a peer cannot enter by claiming); one whose check fails
    /// while it stays connected (no answer in time) is checked once more at the next
    /// maintenance tick. A peer that stopped advertising the protocol leaves the table.
    pub fn on_identified(
        &mut self,
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        is_server: bool,
        now: Instant,
    ) {
        if peer == self.local {
            return;
        }
        let addrs = plain_addrs(&peer, addrs);
        if !is_server {
            debug!(%peer, "identified peer is no kad server");
            if self.table.remove(&peer).is_some() {
                self.events.push_back(Event::PeerRemoved(peer));
            }
            return;
        }
        if self.table.contains(&peer) {
            self.table.insert(peer, addrs, now);
            return;
        }
        if self.checking.contains_key(&peer) || self.checking.len() >= MAX_CHECKS {
            debug!(%peer, checking = self.checking.len(), "identified server not checked now");
            return;
        }
        self.recheck.remove(&peer);
        let request = self.check(peer, addrs, false, now);
        debug!(%peer, ?request, "checking an identified server before it enters the table");
    }

    /// Sends the check-before-add request to `peer`.
    fn check(
        &mut self,
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        is_retry: bool,
        now: Instant,
    ) -> RequestId {
        let message = Message::find_node(self.local.to_bytes());
        self.checking.insert(peer, addrs.clone());
        self.send(peer, addrs, message, true, Purpose::Check { is_retry }, now)
    }

    /// Checks once more the servers whose first check failed on a live connection, as far
    /// as the limit on checks in flight allows (the rest wait for the next tick).
    fn recheck_servers(&mut self, now: Instant) {
        while self.checking.len() < MAX_CHECKS
            && let Some((peer, addrs)) = self.recheck.pop_first()
        {
            // A server enters `recheck` only as its check ends, and leaves it when a new
            // identify checks it again: it is never being checked here.
            if self.connected.contains(&peer) && !self.table.contains(&peer) {
                let request = self.check(peer, addrs, true, now);
                debug!(%peer, ?request, "checking an identified server again");
            }
        }
    }

    /// Queues a request and returns its id.
    pub(crate) fn send(
        &mut self,
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        message: Message,
        expects_response: bool,
        purpose: Purpose,
        now: Instant,
    ) -> RequestId {
        let request = RequestId(self.next_request);
        self.next_request += 1;
        self.requests.insert(
            request,
            Pending {
                peer,
                purpose,
                deadline: now + self.config.request_timeout,
            },
        );
        self.transmits.push_back(Transmit {
            request,
            peer,
            addrs,
            message,
            expects_response,
        });
        request
    }

    pub(crate) fn next_query_id(&mut self) -> QueryId {
        let id = QueryId(self.next_query);
        self.next_query += 1;
        id
    }

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Dht::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let requests = self.requests.values().map(|pending| pending.deadline);
        let queries = self.queries.values().filter_map(Query::poll_timeout);
        requests
            .chain(queries)
            .chain([self.next_refresh, self.next_maintenance])
            .min()
    }

    /// Advances time: fails requests that took too long, lets lookups move past slow peers,
    /// ends queries that ran out of time, refreshes the table and maintains the store.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, pending)| pending.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for request in expired {
            self.handle_failure(request, Failure::Timeout, now);
        }
        let ids: Vec<QueryId> = self.queries.keys().copied().collect();
        for id in ids {
            if let Some(query) = self.queries.get_mut(&id) {
                query.handle_timeout(now);
            }
            self.drive(id, now);
        }
        if now >= self.next_refresh {
            // Fails only when the query limit is reached; the next refresh tries again.
            let _ = self.bootstrap(now);
        }
        if now >= self.next_maintenance {
            self.next_maintenance = now + MAINTENANCE_INTERVAL;
            self.maintain(now);
        }
    }

    /// An answer to one of our requests.
    pub fn handle_response(&mut self, request: RequestId, response: Message, now: Instant) {
        let Some(pending) = self.requests.remove(&request) else {
            return; // Late: the request already timed out.
        };
        let peer = pending.peer;
        match pending.purpose {
            Purpose::Check { .. } => {
                if let Some(addrs) = self.checking.remove(&peer) {
                    let outcome = self.insert(peer, addrs, now);
                    if matches!(outcome, Insert::Full | Insert::Diversity) {
                        debug!(%peer, ?outcome, "checked server answered, not taken by the table");
                    }
                }
            }
            Purpose::Correction => {}
            Purpose::Liveness => {
                self.probing.remove(&peer);
                self.table.mark_useful(&peer, now);
            }
            Purpose::Lookup(id) => {
                self.table.mark_useful(&peer, now);
                let addrs = self.known_addrs(&peer, Some(id));
                // A peer that answered is a server: it may enter the table.
                self.insert(peer, addrs, now);
                self.on_lookup_response(id, peer, response, now);
                self.store_optimistically(id, now);
                self.drive(id, now);
            }
            Purpose::Store(id) => {
                let is_echo = response.kind == MessageType::PutValue;
                if let Some(query) = self.queries.get_mut(&id) {
                    query.on_stored(is_echo);
                }
                self.drive(id, now);
            }
        }
    }

    /// A request that expects no answer was written (ADD_PROVIDER).
    pub fn handle_delivered(&mut self, request: RequestId, now: Instant) {
        let Some(pending) = self.requests.remove(&request) else {
            return;
        };
        if let Purpose::Store(id) = pending.purpose {
            if let Some(query) = self.queries.get_mut(&id) {
                query.on_stored(true);
            }
            self.drive(id, now);
        }
    }

    /// One of our requests failed.
    pub fn handle_failure(&mut self, request: RequestId, failure: Failure, now: Instant) {
        let Some(pending) = self.requests.remove(&request) else {
            return;
        };
        let peer = pending.peer;
        debug!(%peer, ?failure, "kad request failed");
        // A peer we cannot reach, or that no longer speaks the protocol, leaves the table. A
        // stream that failed on a live connection (the peer's stream limits, a reset) says
        // neither: the peer stays, and the lookup just counts the request as failed.
        let is_gone = match failure {
            Failure::Unsupported => true,
            Failure::Unreachable => !self.connected.contains(&peer),
            Failure::Timeout | Failure::Invalid => false,
        };
        if is_gone && self.table.remove(&peer).is_some() {
            self.events.push_back(Event::PeerRemoved(peer));
        }
        match pending.purpose {
            Purpose::Check { is_retry } => {
                let addrs = self.checking.remove(&peer);
                // A server that answered wrongly, or is gone, is not asked again.
                let may_retry = !is_retry && !is_gone && failure != Failure::Invalid;
                if let Some(addrs) = addrs
                    && may_retry
                    && self.recheck.len() < MAX_CHECKS
                {
                    self.recheck.insert(peer, addrs);
                }
            }
            Purpose::Correction => {}
            Purpose::Liveness => {
                self.probing.remove(&peer);
                if self.table.remove(&peer).is_some() {
                    self.events.push_back(Event::PeerRemoved(peer));
                }
            }
            Purpose::Lookup(id) => {
                if let Some(query) = self.queries.get_mut(&id) {
                    query.lookup.on_failure(&peer, now);
                }
                self.drive(id, now);
            }
            Purpose::Store(id) => {
                if let Some(query) = self.queries.get_mut(&id) {
                    query.on_stored(false);
                }
                self.drive(id, now);
            }
        }
    }

    /// Inserts into the routing table and reports what changed.
    fn insert(&mut self, peer: PeerId, addrs: Vec<Multiaddr>, now: Instant) -> Insert {
        let was_empty = self.table.is_empty();
        let outcome = self.table.insert(peer, addrs, now);
        match &outcome {
            Insert::Inserted => self.events.push_back(Event::PeerAdded(peer)),
            Insert::Replaced(old) => {
                self.events.push_back(Event::PeerRemoved(*old));
                self.events.push_back(Event::PeerAdded(peer));
            }
            _ => {}
        }
        if was_empty && !self.table.is_empty() {
            // The first peer: bootstrap at the next opportunity rather than in ten minutes.
            self.next_refresh = now;
        }
        outcome
    }

    /// Addresses we know for `peer`: from the table, a query's walk, or a pending check.
    pub(crate) fn known_addrs(&self, peer: &PeerId, query: Option<QueryId>) -> Vec<Multiaddr> {
        if let Some(entry) = self.table.get(peer) {
            return entry.addrs.clone();
        }
        if let Some(addrs) = query
            .and_then(|id| self.queries.get(&id))
            .and_then(|query| query.addrs.get(peer))
        {
            return addrs.clone();
        }
        self.checking.get(peer).cloned().unwrap_or_default()
    }

    /// Peers of the table closest to `key`, with their addresses, nearest first.
    pub(crate) fn closest_known(&self, key: &Key, count: usize) -> Vec<PeerAddrs> {
        self.table
            .closest(key, count)
            .into_iter()
            .map(|entry| PeerAddrs {
                peer: entry.peer,
                addrs: entry.addrs.clone(),
            })
            .collect()
    }

    /// Starts queued requests of query `id` and finishes it when its work is done.
    pub(crate) fn drive(&mut self, id: QueryId, now: Instant) {
        loop {
            let Some(query) = self.queries.get_mut(&id) else {
                return;
            };
            if now >= query.deadline {
                query.lookup.finish();
            }
            let Some(peer) = query.lookup.poll_request(now) else {
                break;
            };
            let message = query.lookup_message();
            let addrs = self.known_addrs(&peer, Some(id));
            self.send(peer, addrs, message, true, Purpose::Lookup(id), now);
        }
        self.advance(id, now);
    }

    /// Wall-clock time for `now`.
    pub(crate) fn wall(&self, now: Instant) -> SystemTime {
        self.clock.wall(now)
    }

    /// Starts a query of `kind` for the wire key `key`; fails if too many run.
    pub(crate) fn start(
        &mut self,
        kind: Kind,
        key: Vec<u8>,
        now: Instant,
    ) -> Result<QueryId, Error> {
        if self.queries.len() >= self.config.max_queries {
            return Err(Error::TooManyQueries(self.config.max_queries));
        }
        let id = self.next_query_id();
        let target = Key::for_bytes(&key);
        let seeds = self.closest_known(&target, self.config.k);
        let query = Query::new(&self.config, self.local, kind, key, target, seeds, now);
        self.queries.insert(id, query);
        self.begin(id, now);
        self.drive(id, now);
        Ok(id)
    }

    /// Ends a query at once with what it has (dropping a result stream does this).
    pub fn cancel(&mut self, query: QueryId, now: Instant) {
        if let Some(running) = self.queries.get_mut(&query) {
            running.cancel();
            self.drive(query, now);
        }
    }

    /// Asks entries that have not been useful for the usefulness window whether they are
    /// still there (go-libp2p does the same at refresh): an entry that answers stays, one
    /// that does not leaves. Evicting them unasked would empty the table of a node that
    /// simply had nothing to look up for a while.
    fn probe_stale_entries(&mut self, now: Instant) {
        let window = self.table.config().usefulness_window;
        let stale: Vec<(PeerId, Vec<Multiaddr>)> = self
            .table
            .iter()
            .filter(|entry| now.saturating_duration_since(entry.last_useful_or_added()) > window)
            .filter(|entry| !self.probing.contains(&entry.peer))
            .take(MAX_LIVENESS_CHECKS.saturating_sub(self.probing.len()))
            .map(|entry| (entry.peer, entry.addrs.clone()))
            .collect();
        for (peer, addrs) in stale {
            self.probing.insert(peer);
            let message = Message::find_node(self.local.to_bytes());
            self.send(peer, addrs, message, true, Purpose::Liveness, now);
        }
    }

    /// Periodic upkeep: expire the store, check stale peers and servers whose check failed,
    /// reprovide and republish.
    fn maintain(&mut self, now: Instant) {
        let wall = self.wall(now);
        if let Err(error) = self.store.expire(wall) {
            tracing::warn!(%error, "kad store: expiring entries failed");
        }
        self.probe_stale_entries(now);
        self.recheck_servers(now);
        let due: Vec<Vec<u8>> = self
            .provided
            .iter()
            .filter(|(_, at)| now.saturating_duration_since(**at) >= self.config.reprovide_interval)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            if self.queries.len() >= self.config.max_queries / 2 {
                break; // The rest at the next tick: upkeep never crowds out users' queries.
            }
            let _ = self.provide(key, now);
        }
        let due: Vec<(Vec<u8>, Vec<u8>)> = self
            .published
            .iter()
            .filter(|(_, (_, at))| {
                now.saturating_duration_since(*at) >= self.config.republish_interval
            })
            .map(|(key, (value, _))| (key.clone(), value.clone()))
            .collect();
        for (key, value) in due {
            if self.queries.len() >= self.config.max_queries / 2 {
                break;
            }
            let _ = self.put_value(key, value, now);
        }
    }
}
