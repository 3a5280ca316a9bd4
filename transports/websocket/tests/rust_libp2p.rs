//! Interoperability with rust-libp2p's WebSocket transport (libp2p-websocket over
//! libp2p-tcp, crates.io releases): each side dials the other's listener and echoes data.

use std::pin::Pin;

use futures::future::poll_fn;
use hyphae_websocket::{Config, Listener, dial};
use libp2p_core::Endpoint;
use libp2p_core::transport::{DialOpts, ListenerId, PortUse, Transport, TransportEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

fn libp2p_transport() -> libp2p_websocket::Config<libp2p_tcp::tokio::Transport> {
    libp2p_websocket::Config::new(libp2p_tcp::tokio::Transport::new(
        libp2p_tcp::Config::default(),
    ))
}

/// Over a libp2p connection (futures-io): writes `data`, reads it back, closes.
async fn libp2p_echo_client<S>(stream: S, data: &[u8]) -> Vec<u8>
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    use futures::{AsyncReadExt as _, AsyncWriteExt as _};
    let (mut reader, mut writer) = stream.split();
    let sent = data.to_vec();
    let writing = async move {
        writer.write_all(&sent).await.unwrap();
        writer.flush().await.unwrap();
        writer
    };
    let reading = async {
        let mut echoed = vec![0; data.len()];
        reader.read_exact(&mut echoed).await.unwrap();
        echoed
    };
    let (mut writer, echoed) = futures::join!(writing, reading);
    writer.close().await.unwrap();
    // Our listener answers the close: the read side ends cleanly.
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    echoed
}

/// Over a libp2p connection: echoes everything until EOF.
async fn libp2p_echo_server<S>(mut stream: S) -> usize
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    use futures::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let read = stream.read(&mut buf).await.unwrap_or(0);
        if read == 0 {
            break;
        }
        total += read;
        stream.write_all(&buf[..read]).await.unwrap();
        stream.flush().await.unwrap();
    }
    let _ = stream.close().await;
    total
}

#[tokio::test]
async fn rust_libp2p_dials_a_hyphae_listener() {
    let listener = Listener::bind(
        &"/ip4/127.0.0.1/tcp/0/ws".parse().unwrap(),
        &Config::default(),
    )
    .unwrap();
    let target: libp2p_core::Multiaddr = listener.listen_addrs()[0].to_string().parse().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 16 * 1024];
        let mut total = 0;
        loop {
            let read = stream.read(&mut buf).await.unwrap();
            if read == 0 {
                break;
            }
            total += read;
            stream.write_all(&buf[..read]).await.unwrap();
        }
        stream.shutdown().await.unwrap();
        total
    });
    let mut transport = libp2p_transport();
    let dialing = transport
        .dial(
            target,
            DialOpts {
                role: Endpoint::Dialer,
                port_use: PortUse::New,
            },
        )
        .unwrap();
    let stream = dialing.await.unwrap();
    let data = pattern(300_000);
    let echoed = libp2p_echo_client(stream, &data).await;
    assert!(echoed == data);
    assert_eq!(server.await.unwrap(), data.len());
}

#[tokio::test]
async fn hyphae_dials_a_rust_libp2p_listener() {
    let mut transport = libp2p_transport();
    transport
        .listen_on(
            ListenerId::next(),
            "/ip4/127.0.0.1/tcp/0/ws".parse().unwrap(),
        )
        .unwrap();
    let listen_addr = loop {
        match poll_fn(|cx| Pin::new(&mut transport).poll(cx)).await {
            TransportEvent::NewAddress { listen_addr, .. } => break listen_addr,
            TransportEvent::ListenerError { error, .. } => panic!("{error}"),
            _ => {}
        }
    };
    let target = listen_addr.to_string().parse().unwrap();
    let data = pattern(300_000);
    let sent = data.clone();
    let client = tokio::spawn(async move {
        let stream = dial(&target, &Config::default()).await.unwrap();
        let (mut reader, mut writer) = tokio::io::split(stream);
        let writing = tokio::spawn(async move {
            writer.write_all(&sent).await.unwrap();
            writer.flush().await.unwrap();
            writer
        });
        let mut echoed = vec![0; data.len()];
        reader.read_exact(&mut echoed).await.unwrap();
        assert!(echoed == data);
        let mut writer = writing.await.unwrap();
        writer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
    let upgrade = loop {
        match poll_fn(|cx| Pin::new(&mut transport).poll(cx)).await {
            TransportEvent::Incoming { upgrade, .. } => break upgrade,
            TransportEvent::ListenerError { error, .. } => panic!("{error}"),
            _ => {}
        }
    };
    let stream = upgrade.await.unwrap();
    assert_eq!(libp2p_echo_server(stream).await, 300_000);
    client.await.unwrap();
}
