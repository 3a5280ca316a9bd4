//! [`Simulation`]: thousands of sans-IO Kademlia cores on one scheduler and one network model.
//!
//! A node is a [`Dht`] fed requests, answers, failures and timers by the simulation instead of
//! by streams and tokio. Every random choice (placements, keys, loss, samples) comes from one
//! [`Rng`] seeded by the caller, and nothing iterates an unordered collection where the order
//! could reach the event queue, so one seed gives one run, bit for bit ([`Simulation::trace_hash`]).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use hyphae_identity::{Keypair, PeerId};
use hyphae_kad::{
    AcceptAll, Config, Dht, Error, Event as DhtEvent, Failure, Key, LookupStats, MemoryStore,
    Message, Mode, Outcome, QueryId, RequestId, Rng,
};
use hyphae_multiaddr::Multiaddr;

use crate::network::{Links, NetworkConfig, Placement, REGIONS, weighted_index};
use crate::scheduler::{Scheduler, Time};
use crate::trace::TraceHash;

/// The record namespace the simulation's `put`/`get` operations use (accepts any value).
pub const NAMESPACE: &str = "sim";

/// What a simulation is made of.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed every random choice follows from.
    pub seed: u64,
    /// How many nodes.
    pub nodes: usize,
    /// The network model.
    pub network: NetworkConfig,
    /// The configuration of every node's DHT core.
    pub kad: Config,
}

/// One simulated node: its DHT core and what the simulation knows about it.
pub struct Node {
    /// The DHT core.
    pub dht: Dht,
    /// Its peer id.
    pub peer: PeerId,
    /// Its (private, simulated) address.
    pub addr: Multiaddr,
    /// The time its armed timer fires, if armed: a timer event for another time is stale.
    timer: Option<Time>,
}

/// Messages and bytes a node sent as requests and received as answers (its own traffic as
/// a querier), counted so that an operation's cost is the difference over its run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests sent plus answers received.
    pub messages: u64,
    /// Their encoded sizes.
    pub bytes: u64,
}

/// A watched query that ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The node that ran it.
    pub node: usize,
    /// The query.
    pub query: QueryId,
    /// How it ended.
    pub outcome: Outcome,
    /// How its lookup went.
    pub stats: LookupStats,
    /// When it ended.
    pub at: Time,
}

/// What one [`Simulation::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Delivered a message or fired a timer.
    Handled,
    /// A wake-up the caller asked for with [`Simulation::wake_at`] is due.
    Wake(u64),
}

enum Event {
    Request {
        from: u32,
        to: u32,
        request: RequestId,
        message: Message,
        expects_response: bool,
    },
    Response {
        to: u32,
        request: RequestId,
        message: Message,
    },
    Delivered {
        to: u32,
        request: RequestId,
    },
    Failure {
        to: u32,
        request: RequestId,
        failure: Failure,
    },
    Timer {
        node: u32,
    },
    Wake(u64),
}

/// The simulated network of DHT cores.
pub struct Simulation {
    scheduler: Scheduler<Event>,
    network: NetworkConfig,
    links: Links,
    nodes: Vec<Node>,
    index: HashMap<PeerId, u32>,
    rng: Rng,
    /// Server nodes ordered by key: the ground truth of who is closest to what.
    servers: Vec<(Key, u32)>,
    traffic: Vec<Traffic>,
    watched: HashSet<(u32, QueryId)>,
    finished: Vec<Finished>,
    /// Nodes whose transmits and events must be collected before the next event.
    dirty: Vec<u32>,
    trace: TraceHash,
    messages: u64,
}

/// A fixed wall-clock start, so that stored records' times do not depend on the host.
fn wall_start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

