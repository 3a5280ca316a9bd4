//! [`GossipSimulation`]: thousands of gossipsub routers (`hyphae_gossipsub::Router`) on one
//! scheduler and the network model, exchanging encoded-size RPCs.
//!
//! Every RPC a router queues waits in its node's send queue until the uplink is free, then
//! spends `size / upload` on the uplink, crosses the one-way latency, and is taken in by
//! the receiver's downlink in the order RPCs reach it ([`Links::upload`],
//! [`Links::download`]), so a 128 KiB message costs what its size costs on both ends. The
//! connections are opened before anything else and stay open: there is no loss (pubsub
//! runs on reliable streams) and no set-up cost.
//!
//! The send queue is what a node's driver would keep ([`SendQueue`]): by default control
//! RPCs (subscriptions, GRAFT, PRUNE, IHAVE, IWANT, IDONTWANT) go before messages, and an
//! IDONTWANT that arrives drops the copies of that message still queued for its sender, as
//! rust-libp2p's connection handler does. Both can be turned off, which leaves one FIFO
//! where a copy is committed once the router queues it.
//!
//! Honest nodes judge a message at once, or after [`GossipConfig::validation_delay`] with
//! the router's asynchronous validation: the router sends IDONTWANT on receipt and
//! forwards after the verdict.
//!
//! One seed decides placements, attackers, the topology and every router's own seed; nodes
//! are visited in index order and events at one instant in the order they were scheduled,
//! so one seed gives one run ([`GossipSimulation::trace_hash`]).
//!
//! Not modelled: TCP's per-connection fairness (a node's uplink sends one RPC at a time,
//! to whichever peer is next in its queue), and stopping a copy already on the wire.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, ConfigError, Direction, Event as RouterEvent, MessageId, PeerScoreParams, Protocol,
    PublishError, Publisher, Router, Rpc, ScoreParamsError, Validation,
};
use hyphae_kad::Rng;

use super::metrics::Accounting;
use super::payload::{Header, honest_verdict, message_id, message_id_fn};
use super::score::Scorer;
use crate::network::{Links, NetworkConfig, Placement, weighted_index};
use crate::scheduler::{Scheduler, Time};
use crate::simulation::unit;
use crate::trace::TraceHash;

/// The one topic every node joins.
pub const TOPIC: &str = "blocks";

/// What a gossip simulation is made of.
#[derive(Debug, Clone)]
pub struct GossipConfig {
    /// The seed every random choice follows from.
    pub seed: u64,
    /// How many nodes.
    pub nodes: usize,
    /// The network model (latency and bandwidth; see the module docs for what is left out).
    pub network: NetworkConfig,
    /// Every router's configuration.
    pub router: Config,
    /// Random peers each node dials.
    pub dials_per_node: usize,
    /// Share of nodes that attack (accept and forward anything, publish invalid messages).
    pub attacker_share: f64,
    /// Honest nodes' scoring parameters; `None`: no scoring.
    pub scoring: Option<PeerScoreParams>,
    /// How each node's send queue orders and drops RPCs.
    pub send_queue: SendQueue,
    /// How long honest nodes take to validate a message (zero: at once). IDONTWANT leaves
    /// on receipt, the forwards after the verdict.
    pub validation_delay: Duration,
}

/// How a node's driver queues RPCs for its uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendQueue {
    /// Control RPCs leave before queued messages (rust-libp2p's priority queue), so an
    /// IDONTWANT is not held up behind 128 KiB copies to other peers.
    pub control_first: bool,
    /// An IDONTWANT received drops the queued, not yet sent copies of its messages to the
    /// peer that sent it (rust-libp2p's handler does; the router itself checks only when
    /// it queues).
    pub idontwant_cancels_queued: bool,
}

impl Default for SendQueue {
    fn default() -> SendQueue {
        SendQueue {
            control_first: true,
            idontwant_cancels_queued: true,
        }
    }
}

/// An RPC waiting for its node's uplink.
struct Queued {
    to: u32,
    bytes: usize,
    rpc: Box<Rpc>,
}

