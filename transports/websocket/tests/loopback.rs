//! hyphae client against hyphae server over real loopback sockets, `/ws` and `/wss`.

use std::sync::Arc;

use hyphae_multiaddr::Multiaddr;
use hyphae_websocket::{Config, Listener, Role, Socket, TlsConfig, WsStream, dial};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

/// Deterministic pseudo-random bytes (xorshift), so corruption cannot hide in a pattern.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Echoes everything until EOF, then shuts down.
async fn echo(mut stream: WsStream<Socket>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let read = stream.read(&mut buf).await.unwrap();
        if read == 0 {
            break;
        }
        stream.write_all(&buf[..read]).await.unwrap();
    }
    stream.shutdown().await.unwrap();
}

/// Sends `data`, reads back as many bytes, checks them, then closes and expects EOF.
async fn echo_round_trip(stream: WsStream<Socket>, data: Vec<u8>) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let expected = data.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&data).await.unwrap();
        writer.flush().await.unwrap();
        writer
    });
    let mut received = vec![0u8; expected.len()];
    reader.read_exact(&mut received).await.unwrap();
    assert!(received == expected, "echoed bytes differ");
    let mut writer = writing.await.unwrap();
    writer.shutdown().await.unwrap();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn echoes_a_mebibyte_both_ways_over_ws() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let target = listener.listen_addrs()[0].clone();
    assert!(target.to_string().ends_with("/ws"), "{target}");
    let server = tokio::spawn(async move {
        let (stream, remote) = listener.accept().await.unwrap();
        assert_eq!(stream.role(), Role::Server);
        assert!(remote.to_string().starts_with("/ip4/127.0.0.1/tcp/"));
        assert!(remote.to_string().ends_with("/ws"));
        echo(stream).await;
    });
    let stream = dial(&target, &Config::default()).await.unwrap();
    assert_eq!(stream.role(), Role::Client);
    echo_round_trip(stream, pattern(1024 * 1024, 1)).await;
    server.await.unwrap();
}

#[tokio::test]
async fn listens_and_dials_over_ipv6() {
    let listener = Listener::bind(&addr("/ip6/::1/tcp/0/ws"), &Config::default()).unwrap();
    let target = listener.listen_addrs()[0].clone();
    let server = tokio::spawn(async move { echo(listener.accept().await.unwrap().0).await });
    let stream = dial(&target, &Config::default()).await.unwrap();
    echo_round_trip(stream, pattern(5000, 2)).await;
    server.await.unwrap();
}

#[tokio::test]
async fn carries_many_small_writes_in_order() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let target = listener.listen_addrs()[0].clone();
    let data = pattern(100_000, 3);
    let expected = data.clone();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.unwrap();
        assert!(received == expected);
        // The client's close was echoed; writing now fails instead of sending after close.
        assert!(stream.write_all(b"late").await.is_err());
    });
    let mut stream = dial(&target, &Config::default()).await.unwrap();
    let mut rest = data.as_slice();
    let mut size = 1;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        stream.write_all(chunk).await.unwrap();
        rest = tail;
        size = size % 97 + 1;
    }
    stream.shutdown().await.unwrap();
    let mut after = Vec::new();
    stream.read_to_end(&mut after).await.unwrap();
    assert!(after.is_empty());
    server.await.unwrap();
}

#[tokio::test]
async fn server_shutdown_ends_the_clients_reads() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let target = listener.listen_addrs()[0].clone();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"bye").await.unwrap();
        stream.shutdown().await.unwrap();
        // The client answers our close; then reads see EOF.
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
    let mut stream = dial(&target, &Config::default()).await.unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"bye");
    stream.shutdown().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn wss_with_a_self_signed_certificate() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let config = Config {
        tls: TlsConfig {
            client: Some(TlsConfig::client_with_roots(roots).unwrap()),
            server: Some(TlsConfig::server_with_cert(vec![cert], key).unwrap()),
        },
        ..Config::default()
    };
    let listener = Arc::new(Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/wss"), &config).unwrap());
    let port = listener.local_addr().port();
    assert_eq!(
        listener.listen_addrs(),
        vec![addr(&format!("/ip4/127.0.0.1/tcp/{port}/wss"))]
    );
    let accepting = listener.clone();
    let server = tokio::spawn(async move {
        for _ in 0..3 {
            let (stream, remote) = accepting.accept().await.unwrap();
            assert!(matches!(stream.get_ref(), Socket::Tls(_)));
            assert!(remote.to_string().ends_with("/wss"));
            tokio::spawn(echo(stream));
        }
    });
    // Verified against the IP address, a /dns name and an /sni name.
    for target in [
        format!("/ip4/127.0.0.1/tcp/{port}/wss"),
        format!("/dns4/localhost/tcp/{port}/wss"),
        format!("/ip4/127.0.0.1/tcp/{port}/tls/sni/localhost/ws"),
    ] {
        let stream = dial(&addr(&target), &config).await.unwrap();
        echo_round_trip(stream, pattern(300_000, 4)).await;
    }
    server.await.unwrap();

    // A client that does not trust the certificate refuses the connection.
    let untrusting = Config::default();
    let refused = dial(
        &addr(&format!("/ip4/127.0.0.1/tcp/{port}/wss")),
        &untrusting,
    )
    .await;
    assert!(
        matches!(refused, Err(hyphae_websocket::Error::Tls(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn tls_listener_needs_a_certificate() {
    let result = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/tls/ws"), &Config::default());
    assert!(matches!(
        result,
        Err(hyphae_websocket::Error::TlsNotConfigured { .. })
    ));
}
