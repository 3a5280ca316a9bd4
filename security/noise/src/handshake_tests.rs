//! The libp2p handshake state machines driven message by message, with fixed keys.

use prost::Message;

use super::*;
use crate::{SignatureCache, StaticKey};

fn keys(seed: u8) -> (StaticSecret, StaticSecret) {
    (
        StaticSecret::from([seed; 32]),
        StaticSecret::from([seed.wrapping_add(100); 32]),
    )
}

fn identity(seed: u8) -> Keypair {
    Keypair::ed25519_from_secret(&[seed; 32])
}

fn start(role: Role, seed: u8, config: &Config, expected: Option<PeerId>) -> Handshake {
    let (local_static, local_ephemeral) = keys(seed);
    Handshake::with_keys(
        role,
        &identity(seed),
        config,
        expected,
        local_static,
        local_ephemeral,
    )
    .unwrap()
}

/// Moves the waiting message of `from` into `to`'s input and lets `to` process it.
fn deliver(from: &mut Handshake, to: &mut Handshake) -> Result<(), Error> {
    let message = from.poll_transmit().expect("a message to deliver");
    to.handle_input(&mut BytesMut::from(&message[..]))
}

fn run(initiator_config: &Config, responder_config: &Config) -> (Handshake, Handshake) {
    let mut initiator = start(
        Role::Initiator,
        1,
        initiator_config,
        Some(identity(2).peer_id()),
    );
    let mut responder = start(Role::Responder, 2, responder_config, None);
    deliver(&mut initiator, &mut responder).unwrap();
    deliver(&mut responder, &mut initiator).unwrap();
    deliver(&mut initiator, &mut responder).unwrap();
    (initiator, responder)
}

fn muxers(names: &[&str]) -> Config {
    Config::default().with_muxers(names.iter().map(|name| name.to_string()).collect())
}

#[test]
fn completes_in_three_messages_and_authenticates_both_sides() {
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    assert!(responder.poll_transmit().is_none());
    assert!(responder.wants_input() && initiator.wants_input());

    let first = initiator.poll_transmit().unwrap();
    assert_eq!(first.len(), 2 + 32, "message 1 is just the ephemeral key");
    assert_eq!(&first[..2], &[0, 32]);
    assert!(initiator.poll_transmit().is_none() && initiator.wants_input());
    responder
        .handle_input(&mut BytesMut::from(&first[..]))
        .unwrap();
    deliver(&mut responder, &mut initiator).unwrap();
    assert!(!initiator.is_finished(), "message 3 still waits to be sent");
    deliver(&mut initiator, &mut responder).unwrap();
    assert!(initiator.is_finished() && responder.is_finished());

    let (initiator_output, mut initiator_ciphers) = initiator.finish().unwrap();
    let (responder_output, mut responder_ciphers) = responder.finish().unwrap();
    assert_eq!(initiator_output.remote_peer, identity(2).peer_id());
    assert_eq!(initiator_output.remote_public_key, identity(2).public());
    assert_eq!(responder_output.remote_peer, identity(1).peer_id());
    assert_eq!(
        (initiator_output.muxer, responder_output.muxer),
        (None, None)
    );

    let mut wire = BytesMut::new();
    initiator_ciphers
        .encryptor
        .encrypt(b"ping", &mut wire)
        .unwrap();
    let plaintext = responder_ciphers.decryptor.decrypt(&mut wire).unwrap();
    assert_eq!(&plaintext.unwrap()[..], b"ping");
    responder_ciphers
        .encryptor
        .encrypt(b"pong", &mut wire)
        .unwrap();
    let plaintext = initiator_ciphers.decryptor.decrypt(&mut wire).unwrap();
    assert_eq!(&plaintext.unwrap()[..], b"pong");
}

