//! The network model: where nodes are, how long a message takes between them, what is lost,
//! who can be dialled, and what a first contact costs.
//!
//! - **Latency**: each node sits in one region; a message takes the one-way latency between
//!   the two regions. The regions are the eight of [`REGIONS`] and [`ONE_WAY_LATENCY_MS`]
//!   unless a scenario gives its own [`RegionTable`] (to mirror a testbed, for instance).
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

use hyphae_kad::Rng;
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

/// Where nodes are placed and the one-way latency between the places.
///
/// The default is the built-in table ([`REGIONS`] with their weights, [`ONE_WAY_LATENCY_MS`]).
/// A scenario may give its own, e.g. two places 25 ms apart with the nodes alternating
/// between them, to mirror a testbed of two network namespaces (`sim/CALIBRATION.md`):
///
/// ```
/// # use hyphae_sim::network::NetworkConfig;
/// let network: NetworkConfig = toml::from_str(
///     r#"
///     [regions]
///     names = ["a", "b"]
///     one_way_latency_ms = [[0.0, 25.0], [25.0, 0.0]]
///     nodes = ["a", "b"]
///     "#,
/// )?;
/// assert_eq!(network.regions.len(), 2);
/// # Ok::<(), toml::de::Error>(())
/// ```
///
/// A table is checked when it is made or read: a malformed one is a [`RegionTableError`], so a
/// simulation never meets a placement outside its matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RegionTableSpec", into = "RegionTableSpec")]
pub struct RegionTable {
    names: Vec<String>,
    weights: Vec<u32>,
    /// One-way latency in ms, `[from][to]`, as given (serialised back as is).
    one_way_ms: Vec<Vec<f64>>,
    /// Explicit placement (region indices), cycled over the nodes; empty: by weight.
    nodes: Vec<usize>,
}

/// A region table as a scenario file writes it, before it is checked ([`RegionTable::new`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionTableSpec {
    /// The regions' names, in the order of the latency matrix.
    pub names: Vec<String>,
    /// Each region's relative share of the nodes, used when `nodes` is empty; empty means
    /// equal shares.
    pub weights: Vec<u32>,
    /// One-way latency in ms from region `i` (row) to region `j` (column); it need not be
    /// symmetric.
    pub one_way_latency_ms: Vec<Vec<f64>>,
    /// Explicit placement by region name: node `i` sits in `nodes[i % nodes.len()]`, so
    /// `["a", "b"]` alternates. Empty: each node is drawn by the weights.
    pub nodes: Vec<String>,
}

/// Why a region table was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegionTableError {
    /// No region at all.
    #[error("a region table needs at least one region")]
    Empty,
    /// Two regions share a name.
    #[error("region {0:?} is named twice")]
    DuplicateName(String),
    /// The weights do not match the regions one to one.
    #[error("{weights} weights given for {regions} regions")]
    WeightCount {
        /// Regions named.
        regions: usize,
        /// Weights given.
        weights: usize,
    },
    /// Nodes are to be drawn by weight, but every weight is zero.
    #[error("every weight is zero and no explicit placement is given")]
    ZeroWeights,
    /// The latency matrix is not regions × regions.
    #[error("the latency matrix must be {0} × {0}")]
    MatrixShape(usize),
    /// A latency is negative, not a number, or over [`MAX_ONE_WAY_LATENCY_MS`].
    #[error("latency from {from:?} to {to:?} is {ms} ms, outside 0..={MAX_ONE_WAY_LATENCY_MS}")]
    Latency {
        /// The sending region.
        from: String,
        /// The receiving region.
        to: String,
        /// The latency given.
        ms: f64,
    },
    /// The placement names a region the table does not have.
    #[error("the placement names unknown region {0:?}")]
    UnknownRegion(String),
}

/// The largest one-way latency a table may give (a minute): anything longer is a typo, and
/// the bound keeps every latency a valid `Duration`.
pub const MAX_ONE_WAY_LATENCY_MS: f64 = 60_000.0;

