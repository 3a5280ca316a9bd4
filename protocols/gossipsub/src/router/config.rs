//! The router's configuration: mesh degrees, timings and score thresholds.
//!
//! Defaults are the specs' values (gossipsub-v1.0.md "Parameters", gossipsub-v1.1.md
//! "Overview of New Parameters" and "Score Thresholds"), with go-libp2p-pubsub's where a spec
//! gives none (D_lo 5, as go and rust-libp2p both use).

use std::time::Duration;

use crate::params;

/// How a [`Router`](super::Router) builds and keeps its meshes.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Desired mesh degree `D` (v1.0 "Parameters"). Default 6.
    pub mesh_n: usize,
    /// Below this (`D_lo`) a heartbeat grafts up to `D`. Default 5.
    pub mesh_n_low: usize,
    /// Above this (`D_hi`) a heartbeat prunes down to `D`. Default 12.
    pub mesh_n_high: usize,
    /// Least number of peers we gossip to per topic (`D_lazy`). Default 6.
    pub gossip_lazy: usize,
    /// Share of the eligible non-mesh peers we gossip to, when more than `D_lazy`
    /// (v1.1 "Adaptive Gossip Dissemination", `GossipFactor`). Default 0.25.
    pub gossip_factor: f64,
    /// Best-scored peers kept when pruning an oversized mesh (v1.1, `D_score`). Default 4.
    pub mesh_n_score: usize,
    /// Least outbound peers kept in a mesh (v1.1 "Outbound Mesh Quotas", `D_out`). Default 2.
    pub mesh_outbound_min: usize,
    /// Time between heartbeats. Default 1 s.
    pub heartbeat_interval: Duration,
    /// How long a fanout set lives after our last publish to its topic. Default 60 s.
    pub fanout_ttl: Duration,
    /// Heartbeat windows the message cache keeps (`mcache_len`). Default 5.
    pub history_length: usize,
    /// Windows whose ids are gossiped (`mcache_gossip`). Default 3.
    pub history_gossip: usize,
    /// How long a message id counts as seen. Default 2 min.
    pub seen_ttl: Duration,
    /// Backoff we ask for, and keep, after a PRUNE. Default 1 min.
    pub prune_backoff: Duration,
    /// Backoff we ask for when we leave a topic. Default 10 s.
    pub unsubscribe_backoff: Duration,
    /// Heartbeats we wait past a backoff before grafting again. Default 2.
    pub backoff_slack: u32,
    /// Publish to every subscribed peer above the publish threshold, not only the mesh
    /// (v1.1 "Flood Publishing"). Default true.
    pub flood_publish: bool,
    /// Send IDONTWANT for received messages whose data is at least this long, to meshsub
    /// 1.2 mesh peers (v1.2; the spec leaves it open, rust-libp2p uses 1000). Default 1000.
    pub idontwant_message_size_threshold: usize,
    /// Lazy push of large messages: a message we relay whose data is at least
    /// `idontwant_message_size_threshold` goes in full to at most this many mesh peers,
    /// drawn at random each time, and the other mesh peers get an IHAVE for it at once and
    /// fetch it with IWANT if they still lack it. Every peer keeps its mesh of `D`; only the
    /// copies that would arrive as duplicates are saved (the IHAVE is some 50 bytes). Our
    /// own publications are not affected. A peer is announced at most half of
    /// `max_ihave_messages` messages a heartbeat (peers ignore IHAVEs past their budget, 10 in
    /// go and rust-libp2p); past that it gets them in full. Default `None`: every mesh peer
    /// gets the message, as the specs describe.
    pub large_message_push_n: Option<usize>,
    /// Most IDONTWANT ids kept per peer; older ones leave first. Default 10 000.
    pub max_idontwant_per_peer: usize,
    /// Most IDONTWANT control messages taken from one peer per heartbeat; more are ignored
    /// (v1.2 "Parameters", `max_idontwant_messages`, which the spec leaves open). rust-libp2p
    /// and js-libp2p send one IDONTWANT per message, so this bounds the large messages a
    /// peer can tell us about each heartbeat. Default 1000 (go-libp2p's; its 10 is the
    /// bound on ids per IDONTWANT).
    pub max_idontwant_messages: usize,
    /// Heartbeats an IDONTWANT id is honoured for (go-libp2p: 3). Default 3.
    pub idontwant_heartbeats: u64,
    /// Largest message we publish, in encoded bytes. Default 1 MiB (go-libp2p's, and the
    /// largest RPC [`Limits`](crate::Limits) reads by default; rust-libp2p's is 64 KiB).
    pub max_transmit_size: usize,
    /// Most IWANT answers per message and peer. Default 3.
    pub gossip_retransmission: u32,
    /// Most IHAVEs taken from one peer per heartbeat. Default 10.
    pub max_ihave_messages: usize,
    /// Most ids asked of one peer by IWANT per heartbeat, and most ids per IHAVE we send.
    /// Default 5000.
    pub max_ihave_length: usize,
    /// How long a peer has to deliver what it advertised before the promise is broken.
    /// Default 3 s.
    pub iwant_followup_time: Duration,
    /// Most topics one peer may be subscribed to in our view; further subscriptions are
    /// ignored. Bounds what a peer makes us store. Default 1000.
    pub max_topics_per_peer: usize,
    /// Most RPCs queued for one peer; more are dropped and counted. RPCs with messages may
    /// take three quarters of it, the rest is kept for control. Default 1024.
    pub max_queued_rpcs_per_peer: usize,
    /// Most application events queued; more are dropped and counted. Default 10 000.
    pub max_queued_events: usize,
    /// Peer exchange (v1.1 "PRUNE Backoff and Peer Exchange"): offer peers in the PRUNEs
    /// we send for want of room, and pass on offers received. Default false, as in
    /// go-libp2p and rust-libp2p; turn it on for bootstrappers and well-connected nodes.
    pub do_px: bool,
    /// Most peers offered in, or taken from, one PRUNE. Default 16 (go-libp2p's).
    pub prune_peers: usize,
    /// Below this score, a peer's offered peers are ignored. Default 10.
    pub accept_px_threshold: f64,
    /// Emit [`Event::Duplicate`](super::Event::Duplicate) for every copy of a message
    /// already seen (for measurements such as the test-plans gossipsub-interop logs).
    /// Default false.
    pub report_duplicates: bool,
    /// Hold new messages for a verdict the application reports later
    /// ([`Router::report_validation`](super::Router::report_validation)) instead of judging
    /// them at once. Default false.
    pub async_validation: bool,
    /// Most messages waiting for a verdict; more are dropped unjudged. Default 1024.
    pub max_pending_validations: usize,
    /// How long a message waits for its verdict before it counts as ignored (checked at
    /// each heartbeat). Default 10 s.
    pub validation_timeout: Duration,
    /// Heartbeats between opportunistic grafting rounds (v1.1 "Opportunistic Grafting").
    /// Default 60.
    pub opportunistic_graft_ticks: u64,
    /// Peers grafted per opportunistic round. Default 2.
    pub opportunistic_graft_peers: usize,
    /// Below this score we neither gossip to a peer nor take its gossip. Default -10.
    pub gossip_threshold: f64,
    /// Below this score we do not publish to a peer. Default -50.
    pub publish_threshold: f64,
    /// Below this score a peer's RPCs are ignored altogether. Default -80.
    pub graylist_threshold: f64,
    /// Median mesh score below which opportunistic grafting runs. Default 20.
    pub opportunistic_graft_threshold: f64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mesh_n: 6,
            mesh_n_low: 5,
            mesh_n_high: 12,
            gossip_lazy: 6,
            gossip_factor: 0.25,
            mesh_n_score: 4,
            mesh_outbound_min: 2,
            heartbeat_interval: params::HEARTBEAT_INTERVAL,
            fanout_ttl: Duration::from_secs(60),
            history_length: params::MCACHE_LEN,
            history_gossip: params::MCACHE_GOSSIP,
            seen_ttl: params::SEEN_TTL,
            prune_backoff: params::PRUNE_BACKOFF,
            unsubscribe_backoff: params::UNSUBSCRIBE_BACKOFF,
            backoff_slack: params::BACKOFF_SLACK,
            flood_publish: true,
            idontwant_message_size_threshold: 1000,
            large_message_push_n: None,
            max_idontwant_per_peer: 10_000,
            max_idontwant_messages: 1000,
            idontwant_heartbeats: 3,
            max_transmit_size: 1024 * 1024,
            gossip_retransmission: params::GOSSIP_RETRANSMISSION,
            max_ihave_messages: params::MAX_IHAVE_MESSAGES,
            max_ihave_length: params::MAX_IHAVE_LENGTH,
            iwant_followup_time: params::IWANT_FOLLOWUP_TIME,
            max_topics_per_peer: 1000,
            max_queued_rpcs_per_peer: 1024,
            max_queued_events: 10_000,
            do_px: false,
            prune_peers: 16,
            accept_px_threshold: 10.0,
            report_duplicates: false,
            async_validation: false,
            max_pending_validations: 1024,
            validation_timeout: Duration::from_secs(10),
            opportunistic_graft_ticks: 60,
            opportunistic_graft_peers: 2,
            gossip_threshold: -10.0,
            publish_threshold: -50.0,
            graylist_threshold: -80.0,
            opportunistic_graft_threshold: 20.0,
        }
    }
}

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The degrees must satisfy `D_lo <= D <= D_hi` and `D >= 1`.
    #[error("mesh degrees must satisfy 1 <= D_lo <= D <= D_hi")]
    MeshDegrees,
    /// `D_out` must be below `D_lo` and at most `D / 2` (v1.1 "Outbound Mesh Quotas").
    #[error("D_out must be < D_lo and <= D/2")]
    OutboundQuota,
    /// `D_score` must be at most `D`.
    #[error("D_score must be <= D")]
    ScoreQuota,
    /// `history_gossip` must be between 1 and `history_length`.
    #[error("history_gossip must be in 1..=history_length")]
    History,
    /// `gossip_factor` must be in `0..=1`.
    #[error("gossip_factor must be in 0..=1")]
    GossipFactor,
    /// The heartbeat interval must not be zero.
    #[error("heartbeat_interval must not be zero")]
    HeartbeatInterval,
    /// Thresholds must satisfy graylist < publish <= gossip <= 0, and opportunistic graft
    /// and accept PX >= 0 (v1.1 "Score Thresholds").
    #[error("score thresholds out of order")]
    Thresholds,
    /// A queue or table bound is zero.
    #[error("bounds must not be zero")]
    ZeroBound,
}

