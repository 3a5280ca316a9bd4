//! [`Simulation`]: thousands of sans-IO Kademlia cores on one scheduler and one network model.
//!
//! A node is a [`Dht`] fed requests, answers, failures and timers by the simulation instead of
//! by streams and tokio. Every random choice (placements, keys, loss, samples, sessions) comes
//! from one [`Rng`] seeded by the caller, and nothing iterates an unordered collection where
//! the order could reach the event queue, so one seed gives one run, bit for bit
//! ([`Simulation::trace_hash`]).
//!
//! Nodes may leave and come back ([`crate::churn`]); each return is a new incarnation (an
//! *epoch*) with a fresh core, and whatever was on its way to an earlier incarnation is
//! dropped or failed as the departure dictates. Some servers may misbehave
//! ([`crate::adversary`]).

mod answers;
mod lifecycle;
mod seed;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use hyphae_identity::{Keypair, PeerId};
use hyphae_kad::{
    AcceptAll, Config, Dht, Error, Event as DhtEvent, Failure, Key, LookupStats, MemoryStore,
    Message, Mode, Outcome, QueryId, RequestId, Rng,
};
use hyphae_multiaddr::Multiaddr;

use crate::adversary::{AdversaryConfig, Behaviour};
use crate::churn::ChurnConfig;
use crate::network::{Links, NetworkConfig, Placement, weighted_index};
use crate::scheduler::{Scheduler, Time};
use crate::trace::TraceHash;

/// The record namespace the simulation's `put`/`get` operations use (accepts any value).
pub const NAMESPACE: &str = "sim";

/// The size of the frame that ends a stream (a yamux FIN), which tells the sender of a
/// request without answer that it arrived.
const END_OF_STREAM_BYTES: usize = 12;

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
    /// How nodes come and go.
    pub churn: ChurnConfig,
    /// Which servers misbehave.
    pub adversaries: AdversaryConfig,
}

/// One simulated node: its DHT core and what the simulation knows about it.
pub struct Node {
    /// The DHT core (of the current incarnation).
    pub dht: Dht,
    /// Its peer id (the same in every incarnation).
    pub peer: PeerId,
    /// Its (private, simulated) address.
    pub addr: Multiaddr,
    /// How it serves the DHT.
    pub behaviour: Behaviour,
    /// Whether it is online.
    pub is_online: bool,
    /// Whether its last departure was a crash (dials to it then time out rather than fail
    /// at once).
    crashed: bool,
    /// Its incarnation: one more each time it rejoins.
    epoch: u32,
    /// The time its armed timer fires, if armed: a timer event for another time is stale.
    timer: Option<Time>,
}

impl Node {
    /// Whether it is an honest node that is online.
    pub fn is_honest_and_online(&self) -> bool {
        self.is_online && self.behaviour == Behaviour::Honest
    }
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
    /// How it ended; `None` if its node left before it did.
    pub outcome: Option<Outcome>,
    /// How its lookup went.
    pub stats: LookupStats,
    /// When it ended.
    pub at: Time,
}

/// What one [`Simulation::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Delivered a message, fired a timer or moved a node in or out.
    Handled,
    /// A wake-up the caller asked for with [`Simulation::wake_at`] is due.
    Wake(u64),
}

/// A node index with the incarnation an event is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Incarnation {
    node: u32,
    epoch: u32,
}

enum Event {
    Request {
        from: Incarnation,
        to: Incarnation,
        request: RequestId,
        message: Message,
        expects_response: bool,
    },
    Response {
        to: Incarnation,
        request: RequestId,
        message: Message,
    },
    Delivered {
        to: Incarnation,
        request: RequestId,
    },
    Failure {
        to: Incarnation,
        request: RequestId,
        failure: Failure,
    },
    Timer(Incarnation),
    Leave(Incarnation),
    Rejoin {
        node: u32,
    },
    /// A message ready to leave at this time (after a connection set-up, or a slow
    /// adversary's delay) enters its sender's uplink now, so that it holds neither link
    /// while it waits; `then` happens when it arrives, unless it is lost.
    Send {
        from: u32,
        to: u32,
        bytes: usize,
        then: Option<Box<Event>>,
    },
    /// The peers of a crashed node notice that their connections to it are dead.
    CrashNoticed {
        gone: u32,
        peers: Vec<Incarnation>,
    },
    Wake(u64),
}