/// Why a simulation could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The router refused the configuration.
    #[error("router configuration: {0}")]
    Router(#[from] ConfigError),
    /// The scorer refused the parameters.
    #[error("scoring parameters: {0}")]
    Scoring(#[from] ScoreParamsError),
}

/// One simulated node.
pub struct GossipNode {
    /// Its router.
    pub router: Router<u32>,
    /// Whether it attacks.
    pub is_attacker: bool,
    /// Control RPCs waiting for the uplink (empty unless control goes first).
    control: VecDeque<Queued>,
    /// Other RPCs waiting for the uplink.
    messages: VecDeque<Queued>,
    /// Whether the uplink is sending an RPC (a `Sent` event will follow).
    is_sending: bool,
}

enum Event {
    Heartbeat(u32),
    /// The node's uplink finished sending an RPC: the next may go.
    Sent(u32),
    /// An RPC's last byte reached the receiver's downlink.
    Reached {
        from: u32,
        to: u32,
        bytes: usize,
        rpc: Box<Rpc>,
    },
    /// The receiver has the whole RPC.
    Arrived {
        from: u32,
        to: u32,
        bytes: usize,
        rpc: Box<Rpc>,
    },
    Wake(u64),
    /// The node's application judged a message it was validating.
    Validated {
        node: u32,
        id: MessageId,
        verdict: Validation,
    },
}

/// The simulated gossipsub network.
pub struct GossipSimulation {
    scheduler: Scheduler<Event>,
    links: Links,
    nodes: Vec<GossipNode>,
    rng: Rng,
    accounting: Accounting,
    heartbeat_interval: Duration,
    /// Nodes whose outbound RPCs and events must be collected before the next event.
    dirty: Vec<u32>,
    send_queue: SendQueue,
    validation_delay: Duration,
    trace: TraceHash,
    rpcs: u64,
}

impl GossipSimulation {
    /// Places the nodes, draws the attackers and the connections, and has every node join
    /// [`TOPIC`] at time zero; heartbeats start at random offsets within one interval.
    pub fn new(config: GossipConfig) -> Result<GossipSimulation, SetupError> {
        let mut rng = Rng::from_seed(config.seed);
        let base = Instant::now();
        let network = &config.network;
        let class_weights: Vec<u32> = network.classes.iter().map(|c| c.weight).collect();
        let class_total: u64 = class_weights.iter().map(|w| u64::from(*w)).sum();
        let mut placements = Vec::with_capacity(config.nodes);
        let mut nodes = Vec::with_capacity(config.nodes);
        for i in 0..config.nodes {
            let region = network.regions.place(i, &mut rng);
            let class = network.classes
                [weighted_index(class_weights.iter().copied(), rng.below(class_total.max(1)))];
            placements.push(Placement {
                region,
                upload_mbit: class.upload_mbit,
                download_mbit: class.download_mbit,
                is_reachable: true,
            });
            let is_attacker = unit(&mut rng) < config.attacker_share;
            let router_config = Config {
                async_validation: !is_attacker && !config.validation_delay.is_zero(),
                ..config.router.clone()
            };
            let mut router = Router::new(router_config, Publisher::anonymous(), rng.next_u64())?;
            router.set_message_id_fn(message_id_fn());
            if !is_attacker {
                router.set_validator(|_, _, message| honest_verdict(message));
                if let Some(params) = &config.scoring {
                    router.set_score_source(Scorer::new(params.clone(), base)?);
                }
            }
            nodes.push(GossipNode {
                router,
                is_attacker,
                control: VecDeque::new(),
                messages: VecDeque::new(),
                is_sending: false,
            });
        }
        connect_at_random(&mut nodes, config.dials_per_node, &mut rng);

        let is_attacker = nodes.iter().map(|node| node.is_attacker).collect();
        let mut sim = GossipSimulation {
            scheduler: Scheduler::new(base),
            links: network.links(placements),
            nodes,
            rng,
            accounting: Accounting::new(is_attacker),
            heartbeat_interval: config.router.heartbeat_interval,
            dirty: Vec::new(),
            send_queue: config.send_queue,
            validation_delay: config.validation_delay,
            trace: TraceHash::default(),
            rpcs: 0,
        };
        let interval = u64::try_from(sim.heartbeat_interval.as_nanos()).unwrap_or(u64::MAX);
        for node in 0..sim.nodes.len() {
            sim.nodes[node].router.join(TOPIC, base);
            sim.dirty.push(node as u32);
            let first = Time(sim.rng.below(interval.max(1)));
            sim.scheduler.schedule(first, Event::Heartbeat(node as u32));
        }
        Ok(sim)
    }

    /// The nodes.
    pub fn nodes(&self) -> &[GossipNode] {
        &self.nodes
    }

    /// The counting so far.
    pub fn accounting(&self) -> &Accounting {
        &self.accounting
    }

    /// The counting, to start measuring or record publications.
    pub fn accounting_mut(&mut self) -> &mut Accounting {
        &mut self.accounting
    }

    /// The seeded generator, for the caller's random choices.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.scheduler.now()
    }

    /// The heartbeat interval of every router.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// RPCs sent so far.
    pub fn rpcs(&self) -> u64 {
        self.rpcs
    }

    /// The hash of everything that happened: every RPC's arrival with its ends and size,
    /// every heartbeat, publication and delivery. Equal hashes: the same run.
    pub fn trace_hash(&self) -> u64 {
        self.trace.get()
    }

    /// Asks for a [`GossipSimulation::step`] returning `Some(Some(tag))` at `at`.
    pub fn wake_at(&mut self, at: Time, tag: u64) {
        self.scheduler.schedule(at, Event::Wake(tag));
    }

    /// Node `node` publishes a message with `header`, `size` bytes of data, now.
    pub fn publish(
        &mut self,
        node: usize,
        header: Header,
        size: usize,
    ) -> Result<(), PublishError> {
        let now = self.scheduler.now_instant();
        let payload = header.payload(size);
        let words = [
            self.now().0,
            4,
            node as u64,
            header.number,
            u64::from(header.is_valid),
        ];
        self.trace.add(&words);
        self.dirty.push(node as u32);
        self.nodes[node]
            .router
            .publish(TOPIC, payload, now)
            .map(|_| ())
    }

    /// For each node, how many honest nodes hold it in their mesh; counted for attackers
    /// only (honest nodes get 0).
    pub fn honest_mesh_links_to_attackers(&self) -> Vec<u32> {
        let mut links = vec![0u32; self.nodes.len()];
        for node in self.nodes.iter().filter(|node| !node.is_attacker) {
            for peer in node.router.mesh_peers(TOPIC) {
                if self.nodes[*peer as usize].is_attacker {
                    links[*peer as usize] += 1;
                }
            }
        }
        links
    }

    /// Every `(honest node, attacker)` pair where the honest node holds the attacker in its
    /// mesh, in node order.
    pub fn honest_mesh_pairs_with_attackers(&self) -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            if node.is_attacker {
                continue;
            }
            for peer in node.router.mesh_peers(TOPIC) {
                if self.nodes[*peer as usize].is_attacker {
                    pairs.push((index as u32, *peer));
                }
            }
        }
        pairs
    }

    /// RPCs routers dropped because a peer's queue was full.
    pub fn dropped_rpcs(&self) -> u64 {
        self.nodes
            .iter()
            .map(|node| node.router.dropped_rpcs())
            .sum()
    }

    /// Processes the next event: `None` when nothing is left, `Some(Some(tag))` for a
    /// wake-up asked for, `Some(None)` for anything else.
    pub fn step(&mut self) -> Option<Option<u64>> {
        self.flush();
        let (at, event) = self.scheduler.pop()?;
        let now = self.scheduler.instant(at);
        match event {
            Event::Wake(tag) => return Some(Some(tag)),
            Event::Validated { node, id, verdict } => {
                self.trace.add(&[at.0, 5, u64::from(node)]);
                let router = &mut self.nodes[node as usize].router;
                router.report_validation(&id, verdict, now);
                self.dirty.push(node);
            }
            Event::Sent(node) => {
                self.nodes[node as usize].is_sending = false;
                self.send_next(node as usize);
            }
            Event::Heartbeat(node) => {
                self.trace.add(&[at.0, 2, u64::from(node)]);
                self.nodes[node as usize].router.heartbeat(now);
                self.dirty.push(node);
                let next = at.after(self.heartbeat_interval);
                self.scheduler.schedule(next, Event::Heartbeat(node));
            }
            Event::Reached {
                from,
                to,
                bytes,
                rpc,
            } => {
                let arrives = self.links.download(to as usize, bytes, at);
                let event = Event::Arrived {
                    from,
                    to,
                    bytes,
                    rpc,
                };
                self.scheduler.schedule(arrives, event);
            }
            Event::Arrived {
                from,
                to,
                bytes,
                rpc,
            } => {
                let words = [at.0, 1, u64::from(from), u64::from(to), bytes as u64];
                self.trace.add(&words);
                self.accounting.received(from, to, &rpc, bytes, at);
                if self.send_queue.idontwant_cancels_queued {
                    self.cancel_unwanted(to as usize, from, &rpc);
                }
                self.nodes[to as usize].router.handle_rpc(&from, *rpc, now);
                self.dirty.push(to);
            }
        }
        Some(None)
    }

    /// Processes every event up to `until`; wake-ups that fall due are skipped.
    pub fn run_until(&mut self, until: Time) {
        while self.scheduler.peek_time().is_some_and(|at| at <= until) {
            self.step();
        }
        self.flush();
    }

    /// Queues what changed nodes' routers want sent, starts their uplinks and records
    /// what their routers delivered.
    fn flush(&mut self) {
        let now = self.scheduler.now();
        while let Some(node) = self.dirty.pop() {
            let index = node as usize;
            let control_first = self.send_queue.control_first;
            let state = &mut self.nodes[index];
            while let Some((to, rpc)) = state.router.poll_outbound() {
                let bytes = framed_len(&rpc);
                let queue = if control_first && rpc.publish.is_empty() {
                    &mut state.control
                } else {
                    &mut state.messages
                };
                let rpc = Box::new(rpc);
                queue.push_back(Queued { to, bytes, rpc });
            }
            self.send_next(index);
            while let Some(event) = self.nodes[index].router.poll_event() {
                let message = match event {
                    RouterEvent::Message { message, .. } => message,
                    RouterEvent::Validate { id, message, .. } => {
                        let verdict = honest_verdict(&message);
                        let at = now.after(self.validation_delay);
                        let event = Event::Validated { node, id, verdict };
                        self.scheduler.schedule(at, event);
                        continue;
                    }
                    _ => continue,
                };
                if let Some(header) = Header::of(&message).filter(|header| header.is_valid) {
                    self.trace.add(&[now.0, 3, u64::from(node), header.number]);
                    self.accounting.delivered(node, header.number, now);
                }
            }
        }
    }

    /// Starts sending `node`'s next queued RPC, if its uplink is free.
    fn send_next(&mut self, node: usize) {
        let state = &mut self.nodes[node];
        if state.is_sending {
            return;
        }
        let Some(Queued { to, bytes, rpc }) = state
            .control
            .pop_front()
            .or_else(|| state.messages.pop_front())
        else {
            return;
        };
        state.is_sending = true;
        let now = self.scheduler.now();
        self.rpcs += 1;
        self.accounting.sent(&rpc, bytes);
        let sent = self.links.upload(node, bytes, now);
        let reached = sent.after(self.links.latency(node, to as usize));
        self.scheduler.schedule(sent, Event::Sent(node as u32));
        let event = Event::Reached {
            from: node as u32,
            to,
            bytes,
            rpc,
        };
        self.scheduler.schedule(reached, event);
    }

    /// `node` received `rpc` from `peer`: copies of the messages it says IDONTWANT to,
    /// still queued for `peer`, are dropped.
    fn cancel_unwanted(&mut self, node: usize, peer: u32, rpc: &Rpc) {
        let Some(control) = &rpc.control else { return };
        let unwanted: HashSet<&[u8]> = control
            .idontwant
            .iter()
            .flat_map(|idontwant| &idontwant.message_ids)
            .map(|id| id.as_bytes())
            .collect();
        if unwanted.is_empty() {
            return;
        }
        let queue = &mut self.nodes[node].messages;
        let before = queue.len();
        let mut dropped_bytes = 0u64;
        queue.retain(|queued| {
            let is_unwanted = queued.to == peer
                && queued.rpc.publish.len() == 1
                && queued
                    .rpc
                    .publish
                    .iter()
                    .all(|message| unwanted.contains(message_id(message)));
            if is_unwanted {
                dropped_bytes += queued.bytes as u64;
            }
            !is_unwanted
        });
        let dropped = before - queue.len();
        if dropped > 0 {
            self.accounting.cancelled(dropped as u64, dropped_bytes);
        }
    }
}

