//! The counters kept for one peer, their decay, and the score they add up to
//! (gossipsub-v1.1.md, "The Score Function" and "Topic Parameter Calculation and Decay").

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::params::{PeerScoreParams, TopicScoreParams};

/// What we know of one peer: per-topic counters, its IPs and its penalties.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerStats {
    /// Whether the peer is connected; if not, its stats are retained until `expires`.
    pub(crate) is_connected: bool,
    /// When a disconnected peer's stats are forgotten.
    pub(crate) expires: Option<Instant>,
    /// Counters per configured topic only, so at most one entry per topic in the params;
    /// ordered, so that the score sums in the same order on every run.
    pub(crate) topics: BTreeMap<String, TopicStats>,
    /// The IPs of the peer's connections, for P₆.
    pub(crate) ips: Vec<IpAddr>,
    /// The behaviour penalty counter (P₇).
    pub(crate) behaviour_penalty: f64,
    /// The application-specific score (P₅).
    pub(crate) application_score: f64,
}

/// One peer's counters in one topic.
#[derive(Debug, Clone, Default)]
pub(crate) struct TopicStats {
    /// When the peer was grafted, while it is in our mesh.
    pub(crate) grafted_at: Option<Instant>,
    /// Time in the mesh, updated lazily at each refresh (P₁).
    pub(crate) mesh_time: Duration,
    /// P₂'s counter.
    pub(crate) first_message_deliveries: f64,
    /// P₃'s counter.
    pub(crate) mesh_message_deliveries: f64,
    /// Whether the peer has been in the mesh past the activation time, so that P₃ applies.
    pub(crate) is_mesh_delivery_active: bool,
    /// P₃b's counter.
    pub(crate) mesh_failure_penalty: f64,
    /// P₄'s counter.
    pub(crate) invalid_message_deliveries: f64,
}

impl TopicStats {
    pub(crate) fn is_in_mesh(&self) -> bool {
        self.grafted_at.is_some()
    }

    /// The mesh delivery deficit, if P₃ applies and the peer delivers below the threshold.
    pub(crate) fn mesh_delivery_deficit(&self, params: &TopicScoreParams) -> f64 {
        let threshold = params.mesh_message_deliveries_threshold;
        if self.is_mesh_delivery_active && self.mesh_message_deliveries < threshold {
            threshold - self.mesh_message_deliveries
        } else {
            0.0
        }
    }

    /// Leaves the mesh; a deficit at that moment becomes the sticky P₃b penalty.
    pub(crate) fn leave_mesh(&mut self, params: &TopicScoreParams) {
        let deficit = self.mesh_delivery_deficit(params);
        self.mesh_failure_penalty += deficit * deficit;
        self.grafted_at = None;
        self.is_mesh_delivery_active = false;
    }

    /// Credits a first delivery (P₂), which is also a mesh delivery if in the mesh (P₃).
    pub(crate) fn add_first_delivery(&mut self, params: &TopicScoreParams) {
        self.first_message_deliveries =
            (self.first_message_deliveries + 1.0).min(params.first_message_deliveries_cap);
        self.add_mesh_delivery(params);
    }

    /// Credits a first or near-first delivery to a mesh peer (P₃); nothing outside the mesh.
    pub(crate) fn add_mesh_delivery(&mut self, params: &TopicScoreParams) {
        if self.is_in_mesh() {
            self.mesh_message_deliveries =
                (self.mesh_message_deliveries + 1.0).min(params.mesh_message_deliveries_cap);
        }
    }

    /// Multiplies every counter by its decay factor `intervals` times and updates the time
    /// in mesh to `now`.
    fn refresh(
        &mut self,
        params: &TopicScoreParams,
        intervals: i32,
        decay_to_zero: f64,
        now: Instant,
    ) {
        let decay = |value: f64, factor: f64| {
            let decayed = value * factor.powi(intervals);
            if decayed.abs() < decay_to_zero {
                0.0
            } else {
                decayed
            }
        };
        self.first_message_deliveries = decay(
            self.first_message_deliveries,
            params.first_message_deliveries_decay,
        );
        self.mesh_message_deliveries = decay(
            self.mesh_message_deliveries,
            params.mesh_message_deliveries_decay,
        );
        self.mesh_failure_penalty =
            decay(self.mesh_failure_penalty, params.mesh_failure_penalty_decay);
        self.invalid_message_deliveries = decay(
            self.invalid_message_deliveries,
            params.invalid_message_deliveries_decay,
        );
        if let Some(grafted_at) = self.grafted_at {
            self.mesh_time = now.saturating_duration_since(grafted_at);
            if self.mesh_time > params.mesh_message_deliveries_activation {
                self.is_mesh_delivery_active = true;
            }
        }
    }

    /// This topic's part of the score, before the topic weight: w₁P₁ + w₂P₂ + w₃P₃ + w₃bP₃b
    /// + w₄P₄.
    fn score(&self, params: &TopicScoreParams) -> f64 {
        let mut score = 0.0;
        if self.is_in_mesh() {
            let quanta = self.mesh_time.as_secs_f64() / params.time_in_mesh_quantum.as_secs_f64();
            let p1 = quanta.floor().min(params.time_in_mesh_cap);
            score += weighted(p1, params.time_in_mesh_weight);
        }
        score += weighted(
            self.first_message_deliveries,
            params.first_message_deliveries_weight,
        );
        let deficit = self.mesh_delivery_deficit(params);
        score += weighted(deficit * deficit, params.mesh_message_deliveries_weight);
        score += weighted(
            self.mesh_failure_penalty,
            params.mesh_failure_penalty_weight,
        );
        let invalid = self.invalid_message_deliveries;
        score += weighted(invalid * invalid, params.invalid_message_deliveries_weight);
        score
    }
}

impl PeerStats {
    /// Decays every counter `intervals` times and updates mesh times to `now`.
    pub(crate) fn refresh(&mut self, params: &PeerScoreParams, intervals: i32, now: Instant) {
        for (topic, stats) in &mut self.topics {
            if let Some(topic_params) = params.topics.get(topic) {
                stats.refresh(topic_params, intervals, params.decay_to_zero, now);
            }
        }
        let decayed = self.behaviour_penalty * params.behaviour_penalty_decay.powi(intervals);
        self.behaviour_penalty = if decayed < params.decay_to_zero {
            0.0
        } else {
            decayed
        };
    }

    /// The score, but for P₆, which depends on other peers:
    /// TopicCap(Σ tᵢ·topicᵢ) + w₅P₅ + w₇P₇.
    pub(crate) fn score_without_colocation(&self, params: &PeerScoreParams) -> f64 {
        let mut topics_score = 0.0;
        for (topic, stats) in &self.topics {
            if let Some(topic_params) = params.topics.get(topic) {
                topics_score += weighted(stats.score(topic_params), topic_params.topic_weight);
            }
        }
        if params.topic_score_cap > 0.0 {
            topics_score = topics_score.min(params.topic_score_cap);
        }
        let mut score = topics_score;
        score += weighted(self.application_score, params.app_specific_weight);
        if self.behaviour_penalty > params.behaviour_penalty_threshold {
            let excess = self.behaviour_penalty - params.behaviour_penalty_threshold;
            score += weighted(excess * excess, params.behaviour_penalty_weight);
        }
        score
    }
}

/// `value * weight`, but 0 for a part switched off with a zero weight whatever its value:
/// validation, like go's, does not check the decay of a part without weight, so its counter
/// may have grown to infinity, and infinity times zero is NaN.
fn weighted(value: f64, weight: f64) -> f64 {
    if weight == 0.0 { 0.0 } else { value * weight }
}