#[test]
fn takes_messages_split_and_leaves_what_follows_the_last_one() {
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    let mut input = BytesMut::new();
    for byte in initiator.poll_transmit().unwrap() {
        assert!(responder.poll_transmit().is_none());
        input.extend_from_slice(&[byte]);
        responder.handle_input(&mut input).unwrap();
    }
    assert!(input.is_empty());
    deliver(&mut responder, &mut initiator).unwrap();
    let mut input = BytesMut::from(&initiator.poll_transmit().unwrap()[..]);
    input.extend_from_slice(b"first transport bytes");
    responder.handle_input(&mut input).unwrap();
    assert!(responder.is_finished());
    assert_eq!(&input[..], b"first transport bytes");
}

#[test]
fn initiator_rejects_an_unexpected_peer_before_revealing_itself() {
    let expected = identity(3).peer_id();
    let mut initiator = start(Role::Initiator, 1, &Config::default(), Some(expected));
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    deliver(&mut initiator, &mut responder).unwrap();
    let error = deliver(&mut responder, &mut initiator).unwrap_err();
    match error {
        Error::PeerIdMismatch {
            expected: e,
            actual,
        } => {
            assert_eq!(e, expected);
            assert_eq!(actual, identity(2).peer_id());
        }
        other => panic!("expected PeerIdMismatch, got {other:?}"),
    }
    assert!(
        initiator.poll_transmit().is_none(),
        "message 3 is never sent"
    );
    assert!(!initiator.is_finished() && !initiator.wants_input());
    assert!(matches!(
        initiator.handle_input(&mut BytesMut::new()),
        Err(Error::OutOfOrder(_))
    ));
}

#[test]
fn responder_checks_an_expected_peer_too() {
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let mut responder = start(
        Role::Responder,
        2,
        &Config::default(),
        Some(identity(4).peer_id()),
    );
    deliver(&mut initiator, &mut responder).unwrap();
    deliver(&mut responder, &mut initiator).unwrap();
    assert!(matches!(
        deliver(&mut initiator, &mut responder),
        Err(Error::PeerIdMismatch { .. })
    ));
}

#[test]
fn tampered_handshake_messages_are_rejected() {
    for (message, byte) in [(2, 40), (2, 100), (3, 10), (3, 70)] {
        let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
        let mut responder = start(Role::Responder, 2, &Config::default(), None);
        deliver(&mut initiator, &mut responder).unwrap();
        let mut second = responder.poll_transmit().unwrap();
        if message == 2 {
            second[byte] ^= 1;
        }
        let result = initiator.handle_input(&mut BytesMut::from(&second[..]));
        if message == 2 {
            assert!(matches!(result, Err(Error::Decrypt)), "{result:?}");
            continue;
        }
        result.unwrap();
        let mut third = initiator.poll_transmit().unwrap();
        third[byte] ^= 1;
        let result = responder.handle_input(&mut BytesMut::from(&third[..]));
        assert!(matches!(result, Err(Error::Decrypt)), "{result:?}");
    }
}

#[test]
fn a_different_prologue_fails_the_handshake() {
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let prologue = Config::default().with_prologue(b"libp2p-webrtc-noise:".to_vec());
    let mut responder = start(Role::Responder, 2, &prologue, None);
    deliver(&mut initiator, &mut responder).unwrap();
    assert!(matches!(
        deliver(&mut responder, &mut initiator),
        Err(Error::Decrypt)
    ));
}

/// Whether an initiator with `config` rejects a responder that signs a static key other
/// than the one it uses.
fn rejects_a_signature_over_another_static_key(config: &Config) -> bool {
    let mut initiator = start(Role::Initiator, 1, config, None);
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    responder.local_payload = payload::encode(&identity(2), &[7; 32], None).unwrap();
    deliver(&mut initiator, &mut responder).unwrap();
    matches!(
        deliver(&mut responder, &mut initiator),
        Err(Error::InvalidSignature)
    )
}

#[test]
fn a_signature_over_another_static_key_is_rejected() {
    assert!(rejects_a_signature_over_another_static_key(
        &Config::default()
    ));
}

