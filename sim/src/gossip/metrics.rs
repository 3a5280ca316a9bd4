//! What a gossip run counts: when each node first got each valid message, every copy and
//! its bytes, and the control traffic, from the first publication on.
//!
//! Copies and their bytes are counted where they arrive, at honest nodes (the ones whose
//! experience the targets are about); control messages where they leave, at every node.
//! Bytes are encoded RPCs with their length prefix, as they cross the wire.

use std::collections::HashMap;

use serde::Serialize;

use hyphae_gossipsub::Rpc;

use super::payload::Header;
use crate::scheduler::Time;

/// A valid message followed through the network.
#[derive(Debug, Clone)]
struct Tracked {
    publisher: u32,
    published: Time,
    /// Each node's first receipt (delivery to the application); `None` not yet.
    first: Vec<Option<Time>>,
    /// Copies each node received.
    copies: Vec<u16>,
}

/// Counters over the whole measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Copies of valid messages honest nodes received (first ones and duplicates).
    pub payload_copies: u64,
    /// Their bytes.
    pub payload_bytes: u64,
    /// Of those, copies of a message the node already had (or had published).
    pub duplicate_copies: u64,
    /// Their bytes.
    pub duplicate_bytes: u64,
    /// Copies of invalid messages honest nodes received.
    pub invalid_copies: u64,
    /// Their bytes.
    pub invalid_bytes: u64,
    /// RPCs without messages (subscriptions and control) sent by any node.
    pub control_rpcs: u64,
    /// Their bytes.
    pub control_bytes: u64,
    /// Message ids sent in IDONTWANT.
    pub idontwant_ids: u64,
    /// Message ids sent in IHAVE.
    pub ihave_ids: u64,
    /// Message ids sent in IWANT.
    pub iwant_ids: u64,
    /// GRAFTs sent.
    pub grafts: u64,
    /// PRUNEs sent.
    pub prunes: u64,
    /// Queued copies dropped, unsent, because their receiver said IDONTWANT.
    pub cancelled_copies: u64,
    /// Their bytes.
    pub cancelled_bytes: u64,
}

/// The counting of one run.
#[derive(Debug, Clone)]
pub struct Accounting {
    is_attacker: Vec<bool>,
    is_measuring: bool,
    valid: Vec<Tracked>,
    totals: Totals,
    /// When each honest node first received an invalid message from each peer, by
    /// `(honest node, peer)`.
    offences: HashMap<(u32, u32), Time>,
}

impl Accounting {
    /// Counting for nodes of which those marked in `is_attacker` attack.
    pub fn new(is_attacker: Vec<bool>) -> Accounting {
        Accounting {
            is_attacker,
            is_measuring: false,
            valid: Vec::new(),
            totals: Totals::default(),
            offences: HashMap::new(),
        }
    }

    /// Starts counting (the warm-up's subscriptions and grafts are left out).
    pub fn start_measuring(&mut self) {
        self.is_measuring = true;
    }

    /// Valid message `number` was published by `publisher` at `at`; numbers must come in
    /// order from 0.
    pub fn published(&mut self, number: u64, publisher: u32, at: Time) {
        debug_assert_eq!(number, self.valid.len() as u64);
        let nodes = self.is_attacker.len();
        self.valid.push(Tracked {
            publisher,
            published: at,
            first: vec![None; nodes],
            copies: vec![0; nodes],
        });
    }

    /// A node sent `rpc`, `bytes` long.
    pub fn sent(&mut self, rpc: &Rpc, bytes: usize) {
        if !self.is_measuring || !rpc.publish.is_empty() {
            return;
        }
        let totals = &mut self.totals;
        totals.control_rpcs += 1;
        totals.control_bytes += bytes as u64;
        if let Some(control) = &rpc.control {
            let ids = |lists: &mut dyn Iterator<Item = usize>| lists.sum::<usize>() as u64;
            totals.idontwant_ids += ids(&mut control.idontwant.iter().map(|c| c.message_ids.len()));
            totals.ihave_ids += ids(&mut control.ihave.iter().map(|c| c.message_ids.len()));
            totals.iwant_ids += ids(&mut control.iwant.iter().map(|c| c.message_ids.len()));
            totals.grafts += control.graft.len() as u64;
            totals.prunes += control.prune.len() as u64;
        }
    }

