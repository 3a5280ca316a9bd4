//! Multiaddr: self-describing network addresses such as `/ip4/1.2.3.4/tcp/4001/p2p/12D3…`.
//!
//! Spec: the multiformats/multiaddr README (text and binary forms) with codes from the
//! multiformats/multicodec table, and `addressing/README.md` in libp2p/specs (`/p2p`,
//! `/p2p-circuit`, `/dnsaddr`).
//!
//! ```
//! use hyphae_multiaddr::{Multiaddr, Protocol};
//!
//! let addr: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse()?;
//! assert_eq!(addr.to_vec(), [0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1]);
//! assert_eq!(addr.iter().nth(1), Some(Protocol::Tcp(4001)));
//! # Ok::<(), hyphae_multiaddr::Error>(())
//! ```
//!
//! Text decisions: a trailing `/` is accepted and dropped (as go-multiaddr does); `/unix` and
//! `/http-path` values are one percent-encoded segment (`/unix/%2Ftmp%2Fp2p.sock`), per the
//! current multiaddr spec; `/ipfs/<id>` is read as `/p2p/<id>` and always printed as `/p2p`.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod multiaddr;
mod percent;
mod protocol;
#[cfg(feature = "serde")]
mod serde;

pub use error::Error;
pub use multiaddr::{Iter, Multiaddr};
pub use protocol::Protocol;