impl Simulation {
    /// Places `config.nodes` nodes (region and class by their shares, a share unreachable),
    /// each with a fresh key and an empty routing table.
    pub fn new(config: SimConfig) -> Simulation {
        let mut rng = Rng::from_seed(config.seed);
        let base = Instant::now();
        let class_weights: Vec<u32> = config.network.classes.iter().map(|c| c.weight).collect();
        let class_total: u64 = class_weights.iter().map(|w| u64::from(*w)).sum();
        let region_total: u64 = REGIONS.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut placements = Vec::with_capacity(config.nodes);
        let mut nodes = Vec::with_capacity(config.nodes);
        for i in 0..config.nodes {
            let region = weighted_index(REGIONS.iter().map(|r| r.1), rng.below(region_total));
            let class = config.network.classes
                [weighted_index(class_weights.iter().copied(), rng.below(class_total.max(1)))];
            let is_reachable = unit(&mut rng) >= config.network.unreachable_share;
            placements.push(Placement {
                region,
                upload_mbit: class.upload_mbit,
                download_mbit: class.download_mbit,
                is_reachable,
            });
            let mut secret = [0u8; 32];
            rng.fill(&mut secret);
            let peer = Keypair::ed25519_from_secret(&secret).peer_id();
            let mode = if is_reachable {
                Mode::Server
            } else {
                Mode::Client
            };
            let store = Box::new(MemoryStore::default());
            let wall = wall_start();
            let mut dht = Dht::new(
                peer,
                config.kad.clone(),
                mode,
                store,
                base,
                wall,
                rng.next_u64(),
            );
            dht.validators_mut().insert(NAMESPACE, AcceptAll);
            let addr = node_addr(i);
            dht.set_local_addrs(vec![addr.clone()]);
            nodes.push(Node {
                dht,
                peer,
                addr,
                timer: None,
            });
        }
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| (node.peer, i as u32))
            .collect();
        let mut servers: Vec<(Key, u32)> = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| placements[*i].is_reachable)
            .map(|(i, node)| (Key::for_peer(&node.peer), i as u32))
            .collect();
        servers.sort();
        let count = nodes.len();
        Simulation {
            scheduler: Scheduler::new(base),
            links: Links::new(placements, config.network.max_connections),
            network: config.network,
            nodes,
            index,
            rng,
            servers,
            traffic: vec![Traffic::default(); count],
            watched: HashSet::new(),
            finished: Vec::new(),
            dirty: Vec::new(),
            trace: TraceHash::default(),
            messages: 0,
        }
    }

    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node `node`'s DHT core, to start queries on (call [`Simulation::touch`] after).
    pub fn dht_mut(&mut self, node: usize) -> &mut Dht {
        &mut self.nodes[node].dht
    }

    /// Marks `node` as changed outside an event (a query started): its requests are sent and
    /// its timer rearmed at the next step.
    pub fn touch(&mut self, node: usize) {
        self.dirty.push(node as u32);
    }

    /// Reports the end of `query` of `node` through [`Simulation::take_finished`].
    pub fn watch(&mut self, node: usize, query: QueryId) {
        self.watched.insert((node as u32, query));
    }

    /// Watched queries that ended since the last call.
    pub fn take_finished(&mut self) -> Vec<Finished> {
        std::mem::take(&mut self.finished)
    }

    /// Where each node is.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The node index of a peer.
    pub fn index_of(&self, peer: &PeerId) -> Option<usize> {
        self.index.get(peer).map(|i| *i as usize)
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.scheduler.now()
    }

    /// The `Instant` of the current virtual time, for the cores.
    pub fn now_instant(&self) -> Instant {
        self.scheduler.now_instant()
    }

    /// The seeded generator, for the caller's random choices (operations, keys).
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Node `node`'s traffic so far.
    pub fn traffic(&self, node: usize) -> Traffic {
        self.traffic[node]
    }

    /// Messages sent so far (requests and answers, lost ones included).
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// The hash of everything that happened so far: every message with its time, ends and
    /// sizes, every failure, every core event. Equal hashes: the same run.
    pub fn trace_hash(&self) -> u64 {
        self.trace.get()
    }

    /// Asks for [`Step::Wake`]`(tag)` at `at`.
    pub fn wake_at(&mut self, at: Time, tag: u64) {
        self.scheduler.schedule(at, Event::Wake(tag));
    }

    /// The `count` server nodes closest to `key` (ground truth), nearest first, leaving out
    /// `except`.
    pub fn true_closest(&self, key: &Key, count: usize, except: Option<usize>) -> Vec<usize> {
        let mut all: Vec<(hyphae_kad::Distance, u32)> = self
            .servers
            .iter()
            .filter(|(_, i)| Some(*i as usize) != except)
            .map(|(k, i)| (k.distance(key), *i))
            .collect();
        let count = count.min(all.len());
        if count == 0 {
            return Vec::new();
        }
        all.select_nth_unstable(count - 1);
        all.truncate(count);
        all.sort();
        all.into_iter().map(|(_, i)| i as usize).collect()
    }

    /// Cheap bootstrap: fills every node's routing table with up to `per_bucket` servers
    /// drawn at random from those that belong in each bucket, what a long-running network
    /// converges to, without a single lookup.
    ///
    /// The core bootstraps by itself at its first timer once its table stops being empty,
    /// and refreshing a deep bucket means hashing about 2^cpl random keys. So each table gets
    /// its bucket-0 sample first (at least `low_peers` entries), then the core's bootstrap is
    /// started and its requests failed on the spot (nothing is sent), which marks the table
    /// refreshed for the next refresh interval; then the deeper buckets are filled.
    pub fn seed_routing_tables(&mut self, per_bucket: usize) {
        let now = self.scheduler.now_instant();
        let servers = std::mem::take(&mut self.servers);
        for node in 0..self.nodes.len() {
            let own = Key::for_peer(&self.nodes[node].peer);
            let mut cpl = 0u32;
            loop {
                let range = bucket_range(&servers, &own, cpl);
                let own_range = prefix_range(&servers, &own, cpl + 1);
                let chosen = sample(&mut self.rng, range.len(), per_bucket);
                for offset in chosen {
                    let peer_index = servers[range.start + offset].1 as usize;
                    let peer = self.nodes[peer_index].peer;
                    let addr = self.nodes[peer_index].addr.clone();
                    self.nodes[node].dht.add_peer(peer, vec![addr], now);
                }
                if cpl == 0 {
                    quiet_bootstrap(&mut self.nodes[node].dht, now);
                }
                // Deeper buckets only hold the peers sharing our next bit; none but us: done.
                let is_server = self.links.placement(node).is_reachable;
                let others = own_range.len().saturating_sub(usize::from(is_server));
                if others == 0 || cpl == 255 {
                    break;
                }
                cpl += 1;
            }
            while self.nodes[node].dht.poll_event().is_some() {}
            self.dirty.push(node as u32);
        }
        self.servers = servers;
    }

    /// Processes every event up to `until` (later ones stay queued; wake-ups that fall due
    /// are skipped).
    pub fn run_until(&mut self, until: Time) {
        const END: u64 = u64::MAX;
        self.wake_at(until, END);
        while let Some(step) = self.step() {
            if step == Step::Wake(END) {
                return;
            }
        }
    }

    /// Processes the next event; `None` when nothing is left.
    pub fn step(&mut self) -> Option<Step> {
        self.flush();
        let (at, event) = self.scheduler.pop()?;
        let now = self.scheduler.instant(at);
        let step = match event {
            Event::Wake(tag) => return Some(Step::Wake(tag)),
            Event::Timer { node } => {
                let slot = &mut self.nodes[node as usize].timer;
                if *slot == Some(at) {
                    *slot = None;
                    self.trace.add(&[at.0, 1, u64::from(node)]);
                    self.nodes[node as usize].dht.handle_timeout(now);
                    self.dirty.push(node);
                }
                Step::Handled
            }
            Event::Request {
                from,
                to,
                request,
                message,
                expects_response,
            } => {
                self.trace
                    .add(&[at.0, 2, u64::from(from), u64::from(to), request.get()]);
                self.on_request(from, to, request, message, expects_response);
                Step::Handled
            }
            Event::Response {
                to,
                request,
                message,
            } => {
                self.trace.add(&[at.0, 3, u64::from(to), request.get()]);
                self.nodes[to as usize]
                    .dht
                    .handle_response(request, message, now);
                self.dirty.push(to);
                Step::Handled
            }
            Event::Delivered { to, request } => {
                self.trace.add(&[at.0, 4, u64::from(to), request.get()]);
                self.nodes[to as usize].dht.handle_delivered(request, now);
                self.dirty.push(to);
                Step::Handled
            }
            Event::Failure {
                to,
                request,
                failure,
            } => {
                self.trace
                    .add(&[at.0, 5, u64::from(to), request.get(), failure as u64]);
                self.nodes[to as usize]
                    .dht
                    .handle_failure(request, failure, now);
                self.dirty.push(to);
                Step::Handled
            }
        };
        Some(step)
    }

    fn on_request(
        &mut self,
        from: u32,
        to: u32,
        request: RequestId,
        message: Message,
        expects_response: bool,
    ) {
        let now = self.scheduler.now_instant();
        let requester = self.nodes[from as usize].peer;
        let answer = self.nodes[to as usize]
            .dht
            .handle_request(requester, message, now);
        self.dirty.push(to);
        if !expects_response {
            return; // Reported delivered when it was written.
        }
        let (from, to) = (from as usize, to as usize);
        match answer {
            Ok(Some(answer)) => {
                let bytes = answer.encode().len();
                let delivery = self.links.send(to, from, bytes, self.scheduler.now());
                self.count(from, bytes);
                if !self.is_lost() {
                    let event = Event::Response {
                        to: from as u32,
                        request,
                        message: answer,
                    };
                    self.scheduler.schedule(delivery.arrives, event);
                }
            }
            Ok(None) | Err(_) => {
                // A client refuses the protocol; anything else resets the stream.
                let failure = match answer {
                    Err(Error::NotServing) => Failure::Unsupported,
                    _ => Failure::Invalid,
                };
                let rtt_half = self.links.rtt(to, from) / 2;
                let event = Event::Failure {
                    to: from as u32,
                    request,
                    failure,
                };
                self.scheduler.schedule_in(rtt_half, event);
            }
        }
    }

    fn is_lost(&mut self) -> bool {
        self.network.loss > 0.0 && unit(&mut self.rng) < self.network.loss
    }

    fn count(&mut self, node: usize, bytes: usize) {
        self.messages += 1;
        let traffic = &mut self.traffic[node];
        traffic.messages += 1;
        traffic.bytes += bytes as u64;
    }

    /// Sends what changed nodes queued, records their events and rearms their timers.
    fn flush(&mut self) {
        while let Some(node) = self.dirty.pop() {
            let node = node as usize;
            while let Some(transmit) = self.nodes[node].dht.poll_transmit() {
                let Some(&to) = self.index.get(&transmit.peer) else {
                    let event = Event::Failure {
                        to: node as u32,
                        request: transmit.request,
                        failure: Failure::Unreachable,
                    };
                    self.scheduler.schedule(self.scheduler.now(), event);
                    continue;
                };
                self.send_request(node, to as usize, transmit);
            }
            while let Some(event) = self.nodes[node].dht.poll_event() {
                self.on_core_event(node, event);
            }
            let timeout = self.nodes[node]
                .dht
                .poll_timeout()
                .map(|at| self.scheduler.time_of(at).max(self.scheduler.now()));
            if timeout != self.nodes[node].timer {
                self.nodes[node].timer = timeout;
                if let Some(at) = timeout {
                    let event = Event::Timer { node: node as u32 };
                    self.scheduler.schedule(at, event);
                }
            }
        }
    }

    fn on_core_event(&mut self, node: usize, event: DhtEvent) {
        match event {
            DhtEvent::Finished {
                query,
                outcome,
                stats,
            } => {
                let at = self.scheduler.now();
                self.trace.add(&[
                    at.0,
                    6,
                    node as u64,
                    query.get(),
                    u64::from(stats.hops),
                    stats.requests as u64,
                ]);
                if self.watched.remove(&(node as u32, query)) {
                    self.finished.push(Finished {
                        node,
                        query,
                        outcome,
                        stats,
                        at,
                    });
                }
            }
            DhtEvent::PeerAdded(peer) | DhtEvent::PeerRemoved(peer) => {
                let added = u64::from(matches!(event, DhtEvent::PeerAdded(_)));
                let other = self.index.get(&peer).map_or(u64::MAX, |i| u64::from(*i));
                self.trace.add(&[7 + added, node as u64, other]);
            }
            DhtEvent::Progress { .. } => {}
        }
    }

    fn send_request(&mut self, from: usize, to: usize, transmit: hyphae_kad::Transmit) {
        let now = self.scheduler.now();
        let mut ready = now;
        if !self.links.is_connected(from, to) {
            if !self.links.placement(to).is_reachable {
                let event = Event::Failure {
                    to: from as u32,
                    request: transmit.request,
                    failure: Failure::Unreachable,
                };
                let timeout = self.network.unreachable_dial_timeout;
                self.scheduler.schedule_in(timeout, event);
                return;
            }
            let setup = self
                .links
                .rtt(from, to)
                .mul_f64(self.network.connection_setup_rtts.max(0.0));
            ready = now.after(setup);
        }
        let connect = self.links.connect(from, to);
        if connect.is_new {
            self.on_connected(from, to);
        }
        for (a, b) in connect.closed {
            let (peer_a, peer_b) = (self.nodes[a].peer, self.nodes[b].peer);
            self.nodes[a].dht.set_connected(peer_b, false);
            self.nodes[b].dht.set_connected(peer_a, false);
        }
        let bytes = transmit.message.encode().len();
        let delivery = self.links.send(from, to, bytes, ready);
        self.count(from, bytes);
        if !transmit.expects_response {
            let event = Event::Delivered {
                to: from as u32,
                request: transmit.request,
            };
            self.scheduler.schedule(delivery.sent, event);
        }
        if self.is_lost() {
            return; // The sender's core times the request out.
        }
        let event = Event::Request {
            from: from as u32,
            to: to as u32,
            request: transmit.request,
            message: transmit.message,
            expects_response: transmit.expects_response,
        };
        self.scheduler.schedule(delivery.arrives, event);
    }

    /// What a new connection does: both sides record it and identify each other (a server
    /// advertises the DHT protocol; the core checks it before it enters the table).
    fn on_connected(&mut self, a: usize, b: usize) {
        let now = self.scheduler.now_instant();
        for (local, remote) in [(a, b), (b, a)] {
            let peer = self.nodes[remote].peer;
            let addrs = vec![self.nodes[remote].addr.clone()];
            let is_server = self.nodes[remote].dht.mode() == Mode::Server;
            let dht = &mut self.nodes[local].dht;
            dht.set_connected(peer, true);
            dht.on_identified(peer, addrs, is_server, now);
            self.dirty.push(local as u32);
        }
    }
}

