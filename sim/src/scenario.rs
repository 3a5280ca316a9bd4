//! Scenario files and running them: build a network, bootstrap it cheaply, run random DHT
//! operations, and measure each one.

use std::path::Path;
use std::time::{Duration, SystemTime};

use hyphae_kad::{Config, Key, Outcome, QueryId};
use serde::{Deserialize, Serialize};

use crate::adversary::AdversaryConfig;
use crate::churn::ChurnConfig;
use crate::network::NetworkConfig;
use crate::report::{OperationRecord, RunTotals, Summary};
use crate::scheduler::Time;
use crate::simulation::{NAMESPACE, SimConfig, Simulation, Step};

/// A scenario, as a TOML file in `sim/scenarios/` gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Its name, for reports.
    pub name: String,
    /// How many nodes (the command line may override it).
    pub nodes: usize,
    /// The seed (the command line may override it).
    pub seed: u64,
    /// How the network is bootstrapped.
    pub bootstrap: Bootstrap,
    /// What is done once it is.
    pub operations: Operations,
    /// The network model.
    pub network: NetworkConfig,
    /// Departures from the DHT's default configuration.
    pub kad: KadSettings,
    /// How nodes come and go (off by default).
    pub churn: ChurnConfig,
    /// Which servers misbehave (none by default).
    pub adversaries: AdversaryConfig,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            name: "unnamed".to_owned(),
            nodes: 1000,
            seed: 1,
            bootstrap: Bootstrap::default(),
            operations: Operations::default(),
            network: NetworkConfig::default(),
            kad: KadSettings::default(),
            churn: ChurnConfig::default(),
            adversaries: AdversaryConfig::default(),
        }
    }
}

/// The cheap bootstrap: routing tables seeded from the ground truth, then optionally one
/// self lookup per node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bootstrap {
    /// Peers put in each bucket of each table (at most k are kept).
    pub per_bucket: usize,
    /// Whether every node then looks itself up, as a joining node does.
    pub self_lookup: bool,
    /// The self lookups start spread evenly over this window (ms).
    pub window_ms: u64,
}

impl Default for Bootstrap {
    fn default() -> Bootstrap {
        Bootstrap {
            per_bucket: 20,
            self_lookup: false,
            window_ms: 60_000,
        }
    }
}

/// The operations run after the bootstrap, by kind weight, each by a random node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Operations {
    /// How many.
    pub count: usize,
    /// Time between two starts (ms).
    pub interval_ms: u64,
    /// Weight of FIND_NODE (`get_closest_peers` of a random key).
    pub find_node: u32,
    /// Weight of GET_PROVIDERS of a key provided earlier.
    pub get_providers: u32,
    /// Weight of provide of a new key.
    pub provide: u32,
    /// Weight of get of a record put earlier.
    pub get: u32,
    /// Weight of put of a new record.
    pub put: u32,
    /// Providers a GET_PROVIDERS waits for (1: the walk to the first provider).
    pub provider_limit: usize,
}

impl Default for Operations {
    fn default() -> Operations {
        Operations {
            count: 1000,
            interval_ms: 50,
            find_node: 1,
            get_providers: 0,
            provide: 0,
            get: 0,
            put: 0,
            provider_limit: 1,
        }
    }
}

/// The DHT settings a scenario may change (the rest are `Config::default()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KadSettings {
    /// [`Config::optimistic_provide`].
    pub optimistic_provide: bool,
    /// [`Config::alpha`].
    pub alpha: usize,
    /// [`Config::beta`].
    pub beta: usize,
    /// [`Config::slow_after`], ms.
    #[serde(with = "crate::network::millis")]
    pub slow_after: Duration,
}

impl Default for KadSettings {
    fn default() -> KadSettings {
        let config = Config::default();
        KadSettings {
            optimistic_provide: config.optimistic_provide,
            alpha: config.alpha,
            beta: config.beta,
            slow_after: config.slow_after,
        }
    }
}

impl KadSettings {
    fn config(&self) -> Config {
        Config {
            optimistic_provide: self.optimistic_provide,
            alpha: self.alpha,
            beta: self.beta,
            slow_after: self.slow_after,
            ..Config::default()
        }
    }
}

impl Scenario {
    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)?;
        Ok(toml::from_str(&text)?)
    }
}

/// The kinds of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `get_closest_peers`.
    FindNode,
    /// `find_providers`.
    GetProviders,
    /// `provide`.
    Provide,
    /// `get_value`.
    Get,
    /// `put_value`.
    Put,
}

impl Kind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::FindNode => "find_node",
            Kind::GetProviders => "get_providers",
            Kind::Provide => "provide",
            Kind::Get => "get",
            Kind::Put => "put",
        }
    }
}