    /// `copies` queued copies, `bytes` in all, were dropped after an IDONTWANT.
    pub fn cancelled(&mut self, copies: u64, bytes: u64) {
        if self.is_measuring {
            self.totals.cancelled_copies += copies;
            self.totals.cancelled_bytes += bytes;
        }
    }

    /// `node` received `rpc`, `bytes` long, from `from` at `at` (before its router handles
    /// it).
    pub fn received(&mut self, from: u32, node: u32, rpc: &Rpc, bytes: usize, at: Time) {
        let index = node as usize;
        if rpc.publish.is_empty() || self.is_attacker[index] {
            return;
        }
        // The router sends one message an RPC; should one carry more, they share its bytes.
        let share = (bytes / rpc.publish.len()) as u64;
        for message in &rpc.publish {
            let Some(header) = Header::of(message) else {
                continue;
            };
            if !header.is_valid {
                self.offences.entry((node, from)).or_insert(at);
                self.totals.invalid_copies += 1;
                self.totals.invalid_bytes += share;
                continue;
            }
            let Some(tracked) = self.valid.get_mut(header.number as usize) else {
                continue;
            };
            tracked.copies[index] = tracked.copies[index].saturating_add(1);
            self.totals.payload_copies += 1;
            self.totals.payload_bytes += share;
            if tracked.copies[index] > 1 || tracked.publisher == node {
                self.totals.duplicate_copies += 1;
                self.totals.duplicate_bytes += share;
            }
        }
    }

    /// `node`'s router delivered valid message `number` to the application at `at`.
    pub fn delivered(&mut self, node: u32, number: u64, at: Time) {
        if let Some(tracked) = self.valid.get_mut(number as usize) {
            let first = &mut tracked.first[node as usize];
            if first.is_none() {
                *first = Some(at);
            }
        }
    }

    /// When honest node `node` first received an invalid message from `peer`, if it did.
    pub fn offence(&self, node: u32, peer: u32) -> Option<Time> {
        self.offences.get(&(node, peer)).copied()
    }

    /// Every `(honest node, peer, time)` of a first invalid message, in node order.
    pub fn offences(&self) -> Vec<(u32, u32, Time)> {
        let mut all: Vec<(u32, u32, Time)> = self
            .offences
            .iter()
            .map(|(&(node, peer), &at)| (node, peer, at))
            .collect();
        all.sort_unstable();
        all
    }

    /// The counters so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Valid messages published.
    pub fn published_count(&self) -> usize {
        self.valid.len()
    }

    /// Honest nodes.
    pub fn honest_count(&self) -> usize {
        self.is_attacker.iter().filter(|attacks| !**attacks).count()
    }

    /// Deliveries expected: each valid message at every honest node but its publisher.
    pub fn expected_deliveries(&self) -> usize {
        let honest = self.honest_count();
        self.valid
            .iter()
            .map(|tracked| honest - usize::from(!self.is_attacker[tracked.publisher as usize]))
            .sum()
    }

    /// The latency, publication to first receipt, of every delivery to an honest node but
    /// the publisher, in ms.
    pub fn latencies_ms(&self) -> Vec<f64> {
        let mut latencies = Vec::new();
        for tracked in &self.valid {
            for (node, first) in tracked.first.iter().enumerate() {
                let Some(at) = first else { continue };
                if self.is_attacker[node] || node == tracked.publisher as usize {
                    continue;
                }
                latencies.push((at.0 - tracked.published.0) as f64 / 1e6);
            }
        }
        latencies
    }
}
