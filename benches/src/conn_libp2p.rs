//! The rust-libp2p 0.57 side of the connection benchmarks: a swarm with the behaviours a
//! hyphae node has built in (ping, identify), serving the bench protocols, driven on its own
//! task and controlled through a handle.
//!
//! Inbound bench streams are served by [`Serve`], a small behaviour that spawns a task per
//! stream: `libp2p-stream` hands inbound streams over a channel of one slot and drops them
//! when it is full, which a burst of 1000 streams would hit. Outbound streams go through
//! `libp2p-stream`'s `Control`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::atomic::AtomicU64;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use futures::StreamExt;
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::{DeniedUpgrade, InboundUpgrade, UpgradeInfo};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::handler::{ConnectionEvent, FullyNegotiatedInbound};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, SubstreamProtocol, SwarmEvent, THandler, THandlerInEvent, THandlerOutEvent,
    ToSwarm,
};
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol, Swarm, identify, noise, ping, tcp, yamux};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::compat::FuturesAsyncReadCompatExt;

use crate::conn_exchange;
use crate::conn_hyphae::{ECHO, SINK};

const ECHO_PROTOCOL: StreamProtocol = StreamProtocol::new(ECHO);
const SINK_PROTOCOL: StreamProtocol = StreamProtocol::new(SINK);

/// The behaviours of a bench swarm.
#[derive(libp2p::swarm::NetworkBehaviour)]
struct Behaviour {
    serve: Serve,
    stream: libp2p_stream::Behaviour,
    ping: ping::Behaviour,
    identify: identify::Behaviour,
}

/// A rust-libp2p node on its own task.
pub struct RustNode {
    commands: mpsc::UnboundedSender<Command>,
    control: libp2p_stream::Control,
    listen_addrs: Vec<Multiaddr>,
    task: JoinHandle<()>,
}

enum Command {
    Dial(Multiaddr, oneshot::Sender<anyhow::Result<PeerId>>),
    Disconnect(PeerId, oneshot::Sender<()>),
}

impl RustNode {
    /// Starts a swarm (TCP + Noise + Yamux, and QUIC) listening on `listen`; returns once
    /// every listener reported its address.
    pub async fn start(listen: &[Multiaddr], max_streams: usize) -> anyhow::Result<RustNode> {
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(tcp::Config::default(), noise::Config::new, || {
                let mut config = yamux::Config::default();
                config.set_max_num_streams(max_streams);
                config
            })?
            .with_quic()
            .with_behaviour(|key| Behaviour {
                serve: Serve,
                stream: libp2p_stream::Behaviour::new(),
                ping: ping::Behaviour::default(),
                identify: identify::Behaviour::new(identify::Config::new(
                    "ipfs/0.1.0".to_owned(),
                    key.public(),
                )),
            })?
            .with_swarm_config(|config| {
                config
                    .with_idle_connection_timeout(Duration::from_secs(3600))
                    .with_max_negotiating_inbound_streams(max_streams)
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
        let control = swarm.behaviour().stream.new_control();
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(swarm, receiver));
        Ok(RustNode {
            commands,
            control,
            listen_addrs,
            task,
        })
    }

    /// The addresses the node listens on, ending in `/p2p/<id>`.
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Opens a new connection to `addr` (whether or not one exists).
    pub async fn dial(&self, addr: &Multiaddr) -> anyhow::Result<PeerId> {
        let (reply, outcome) = oneshot::channel();
        self.commands
            .send(Command::Dial(addr.clone(), reply))
            .map_err(|_| anyhow!("swarm stopped"))?;
        outcome.await.context("swarm stopped")?
    }

    /// Closes every connection to `peer` and waits until they are closed.
    pub async fn disconnect(&self, peer: PeerId) {
        let (reply, closed) = oneshot::channel();
        if self.commands.send(Command::Disconnect(peer, reply)).is_ok() {
            let _ = closed.await;
        }
    }

    /// Opens a stream to `peer` speaking `protocol`.
    pub async fn open_stream(
        &self,
        peer: PeerId,
        protocol: StreamProtocol,
    ) -> anyhow::Result<Stream> {
        Ok(self.control.clone().open_stream(peer, protocol).await?)
    }

    /// Stops the swarm, dropping its connections.
    pub fn shutdown(self) {
        self.task.abort();
    }

    /// Connects to `addr` and does one 1-byte echo; returns the peer and the time from dial
    /// start until the byte came back.
    pub async fn connect_and_echo(&self, addr: &Multiaddr) -> anyhow::Result<(PeerId, Duration)> {
        let start = Instant::now();
        let peer = self.dial(addr).await?;
        let mut stream = self.open_stream(peer, ECHO_PROTOCOL).await?.compat();
        conn_exchange::echo_byte(&mut stream).await?;
        let elapsed = start.elapsed();
        stream.shutdown().await?;
        Ok((peer, elapsed))
    }

    /// `count` ping-sized (32-byte) round trips on one [`ECHO`] stream opened to `peer`;
    /// returns each round trip.
    pub async fn pings(&self, peer: PeerId, count: usize) -> anyhow::Result<Vec<Duration>> {
        let mut stream = self.open_stream(peer, ECHO_PROTOCOL).await?.compat();
        conn_exchange::round_trips(&mut stream, count).await
    }

    /// Uploads to a sink stream opened to `peer` until dropped, counting into `sent`.
    pub async fn upload_counting(&self, peer: PeerId, sent: &AtomicU64) -> anyhow::Result<()> {
        let stream = self.open_stream(peer, SINK_PROTOCOL).await?;
        conn_exchange::upload_counting(stream.compat(), sent).await
    }

    /// Opens `streams` streams to `peer` at once, each uploading `bytes` to the sink; returns
    /// the time until the last upload was acknowledged.
    pub async fn concurrent_uploads(
        &self,
        peer: PeerId,
        streams: usize,
        bytes: u64,
    ) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let uploads = (0..streams).map(|_| {
            let control = self.control.clone();
            tokio::spawn(async move {
                let stream = control.clone().open_stream(peer, SINK_PROTOCOL).await?;
                conn_exchange::upload_to_sink(stream.compat(), bytes).await
            })
        });
        for upload in futures::future::join_all(uploads).await {
            upload.context("upload task")??;
        }
        Ok(start.elapsed())
    }
}

