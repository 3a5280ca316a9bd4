//! Peer scoring (gossipsub-v1.1.md, "Peer Scoring" and "Score Thresholds"): what each peer
//! has done for or against the network, summed with configured weights, so that the router
//! can keep good peers in its meshes and stop listening to bad ones.
//!
//! - [`PeerScoreParams`] and [`TopicScoreParams`] say what counts and how much, with
//!   go-libp2p-pubsub's field names;
//! - [`PeerScoreThresholds`] says at which scores the router stops gossiping, publishing,
//!   listening or taking peer exchange;
//! - [`PeerScore`] keeps the counters from the router's events, in virtual time.
//!
//! With the `serde` feature the parameters and thresholds serialize with go-libp2p-pubsub's
//! field names in snake case (`time_in_mesh_quantum`, ...); missing fields take their
//! defaults, durations are serde's `{ "secs", "nanos" }` (go's JSON gives nanoseconds), and
//! whitelisted networks are CIDR text.

mod deliveries;
mod error;
mod ip_network;
mod params;
mod peer_score;
mod peer_stats;
mod thresholds;

pub use error::{Constraint, ScoreParamsError};
pub use ip_network::{InvalidIpNetwork, IpNetwork};
pub use params::{PeerScoreParams, TopicScoreParams, decay_factor};
pub use peer_score::{PeerScore, RejectReason};
pub use thresholds::PeerScoreThresholds;
