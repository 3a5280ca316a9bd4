//! Identities as peers send them: PeerIds, public keys, signed envelopes, peer records.

use hyphae_core::PeerRecord;
use hyphae_identity::{PeerId, PublicKey, SignedEnvelope};

/// A PeerId in binary and, if the bytes are UTF-8, in text (base58 or CID): each decoded id
/// re-encodes to what it was read from and round-trips through its text form.
pub fn peer_id(data: &[u8]) {
    if let Ok(id) = PeerId::from_bytes(data) {
        assert_eq!(id.to_bytes(), data);
        assert_eq!(id.to_base58().parse::<PeerId>().ok(), Some(id));
        assert_eq!(id.to_cid_string().parse::<PeerId>().ok(), Some(id));
        // An identity-multihash id carries its key: extracting it must not panic.
        let _ = id.public_key();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(id) = text.parse::<PeerId>()
    {
        assert_eq!(PeerId::from_bytes(&id.to_bytes()).ok(), Some(id));
    }
}

/// A protobuf-encoded public key: a decoded key re-encodes to a key that decodes equal,
/// and checking a signature with it does not panic.
pub fn public_key(data: &[u8]) {
    let Ok(key) = PublicKey::decode_protobuf(data) else {
        return;
    };
    let encoded = key.encode_protobuf();
    assert_eq!(PublicKey::decode_protobuf(&encoded).ok(), Some(key.clone()));
    let _ = key.verify(b"message", data);
    let _ = key.to_peer_id();
}

/// A signed envelope: decodes, re-encodes to an equal envelope, and opening it (signature
/// check) does not panic.
pub fn signed_envelope(data: &[u8]) {
    let Ok(envelope) = SignedEnvelope::decode(data) else {
        return;
    };
    let again = SignedEnvelope::decode(&envelope.encode()).expect("re-encoded envelope decodes");
    assert_eq!(again, envelope);
    let _ = envelope.open("libp2p-routing-state", envelope.payload_type());
}

/// A signed peer record (identify's `signedPeerRecord`): a record that verifies survives a
/// re-encoding unchanged.
pub fn peer_record(data: &[u8]) {
    let Ok(record) = PeerRecord::decode(data) else {
        return;
    };
    let again = PeerRecord::decode(&record.encode()).expect("re-encoded record decodes");
    assert_eq!(again, record);
}
