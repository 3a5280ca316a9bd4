//! Points in the Kademlia keyspace and the XOR distance between them.
//!
//! Every key, whether a peer id, a content multihash or a record key, is placed in the
//! keyspace by hashing its bytes with SHA-256 (spec: kad-dht/README.md, "Distance"). Two
//! keys are close when the XOR of their hashes, read as a 256-bit big-endian number, is small.

use std::fmt;

use hyphae_identity::PeerId;
use sha2::{Digest, Sha256};

use crate::Rng;

/// A point in the keyspace: SHA-256 of a key's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key([u8; 32]);

/// The XOR distance between two keys; ordered as a 256-bit big-endian number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Distance([u8; 32]);

impl Key {
    /// The point of arbitrary key bytes (a record key, a content multihash).
    pub fn for_bytes(bytes: &[u8]) -> Key {
        Key(Sha256::digest(bytes).into())
    }

    /// The point of a peer: the hash of its binary peer id (the multihash bytes).
    pub fn for_peer(peer: &PeerId) -> Key {
        Key::for_bytes(peer.as_bytes())
    }

    /// A point given by its 32 hash bytes (for tests and the simulator).
    pub const fn from_hash(hash: [u8; 32]) -> Key {
        Key(hash)
    }

    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The XOR distance to `other`.
    pub fn distance(&self, other: &Key) -> Distance {
        let mut d = [0u8; 32];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = self.0[i] ^ other.0[i];
        }
        Distance(d)
    }

    /// How many leading bits this key shares with `other` (256 for the same key). The
    /// routing table keeps peers in one bucket per common prefix length.
    pub fn common_prefix_len(&self, other: &Key) -> u32 {
        self.distance(other).leading_zeros()
    }
}

/// The most bits of common prefix that [`random_peer_bytes_with_cpl`] searches for: each
/// further bit doubles the expected number of hashes (go-libp2p-kad-dht refreshes buckets up
/// to the same depth, 15).
pub const MAX_REFRESH_CPL: u32 = 15;

/// Random bytes shaped like a peer id (a SHA2-256 multihash) whose key shares exactly `cpl`
/// leading bits with `local`, found by trying random digests. Used to refresh a bucket: a
/// lookup for such a key walks the part of the keyspace that bucket covers. `cpl` is capped
/// at [`MAX_REFRESH_CPL`].
pub fn random_peer_bytes_with_cpl(local: &Key, cpl: u32, rng: &mut Rng) -> Vec<u8> {
    let cpl = cpl.min(MAX_REFRESH_CPL);
    let mut bytes = vec![0u8; 34];
    bytes[0] = 0x12; // sha2-256
    bytes[1] = 32;
    loop {
        rng.fill(&mut bytes[2..]);
        if Key::for_bytes(&bytes).common_prefix_len(local) == cpl {
            return bytes;
        }
    }
}

impl Distance {
    /// The zero distance (a key to itself).
    pub const ZERO: Distance = Distance([0; 32]);

    /// Leading zero bits: the common prefix length of the two keys (256 for equal keys).
    pub fn leading_zeros(&self) -> u32 {
        let mut zeros = 0;
        for byte in self.0 {
            if byte != 0 {
                return zeros + byte.leading_zeros();
            }
            zeros += 8;
        }
        zeros
    }

    /// The 32 bytes, big-endian.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The distance as a fraction of the whole keyspace, in `[0, 1)`: what the simulator plots
    /// and what optimistic provide compares against the expected distance of the k-th peer.
    pub fn as_fraction(&self) -> f64 {
        let mut high = [0u8; 8];
        high.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(high) as f64 / 2f64.powi(64)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(")?;
        for byte in &self.0[..6] {
            write!(f, "{byte:02x}")?;
        }
        write!(f, "…)")
    }
}

impl fmt::Debug for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Distance(cpl {}, {:.3e})",
            self.leading_zeros(),
            self.as_fraction()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(first: u8) -> Key {
        let mut hash = [0u8; 32];
        hash[0] = first;
        Key::from_hash(hash)
    }

    #[test]
    fn distance_is_symmetric_and_zero_only_to_itself() {
        let a = Key::for_bytes(b"a");
        let b = Key::for_bytes(b"b");
        assert_eq!(a.distance(&b), b.distance(&a));
        assert_eq!(a.distance(&a), Distance::ZERO);
        assert_ne!(a.distance(&b), Distance::ZERO);
        assert_eq!(a.common_prefix_len(&a), 256);
    }

    #[test]
    fn distances_order_as_big_endian_numbers() {
        let origin = key(0);
        assert!(origin.distance(&key(0x01)) < origin.distance(&key(0x02)));
        assert!(origin.distance(&key(0x7f)) < origin.distance(&key(0x80)));
        assert_eq!(origin.common_prefix_len(&key(0x80)), 0);
        assert_eq!(origin.common_prefix_len(&key(0x01)), 7);
    }

    #[test]
    fn peer_keys_hash_the_multihash_bytes() {
        let peer = PeerId::random();
        assert_eq!(Key::for_peer(&peer), Key::for_bytes(&peer.to_bytes()));
    }

    #[test]
    fn refresh_targets_have_the_asked_prefix_and_parse_as_peer_ids() {
        let local = Key::for_bytes(b"local");
        let mut rng = Rng::from_seed(3);
        for cpl in [0, 1, 7, 12] {
            let bytes = random_peer_bytes_with_cpl(&local, cpl, &mut rng);
            assert_eq!(Key::for_bytes(&bytes).common_prefix_len(&local), cpl);
            assert!(PeerId::from_bytes(&bytes).is_ok());
        }
    }
}
