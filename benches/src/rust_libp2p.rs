use std::io;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use hyphae_perf::Params;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, noise, tcp, yamux};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{BUFFER_SIZE, Transport};

const PERF: StreamProtocol = StreamProtocol::new(hyphae_perf::PROTOCOL_ID);

/// Two rust-libp2p 0.57 swarms on loopback (TCP + Noise + Yamux unless started with
/// [`RustLibp2pPair::start_on`]; rust-libp2p's default configurations) connected once; each
/// run opens a new perf stream on that connection.
pub struct RustLibp2pPair {
    client: RustLibp2pClient,
    server: RustLibp2pServer,
}

/// A rust-libp2p 0.57 perf server: TCP (Noise or TLS, Yamux) and QUIC, as its listen
/// addresses say.
pub struct RustLibp2pServer {
    addrs: Vec<Multiaddr>,
    tasks: Vec<JoinHandle<()>>,
}

/// A rust-libp2p 0.57 perf client connected to one server.
pub struct RustLibp2pClient {
    control: libp2p_stream::Control,
    server_peer: PeerId,
    task: JoinHandle<()>,
}

/// What a swarm's driving task reports.
enum Event {
    Listening(Multiaddr),
    Connected(PeerId),
    DialFailed(String),
}

/// rust-libp2p's QUIC settings in a benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum QuicSettings {
    /// libp2p-quic's defaults: 10 MB stream and 15 MB connection receive windows, MTU
    /// discovery up to quinn's 1452-byte bound.
    #[default]
    Defaults,
    /// hyphae's defaults where libp2p-quic lets them be set: 24 MB stream and 36 MB
    /// connection receive windows, MTU discovery up to 6000-byte UDP payloads. Its send
    /// window (quinn's default) and UDP socket buffers (the system's) cannot be set.
    Matched,
}

impl QuicSettings {
    fn apply(self, config: libp2p::quic::Config) -> libp2p::quic::Config {
        match self {
            QuicSettings::Defaults => config,
            QuicSettings::Matched => {
                let hyphae = hyphae::quic::Config::default();
                let mut config = config.mtu_upper_bound(hyphae.max_udp_payload_size);
                config.max_stream_data = hyphae.stream_receive_window;
                config.max_connection_data = hyphae.connection_receive_window;
                config
            }
        }
    }
}

/// A swarm with TCP offering `security` (the server offers both), Yamux, and QUIC with
/// `quic` settings.
fn swarm(
    security: &[Transport],
    quic: QuicSettings,
) -> anyhow::Result<Swarm<libp2p_stream::Behaviour>> {
    let idle = |config: libp2p::swarm::Config| {
        config.with_idle_connection_timeout(Duration::from_secs(3600))
    };
    let quic = move |config| quic.apply(config);
    let builder = libp2p::SwarmBuilder::with_new_identity().with_tokio();
    let noise = security.contains(&Transport::TcpNoise);
    let tls = security.contains(&Transport::TcpTls);
    Ok(match (noise, tls) {
        (true, true) => builder
            .with_tcp(
                tcp::Config::default(),
                (noise::Config::new, libp2p::tls::Config::new),
                yamux::Config::default,
            )?
            .with_quic_config(quic)
            .with_behaviour(|_| libp2p_stream::Behaviour::new())?
            .with_swarm_config(idle)
            .build(),
        (false, true) => builder
            .with_tcp(
                tcp::Config::default(),
                libp2p::tls::Config::new,
                yamux::Config::default,
            )?
            .with_quic_config(quic)
            .with_behaviour(|_| libp2p_stream::Behaviour::new())?
            .with_swarm_config(idle)
            .build(),
        _ => builder
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )?
            .with_quic_config(quic)
            .with_behaviour(|_| libp2p_stream::Behaviour::new())?
            .with_swarm_config(idle)
            .build(),
    })
}