struct Running {
    kind: Kind,
    node: usize,
    key: Vec<u8>,
    started: Time,
    traffic: crate::simulation::Traffic,
}

/// Tags of wake-ups: operations count from 0, self lookups from here.
const SELF_LOOKUP_TAG: u64 = 1 << 40;

/// What a run produced besides its summary (for tests).
pub struct Run {
    /// The summary written as JSON.
    pub summary: Summary,
    /// Each operation as measured.
    pub records: Vec<OperationRecord>,
}

/// Runs `scenario`, calling `progress(done, total)` now and then.
pub fn run(scenario: &Scenario, mut progress: impl FnMut(usize, usize)) -> Run {
    let wall_start = std::time::Instant::now();
    let mut sim = Simulation::new(SimConfig {
        seed: scenario.seed,
        nodes: scenario.nodes,
        network: scenario.network.clone(),
        kad: scenario.kad.config(),
        churn: scenario.churn.clone(),
        adversaries: scenario.adversaries.clone(),
    });
    sim.seed_routing_tables(scenario.bootstrap.per_bucket);
    sim.start_churn();
    let setup_wall = wall_start.elapsed();

    let nodes = scenario.nodes;
    let mut start = Time::ZERO;
    if scenario.bootstrap.self_lookup && nodes > 0 {
        let window = Duration::from_millis(scenario.bootstrap.window_ms);
        for node in 0..nodes {
            let at = Time::ZERO.after(window.mul_f64(node as f64 / nodes as f64));
            sim.wake_at(at, SELF_LOOKUP_TAG + node as u64);
        }
        // Operations start once the self lookups are (nearly all) over.
        start = Time::ZERO.after(window + Duration::from_secs(10));
    }
    let ops = &scenario.operations;
    let interval = Duration::from_millis(ops.interval_ms);
    for i in 0..ops.count {
        sim.wake_at(start.after(interval * i as u32), i as u64);
    }

    let weights = [
        (Kind::FindNode, ops.find_node),
        (Kind::GetProviders, ops.get_providers),
        (Kind::Provide, ops.provide),
        (Kind::Get, ops.get),
        (Kind::Put, ops.put),
    ];
    let total_weight: u64 = weights.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut running: std::collections::HashMap<(usize, QueryId), Running> = Default::default();
    let mut provided: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut put: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut records: Vec<OperationRecord> = Vec::new();
    let mut started = 0usize;
    let mut to_check: Vec<(usize, Vec<u8>, Vec<usize>)> = Vec::new();
    let k = scenario.kad.config().k;

    let mut abandoned = 0usize;
    while records.len() + abandoned < ops.count {
        let Some(step) = sim.step() else { break };
        if let Step::Wake(tag) = step {
            if tag >= SELF_LOOKUP_TAG {
                let node = (tag - SELF_LOOKUP_TAG) as usize;
                if !sim.nodes()[node].is_online {
                    continue;
                }
                let own = sim.nodes()[node].peer.to_bytes();
                let now = sim.now_instant();
                let _ = sim.dht_mut(node).get_closest_peers(own, now);
                sim.touch(node);
                continue;
            }
            started += 1;
            let drawn = weights[crate::network::weighted_index(
                weights.iter().map(|(_, w)| *w),
                sim.rng().below(total_weight.max(1)),
            )]
            .0;
            // Reads need something written first; until then they are FIND_NODEs.
            let kind = match drawn {
                Kind::GetProviders if provided.is_empty() => Kind::FindNode,
                Kind::Get if put.is_empty() => Kind::FindNode,
                other => other,
            };
            let (key, owner) = match kind {
                Kind::FindNode => (random_key(&mut sim), None),
                Kind::Provide => (format!("content-{tag}").into_bytes(), None),
                Kind::Put => (format!("/{NAMESPACE}/record-{tag}").into_bytes(), None),
                Kind::GetProviders => {
                    let (key, owner) = &provided[sim.rng().below(provided.len() as u64) as usize];
                    (key.clone(), Some(*owner))
                }
                Kind::Get => {
                    let (key, owner) = &put[sim.rng().below(put.len() as u64) as usize];
                    (key.clone(), Some(*owner))
                }
            };
            // Any honest online node but the writer (who would answer from its own store).
            let Some(node) = pick_initiator(&mut sim, owner) else {
                records.push(OperationRecord::refused(kind.name(), sim.now()));
                continue;
            };
            let now = sim.now_instant();
            let dht = sim.dht_mut(node);
            let query = match kind {
                Kind::FindNode => dht.get_closest_peers(key.clone(), now),
                Kind::GetProviders => dht.find_providers(key.clone(), ops.provider_limit, now),
                Kind::Provide => dht.provide(key.clone(), now),
                Kind::Get => dht.get_value(key.clone(), now),
                Kind::Put => dht.put_value(key.clone(), tag.to_le_bytes().to_vec(), now),
            };
            sim.touch(node);
            match query {
                Ok(query) => {
                    sim.watch(node, query);
                    let traffic = sim.traffic(node);
                    let started_at = sim.now();
                    running.insert(
                        (node, query),
                        Running {
                            kind,
                            node,
                            key,
                            started: started_at,
                            traffic,
                        },
                    );
                }
                Err(_) => records.push(OperationRecord::refused(kind.name(), sim.now())),
            }
            if started.is_multiple_of((ops.count / 20).max(1)) {
                progress(records.len(), ops.count);
            }
        }
        for finished in sim.take_finished() {
            let Some(op) = running.remove(&(finished.node, finished.query)) else {
                continue;
            };
            let Some(outcome) = finished.outcome else {
                abandoned += 1;
                continue;
            };
            let traffic = sim.traffic(op.node);
            let mut record = OperationRecord {
                kind: op.kind.name(),
                is_success: false,
                started_ms: op.started.as_millis_f64(),
                latency_ms: (finished.at.0 - op.started.0) as f64 / 1e6,
                hops: finished.stats.hops,
                lookup_requests: finished.stats.requests as u64,
                messages: traffic.messages - op.traffic.messages,
                bytes: traffic.bytes - op.traffic.bytes,
                closest_fraction: None,
                stored_at_closest: None,
            };
            let target = Key::for_bytes(&op.key);
            let truth = sim.true_closest(&target, k, Some(op.node));
            match outcome {
                Outcome::ClosestPeers(peers) => {
                    let found: Vec<usize> =
                        peers.iter().filter_map(|p| sim.index_of(&p.peer)).collect();
                    let hits = truth.iter().filter(|t| found.contains(t)).count();
                    record.closest_fraction = Some(hits as f64 / truth.len().max(1) as f64);
                    record.is_success = !found.is_empty();
                }
                Outcome::Providers(count) => record.is_success = count > 0,
                Outcome::Value(value) => record.is_success = value.is_some(),
                Outcome::Provided { succeeded, .. } => {
                    // ADD_PROVIDER ends when written, before it arrives: counted at the end.
                    to_check.push((records.len(), op.key.clone(), truth.clone()));
                    record.is_success = succeeded > 0;
                    if record.is_success {
                        provided.push((op.key.clone(), op.node));
                    }
                }
                Outcome::Stored { quorum_reached, .. } => {
                    to_check.push((records.len(), op.key.clone(), truth.clone()));
                    record.is_success = quorum_reached;
                    if record.is_success {
                        put.push((op.key.clone(), op.node));
                    }
                }
                Outcome::FoundPeer(found) => record.is_success = found.is_some(),
            }
            records.push(record);
        }
    }
    progress(records.len() + abandoned, ops.count);

    // Let the last stores arrive, then see which of the true closest hold each entry.
    sim.run_until(sim.now().after(Duration::from_secs(5)));
    let wall =
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + sim.now().since_start();
    for (index, key, truth) in to_check {
        let stored = truth
            .iter()
            .filter(|t| {
                let store = sim.nodes()[**t].dht.store();
                !store.providers(&key, wall).is_empty() || store.get(&key, wall).is_some()
            })
            .count();
        records[index].stored_at_closest = Some(stored as f64 / truth.len().max(1) as f64);
    }

    let totals = RunTotals {
        trace_hash: sim.trace_hash(),
        end: sim.now(),
        messages: sim.messages(),
        abandoned,
        setup_wall,
        wall: wall_start.elapsed(),
    };
    let summary = Summary::new(scenario, &records, totals);
    Run { summary, records }
}

/// A random honest online node other than `owner`; `None` if there is none.
fn pick_initiator(sim: &mut Simulation, owner: Option<usize>) -> Option<usize> {
    let count = sim.nodes().len() as u64;
    // Random probes first: nearly every node qualifies.
    for _ in 0..64 {
        let node = sim.rng().below(count.max(1)) as usize;
        let state = sim.nodes().get(node)?;
        if state.is_honest_and_online() && Some(node) != owner {
            return Some(node);
        }
    }
    let eligible: Vec<usize> = (0..sim.nodes().len())
        .filter(|&node| sim.nodes()[node].is_honest_and_online() && Some(node) != owner)
        .collect();
    let len = eligible.len() as u64;
    (len > 0).then(|| eligible[sim.rng().below(len) as usize])
}

/// A random key shaped like a peer id (34 bytes).
fn random_key(sim: &mut Simulation) -> Vec<u8> {
    let mut key = vec![0u8; 34];
    key[0] = 0x12;
    key[1] = 32;
    sim.rng().fill(&mut key[2..]);
    key
}
