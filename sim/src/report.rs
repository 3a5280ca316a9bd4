//! What a run measured: one record per operation, and the JSON summary made of them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::scenario::Scenario;
use crate::scheduler::Time;

/// One operation as measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationRecord {
    /// Its kind (`find_node`, `get_providers`, `provide`, `get`, `put`).
    pub kind: &'static str,
    /// Whether it achieved its aim (closest peers found, a provider or record found, a
    /// provider entry or record stored).
    pub is_success: bool,
    /// When it started, virtual ms since the simulation's time zero (to plot it over time).
    pub started_ms: f64,
    /// Virtual time from start to end, ms.
    pub latency_ms: f64,
    /// Hop-rounds of its lookup (see `LookupStats::hops`).
    pub hops: u32,
    /// Requests its lookup sent.
    pub lookup_requests: u64,
    /// Messages the querying node sent as requests and received as answers while it ran
    /// (its stores and any identify checks included; other concurrent work of the same node
    /// too, which is rare with random nodes).
    pub messages: u64,
    /// Their encoded sizes.
    pub bytes: u64,
    /// FIND_NODE: the share found of the honest servers among the k closest online.
    pub closest_fraction: Option<f64>,
    /// provide and put: the share of those honest closest servers that hold the entry after.
    pub stored_at_closest: Option<f64>,
}

impl OperationRecord {
    /// An operation the core refused to start at `at` (too many queries).
    pub fn refused(kind: &'static str, at: Time) -> OperationRecord {
        OperationRecord {
            kind,
            is_success: false,
            started_ms: at.as_millis_f64(),
            latency_ms: 0.0,
            hops: 0,
            lookup_requests: 0,
            messages: 0,
            bytes: 0,
            closest_fraction: None,
            stored_at_closest: None,
        }
    }
}

/// Percentiles of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Distribution {
    /// Sample size.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Distribution {
    /// The distribution of `values` (nearest-rank percentiles); `None` if empty.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Distribution> {
        let mut values: Vec<f64> = values.into_iter().collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
            values[index]
        };
        Some(Distribution {
            count: values.len(),
            mean: values.iter().sum::<f64>() / values.len() as f64,
            min: values[0],
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: values[values.len() - 1],
        })
    }
}

/// The figures of one kind of operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindSummary {
    /// Operations run.
    pub count: usize,
    /// Share that succeeded.
    pub success_rate: f64,
    /// Latency of the successful ones, virtual ms.
    pub latency_ms: Option<Distribution>,
    /// Hop-rounds.
    pub hops: Option<Distribution>,
    /// Lookup requests.
    pub lookup_requests: Option<Distribution>,
    /// Messages of the querying node per operation.
    pub messages: Option<Distribution>,
    /// Bytes of the querying node per operation.
    pub bytes: Option<Distribution>,
    /// FIND_NODE: share of the true k closest found.
    pub closest_fraction: Option<Distribution>,
    /// provide, put: share of the true k closest holding the entry.
    pub stored_at_closest: Option<Distribution>,
}

/// The JSON summary of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// Nodes simulated.
    pub nodes: usize,
    /// The seed.
    pub seed: u64,
    /// The run's trace hash (hex): equal for equal runs.
    pub trace_hash: String,
    /// Virtual time at the end, s.
    pub virtual_time_s: f64,
    /// Messages sent in the whole network.
    pub messages: u64,
    /// Operations whose node left before they ended (not counted in any kind's figures).
    pub abandoned: usize,
    /// Wall time to build the network and seed the tables, s.
    pub setup_wall_s: f64,
    /// Wall time of the whole run, s.
    pub wall_time_s: f64,
    /// Peak resident memory (VmHWM), MiB; `None` where /proc is missing.
    pub peak_memory_mib: Option<f64>,
    /// The figures per kind of operation.
    pub operations: BTreeMap<&'static str, KindSummary>,
    /// The scenario as run.
    pub settings: Scenario,
}

/// What a run as a whole did, besides its operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunTotals {
    /// The trace hash.
    pub trace_hash: u64,
    /// Virtual time at the end.
    pub end: Time,
    /// Messages sent in the whole network.
    pub messages: u64,
    /// Operations whose node left before they ended.
    pub abandoned: usize,
    /// Wall time to build the network and seed the tables.
    pub setup_wall: Duration,
    /// Wall time of the whole run.
    pub wall: Duration,
}

impl Summary {
    /// Summarises `records`.
    pub fn new(scenario: &Scenario, records: &[OperationRecord], totals: RunTotals) -> Summary {
        let mut operations = BTreeMap::new();
        for kind in ["find_node", "get_providers", "provide", "get", "put"] {
            let of_kind: Vec<&OperationRecord> =
                records.iter().filter(|r| r.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let ok: Vec<&&OperationRecord> = of_kind.iter().filter(|r| r.is_success).collect();
            let summary = KindSummary {
                count: of_kind.len(),
                success_rate: ok.len() as f64 / of_kind.len() as f64,
                latency_ms: Distribution::of(ok.iter().map(|r| r.latency_ms)),
                hops: Distribution::of(ok.iter().map(|r| f64::from(r.hops))),
                lookup_requests: Distribution::of(of_kind.iter().map(|r| r.lookup_requests as f64)),
                messages: Distribution::of(of_kind.iter().map(|r| r.messages as f64)),
                bytes: Distribution::of(of_kind.iter().map(|r| r.bytes as f64)),
                closest_fraction: Distribution::of(
                    of_kind.iter().filter_map(|r| r.closest_fraction),
                ),
                stored_at_closest: Distribution::of(
                    of_kind.iter().filter_map(|r| r.stored_at_closest),
                ),
            };
            operations.insert(kind, summary);
        }
        Summary {
            scenario: scenario.name.clone(),
            nodes: scenario.nodes,
            seed: scenario.seed,
            trace_hash: format!("{:016x}", totals.trace_hash),
            virtual_time_s: totals.end.since_start().as_secs_f64(),
            messages: totals.messages,
            abandoned: totals.abandoned,
            setup_wall_s: totals.setup_wall.as_secs_f64(),
            wall_time_s: totals.wall.as_secs_f64(),
            peak_memory_mib: peak_memory_kib().map(|kib| kib as f64 / 1024.0),
            operations,
            settings: scenario.clone(),
        }
    }
}

/// The process's peak resident set (VmHWM in /proc/self/status), KiB.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
