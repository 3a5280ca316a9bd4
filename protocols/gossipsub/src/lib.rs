//! libp2p gossipsub, spec pubsub/gossipsub/gossipsub-v1.0.md to -v1.3.md in libp2p/specs, on
//! the pubsub RPC of pubsub/README.md. Protocol ids: [`PROTOCOL_V1_3`], [`PROTOCOL_V1_2`],
//! [`PROTOCOL_V1_1`], [`PROTOCOL_V1_0`].
//!
//! Most applications use the node service, [`Gossipsub`] (its [`Handle`] subscribes,
//! publishes and inspects; [`Subscription`]s stream messages; a [`Validator`] judges them),
//! through the `hyphae` crate as `hyphae::gossipsub`. Beneath it, in layers usable alone:
//! - the RPC and its parts ([`Rpc`]), their protobuf encoding with field numbers exactly as
//!   the specs' schemas give them (the contract with go-libp2p, rust-libp2p and js-libp2p),
//!   bounded decoding ([`Limits`]) and the length-prefixed framing of pubsub streams
//!   ([`encode_frame`], [`decode_frame`]);
//! - message authenticity: signing and the StrictSign / StrictNoSign policies
//!   ([`Publisher`], [`SignaturePolicy`]) and message ids ([`MessageIdFn`]);
//! - sans-IO bookkeeping, each piece bounded: the message cache ([`MessageCache`]), duplicate
//!   detection ([`SeenCache`]), PRUNE backoffs ([`BackoffTable`]), the per-heartbeat IHAVE
//!   budget ([`IHaveBudget`]) and gossip promises ([`GossipPromises`]); defaults in [`params`];
//! - peer scoring (v1.1 "Peer Scoring"): the score of each peer from the router's events
//!   ([`PeerScore`]), its parameters ([`PeerScoreParams`], [`TopicScoreParams`]) and the
//!   thresholds the router acts on ([`PeerScoreThresholds`]);
//! - the router ([`Router`]) as a sans-IO state machine: subscriptions, meshes with GRAFT,
//!   PRUNE, backoff and peer exchange, IHAVE/IWANT gossip with promises, IDONTWANT, flood
//!   publishing, fanout, asynchronous validation and the heartbeat, configured by
//!   [`Config`], its peers scored through [`ScoreSource`] ([`PeerScore`] is one);
//! - the service ([`Gossipsub`]): one task owning the router, a reader and a writer task per
//!   peer, and per-peer outbound queues that are bounded, prioritised (control, then our
//!   messages and forwarded ones in turn) and shed what waited too long ([`QueueLimits`]).
//!
//! ```
//! use hyphae_gossipsub::{Limits, Rpc, SubOpts, decode_frame, encode_frame};
//!
//! let rpc = Rpc {
//!     subscriptions: vec![SubOpts { subscribe: true, topic: "blocks".into() }],
//!     ..Rpc::default()
//! };
//! let limits = Limits::default();
//! let frame = encode_frame(&rpc, &limits)?;
//! let (decoded, consumed) = decode_frame(&frame, &limits)?.expect("a whole frame");
//! assert_eq!((decoded.rpc, decoded.skipped, consumed), (rpc, 0, frame.len()));
//! # Ok::<(), hyphae_gossipsub::Error>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod backoff;
mod decode;
mod encode;
mod error;
mod frame;
mod gossip_promises;
mod ihave_budget;
mod limits;
mod mcache;
mod message_id;
pub mod params;
mod policy;
mod publisher;
mod router;
mod rpc;
mod schema;
mod score;
mod seen;
mod service;
mod signing;
mod time;

pub use decode::DecodedRpc;
pub use error::{Error, MessageField};
pub use frame::{decode_frame, encode_frame};
pub use limits::Limits;
pub use message_id::{MessageIdFn, author_seqno_id, author_seqno_text_id, data_sha256_id};
pub use policy::{Origin, SignaturePolicy};
pub use publisher::{Publisher, initial_seqno};
pub use router::{
    Config, ConfigError, Direction, Event, NoScore, Protocol, PublishError, Router, ScoreSource,
    Validation,
};
pub use rpc::{
    ControlExtensions, ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage,
    ControlPrune, Message, MessageId, PeerInfo, Rpc, SubOpts,
};
pub use service::{
    Gossipsub, Handle, MESH_TAG, MESH_VALUE, QueueLimits, Received, SetupError, Stats,
    Subscription, Validator,
};

// The router's bookkeeping, public so that simulations and custom routers can use it.
pub use backoff::BackoffTable;
pub use gossip_promises::GossipPromises;
pub use ihave_budget::IHaveBudget;
pub use mcache::MessageCache;
pub use seen::SeenCache;

// Peer scoring.
pub use score::{
    Constraint, InvalidIpNetwork, IpNetwork, PeerScore, PeerScoreParams, PeerScoreThresholds,
    RejectReason, ScoreParamsError, TopicScoreParams, decay_factor,
};

/// Gossipsub v1.3 with the extensions control message (gossipsub-v1.3.md, "Protocol ID").
pub const PROTOCOL_V1_3: &str = "/meshsub/1.3.0";
/// Gossipsub v1.2 with IDONTWANT (gossipsub-v1.2.md, "Protocol Id").
pub const PROTOCOL_V1_2: &str = "/meshsub/1.2.0";
/// Gossipsub v1.1 with peer exchange, backoff and scoring (gossipsub-v1.1.md).
pub const PROTOCOL_V1_1: &str = "/meshsub/1.1.0";
/// Gossipsub v1.0 (gossipsub-v1.0.md). The spec does not name its id; this is the one
/// go-libp2p, rust-libp2p and js-libp2p advertise.
pub const PROTOCOL_V1_0: &str = "/meshsub/1.0.0";
