//! The network model: where nodes are, how long a message takes between them, what is lost,
//! who can be dialled, and what a first contact costs.
//!
//! - **Latency**: each node sits in one of eight regions; a message takes the one-way latency
//!   between the two regions ([`REGIONS`], [`ONE_WAY_LATENCY_MS`]).
//! - **Bandwidth with queueing**: each node has an upload and a download rate. A message leaves
//!   once the sender's uplink has sent everything queued before it, spends `size / upload`
//!   on the uplink, crosses the latency, then waits for the receiver's downlink and spends
//!   `size / download` on it (store and forward; no TCP/QUIC congestion control).
//! - **Loss**: each message is lost with a fixed probability; a lost request or answer is one
//!   the sender's core times out.
//! - **Reachability**: a share of nodes is behind NAT: they can dial but cannot be dialled
//!   (they run the DHT in client mode). Dialling one without a connection fails after
//!   [`NetworkConfig::unreachable_dial_timeout`].
//! - **Connections**: the first message between two nodes waits for the connection set-up,
//!   [`NetworkConfig::connection_setup_rtts`] round trips; the connection is then kept, up to
//!   [`NetworkConfig::max_connections`] per node, the least recently used closed beyond that.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scheduler::Time;

/// The eight regions of libp2p/test-plans `gossipsub-interop/network_graph.py` (commit
/// cfc504c), with their node shares (Ethereum node counts per region) as weights.
pub const REGIONS: [(&str, u32); 8] = [
    ("australia", 290),
    ("europe", 5599),
    ("east_asia", 1059),
    ("west_asia", 161),
    ("na_east", 2894),
    ("na_west", 1240),
    ("south_africa", 47),
    ("south_america", 36),
];

/// One-way latency in ms between the regions of [`REGIONS`] (same order), from the same
/// file. The table there is symmetric except south_africa → south_america (190 ms) versus
/// south_america → south_africa (195 ms); both are kept as given.
pub const ONE_WAY_LATENCY_MS: [[u32; 8]; 8] = [
    // aus  eur  e_as w_as na_e na_w s_af s_am
    [2, 165, 110, 180, 150, 110, 220, 190], // australia
    [165, 2, 125, 60, 70, 110, 95, 140],    // europe
    [110, 125, 4, 110, 140, 100, 175, 175], // east_asia
    [180, 60, 110, 5, 110, 150, 110, 145],  // west_asia
    [150, 70, 140, 110, 2, 60, 130, 100],   // na_east
    [110, 110, 100, 150, 60, 2, 160, 100],  // na_west
    [220, 95, 175, 110, 130, 160, 7, 190],  // south_africa
    [190, 140, 175, 145, 100, 100, 195, 7], // south_america
];

/// A kind of node by bandwidth, with its share (network_graph.py: 20 % "supernodes" at
/// 1024 Mbit/s, 80 % "fullnodes" at 50 Mbit/s, both directions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NodeClass {
    /// Upload rate in Mbit/s.
    pub upload_mbit: f64,
    /// Download rate in Mbit/s.
    pub download_mbit: f64,
    /// Relative share of nodes of this class.
    pub weight: u32,
}

/// The node classes of network_graph.py.
pub const NODE_CLASSES: [NodeClass; 2] = [
    NodeClass {
        upload_mbit: 1024.0,
        download_mbit: 1024.0,
        weight: 20,
    },
    NodeClass {
        upload_mbit: 50.0,
        download_mbit: 50.0,
        weight: 80,
    },
];

/// The parameters of the network model, as a scenario file gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Probability that one message (request or answer) is lost.
    pub loss: f64,
    /// Share of nodes behind NAT: dial out, cannot be dialled, DHT client mode.
    pub unreachable_share: f64,
    /// Round trips a new connection costs before its first message leaves (TCP + Noise +
    /// yamux with multistream-select pipelined: about 2; QUIC: about 1).
    pub connection_setup_rtts: f64,
    /// Connections a node keeps; the least recently used is closed beyond this.
    pub max_connections: usize,
    /// How long a dial to an unreachable node takes to fail.
    #[serde(with = "millis")]
    pub unreachable_dial_timeout: Duration,
    /// Node classes (bandwidth and share); the defaults are network_graph.py's.
    pub classes: Vec<NodeClass>,
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            loss: 0.0,
            unreachable_share: 0.0,
            connection_setup_rtts: 2.0,
            max_connections: 400,
            unreachable_dial_timeout: Duration::from_secs(5),
            classes: NODE_CLASSES.to_vec(),
        }
    }
}

/// Durations as whole milliseconds in scenario files.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The one-way latency between two regions (indices into [`REGIONS`]).
pub fn one_way_latency(from: usize, to: usize) -> Duration {
    Duration::from_millis(u64::from(ONE_WAY_LATENCY_MS[from][to]))
}

