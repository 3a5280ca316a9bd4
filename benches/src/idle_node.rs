//! The nodes of `connections --bench idle-node`: many peers, each its own identity with the
//! default services of a node (ping, identify, Kademlia and gossipsub), holding an idle
//! connection to one node under test (`hyphae node`, or the `rust-libp2p-defaults` binary
//! with `--services all`).
//!
//! The peers' services are on so that the node's open their streams as they would to real
//! peers: identify exchanges, gossipsub's long-lived stream each way, ping's keepalive
//! stream; Kademlia in its automatic mode (a client without a confirmed public address, as
//! the node under test on loopback) opens none.

use std::time::Duration;

use anyhow::anyhow;
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Swarm, noise, tcp, yamux};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A hyphae peer with the services of `hyphae node` (Kademlia in automatic mode, gossipsub,
/// and the built-in ping and identify), connected to `addr`.
pub async fn hyphae_peer(addr: &hyphae::Multiaddr) -> anyhow::Result<hyphae::Node> {
    let node = hyphae::Node::builder()
        .service(hyphae::kad::Kademlia::default())
        .service(hyphae::gossipsub::Gossipsub::default())
        .start()
        .await?;
    node.dial(addr).await?;
    Ok(node)
}

pub use services::RustServices;

// The derive makes a public event enum, one undocumented variant per behaviour.
#[allow(missing_docs)]
mod services {
    use anyhow::anyhow;
    use libp2p::kad::store::MemoryStore;
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{gossipsub, identify, kad, ping};

    /// The behaviours of a rust-libp2p 0.57 node with the services of a default node: ping,
    /// identify, Kademlia (its automatic mode, the IPFS protocol) and gossipsub (signed
    /// messages), each with its default settings.
    #[derive(NetworkBehaviour)]
    pub struct RustServices {
        ping: ping::Behaviour,
        identify: identify::Behaviour,
        kad: kad::Behaviour<MemoryStore>,
        gossipsub: gossipsub::Behaviour,
    }

    impl RustServices {
        /// The services for the node of `key`.
        pub fn new(key: &libp2p::identity::Keypair) -> anyhow::Result<RustServices> {
            let peer = key.public().to_peer_id();
            Ok(RustServices {
                ping: ping::Behaviour::default(),
                identify: identify::Behaviour::new(identify::Config::new(
                    "ipfs/0.1.0".to_owned(),
                    key.public(),
                )),
                kad: kad::Behaviour::with_config(
                    peer,
                    MemoryStore::new(peer),
                    kad::Config::new(kad::PROTOCOL_NAME),
                ),
                gossipsub: gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gossipsub::Config::default(),
                )
                .map_err(|error| anyhow!("gossipsub: {error}"))?,
            })
        }
    }
}

/// A rust-libp2p swarm over TCP + Noise + Yamux with [`RustServices`], closing connections
/// idle for `idle_timeout` (its default is 10 s; `hyphae node` closes none for idleness).
pub fn rust_swarm(idle_timeout: Duration) -> anyhow::Result<Swarm<RustServices>> {
    Ok(libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| RustServices::new(key).map_err(Into::into))?
        .with_swarm_config(|config| config.with_idle_connection_timeout(idle_timeout))
        .build())
}

/// A rust-libp2p peer with [`RustServices`] connected to `addr`, driven by its own task
/// until the handle is aborted.
pub async fn rust_peer(addr: &libp2p::Multiaddr) -> anyhow::Result<JoinHandle<()>> {
    let mut swarm = rust_swarm(Duration::from_secs(24 * 3600))?;
    swarm.dial(addr.clone())?;
    let (connected, outcome) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut connected = Some(connected);
        loop {
            let event = swarm.select_next_some().await;
            let result = match event {
                SwarmEvent::ConnectionEstablished { .. } => Ok(()),
                SwarmEvent::OutgoingConnectionError { error, .. } => Err(anyhow!("{error}")),
                _ => continue,
            };
            if let Some(connected) = connected.take() {
                let _ = connected.send(result);
            }
        }
    });
    match outcome.await {
        Ok(Ok(())) => Ok(task),
        Ok(Err(error)) => {
            task.abort();
            Err(error)
        }
        Err(_) => Err(anyhow!("the peer's task ended")),
    }
}
