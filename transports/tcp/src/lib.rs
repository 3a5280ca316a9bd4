//! TCP transport: listen on `/ip4/…/tcp/…` and `/ip6/…/tcp/…`, dial those and
//! `/dns/…`, `/dns4/…`, `/dns6/…` addresses.
//!
//! Spec: addressing in `addressing/README.md` of libp2p/specs. Sockets are opened with
//! `TCP_NODELAY` (libp2p protocols are request/response heavy and batch their own writes),
//! `TCP_NOTSENT_LOWAT` (see [`Config::notsent_lowat`]) and `SO_REUSEADDR`; IPv6 listeners
//! are IPv6-only so the same port can also be bound on IPv4.
//! Connections come out raw: security and multiplexing are negotiated above.
//!
//! [`resolve`] (a `/dns*` host to socket addresses) and [`expand_unspecified`] (a socket bound
//! to `0.0.0.0` or `::` to the interface addresses peers can dial) live in `hyphae-netaddr`,
//! which QUIC uses too; they are re-exported here as before.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod address;
mod config;
mod dial;
mod error;
mod listen;

pub use address::socket_multiaddr;
pub use config::Config;
pub use dial::dial;
pub use error::Error;
pub use hyphae_netaddr::{ResolveError, expand_unspecified, resolve};
pub use listen::Listener;