/// The simulated network of DHT cores.
pub struct Simulation {
    scheduler: Scheduler<Event>,
    network: NetworkConfig,
    kad: Config,
    churn: ChurnConfig,
    links: Links,
    nodes: Vec<Node>,
    index: HashMap<PeerId, u32>,
    rng: Rng,
    /// How late slow adversaries answer.
    slow_delay: Duration,
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
pub fn wall_start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

impl Simulation {
    /// Places `config.nodes` nodes (region and class by their shares, a share unreachable,
    /// a share of the servers misbehaving), each with a fresh key and an empty routing table.
    pub fn new(config: SimConfig) -> Simulation {
        let mut rng = Rng::from_seed(config.seed);
        let base = Instant::now();
        let class_weights: Vec<u32> = config.network.classes.iter().map(|c| c.weight).collect();
        let class_total: u64 = class_weights.iter().map(|w| u64::from(*w)).sum();
        let has_adversaries = config.adversaries.is_any();
        let mut placements = Vec::with_capacity(config.nodes);
        let mut nodes = Vec::with_capacity(config.nodes);
        for i in 0..config.nodes {
            let region = config.network.regions.place(i, &mut rng);
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
            let addr = node_addr(i);
            let seed = rng.next_u64();
            let dht = new_core(
                &config.kad,
                peer,
                &addr,
                is_reachable,
                base,
                wall_start(),
                seed,
            );
            // Only servers are asked anything, so only they can misbehave.
            let behaviour = if has_adversaries && is_reachable {
                config.adversaries.draw(&mut rng)
            } else {
                Behaviour::Honest
            };
            nodes.push(Node {
                dht,
                peer,
                addr,
                behaviour,
                is_online: true,
                crashed: false,
                epoch: 0,
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
            links: config.network.links(placements),
            network: config.network,
            kad: config.kad,
            churn: config.churn,
            nodes,
            index,
            rng,
            slow_delay: config.adversaries.slow_delay,
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

    /// How many nodes are online.
    pub fn online(&self) -> usize {
        self.nodes.iter().filter(|node| node.is_online).count()
    }

    /// The hash of everything that happened so far: every message with its time, ends and
    /// sizes, every failure, every core event, every departure and return. Equal hashes:
    /// the same run.
    pub fn trace_hash(&self) -> u64 {
        self.trace.get()
    }

    /// Asks for [`Step::Wake`]`(tag)` at `at`.
    pub fn wake_at(&mut self, at: Time, tag: u64) {
        self.scheduler.schedule(at, Event::Wake(tag));
    }

    /// The honest servers among the `count` online servers closest to `key` (ground truth),
    /// nearest first, leaving out `except`: what a lookup should find. Misbehaving servers
    /// hold places among the closest, as they do in a real network, but finding them is no
    /// success (and a silent one cannot be found).
    pub fn true_closest(&self, key: &Key, count: usize, except: Option<usize>) -> Vec<usize> {
        let mut all: Vec<(hyphae_kad::Distance, u32)> = self
            .servers
            .iter()
            .filter(|(_, i)| Some(*i as usize) != except && self.nodes[*i as usize].is_online)
            .map(|(k, i)| (k.distance(key), *i))
            .collect();
        let count = count.min(all.len());
        if count == 0 {
            return Vec::new();
        }
        all.select_nth_unstable(count - 1);
        all.truncate(count);
        all.sort();
        all.into_iter()
            .map(|(_, i)| i as usize)
            .filter(|&i| self.nodes[i].behaviour == Behaviour::Honest)
            .collect()
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
        match event {
            Event::Wake(tag) => return Some(Step::Wake(tag)),
            Event::Timer(target) => {
                let node = target.node as usize;
                if self.is_current(target) && self.nodes[node].timer == Some(at) {
                    self.nodes[node].timer = None;
                    self.trace.add(&[at.0, 1, u64::from(target.node)]);
                    self.nodes[node].dht.handle_timeout(now);
                    self.dirty.push(target.node);
                }
            }
            Event::Request {
                from,
                to,
                request,
                message,
                expects_response,
            } => {
                self.trace.add(&[
                    at.0,
                    2,
                    u64::from(from.node),
                    u64::from(to.node),
                    request.get(),
                ]);
                self.on_request(from, to, request, message, expects_response);
            }
            Event::Response {
                to,
                request,
                message,
            } => {
                if self.is_current(to) {
                    self.trace
                        .add(&[at.0, 3, u64::from(to.node), request.get()]);
                    let dht = &mut self.nodes[to.node as usize].dht;
                    dht.handle_response(request, message, now);
                    self.dirty.push(to.node);
                }
            }
            Event::Delivered { to, request } => {
                if self.is_current(to) {
                    self.trace
                        .add(&[at.0, 4, u64::from(to.node), request.get()]);
                    let dht = &mut self.nodes[to.node as usize].dht;
                    dht.handle_delivered(request, now);
                    self.dirty.push(to.node);
                }
            }
            Event::Failure {
                to,
                request,
                failure,
            } => {
                if self.is_current(to) {
                    let words = [at.0, 5, u64::from(to.node), request.get(), failure as u64];
                    self.trace.add(&words);
                    let dht = &mut self.nodes[to.node as usize].dht;
                    dht.handle_failure(request, failure, now);
                    self.dirty.push(to.node);
                }
            }
            Event::Send {
                from,
                to,
                bytes,
                then,
            } => self.transmit(from as usize, to as usize, bytes, at, then.map(|e| *e)),
            Event::Leave(target) => self.leave(target),
            Event::Rejoin { node } => self.rejoin(node as usize),
            Event::CrashNoticed { gone, peers } => self.crash_noticed(gone, &peers),
        }
        Some(Step::Handled)
    }

    /// Whether `target` is the node's current, online incarnation.
    fn is_current(&self, target: Incarnation) -> bool {
        let node = &self.nodes[target.node as usize];
        node.is_online && node.epoch == target.epoch
    }

    fn incarnation(&self, node: usize) -> Incarnation {
        Incarnation {
            node: node as u32,
            epoch: self.nodes[node].epoch,
        }
    }

    fn on_request(
        &mut self,
        from: Incarnation,
        to: Incarnation,
        request: RequestId,
        message: Message,
        expects_response: bool,
    ) {
        let (sender, receiver) = (from.node as usize, to.node as usize);
        if !self.is_current(to) {
            // Gone since the request left. A graceful leave closed the connection: the
            // stream fails; a crash leaves the sender waiting for its timeout.
            if !self.nodes[receiver].crashed {
                let one_way = self.links.rtt(receiver, sender) / 2;
                let failure = Failure::Unreachable;
                let event = Event::Failure {
                    to: from,
                    request,
                    failure,
                };
                self.scheduler.schedule_in(one_way, event);
            }
            return;
        }
        let behaviour = self.nodes[receiver].behaviour;
        if behaviour == Behaviour::Silent {
            return;
        }
        let now = self.scheduler.now_instant();
        let requester = self.nodes[sender].peer;
        let answer = self.nodes[receiver]
            .dht
            .handle_request(requester, message, now);
        self.dirty.push(to.node);
        let ready = match behaviour {
            Behaviour::Slow => self.scheduler.now().after(self.adversary_delay()),
            _ => self.scheduler.now(),
        };
        if !expects_response {
            // The peer closes its side once it has read the request (see the kad driver).
            let event = Event::Delivered { to: from, request };
            self.transmit(receiver, sender, END_OF_STREAM_BYTES, ready, Some(event));
            return;
        }
        match answer {
            Ok(Some(mut answer)) => {
                self.misbehave(behaviour, &mut answer);
                let bytes = answer.encode().len();
                self.count(sender, bytes);
                let event = (!self.is_lost()).then_some(Event::Response {
                    to: from,
                    request,
                    message: answer,
                });
                self.transmit(receiver, sender, bytes, ready, event);
            }
            Ok(None) | Err(_) => {
                // A client refuses the protocol; anything else resets the stream.
                let failure = match answer {
                    Err(Error::NotServing) => Failure::Unsupported,
                    _ => Failure::Invalid,
                };
                let one_way = self.links.rtt(receiver, sender) / 2;
                let event = Event::Failure {
                    to: from,
                    request,
                    failure,
                };
                self.scheduler.schedule_in(one_way, event);
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
            if !self.nodes[node].is_online {
                continue;
            }
            while let Some(transmit) = self.nodes[node].dht.poll_transmit() {
                self.send_request(node, transmit);
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
                    let event = Event::Timer(self.incarnation(node));
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
                        outcome: Some(outcome),
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

    /// Fails request `request` of `from` after `delay`.
    fn fail_in(&mut self, from: usize, request: RequestId, failure: Failure, delay: Duration) {
        let event = Event::Failure {
            to: self.incarnation(from),
            request,
            failure,
        };
        self.scheduler.schedule_in(delay, event);
    }

    fn send_request(&mut self, from: usize, transmit: hyphae_kad::Transmit) {
        let dial_timeout = self.network.unreachable_dial_timeout;
        let Some(&to) = self.index.get(&transmit.peer) else {
            // A peer nobody runs (an adversary made it up): the dial times out.
            self.fail_in(from, transmit.request, Failure::Unreachable, dial_timeout);
            return;
        };
        let to = to as usize;
        let now = self.scheduler.now();
        let mut ready = now;
        if !self.links.is_connected(from, to) {
            let target = &self.nodes[to];
            if !self.links.placement(to).is_reachable || (!target.is_online && target.crashed) {
                self.fail_in(from, transmit.request, Failure::Unreachable, dial_timeout);
                return;
            }
            if !target.is_online {
                // The host is up, nothing listens: the dial is refused in a round trip.
                let rtt = self.links.rtt(from, to);
                self.fail_in(from, transmit.request, Failure::Unreachable, rtt);
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
        self.count(from, bytes);
        // A lost request: the sender's core times it out.
        let event = (!self.is_lost()).then(|| Event::Request {
            from: self.incarnation(from),
            to: self.incarnation(to),
            request: transmit.request,
            message: transmit.message,
            expects_response: transmit.expects_response,
        });
        self.transmit(from, to, bytes, ready, event);
    }

    /// Sends `bytes` from `from` to `to` once ready at `ready`; `then` happens on arrival.
    fn transmit(&mut self, from: usize, to: usize, bytes: usize, ready: Time, then: Option<Event>) {
        if ready > self.scheduler.now() {
            let event = Event::Send {
                from: from as u32,
                to: to as u32,
                bytes,
                then: then.map(Box::new),
            };
            self.scheduler.schedule(ready, event);
            return;
        }
        let delivery = self.links.send(from, to, bytes, ready);
        if let Some(event) = then {
            self.scheduler.schedule(delivery.arrives, event);
        }
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

/// A fresh DHT core for a node: server if it can be dialled, accepting any `/sim/` record.
fn new_core(
    config: &Config,
    peer: PeerId,
    addr: &Multiaddr,
    is_reachable: bool,
    now: Instant,
    wall: SystemTime,
    seed: u64,
) -> Dht {
    let mode = if is_reachable {
        Mode::Server
    } else {
        Mode::Client
    };
    let store = Box::new(MemoryStore::default());
    let mut dht = Dht::new(peer, config.clone(), mode, store, now, wall, seed);
    dht.validators_mut().insert(NAMESPACE, AcceptAll);
    dht.set_local_addrs(vec![addr.clone()]);
    dht
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
