//! hyphae-sim: a deterministic discrete-event simulator that runs the same sans-IO protocol
//! cores a hyphae node runs (the Kademlia core, `hyphae_kad::Dht`, or the gossipsub
//! router, `hyphae_gossipsub::Router`) for thousands of
//! nodes on one machine, in virtual time, on a network model of eight regions
//! (libp2p/test-plans `gossipsub-interop/network_graph.py`) or a region table the scenario
//! gives (`[network.regions]`, as `sim/CALIBRATION.md` uses).
//!
//! - [`scheduler`]: the event queue in virtual time, ordered by `(time, sequence)`.
//! - [`network`]: latency between regions, bandwidth with queueing, loss, NAT, connections.
//! - [`simulation`]: the nodes and how messages, failures and timers reach their cores.
//! - [`churn`], [`adversary`]: nodes that come and go, and servers that misbehave.
//! - [`gossip`]: the gossipsub router (`hyphae_gossipsub::Router`) on every node instead.
//! - [`scenario`]: scenario files (`sim/scenarios/*.toml`) and running them.
//! - [`report`]: what a run measured, as a JSON summary.
//! - [`plot`]: figures of a run (latency CDFs, hop-rounds, success over time) as SVG and PNG.
//!
//! Every random choice follows from one seed, and no global state is used: the same seed and
//! scenario give the same event trace, bit for bit ([`simulation::Simulation::trace_hash`]).

#![forbid(unsafe_code)]

pub mod adversary;
pub mod churn;
pub mod gossip;
pub mod network;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod scheduler;
pub mod simulation;
pub mod trace;
