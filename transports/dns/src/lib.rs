//! A small DNS client for hyphae: TXT lookups and `/dnsaddr` resolution.
//!
//! - [`Resolver`] asks the system's (or given) recursive nameservers for TXT records over
//!   UDP, falling back to TCP for truncated answers (RFC 1035, RFC 7766).
//! - [`resolve_dnsaddr`] turns `/dnsaddr/<domain>[/p2p/<id>]` into the multiaddrs listed
//!   in the TXT records of `_dnsaddr.<domain>` (`addressing/README.md` in libp2p/specs),
//!   following nested `/dnsaddr` entries within fixed bounds.
//!
//! The wire format is sans-IO (`message`, `name`): it takes and returns bytes, checks every
//! length against the bytes present, and never panics on what a server sends. No caching,
//! no DNSSEC, no EDNS(0); A/AAAA lookups are left to the operating system (the transports
//! call it through `hyphae_netaddr::resolve`).
//!
//! ```no_run
//! # async fn example() -> Result<(), hyphae_dns::Error> {
//! use hyphae_dns::{Resolver, resolve_dnsaddr};
//!
//! let resolver = Resolver::from_system();
//! let addr = "/dnsaddr/bootstrap.libp2p.io".parse().expect("valid multiaddr");
//! let addrs = resolve_dnsaddr(&resolver, &addr).await?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod dnsaddr;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod message;
mod name;
mod resolv_conf;
mod resolver;

pub use dnsaddr::{MAX_DEPTH, MAX_LOOKUPS, MAX_RESULTS, resolve_dnsaddr};
pub use error::Error;
pub use resolver::{DEFAULT_TIMEOUT, Resolver};
