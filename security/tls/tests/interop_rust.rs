//! hyphae-tls against rust-libp2p's `libp2p-tls` (the crates.io release), both directions:
//! the handshake completes, each side authenticates the other's peer id, and bytes flow
//! both ways.

use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
use hyphae_identity::{KeyType, Keypair};
use hyphae_tls::{Config, upgrade_inbound, upgrade_outbound};
use libp2p_core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::compat::TokioAsyncReadCompatExt;

/// The same identity as a rust-libp2p keypair, via the shared protobuf encoding.
fn rust_keypair(keypair: &Keypair) -> libp2p_identity::Keypair {
    libp2p_identity::Keypair::from_protobuf_encoding(&keypair.to_protobuf_encoding().unwrap())
        .unwrap()
}

fn same_peer(ours: &Keypair, theirs: &libp2p_identity::PeerId) -> bool {
    ours.peer_id().to_bytes() == theirs.to_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_dials_rust_libp2p() {
    for key_type in KeyType::ALL {
        let ours = Keypair::generate(key_type).unwrap();
        let theirs = Keypair::generate(key_type).unwrap();
        let config = Config::new(&ours)
            .unwrap()
            .with_muxers(vec!["/yamux/1.0.0".into()]);
        let remote = libp2p_tls::Config::new(&rust_keypair(&theirs)).unwrap();
        let (a, b) = tokio::io::duplex(64 * 1024);

        let listener = async move {
            let (peer, mut stream) = remote
                .upgrade_inbound(b.compat(), "/tls/1.0.0")
                .await
                .unwrap();
            let mut received = [0u8; 11];
            stream.read_exact(&mut received).await.unwrap();
            assert_eq!(&received, b"from hyphae");
            stream.write_all(b"from rust-libp2p").await.unwrap();
            stream.flush().await.unwrap();
            stream.close().await.unwrap();
            peer
        };
        let dialer = async {
            let (output, mut stream) = upgrade_outbound(a, &config, Some(theirs.peer_id()))
                .await
                .unwrap();
            stream.write_all(b"from hyphae").await.unwrap();
            stream.flush().await.unwrap();
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.unwrap();
            assert_eq!(received, b"from rust-libp2p");
            output
        };
        let (peer, output) = tokio::join!(listener, dialer);
        assert!(same_peer(&ours, &peer), "{key_type:?}");
        assert_eq!(output.remote_peer, theirs.peer_id(), "{key_type:?}");
        // rust-libp2p offers and accepts only `libp2p` in ALPN.
        assert_eq!(output.muxer, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_dials_hyphae() {
    for key_type in KeyType::ALL {
        let ours = Keypair::generate(key_type).unwrap();
        let theirs = Keypair::generate(key_type).unwrap();
        let config = Config::new(&ours)
            .unwrap()
            .with_muxers(vec!["/yamux/1.0.0".into()]);
        let remote = libp2p_tls::Config::new(&rust_keypair(&theirs)).unwrap();
        let (a, b) = tokio::io::duplex(64 * 1024);

        let dialer = async move {
            let (peer, mut stream) = remote
                .upgrade_outbound(a.compat(), "/tls/1.0.0")
                .await
                .unwrap();
            stream.write_all(b"from rust-libp2p").await.unwrap();
            stream.flush().await.unwrap();
            let mut received = [0u8; 11];
            stream.read_exact(&mut received).await.unwrap();
            assert_eq!(&received, b"from hyphae");
            peer
        };
        let listener = async {
            let (input, mut stream) = upgrade_inbound(b, &config).await.unwrap();
            let mut received = [0u8; 16];
            stream.read_exact(&mut received).await.unwrap();
            assert_eq!(&received, b"from rust-libp2p");
            stream.write_all(b"from hyphae").await.unwrap();
            stream.flush().await.unwrap();
            (input, stream)
        };
        let (peer, (input, _stream)) = tokio::join!(dialer, listener);
        assert!(same_peer(&ours, &peer), "{key_type:?}");
        assert_eq!(input.remote_peer, theirs.peer_id(), "{key_type:?}");
        assert_eq!(input.muxer, None);
    }
}

#[test]
fn rust_libp2p_parses_our_certificate_and_we_parse_theirs() {
    use libp2p_tls::certificate;
    for key_type in KeyType::ALL {
        let ours = Keypair::generate(key_type).unwrap();
        let config = Config::new(&ours).unwrap();
        let der = rustls::pki_types::CertificateDer::from(config.certificate().to_vec());
        let parsed = certificate::parse(&der).unwrap();
        assert!(same_peer(&ours, &parsed.peer_id()), "{key_type:?}");

        let theirs = rust_keypair(&Keypair::generate(key_type).unwrap());
        let (their_certificate, _key) = certificate::generate(&theirs).unwrap();
        let parsed = hyphae_tls::certificate::parse(their_certificate.as_ref()).unwrap();
        assert_eq!(
            parsed.peer_id().to_bytes(),
            theirs.public().to_peer_id().to_bytes()
        );
    }
}
