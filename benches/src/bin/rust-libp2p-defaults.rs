//! A rust-libp2p 0.57 node as its users run it, the other node under test of the `attack`
//! binary: TCP + Noise + Yamux and QUIC, ping and identify, every setting at its default.
//!
//! `rust-libp2p-defaults [--listen ADDR]...` prints `PeerId: <id>` and one `Listening on <addr>`
//! line per listener (the lines `hyphae node` prints), then serves until killed.
//! The swarm's settings are the defaults too (idle connections close after 10 s).

use anyhow::anyhow;
use clap::Parser;
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, identify, noise, ping, tcp, yamux};

/// A default rust-libp2p node with ping and identify.
#[derive(Parser)]
struct Args {
    /// Address to listen on; may be repeated.
    #[arg(long, default_values = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"])]
    listen: Vec<Multiaddr>,
}

#[derive(libp2p::swarm::NetworkBehaviour)]
struct Behaviour {
    ping: ping::Behaviour,
    identify: identify::Behaviour,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_quic()
        .with_behaviour(|key| Behaviour {
            ping: ping::Behaviour::default(),
            identify: identify::Behaviour::new(identify::Config::new(
                "ipfs/0.1.0".to_owned(),
                key.public(),
            )),
        })?
        .build();
    let peer = *swarm.local_peer_id();
    println!("PeerId: {peer}");
    for addr in &args.listen {
        swarm.listen_on(addr.clone())?;
    }
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            let address = address.with_p2p(peer).map_err(|_| anyhow!("p2p"))?;
            println!("Listening on {address}");
        }
    }
}
