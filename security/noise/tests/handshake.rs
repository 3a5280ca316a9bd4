//! The handshake through the tokio driver, between two of ours over an in-memory duplex.

use std::sync::OnceLock;

use hyphae_identity::{KeyType, Keypair, PeerId};
use hyphae_noise::{Config, Error, Output, upgrade_inbound, upgrade_outbound};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

/// An RSA key takes a while to generate: one for the whole test binary.
fn rsa_keypair() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| Keypair::generate(KeyType::Rsa).unwrap())
}

fn keypair(key_type: KeyType) -> Keypair {
    match key_type {
        KeyType::Rsa => rsa_keypair().clone(),
        other => Keypair::generate(other).unwrap(),
    }
}

type Upgraded = (Output, hyphae_noise::NoiseStream<DuplexStream>);

async fn connect(
    dialer: &Keypair,
    dialer_config: &Config,
    listener: &Keypair,
    listener_config: &Config,
    expected: Option<PeerId>,
) -> (Result<Upgraded, Error>, Result<Upgraded, Error>) {
    let (a, b) = duplex(64 * 1024);
    tokio::join!(
        upgrade_outbound(a, dialer, dialer_config, expected),
        upgrade_inbound(b, listener, listener_config),
    )
}

#[tokio::test]
async fn every_identity_key_type_authenticates_in_both_roles() {
    let types = [
        KeyType::Ed25519,
        KeyType::Secp256k1,
        KeyType::Ecdsa,
        KeyType::Rsa,
    ];
    for dialer_type in types {
        for listener_type in types {
            let (dialer, listener) = (keypair(dialer_type), keypair(listener_type));
            let config = Config::default();
            let (outbound, inbound) = connect(
                &dialer,
                &config,
                &listener,
                &config,
                Some(listener.peer_id()),
            )
            .await;
            let (out, mut a) = outbound.unwrap();
            let (inb, mut b) = inbound.unwrap();
            assert_eq!(
                out.remote_peer,
                listener.peer_id(),
                "{dialer_type} -> {listener_type}"
            );
            assert_eq!(out.remote_public_key, listener.public());
            assert_eq!(inb.remote_peer, dialer.peer_id());
            assert_eq!(inb.remote_public_key, dialer.public());

            a.write_all(b"from the dialer").await.unwrap();
            a.flush().await.unwrap();
            b.write_all(b"from the listener").await.unwrap();
            b.flush().await.unwrap();
            let mut buf = [0u8; 17];
            b.read_exact(&mut buf[..15]).await.unwrap();
            assert_eq!(&buf[..15], b"from the dialer");
            a.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"from the listener");
        }
    }
}

#[tokio::test]
async fn dialling_the_wrong_peer_fails_with_peer_id_mismatch() {
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let wanted = Keypair::generate_ed25519().peer_id();
    let config = Config::default();
    let (outbound, inbound) = connect(&dialer, &config, &listener, &config, Some(wanted)).await;
    match outbound {
        Err(Error::PeerIdMismatch { expected, actual }) => {
            assert_eq!(expected, wanted);
            assert_eq!(actual, listener.peer_id());
        }
        other => panic!("expected PeerIdMismatch, got {other:?}"),
    }
    // The dialer hung up without sending message 3.
    assert!(
        matches!(inbound, Err(Error::ConnectionClosed)),
        "{inbound:?}"
    );
}

#[tokio::test]
async fn inlined_muxer_negotiation() {
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let muxers = |names: &[&str]| {
        Config::default().with_muxers(names.iter().map(|name| name.to_string()).collect())
    };
    let cases: [(&[&str], &[&str], Option<&str>); 4] = [
        (
            &["/yamux/1.0.0", "/mplex/6.7.0"],
            &["/mplex/6.7.0", "/yamux/1.0.0"],
            Some("/yamux/1.0.0"),
        ),
        (
            &["/mplex/6.7.0"],
            &["/yamux/1.0.0", "/mplex/6.7.0"],
            Some("/mplex/6.7.0"),
        ),
        (&["/yamux/1.0.0"], &[], None),
        (&[], &["/yamux/1.0.0"], None),
    ];
    for (dialer_muxers, listener_muxers, agreed) in cases {
        let (outbound, inbound) = connect(
            &dialer,
            &muxers(dialer_muxers),
            &listener,
            &muxers(listener_muxers),
            None,
        )
        .await;
        assert_eq!(outbound.unwrap().0.muxer.as_deref(), agreed);
        assert_eq!(inbound.unwrap().0.muxer.as_deref(), agreed);
    }

    let (outbound, inbound) = connect(
        &dialer,
        &muxers(&["/yamux/1.0.0"]),
        &listener,
        &muxers(&["/mplex/6.7.0"]),
        None,
    )
    .await;
    assert!(
        matches!(outbound, Err(Error::NoCommonMuxer { .. })),
        "{outbound:?}"
    );
    assert!(
        matches!(inbound, Err(Error::NoCommonMuxer { .. })),
        "{inbound:?}"
    );
}

#[tokio::test]
async fn a_peer_that_hangs_up_mid_handshake_is_reported() {
    let keypair = Keypair::generate_ed25519();
    let (a, mut b) = duplex(1024);
    let listener = tokio::spawn(async move {
        let mut first = [0u8; 34];
        b.read_exact(&mut first).await.unwrap();
        b.write_all(&[0, 200, 1, 2, 3]).await.unwrap();
        drop(b);
    });
    let result = upgrade_outbound(a, &keypair, &Config::default(), None).await;
    assert!(matches!(result, Err(Error::ConnectionClosed)), "{result:?}");
    listener.await.unwrap();
}

#[tokio::test]
async fn garbage_instead_of_a_handshake_is_a_typed_error() {
    let keypair = Keypair::generate_ed25519();
    let (a, mut b) = duplex(1024);
    tokio::spawn(async move {
        b.write_all(&[0, 5, 1, 2, 3, 4, 5]).await.unwrap();
        let _ = b.read(&mut [0u8; 128]).await;
    });
    let result = upgrade_inbound(a, &keypair, &Config::default()).await;
    assert!(
        matches!(
            result,
            Err(Error::HandshakeMessageTooShort { message: 1, .. })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn data_written_right_after_the_handshake_is_not_lost() {
    // The dialer writes before the listener has even returned from its upgrade, so the
    // first transport frame may arrive in the same read as handshake message 3.
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let config = Config::default();
    let (a, b) = duplex(64 * 1024);
    let dial = async {
        let (_, mut stream) = upgrade_outbound(a, &dialer, &config, None).await.unwrap();
        stream.write_all(b"eager").await.unwrap();
        stream.flush().await.unwrap();
        stream
    };
    let listen = async {
        let (_, mut stream) = upgrade_inbound(b, &listener, &config).await.unwrap();
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"eager");
    };
    let (_stream, ()) = tokio::join!(dial, listen);
}
