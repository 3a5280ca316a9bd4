//! The IP address work every IP transport (TCP, QUIC, WebSocket through TCP) shares:
//!
//! - [`resolve`]: the host of a dial address (`/ip4`, `/ip6`, `/dns`, `/dns4`, `/dns6`) to the
//!   socket addresses to try, with the operating system's resolver;
//! - [`expand_unspecified`]: a socket bound to `0.0.0.0` or `::` to the interface addresses
//!   peers can dial.
//!
//! It is its own crate so that a transport needing only this (QUIC) does not depend on
//! another transport (TCP) for it. `hyphae-tcp` re-exports all three items.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod interfaces;
mod resolve;

pub use interfaces::expand_unspecified;
pub use resolve::{ResolveError, resolve};
