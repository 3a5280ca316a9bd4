//! The last signed peer record verified for each of a bounded number of peers, so that a
//! peer that reconnects and sends the same record again costs no second signature check.

use hyphae_core::PeerRecord;
use hyphae_core::recent::Recent;
use hyphae_identity::PeerId;

/// Peers whose last record is kept; the oldest entry goes first. A record is at most a few
/// KiB (64 addresses), so this bounds the cache to about a MiB.
pub(crate) const CAPACITY: usize = 256;

/// Verified records by peer, at most [`CAPACITY`] of them.
pub(crate) struct VerifiedRecords {
    records: Recent<PeerId, PeerRecord>,
}

impl Default for VerifiedRecords {
    fn default() -> VerifiedRecords {
        VerifiedRecords {
            records: Recent::new(CAPACITY),
        }
    }
}

impl VerifiedRecords {
    /// The record last verified for `peer`.
    pub(crate) fn get(&self, peer: &PeerId) -> Option<&PeerRecord> {
        self.records.get(peer)
    }

    /// Remembers `record`, verified, as its peer's latest; forgets the oldest peer's when full.
    pub(crate) fn insert(&mut self, record: PeerRecord) {
        self.records.insert(record.peer_id(), record);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use hyphae_identity::Keypair;

    use super::*;

    fn record(keypair: &Keypair, seq: u64) -> PeerRecord {
        PeerRecord::new(keypair, vec!["/ip4/1.2.3.4/tcp/1".parse().unwrap()], seq).unwrap()
    }

    #[test]
    fn keeps_each_peers_latest_record_and_forgets_the_oldest_peer_when_full() {
        let mut cache = VerifiedRecords::default();
        let first = Keypair::generate_ed25519();
        cache.insert(record(&first, 1));
        cache.insert(record(&first, 2));
        assert_eq!(cache.get(&first.peer_id()).unwrap().seq(), 2);
        let others: Vec<Keypair> = (0..CAPACITY).map(|_| Keypair::generate_ed25519()).collect();
        for keypair in &others {
            cache.insert(record(keypair, 1));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(&first.peer_id()).is_none());
        assert!(cache.get(&others[0].peer_id()).is_some());
    }
}
