//! In-process transport: listen on and dial `/memory/<port>` addresses, with no sockets.
//!
//! A node uses it exactly as it uses the TCP transport ([`Listener::bind`],
//! [`Listener::accept`], [`dial`]) and gets a raw byte stream to secure and multiplex, but a
//! connection is two buffers in this process. That makes tests fast and deterministic: no
//! ports to run out of, no kernel timing, no timers, no randomness, and failures that are
//! typed causes ([`Error::ConnectionRefused`]) rather than operating-system errors. It is
//! also the wire for running many nodes in one simulated network.
//!
//! Port numbers are process-wide: a listener on `/memory/7` is reachable from any task or
//! runtime in the process. `/memory/0` picks a free port at or above
//! [`FIRST_EPHEMERAL_PORT`], as each dialling end does for its own address, so tests that
//! choose fixed ports below it never collide with chosen ones.
//!
//! Bounds: each direction of a connection buffers at most [`BUFFER_SIZE`] bytes (a writer
//! then waits for the reader), and each listener queues at most [`ACCEPT_BACKLOG`]
//! connections not yet accepted (a dialler then waits for `accept`).
//!
//! ```
//! use hyphae_memory::{Listener, dial};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = Listener::bind(&"/memory/0".parse()?)?;
//! let addr = listener.listen_addrs().remove(0);
//!
//! let echo = async {
//!     let (stream, _dialer) = listener.accept().await?;
//!     let (mut reader, mut writer) = tokio::io::split(stream);
//!     tokio::io::copy(&mut reader, &mut writer).await?; // until the dialler shuts down
//!     writer.shutdown().await?;
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! };
//! let client = async {
//!     let mut stream = dial(&addr).await?;
//!     stream.write_all(b"hello").await?;
//!     stream.shutdown().await?;
//!     let mut echoed = Vec::new();
//!     stream.read_to_end(&mut echoed).await?;
//!     Ok::<_, Box<dyn std::error::Error>>(echoed)
//! };
//! let (served, echoed) = tokio::join!(echo, client);
//! served?;
//! assert_eq!(echoed?, b"hello");
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod address;
mod dial;
mod error;
mod listen;
mod registry;
mod stream;

pub use dial::dial;
pub use error::Error;
pub use listen::{ACCEPT_BACKLOG, Listener};
pub use registry::FIRST_EPHEMERAL_PORT;
pub use stream::{BUFFER_SIZE, MemoryStream};
