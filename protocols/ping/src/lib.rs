//! Ping (`/ipfs/ping/1.0.0`, spec ping/ping.md in libp2p/specs): 32 random bytes sent and
//! echoed back, measuring round-trip time and keeping connections alive.
//!
//! [`Ping`] is the service a node runs by default: it answers pings, pings every connection
//! on an interval (one long-lived stream per connection, as the spec asks) and records the
//! round-trip times in the peerstore. Its [`Handle`] pings a peer on demand and reports
//! every measurement as an [`Event`]. [`ping`] and [`echo`] are the two ends over any
//! stream.
//!
//! The spec allows one outbound ping stream per peer and asks implementations to accept at
//! most two inbound ones; a third inbound stream is refused.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod exchange;
mod service;

use std::time::Duration;

pub use error::Error;
pub use exchange::{echo, ping};
pub use service::{Config, Event, Handle, Ping};

/// The protocol id.
pub const PROTOCOL: &str = "/ipfs/ping/1.0.0";
/// Bytes in one ping.
pub const PAYLOAD_LEN: usize = 32;
/// Inbound ping streams accepted per peer at once (ping.md).
pub const MAX_INBOUND_STREAMS_PER_PEER: usize = 2;
/// How long to wait for an echo (go-libp2p also uses 10 s).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Default interval between keepalive pings on each connection.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