/// How long `bytes` take on a link of `mbit` Mbit/s.
pub fn transmission_time(bytes: usize, mbit: f64) -> Duration {
    if mbit <= 0.0 || !mbit.is_finite() {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(bytes as f64 * 8.0 / (mbit * 1e6))
}

/// Where a node is and what its links can carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Index into [`REGIONS`].
    pub region: usize,
    /// Upload rate, Mbit/s.
    pub upload_mbit: f64,
    /// Download rate, Mbit/s.
    pub download_mbit: f64,
    /// Whether others can dial it.
    pub is_reachable: bool,
}

/// The state of every node's links and connections.
#[derive(Debug)]
pub struct Links {
    placements: Vec<Placement>,
    /// When each node's uplink has sent everything queued so far.
    upload_free: Vec<Time>,
    /// When each node's downlink has taken in everything queued so far.
    download_free: Vec<Time>,
    /// Each node's open connections, with the sequence number of their last use (for LRU).
    connections: Vec<HashMap<u32, u64>>,
    max_connections: usize,
    uses: u64,
}

/// What sending one message costs and when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// When the last byte left the sender (a no-answer request counts as delivered then).
    pub sent: Time,
    /// When the receiver has the whole message.
    pub arrives: Time,
}

/// What [`Links::connect`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Whether the connection was new (the set-up cost applies, both sides identify).
    pub is_new: bool,
    /// Connections closed to make room, as `(a, b)` pairs.
    pub closed: Vec<(usize, usize)>,
}

impl Links {
    /// Links for nodes placed as `placements`, each keeping at most `max_connections`.
    pub fn new(placements: Vec<Placement>, max_connections: usize) -> Links {
        let count = placements.len();
        Links {
            placements,
            upload_free: vec![Time::ZERO; count],
            download_free: vec![Time::ZERO; count],
            connections: vec![HashMap::new(); count],
            max_connections: max_connections.max(1),
            uses: 0,
        }
    }

    /// Where node `node` is.
    pub fn placement(&self, node: usize) -> &Placement {
        &self.placements[node]
    }

    /// The round-trip time between two nodes.
    pub fn rtt(&self, a: usize, b: usize) -> Duration {
        let (ra, rb) = (self.placements[a].region, self.placements[b].region);
        one_way_latency(ra, rb) + one_way_latency(rb, ra)
    }

    /// Whether `a` and `b` hold a connection.
    pub fn is_connected(&self, a: usize, b: usize) -> bool {
        self.connections[a].contains_key(&(b as u32))
    }

    /// Opens (or reuses) the connection between `a` and `b`, closing the least recently used
    /// connections of either side beyond the limit.
    pub fn connect(&mut self, a: usize, b: usize) -> Connect {
        self.uses += 1;
        let use_ = self.uses;
        let is_new = !self.is_connected(a, b);
        self.connections[a].insert(b as u32, use_);
        self.connections[b].insert(a as u32, use_);
        let mut closed = Vec::new();
        for node in [a, b] {
            while self.connections[node].len() > self.max_connections {
                // Ties cannot happen (every use has its own number), so this is deterministic
                // whatever order the map iterates in.
                let Some((&victim, _)) = self.connections[node].iter().min_by_key(|(_, u)| **u)
                else {
                    break;
                };
                let victim = victim as usize;
                self.connections[node].remove(&(victim as u32));
                self.connections[victim].remove(&(node as u32));
                closed.push((node, victim));
            }
        }
        Connect { is_new, closed }
    }

    /// Sends `bytes` from `from` to `to`, leaving no earlier than `ready`: queues on the
    /// sender's uplink, crosses the latency, queues on the receiver's downlink.
    pub fn send(&mut self, from: usize, to: usize, bytes: usize, ready: Time) -> Delivery {
        let (sender, receiver) = (self.placements[from], self.placements[to]);
        let start = ready.max(self.upload_free[from]);
        let sent = start.after(transmission_time(bytes, sender.upload_mbit));
        self.upload_free[from] = sent;
        let reached = sent.after(one_way_latency(sender.region, receiver.region));
        let taking = reached.max(self.download_free[to]);
        let arrives = taking.after(transmission_time(bytes, receiver.download_mbit));
        self.download_free[to] = arrives;
        Delivery { sent, arrives }
    }
}

/// Picks an index with probability proportional to its weight, from a uniform draw `r` in
/// `0..sum(weights)`.
pub fn weighted_index(weights: impl IntoIterator<Item = u32>, r: u64) -> usize {
    let mut acc = 0u64;
    let mut last = 0;
    for (i, weight) in weights.into_iter().enumerate() {
        acc += u64::from(weight);
        last = i;
        if r < acc {
            return i;
        }
    }
    last
}

impl Links {
    /// Closes every connection of `node` (it left); returns the peers it was connected to,
    /// in index order.
    pub fn disconnect_all(&mut self, node: usize) -> Vec<usize> {
        let mut peers: Vec<usize> = self.connections[node]
            .drain()
            .map(|(peer, _)| peer as usize)
            .collect();
        peers.sort_unstable();
        for &peer in &peers {
            self.connections[peer].remove(&(node as u32));
        }
        peers
    }
}
