//! The test vectors of libp2p/specs peer-ids/peer-ids.md, checked byte for byte.
//!
//! The expected peer ids were computed independently (Python hashlib and a textbook base58)
//! from the spec's public keys.

mod common;

use common::{to_hex, vector};
use hyphae_identity::{KeyType, Keypair, PeerId, PublicKey};

const EXPECTED: [(KeyType, &str, &str); 4] = [
    (
        KeyType::Ed25519,
        "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
        "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6",
    ),
    (
        KeyType::Secp256k1,
        "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
        "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte",
    ),
    (
        KeyType::Ecdsa,
        "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk",
        "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64",
    ),
    (
        KeyType::Rsa,
        "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG",
        "bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu",
    ),
];

#[test]
fn private_key_vectors_derive_the_spec_public_keys() {
    for key_type in KeyType::ALL {
        let keypair = Keypair::from_protobuf_encoding(&vector(key_type, "private"))
            .unwrap_or_else(|error| panic!("{key_type}: {error}"));
        assert_eq!(keypair.key_type(), key_type);
        assert_eq!(
            to_hex(&keypair.public().encode_protobuf()),
            to_hex(&vector(key_type, "public")),
            "{key_type} public key"
        );
    }
}

#[test]
fn public_key_vectors_round_trip_byte_exactly() {
    for key_type in KeyType::ALL {
        let encoded = vector(key_type, "public");
        let key = PublicKey::decode_protobuf(&encoded).unwrap();
        assert_eq!(key.key_type(), key_type);
        assert_eq!(key.encode_protobuf(), encoded, "{key_type}");
    }
}

#[test]
fn private_key_vectors_round_trip() {
    for key_type in KeyType::ALL {
        let encoded = vector(key_type, "private");
        let keypair = Keypair::from_protobuf_encoding(&encoded).unwrap();
        let re_encoded = keypair.to_protobuf_encoding().unwrap();
        // Ed25519, secp256k1 and ECDSA re-encode to the very same bytes; the RSA vector's
        // PKCS#1 document is what our encoder writes too.
        assert_eq!(to_hex(&re_encoded), to_hex(&encoded), "{key_type}");
    }
}

#[test]
fn vectors_give_the_expected_peer_ids_in_both_text_forms() {
    for (key_type, base58, cid) in EXPECTED {
        let key = PublicKey::decode_protobuf(&vector(key_type, "public")).unwrap();
        let peer_id = key.to_peer_id();
        assert_eq!(peer_id.to_string(), base58, "{key_type}");
        assert_eq!(peer_id.to_cid_string(), cid, "{key_type}");
        assert_eq!(base58.parse::<PeerId>().unwrap(), peer_id);
        assert_eq!(cid.parse::<PeerId>().unwrap(), peer_id);
    }
}

#[test]
fn vector_keys_sign_and_verify() {
    for key_type in KeyType::ALL {
        let keypair = Keypair::from_protobuf_encoding(&vector(key_type, "private")).unwrap();
        let signature = keypair.sign(b"libp2p").unwrap();
        let public = PublicKey::decode_protobuf(&vector(key_type, "public")).unwrap();
        assert!(public.verify(b"libp2p", &signature), "{key_type}");
        assert!(!public.verify(b"libp2q", &signature), "{key_type}");
    }
}
