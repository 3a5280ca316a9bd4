//! `hyphae node`: run a node until interrupted.

use std::path::PathBuf;

use hyphae::{Multiaddr, Node};

/// Arguments of `hyphae node`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Address to listen on; may be repeated.
    #[arg(long, value_name = "ADDR", default_values_t = [default_listen()])]
    listen: Vec<Multiaddr>,
    /// Key file to use as the node's identity (created with a new Ed25519 key if missing).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

fn default_listen() -> Multiaddr {
    Multiaddr::from(std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let mut builder = Node::builder();
    if let Some(path) = &args.key {
        builder = builder.keypair(crate::id::load_or_create(path, None)?);
    }
    for addr in args.listen {
        builder = builder.listen(addr);
    }
    let node = builder.start().await?;
    println!("PeerId: {}", node.peer_id());
    for addr in node.listen_addrs() {
        println!("Listening on {addr}");
    }
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}
