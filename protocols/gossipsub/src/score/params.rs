//! What the score counts and how much each part weighs (gossipsub-v1.1.md, "Peer Scoring",
//! "The Score Function" and "Overview of New Parameters").
//!
//! Fields mean what go-libp2p-pubsub's `PeerScoreParams` and `TopicScoreParams` fields of the
//! same names mean, so that a network's tuned configuration ports field by field. Two
//! differences: the application-specific score (P₅) is set with
//! [`PeerScore::set_application_score`](crate::PeerScore::set_application_score) instead of
//! a callback, and the defaults are rust-libp2p's, a starting point rather than values tuned
//! for any network (go has none).

use std::collections::HashMap;
use std::time::Duration;

use super::error::{Checker, Constraint, ScoreParamsError};
use super::ip_network::IpNetwork;

/// Parameters of the whole score: the topics it counts and the parts that apply to a peer
/// as a whole (P₅, P₆, P₇), with decay and retention.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct PeerScoreParams {
    /// Per-topic parameters. Behaviour in a topic not listed here does not count.
    pub topics: HashMap<String, TopicScoreParams>,
    /// Most that all topics together add to a score (`TopicCap`); 0 for no cap. Caps only
    /// the positive side: penalties always count in full.
    pub topic_score_cap: f64,
    /// Weight of P₅, the application-specific score; positive (the score itself may be
    /// negative).
    pub app_specific_weight: f64,
    /// Weight of P₆, IP colocation; negative, or 0 to disable it.
    pub ip_colocation_factor_weight: f64,
    /// Peers that may share one IP before P₆ counts the surplus; at least 1.
    pub ip_colocation_factor_threshold: usize,
    /// Networks exempt from P₆.
    pub ip_colocation_factor_whitelist: Vec<IpNetwork>,
    /// Weight of P₇, the behaviour penalty; negative, or 0 to disable it.
    pub behaviour_penalty_weight: f64,
    /// Penalty counter below which P₇ is zero: above it, the square of the excess counts.
    pub behaviour_penalty_threshold: f64,
    /// Decay factor of the behaviour penalty counter, in (0, 1).
    pub behaviour_penalty_decay: f64,
    /// Time between decays of every counter; at least one second.
    pub decay_interval: Duration,
    /// A decayed counter below this counts as zero; in (0, 1), close to 0.
    pub decay_to_zero: f64,
    /// How long a disconnected peer's score is remembered, so that reconnecting does not
    /// clear a penalty.
    pub retain_score: Duration,
    /// How long a message's delivery record is kept, to credit or blame peers that forward
    /// it late (go's `SeenMsgTTL`); the seen cache's time by default.
    pub seen_msg_ttl: Duration,
}

impl Default for PeerScoreParams {
    fn default() -> PeerScoreParams {
        PeerScoreParams {
            topics: HashMap::new(),
            topic_score_cap: 3600.0,
            app_specific_weight: 10.0,
            ip_colocation_factor_weight: -5.0,
            ip_colocation_factor_threshold: 10,
            ip_colocation_factor_whitelist: Vec::new(),
            behaviour_penalty_weight: -10.0,
            behaviour_penalty_threshold: 0.0,
            behaviour_penalty_decay: 0.2,
            decay_interval: Duration::from_secs(1),
            decay_to_zero: 0.1,
            retain_score: Duration::from_secs(3600),
            seen_msg_ttl: crate::params::SEEN_TTL,
        }
    }
}

