//! A rust-libp2p 0.57 node as its users run it, the other node under test of the `attack`
//! binary and of `connections --bench idle-node`: TCP + Noise + Yamux and QUIC, ping and
//! identify (and with `--services all` Kademlia and gossipsub too), every setting at its
//! default.
//!
//! `rust-libp2p-defaults [--listen ADDR]... [--services all] [--idle-timeout-secs S]` prints
//! `PeerId: <id>` and one `Listening on <addr>` line per listener (the lines `hyphae node`
//! prints), then serves until killed. The swarm's settings are the defaults too (idle
//! connections close after 10 s) unless `--idle-timeout-secs` says otherwise.

use std::time::Duration;

use anyhow::anyhow;
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use hyphae_benches::idle_node::RustServices;
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{Multiaddr, identify, noise, ping, tcp, yamux};

/// A default rust-libp2p node with ping and identify.
#[derive(Parser)]
struct Args {
    /// Address to listen on; may be repeated.
    #[arg(long, default_values = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"])]
    listen: Vec<Multiaddr>,
    /// Which services run.
    #[arg(long, value_enum, default_value_t = Services::PingIdentify)]
    services: Services,
    /// Close connections idle for this long (rust-libp2p's default: 10 s).
    #[arg(long, default_value_t = 10)]
    idle_timeout_secs: u64,
}

/// The services a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Services {
    /// Ping and identify.
    PingIdentify,
    /// Ping, identify, Kademlia and gossipsub: the services `hyphae node` runs.
    All,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    ping: ping::Behaviour,
    identify: identify::Behaviour,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let idle_timeout = Duration::from_secs(args.idle_timeout_secs);
    match args.services {
        Services::PingIdentify => {
            let swarm = swarm(idle_timeout, |key| {
                Ok(Behaviour {
                    ping: ping::Behaviour::default(),
                    identify: identify::Behaviour::new(identify::Config::new(
                        "ipfs/0.1.0".to_owned(),
                        key.public(),
                    )),
                })
            })?;
            serve(swarm, &args.listen).await
        }
        Services::All => serve(swarm(idle_timeout, RustServices::new)?, &args.listen).await,
    }
}

/// A default swarm (TCP + Noise + Yamux, QUIC) running `behaviour`, closing connections
/// idle for `idle_timeout`.
fn swarm<B: NetworkBehaviour>(
    idle_timeout: Duration,
    behaviour: impl FnOnce(&libp2p::identity::Keypair) -> anyhow::Result<B>,
) -> anyhow::Result<Swarm<B>> {
    Ok(libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_quic()
        .with_behaviour(|key| behaviour(key).map_err(Into::into))?
        .with_swarm_config(|config| config.with_idle_connection_timeout(idle_timeout))
        .build())
}

/// Listens on `listen`, prints the addresses, and drives `swarm` forever.
async fn serve<B: NetworkBehaviour>(
    mut swarm: Swarm<B>,
    listen: &[Multiaddr],
) -> anyhow::Result<()> {
    let peer = *swarm.local_peer_id();
    println!("PeerId: {peer}");
    for addr in listen {
        swarm.listen_on(addr.clone())?;
    }
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            let address = address.with_p2p(peer).map_err(|_| anyhow!("p2p"))?;
            println!("Listening on {address}");
        }
    }
}
