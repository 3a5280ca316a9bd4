//! Peer scoring for simulated routers: [`PeerScore`] behind the router's [`ScoreSource`]
//! hooks, and the scenario's scoring parameters.
//!
//! The router reports events through [`ScoreSource`]; [`PeerScore`] keeps the counters.
//! `PeerScore` is itself a `ScoreSource` now; this wrapper keeps the hooks the simulated
//! figures in sim/RESULTS.md were measured with (no `validating` hook: validation takes no
//! time here).

use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    MessageId, PeerScore, PeerScoreParams, RejectReason, ScoreParamsError, ScoreSource,
    TopicScoreParams,
};
use serde::{Deserialize, Serialize};

/// A router's scorer: [`PeerScore`] fed by the router's hooks.
#[derive(Debug)]
pub struct Scorer(PeerScore<u32>);

impl Scorer {
    /// A scorer with `params`, its first decay one interval after `now`.
    pub fn new(params: PeerScoreParams, now: Instant) -> Result<Scorer, ScoreParamsError> {
        PeerScore::new(params, now).map(Scorer)
    }
}

impl ScoreSource<u32> for Scorer {
    fn score(&self, peer: &u32) -> f64 {
        self.0.score(peer)
    }

    fn peer_connected(&mut self, peer: &u32) {
        self.0.add_peer(*peer);
    }

    fn peer_disconnected(&mut self, peer: &u32, now: Instant) {
        self.0.remove_peer(now, peer);
    }

    fn graft(&mut self, peer: &u32, topic: &str, now: Instant) {
        self.0.graft(now, peer, topic);
    }

    fn prune(&mut self, peer: &u32, topic: &str, _now: Instant) {
        self.0.prune(peer, topic);
    }

    fn deliver(&mut self, peer: &u32, id: &MessageId, topic: &str, now: Instant) {
        self.0.deliver_message(now, peer, id, topic);
    }

    fn duplicate(&mut self, peer: &u32, id: &MessageId, topic: &str, now: Instant) {
        self.0.duplicate_message(now, peer, id, topic);
    }

    fn reject(
        &mut self,
        peer: &u32,
        id: &MessageId,
        topic: &str,
        reason: RejectReason,
        now: Instant,
    ) {
        self.0.reject_message(now, peer, id, topic, reason);
    }

    fn broken_promises(&mut self, peer: &u32, count: usize) {
        self.0.add_penalty(peer, saturating_u32(count));
    }

    fn behaviour_penalty(&mut self, peer: &u32, count: usize) {
        self.0.add_penalty(peer, saturating_u32(count));
    }

    fn heartbeat(&mut self, now: Instant) {
        self.0.refresh_scores(now);
    }
}

fn saturating_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The scoring a scenario turns on: a few weights, the rest fixed below.
///
/// Only what the invalid-message scenario needs is exposed: P₄ (invalid messages) strong
/// enough that a few rejected messages take a peer below the graylist threshold, small
/// rewards for time in mesh (P₁) and first deliveries (P₂), and no mesh delivery deficit
/// (P₃, P₃b): with a message a second and random publishers its threshold would be a guess,
/// and a wrong guess prunes honest peers, which is not what this scenario measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringSettings {
    /// Whether honest nodes score their peers at all.
    pub enabled: bool,
    /// Weight of P₄, invalid message deliveries (counted squared); negative.
    pub invalid_weight: f64,
    /// Decay factor of P₄'s counter per decay interval (1 s).
    pub invalid_decay: f64,
    /// Weight of P₂, first message deliveries.
    pub first_delivery_weight: f64,
    /// Most P₂ counts.
    pub first_delivery_cap: f64,
    /// Weight of P₁ per second in the mesh.
    pub time_in_mesh_weight: f64,
    /// Most seconds of P₁ counted.
    pub time_in_mesh_cap: f64,
    /// Weight of P₇, the behaviour penalty (broken IWANT promises, GRAFTs during
    /// backoff), counted squared above the threshold; negative.
    pub behaviour_penalty_weight: f64,
    /// Penalties forgiven before P₇ counts (Ethereum's 6: a slow honest peer may break a
    /// few promises).
    pub behaviour_penalty_threshold: f64,
}

impl Default for ScoringSettings {
    fn default() -> ScoringSettings {
        ScoringSettings {
            enabled: false,
            invalid_weight: -20.0,
            invalid_decay: 0.9,
            first_delivery_weight: 1.0,
            first_delivery_cap: 10.0,
            time_in_mesh_weight: 0.01,
            time_in_mesh_cap: 100.0,
            behaviour_penalty_weight: -10.0,
            behaviour_penalty_threshold: 6.0,
        }
    }
}

impl ScoringSettings {
    /// The scorer's parameters for `topic`.
    pub fn params(&self, topic: &str) -> PeerScoreParams {
        let topic_params = TopicScoreParams {
            topic_weight: 1.0,
            time_in_mesh_weight: self.time_in_mesh_weight,
            time_in_mesh_quantum: Duration::from_secs(1),
            time_in_mesh_cap: self.time_in_mesh_cap,
            first_message_deliveries_weight: self.first_delivery_weight,
            first_message_deliveries_decay: 0.9,
            first_message_deliveries_cap: self.first_delivery_cap,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: self.invalid_weight,
            invalid_message_deliveries_decay: self.invalid_decay,
            ..TopicScoreParams::default()
        };
        let mut params = PeerScoreParams {
            // Simulated peers have no IPs: colocation (P₆) cannot apply.
            ip_colocation_factor_weight: 0.0,
            behaviour_penalty_weight: self.behaviour_penalty_weight,
            behaviour_penalty_threshold: self.behaviour_penalty_threshold,
            behaviour_penalty_decay: 0.9,
            ..PeerScoreParams::default()
        };
        params.topics.insert(topic.to_owned(), topic_params);
        params
    }
}
