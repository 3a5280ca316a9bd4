//! Peer ids: binary and text forms, key recovery, and bad input.

use hyphae_encoding::multibase::{self, Base};
use hyphae_identity::{Error, KeyType, Keypair, PeerId};
use proptest::prelude::*;

#[test]
fn parses_the_spec_text_examples() {
    // Examples from peer-ids/peer-ids.md, "String representation".
    let cid: PeerId = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"
        .parse()
        .unwrap();
    assert_eq!(
        cid.to_string(),
        "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
    );
    let legacy: PeerId = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
        .parse()
        .unwrap();
    assert_eq!(legacy, cid);
    let inline: PeerId = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
        .parse()
        .unwrap();
    assert_eq!(
        inline.to_string(),
        "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
    );
}

#[test]
fn cid_form_parses_in_any_multibase() {
    let peer_id = PeerId::random();
    for base in Base::ALL {
        let text = peer_id.to_cid_string_in(base);
        assert_eq!(text.parse::<PeerId>().unwrap(), peer_id, "{}", base.name());
    }
}

#[test]
fn recovers_inlined_public_keys() {
    for key_type in [KeyType::Ed25519, KeyType::Secp256k1] {
        let keypair = Keypair::generate(key_type).unwrap();
        let recovered = keypair.peer_id().public_key().unwrap();
        assert_eq!(recovered, keypair.public());
        assert!(keypair.peer_id().is_public_key(&recovered));
    }
    let hashed = Keypair::generate(KeyType::Ecdsa).unwrap();
    assert_eq!(hashed.peer_id().public_key(), None);
    assert!(hashed.peer_id().is_public_key(&hashed.public()));
    assert!(!PeerId::random().is_public_key(&hashed.public()));
}

#[test]
fn binary_form_round_trips() {
    let peer_id = PeerId::random();
    assert_eq!(PeerId::from_bytes(&peer_id.to_bytes()).unwrap(), peer_id);
    assert_eq!(peer_id.as_bytes()[..2], [0x00, 0x24]);
}

#[test]
fn rejects_unsupported_multihashes() {
    // sha1 (0x11) multihash of 20 bytes
    let mut sha1 = vec![0x11, 20];
    sha1.extend_from_slice(&[1; 20]);
    assert!(matches!(
        PeerId::from_bytes(&sha1),
        Err(Error::UnsupportedPeerIdHash(0x11))
    ));
    // sha2-256 with a short digest
    assert!(matches!(
        PeerId::from_bytes(&[0x12, 0x02, 1, 2]),
        Err(Error::PeerIdDigestLength {
            hash: "sha2-256",
            len: 2
        })
    ));
    // identity digest longer than 42 bytes
    let mut long = vec![0x00, 43];
    long.extend_from_slice(&[0; 43]);
    assert!(matches!(
        PeerId::from_bytes(&long),
        Err(Error::PeerIdDigestLength {
            hash: "identity",
            len: 43
        })
    ));
    assert!(matches!(
        PeerId::from_bytes(&[0x12, 0x20, 1]),
        Err(Error::PeerIdMultihash(_))
    ));
}

#[test]
fn rejects_cids_of_other_codecs_with_a_reason() {
    let mut cid = vec![0x01, 0x55]; // CIDv1, raw codec
    cid.extend_from_slice(PeerId::random().as_bytes());
    let text = multibase::encode(Base::Base32Lower, &cid);
    let error = text.parse::<PeerId>().unwrap_err();
    assert!(error.to_string().contains("libp2p-key"), "{error}");
}

#[test]
fn rejects_bad_text_with_a_reason() {
    for text in ["", "hello", "Qm0000", "12D3KooW", "zzzz", &"1".repeat(500)] {
        let error = text.parse::<PeerId>().unwrap_err();
        assert!(matches!(error, Error::PeerIdText { .. }), "{text}: {error}");
    }
}

#[test]
fn orders_and_hashes_by_bytes() {
    let mut ids: Vec<PeerId> = (0..8).map(|_| PeerId::random()).collect();
    ids.sort();
    assert!(
        ids.windows(2)
            .all(|pair| pair[0].as_bytes() < pair[1].as_bytes())
    );
    let set: std::collections::HashSet<PeerId> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
        if let Ok(peer_id) = PeerId::from_bytes(&bytes) {
            prop_assert_eq!(peer_id.as_bytes(), &bytes[..]);
            let _ = peer_id.public_key();
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text: String) {
        if let Ok(peer_id) = text.parse::<PeerId>() {
            prop_assert_eq!(peer_id.to_string().parse::<PeerId>().unwrap(), peer_id);
        }
    }

    #[test]
    fn text_forms_round_trip(secret: [u8; 32]) {
        let peer_id = Keypair::ed25519_from_secret(&secret).peer_id();
        prop_assert_eq!(peer_id.to_string().parse::<PeerId>().unwrap(), peer_id);
        prop_assert_eq!(peer_id.to_cid_string().parse::<PeerId>().unwrap(), peer_id);
    }
}

#[cfg(feature = "serde")]
#[test]
fn serde_uses_base58_text_in_json() {
    let peer_id = PeerId::random();
    let json = serde_json::to_string(&peer_id).unwrap();
    assert_eq!(json, format!("\"{peer_id}\""));
    assert_eq!(serde_json::from_str::<PeerId>(&json).unwrap(), peer_id);
    assert!(serde_json::from_str::<PeerId>("\"not-a-peer\"").is_err());
}