impl Config {
    /// Checks the constraints the specs put between the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mesh_n_low == 0 || self.mesh_n_low > self.mesh_n || self.mesh_n > self.mesh_n_high {
            return Err(ConfigError::MeshDegrees);
        }
        if self.mesh_outbound_min >= self.mesh_n_low || self.mesh_outbound_min > self.mesh_n / 2 {
            return Err(ConfigError::OutboundQuota);
        }
        if self.mesh_n_score > self.mesh_n {
            return Err(ConfigError::ScoreQuota);
        }
        if self.history_gossip == 0 || self.history_gossip > self.history_length {
            return Err(ConfigError::History);
        }
        if !(0.0..=1.0).contains(&self.gossip_factor) {
            return Err(ConfigError::GossipFactor);
        }
        if self.heartbeat_interval.is_zero() {
            return Err(ConfigError::HeartbeatInterval);
        }
        let ordered = self.graylist_threshold < self.publish_threshold
            && self.publish_threshold <= self.gossip_threshold
            && self.gossip_threshold <= 0.0
            && self.opportunistic_graft_threshold >= 0.0
            && self.accept_px_threshold >= 0.0;
        if !ordered {
            return Err(ConfigError::Thresholds);
        }
        if self.max_queued_rpcs_per_peer == 0
            || self.max_queued_events == 0
            || self.max_pending_validations == 0
            || self.max_topics_per_peer == 0
            || self.opportunistic_graft_ticks == 0
            || self.large_message_push_n == Some(0)
        {
            return Err(ConfigError::ZeroBound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn refuses_degrees_out_of_order() {
        let config = Config {
            mesh_n_low: 7,
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::MeshDegrees));
        let config = Config {
            mesh_n_high: 5,
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::MeshDegrees));
    }

    #[test]
    fn refuses_an_outbound_quota_too_large() {
        let config = Config {
            mesh_outbound_min: 4,
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::OutboundQuota));
    }

    #[test]
    fn refuses_thresholds_out_of_order() {
        let config = Config {
            publish_threshold: 0.0,
            gossip_threshold: -1.0,
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::Thresholds));
        // The graylist threshold must be strictly below the publish threshold.
        let config = Config {
            graylist_threshold: -50.0,
            ..Config::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::Thresholds));
    }
}