impl PeerScoreParams {
    /// Refuses parameters that would invert the score's meaning or break its arithmetic:
    /// rewards weighted negatively, penalties positively, decay factors outside (0, 1),
    /// non-finite numbers, and every topic's own [`TopicScoreParams::validate`].
    pub fn validate(&self) -> Result<(), ScoreParamsError> {
        let mut topics: Vec<_> = self.topics.iter().collect();
        topics.sort_by(|a, b| a.0.cmp(b.0));
        for (topic, params) in topics {
            params.validate_for(Some(topic))?;
        }
        let check = Checker { topic: None };
        check.number(
            "topic_score_cap",
            self.topic_score_cap,
            Constraint::NonNegative,
        )?;
        check.number(
            "app_specific_weight",
            self.app_specific_weight,
            Constraint::NonNegative,
        )?;
        check.number(
            "ip_colocation_factor_weight",
            self.ip_colocation_factor_weight,
            Constraint::NonPositive,
        )?;
        if self.ip_colocation_factor_weight != 0.0 {
            let threshold = self.ip_colocation_factor_threshold as f64;
            check.number(
                "ip_colocation_factor_threshold",
                threshold,
                Constraint::AtLeastOne,
            )?;
        }
        check.number(
            "behaviour_penalty_weight",
            self.behaviour_penalty_weight,
            Constraint::NonPositive,
        )?;
        check.number(
            "behaviour_penalty_threshold",
            self.behaviour_penalty_threshold,
            Constraint::NonNegative,
        )?;
        if self.behaviour_penalty_weight != 0.0 {
            check.number(
                "behaviour_penalty_decay",
                self.behaviour_penalty_decay,
                Constraint::DecayFactor,
            )?;
        }
        check.require(
            self.decay_interval >= Duration::from_secs(1),
            "decay_interval",
            self.decay_interval.as_secs_f64(),
            Constraint::AtLeastOneSecond,
        )?;
        check.number("decay_to_zero", self.decay_to_zero, Constraint::DecayFactor)
    }
}

/// Parameters of one topic's part of the score (P₁ to P₄).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct TopicScoreParams {
    /// How much this topic's part counts in the score; positive or zero.
    pub topic_weight: f64,

    /// Weight of P₁, time in mesh; a small positive value.
    pub time_in_mesh_weight: f64,
    /// Time in the mesh that earns one point of P₁.
    pub time_in_mesh_quantum: Duration,
    /// Most points P₁ reaches.
    pub time_in_mesh_cap: f64,

    /// Weight of P₂, first message deliveries; positive, to reward fast peers.
    pub first_message_deliveries_weight: f64,
    /// Decay factor of the first deliveries counter.
    pub first_message_deliveries_decay: f64,
    /// Most the first deliveries counter reaches.
    pub first_message_deliveries_cap: f64,

    /// Weight of P₃, the mesh delivery deficit; negative, to penalise mesh peers that
    /// deliver too little.
    pub mesh_message_deliveries_weight: f64,
    /// Decay factor of the mesh deliveries counter.
    pub mesh_message_deliveries_decay: f64,
    /// Most the mesh deliveries counter reaches; at least the threshold.
    pub mesh_message_deliveries_cap: f64,
    /// Mesh deliveries below which the deficit's square counts.
    pub mesh_message_deliveries_threshold: f64,
    /// Time after a message's first delivery during which a copy from a mesh peer still
    /// counts as delivered by it (a "near-first" delivery); small, a few milliseconds.
    pub mesh_message_deliveries_window: Duration,
    /// Time a peer spends in the mesh before P₃ applies to it.
    pub mesh_message_deliveries_activation: Duration,

    /// Weight of P₃b, the sticky penalty for being pruned with a deficit; negative.
    pub mesh_failure_penalty_weight: f64,
    /// Decay factor of the mesh failure penalty.
    pub mesh_failure_penalty_decay: f64,

    /// Weight of P₄, invalid messages; negative.
    pub invalid_message_deliveries_weight: f64,
    /// Decay factor of the invalid messages counter.
    pub invalid_message_deliveries_decay: f64,
}

impl Default for TopicScoreParams {
    fn default() -> TopicScoreParams {
        TopicScoreParams {
            topic_weight: 0.5,
            time_in_mesh_weight: 1.0,
            time_in_mesh_quantum: Duration::from_millis(1),
            time_in_mesh_cap: 3600.0,
            first_message_deliveries_weight: 1.0,
            first_message_deliveries_decay: 0.5,
            first_message_deliveries_cap: 2000.0,
            mesh_message_deliveries_weight: -1.0,
            mesh_message_deliveries_decay: 0.5,
            mesh_message_deliveries_cap: 100.0,
            mesh_message_deliveries_threshold: 20.0,
            mesh_message_deliveries_window: Duration::from_millis(10),
            mesh_message_deliveries_activation: Duration::from_secs(5),
            mesh_failure_penalty_weight: -1.0,
            mesh_failure_penalty_decay: 0.5,
            invalid_message_deliveries_weight: -1.0,
            invalid_message_deliveries_decay: 0.3,
        }
    }
}

