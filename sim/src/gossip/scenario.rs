//! Gossipsub scenario files (`sim/scenarios/gossip-*.toml`): the network, who connects to
//! whom, the router's configuration, what is published, and who attacks.

use std::path::Path;
use std::time::Duration;

use hyphae_gossipsub::Config;
use serde::{Deserialize, Serialize};

use super::score::ScoringSettings;
use super::simulation::SendQueue;
use crate::network::NetworkConfig;

/// The `protocol` a scenario file names to be a gossipsub scenario (files without one are
/// Kademlia scenarios).
pub const PROTOCOL: &str = "gossipsub";

/// A gossipsub scenario, as a TOML file gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GossipScenario {
    /// Always [`PROTOCOL`]; what tells the command this is a gossipsub scenario.
    pub protocol: String,
    /// Its name, for reports.
    pub name: String,
    /// How many nodes (the command line may override it).
    pub nodes: usize,
    /// The seed (the command line may override it).
    pub seed: u64,
    /// Who connects to whom.
    pub topology: Topology,
    /// The routers' configuration.
    pub router: RouterSettings,
    /// What is published, and when.
    pub messages: Messages,
    /// Who publishes invalid messages (nobody by default).
    pub attack: Attack,
    /// Peer scoring of honest nodes (off by default).
    pub scoring: ScoringSettings,
    /// How nodes queue RPCs for their uplinks.
    pub send_queue: SendQueue,
    /// The network model. Its loss, NAT share, connection set-up and connection limit do
    /// not apply: pubsub streams run over reliable connections, all opened before the
    /// warm-up.
    pub network: NetworkConfig,
}

impl Default for GossipScenario {
    fn default() -> GossipScenario {
        GossipScenario {
            protocol: PROTOCOL.to_owned(),
            name: "gossip".to_owned(),
            nodes: 1000,
            seed: 1,
            topology: Topology::default(),
            router: RouterSettings::default(),
            messages: Messages::default(),
            attack: Attack::default(),
            scoring: ScoringSettings::default(),
            send_queue: SendQueue::default(),
            network: NetworkConfig::default(),
        }
    }
}

impl GossipScenario {
    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> anyhow::Result<GossipScenario> {
        let text = std::fs::read_to_string(path)?;
        Ok(toml::from_str(&text)?)
    }
}

/// Whether the TOML `text` is a gossipsub scenario (it says `protocol = "gossipsub"`).
pub fn is_gossip_scenario(text: &str) -> bool {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|table| table.get("protocol")?.as_str().map(|p| p == PROTOCOL))
        .unwrap_or(false)
}

/// The connections: each node dials a few random others, so a node holds its dials plus
/// about as many inbound connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Topology {
    /// Distinct random peers each node dials (outbound, for the mesh's `D_out`).
    pub dials_per_node: usize,
}

impl Default for Topology {
    fn default() -> Topology {
        // About 32 connections a node: inside the 20 to 50 of Ethereum's consensus clients.
        Topology { dials_per_node: 16 }
    }
}

/// The router settings a scenario may change; the rest are [`Config::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterSettings {
    /// `D`.
    pub mesh_n: usize,
    /// `D_lo`.
    pub mesh_n_low: usize,
    /// `D_hi`.
    pub mesh_n_high: usize,
    /// `D_lazy`.
    pub gossip_lazy: usize,
    /// Heartbeat interval, ms.
    pub heartbeat_ms: u64,
    /// IDONTWANT is sent for messages at least this long (bytes).
    pub idontwant_threshold: usize,
    /// Flood publishing (v1.1): a publisher sends to every subscribed peer, not its mesh.
    pub flood_publish: bool,
    /// Largest message published, encoded bytes. The router's default (64 KiB) is below
    /// the scenarios' 128 KiB messages, so the default here is Ethereum's 10 MiB.
    pub max_transmit_size: usize,
    /// Lazy push: a relayed message of IDONTWANT size goes in full to this many mesh peers
    /// and as an IHAVE to the others ([`Config::large_message_push_n`]). Absent: to all.
    pub large_message_push_n: Option<usize>,
}

impl Default for RouterSettings {
    fn default() -> RouterSettings {
        let config = Config::default();
        RouterSettings {
            mesh_n: config.mesh_n,
            mesh_n_low: config.mesh_n_low,
            mesh_n_high: config.mesh_n_high,
            gossip_lazy: config.gossip_lazy,
            heartbeat_ms: config.heartbeat_interval.as_millis() as u64,
            idontwant_threshold: config.idontwant_message_size_threshold,
            flood_publish: config.flood_publish,
            max_transmit_size: 10 << 20,
            large_message_push_n: config.large_message_push_n,
        }
    }
}

impl RouterSettings {
    /// The router's configuration.
    pub fn config(&self) -> Config {
        Config {
            mesh_n: self.mesh_n,
            mesh_n_low: self.mesh_n_low,
            mesh_n_high: self.mesh_n_high,
            gossip_lazy: self.gossip_lazy,
            heartbeat_interval: Duration::from_millis(self.heartbeat_ms),
            idontwant_message_size_threshold: self.idontwant_threshold,
            flood_publish: self.flood_publish,
            max_transmit_size: self.max_transmit_size,
            large_message_push_n: self.large_message_push_n,
            ..Config::default()
        }
    }
}

/// The valid messages: how many, how large, how far apart, each from a random honest node,
/// once the meshes have formed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Messages {
    /// How many valid messages.
    pub count: usize,
    /// Bytes of each message's data.
    pub size: usize,
    /// Time between two publications, ms.
    pub interval_ms: u64,
    /// Heartbeats every node runs before the first publication, for the meshes to form.
    pub warmup_heartbeats: u32,
    /// Virtual time after the last publication for stragglers (gossip, IWANT), ms.
    pub drain_ms: u64,
    /// How long an honest node's application takes to validate a message, ms. The router
    /// sends IDONTWANT on receipt and forwards after the verdict, as a node that checks a
    /// block's signatures and state does. 0: judged at once.
    pub validation_ms: u64,
}

impl Default for Messages {
    fn default() -> Messages {
        Messages {
            count: 50,
            size: 128 * 1024,
            interval_ms: 1000,
            warmup_heartbeats: 10,
            drain_ms: 10_000,
            validation_ms: 0,
        }
    }
}

/// Attackers: a share of the nodes that publish messages honest validators reject, and
/// accept and forward anything themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attack {
    /// Share of the nodes that attack.
    pub share: f64,
    /// Invalid messages each attacker publishes, at random times while the valid ones are
    /// published.
    pub invalid_per_attacker: usize,
}

impl Default for Attack {
    fn default() -> Attack {
        Attack {
            share: 0.0,
            invalid_per_attacker: 1,
        }
    }
}
