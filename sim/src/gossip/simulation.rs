//! [`GossipSimulation`]: thousands of gossipsub routers (`hyphae_gossipsub::Router`) on one
//! scheduler and the network model, exchanging encoded-size RPCs.
//!
//! Every RPC a router queues leaves through its node's uplink (queued behind what the node
//! sent before), crosses the one-way latency, then is taken in by the receiver's downlink in
//! the order RPCs reach it ([`Links::upload`], [`Links::download`]), so a 128 KiB message
//! costs what its size costs on both ends. The connections are opened before anything else
//! and stay open: there is no loss (pubsub runs on reliable streams) and no set-up cost.
//!
//! One seed decides placements, attackers, the topology and every router's own seed; nodes
//! are visited in index order and events at one instant in the order they were scheduled,
//! so one seed gives one run ([`GossipSimulation::trace_hash`]).
//!
//! Not modelled: TCP's per-connection fairness (a node's uplink is one FIFO for all its
//! peers), and cancelling a copy already handed to the uplink when an IDONTWANT arrives
//! (the router checks IDONTWANT when it queues a message, as go-libp2p does).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, ConfigError, Direction, Event as RouterEvent, PeerScoreParams, Protocol, PublishError,
    Publisher, Router, Rpc, ScoreParamsError,
};
use hyphae_kad::Rng;

use super::metrics::Accounting;
use super::payload::{Header, honest_verdict, message_id_fn};
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
}

enum Event {
    Heartbeat(u32),
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
            let mut router = Router::new(
                config.router.clone(),
                Publisher::anonymous(),
                rng.next_u64(),
            )?;
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
                self.accounting.received(to, &rpc, bytes);
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

    /// Sends what changed nodes queued and records what their routers delivered.
    fn flush(&mut self) {
        let now = self.scheduler.now();
        while let Some(node) = self.dirty.pop() {
            let index = node as usize;
            while let Some((to, rpc)) = self.nodes[index].router.poll_outbound() {
                let bytes = framed_len(&rpc);
                self.rpcs += 1;
                self.accounting.sent(&rpc, bytes);
                let sent = self.links.upload(index, bytes, now);
                let reached = sent.after(self.links.latency(index, to as usize));
                let rpc = Box::new(rpc);
                let event = Event::Reached {
                    from: node,
                    to,
                    bytes,
                    rpc,
                };
                self.scheduler.schedule(reached, event);
            }
            while let Some(event) = self.nodes[index].router.poll_event() {
                let RouterEvent::Message { message, .. } = event else {
                    continue;
                };
                if let Some(header) = Header::of(&message).filter(|header| header.is_valid) {
                    self.trace.add(&[now.0, 3, u64::from(node), header.number]);
                    self.accounting.delivered(node, header.number, now);
                }
            }
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
