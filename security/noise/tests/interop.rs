//! Our handshake and transport against rust-libp2p's `libp2p-noise` (the crates.io release)
//! in both roles, over an in-memory duplex.

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use hyphae_identity::{KeyType, Keypair};
use hyphae_noise::{Config, NoiseStream, upgrade_inbound, upgrade_outbound};
use libp2p_core::multihash::Multihash;
use libp2p_core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

type TheirStream = libp2p_noise::Output<Compat<DuplexStream>>;

/// The same identity as rust-libp2p sees it.
fn theirs(keypair: &Keypair) -> libp2p_identity::Keypair {
    libp2p_identity::Keypair::from_protobuf_encoding(&keypair.to_protobuf_encoding().unwrap())
        .unwrap()
}

fn keypairs() -> Vec<Keypair> {
    [
        KeyType::Ed25519,
        KeyType::Secp256k1,
        KeyType::Ecdsa,
        KeyType::Rsa,
    ]
    .into_iter()
    .map(|key_type| Keypair::generate(key_type).unwrap())
    .collect()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sends more than one frame each way, both directions at once, and checks what arrives.
async fn exchange(ours: NoiseStream<DuplexStream>, theirs: TheirStream) {
    const LEN: usize = 300_000;
    let (mut our_read, mut our_write) = tokio::io::split(ours);
    let (mut their_read, mut their_write) = theirs.split();
    let ours_to_theirs = pattern(LEN, 1);
    let theirs_to_ours = pattern(LEN, 2);
    let send_ours = async {
        our_write.write_all(&ours_to_theirs).await.unwrap();
        our_write.flush().await.unwrap();
    };
    let send_theirs = async {
        their_write.write_all(&theirs_to_ours).await.unwrap();
        their_write.flush().await.unwrap();
    };
    let receive_ours = async {
        let mut buf = vec![0u8; LEN];
        our_read.read_exact(&mut buf).await.unwrap();
        buf
    };
    let receive_theirs = async {
        let mut buf = vec![0u8; LEN];
        their_read.read_exact(&mut buf).await.unwrap();
        buf
    };
    let ((), (), at_ours, at_theirs) =
        tokio::join!(send_ours, send_theirs, receive_ours, receive_theirs);
    assert!(
        at_ours == theirs_to_ours,
        "rust-libp2p -> hyphae data differs"
    );
    assert!(
        at_theirs == ours_to_theirs,
        "hyphae -> rust-libp2p data differs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_dial_rust_libp2p() {
    let keys = keypairs();
    for ours in &keys {
        for remote in &keys {
            let their_key = theirs(remote);
            let their_config = libp2p_noise::Config::new(&their_key).unwrap();
            let config = Config::default().with_muxers(vec!["/yamux/1.0.0".into()]);
            let (a, b) = tokio::io::duplex(64 * 1024);
            let (outbound, inbound) = tokio::join!(
                upgrade_outbound(a, ours, &config, Some(remote.peer_id())),
                their_config.upgrade_inbound(b.compat(), "/noise"),
            );
            let (output, our_stream) = outbound.unwrap();
            let (their_view, their_stream) = inbound.unwrap();
            assert_eq!(output.remote_peer, remote.peer_id());
            assert_eq!(their_view.to_string(), ours.peer_id().to_string());
            // rust-libp2p does not negotiate muxers inline.
            assert_eq!(output.muxer, None);
            exchange(our_stream, their_stream).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_dials_us() {
    let keys = keypairs();
    for ours in &keys {
        for remote in &keys {
            let their_key = theirs(remote);
            let their_config = libp2p_noise::Config::new(&their_key).unwrap();
            let config = Config::default().with_muxers(vec!["/yamux/1.0.0".into()]);
            let (a, b) = tokio::io::duplex(64 * 1024);
            let (outbound, inbound) = tokio::join!(
                their_config.upgrade_outbound(a.compat(), "/noise"),
                upgrade_inbound(b, ours, &config),
            );
            let (their_view, their_stream) = outbound.unwrap();
            let (output, our_stream) = inbound.unwrap();
            assert_eq!(output.remote_peer, remote.peer_id());
            assert_eq!(their_view.to_string(), ours.peer_id().to_string());
            assert_eq!(output.muxer, None);
            exchange(our_stream, their_stream).await;
        }
    }
}

#[tokio::test]
async fn prologues_and_webtransport_certhashes_agree_with_rust_libp2p() {
    let (ours, remote) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let prologue = b"libp2p-webrtc-noise:test".to_vec();
    let digest = [0xab; 32];
    let mut certhash = vec![0x12, 0x20];
    certhash.extend_from_slice(&digest);
    let multihash = Multihash::<64>::wrap(0x12, &digest).unwrap();

    // We respond and announce a certhash; rust-libp2p dials and requires it.
    let their_config = libp2p_noise::Config::new(&theirs(&remote))
        .unwrap()
        .with_prologue(prologue.clone())
        .with_webtransport_certhashes([multihash].into());
    let config = Config::default()
        .with_prologue(prologue.clone())
        .with_webtransport_certhashes(vec![certhash.clone()]);
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (outbound, inbound) = tokio::join!(
        their_config.upgrade_outbound(a.compat(), "/noise"),
        upgrade_inbound(b, &ours, &config),
    );
    outbound.unwrap();
    inbound.unwrap();

    // rust-libp2p responds and announces it; we dial and see it.
    let their_config = libp2p_noise::Config::new(&theirs(&remote))
        .unwrap()
        .with_prologue(prologue.clone())
        .with_webtransport_certhashes([multihash].into());
    let config = Config::default().with_prologue(prologue);
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (outbound, inbound) = tokio::join!(
        upgrade_outbound(a, &ours, &config, Some(remote.peer_id())),
        their_config.upgrade_inbound(b.compat(), "/noise"),
    );
    assert_eq!(
        outbound.unwrap().0.remote_webtransport_certhashes,
        vec![certhash]
    );
    inbound.unwrap();

    // A prologue mismatch fails on both sides.
    let their_config = libp2p_noise::Config::new(&theirs(&remote)).unwrap();
    let config = Config::default().with_prologue(b"other".to_vec());
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (outbound, inbound) = tokio::join!(
        upgrade_outbound(a, &ours, &config, None),
        their_config.upgrade_inbound(b.compat(), "/noise"),
    );
    assert!(outbound.is_err());
    assert!(inbound.is_err());
}
