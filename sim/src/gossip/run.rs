//! Running a gossip scenario: warm up, publish the valid messages (and the attackers'
//! invalid ones), let the stragglers arrive, and summarise.

use std::collections::HashMap;
use std::time::Duration;

use super::metrics::Accounting;
use super::payload::Header;
use super::report::{AttackSummary, GossipSummary};
use super::scenario::GossipScenario;
use super::simulation::{GossipConfig, GossipSimulation, SetupError, TOPIC};
use crate::report::{Distribution, peak_memory_kib};
use crate::scheduler::Time;

/// Tags of wake-ups: valid publications count from 0, the others from these.
const MEASURE_TAG: u64 = 1 << 60;
const SAMPLE_TAG: u64 = 1 << 61;
const INVALID_TAG: u64 = 1 << 62;

/// What a run produced besides its summary.
pub struct GossipRun {
    /// The summary written as JSON.
    pub summary: GossipSummary,
    /// Every delivery's latency, ms (for the plot).
    pub latencies_ms: Vec<f64>,
}

/// Runs `scenario`, calling `progress(published, total)` after each valid publication.
pub fn run(
    scenario: &GossipScenario,
    mut progress: impl FnMut(usize, usize),
) -> Result<GossipRun, SetupError> {
    let wall_start = std::time::Instant::now();
    let scoring = scenario
        .scoring
        .enabled
        .then(|| scenario.scoring.params(TOPIC));
    let mut sim = GossipSimulation::new(GossipConfig {
        seed: scenario.seed,
        nodes: scenario.nodes,
        network: scenario.network.clone(),
        router: scenario.router.config(),
        dials_per_node: scenario.topology.dials_per_node,
        attacker_share: scenario.attack.share,
        scoring,
        send_queue: scenario.send_queue,
        validation_delay: Duration::from_millis(scenario.messages.validation_ms),
    })?;
    let messages = &scenario.messages;
    let heartbeat = sim.heartbeat_interval();
    let start = Time::ZERO.after(heartbeat.saturating_mul(messages.warmup_heartbeats));
    let interval = Duration::from_millis(messages.interval_ms);
    let publishing = interval.saturating_mul(u32::try_from(messages.count).unwrap_or(u32::MAX));
    let end = start.after(publishing + Duration::from_millis(messages.drain_ms));

    sim.wake_at(start, MEASURE_TAG);
    for i in 0..messages.count {
        sim.wake_at(start.after(interval.saturating_mul(i as u32)), i as u64);
    }
    let attackers: Vec<usize> = (0..sim.nodes().len())
        .filter(|&node| sim.nodes()[node].is_attacker)
        .collect();
    let window = u64::try_from(publishing.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    let mut invalid: Vec<(Time, usize)> = Vec::new();
    for &attacker in &attackers {
        for _ in 0..scenario.attack.invalid_per_attacker {
            invalid.push((
                start.after(Duration::from_nanos(sim.rng().below(window))),
                attacker,
            ));
        }
    }
    invalid.sort();
    for (number, (at, _)) in invalid.iter().enumerate() {
        sim.wake_at(*at, INVALID_TAG + number as u64);
    }
    // Attackers' places in honest meshes, sampled every quarter heartbeat.
    let sample_every = heartbeat / 4;
    let sample_nanos = u64::try_from(sample_every.as_nanos()).unwrap_or(1).max(1);
    if !attackers.is_empty() {
        for k in 0..=(end.0 - start.0) / sample_nanos {
            sim.wake_at(
                start.after(sample_every.saturating_mul(k as u32)),
                SAMPLE_TAG + k,
            );
        }
    }

    let mut refused = 0usize;
    let mut mesh_size = None;
    let mut pruning = Pruning::new(sim.nodes().len());
    sim.wake_at(end, u64::MAX);
    while let Some(step) = sim.step() {
        let Some(tag) = step else { continue };
        match tag {
            u64::MAX => break,
            MEASURE_TAG => {
                sim.accounting_mut().start_measuring();
                mesh_size = Distribution::of(
                    sim.nodes()
                        .iter()
                        .filter(|node| !node.is_attacker)
                        .map(|node| node.router.mesh_peers(TOPIC).count() as f64),
                );
            }
            tag if tag >= INVALID_TAG => {
                let number = tag - INVALID_TAG;
                let attacker = invalid[number as usize].1;
                let header = Header {
                    number,
                    is_valid: false,
                };
                pruning.published(attacker, sim.now());
                // An attacker with no peer left to take it just fails to publish.
                let _ = sim.publish(attacker, header, messages.size);
            }
            tag if tag >= SAMPLE_TAG => {
                let links = sim.honest_mesh_links_to_attackers();
                pruning.sample(sim.now(), &links);
                let pairs = sim.honest_mesh_pairs_with_attackers();
                pruning.sample_pairs(sim.now(), &pairs, sim.accounting());
            }
            number => {
                let publisher = pick_honest(&mut sim);
                let now = sim.now();
                sim.accounting_mut()
                    .published(number, publisher as u32, now);
                let header = Header {
                    number,
                    is_valid: true,
                };
                if sim.publish(publisher, header, messages.size).is_err() {
                    refused += 1;
                }
                progress(number as usize + 1, messages.count);
            }
        }
    }

    let accounting = sim.accounting();
    let latencies_ms = accounting.latencies_ms();
    let attack = (!attackers.is_empty()).then(|| {
        let first = invalid.first().map_or(start, |(at, _)| *at);
        let last = invalid.last().map_or(start, |(at, _)| *at);
        pruning.summary(invalid.len(), (first, last), heartbeat, sim.accounting())
    });
    let summary = summarise(
        scenario,
        &sim,
        &latencies_ms,
        mesh_size,
        refused,
        attack,
        wall_start.elapsed(),
    );
    Ok(GossipRun {
        summary,
        latencies_ms,
    })
}

/// A random honest node (there is one unless every node attacks; then node 0).
fn pick_honest(sim: &mut GossipSimulation) -> usize {
    let count = sim.nodes().len() as u64;
    for _ in 0..1024 {
        let node = sim.rng().below(count.max(1)) as usize;
        if sim.nodes().get(node).is_some_and(|n| !n.is_attacker) {
            return node;
        }
    }
    0
}

/// When each attacker showed itself and when honest meshes last held it.
struct Pruning {
    /// Each node's first invalid publication.
    published: Vec<Option<Time>>,
    /// Each node's last sample in an honest mesh after it published.
    last_in_mesh: Vec<Option<Time>>,
    /// `(time, links)` per sample, all attackers together.
    links: Vec<(Time, usize)>,
    /// For each `(honest node, attacker)`, the last sample with the attacker in the honest
    /// node's mesh after it had sent that node an invalid message.
    pair_last_in_mesh: HashMap<(u32, u32), Time>,
}

impl Pruning {
    fn new(nodes: usize) -> Pruning {
        Pruning {
            published: vec![None; nodes],
            last_in_mesh: vec![None; nodes],
            links: Vec::new(),
            pair_last_in_mesh: HashMap::new(),
        }
    }

    /// `pairs`: the `(honest node, attacker)` mesh links at `at`.
    fn sample_pairs(&mut self, at: Time, pairs: &[(u32, u32)], accounting: &Accounting) {
        for &(node, attacker) in pairs {
            if accounting
                .offence(node, attacker)
                .is_some_and(|offence| offence <= at)
            {
                self.pair_last_in_mesh.insert((node, attacker), at);
            }
        }
    }

    fn published(&mut self, attacker: usize, at: Time) {
        self.published[attacker].get_or_insert(at);
    }

    /// `links[node]`: honest meshes holding `node` at `at`.
    fn sample(&mut self, at: Time, links: &[u32]) {
        for (node, count) in links.iter().enumerate() {
            if *count > 0 && self.published[node].is_some() {
                self.last_in_mesh[node] = Some(at);
            }
        }
        let total = links.iter().map(|count| *count as usize).sum();
        self.links.push((at, total));
    }

    fn summary(
        &self,
        invalid_published: usize,
        (first, last): (Time, Time),
        heartbeat: Duration,
        accounting: &Accounting,
    ) -> AttackSummary {
        let samples: Vec<Time> = self.links.iter().map(|(at, _)| *at).collect();
        let mut times = Vec::new();
        let mut never = 0usize;
        for (node, published) in self.published.iter().enumerate() {
            let Some(published) = published else { continue };
            let pruned = match self.last_in_mesh[node] {
                // Out of every honest mesh at the first sample after the last holding it.
                Some(held) => samples.iter().find(|at| **at > held).copied(),
                None => Some(*published),
            };
            match pruned {
                Some(at) => times.push((at.0.saturating_sub(published.0)) as f64 / 1e6),
                None => never += 1,
            }
        }
        let time_to_prune_ms = Distribution::of(times.iter().copied());
        // Per offended honest node: from the attacker's first invalid message to it until
        // it left that node's mesh for good (only links that held at an offence count).
        let mut pair_times = Vec::new();
        let mut pairs_never = 0usize;
        for (node, attacker, offence) in accounting.offences() {
            let Some(held) = self.pair_last_in_mesh.get(&(node, attacker)) else {
                continue;
            };
            match samples.iter().find(|at| *at > held) {
                Some(at) => pair_times.push(at.0.saturating_sub(offence.0) as f64 / 1e6),
                None => pairs_never += 1,
            }
        }
        let offended_prune_ms = Distribution::of(pair_times.iter().copied());
        let heartbeat_ms = heartbeat.as_secs_f64() * 1000.0;
        let seconds = |at: Time| at.as_millis_f64() / 1000.0;
        AttackSummary {
            invalid_published,
            attack_start_s: seconds(first),
            attack_end_s: seconds(last),
            mesh_links_at_start: self.links.first().map_or(0, |(_, links)| *links),
            attackers_pruned: times.len(),
            attackers_published: times.len() + never,
            heartbeats_to_prune: time_to_prune_ms
                .filter(|_| never == 0)
                .map(|ms| (ms.max / heartbeat_ms).ceil() as u64),
            time_to_prune_ms,
            offended_links: pair_times.len() + pairs_never,
            offended_links_kept: pairs_never,
            offended_heartbeats_to_prune: offended_prune_ms
                .filter(|_| pairs_never == 0)
                .map(|ms| (ms.max / heartbeat_ms).ceil() as u64),
            offended_prune_ms,
            mesh_links_over_time: self
                .links
                .iter()
                .map(|(at, links)| (seconds(*at), *links))
                .collect(),
        }
    }
}

fn summarise(
    scenario: &GossipScenario,
    sim: &GossipSimulation,
    latencies_ms: &[f64],
    mesh_size: Option<Distribution>,
    refused: usize,
    attack: Option<AttackSummary>,
    wall: Duration,
) -> GossipSummary {
    let accounting: &Accounting = sim.accounting();
    let totals = accounting.totals();
    let expected = accounting.expected_deliveries().max(1) as f64;
    let within = |ms: f64| latencies_ms.iter().filter(|l| **l <= ms).count() as f64 / expected;
    let receipts = (accounting.published_count() * accounting.honest_count()).max(1) as f64;
    let payload_bytes = totals.payload_bytes.max(1) as f64;
    GossipSummary {
        scenario: scenario.name.clone(),
        nodes: scenario.nodes,
        attackers: scenario.nodes - accounting.honest_count(),
        seed: scenario.seed,
        trace_hash: format!("{:016x}", sim.trace_hash()),
        virtual_time_s: sim.now().since_start().as_secs_f64(),
        rpcs: sim.rpcs(),
        wall_time_s: wall.as_secs_f64(),
        peak_memory_mib: peak_memory_kib().map(|kib| kib as f64 / 1024.0),
        mesh_size,
        messages: accounting.published_count(),
        refused,
        delivery_ratio: latencies_ms.len() as f64 / expected,
        delivered_within_1s: within(1000.0),
        delivered_within_4s: within(4000.0),
        latency_ms: Distribution::of(latencies_ms.iter().copied()),
        duplicates_per_message: totals.duplicate_copies as f64 / receipts,
        duplicate_byte_share: totals.duplicate_bytes as f64 / payload_bytes,
        control_byte_share: totals.control_bytes as f64 / payload_bytes,
        dropped_rpcs: sim.dropped_rpcs(),
        totals,
        attack,
        settings: scenario.clone(),
    }
}