/// Each node dials `dials` distinct random others it is not yet connected to (fewer if
/// there are not that many); both routers add the other as a meshsub 1.2 peer.
fn connect_at_random(nodes: &mut [GossipNode], dials: usize, rng: &mut Rng) {
    let count = nodes.len();
    let mut connected: Vec<HashSet<u32>> = vec![HashSet::new(); count];
    let dials = dials.min(count.saturating_sub(1));
    for node in 0..count {
        let mut made = 0;
        // Bounded tries: late nodes may find their candidates taken.
        for _ in 0..dials * 8 {
            if made == dials {
                break;
            }
            let peer = rng.below(count as u64) as usize;
            if peer == node || connected[node].contains(&(peer as u32)) {
                continue;
            }
            connected[node].insert(peer as u32);
            connected[peer].insert(node as u32);
            let protocol = Protocol::MeshsubV1_2;
            nodes[node]
                .router
                .add_peer(peer as u32, protocol, Direction::Outbound);
            nodes[peer]
                .router
                .add_peer(node as u32, protocol, Direction::Inbound);
            made += 1;
        }
    }
}

/// Bytes of `rpc` on the wire: its encoding after its varint length prefix.
fn framed_len(rpc: &Rpc) -> usize {
    let len = rpc.encoded_len();
    let prefix = (usize::BITS - len.max(1).leading_zeros()).div_ceil(7) as usize;
    len + prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_prefix_is_a_varint() {
        let empty = Rpc::default();
        assert_eq!(framed_len(&empty), empty.encoded_len() + 1);
        let prefix = |len: usize| (usize::BITS - len.max(1).leading_zeros()).div_ceil(7);
        assert_eq!(prefix(127), 1);
        assert_eq!(prefix(128), 2);
        assert_eq!(prefix(16_383), 2);
        assert_eq!(prefix(16_384), 3);
    }
}
