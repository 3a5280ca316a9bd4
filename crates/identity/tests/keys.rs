//! Keys of every type: generation, signatures, protobuf encodings and their failure modes.

mod common;

use hyphae_identity::{Error, KeyType, Keypair, PublicKey};
use proptest::prelude::*;

/// One fresh key of each type; RSA generation is slow, so it is done once.
fn fresh_keys() -> &'static [Keypair] {
    static KEYS: std::sync::OnceLock<Vec<Keypair>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        KeyType::ALL
            .into_iter()
            .map(|key_type| Keypair::generate(key_type).unwrap())
            .collect()
    })
}

#[test]
fn generated_keys_sign_and_verify() {
    for keypair in fresh_keys() {
        let signature = keypair.sign(b"message").unwrap();
        let public = keypair.public();
        assert!(
            public.verify(b"message", &signature),
            "{}",
            keypair.key_type()
        );
        assert!(!public.verify(b"massage", &signature));
        let mut tampered = signature.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(!public.verify(b"message", &tampered));
        assert!(!public.verify(b"message", &[]));
    }
}

#[test]
fn signatures_from_one_key_do_not_verify_under_another() {
    let keys = fresh_keys();
    for signer in keys {
        let signature = signer.sign(b"message").unwrap();
        for other in keys
            .iter()
            .filter(|other| other.key_type() != signer.key_type())
        {
            assert!(!other.public().verify(b"message", &signature));
        }
        let same_type = Keypair::generate(signer.key_type()).unwrap();
        if signer.key_type() != KeyType::Rsa {
            assert!(!same_type.public().verify(b"message", &signature));
        }
    }
}

#[test]
fn generated_keys_round_trip_through_protobuf() {
    for keypair in fresh_keys() {
        let encoded = keypair.to_protobuf_encoding().unwrap();
        let decoded = Keypair::from_protobuf_encoding(&encoded).unwrap();
        assert_eq!(decoded.peer_id(), keypair.peer_id());
        assert_eq!(decoded.key_type(), keypair.key_type());
        let public = PublicKey::decode_protobuf(&keypair.public().encode_protobuf()).unwrap();
        assert_eq!(public, keypair.public());
    }
}

#[test]
fn peer_id_forms_follow_the_key_type() {
    let prefixes = [
        (KeyType::Rsa, "Qm"),
        (KeyType::Ed25519, "12D3KooW"),
        (KeyType::Secp256k1, "16Uiu2"),
        (KeyType::Ecdsa, "Qm"),
    ];
    for (keypair, (key_type, prefix)) in fresh_keys().iter().zip(prefixes) {
        assert_eq!(keypair.key_type(), key_type);
        assert!(keypair.peer_id().to_string().starts_with(prefix));
    }
}

#[test]
fn legacy_96_byte_ed25519_keys_are_accepted_when_consistent() {
    let encoded = common::vector(KeyType::Ed25519, "private");
    let data = &encoded[4..];
    let mut legacy = vec![0x08, 0x01, 0x12, 96];
    legacy.extend_from_slice(data);
    legacy.extend_from_slice(&data[32..]);
    let keypair = Keypair::from_protobuf_encoding(&legacy).unwrap();
    assert_eq!(
        keypair.peer_id(),
        Keypair::from_protobuf_encoding(&encoded).unwrap().peer_id()
    );

    let last = legacy.len() - 1;
    legacy[last] ^= 1;
    assert!(matches!(
        Keypair::from_protobuf_encoding(&legacy),
        Err(Error::InvalidPrivateKey {
            key_type: KeyType::Ed25519,
            ..
        })
    ));
}

#[test]
fn ed25519_key_with_a_foreign_public_half_is_rejected() {
    let mut encoded = common::vector(KeyType::Ed25519, "private");
    let last = encoded.len() - 1;
    encoded[last] ^= 1;
    let error = Keypair::from_protobuf_encoding(&encoded).unwrap_err();
    assert!(error.to_string().contains("does not belong"), "{error}");
}

#[test]
fn public_key_in_place_of_private_key_is_named_as_such() {
    let public = common::vector(KeyType::Ed25519, "public");
    let error = Keypair::from_protobuf_encoding(&public).unwrap_err();
    assert!(error.to_string().contains("public key"), "{error}");
}

#[test]
fn unknown_key_type_is_rejected() {
    // PublicKey { Type: 7, Data: [1] }
    assert!(matches!(
        PublicKey::decode_protobuf(&[0x08, 0x07, 0x12, 0x01, 0x01]),
        Err(Error::UnknownKeyType(7))
    ));
}

#[test]
fn missing_required_fields_are_named() {
    assert!(matches!(
        PublicKey::decode_protobuf(&[0x08, 0x01]),
        Err(Error::MissingField {
            message: "PublicKey",
            field: "Data"
        })
    ));
    assert!(matches!(
        Keypair::from_protobuf_encoding(&[]),
        Err(Error::MissingField {
            message: "PrivateKey",
            field: "Type"
        })
    ));
    assert!(matches!(
        Keypair::from_protobuf_encoding(&[0x12, 0x00]),
        Err(Error::MissingField { field: "Type", .. })
    ));
}

#[test]
fn small_rsa_keys_are_rejected() {
    // A 1024-bit PKIX public key: libp2p requires at least 2048 bits.
    let rsa_1024 = common::hex(concat!(
        "30819f300d06092a864886f70d010101050003818d0030818902818100a4fcb2c6fe488344bfe7f600",
        "276fddd609a08c0fc14529b67144225da585ccfdb3ac5f73b99052f32b72b8215e28c54a0cb9b752f3",
        "1e134912459b049f2e9ff80aae61ded28945a77f0dc5e8d8851156f31ba24f0d6834a9c89e53ae2f1d",
        "aa7a6c2e1af7ffa63dc0c14e2c6a8c66c3c1e93906a12794e798ac6e400fbb90470b0203010001"
    ));
    let mut encoded = vec![0x08, 0x00, 0x12, 0xa2, 0x01];
    encoded.extend_from_slice(&rsa_1024);
    let error = PublicKey::decode_protobuf(&encoded).unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidPublicKey {
                key_type: KeyType::Rsa,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn debug_output_hides_the_secret() {
    let keypair = Keypair::ed25519_from_secret(&[7; 32]);
    let debug = format!("{keypair:?}");
    assert!(
        debug.contains("Ed25519") && debug.contains("12D3KooW"),
        "{debug}"
    );
    assert!(!debug.contains("[7, 7"), "{debug}");
}

proptest! {
    #[test]
    fn decoding_arbitrary_public_keys_never_panics(bytes: Vec<u8>) {
        let _ = PublicKey::decode_protobuf(&bytes);
    }

    #[test]
    fn decoding_arbitrary_private_keys_never_panics(bytes: Vec<u8>) {
        let _ = Keypair::from_protobuf_encoding(&bytes);
    }

    #[test]
    fn arbitrary_key_data_of_each_type_never_panics(
        key_type in 0i32..4,
        data in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut encoded = vec![0x08, key_type as u8, 0x12];
        encoded.push(data.len() as u8 | 0x80);
        encoded.push((data.len() >> 7) as u8);
        encoded.extend_from_slice(&data);
        let _ = PublicKey::decode_protobuf(&encoded);
        let _ = Keypair::from_protobuf_encoding(&encoded);
    }

    #[test]
    fn ed25519_signatures_verify_for_any_message(secret: [u8; 32], message: Vec<u8>) {
        let keypair = Keypair::ed25519_from_secret(&secret);
        let signature = keypair.sign(&message).unwrap();
        prop_assert!(keypair.public().verify(&message, &signature));
    }
}
