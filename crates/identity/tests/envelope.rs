//! Signed envelopes (RFC 0002): sealing, opening, and every way tampering is caught.

use hyphae_identity::{Error, KeyType, Keypair, SignedEnvelope};
use proptest::prelude::*;

const DOMAIN: &str = "libp2p-peer-record";
const PAYLOAD_TYPE: &[u8] = &[0x03, 0x01];

#[test]
fn seals_and_opens_with_every_key_type() {
    for key_type in KeyType::ALL {
        let keypair = Keypair::generate(key_type).unwrap();
        let sealed =
            SignedEnvelope::seal(&keypair, DOMAIN, PAYLOAD_TYPE, b"payload".to_vec()).unwrap();
        let decoded = SignedEnvelope::decode(&sealed.encode()).unwrap();
        assert_eq!(decoded, sealed);
        assert_eq!(decoded.open(DOMAIN, PAYLOAD_TYPE).unwrap(), b"payload");
        assert_eq!(decoded.signer().to_peer_id(), keypair.peer_id());
    }
}

#[test]
fn wrong_domain_fails_to_verify() {
    let keypair = Keypair::generate_ed25519();
    let sealed = SignedEnvelope::seal(&keypair, DOMAIN, PAYLOAD_TYPE, b"x".to_vec()).unwrap();
    assert!(matches!(
        sealed.open("libp2p-routing-state", PAYLOAD_TYPE),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn wrong_payload_type_is_named() {
    let keypair = Keypair::generate_ed25519();
    let sealed = SignedEnvelope::seal(&keypair, DOMAIN, PAYLOAD_TYPE, b"x".to_vec()).unwrap();
    match sealed.open(DOMAIN, b"/other") {
        Err(Error::PayloadTypeMismatch { expected, actual }) => {
            assert_eq!(expected, b"/other");
            assert_eq!(actual, PAYLOAD_TYPE);
        }
        other => panic!("expected a payload type mismatch, got {other:?}"),
    }
}

#[test]
fn every_flipped_bit_is_caught() {
    let keypair = Keypair::generate_ed25519();
    let encoded = SignedEnvelope::seal(&keypair, DOMAIN, PAYLOAD_TYPE, b"payload".to_vec())
        .unwrap()
        .encode();
    for index in 0..encoded.len() {
        for bit in 0..8 {
            let mut tampered = encoded.clone();
            tampered[index] ^= 1 << bit;
            let opened = SignedEnvelope::decode(&tampered)
                .and_then(|envelope| envelope.open(DOMAIN, PAYLOAD_TYPE).map(<[u8]>::to_vec));
            assert!(opened.is_err(), "bit {bit} of byte {index} went unnoticed");
        }
    }
}

#[test]
fn a_substituted_signer_is_caught() {
    let signer = Keypair::generate_ed25519();
    let impostor = Keypair::generate_ed25519();
    let sealed = SignedEnvelope::seal(&signer, DOMAIN, PAYLOAD_TYPE, b"x".to_vec()).unwrap();
    let forged = SignedEnvelope::seal(&impostor, DOMAIN, PAYLOAD_TYPE, b"x".to_vec()).unwrap();
    // Splice the impostor's key into the signer's envelope: protobuf fields 1 (key) and 5
    // (signature) come from different envelopes.
    let mut spliced = forged.encode();
    let original = sealed.encode();
    let signature_start = original.len() - 66; // tag, length, 64-byte Ed25519 signature
    spliced.truncate(spliced.len() - 66);
    spliced.extend_from_slice(&original[signature_start..]);
    let decoded = SignedEnvelope::decode(&spliced).unwrap();
    assert!(matches!(
        decoded.open(DOMAIN, PAYLOAD_TYPE),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn envelope_without_key_is_rejected() {
    // Envelope { payload_type: [3, 1], payload: "x" }
    assert!(matches!(
        SignedEnvelope::decode(&[0x12, 0x02, 0x03, 0x01, 0x1a, 0x01, b'x']),
        Err(Error::EnvelopeWithoutKey)
    ));
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes: Vec<u8>) {
        if let Ok(envelope) = SignedEnvelope::decode(&bytes) {
            let _ = envelope.open(DOMAIN, PAYLOAD_TYPE);
        }
    }
}