#[test]
fn an_identity_key_that_did_not_sign_is_rejected() {
    // The initiator claims identity 5 but carries identity 1's signature.
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    let signed = payload::HandshakePayload::decode(&initiator.local_payload[..]).unwrap();
    let forged = payload::HandshakePayload {
        identity_key: Some(identity(5).public().encode_protobuf()),
        ..signed
    };
    initiator.local_payload = forged.encode_to_vec();
    deliver(&mut initiator, &mut responder).unwrap();
    deliver(&mut responder, &mut initiator).unwrap();
    assert!(matches!(
        deliver(&mut initiator, &mut responder),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn a_small_order_ephemeral_key_is_rejected() {
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    let mut first = BytesMut::from(&[0u8, 32][..]);
    first.extend_from_slice(&[0; 32]);
    assert!(matches!(
        responder.handle_input(&mut first),
        Err(Error::LowOrderKey)
    ));
}

#[test]
fn short_messages_are_rejected() {
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    assert!(matches!(
        responder.handle_input(&mut BytesMut::from(&[0u8, 3, 1, 2, 3][..])),
        Err(Error::HandshakeMessageTooShort {
            message: 1,
            len: 3,
            min: 32
        })
    ));
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let mut second = BytesMut::from(&[0u8, 95][..]);
    second.extend_from_slice(&[1; 95]);
    assert!(matches!(
        initiator.handle_input(&mut second),
        Err(Error::HandshakeMessageTooShort {
            message: 2,
            min: 96,
            ..
        })
    ));
}

#[test]
fn muxer_is_the_initiators_first_choice_the_responder_supports() {
    let (initiator, responder) = run(
        &muxers(&["/yamux/1.0.0", "/mplex/6.7.0"]),
        &muxers(&["/mplex/6.7.0", "/yamux/1.0.0"]),
    );
    let (initiator_output, _) = initiator.finish().unwrap();
    let (responder_output, _) = responder.finish().unwrap();
    assert_eq!(initiator_output.muxer.as_deref(), Some("/yamux/1.0.0"));
    assert_eq!(responder_output.muxer.as_deref(), Some("/yamux/1.0.0"));

    let (initiator, responder) = run(
        &muxers(&["/unknown/1", "/mplex/6.7.0"]),
        &muxers(&["/yamux/1.0.0", "/mplex/6.7.0"]),
    );
    assert_eq!(
        initiator.finish().unwrap().0.muxer.as_deref(),
        Some("/mplex/6.7.0")
    );
    assert_eq!(
        responder.finish().unwrap().0.muxer.as_deref(),
        Some("/mplex/6.7.0")
    );
}

#[test]
fn muxer_is_none_when_either_side_lists_none() {
    for (initiator_config, responder_config) in [
        (muxers(&["/yamux/1.0.0"]), muxers(&[])),
        (muxers(&[]), muxers(&["/yamux/1.0.0"])),
        (muxers(&[]), muxers(&[])),
    ] {
        let (initiator, responder) = run(&initiator_config, &responder_config);
        assert_eq!(initiator.finish().unwrap().0.muxer, None);
        assert_eq!(responder.finish().unwrap().0.muxer, None);
    }
}

#[test]
fn disjoint_muxer_lists_fail_the_handshake_on_both_sides() {
    let (initiator, responder) = run(&muxers(&["/yamux/1.0.0"]), &muxers(&["/mplex/6.7.0"]));
    for side in [initiator, responder] {
        match side.finish() {
            Err(Error::NoCommonMuxer {
                initiator,
                responder,
            }) => {
                assert_eq!(initiator, ["/yamux/1.0.0"]);
                assert_eq!(responder, ["/mplex/6.7.0"]);
            }
            other => panic!("expected NoCommonMuxer, got {other:?}"),
        }
    }
}

#[test]
fn webtransport_certhashes_reach_the_peer() {
    let hashes = vec![vec![0x12, 0x20, 0xaa], vec![0x12, 0x20, 0xbb]];
    let responder_config = Config::default().with_webtransport_certhashes(hashes.clone());
    let (initiator, _) = run(&Config::default(), &responder_config);
    assert_eq!(
        initiator.finish().unwrap().0.remote_webtransport_certhashes,
        hashes
    );
}

#[test]
fn a_payload_too_large_for_one_message_is_refused_up_front() {
    let config = Config::default().with_muxers(vec!["x".repeat(70_000)]);
    let (local_static, local_ephemeral) = keys(1);
    let result = Handshake::with_keys(
        Role::Responder,
        &identity(1),
        &config,
        None,
        local_static,
        local_ephemeral,
    );
    assert!(matches!(
        result,
        Err(Error::MessageTooLarge { max: 65535, .. })
    ));
}

#[test]
fn finishing_early_is_an_error() {
    let initiator = start(Role::Initiator, 1, &Config::default(), None);
    assert!(matches!(initiator.finish(), Err(Error::OutOfOrder(_))));
}

#[test]
fn a_finished_handshake_leaves_input_alone() {
    let (mut initiator, _) = run(&Config::default(), &Config::default());
    let mut input = BytesMut::from(&[0u8, 1, 2][..]);
    assert!(!initiator.wants_input());
    initiator.handle_input(&mut input).unwrap();
    assert_eq!(input.len(), 3);
}

/// Runs a handshake against a responder made by the public constructor with `config` and
/// the identity of `seed`; returns the static key the initiator saw it use, once both sides
/// have authenticated each other.
fn responder_static_key(config: &Config, seed: u8) -> [u8; 32] {
    let mut initiator = start(Role::Initiator, 1, &Config::default(), None);
    let mut responder =
        Handshake::responder(&identity(seed), config, None, &mut crate::os_rng()).unwrap();
    deliver(&mut initiator, &mut responder).unwrap();
    deliver(&mut responder, &mut initiator).unwrap();
    deliver(&mut initiator, &mut responder).unwrap();
    let seen = *initiator.noise.remote_static().unwrap();
    let (output, _) = initiator.finish().unwrap();
    assert_eq!(output.remote_peer, identity(seed).peer_id());
    responder.finish().unwrap();
    seen
}

#[test]
fn a_shared_static_key_serves_every_handshake_of_the_identity_that_signed_it() {
    let key = StaticKey::generate(&identity(2)).unwrap();
    let config = Config::default().with_static_key(key.clone());
    assert_eq!(responder_static_key(&config, 2), *key.public());
    assert_eq!(responder_static_key(&config, 2), *key.public());
    // Signed by another identity: that handshake makes a key of its own.
    assert_ne!(responder_static_key(&config, 3), *key.public());
    // Without a shared key, each handshake has its own.
    let plain = Config::default();
    assert_ne!(
        responder_static_key(&plain, 2),
        responder_static_key(&plain, 2)
    );
}

#[test]
fn a_signature_cache_skips_only_signatures_it_saw_verified() {
    let cache = SignatureCache::default();
    let config = Config::default().with_signature_cache(cache.clone());
    // The responder (fixed keys) reconnects twice to the same initiator's node: one entry.
    for _ in 0..2 {
        let mut initiator = start(Role::Initiator, 1, &config, None);
        let mut responder = start(Role::Responder, 2, &Config::default(), None);
        deliver(&mut initiator, &mut responder).unwrap();
        deliver(&mut responder, &mut initiator).unwrap();
        assert_eq!(
            initiator.remote.as_ref().unwrap().peer_id,
            identity(2).peer_id()
        );
    }
    assert_eq!(cache.len(), 1);
    // The cached identity's signature over another static key still fails.
    assert!(rejects_a_signature_over_another_static_key(&config));
    // Another identity key carrying the cached signature fails too.
    let mut initiator = start(Role::Initiator, 1, &config, None);
    let mut responder = start(Role::Responder, 2, &Config::default(), None);
    let signed = payload::HandshakePayload::decode(&responder.local_payload[..]).unwrap();
    responder.local_payload = payload::HandshakePayload {
        identity_key: Some(identity(5).public().encode_protobuf()),
        ..signed
    }
    .encode_to_vec();
    deliver(&mut initiator, &mut responder).unwrap();
    assert!(matches!(
        deliver(&mut responder, &mut initiator),
        Err(Error::InvalidSignature)
    ));
    assert_eq!(cache.len(), 1);
}
