//! Quick side-by-side numbers, not a timed test: `cargo bench -p hyphae-noise --bench throughput`.
//!
//! 1. the transport cipher loop (encrypt + decrypt of full 64 KiB frames) through our
//!    `Encryptor`/`Decryptor` (ring's ChaCha20-Poly1305, as `snow` uses inside rust-libp2p's
//!    `libp2p-noise`; OpenSSL's on a CPU with AVX-512 when run with `--features openssl`),
//!    next to the bare RustCrypto `chacha20poly1305` crate;
//! 2. bulk transfer through `NoiseStream` and through `libp2p-noise`'s stream, each over an
//!    in-memory duplex;
//! 3. handshakes per second, ours and `libp2p-noise`'s.
//!
//! The machines are shared and noisy: read the ratios, and rerun before believing a change.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use hyphae_identity::Keypair;
use hyphae_noise::{Ciphers, Config, Handshake, MAX_PLAINTEXT_LEN};
use libp2p_core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt;

const CIPHER_BYTES: usize = 256 * 1024 * 1024;
const STREAM_BYTES: usize = 128 * 1024 * 1024;
const HANDSHAKES: usize = 300;
const ROUNDS: usize = 3;

fn mb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e6
}

fn established() -> (Ciphers, Ciphers) {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let (alice, bob) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let config = Config::default();
    let mut initiator = Handshake::initiator(&alice, &config, None, &mut rng).unwrap();
    let mut responder = Handshake::responder(&bob, &config, None, &mut rng).unwrap();
    let (mut to_responder, mut to_initiator) = (BytesMut::new(), BytesMut::new());
    while !(initiator.is_finished() && responder.is_finished()) {
        while let Some(message) = initiator.poll_transmit() {
            to_responder.extend_from_slice(&message);
        }
        responder.handle_input(&mut to_responder).unwrap();
        while let Some(message) = responder.poll_transmit() {
            to_initiator.extend_from_slice(&message);
        }
        initiator.handle_input(&mut to_initiator).unwrap();
    }
    (initiator.finish().unwrap().1, responder.finish().unwrap().1)
}

/// Our ciphers: encrypt a full frame into a reused buffer, then decrypt it in place.
fn ours_cipher_loop() -> f64 {
    let (mut sender, mut receiver) = established();
    let plaintext = vec![0x5a; MAX_PLAINTEXT_LEN];
    let mut wire = BytesMut::with_capacity(2 * 65537);
    let frames = CIPHER_BYTES / MAX_PLAINTEXT_LEN;
    let start = Instant::now();
    for _ in 0..frames {
        sender.encryptor.encrypt(&plaintext, &mut wire).unwrap();
        let decrypted = receiver.decryptor.decrypt(&mut wire).unwrap().unwrap();
        assert_eq!(decrypted.len(), MAX_PLAINTEXT_LEN);
        drop(decrypted);
        wire.clear();
    }
    mb_per_s(frames * MAX_PLAINTEXT_LEN, start.elapsed())
}

/// RustCrypto's `chacha20poly1305`, sealed and opened in place on the same frames: the
/// alternative primitive we measured before choosing ring.
fn rustcrypto_cipher_loop() -> f64 {
    use chacha20poly1305::aead::AeadInOut;
    use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut buffer = vec![0x5a; MAX_PLAINTEXT_LEN];
    let frames = CIPHER_BYTES / MAX_PLAINTEXT_LEN;
    let start = Instant::now();
    for n in 0..frames as u64 {
        let mut nonce = Nonce::default();
        nonce[4..].copy_from_slice(&n.to_le_bytes());
        let tag = cipher
            .encrypt_inout_detached(&nonce, &[], buffer.as_mut_slice().into())
            .unwrap();
        cipher
            .decrypt_inout_detached(&nonce, &[], buffer.as_mut_slice().into(), &tag)
            .unwrap();
    }
    mb_per_s(frames * MAX_PLAINTEXT_LEN, start.elapsed())
}

async fn ours_stream() -> f64 {
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let config = Config::default();
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (outbound, inbound) = tokio::join!(
        hyphae_noise::upgrade_outbound(a, &dialer, &config, None),
        hyphae_noise::upgrade_inbound(b, &listener, &config),
    );
    let (mut a, mut b) = (outbound.unwrap().1, inbound.unwrap().1);
    let chunk = vec![0x5a; 256 * 1024];
    let start = Instant::now();
    let writer = async {
        for _ in 0..STREAM_BYTES / chunk.len() {
            a.write_all(&chunk).await.unwrap();
        }
        a.shutdown().await.unwrap();
    };
    let reader = async {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        loop {
            match b.read(&mut buf).await.unwrap() {
                0 => break total,
                n => total += n,
            }
        }
    };
    let ((), total) = tokio::join!(writer, reader);
    assert_eq!(total, STREAM_BYTES);
    mb_per_s(total, start.elapsed())
}

