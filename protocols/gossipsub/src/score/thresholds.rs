//! The scores at which the router stops trusting a peer for gossip, publishing, any RPC, or
//! peer exchange (gossipsub-v1.1.md, "Score Thresholds").

use super::error::{Checker, Constraint, ScoreParamsError};

/// Score thresholds the router compares peers' scores against.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct PeerScoreThresholds {
    /// Below it, we send a peer no gossip and ignore its gossip; negative or zero.
    pub gossip_threshold: f64,
    /// Below it, we do not send a peer messages we publish; at most `gossip_threshold`.
    pub publish_threshold: f64,
    /// Below it, we ignore every RPC from a peer; at most `publish_threshold`.
    pub graylist_threshold: f64,
    /// Below it, we ignore the peers a peer offers in PRUNE (peer exchange); positive or
    /// zero, and high enough for bootstrappers only where they are trusted.
    pub accept_px_threshold: f64,
    /// Below it, the mesh's median score makes the router graft better scoring peers;
    /// positive or zero.
    pub opportunistic_graft_threshold: f64,
}

/// rust-libp2p's defaults; go-libp2p-pubsub has none.
impl Default for PeerScoreThresholds {
    fn default() -> PeerScoreThresholds {
        PeerScoreThresholds {
            gossip_threshold: -10.0,
            publish_threshold: -50.0,
            graylist_threshold: -80.0,
            accept_px_threshold: 10.0,
            opportunistic_graft_threshold: 20.0,
        }
    }
}

impl PeerScoreThresholds {
    /// Refuses thresholds out of order, as go-libp2p-pubsub does: graylist ≤ publish ≤
    /// gossip ≤ 0 ≤ accept PX and opportunistic graft, every one finite. The spec asks for
    /// strict inequalities; go, and so this, accepts equal thresholds, which some deployed
    /// configurations use.
    pub fn validate(&self) -> Result<(), ScoreParamsError> {
        let check = Checker { topic: None };
        check.number(
            "gossip_threshold",
            self.gossip_threshold,
            Constraint::NonPositive,
        )?;
        check.number(
            "publish_threshold",
            self.publish_threshold,
            Constraint::NonPositive,
        )?;
        check.require(
            self.publish_threshold <= self.gossip_threshold,
            "publish_threshold",
            self.publish_threshold,
            Constraint::AtMostGossipThreshold,
        )?;
        check.number(
            "graylist_threshold",
            self.graylist_threshold,
            Constraint::NonPositive,
        )?;
        check.require(
            self.graylist_threshold <= self.publish_threshold,
            "graylist_threshold",
            self.graylist_threshold,
            Constraint::AtMostPublishThreshold,
        )?;
        check.number(
            "accept_px_threshold",
            self.accept_px_threshold,
            Constraint::NonNegative,
        )?;
        check.number(
            "opportunistic_graft_threshold",
            self.opportunistic_graft_threshold,
            Constraint::NonNegative,
        )
    }
}
