//! What a gossip run measured, as the JSON summary.

use serde::Serialize;

use super::metrics::Totals;
use super::scenario::GossipScenario;
use crate::report::Distribution;

/// The JSON summary of a gossip run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GossipSummary {
    /// The scenario's name.
    pub scenario: String,
    /// Nodes simulated.
    pub nodes: usize,
    /// Of which attackers.
    pub attackers: usize,
    /// The seed.
    pub seed: u64,
    /// The run's trace hash (hex): equal for equal runs.
    pub trace_hash: String,
    /// Virtual time at the end, s.
    pub virtual_time_s: f64,
    /// RPCs sent in the whole network, warm-up included.
    pub rpcs: u64,
    /// Wall time of the whole run, s.
    pub wall_time_s: f64,
    /// Peak resident memory (VmHWM), MiB; `None` where /proc is missing.
    pub peak_memory_mib: Option<f64>,
    /// Mesh sizes of honest nodes when publishing starts.
    pub mesh_size: Option<Distribution>,
    /// Valid messages published (attempted; a refused publication counts, undelivered).
    pub messages: usize,
    /// Valid messages the publisher's router refused (no peers, too large).
    pub refused: usize,
    /// Deliveries made over deliveries expected (each valid message at every honest node
    /// but its publisher).
    pub delivery_ratio: f64,
    /// Share of the expected deliveries made within 1 s of publication.
    pub delivered_within_1s: f64,
    /// Share made within 4 s (the Ethereum anchor: 98 %).
    pub delivered_within_4s: f64,
    /// Publication to first receipt, ms, over the deliveries made.
    pub latency_ms: Option<Distribution>,
    /// Duplicate copies an honest node received per valid message: all copies minus first
    /// receipts (a publisher's echoes count as duplicates), over messages × honest nodes.
    pub duplicates_per_message: f64,
    /// Duplicate bytes over all valid-message bytes honest nodes received.
    pub duplicate_byte_share: f64,
    /// Control (non-message) bytes over valid-message bytes received by honest nodes.
    pub control_byte_share: f64,
    /// RPCs dropped by routers because a peer's queue was full.
    pub dropped_rpcs: u64,
    /// The counters, from the first publication on.
    pub totals: Totals,
    /// What the attackers achieved; `None` without attackers.
    pub attack: Option<AttackSummary>,
    /// The scenario as run.
    pub settings: GossipScenario,
}

/// How the honest network dealt with the attackers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackSummary {
    /// Invalid messages the attackers published.
    pub invalid_published: usize,
    /// Virtual time of the first invalid publication, s.
    pub attack_start_s: f64,
    /// Virtual time of the last invalid publication, s.
    pub attack_end_s: f64,
    /// Mesh links from honest nodes to attackers when publishing began.
    pub mesh_links_at_start: usize,
    /// Attackers that published and were then out of every honest mesh for good by the end.
    pub attackers_pruned: usize,
    /// Attackers that published.
    pub attackers_published: usize,
    /// Per attacker, from its first invalid publication until no honest mesh held it (and
    /// none did again), ms: sampled every quarter heartbeat interval, so good to that. An
    /// honest node that got the message from someone else first (and so told the attacker
    /// IDONTWANT) has seen nothing wrong of it and may keep it.
    pub time_to_prune_ms: Option<Distribution>,
    /// The slowest of those in heartbeat intervals, rounded up; `None` if an attacker was
    /// never pruned.
    pub heartbeats_to_prune: Option<u64>,
    /// Honest mesh links to attackers in place when the attacker sent that honest node an
    /// invalid message (or formed after).
    pub offended_links: usize,
    /// Of those, links still in place at the end.
    pub offended_links_kept: usize,
    /// Per such link, from the attacker's first invalid message to that honest node until
    /// the node dropped it from its mesh for good, ms (quarter-heartbeat samples): how fast
    /// a node acts on what it saw.
    pub offended_prune_ms: Option<Distribution>,
    /// The slowest of those in heartbeat intervals, rounded up; `None` if a link was kept.
    pub offended_heartbeats_to_prune: Option<u64>,
    /// Mesh links from honest nodes to attackers over time: `(s, links)`, one sample every
    /// quarter heartbeat interval from the start of publishing.
    pub mesh_links_over_time: Vec<(f64, usize)>,
}
