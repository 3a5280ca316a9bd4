//! Yamux, the stream multiplexer of libp2p: many independent, flow-controlled byte streams
//! over one reliable connection.
//!
//! Spec: `yamux/README.md` in the libp2p/specs repository (a copy of hashicorp's yamux spec
//! plus the libp2p "ACK backlog" rules). Protocol id: [`PROTOCOL_ID`] (`/yamux/1.0.0`).
//!
//! - [`frame`]: the 12-byte frame header, decoded from `&[u8]` with explicit limits;
//! - [`Session`]: the whole protocol as a sans-IO state machine (no tokio, no clock);
//! - [`Connection`] and [`Stream`]: its tokio driver; streams are `AsyncRead + AsyncWrite`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use hyphae_yamux::{Config, Connection, Mode};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let (a, b) = tokio::io::duplex(64 * 1024);
//! let client = Connection::new(a, Mode::Client, Config::default());
//! let server = Connection::new(b, Mode::Server, Config::default());
//!
//! let mut stream = client.open_stream().await?;
//! stream.write_all(b"hello").await?;
//! stream.shutdown().await?; // FIN: we are done writing
//!
//! let mut inbound = server.accept().await.ok_or("connection closed")?;
//! let mut received = Vec::new();
//! inbound.read_to_end(&mut received).await?;
//! assert_eq!(received, b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! Deviations from the letter of the spec, all lenient: the stream id of Ping and Go Away
//! frames is not checked, unknown flag bits are ignored, and any answer to a stream we opened
//! (not only one carrying ACK) takes it off the ACK backlog.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod connection;
mod error;
pub mod frame;
mod link;
mod reader;
mod session;
mod spare_buffers;
mod stream;
mod stream_state;

pub use config::{Config, INITIAL_WINDOW, MAX_ACK_BACKLOG};
pub use connection::Connection;
pub use error::Error;
pub use frame::{GoAwayCode, StreamId};
/// What [`Connection`] needs of its byte stream beyond reading: see [`Connection::new`].
pub use hyphae_core::WriteOwned;
pub use reader::LARGE_PAYLOAD;
pub use session::{
    Event, IDLE_RELEASE, MAX_MEMORY_RETRY, MIN_MEMORY_RETRY, Mode, PendingPayload,
    RESERVATION_STEP, ReadOutcome, Session, StreamStats,
};
pub use stream::Stream;

/// The protocol id negotiated with multistream-select.
pub const PROTOCOL_ID: &str = "/yamux/1.0.0";