/// A private address per node: 10.0.0.0/8 counts in no IP group of the routing table's
/// diversity limit, which would otherwise judge the simulation's made-up addresses.
fn node_addr(i: usize) -> Multiaddr {
    let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
    format!("/ip4/10.{a}.{b}.{c}/tcp/4001")
        .parse()
        .unwrap_or_else(|_| unreachable!("a well-formed address"))
}

/// A uniform float in `[0, 1)`.
pub(crate) fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Starts the core's bootstrap and fails every request it makes at once, so that nothing is
/// sent and the buckets count as refreshed (see [`Simulation::seed_routing_tables`]).
fn quiet_bootstrap(dht: &mut Dht, now: Instant) {
    if dht.bootstrap(now).is_err() {
        return;
    }
    let mut pending = Vec::new();
    loop {
        while let Some(transmit) = dht.poll_transmit() {
            pending.push(transmit.request);
        }
        if pending.is_empty() {
            return;
        }
        for request in pending.drain(..) {
            dht.handle_failure(request, Failure::Timeout, now);
        }
    }
}

/// `sample` distinct offsets in `0..len` (all of them if `len <= count`), in random order.
fn sample(rng: &mut Rng, len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count {
        let offset = rng.below(len as u64) as usize;
        if !chosen.contains(&offset) {
            chosen.push(offset);
        }
    }
    chosen
}

