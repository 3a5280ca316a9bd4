//! The libp2p perf protocol: a client-driven benchmark of one stream's upload and download
//! throughput.
//!
//! Spec: `perf/perf.md` in the libp2p/specs repository. Protocol id: [`PROTOCOL_ID`]
//! (`/perf/1.0.0`). The client sends the number of bytes it wants back as a big-endian
//! `u64`, uploads any number of bytes and closes its write side; the server drains the
//! upload to EOF, then sends the requested bytes and closes.
//!
//! - [`run`]: the client side over any `AsyncRead + AsyncWrite` stream, with progress reports;
//! - [`serve`]: the server side;
//! - [`Perf`]: both as a node service (`Builder::service(Perf::server())`), whose
//!   [`Handle::run`] measures against a peer.
//!
//! The spec warns that perf lets a client make a server do unbounded work: serve it only on
//! nodes meant for benchmarking (hyphae never serves it unless asked: [`Perf::client`],
//! the default, only measures).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hyphae_perf::Error> {
//! use hyphae_perf::Params;
//!
//! let (client, server) = tokio::io::duplex(64 * 1024);
//! let server = tokio::spawn(hyphae_perf::serve(server));
//! let params = Params { upload_bytes: 1 << 20, download_bytes: 1 << 20 };
//! let report = hyphae_perf::run(client, params, |_progress| {}).await?;
//! assert_eq!((report.upload_bytes, report.download_bytes), (1 << 20, 1 << 20));
//! let served = server.await.expect("server task")?;
//! assert_eq!(served.received_bytes, 1 << 20);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod client;
mod error;
mod message;
mod meter;
mod server;
mod service;

use std::time::Duration;

pub use client::{Params, Report, run};
pub use error::Error;
pub use message::HEADER_LEN;
pub use meter::Progress;
pub use server::{Served, serve};
pub use service::{Handle, Perf};

/// The protocol id negotiated for perf streams (spec: "Protocol").
pub const PROTOCOL_ID: &str = "/perf/1.0.0";

/// Size of the one buffer each side reads into and writes from: large enough that the
/// per-call overhead of the stream is small beside the copy, allocated and zeroed once per
/// stream.
pub const BUFFER_SIZE: usize = 256 * 1024;

/// How long [`serve`] waits for the size header of a new stream, so that streams opened
/// and left idle do not hold a task forever.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`run`] reports progress.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(1);
