//! Gossipsub in the simulator: the real sans-IO router (`hyphae_gossipsub::Router`) on
//! every node, its RPCs carried by the network model with their encoded sizes.
//!
//! - [`scenario`]: gossip scenario files (`protocol = "gossipsub"`).
//! - [`simulation`]: the nodes, their connections and how RPCs reach them.
//! - [`payload`]: what messages carry (validity, ids) and the honest validator.
//! - [`score`]: peer scoring wired into the routers.
//! - [`metrics`]: first receipts, copies, duplicate and control bytes.
//! - [`run`]: a scenario's timeline and its summary ([`report`]).

pub mod metrics;
pub mod payload;
pub mod report;
pub mod run;
pub mod scenario;
pub mod score;
pub mod simulation;

pub use report::{AttackSummary, GossipSummary};
pub use run::{GossipRun, run};
pub use scenario::{GossipScenario, is_gossip_scenario};
pub use simulation::{GossipConfig, GossipSimulation, SendQueue, SetupError, TOPIC};
