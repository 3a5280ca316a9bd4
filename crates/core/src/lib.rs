//! The wire helpers and shared types every hyphae protocol stands on.
//!
//! - [`varint`]: unsigned varints (re-exported from `hyphae-encoding`);
//! - [`frame`]: uvarint-length-prefixed messages, the framing of identify, kad, relay,
//!   autonat, rendezvous and most other libp2p protocols, always read with a size limit
//!   checked before anything is allocated;
//! - [`multistream`]: multistream-select 1.0, the protocol negotiation of every connection
//!   upgrade and stream, as sans-IO dialer and listener state machines, and
//!   [`negotiated`], their async driver over tokio streams;
//! - [`PeerRecord`]: signed peer records (RFC 0003).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod frame;
pub mod multistream;
pub mod negotiated;
pub mod peer_record;

pub use error::Error;
pub use hyphae_encoding::varint;
pub use peer_record::PeerRecord;
