//! `hyphae ping`: dial a peer and measure round trips.

use std::time::Duration;

use anyhow::Context;
use hyphae::{Multiaddr, Node};

/// Arguments of `hyphae ping`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The peer's address, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…
    addr: Multiaddr,
    /// How many pings to send.
    #[arg(long, default_value_t = 4)]
    count: u32,
    /// Pause between pings, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let node = Node::builder()
        .service(hyphae::ping::Ping::without_keepalive())
        .start()
        .await?;
    let peer = node
        .dial(&args.addr)
        .await
        .with_context(|| format!("dialling {}", args.addr))?;
    for sequence in 1..=args.count {
        let rtt = node
            .ping(peer)
            .await
            .with_context(|| format!("ping {sequence} to {peer}"))?;
        println!(
            "Pong from {peer}: seq={sequence} time={:.3} ms",
            rtt.as_secs_f64() * 1000.0
        );
        if sequence < args.count {
            tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        }
    }
    node.shutdown().await;
    Ok(())
}