async fn rust_libp2p_stream() -> f64 {
    let (dialer, listener) = (
        libp2p_identity::Keypair::generate_ed25519(),
        libp2p_identity::Keypair::generate_ed25519(),
    );
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (outbound, inbound) = tokio::join!(
        libp2p_noise::Config::new(&dialer)
            .unwrap()
            .upgrade_outbound(a.compat(), "/noise"),
        libp2p_noise::Config::new(&listener)
            .unwrap()
            .upgrade_inbound(b.compat(), "/noise"),
    );
    let (mut a, mut b) = (outbound.unwrap().1, inbound.unwrap().1);
    let chunk = vec![0x5a; 256 * 1024];
    let start = Instant::now();
    let writer = async {
        for _ in 0..STREAM_BYTES / chunk.len() {
            a.write_all(&chunk).await.unwrap();
        }
        a.close().await.unwrap();
    };
    let reader = async {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        loop {
            match b.read(&mut buf).await.unwrap() {
                0 => break total,
                n => total += n,
            }
        }
    };
    let ((), total) = futures::join!(writer, reader);
    assert_eq!(total, STREAM_BYTES);
    mb_per_s(total, start.elapsed())
}

async fn ours_handshakes() -> f64 {
    let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let config = Config::default();
    let start = Instant::now();
    for _ in 0..HANDSHAKES {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (outbound, inbound) = tokio::join!(
            hyphae_noise::upgrade_outbound(a, &dialer, &config, None),
            hyphae_noise::upgrade_inbound(b, &listener, &config),
        );
        outbound.unwrap();
        inbound.unwrap();
    }
    HANDSHAKES as f64 / start.elapsed().as_secs_f64()
}

async fn rust_libp2p_handshakes() -> f64 {
    let (dialer, listener) = (
        libp2p_identity::Keypair::generate_ed25519(),
        libp2p_identity::Keypair::generate_ed25519(),
    );
    let start = Instant::now();
    for _ in 0..HANDSHAKES {
        // Like rust-libp2p's transport upgrade, a config (with its static key) per connection.
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (outbound, inbound) = tokio::join!(
            libp2p_noise::Config::new(&dialer)
                .unwrap()
                .upgrade_outbound(a.compat(), "/noise"),
            libp2p_noise::Config::new(&listener)
                .unwrap()
                .upgrade_inbound(b.compat(), "/noise"),
        );
        outbound.unwrap();
        inbound.unwrap();
    }
    HANDSHAKES as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, so keep that
    // quick by only checking it starts.
    if std::env::args().all(|arg| arg != "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Rounds alternate between the contestants and each keeps its best, so a burst of load
    // from a neighbour does not decide the comparison.
    let mut best = [0f64; 6];
    for _ in 0..ROUNDS {
        let results = [
            ours_cipher_loop(),
            rustcrypto_cipher_loop(),
            runtime.block_on(ours_stream()),
            runtime.block_on(rust_libp2p_stream()),
            runtime.block_on(ours_handshakes()),
            runtime.block_on(rust_libp2p_handshakes()),
        ];
        for (best, result) in best.iter_mut().zip(results) {
            *best = best.max(result);
        }
    }
    let [
        ours,
        rustcrypto,
        ours_stream,
        their_stream,
        ours_hs,
        their_hs,
    ] = best;
    println!(
        "cipher loop (encrypt+decrypt, 64 KiB frames): hyphae {ours:.0} MB/s, RustCrypto chacha20poly1305 {rustcrypto:.0} MB/s (hyphae/RustCrypto {:.2})",
        ours / rustcrypto
    );
    println!(
        "stream over in-memory duplex: hyphae {ours_stream:.0} MB/s, libp2p-noise {their_stream:.0} MB/s (hyphae/libp2p-noise {:.2})",
        ours_stream / their_stream
    );
    println!(
        "handshakes (Ed25519, both sides in one thread): hyphae {ours_hs:.0}/s, libp2p-noise {their_hs:.0}/s (hyphae/libp2p-noise {:.2})",
        ours_hs / their_hs
    );
}