/// Polls the swarm and carries out commands.
async fn drive(mut swarm: Swarm<Behaviour>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut dials: HashMap<ConnectionId, oneshot::Sender<anyhow::Result<PeerId>>> = HashMap::new();
    let mut disconnects: HashMap<PeerId, Vec<oneshot::Sender<()>>> = HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Dial(addr, reply)) => {
                    let opts = DialOpts::unknown_peer_id().address(addr).build();
                    let id = opts.connection_id();
                    match swarm.dial(opts) {
                        Ok(()) => {
                            dials.insert(id, reply);
                        }
                        Err(error) => {
                            let _ = reply.send(Err(error.into()));
                        }
                    }
                }
                Some(Command::Disconnect(peer, reply)) => {
                    if swarm.disconnect_peer_id(peer).is_ok() {
                        disconnects.entry(peer).or_default().push(reply);
                    } else {
                        let _ = reply.send(());
                    }
                }
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, connection_id, .. } => {
                    if let Some(reply) = dials.remove(&connection_id) {
                        let _ = reply.send(Ok(peer_id));
                    }
                }
                SwarmEvent::OutgoingConnectionError { connection_id, error, .. } => {
                    if let Some(reply) = dials.remove(&connection_id) {
                        let _ = reply.send(Err(error.into()));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    for reply in disconnects.remove(&peer_id).into_iter().flatten() {
                        let _ = reply.send(());
                    }
                }
                _ => {}
            },
        }
    }
}

/// Serves [`ECHO`] and [`SINK`] on inbound streams, a task per stream.
struct Serve;

impl NetworkBehaviour for Serve {
    type ConnectionHandler = ServeHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(ServeHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(ServeHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _: &mut TaskContext<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

struct ServeHandler;

/// Accepts the bench protocols as they are.
struct BenchProtocols;

impl UpgradeInfo for BenchProtocols {
    type Info = StreamProtocol;
    type InfoIter = [StreamProtocol; 2];

    fn protocol_info(&self) -> Self::InfoIter {
        [ECHO_PROTOCOL, SINK_PROTOCOL]
    }
}

impl InboundUpgrade<Stream> for BenchProtocols {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = Ready<Result<Self::Output, Infallible>>;

    fn upgrade_inbound(self, stream: Stream, protocol: StreamProtocol) -> Self::Future {
        ready(Ok((stream, protocol)))
    }
}

impl ConnectionHandler for ServeHandler {
    type FromBehaviour = Infallible;
    type ToBehaviour = Infallible;
    type InboundProtocol = BenchProtocols;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<BenchProtocols> {
        SubstreamProtocol::new(BenchProtocols, ())
    }

    fn poll(
        &mut self,
        _: &mut TaskContext<'_>,
    ) -> Poll<ConnectionHandlerEvent<DeniedUpgrade, (), Infallible>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, event: Infallible) {
        match event {}
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<BenchProtocols, DeniedUpgrade, (), ()>,
    ) {
        if let ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
            protocol: (stream, protocol),
            ..
        }) = event
        {
            tokio::spawn(async move {
                let _ = if protocol == ECHO_PROTOCOL {
                    conn_exchange::serve_echo(stream.compat()).await
                } else {
                    conn_exchange::serve_sink(stream.compat()).await
                };
            });
        }
    }
}
