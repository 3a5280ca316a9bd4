//! Signed and anonymous messages against the two strict signature policies
//! (pubsub/README.md, "Message Signing"), through the public API.

use bytes::Bytes;
use hyphae_gossipsub::{
    Error, Limits, Message, MessageField, Origin, Publisher, Rpc, SignaturePolicy, initial_seqno,
};
use hyphae_identity::{KeyType, Keypair};

/// A change made to a message, for tables of cases.
type Edit = fn(&mut Message);

const FIRST_SEQNO: u64 = 1_700_000_000_000_000_000;

fn ed25519() -> Keypair {
    Keypair::ed25519_from_secret(&[7; 32])
}

fn signed_by(keypair: &Keypair) -> Message {
    Publisher::signing(keypair.clone(), FIRST_SEQNO)
        .build_message("topic", Bytes::from_static(b"some data"))
        .expect("signing")
}

fn validate_signed(message: &Message) -> Result<Origin, Error> {
    SignaturePolicy::StrictSign.validate(message)
}

fn assert_signed_by(message: &Message, keypair: &Keypair) {
    let origin = validate_signed(message).expect("a valid signed message");
    assert_eq!(
        origin,
        Origin::Author {
            peer_id: keypair.peer_id(),
            seqno: FIRST_SEQNO
        }
    );
}

#[test]
fn an_ed25519_message_signed_by_us_verifies_and_carries_no_key() {
    let keypair = ed25519();
    let message = signed_by(&keypair);
    assert_eq!(message.from, Some(keypair.peer_id().to_bytes()));
    assert_eq!(message.seqno, Some(FIRST_SEQNO.to_be_bytes().to_vec()));
    assert_eq!(message.data.as_deref(), Some(&b"some data"[..]));
    assert_eq!(message.key, None, "the peer id inlines an Ed25519 key");
    assert_signed_by(&message, &keypair);
}

#[test]
fn a_secp256k1_message_verifies_and_carries_no_key() {
    let keypair = Keypair::generate(KeyType::Secp256k1).expect("secp256k1 key");
    let message = signed_by(&keypair);
    assert_eq!(message.key, None, "the peer id inlines a secp256k1 key");
    assert_signed_by(&message, &keypair);
}

#[test]
fn an_ecdsa_message_carries_its_key_and_verifies() {
    let keypair = Keypair::generate(KeyType::Ecdsa).expect("ECDSA key");
    let message = signed_by(&keypair);
    assert_eq!(message.key, Some(keypair.public().encode_protobuf()));
    assert_signed_by(&message, &keypair);
}

#[test]
fn an_rsa_message_carries_its_key_and_verifies() {
    let keypair = Keypair::generate(KeyType::Rsa).expect("RSA key");
    let message = signed_by(&keypair);
    assert_eq!(message.key, Some(keypair.public().encode_protobuf()));
    assert_signed_by(&message, &keypair);
}

#[test]
fn a_signed_message_still_verifies_after_a_trip_over_the_wire() {
    let keypair = Keypair::generate(KeyType::Ecdsa).expect("ECDSA key");
    let message = signed_by(&keypair);
    let rpc = Rpc {
        publish: vec![message.clone()],
        ..Rpc::default()
    };
    let decoded = Rpc::decode(&rpc.encode(), &Limits::default()).expect("decodes");
    assert_eq!(decoded.rpc.publish, vec![message]);
    assert_signed_by(&decoded.rpc.publish[0], &keypair);
}

fn flipped(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[bit / 8] ^= 1 << (bit % 8);
    bytes
}

/// Flips each bit of a field in turn (`len` bytes long) and checks the message fails, for a
/// bad signature where `is_signature_error`; a flip of the author may fail earlier.
fn assert_every_flip_fails(
    original: &Message,
    len: usize,
    is_signature_error: bool,
    flip: impl Fn(&mut Message, usize),
) {
    for bit in 0..len * 8 {
        let mut message = original.clone();
        flip(&mut message, bit);
        if message == *original {
            continue;
        }
        match validate_signed(&message) {
            Err(Error::InvalidSignature { .. }) => {}
            Err(_) if !is_signature_error => {}
            other => panic!("bit {bit} flipped gives {other:?}: {message:?}"),
        }
    }
}