impl TopicScoreParams {
    /// Refuses parameters the way go-libp2p-pubsub does: P₁ and P₂ weights positive or
    /// zero, P₃, P₃b and P₄ weights negative or zero, and, for each part with a weight,
    /// decay factors in (0, 1) (P₄'s always), positive caps and thresholds, and a P₃
    /// activation of at least one second. Beyond go, numbers must be finite and the P₃ cap at least its
    /// threshold, which the spec's table requires.
    pub fn validate(&self) -> Result<(), ScoreParamsError> {
        self.validate_for(None)
    }

    pub(crate) fn validate_for(&self, topic: Option<&str>) -> Result<(), ScoreParamsError> {
        let check = Checker { topic };
        check.number("topic_weight", self.topic_weight, Constraint::NonNegative)?;

        // P₁
        check.number(
            "time_in_mesh_weight",
            self.time_in_mesh_weight,
            Constraint::NonNegative,
        )?;
        check.require(
            !self.time_in_mesh_quantum.is_zero(),
            "time_in_mesh_quantum",
            0.0,
            Constraint::NonZeroDuration,
        )?;
        if self.time_in_mesh_weight != 0.0 {
            check.number(
                "time_in_mesh_cap",
                self.time_in_mesh_cap,
                Constraint::Positive,
            )?;
        }

        // P₂
        check.number(
            "first_message_deliveries_weight",
            self.first_message_deliveries_weight,
            Constraint::NonNegative,
        )?;
        if self.first_message_deliveries_weight != 0.0 {
            check.number(
                "first_message_deliveries_decay",
                self.first_message_deliveries_decay,
                Constraint::DecayFactor,
            )?;
            check.number(
                "first_message_deliveries_cap",
                self.first_message_deliveries_cap,
                Constraint::Positive,
            )?;
        }

        // P₃
        check.number(
            "mesh_message_deliveries_weight",
            self.mesh_message_deliveries_weight,
            Constraint::NonPositive,
        )?;
        if self.mesh_message_deliveries_weight != 0.0 {
            check.number(
                "mesh_message_deliveries_decay",
                self.mesh_message_deliveries_decay,
                Constraint::DecayFactor,
            )?;
            check.number(
                "mesh_message_deliveries_cap",
                self.mesh_message_deliveries_cap,
                Constraint::Positive,
            )?;
            check.number(
                "mesh_message_deliveries_threshold",
                self.mesh_message_deliveries_threshold,
                Constraint::Positive,
            )?;
            check.require(
                self.mesh_message_deliveries_cap >= self.mesh_message_deliveries_threshold,
                "mesh_message_deliveries_cap",
                self.mesh_message_deliveries_cap,
                Constraint::AtLeastMeshDeliveriesThreshold,
            )?;
            check.require(
                self.mesh_message_deliveries_activation >= Duration::from_secs(1),
                "mesh_message_deliveries_activation",
                self.mesh_message_deliveries_activation.as_secs_f64(),
                Constraint::AtLeastOneSecond,
            )?;
        }

        // P₃b
        check.number(
            "mesh_failure_penalty_weight",
            self.mesh_failure_penalty_weight,
            Constraint::NonPositive,
        )?;
        if self.mesh_failure_penalty_weight != 0.0 {
            check.number(
                "mesh_failure_penalty_decay",
                self.mesh_failure_penalty_decay,
                Constraint::DecayFactor,
            )?;
        }

        // P₄
        check.number(
            "invalid_message_deliveries_weight",
            self.invalid_message_deliveries_weight,
            Constraint::NonPositive,
        )?;
        // go checks this decay even when P₄ has no weight.
        check.number(
            "invalid_message_deliveries_decay",
            self.invalid_message_deliveries_decay,
            Constraint::DecayFactor,
        )
    }
}

/// The decay factor that takes a counter from 1 to `decay_to_zero` in `lifetime`, decaying
/// once every `decay_interval`: how go-libp2p-pubsub's `ScoreParameterDecayWithBase` turns
/// "forget this within an hour" into the `*_decay` parameters.
///
/// ```
/// use std::time::Duration;
/// use hyphae_gossipsub::decay_factor;
///
/// let factor = decay_factor(Duration::from_secs(10), Duration::from_secs(1), 0.01);
/// assert!((factor.powi(10) - 0.01).abs() < 1e-12);
/// ```
pub fn decay_factor(lifetime: Duration, decay_interval: Duration, decay_to_zero: f64) -> f64 {
    // Whole intervals, as go counts them; a lifetime under one interval decays at once.
    let intervals = (lifetime.as_nanos() / decay_interval.as_nanos().max(1)) as f64;
    decay_to_zero.powf(1.0 / intervals)
}
