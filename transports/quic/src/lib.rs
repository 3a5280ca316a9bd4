//! QUIC v1 transport for libp2p, multiaddr `/udp/<port>/quic-v1`: connections that are
//! encrypted, authenticated and multiplexed by QUIC itself, so no security or muxer
//! negotiation runs on top.
//!
//! Spec: `quic/README.md` (RFC 9000 QUIC, ALPN `libp2p`) and `tls/tls.md` (peer
//! authentication with the libp2p certificate, shared with [`hyphae_tls`]), in the
//! libp2p/specs repository.
//!
//! - [`Endpoint`] listens on UDP sockets, accepts connections and dials, reusing the
//!   listening socket for dials as the spec asks;
//! - [`Connection`] is an authenticated connection to a peer; [`Stream`] one bidirectional
//!   QUIC stream, a tokio `AsyncRead + AsyncWrite`.
//!
//! quinn runs QUIC (its sans-IO core `quinn-proto` and tokio driver); rustls with `ring`
//! runs TLS 1.3, configured by `hyphae-tls`.
//!
//! Deliberate choices: the draft-29 `/quic` addresses are not supported (the spec phases
//! them out); unidirectional streams and datagrams are refused (libp2p uses neither);
//! [`Config`] documents each limit and window.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod address;
mod config;
mod connection;
mod endpoint;
mod error;
mod memory;
mod stream_credit;

pub use address::socket_multiaddr;
pub use config::Config;
pub use connection::{Connection, Stream};
pub use endpoint::Endpoint;
pub use error::Error;
pub use memory::MIN_WINDOW;
pub use stream_credit::INITIAL_STREAM_CREDIT;

/// The multiaddr protocol name of this transport (quic/README.md, "Multiaddress").
pub const PROTOCOL_NAME: &str = "quic-v1";