#[test]
fn any_flipped_bit_in_data_topic_seqno_from_or_signature_fails_verification() {
    let keypair = ed25519();
    let message = signed_by(&keypair);
    let data = message.data.clone().expect("data");
    assert_every_flip_fails(&message, data.len(), true, |m, bit| {
        m.data = Some(flipped(&data, bit).into())
    });
    let topic = message.topic.clone();
    assert_every_flip_fails(&message, topic.len(), true, |m, bit| {
        // A flip that leaves UTF-8 cannot be a topic; leaving the message unchanged skips it.
        if let Ok(flipped) = String::from_utf8(flipped(topic.as_bytes(), bit)) {
            m.topic = flipped;
        }
    });
    let seqno = message.seqno.clone().expect("seqno");
    assert_every_flip_fails(&message, seqno.len(), true, |m, bit| {
        m.seqno = Some(flipped(&seqno, bit))
    });
    let from = message.from.clone().expect("from");
    assert_every_flip_fails(&message, from.len(), false, |m, bit| {
        m.from = Some(flipped(&from, bit))
    });
    let signature = message.signature.clone().expect("signature");
    assert_every_flip_fails(&message, signature.len(), true, |m, bit| {
        m.signature = Some(flipped(&signature, bit))
    });
}

#[test]
fn a_flipped_bit_in_a_carried_key_fails_verification() {
    let keypair = Keypair::generate(KeyType::Ecdsa).expect("ECDSA key");
    let message = signed_by(&keypair);
    let key = message.key.clone().expect("key");
    assert_every_flip_fails(&message, key.len(), false, |m, bit| {
        m.key = Some(flipped(&key, bit))
    });
}

#[test]
fn strict_sign_refuses_a_message_lacking_from_seqno_or_signature() {
    let message = signed_by(&ed25519());
    let cases: [(MessageField, Edit); 3] = [
        (MessageField::From, |m| m.from = None),
        (MessageField::Seqno, |m| m.seqno = None),
        (MessageField::Signature, |m| m.signature = None),
    ];
    for (field, remove) in cases {
        let mut lacking = message.clone();
        remove(&mut lacking);
        assert!(
            matches!(validate_signed(&lacking), Err(Error::MissingField(f)) if f == field),
            "without {field}"
        );
    }
}

#[test]
fn strict_sign_refuses_an_anonymous_message() {
    let message = Publisher::anonymous()
        .build_message("topic", Bytes::from_static(b"x"))
        .expect("no signing");
    assert!(matches!(
        validate_signed(&message),
        Err(Error::MissingField(MessageField::From))
    ));
}

#[test]
fn strict_sign_refuses_a_hashed_author_without_its_key() {
    let keypair = Keypair::generate(KeyType::Ecdsa).expect("ECDSA key");
    let mut message = signed_by(&keypair);
    message.key = None;
    assert!(matches!(
        validate_signed(&message),
        Err(Error::MissingKey { author }) if author == keypair.peer_id()
    ));
}

#[test]
fn strict_sign_refuses_the_key_of_another_peer() {
    let keypair = Keypair::generate(KeyType::Ecdsa).expect("ECDSA key");
    let other = Keypair::generate(KeyType::Ecdsa).expect("ECDSA key");
    let mut message = signed_by(&keypair);
    message.key = Some(other.public().encode_protobuf());
    assert!(matches!(
        validate_signed(&message),
        Err(Error::KeyMismatch { author, key_owner })
            if author == keypair.peer_id() && key_owner == other.peer_id()
    ));
}

#[test]
fn strict_sign_accepts_a_carried_key_that_the_peer_id_also_inlines() {
    // go-libp2p-pubsub and rust-libp2p use a carried key whenever it matches the author.
    let keypair = ed25519();
    let mut message = signed_by(&keypair);
    message.key = Some(keypair.public().encode_protobuf());
    assert_signed_by(&message, &keypair);
    message.key = Some(Keypair::generate_ed25519().public().encode_protobuf());
    assert!(matches!(
        validate_signed(&message),
        Err(Error::KeyMismatch { .. })
    ));
}