impl RegionTable {
    /// The built-in table: [`REGIONS`] with their weights and [`ONE_WAY_LATENCY_MS`].
    pub fn builtin() -> RegionTable {
        RegionTable {
            names: REGIONS.iter().map(|(name, _)| (*name).to_owned()).collect(),
            weights: REGIONS.iter().map(|(_, weight)| *weight).collect(),
            one_way_ms: ONE_WAY_LATENCY_MS
                .iter()
                .map(|row| row.iter().map(|ms| f64::from(*ms)).collect())
                .collect(),
            nodes: Vec::new(),
        }
    }

    /// Checks `spec` and makes it a table.
    pub fn new(spec: RegionTableSpec) -> Result<RegionTable, RegionTableError> {
        let count = spec.names.len();
        if count == 0 {
            return Err(RegionTableError::Empty);
        }
        for (i, name) in spec.names.iter().enumerate() {
            if spec.names[..i].contains(name) {
                return Err(RegionTableError::DuplicateName(name.clone()));
            }
        }
        let weights = if spec.weights.is_empty() {
            vec![1; count]
        } else if spec.weights.len() == count {
            spec.weights
        } else {
            return Err(RegionTableError::WeightCount {
                regions: count,
                weights: spec.weights.len(),
            });
        };
        if spec.one_way_latency_ms.len() != count
            || spec.one_way_latency_ms.iter().any(|row| row.len() != count)
        {
            return Err(RegionTableError::MatrixShape(count));
        }
        for (from, row) in spec.one_way_latency_ms.iter().enumerate() {
            for (to, ms) in row.iter().enumerate() {
                if !(0.0..=MAX_ONE_WAY_LATENCY_MS).contains(ms) {
                    return Err(RegionTableError::Latency {
                        from: spec.names[from].clone(),
                        to: spec.names[to].clone(),
                        ms: *ms,
                    });
                }
            }
        }
        let nodes = spec
            .nodes
            .iter()
            .map(|name| {
                spec.names
                    .iter()
                    .position(|known| known == name)
                    .ok_or_else(|| RegionTableError::UnknownRegion(name.clone()))
            })
            .collect::<Result<Vec<usize>, _>>()?;
        if nodes.is_empty() && weights.iter().all(|weight| *weight == 0) {
            return Err(RegionTableError::ZeroWeights);
        }
        Ok(RegionTable {
            names: spec.names,
            weights,
            one_way_ms: spec.one_way_latency_ms,
            nodes,
        })
    }

    /// How many regions.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Never true: a table has at least one region (for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name of region `region`.
    pub fn name(&self, region: usize) -> &str {
        &self.names[region]
    }

    /// The one-way latency from region `from` to region `to`.
    pub fn one_way_latency(&self, from: usize, to: usize) -> Duration {
        // In 0..=MAX_ONE_WAY_LATENCY_MS, checked in `new`.
        Duration::from_secs_f64(self.one_way_ms[from][to] / 1000.0)
    }

    /// The region of node `node`: its explicit placement if the table has one, else one
    /// drawn from `rng` by the weights (one draw, as the simulation always drew).
    pub fn place(&self, node: usize, rng: &mut Rng) -> usize {
        if !self.nodes.is_empty() {
            return self.nodes[node % self.nodes.len()];
        }
        let total: u64 = self.weights.iter().map(|weight| u64::from(*weight)).sum();
        weighted_index(self.weights.iter().copied(), rng.below(total))
    }

    /// Whether this is the built-in table.
    pub fn is_builtin(&self) -> bool {
        *self == RegionTable::builtin()
    }
}

impl Default for RegionTable {
    fn default() -> RegionTable {
        RegionTable::builtin()
    }
}

impl TryFrom<RegionTableSpec> for RegionTable {
    type Error = RegionTableError;

    fn try_from(spec: RegionTableSpec) -> Result<RegionTable, RegionTableError> {
        RegionTable::new(spec)
    }
}