/// The keys sharing the first `bits` bits of `key`, as `[low, high]` inclusive bounds.
fn prefix_bounds(key: &Key, bits: u32) -> ([u8; 32], [u8; 32]) {
    let mut low = *key.as_bytes();
    let mut high = *key.as_bytes();
    for bit in bits..256 {
        let (byte, mask) = ((bit / 8) as usize, 0x80u8 >> (bit % 8));
        low[byte] &= !mask;
        high[byte] |= mask;
    }
    (low, high)
}

/// Positions in `sorted` of the keys sharing the first `bits` bits of `key`.
fn prefix_range(sorted: &[(Key, u32)], key: &Key, bits: u32) -> std::ops::Range<usize> {
    let (low, high) = prefix_bounds(key, bits.min(256));
    let start = sorted.partition_point(|(k, _)| *k.as_bytes() < low);
    let end = sorted.partition_point(|(k, _)| *k.as_bytes() <= high);
    start..end.max(start)
}

/// Positions in `sorted` of the keys in `key`'s bucket `cpl`: sharing exactly `cpl` leading
/// bits with it.
fn bucket_range(sorted: &[(Key, u32)], key: &Key, cpl: u32) -> std::ops::Range<usize> {
    let mut flipped = *key.as_bytes();
    flipped[(cpl / 8) as usize] ^= 0x80 >> (cpl % 8);
    prefix_range(sorted, &Key::from_hash(flipped), cpl + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_range_holds_exactly_the_keys_of_that_common_prefix_length() {
        let mut rng = Rng::from_seed(3);
        let mut keys: Vec<(Key, u32)> = (0..500)
            .map(|i| {
                let mut bytes = [0u8; 32];
                rng.fill(&mut bytes);
                (Key::from_hash(bytes), i)
            })
            .collect();
        keys.sort();
        let own = keys[17].0;
        for cpl in 0..12 {
            let range = bucket_range(&keys, &own, cpl);
            let expected = keys
                .iter()
                .filter(|(k, _)| k.common_prefix_len(&own) == cpl)
                .count();
            assert_eq!(range.len(), expected, "cpl {cpl}");
            assert!(
                keys[range]
                    .iter()
                    .all(|(k, _)| k.common_prefix_len(&own) == cpl)
            );
        }
    }
}
