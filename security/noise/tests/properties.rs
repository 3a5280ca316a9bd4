//! Whatever a peer sends, the handshake state machines and the transport decoder return
//! typed errors or wait for more: they never panic and never buffer past one frame.

use bytes::BytesMut;
use hyphae_identity::Keypair;
use hyphae_noise::{Ciphers, Config, Handshake};
use proptest::prelude::*;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn identity() -> Keypair {
    Keypair::ed25519_from_secret(&[7; 32])
}

fn config() -> Config {
    Config::default().with_muxers(vec!["/yamux/1.0.0".into()])
}

/// Feeds `chunks` one after the other, as a peer's successive writes would arrive.
fn feed(handshake: &mut Handshake, chunks: &[Vec<u8>]) {
    let mut input = BytesMut::new();
    for chunk in chunks {
        input.extend_from_slice(chunk);
        // Like the driver, hand the input over again while it takes a message from it: one
        // call reads at most one message.
        loop {
            let buffered = input.len();
            if handshake.handle_input(&mut input).is_err() {
                return;
            }
            while handshake.poll_transmit().is_some() {}
            if input.len() == buffered {
                break;
            }
        }
        // A waiting handshake has taken every whole frame it was given.
        if handshake.wants_input() && input.len() >= 2 {
            assert!(input.len() < 2 + usize::from(u16::from_be_bytes([input[0], input[1]])));
        }
    }
}

/// A framed message of arbitrary content, so that inputs get past the length prefix.
fn framed(body: Vec<u8>) -> Vec<u8> {
    let mut frame = (body.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

fn any_chunks() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(framed),
        ],
        0..6,
    )
}

/// Two handshakes run to completion, returning the initiator's and responder's ciphers.
fn established() -> (Ciphers, Ciphers) {
    let (alice, bob) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let mut initiator = Handshake::initiator(&alice, &config(), None, &mut rng()).unwrap();
    let mut responder = Handshake::responder(&bob, &config(), None, &mut rng()).unwrap();
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn responder_survives_arbitrary_first_messages(chunks in any_chunks()) {
        let mut responder = Handshake::responder(&identity(), &config(), None, &mut rng()).unwrap();
        feed(&mut responder, &chunks);
    }

    #[test]
    fn responder_survives_an_arbitrary_third_message(
        ephemeral: [u8; 32],
        chunks in any_chunks(),
    ) {
        // A well-formed message 1 (any point on the curve), then garbage.
        let mut responder = Handshake::responder(&identity(), &config(), None, &mut rng()).unwrap();
        let mut first = vec![framed(ephemeral.to_vec())];
        first.extend(chunks);
        feed(&mut responder, &first);
    }

    #[test]
    fn initiator_survives_arbitrary_second_messages(chunks in any_chunks()) {
        let mut initiator = Handshake::initiator(&identity(), &config(), None, &mut rng()).unwrap();
        while initiator.poll_transmit().is_some() {}
        feed(&mut initiator, &chunks);
    }

    #[test]
    fn transport_decoder_survives_arbitrary_bytes(chunks in any_chunks()) {
        let (_, mut responder) = established();
        let mut input = BytesMut::new();
        for chunk in &chunks {
            input.extend_from_slice(chunk);
            match responder.decryptor.decrypt(&mut input) {
                Ok(Some(plaintext)) => prop_assert!(plaintext.len() <= hyphae_noise::MAX_PLAINTEXT_LEN),
                Ok(None) => prop_assert!(input.len() < 2 + 65535),
                Err(_) => break,
            }
        }
    }

    #[test]
    fn transport_frames_round_trip(messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2000), 0..10)) {
        let (mut initiator, mut responder) = established();
        let mut wire = BytesMut::new();
        for message in &messages {
            initiator.encryptor.encrypt(message, &mut wire).unwrap();
        }
        for message in &messages {
            let plaintext = responder.decryptor.decrypt(&mut wire).unwrap().unwrap();
            prop_assert_eq!(&plaintext[..], &message[..]);
        }
        prop_assert!(wire.is_empty());
    }
}
