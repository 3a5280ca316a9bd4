//! hyphae to hyphae handshakes over in-memory pipes and TCP.

use hyphae_identity::{KeyType, Keypair, PeerId};
use hyphae_tls::{Config, Error, Output, TlsStream, upgrade_inbound, upgrade_outbound};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};

const YAMUX: &str = "/yamux/1.0.0";
const MPLEX: &str = "/mplex/6.7.0";

type Upgraded<T> = Result<(Output, TlsStream<T>), Error>;

async fn handshake(
    dialer: &Config,
    listener: &Config,
    expected: Option<PeerId>,
) -> (Upgraded<DuplexStream>, Upgraded<DuplexStream>) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    tokio::join!(
        upgrade_outbound(a, dialer, expected),
        upgrade_inbound(b, listener)
    )
}

/// Sends `data` from `a` to `b` and back the other way.
async fn exchange<A, B>(a: &mut A, b: &mut B, data: &[u8])
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let echo = async {
        let mut received = vec![0; data.len()];
        b.read_exact(&mut received).await.unwrap();
        b.write_all(&received).await.unwrap();
        b.flush().await.unwrap();
    };
    let send = async {
        a.write_all(data).await.unwrap();
        a.flush().await.unwrap();
        let mut back = vec![0; data.len()];
        a.read_exact(&mut back).await.unwrap();
        back
    };
    let ((), back) = tokio::join!(echo, send);
    assert_eq!(back, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_type_authenticates_both_ways_over_a_pipe() {
    for dialer_type in KeyType::ALL {
        let listener_type = match dialer_type {
            KeyType::Rsa => KeyType::Ed25519,
            other => other,
        };
        let dialer = Keypair::generate(dialer_type).unwrap();
        let listener = Keypair::generate(listener_type).unwrap();
        let (outbound, inbound) = handshake(
            &Config::new(&dialer).unwrap(),
            &Config::new(&listener).unwrap(),
            Some(listener.peer_id()),
        )
        .await;
        let (output, mut a) = outbound.unwrap();
        let (input, mut b) = inbound.unwrap();
        assert_eq!(output.remote_peer, listener.peer_id(), "{dialer_type:?}");
        assert_eq!(output.remote_public_key, listener.public());
        assert_eq!(input.remote_peer, dialer.peer_id(), "{dialer_type:?}");
        assert_eq!(output.muxer, None);
        assert_eq!(input.muxer, None);
        exchange(&mut a, &mut b, b"ping").await;
        exchange(&mut b, &mut a, &vec![0x5a; 100_000]).await;
    }
}

#[tokio::test]
async fn rsa_listener_authenticates() {
    let dialer = Keypair::generate_ed25519();
    let listener = Keypair::generate(KeyType::Rsa).unwrap();
    let (outbound, inbound) = handshake(
        &Config::new(&dialer).unwrap(),
        &Config::new(&listener).unwrap(),
        Some(listener.peer_id()),
    )
    .await;
    assert_eq!(outbound.unwrap().0.remote_peer, listener.peer_id());
    assert_eq!(inbound.unwrap().0.remote_peer, dialer.peer_id());
}

#[tokio::test]
async fn alpn_agrees_on_the_dialers_first_muxer_the_listener_supports() {
    let dialer = Config::new(&Keypair::generate_ed25519())
        .unwrap()
        .with_muxers(vec![MPLEX.into(), YAMUX.into()]);
    let listener = Config::new(&Keypair::generate_ed25519())
        .unwrap()
        .with_muxers(vec![YAMUX.into(), MPLEX.into()]);
    let (outbound, inbound) = handshake(&dialer, &listener, None).await;
    assert_eq!(outbound.unwrap().0.muxer.as_deref(), Some(MPLEX));
    assert_eq!(inbound.unwrap().0.muxer.as_deref(), Some(MPLEX));

    let yamux_only = Config::new(&Keypair::generate_ed25519())
        .unwrap()
        .with_muxers(vec![YAMUX.into()]);
    let (outbound, inbound) = handshake(&dialer, &yamux_only, None).await;
    assert_eq!(outbound.unwrap().0.muxer.as_deref(), Some(YAMUX));
    assert_eq!(inbound.unwrap().0.muxer.as_deref(), Some(YAMUX));
}

#[tokio::test]
async fn alpn_falls_back_to_libp2p_without_a_common_muxer() {
    let dialer = Config::new(&Keypair::generate_ed25519())
        .unwrap()
        .with_muxers(vec![MPLEX.into()]);
    let listener = Config::new(&Keypair::generate_ed25519())
        .unwrap()
        .with_muxers(vec![YAMUX.into()]);
    let (outbound, inbound) = handshake(&dialer, &listener, None).await;
    assert_eq!(outbound.unwrap().0.muxer, None);
    assert_eq!(inbound.unwrap().0.muxer, None);

    // A dialer that offers no muxer gets `libp2p` from a listener that has some.
    let plain = Config::new(&Keypair::generate_ed25519()).unwrap();
    let (outbound, inbound) = handshake(&plain, &listener, None).await;
    assert_eq!(outbound.unwrap().0.muxer, None);
    assert_eq!(inbound.unwrap().0.muxer, None);
}

#[tokio::test]
async fn dialer_rejects_a_listener_with_another_peer_id() {
    let dialer = Config::new(&Keypair::generate_ed25519()).unwrap();
    let listener_key = Keypair::generate_ed25519();
    let listener = Config::new(&listener_key).unwrap();
    let expected = Keypair::generate_ed25519().peer_id();
    let (outbound, inbound) = handshake(&dialer, &listener, Some(expected)).await;
    match outbound {
        Err(Error::PeerIdMismatch {
            expected: e,
            actual,
        }) => {
            assert_eq!(e, expected);
            assert_eq!(actual, listener_key.peer_id());
        }
        other => panic!("expected PeerIdMismatch, got {:?}", other.map(|(o, _)| o)),
    }
    // The dialer aborted before sending its certificate.
    assert!(inbound.is_err());
}

#[tokio::test]
async fn garbage_from_the_dialer_is_an_error() {
    let listener = Config::new(&Keypair::generate_ed25519()).unwrap();
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00][..],
        &[0x16, 0x03, 0x03, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00][..],
        &[0u8; 600][..],
    ] {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        a.write_all(garbage).await.unwrap();
        a.shutdown().await.unwrap();
        let result = upgrade_inbound(b, &listener).await;
        assert!(result.is_err(), "{garbage:?}");
    }
}

