//! hyphae's perf against rust-libp2p 0.57 (crates.io), both ways, over TCP + Noise + Yamux.
//!
//! rust-libp2p's own perf crate is not published for 0.57, so the rust-libp2p side is a
//! minimal perf peer on `libp2p-stream`, written here from the spec with futures I/O: the
//! bytes on the wire are checked by an implementation that shares no code with ours.

use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use hyphae::Node;
use hyphae_perf::{PROTOCOL_ID, Params, Served, run, serve};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, noise, tcp, yamux};
use tokio::sync::mpsc;

const PERF: StreamProtocol = StreamProtocol::new("/perf/1.0.0");
const CHUNK: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);

fn rust_swarm() -> Swarm<libp2p_stream::Behaviour> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .unwrap()
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Drives `swarm` on its own task, forwarding listen addresses and established connections.
fn drive(
    mut swarm: Swarm<libp2p_stream::Behaviour>,
) -> (
    mpsc::UnboundedReceiver<Multiaddr>,
    mpsc::UnboundedReceiver<PeerId>,
) {
    let (addr_tx, addr_rx) = mpsc::unbounded_channel();
    let (peer_tx, peer_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    let _ = addr_tx.send(address);
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    let _ = peer_tx.send(peer_id);
                }
                _ => {}
            }
        }
    });
    (addr_rx, peer_rx)
}

/// The rust-libp2p perf server: size header, drain to EOF, send, close.
async fn rust_serve(mut stream: libp2p::Stream) -> std::io::Result<(u64, u64)> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await?;
    let size = u64::from_be_bytes(header);
    let mut buffer = vec![0u8; CHUNK];
    let mut received = 0u64;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        received += read as u64;
    }
    let mut remaining = size;
    while remaining > 0 {
        let chunk = remaining.min(CHUNK as u64) as usize;
        stream.write_all(&buffer[..chunk]).await?;
        remaining -= chunk as u64;
    }
    stream.close().await?;
    Ok((received, size))
}

/// The rust-libp2p perf client; returns how many bytes the server sent.
async fn rust_run(mut stream: libp2p::Stream, upload: u64, download: u64) -> std::io::Result<u64> {
    stream.write_all(&download.to_be_bytes()).await?;
    let mut buffer = vec![0u8; CHUNK];
    let mut remaining = upload;
    while remaining > 0 {
        let chunk = remaining.min(CHUNK as u64) as usize;
        stream.write_all(&buffer[..chunk]).await?;
        remaining -= chunk as u64;
    }
    stream.close().await?;
    let mut received = 0u64;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(received);
        }
        received += read as u64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_client_against_rust_libp2p_server() {
    let mut swarm = rust_swarm();
    let rust_peer = *swarm.local_peer_id();
    let mut control = swarm.behaviour().new_control();
    let mut incoming = control.accept(PERF).unwrap();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let (mut addrs, _peers) = drive(swarm);
    let (served_tx, mut served_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((_, stream)) = incoming.next().await {
            let _ = served_tx.send(rust_serve(stream).await.map_err(|e| e.to_string()));
        }
    });
    let addr = addrs.recv().await.unwrap();
    let addr: hyphae::Multiaddr = format!("{addr}/p2p/{rust_peer}").parse().unwrap();

    let node = Node::builder().start().await.unwrap();
    let peer = node.dial(&addr).await.unwrap();
    assert_eq!(peer.to_string(), rust_peer.to_string());
    for (upload_bytes, download_bytes) in [
        (0, 0),
        ((4 << 20) + 1, 0),
        (0, (4 << 20) + 9),
        (1 << 20, 3 << 20),
    ] {
        let params = Params {
            upload_bytes,
            download_bytes,
        };
        let stream = node.open_stream(peer, PROTOCOL_ID).await.unwrap();
        let report = tokio::time::timeout(TIMEOUT, run(stream, params, |_| {}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (report.upload_bytes, report.download_bytes),
            (upload_bytes, download_bytes)
        );
        let served = served_rx.recv().await.unwrap().unwrap();
        assert_eq!(served, (upload_bytes, download_bytes));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_client_against_hyphae_server() {
    let node = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let (served_tx, mut served_rx) = mpsc::unbounded_channel();
    node.handle(PROTOCOL_ID, move |stream| {
        let served_tx = served_tx.clone();
        async move {
            let _ = served_tx.send(serve(stream).await.map_err(|error| error.to_string()));
        }
    });
    let addr: Multiaddr = node.listen_addrs()[0].to_string().parse().unwrap();

    let mut swarm = rust_swarm();
    let mut control = swarm.behaviour().new_control();
    swarm.dial(addr).unwrap();
    let (_addrs, mut peers) = drive(swarm);
    let peer = peers.recv().await.unwrap();
    assert_eq!(peer.to_string(), node.peer_id().to_string());

    for (upload_bytes, download_bytes) in [
        (0, 0),
        ((4 << 20) + 1, 0),
        (0, (4 << 20) + 9),
        (1 << 20, 3 << 20),
    ] {
        let stream = control.open_stream(peer, PERF).await.unwrap();
        let received =
            tokio::time::timeout(TIMEOUT, rust_run(stream, upload_bytes, download_bytes))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(received, download_bytes);
        let served = served_rx.recv().await.unwrap().unwrap();
        assert_eq!(
            served,
            Served {
                received_bytes: upload_bytes,
                sent_bytes: download_bytes
            }
        );
    }
}
