//! WebSocket transport for hyphae: listen on and dial `/ws`, `/wss` and `/tls/ws`
//! addresses, carrying the connection's bytes as binary WebSocket messages.
//!
//! Specs: RFC 6455 (The WebSocket Protocol); `websockets/README.md` (addresses, default
//! ports 80/443, `/http-path`) and `addressing/README.md` of libp2p/specs. libp2p runs its security and multiplexing protocols over the byte stream
//! as over TCP: the WebSocket adds framing only, and `/wss` adds TLS (rustls, ring provider)
//! whose certificate is checked as on the web, not the libp2p identity.
//!
//! - [`frame`] and [`handshake`] are the protocol as plain functions over bytes;
//! - [`WsStream`] is the tokio driver: `AsyncRead + AsyncWrite` over an upgraded connection;
//! - [`dial`] and [`Listener`] mirror hyphae-tcp, adding TLS and the HTTP upgrade.
//!
//! Choices where RFC 6455 leaves room or where we are deliberately lenient:
//!
//! - Data is a byte stream: message boundaries are not kept, fragmented messages are read
//!   as they arrive (never buffered whole, so only frames are size-limited:
//!   [`Config::max_frame_size`]), and text frames are read as bytes without a UTF-8 check.
//! - No extensions (compression) or subprotocols are offered or accepted.
//! - Non-minimal length encodings and requests without `Host` are accepted.
//! - A peer that closes TCP without a close frame, between frames, ends the stream as EOF.
//!
//! ```no_run
//! # async fn example() -> Result<(), hyphae_websocket::Error> {
//! use hyphae_websocket::{Config, Listener};
//!
//! let config = Config::default();
//! let addr = "/ip4/127.0.0.1/tcp/0/ws".parse().expect("valid multiaddr");
//! let listener = Listener::bind(&addr, &config)?;
//! let target = listener.listen_addrs()[0].clone();
//! let dialer = tokio::spawn(async move { hyphae_websocket::dial(&target, &Config::default()).await });
//! let (inbound, remote) = listener.accept().await?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod address;
mod config;
mod dial;
mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
mod listen;
mod stream;
mod tls;
mod upgrade;

pub use config::{Config, TlsConfig};
pub use dial::dial;
pub use error::{Error, FrameError, HandshakeError};
pub use frame::Role;
pub use listen::Listener;
/// The rustls version this crate builds TLS configurations with.
pub use rustls;
pub use stream::WsStream;
pub use tls::Socket;
pub use upgrade::{upgrade_client, upgrade_server};
