//! Fixed signed messages and their ids, computed independently of hyphae by
//! `tests/vectors/signed_messages.py`: protobuf written by hand from pubsub/README.md's
//! schema, keys and peer ids per peer-ids/peer-ids.md, signatures by Python's `cryptography`.

use bytes::Bytes;
use hyphae_gossipsub::{
    Limits, Message, MessageIdFn, Origin, Publisher, Rpc, SignaturePolicy, author_seqno_id,
    author_seqno_text_id, data_sha256_id,
};
use hyphae_identity::{Keypair, PeerId};

const DATA: &[u8] = b"hello gossipsub";
const TOPIC: &str = "hyphae-test";
const SEQNO: u64 = 1_700_000_000_000_000_000;

/// Ed25519 secret 00 01 02 .. 1f.
const ED25519_PEER_ID: &str = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB";
const ED25519_SIGNED_MESSAGE: &str = "0a2600240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8120f68656c6c6f20676f737369707375621a0817979cfe362a0000220b6879706861652d746573742a400581edbf6dbdd72529210affb6cc2d945ccf62f94f3a5c94ef9cb44f3204679f87e1feb97a50f2bbd30ee7602cdd96fa0e945ce9da05d7e89cca1ff5cda7db00";

/// ECDSA P-256: the peer id hashes the key, which the message carries in `key`.
const ECDSA_PEER_ID: &str = "1220299f91e34820fcf02c43e08db7928ed74780d2e840b7084c2d113661a395c247";
const ECDSA_SIGNED_MESSAGE: &str = "0a221220299f91e34820fcf02c43e08db7928ed74780d2e840b7084c2d113661a395c247120f68656c6c6f20676f737369707375621a0817979cfe362a0000220b6879706861652d746573742a473045022100b8e800296b7763dde0f3ef52a930fe0b193cc7ce63027c9bfaf0096b7bbfcb9d02201666172e21aaeb0c84e2b086b333f55b4660721bcb90f1f8a4e8146214ba85e3325f0803125b3059301306072a8648ce3d020106082a8648ce3d030107034200049fad84aeae08bbef7f010014d82cef6a09de2b0cf871b5ce0c4f1d13a59a593407cb45769f1070e2c2470fe5b1bfe63133c0b0cdc64ea4bf3791a8ec2a07fd4f";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Reads one `Message` by wrapping it as the `publish` field (2) of an RPC.
fn decode_message(message: &[u8]) -> Message {
    let mut rpc = vec![0x12];
    let mut len = message.len();
    while len >= 0x80 {
        rpc.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    rpc.push(len as u8);
    rpc.extend_from_slice(message);
    let mut decoded = Rpc::decode(&rpc, &Limits::default()).expect("decodes");
    assert_eq!(decoded.skipped, 0);
    decoded.rpc.publish.pop().expect("one message")
}

fn ed25519_keypair() -> Keypair {
    let secret: [u8; 32] = std::array::from_fn(|i| i as u8);
    Keypair::ed25519_from_secret(&secret)
}

#[test]
fn we_sign_the_ed25519_vector_byte_for_byte() {
    let keypair = ed25519_keypair();
    assert_eq!(keypair.peer_id().to_string(), ED25519_PEER_ID);
    let message = Publisher::signing(keypair, SEQNO)
        .build_message(TOPIC, Bytes::from_static(DATA))
        .expect("signing");
    let rpc = Rpc {
        publish: vec![message],
        ..Rpc::default()
    };
    let expected = hex(ED25519_SIGNED_MESSAGE);
    // RPC field 2 (publish), a two-byte length, then the message.
    assert_eq!(rpc.encode()[3..], expected[..]);
}

#[test]
fn the_ed25519_vector_verifies() {
    let message = decode_message(&hex(ED25519_SIGNED_MESSAGE));
    assert_eq!(message.key, None);
    assert_eq!(
        SignaturePolicy::StrictSign
            .validate(&message)
            .expect("valid"),
        Origin::Author {
            peer_id: ED25519_PEER_ID.parse().expect("peer id"),
            seqno: SEQNO
        }
    );
}

#[test]
fn the_ecdsa_vector_with_a_carried_key_verifies() {
    let message = decode_message(&hex(ECDSA_SIGNED_MESSAGE));
    assert!(message.key.is_some());
    let author = PeerId::from_bytes(&hex(ECDSA_PEER_ID)).expect("peer id");
    assert_eq!(
        SignaturePolicy::StrictSign
            .validate(&message)
            .expect("valid"),
        Origin::Author {
            peer_id: author,
            seqno: SEQNO
        }
    );
}

#[test]
fn the_default_ids_of_the_ed25519_vector() {
    let message = decode_message(&hex(ED25519_SIGNED_MESSAGE));
    let author_seqno = hex(
        "00240801122003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b817979cfe362a0000",
    );
    assert_eq!(author_seqno_id(&message).as_bytes(), author_seqno);
    assert_eq!(
        MessageIdFn::default_for(SignaturePolicy::StrictSign)
            .message_id(&message)
            .as_bytes(),
        author_seqno
    );
    assert_eq!(
        author_seqno_text_id(&message).as_bytes(),
        format!("{ED25519_PEER_ID}1700000000000000000").as_bytes()
    );
    let data_sha256 = hex("921b2675fea85047187d87414158ff5df10185115f6b42ddaec098dbaec71164");
    assert_eq!(data_sha256_id(&message).as_bytes(), data_sha256);
    assert_eq!(
        MessageIdFn::default_for(SignaturePolicy::StrictNoSign)
            .message_id(&message)
            .as_bytes(),
        data_sha256
    );
}

#[test]
fn ids_of_messages_without_author_fields() {
    let anonymous = Message {
        topic: TOPIC.into(),
        ..Message::default()
    };
    assert_eq!(author_seqno_id(&anonymous).as_bytes(), b"");
    // rust-libp2p's stand-in author 00 01 00 and seqno 0.
    assert_eq!(author_seqno_text_id(&anonymous).as_bytes(), b"15R0");
    // SHA-256 of nothing.
    assert_eq!(
        data_sha256_id(&anonymous).as_bytes(),
        hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
}
