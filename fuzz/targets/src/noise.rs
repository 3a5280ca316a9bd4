//! The Noise XX handshake: both roles fed arbitrary peer messages, and the handshake
//! payload decoder on its own (arbitrary messages stop at the AEAD and never reach it).

use bytes::BytesMut;
use hyphae_identity::Keypair;
use hyphae_noise::{Config, Handshake, fuzzing};

use crate::rng::FixedRng;

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
}