#[tokio::test]
async fn garbage_from_the_listener_is_an_error() {
    let dialer = Config::new(&Keypair::generate_ed25519()).unwrap();
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    let listener = async move {
        let mut hello = [0u8; 5];
        b.read_exact(&mut hello).await.unwrap();
        b.write_all(&[0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0xff, 0xff, 0xff])
            .await
            .unwrap();
        b
    };
    let (result, _b) = tokio::join!(upgrade_outbound(a, &dialer, None), listener);
    assert!(matches!(result, Err(Error::Tls(_))), "{:?}", result.err());
}

#[tokio::test]
async fn peer_closing_mid_handshake_is_connection_closed() {
    let dialer = Config::new(&Keypair::generate_ed25519()).unwrap();
    let (a, b) = tokio::io::duplex(64 * 1024);
    drop(b);
    let result = upgrade_outbound(a, &dialer, None).await;
    assert!(result.is_err());
}

#[tokio::test]
async fn every_key_type_authenticates_over_tcp() {
    let listener_socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener_socket.local_addr().unwrap();
    for key_type in KeyType::ALL {
        let dialer = Keypair::generate(key_type).unwrap();
        let listener = Keypair::generate(key_type).unwrap();
        let dialer_config = Config::new(&dialer)
            .unwrap()
            .with_muxers(vec![YAMUX.into()]);
        let listener_config = Config::new(&listener)
            .unwrap()
            .with_muxers(vec![YAMUX.into()]);
        let accept = async {
            let (socket, _) = listener_socket.accept().await.unwrap();
            upgrade_inbound(socket, &listener_config).await
        };
        let dial = async {
            let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            upgrade_outbound(socket, &dialer_config, Some(listener.peer_id())).await
        };
        let (inbound, outbound) = tokio::join!(accept, dial);
        let (input, mut b) = inbound.unwrap();
        let (output, mut a) = outbound.unwrap();
        assert_eq!(input.remote_peer, dialer.peer_id());
        assert_eq!(output.remote_peer, listener.peer_id());
        assert_eq!(output.muxer.as_deref(), Some(YAMUX));
        assert_eq!(input.muxer.as_deref(), Some(YAMUX));
        exchange(&mut a, &mut b, &vec![7; 300_000]).await;
        exchange(&mut b, &mut a, b"pong").await;
        a.shutdown().await.unwrap();
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }
}

