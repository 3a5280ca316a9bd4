//! Why scoring parameters were refused.

use std::fmt;

/// A scoring parameter that breaks one of its constraints (gossipsub-v1.1.md, "Overview of
/// New Parameters"), found by [`PeerScoreParams::validate`] or
/// [`PeerScoreThresholds::validate`].
///
/// [`PeerScoreParams::validate`]: crate::PeerScoreParams::validate
/// [`PeerScoreThresholds::validate`]: crate::PeerScoreThresholds::validate
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{param} = {value} is refused: {constraint}", topic_prefix(.topic))]
pub struct ScoreParamsError {
    /// The topic whose parameters are wrong, or `None` for a global parameter.
    pub topic: Option<String>,
    /// The parameter, by its field name (go-libp2p-pubsub's, in snake case).
    pub param: &'static str,
    /// Its value; durations in seconds.
    pub value: f64,
    /// The constraint it breaks.
    pub constraint: Constraint,
}

fn topic_prefix(topic: &Option<String>) -> String {
    match topic {
        Some(topic) => format!("topic {topic:?}: "),
        None => String::new(),
    }
}

/// A rule a scoring parameter must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Constraint {
    /// Not NaN nor infinite.
    Finite,
    /// `>= 0`: a weight that rewards, or a cap or threshold.
    NonNegative,
    /// `<= 0`: a weight that penalises.
    NonPositive,
    /// `> 0`.
    Positive,
    /// `>= 1` (the IP colocation threshold counts peers).
    AtLeastOne,
    /// In the open interval (0, 1), as every decay factor.
    DecayFactor,
    /// At least one second (decay interval, mesh delivery activation), as go requires.
    AtLeastOneSecond,
    /// Not zero (a duration that divides).
    NonZeroDuration,
    /// At least `mesh_message_deliveries_threshold`.
    AtLeastMeshDeliveriesThreshold,
    /// At most `gossip_threshold`.
    AtMostGossipThreshold,
    /// At most `publish_threshold`.
    AtMostPublishThreshold,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Constraint::Finite => "it must be a finite number",
            Constraint::NonNegative => "it must be positive or zero",
            Constraint::NonPositive => "it must be negative or zero",
            Constraint::Positive => "it must be positive",
            Constraint::AtLeastOne => "it must be at least 1",
            Constraint::DecayFactor => "a decay factor must be strictly between 0 and 1",
            Constraint::AtLeastOneSecond => "it must be at least one second",
            Constraint::NonZeroDuration => "it must not be zero",
            Constraint::AtLeastMeshDeliveriesThreshold => {
                "it must be at least mesh_message_deliveries_threshold"
            }
            Constraint::AtMostGossipThreshold => "it must be at most gossip_threshold",
            Constraint::AtMostPublishThreshold => "it must be at most publish_threshold",
        })
    }
}

/// Checks one parameter at a time, naming the topic in the error.
pub(crate) struct Checker<'a> {
    pub(crate) topic: Option<&'a str>,
}

impl Checker<'_> {
    /// `Err` naming `param` if `holds` is false.
    pub(crate) fn require(
        &self,
        holds: bool,
        param: &'static str,
        value: f64,
        constraint: Constraint,
    ) -> Result<(), ScoreParamsError> {
        if holds {
            return Ok(());
        }
        Err(ScoreParamsError {
            topic: self.topic.map(str::to_owned),
            param,
            value,
            constraint,
        })
    }

    /// `value` is finite and `holds(value)`.
    pub(crate) fn number(
        &self,
        param: &'static str,
        value: f64,
        constraint: Constraint,
    ) -> Result<(), ScoreParamsError> {
        self.require(value.is_finite(), param, value, Constraint::Finite)?;
        let holds = match constraint {
            Constraint::NonNegative => value >= 0.0,
            Constraint::NonPositive => value <= 0.0,
            Constraint::Positive => value > 0.0,
            Constraint::AtLeastOne => value >= 1.0,
            Constraint::DecayFactor => value > 0.0 && value < 1.0,
            _ => true,
        };
        self.require(holds, param, value, constraint)
    }
}
