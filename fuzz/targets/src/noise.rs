//! The Noise XX handshake: both roles fed arbitrary peer messages, the handshake payload
//! decoder on its own (arbitrary messages stop at the AEAD and never reach it), and the
//! transport phase's reader fed arbitrary frames.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use hyphae_identity::Keypair;
use hyphae_noise::{Config, Handshake, MAX_MESSAGE_LEN, fuzzing};
use tokio::io::{AsyncRead, ReadBuf};

use crate::rng::FixedRng;
use crate::socket::Replay;

/// The seeds of the targets' RNGs: the seed generator runs a real peer against the very
/// handshake each target starts.
pub(crate) const NOISE_INITIATOR_SEED: u64 = 1;
pub(crate) const NOISE_RESPONDER_SEED: u64 = 2;

pub(crate) fn identity() -> Keypair {
    Keypair::ed25519_from_secret(&[7; 32])
}

pub(crate) fn config() -> Config {
    Config::default().with_muxers(vec!["/yamux/1.0.0".to_owned()])
}

/// Feeds `data` in chunks to `handshake`, dropping what it sends; returns whether the
/// handshake finished (only a seed's exact messages get it there: others fail at the AEAD).
fn drive(mut handshake: Handshake, data: &[u8]) -> bool {
    let (_, chunks) = crate::chunked(data);
    let mut input = BytesMut::new();
    for chunk in chunks {
        input.extend_from_slice(chunk);
        let _ = handshake.poll_transmit();
        if handshake.handle_input(&mut input).is_err() {
            // Any error is final.
            assert!(handshake.handle_input(&mut input).is_err());
            assert!(!handshake.is_finished());
            return false;
        }
        // A frame is at most a two-byte prefix and 65535 bytes; a handshake that keeps
        // more is buffering what it should have rejected or consumed.
        assert!(!handshake.wants_input() || input.len() < 2 + 65535);
    }
    let _ = handshake.poll_transmit();
    handshake.is_finished() && handshake.finish().is_ok()
}

/// The initiator after sending message 1, fed what claims to be message 2.
pub fn noise_initiator(data: &[u8]) {
    let handshake = Handshake::initiator(
        &identity(),
        &config(),
        None,
        &mut FixedRng::new(NOISE_INITIATOR_SEED),
    )
    .expect("handshake starts");
    drive(handshake, data);
}

/// The responder, fed message 1 (a plaintext ephemeral key and payload) and then what
/// claims to be message 3.
pub fn noise_responder(data: &[u8]) {
    let handshake = Handshake::responder(
        &identity(),
        &config(),
        None,
        &mut FixedRng::new(NOISE_RESPONDER_SEED),
    )
    .expect("handshake starts");
    drive(handshake, data);
}

/// The libp2p handshake payload (identity key, signature, extensions), verified against a
/// static key given by the first 32 bytes.
pub fn noise_payload(data: &[u8]) {
    let Some((static_key, payload)) = data.split_first_chunk::<32>() else {
        return;
    };
    let _ = fuzzing::verify_payload(payload, static_key);
}

/// The key the peer seals its transport frames with in `noise_transport` (and its seeds).
pub(crate) const TRANSPORT_KEY: [u8; 32] = [0x5a; 32];

/// Bytes of plaintext the `noise_transport` target asks for per read, by the control byte's
/// high two bits.
const READ_LENS: [usize; 4] = [1, 100, 4096, 70_000];

/// The transport phase: a [`NoiseStream`](hyphae_noise::NoiseStream) reading the peer's
/// frames (sealed with [`TRANSPORT_KEY`]) as they arrive in chunks, with a pause (the socket
/// has nothing) before each chunk. It never delivers more than arrived, its read buffer
/// stays within a frame or two, and an error is final.
pub fn noise_transport(data: &[u8]) {
    read_transport(data);
}

/// Reads `data` as [`noise_transport`] does; returns the plaintext bytes delivered and
/// whether the stream ended cleanly.
fn read_transport(data: &[u8]) -> (usize, bool) {
    let (control, chunks) = crate::chunked(data);
    let mut buf = vec![0; READ_LENS[usize::from(control >> 6)]];
    let mut stream = fuzzing::stream(Replay::pausing(chunks), &[0; 32], &TRANSPORT_KEY);
    let mut cx = Context::from_waker(Waker::noop());
    let mut delivered = 0;
    loop {
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut stream).poll_read(&mut cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => return (delivered, true),
            Poll::Ready(Ok(())) => delivered += read.filled().len(),
            Poll::Ready(Err(_)) => {
                let mut again = ReadBuf::new(&mut buf);
                let next = Pin::new(&mut stream).poll_read(&mut cx, &mut again);
                assert!(matches!(next, Poll::Ready(Err(_))), "an error is final");
                return (delivered, false);
            }
            Poll::Pending => {}
        }
        assert!(delivered <= data.len());
        // One partial frame, and the room reserved for the rest of it.
        assert!(stream.buffer_capacity() <= 4 * (2 + MAX_MESSAGE_LEN));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds must take each role to the end of a handshake, or the fuzzer never gets
    /// past the AEAD.
    #[test]
    fn the_seeds_complete_both_handshakes() {
        for (target, name, data) in crate::seeds::all() {
            let handshake = match target {
                "noise_initiator" => Handshake::initiator(
                    &identity(),
                    &config(),
                    None,
                    &mut FixedRng::new(NOISE_INITIATOR_SEED),
                ),
                "noise_responder" => Handshake::responder(
                    &identity(),
                    &config(),
                    None,
                    &mut FixedRng::new(NOISE_RESPONDER_SEED),
                ),
                _ => continue,
            };
            assert!(drive(handshake.unwrap(), &data), "{target}/{name}");
        }
    }

    /// The transport seeds must decrypt, or the fuzzer never gets past the AEAD.
    #[test]
    fn the_transport_seeds_deliver_their_frames() {
        let sent = 5 + 1500 + 16 * 1024;
        for (target, name, data) in crate::seeds::all() {
            if target != "noise_transport" {
                continue;
            }
            let (delivered, clean_end) = read_transport(&data);
            match name.as_str() {
                "frames-bulk" | "frames-small-reads" => {
                    assert_eq!((delivered, clean_end), (sent, true))
                }
                // The first 2000 bytes: three whole frames (5, 0 and 1500 bytes), then a cut.
                "frames-trickle" => assert_eq!((delivered, clean_end), (5 + 1500, false)),
                // The first 30 bytes: the 5-byte frame, then a cut.
                "cut-short" => assert_eq!((delivered, clean_end), (5, false)),
                _ => panic!("a seed this test does not know: {name}"),
            }
        }
    }
}