#[test]
fn strict_sign_refuses_an_undecodable_key() {
    let mut message = signed_by(&ed25519());
    message.key = Some(vec![0x08, 0x01, 0x12, 0x03, 1, 2, 3]);
    assert!(matches!(
        validate_signed(&message),
        Err(Error::InvalidKey(_))
    ));
    // An identity peer id whose inlined bytes are no key.
    message.key = None;
    message.from = Some(vec![0x00, 0x03, 0xff, 0xff, 0xff]);
    assert!(matches!(
        validate_signed(&message),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn strict_sign_refuses_an_author_that_is_not_a_peer_id() {
    let mut message = signed_by(&ed25519());
    message.from = Some(b"not a multihash at all".to_vec());
    assert!(matches!(
        validate_signed(&message),
        Err(Error::InvalidAuthor(_))
    ));
}

#[test]
fn strict_sign_refuses_a_seqno_that_is_not_8_bytes() {
    for len in [0, 1, 7, 9, 32] {
        let mut message = signed_by(&ed25519());
        message.seqno = Some(vec![1; len]);
        assert!(
            matches!(validate_signed(&message), Err(Error::InvalidSeqnoLength { len: l }) if l == len),
            "seqno of {len} bytes"
        );
    }
}

#[test]
fn strict_no_sign_accepts_an_anonymous_message() {
    let mut publisher = Publisher::anonymous();
    assert_eq!(publisher.policy(), SignaturePolicy::StrictNoSign);
    assert_eq!(publisher.author(), None);
    let message = publisher
        .build_message("topic", Bytes::from_static(b"x"))
        .expect("no signing");
    assert_eq!(
        message,
        Message {
            data: Some(Bytes::from_static(b"x")),
            topic: "topic".into(),
            ..Message::default()
        }
    );
    assert_eq!(
        SignaturePolicy::StrictNoSign
            .validate(&message)
            .expect("valid"),
        Origin::Anonymous
    );
}

#[test]
fn strict_no_sign_refuses_a_signed_message() {
    let message = signed_by(&ed25519());
    assert!(matches!(
        SignaturePolicy::StrictNoSign.validate(&message),
        Err(Error::UnexpectedField(MessageField::From))
    ));
}

#[test]
fn strict_no_sign_refuses_each_authenticity_field_even_when_empty() {
    let cases: [(MessageField, Edit); 4] = [
        (MessageField::From, |m| m.from = Some(Vec::new())),
        (MessageField::Seqno, |m| m.seqno = Some(Vec::new())),
        (MessageField::Signature, |m| m.signature = Some(Vec::new())),
        (MessageField::Key, |m| m.key = Some(Vec::new())),
    ];
    for (field, add) in cases {
        let mut message = Message {
            topic: "topic".into(),
            ..Message::default()
        };
        add(&mut message);
        assert!(
            matches!(
                SignaturePolicy::StrictNoSign.validate(&message),
                Err(Error::UnexpectedField(f)) if f == field
            ),
            "with an empty {field}"
        );
    }
}

#[test]
fn a_signing_publisher_numbers_its_messages_consecutively() {
    let keypair = ed25519();
    let mut publisher = Publisher::signing(keypair.clone(), u64::MAX - 1);
    assert_eq!(publisher.policy(), SignaturePolicy::StrictSign);
    assert_eq!(publisher.author(), Some(keypair.peer_id()));
    let seqnos: Vec<u64> = (0..3)
        .map(|_| {
            let message = publisher
                .build_message("topic", Bytes::new())
                .expect("signing");
            match validate_signed(&message).expect("valid") {
                Origin::Author { seqno, .. } => seqno,
                Origin::Anonymous => panic!("signed message without author"),
            }
        })
        .collect();
    assert_eq!(seqnos, [u64::MAX - 1, u64::MAX, 0]);
}

#[test]
fn the_initial_seqno_is_the_unix_time_in_nanoseconds() {
    use std::time::{Duration, UNIX_EPOCH};
    assert_eq!(
        initial_seqno(UNIX_EPOCH + Duration::from_secs(1)),
        1_000_000_000
    );
    assert_eq!(initial_seqno(UNIX_EPOCH - Duration::from_secs(1)), 0);
    assert_eq!(
        initial_seqno(UNIX_EPOCH + Duration::from_secs(u64::MAX / 1_000_000_000 + 1)),
        u64::MAX
    );
}
