//! The wire helpers and shared types every hyphae protocol stands on.
//!
//! - [`varint`]: unsigned varints (re-exported from `hyphae-encoding`);
//! - [`frame`]: uvarint-length-prefixed messages, the framing of identify, kad, relay,
//!   autonat, rendezvous and most other libp2p protocols, always read with a size limit
//!   checked before anything is allocated;
//! - [`multistream`]: multistream-select 1.0, the protocol negotiation of every connection
//!   upgrade and stream, as sans-IO dialer and listener state machines, and
//!   [`negotiated`], their async driver over tokio streams;
//! - [`PeerRecord`]: signed peer records (RFC 0003);
//! - [`Bursts`]: the rule by which drivers tell a connection moving bulk data from one going
//!   quiet, to keep or free their buffers;
//! - [`WriteOwned`]: writing out of a buffer the writer may change, which lets a secure
//!   channel seal a muxer's frames in place.
//!
//! # The sans-IO verbs
//!
//! Every stateful protocol of hyphae is a state machine without sockets, tasks or clocks
//! (multistream-select's [`Dialer`](multistream::Dialer) and
//! [`Listener`](multistream::Listener), the Noise handshake, the Yamux and mplex sessions),
//! driven by a thin async driver or by a test on virtual time. All of them speak the same
//! verbs, so knowing one core is knowing how to drive them all:
//!
//! - `handle_input(now, input)`: bytes (or messages) from the peer go in, with `now: Instant`
//!   first where the core keeps time. It takes what it can use from the caller's buffer and
//!   leaves the rest (the start of a message, or bytes for the protocol that follows). Where
//!   its return carries an outcome, such as the protocol multistream-select agreed on, its
//!   docs say so.
//! - `poll_transmit(..)`: bytes to send to the peer come out (`has_transmit()` tells whether
//!   there are any, without taking them).
//! - `poll_event()`: the next thing the application should see.
//! - `poll_timeout()`: the next deadline, when `handle_timeout` is due (`None`: none).
//! - `handle_timeout(now)`: lets time pass.
//!
//! Each `poll_*` that returns something is `#[must_use]`: dropping its answer loses bytes, an
//! event or a deadline. A core has only the verbs it needs (multistream-select keeps no time,
//! so it has no timeout); other inputs are `handle_*` too (Yamux's `handle_eof`). Time is a
//! value passed in, never read from a clock. How buffers are allocated and recycled is the
//! driver's choice, not the core's (drivers decide when to free them with [`Bursts`]).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod bursts;
mod error;
pub mod frame;
pub mod multistream;
pub mod negotiated;
pub mod peer_record;
pub mod recent;
pub mod resources;
pub mod rng;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub mod write_owned;

pub use bursts::Bursts;
pub use error::Error;
pub use hyphae_encoding::varint;
pub use peer_record::PeerRecord;
pub use write_owned::WriteOwned;
