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
//! Decisions where implementations differ:
//!
//! - **Empty and trailing `/`.** `""` and `"/"` parse as the empty address, which prints as
//!   `/` (as rust-libp2p and js-multiaddr; go-multiaddr rejects both). One trailing `/` is
//!   accepted and dropped, as go-multiaddr does; any other empty component (`/ip4//`, `//`)
//!   is [`Error::EmptyComponent`].
//! - **Paths.** `/unix` and `/http-path` values are one percent-encoded segment
//!   (`/unix/%2Ftmp%2Fp2p.sock`), as the current multiaddr spec, js-multiaddr and
//!   rust-libp2p write them; every byte that is not an RFC 3986 unreserved character is
//!   escaped on output, and any `%XX` is decoded on input. go-multiaddr instead prints a
//!   unix path raw (`/unix/tmp/p2p.sock`); the binary forms agree.
//! - **`/ipfs/<id>`** is read as `/p2p/<id>` and always printed as `/p2p`. Peer ids are read
//!   in base58btc or CID form and printed in base58btc; certificate hashes are read in any
//!   multibase and printed in base64url (`u…`).
//! - **`/memory/<u64>`** is 8 big-endian bytes, as go-multiaddr and rust-libp2p encode it
//!   (js-multiaddr treats it as a string).
//!
//! Bounds: a length prefix is checked against the bytes that remain before anything is
//! sliced or allocated, and a variable-length value (name, path, certificate hash) may be
//! at most 1024 bytes, so no input makes a parser allocate more than its own size.
//!
//! [`host`] reads the host part a transport dials or listens on (`/ip4`, `/ip6`, `/dns*`).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod host;
mod multiaddr;
mod percent;
mod protocol;
#[cfg(feature = "serde")]
mod serde;
mod table;

pub use error::Error;
pub use multiaddr::{Iter, Multiaddr};
pub use protocol::Protocol;