/// Polls `swarm` on its own task, reporting listen addresses, connections and failed dials.
fn drive(
    mut swarm: Swarm<libp2p_stream::Behaviour>,
    events: mpsc::UnboundedSender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let event = match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => Event::Listening(address),
                SwarmEvent::ConnectionEstablished { peer_id, .. } => Event::Connected(peer_id),
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    Event::DialFailed(error.to_string())
                }
                _ => continue,
            };
            let _ = events.send(event);
        }
    })
}

impl RustLibp2pServer {
    /// Listens on every address of `listen` (TCP with Noise and TLS, or QUIC) and serves
    /// perf on whatever connects.
    pub async fn start(listen: &[Multiaddr]) -> anyhow::Result<RustLibp2pServer> {
        RustLibp2pServer::start_with(listen, QuicSettings::Defaults).await
    }

    /// [`RustLibp2pServer::start`] with `quic` settings.
    pub async fn start_with(
        listen: &[Multiaddr],
        quic: QuicSettings,
    ) -> anyhow::Result<RustLibp2pServer> {
        let mut server = swarm(&[Transport::TcpNoise, Transport::TcpTls], quic)?;
        let mut incoming = server.behaviour().new_control().accept(PERF)?;
        for addr in listen {
            server.listen_on(addr.clone())?;
        }
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let mut tasks = vec![drive(server, events_tx)];
        tasks.push(tokio::spawn(async move {
            while let Some((_, stream)) = incoming.next().await {
                tokio::spawn(async move {
                    if let Err(error) = serve(stream).await {
                        eprintln!("rust-libp2p perf server: {error}");
                    }
                });
            }
        }));
        let mut addrs = Vec::new();
        while addrs.len() < listen.len() {
            match events.recv().await.context("server swarm stopped")? {
                Event::Listening(addr) => addrs.push(addr),
                Event::Connected(_) | Event::DialFailed(_) => {}
            }
        }
        // Later events (connections) need no reader.
        drop(events);
        Ok(RustLibp2pServer { addrs, tasks })
    }

    /// The addresses it listens on.
    pub fn addrs(&self) -> &[Multiaddr] {
        &self.addrs
    }

    /// Stops serving.
    pub fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

impl RustLibp2pClient {
    /// Dials `addr` (no `/p2p` needed) offering `transport`'s security over TCP, and waits
    /// for the connection.
    pub async fn connect(
        addr: Multiaddr,
        transport: Transport,
    ) -> anyhow::Result<RustLibp2pClient> {
        RustLibp2pClient::connect_with(addr, transport, QuicSettings::Defaults).await
    }

    /// [`RustLibp2pClient::connect`] with `quic` settings.
    pub async fn connect_with(
        addr: Multiaddr,
        transport: Transport,
        quic: QuicSettings,
    ) -> anyhow::Result<RustLibp2pClient> {
        let mut client = swarm(&[transport], quic)?;
        let control = client.behaviour().new_control();
        client.dial(addr.clone())?;
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let task = drive(client, events_tx);
        let server_peer = loop {
            match events.recv().await.context("client swarm stopped")? {
                Event::Connected(peer) => break peer,
                Event::DialFailed(error) => {
                    task.abort();
                    anyhow::bail!("dialling {addr}: {error}");
                }
                Event::Listening(_) => {}
            }
        };
        Ok(RustLibp2pClient {
            control,
            server_peer,
            task,
        })
    }

    /// Runs one perf exchange; the time covers opening the stream to the server's end of it.
    pub async fn perf(&mut self, params: Params) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let stream = self.control.open_stream(self.server_peer, PERF).await?;
        let received = run(stream, params).await?;
        let elapsed = start.elapsed();
        ensure!(received == params.download_bytes);
        Ok(elapsed)
    }

    /// Closes the connection.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl RustLibp2pPair {
    /// Starts both swarms on TCP + Noise + Yamux and connects them.
    pub async fn start() -> anyhow::Result<RustLibp2pPair> {
        RustLibp2pPair::start_on(Transport::TcpNoise).await
    }