/// What a ClientHello offers.
struct ClientHello {
    cipher_suites: Vec<u16>,
    /// As (type, data).
    extensions: Vec<(u16, Vec<u8>)>,
}

/// The ClientHello that makes up `record`.
fn parse_client_hello(record: &[u8]) -> ClientHello {
    let u16_at =
        |bytes: &[u8], at: usize| usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
    assert_eq!(record[0], 0x16, "a handshake record");
    let handshake = &record[5..];
    assert_eq!(handshake[0], 0x01, "a ClientHello");
    let body = &handshake[4..];
    let mut at = 2 + 32; // legacy_version, random
    at += 1 + usize::from(body[at]); // legacy_session_id
    let suites_len = u16_at(body, at);
    let cipher_suites = body[at + 2..at + 2 + suites_len]
        .chunks(2)
        .map(|suite| u16::from_be_bytes([suite[0], suite[1]]))
        .collect();
    at += 2 + suites_len;
    at += 1 + usize::from(body[at]); // legacy_compression_methods
    let end = at + 2 + u16_at(body, at);
    at += 2;
    let mut extensions = Vec::new();
    while at < end {
        let kind = u16_at(body, at) as u16;
        let len = u16_at(body, at + 2);
        extensions.push((kind, body[at + 4..at + 4 + len].to_vec()));
        at += 4 + len;
    }
    ClientHello {
        cipher_suites,
        extensions,
    }
}

/// The first record `dialer` sends (its ClientHello); the handshake then fails.
async fn first_record(dialer: Config) -> Vec<u8> {
    let (a, mut b) = tokio::io::duplex(64 * 1024);
    let dial = tokio::spawn(async move { upgrade_outbound(a, &dialer, None).await.map(|_| ()) });
    let mut header = [0u8; 5];
    b.read_exact(&mut header).await.unwrap();
    let mut record = header.to_vec();
    record.resize(
        5 + usize::from(u16::from_be_bytes([header[3], header[4]])),
        0,
    );
    b.read_exact(&mut record[5..]).await.unwrap();
    drop(b);
    assert!(dial.await.unwrap().is_err());
    record
}

#[tokio::test]
async fn client_hello_offers_muxers_then_libp2p_and_no_server_name() {
    const SERVER_NAME: u16 = 0;
    const ALPN: u16 = 16;
    let dialer = Config::new(&Keypair::generate_ed25519())
        .unwrap()
        .with_muxers(vec![YAMUX.into(), MPLEX.into()]);
    let extensions = parse_client_hello(&first_record(dialer).await).extensions;
    assert!(extensions.iter().all(|(kind, _)| *kind != SERVER_NAME));
    let (_, alpn) = extensions.iter().find(|(kind, _)| *kind == ALPN).unwrap();
    let mut offered = Vec::new();
    let mut at = 2;
    while at < alpn.len() {
        let len = usize::from(alpn[at]);
        offered.push(String::from_utf8(alpn[at + 1..at + 1 + len].to_vec()).unwrap());
        at += 1 + len;
    }
    assert_eq!(offered, [YAMUX, MPLEX, "libp2p"]);
}

#[tokio::test]
async fn client_hello_prefers_the_sha256_suites_and_aes_128() {
    const AES_128_GCM_SHA256: u16 = 0x1301;
    const AES_256_GCM_SHA384: u16 = 0x1302;
    const CHACHA20_POLY1305_SHA256: u16 = 0x1303;
    let dialer = Config::new(&Keypair::generate_ed25519()).unwrap();
    let suites = parse_client_hello(&first_record(dialer).await).cipher_suites;
    let tls13: Vec<u16> = suites
        .into_iter()
        .filter(|suite| suite >> 8 == 0x13)
        .collect();
    assert_eq!(
        tls13,
        [
            AES_128_GCM_SHA256,
            CHACHA20_POLY1305_SHA256,
            AES_256_GCM_SHA384
        ]
    );
}
