//! identify (`/ipfs/id/1.0.0`) messages.

use hyphae_identify::{Info, MAX_LISTED};
use hyphae_identity::{Keypair, PeerId};

/// The identity the seeds' messages describe (their public key must be the sender's).
pub fn identify_peer() -> Keypair {
    Keypair::ed25519_from_secret(&[9; 32])
}

/// An identify message from [`identify_peer`]: lists stay within [`MAX_LISTED`], and a
/// message that re-encodes without trimming decodes back equal.
pub fn identify(data: &[u8]) {
    let peer: PeerId = identify_peer().peer_id();
    let Ok(info) = Info::decode(data, peer) else {
        return;
    };
    assert!(info.listen_addrs.len() <= MAX_LISTED && info.protocols.len() <= MAX_LISTED);
    let again = Info::decode(&info.encode(), peer).expect("an encoded message decodes");
    let is_trimmed = again.listen_addrs.len() != info.listen_addrs.len()
        || again.protocols.len() != info.protocols.len()
        || again.signed_peer_record.is_some() != info.signed_peer_record.is_some();
    if !is_trimmed {
        assert_eq!(again, info);
    }
}