    /// Starts both swarms on `transport` and connects them.
    pub async fn start_on(transport: Transport) -> anyhow::Result<RustLibp2pPair> {
        RustLibp2pPair::start_with_server_on(transport, &Handle::current()).await
    }

    /// Starts both swarms on `transport`, the server's tasks on `server_runtime` and the
    /// client's on the current one, and connects them.
    pub async fn start_with_server_on(
        transport: Transport,
        server_runtime: &Handle,
    ) -> anyhow::Result<RustLibp2pPair> {
        RustLibp2pPair::start_with(transport, server_runtime, QuicSettings::Defaults).await
    }

    /// [`RustLibp2pPair::start_with_server_on`] with `quic` settings on both swarms.
    pub async fn start_with(
        transport: Transport,
        server_runtime: &Handle,
        quic: QuicSettings,
    ) -> anyhow::Result<RustLibp2pPair> {
        let listen: Multiaddr = transport.multiaddr(([127, 0, 0, 1], 0).into()).parse()?;
        let server = server_runtime
            .spawn(async move { RustLibp2pServer::start_with(&[listen], quic).await })
            .await??;
        let addr = server
            .addrs()
            .first()
            .cloned()
            .context("the server listens nowhere")?;
        let client = RustLibp2pClient::connect_with(addr, transport, quic).await?;
        Ok(RustLibp2pPair { client, server })
    }

    /// Runs one perf exchange; the time covers opening the stream to the server's end of it.
    pub async fn perf(&mut self, params: Params) -> anyhow::Result<Duration> {
        self.client.perf(params).await
    }

    /// Stops both swarms.
    pub fn shutdown(self) {
        self.client.shutdown();
        self.server.shutdown();
    }
}

/// Writes `bytes` bytes from `buffer`.
async fn send(stream: &mut libp2p::Stream, buffer: &[u8], bytes: u64) -> io::Result<()> {
    let mut remaining = bytes;
    while remaining > 0 {
        let chunk = usize::try_from(remaining).map_or(buffer.len(), |r| r.min(buffer.len()));
        let written = stream.write(&buffer[..chunk]).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        remaining -= written as u64;
    }
    Ok(())
}

/// Reads to the end of the stream; returns how many bytes came.
async fn drain(stream: &mut libp2p::Stream, buffer: &mut [u8]) -> io::Result<u64> {
    let mut received = 0;
    loop {
        match stream.read(buffer).await? {
            0 => return Ok(received),
            read => received += read as u64,
        }
    }
}

/// The perf client on a rust-libp2p stream; returns how many bytes the server sent.
async fn run(mut stream: libp2p::Stream, params: Params) -> io::Result<u64> {
    let mut buffer = vec![0u8; BUFFER_SIZE];
    stream
        .write_all(&params.download_bytes.to_be_bytes())
        .await?;
    send(&mut stream, &buffer, params.upload_bytes).await?;
    stream.close().await?;
    drain(&mut stream, &mut buffer).await
}

/// The perf server on a rust-libp2p stream.
async fn serve(mut stream: libp2p::Stream) -> io::Result<()> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await?;
    let mut buffer = vec![0u8; BUFFER_SIZE];
    drain(&mut stream, &mut buffer).await?;
    send(&mut stream, &buffer, u64::from_be_bytes(header)).await?;
    stream.close().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_transport_runs_perf_both_ways() {
        for transport in Transport::ALL {
            let mut pair = RustLibp2pPair::start_on(transport).await.unwrap();
            for (upload_bytes, download_bytes) in [(100_000, 0), (0, 100_000)] {
                let params = Params {
                    upload_bytes,
                    download_bytes,
                };
                pair.perf(params).await.unwrap();
            }
            pair.shutdown();
        }
    }

    #[tokio::test]
    async fn a_client_of_a_missing_server_fails() {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        assert!(
            RustLibp2pClient::connect(addr, Transport::TcpTls)
                .await
                .is_err()
        );
    }
}
