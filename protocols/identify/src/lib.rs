//! Identify (`/ipfs/id/1.0.0`) and identify push (`/ipfs/id/push/1.0.0`), spec
//! identify/README.md in libp2p/specs: peers tell each other their key, addresses, protocols
//! and agent, and tell connected peers again when their addresses or protocols change.
//!
//! [`Identify`] is the service a node runs by default. It asks the peer of every new
//! connection who it is, answers the same question, pushes our information to every
//! connected peer when our listen addresses or protocols change, records what peers say in
//! the peerstore and tells the node's other services (a `ConnectionEvent::Identified`).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod message;
mod service;
mod verified_records;

use std::time::Duration;

pub use error::Error;
pub use message::{Info, MAX_LISTED, MAX_MESSAGE_LEN, MAX_SENT_MESSAGE_LEN};
pub use service::{Config, Event, Handle, Identify};

/// The identify protocol id.
pub const PROTOCOL: &str = "/ipfs/id/1.0.0";
/// The identify push protocol id.
pub const PUSH_PROTOCOL: &str = "/ipfs/id/push/1.0.0";
/// How long an identify exchange may take (go-libp2p uses 5 s).
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The agent version sent unless configured otherwise.
pub const DEFAULT_AGENT_VERSION: &str = concat!("hyphae/", env!("CARGO_PKG_VERSION"));
/// The protocol family sent unless configured otherwise (the IPFS family, what go, rust and
/// js nodes send by default).
pub const DEFAULT_PROTOCOL_VERSION: &str = "ipfs/0.1.0";
