use std::io;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use hyphae_perf::Params;
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, StreamProtocol, Swarm, noise, tcp, yamux};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::BUFFER_SIZE;

const PERF: StreamProtocol = StreamProtocol::new(hyphae_perf::PROTOCOL_ID);

/// Two rust-libp2p 0.57 swarms on loopback (TCP + Noise + Yamux, rust-libp2p's defaults)
/// connected once; each run opens a new perf stream on that connection.
pub struct RustLibp2pPair {
    control: libp2p_stream::Control,
    server_peer: PeerId,
    tasks: Vec<JoinHandle<()>>,
}

fn swarm() -> anyhow::Result<Swarm<libp2p_stream::Behaviour>> {
    Ok(libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| libp2p_stream::Behaviour::new())?
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build())
}

/// Polls `swarm` on its own task, forwarding its listen addresses and new connections.
fn drive(
    mut swarm: Swarm<libp2p_stream::Behaviour>,
    addrs: mpsc::UnboundedSender<libp2p::Multiaddr>,
    peers: mpsc::UnboundedSender<PeerId>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    let _ = addrs.send(address);
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    let _ = peers.send(peer_id);
                }
                _ => {}
            }
        }
    })
}

impl RustLibp2pPair {
    /// Starts both swarms and connects them.
    pub async fn start() -> anyhow::Result<RustLibp2pPair> {
        let mut server = swarm()?;
        let server_peer = *server.local_peer_id();
        let mut incoming = server.behaviour().new_control().accept(PERF)?;
        server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
        let (addr_tx, mut addr_rx) = mpsc::unbounded_channel();
        let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
        let mut tasks = vec![drive(server, addr_tx.clone(), peer_tx.clone())];
        tasks.push(tokio::spawn(async move {
            while let Some((_, stream)) = incoming.next().await {
                tokio::spawn(async move {
                    if let Err(error) = serve(stream).await {
                        eprintln!("rust-libp2p perf server: {error}");
                    }
                });
            }
        }));
        let addr = addr_rx.recv().await.context("server swarm stopped")?;

        let mut client = swarm()?;
        let control = client.behaviour().new_control();
        client.dial(addr)?;
        let (client_peer_tx, mut client_peer_rx) = mpsc::unbounded_channel();
        tasks.push(drive(client, addr_tx, client_peer_tx));
        let connected = client_peer_rx
            .recv()
            .await
            .context("client swarm stopped")?;
        ensure!(connected == server_peer);
        peer_rx.recv().await.context("server swarm stopped")?;
        Ok(RustLibp2pPair {
            control,
            server_peer,
            tasks,
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

    /// Stops both swarms.
    pub fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
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
