//! mplex, the original libp2p stream multiplexer: many byte streams over one reliable
//! connection, without flow control.
//!
//! Spec: `mplex/README.md` in the libp2p/specs repository (deprecated there in favour of Yamux,
//! kept for interoperability). Protocol id: [`PROTOCOL_ID`] (`/mplex/6.7.0`).
//!
//! - [`frame`]: the header/length/data frame, decoded from `&[u8]` with an explicit limit;
//! - [`Session`]: the whole protocol as a sans-IO state machine (no tokio, no clock);
//! - [`Connection`] and [`Stream`]: its tokio driver; streams are `AsyncRead + AsyncWrite`.
//!
//! mplex has no flow control: a peer may send faster than a stream is read. Like
//! rust-libp2p's default (`MaxBufferBehaviour::Block`), when a stream's unread data would
//! exceed [`Config::max_buffer_per_stream`] the connection stops reading until that stream is
//! read, so memory stays bounded and no data is lost (a stream nobody reads stalls the
//! connection: that is the price of mplex).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use hyphae_mplex::{Config, Connection};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let (a, b) = tokio::io::duplex(64 * 1024);
//! let client = Connection::new(a, Config::default());
//! let server = Connection::new(b, Config::default());
//!
//! let mut stream = client.open_stream().await?;
//! stream.write_all(b"hello").await?;
//! stream.shutdown().await?; // Close: we are done writing
//!
//! let mut inbound = server.accept().await.ok_or("connection closed")?;
//! let mut received = Vec::new();
//! inbound.read_to_end(&mut received).await?;
//! assert_eq!(received, b"hello");
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod connection;
mod error;
pub mod frame;
mod session;

pub use config::Config;
pub use connection::{Connection, Stream};
pub use error::Error;
pub use frame::MAX_FRAME_DATA;
pub use session::{ReadOutcome, Session, StreamId};

/// The protocol id negotiated with multistream-select.
pub const PROTOCOL_ID: &str = "/mplex/6.7.0";
