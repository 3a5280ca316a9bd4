//! `hyphae node` as the CLI runs it (ping, identify, Kademlia in `auto` mode, gossipsub,
//! `Limits::default()`), except that loopback is *not* exempt from the per-address caps and
//! rates: the attack suite's third node under test, `--stack hyphae-capped`, showing the
//! per-address defences that `hyphae node` on loopback cannot (its allow list always holds
//! loopback, and the attackers come from 127.0.0.2 … 127.0.0.251).
//!
//! `hyphae-capped-node [--listen ADDR]...` prints `PeerId: <id>` and one `Listening on <addr>`
//! line per listener, as `hyphae node` does, then serves until killed.

use clap::Parser;
use hyphae::gossipsub::Gossipsub;
use hyphae::kad::{Kademlia, ModeSetting};
use hyphae::{Limits, Multiaddr, Node};

/// A hyphae node with the CLI's services and loopback capped like any other address.
#[derive(Parser)]
struct Args {
    /// Address to listen on; may be repeated.
    #[arg(long, default_values = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"])]
    listen: Vec<Multiaddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let limits = Limits {
        allow: Vec::new(),
        ..Limits::default()
    };
    let mut builder = Node::builder().limits(limits);
    for addr in args.listen {
        builder = builder.listen(addr);
    }
    let node = builder
        .service(Kademlia::default().mode(ModeSetting::Automatic))
        .service(Gossipsub::default())
        .start()
        .await?;
    println!("PeerId: {}", node.peer_id());
    for addr in node.listen_addrs() {
        println!("Listening on {addr}");
    }
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}
