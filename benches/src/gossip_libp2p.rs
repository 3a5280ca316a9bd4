//! The rust-libp2p side of the gossipsub benchmarks: a swarm (TCP + Noise + Yamux, ping and
//! identify as a hyphae node runs them) with gossipsub configured as the hyphae side is
//! ([`crate::gossip_hyphae::service`]): the defaults, anonymous messages
//! (`MessageAuthenticity::Anonymous`), the same message id, no validation, 1 MiB RPCs, and
//! hyphae's bounds on the topics a peer may be in (`subscription_filter`).

use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::StreamExt;
use libp2p::gossipsub::{
    self, AllowAllSubscriptionFilter, IdentTopic, MaxCountSubscriptionFilter, MessageAuthenticity,
    MessageId, ValidationMode,
};
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{Multiaddr, identify, noise, ping, tcp, yamux};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::gossip_hyphae::{MAX_TRANSMIT_SIZE, message_id_of, topic};

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    ping: ping::Behaviour,
    identify: identify::Behaviour,
}

enum Command {
    Subscribe(usize, oneshot::Sender<anyhow::Result<()>>),
    Peers(usize, oneshot::Sender<(usize, usize)>),
    Delivered(oneshot::Sender<u64>),
}

/// A rust-libp2p gossipsub node on its own task.
pub struct RustGossipNode {
    commands: mpsc::UnboundedSender<Command>,
    listen_addrs: Vec<Multiaddr>,
    task: JoinHandle<()>,
}

impl RustGossipNode {
    /// Starts a swarm listening on `listen`; returns once every listener reported its
    /// address.
    pub async fn start(listen: &[Multiaddr]) -> anyhow::Result<RustGossipNode> {
        let config = gossipsub::ConfigBuilder::default()
            .validation_mode(ValidationMode::Anonymous)
            .message_id_fn(|message: &gossipsub::Message| {
                MessageId::new(&message_id_of(&message.data))
            })
            .max_transmit_size(MAX_TRANSMIT_SIZE)
            .build()
            .map_err(|error| anyhow!("gossipsub config: {error}"))?;
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )?
            .with_behaviour(|key| {
                Ok(Behaviour {
                    gossipsub: gossipsub::Behaviour::new_with_subscription_filter(
                        MessageAuthenticity::Anonymous,
                        config,
                        subscription_filter(),
                    )?,
                    ping: ping::Behaviour::default(),
                    identify: identify::Behaviour::new(identify::Config::new(
                        "ipfs/0.1.0".to_owned(),
                        key.public(),
                    )),
                })
            })?
            .with_swarm_config(|config| {
                config.with_idle_connection_timeout(Duration::from_secs(3600))
            })
            .build();
        let peer_id = *swarm.local_peer_id();
        for addr in listen {
            swarm.listen_on(addr.clone())?;
        }
        let mut listen_addrs = Vec::new();
        while listen_addrs.len() < listen.len() {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                listen_addrs.push(address.with_p2p(peer_id).map_err(|_| anyhow!("p2p"))?);
            }
        }
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(swarm, receiver));
        Ok(RustGossipNode {
            commands,
            listen_addrs,
            task,
        })
    }

    /// The addresses the node listens on, ending in `/p2p/<id>`.
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| anyhow!("swarm stopped"))?;
        answer.await.context("swarm stopped")
    }

    /// Joins topics `0..count` ([`topic`]).
    pub async fn subscribe(&self, count: usize) -> anyhow::Result<()> {
        self.ask(|reply| Command::Subscribe(count, reply)).await?
    }

    /// Connected peers subscribed to topic `index`, and our mesh peers in it.
    pub async fn peers(&self, index: usize) -> anyhow::Result<(usize, usize)> {
        self.ask(|reply| Command::Peers(index, reply)).await
    }

    /// Messages delivered to this node's application so far.
    pub async fn delivered(&self) -> anyhow::Result<u64> {
        self.ask(Command::Delivered).await
    }

    /// Stops the swarm, dropping its connections.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

/// The topics a peer may be in, as hyphae's defaults allow. rust-libp2p's default filter
/// (`MaxCountSubscriptionFilter::default()`) keeps at most 100 topics per peer and ignores
/// every subscription of an RPC with more than 100; beside hyphae's 1000 and 1000
/// (`Config::max_topics_per_peer`, `Limits::max_subscriptions`) that made the per-topic
/// benchmark with 500 topics never finish: the rust-libp2p node saw its peers in their
/// first 100 topics only.
fn subscription_filter() -> MaxCountSubscriptionFilter<AllowAllSubscriptionFilter> {
    MaxCountSubscriptionFilter {
        filter: AllowAllSubscriptionFilter {},
        max_subscribed_topics: hyphae::gossipsub::Config::default().max_topics_per_peer,
        max_subscriptions_per_request: hyphae::gossipsub::Limits::default().max_subscriptions,
    }
}

/// Polls the swarm, counts delivered messages and answers commands.
async fn drive(mut swarm: Swarm<Behaviour>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut delivered = 0u64;
    loop {
        tokio::select! {
            command = commands.recv() => {
                let gossipsub = &mut swarm.behaviour_mut().gossipsub;
                match command {
                    None => return,
                    Some(Command::Subscribe(count, reply)) => {
                        let outcome = (0..count).try_for_each(|index| {
                            gossipsub.subscribe(&IdentTopic::new(topic(index))).map(drop)
                        });
                        let _ = reply.send(outcome.map_err(|error| anyhow!("subscribe: {error}")));
                    }
                    Some(Command::Peers(index, reply)) => {
                        let hash = IdentTopic::new(topic(index)).hash();
                        let subscribed = gossipsub
                            .all_peers()
                            .filter(|(_, topics)| topics.contains(&&hash))
                            .count();
                        let mesh = gossipsub.mesh_peers(&hash).count();
                        let _ = reply.send((subscribed, mesh));
                    }
                    Some(Command::Delivered(reply)) => {
                        let _ = reply.send(delivered);
                    }
                }
            }
            event = swarm.select_next_some() => {
                if let SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                    gossipsub::Event::Message { .. },
                )) = event
                {
                    delivered += 1;
                }
            }
        }
    }
}
