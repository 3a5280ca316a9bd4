//! Benchmarks of hyphae beside rust-libp2p and raw TCP, measured side by side in one run
//! (the machines are shared and noisy: only ratios from one run mean much).
//!
//! Each "pair" below is a client and a server in this process on loopback, able to run one
//! libp2p perf exchange (spec: perf/perf.md in libp2p/specs) and time it:
//!
//! - [`HyphaePair`]: two hyphae nodes, TCP + Noise + Yamux, with `hyphae-perf`;
//! - [`RustLibp2pPair`]: two rust-libp2p 0.57 swarms, TCP + Noise + Yamux, with a perf peer
//!   on `libp2p-stream`;
//! - [`RawTcpPair`]: plain tokio sockets speaking the same perf exchange, the ceiling.
//!
//! [`crypto`] measures what one core can encrypt, the other ceiling of a secure channel.
//! The `throughput` binary runs them all and prints the table.
//!
//! [`conn_hyphae`] and [`conn_libp2p`] are the nodes of the `connections` binary: connection
//! establishment, handshakes per second, ping RTT, many streams, memory per connection.
//!
//! [`gossip_hyphae`] and [`gossip_libp2p`] are the gossipsub nodes of the `gossip` binary:
//! messages per second relayed by one node, memory per peer and per topic.
//!
//! [`idle_node`] holds the peers of `connections --bench idle-node`: thousands of identities
//! with a default node's services, each idly connected to one node under test.
//!
//! [`attack`] is the attack suite of the `attack` binary: known attacks on a node under test
//! (`hyphae node`, or the `rust-libp2p-defaults` binary), with an honest peer probing it.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod attack;
mod conn_exchange;
pub mod conn_hyphae;
pub mod conn_libp2p;
pub mod crypto;
mod end_thread;
pub mod gossip_hyphae;
pub mod gossip_libp2p;
mod hyphae_pair;
pub mod idle_node;
pub mod perf_path;
pub mod process;
mod raw_tcp;
mod rust_libp2p;
pub mod stats;
mod throughput_transport;

pub use end_thread::EndThread;
pub use hyphae_pair::HyphaePair;
pub use raw_tcp::{RawTcpPair, raw_tcp_perf, raw_tcp_serve};
pub use rust_libp2p::{QuicSettings, RustLibp2pClient, RustLibp2pPair, RustLibp2pServer};
pub use throughput_transport::{PerfArgs, Transport};

/// Size of the buffers every perf implementation here reads into and writes from.
pub const BUFFER_SIZE: usize = hyphae_perf::BUFFER_SIZE;

/// The commit of the working tree the benchmarks run in (`git rev-parse HEAD`), recorded
/// with each run's results; `None` outside a git checkout.
pub fn measured_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| commit.trim().to_owned())
}

/// `given`, or the binary called `name` in this binary's directory (where cargo puts the
/// workspace's binaries); fails if it is not a file.
pub fn binary_or_sibling(
    given: &Option<std::path::PathBuf>,
    name: &str,
) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let path = match given {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(|dir| dir.join(name))
            .context("no directory")?,
    };
    if !path.is_file() {
        anyhow::bail!("{} not found (build it, or pass its path)", path.display());
    }
    Ok(path)
}