impl From<RegionTable> for RegionTableSpec {
    fn from(table: RegionTable) -> RegionTableSpec {
        let nodes = table
            .nodes
            .iter()
            .map(|region| table.names[*region].clone())
            .collect();
        RegionTableSpec {
            names: table.names,
            weights: table.weights,
            one_way_latency_ms: table.one_way_ms,
            nodes,
        }
    }
}

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
    /// Round trips a new connection costs before its first message leaves. TCP + Noise +
    /// yamux: 2 when Noise is the only security protocol offered (its choice is then
    /// pipelined), 3 when several are, as by hyphae's default node (Noise and TLS; measured
    /// in `sim/CALIBRATION.md`). QUIC: about 1.
    pub connection_setup_rtts: f64,
    /// Connections a node keeps; the least recently used is closed beyond this.
    pub max_connections: usize,
    /// How long a dial to an unreachable node takes to fail.
    #[serde(with = "millis")]
    pub unreachable_dial_timeout: Duration,
    /// Node classes (bandwidth and share); the defaults are network_graph.py's.
    pub classes: Vec<NodeClass>,
    /// Where nodes are placed and the latency between places: the built-in eight regions
    /// unless the scenario gives a table (left out of reports when built in).
    #[serde(skip_serializing_if = "RegionTable::is_builtin")]
    pub regions: RegionTable,
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
            regions: RegionTable::default(),
        }
    }
}

impl NetworkConfig {
    /// The links of nodes placed as `placements` (regions index [`NetworkConfig::regions`]).
    pub fn links(&self, placements: Vec<Placement>) -> Links {
        Links::with_regions(placements, self.max_connections, &self.regions)
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
    /// Index into the region table ([`REGIONS`] unless the scenario gives its own).
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
    /// One-way latency from region `a` to region `b` at `a * regions + b`.
    latency: Vec<Duration>,
    regions: usize,
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
    /// Links for nodes placed in the built-in regions as `placements`, each keeping at most
    /// `max_connections`.
    pub fn new(placements: Vec<Placement>, max_connections: usize) -> Links {
        Links::with_regions(placements, max_connections, &RegionTable::builtin())
    }

    /// Links for nodes placed in the regions of `table` as `placements`, each keeping at most
    /// `max_connections`.
    pub fn with_regions(
        placements: Vec<Placement>,
        max_connections: usize,
        table: &RegionTable,
    ) -> Links {
        let count = placements.len();
        let regions = table.len();
        let latency = (0..regions * regions)
            .map(|i| table.one_way_latency(i / regions, i % regions))
            .collect();
        Links {
            placements,
            latency,
            regions,
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

    /// The one-way latency from node `from` to node `to`.
    pub fn latency(&self, from: usize, to: usize) -> Duration {
        let (a, b) = (self.placements[from].region, self.placements[to].region);
        self.latency[a * self.regions + b]
    }

    /// The round-trip time between two nodes.
    pub fn rtt(&self, a: usize, b: usize) -> Duration {
        self.latency(a, b) + self.latency(b, a)
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
    ///
    /// The receiver's downlink is booked now, when the message is sent, so a message sent
    /// later but arriving sooner still waits behind it. Few, scattered flows (the DHT's)
    /// hardly notice; many crossing flows (gossip) should use [`Links::upload`] and
    /// [`Links::download`] instead, which book the downlink in arrival order.
    pub fn send(&mut self, from: usize, to: usize, bytes: usize, ready: Time) -> Delivery {
        let sent = self.upload(from, bytes, ready);
        let reached = sent.after(self.latency(from, to));
        let arrives = self.download(to, bytes, reached);
        Delivery { sent, arrives }
    }

    /// Queues `bytes` on `from`'s uplink, leaving no earlier than `ready`; returns when the
    /// last byte has left (add [`Links::latency`] for when it reaches the receiver).
    pub fn upload(&mut self, from: usize, bytes: usize, ready: Time) -> Time {
        let start = ready.max(self.upload_free[from]);
        let sent = start.after(transmission_time(bytes, self.placements[from].upload_mbit));
        self.upload_free[from] = sent;
        sent
    }

    /// Queues `bytes` that reached `to` at `reached` on its downlink; returns when the
    /// receiver has them all. Called in the order messages reach the receiver, this serves
    /// them first come, first served.
    pub fn download(&mut self, to: usize, bytes: usize, reached: Time) -> Time {
        let taking = reached.max(self.download_free[to]);
        let arrives = taking.after(transmission_time(bytes, self.placements[to].download_mbit));
        self.download_free[to] = arrives;
        arrives
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
