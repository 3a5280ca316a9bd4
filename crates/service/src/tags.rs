//! How much a node values its connections to each peer, as its services and its user say:
//! the connection manager closes the least valued first when the node holds too many, and
//! never closes a protected peer's.
//!
//! Services tag what they depend on (a Kademlia routing table entry, a gossipsub mesh
//! peer) and protect what they must keep (a relay reservation). Values are summed over a
//! peer's tags. Tags and protections stay, connected or not, until whoever set them lifts
//! them: a service untags a peer when it stops depending on it, so what is kept here is
//! bounded by what the services keep.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use hyphae_identity::PeerId;

/// The tags and protections of every peer. Shared by a node and its services.
#[derive(Debug, Default)]
pub struct PeerTags {
    peers: Mutex<HashMap<PeerId, Entry>>,
}

#[derive(Debug, Default)]
struct Entry {
    values: BTreeMap<String, i64>,
    protections: BTreeSet<String>,
}

impl Entry {
    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.protections.is_empty()
    }
}

impl PeerTags {
    fn lock(&self) -> MutexGuard<'_, HashMap<PeerId, Entry>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `peer`'s value under `tag` (replacing an earlier value under the same tag).
    pub fn tag(&self, peer: PeerId, tag: impl Into<String>, value: i64) {
        self.lock()
            .entry(peer)
            .or_default()
            .values
            .insert(tag.into(), value);
    }

    /// Removes `peer`'s value under `tag`.
    pub fn untag(&self, peer: &PeerId, tag: &str) {
        let mut peers = self.lock();
        if let Some(entry) = peers.get_mut(peer) {
            entry.values.remove(tag);
            if entry.is_empty() {
                peers.remove(peer);
            }
        }
    }

    /// The sum of `peer`'s values (0 for a peer without tags).
    pub fn value(&self, peer: &PeerId) -> i64 {
        self.lock().get(peer).map_or(0, |entry| {
            entry
                .values
                .values()
                .fold(0i64, |sum, v| sum.saturating_add(*v))
        })
    }

    /// Keeps `peer`'s connections open, whatever the connection manager's pressure, until
    /// every tag it is protected under is lifted.
    pub fn protect(&self, peer: PeerId, tag: impl Into<String>) {
        self.lock()
            .entry(peer)
            .or_default()
            .protections
            .insert(tag.into());
    }

    /// Lifts `peer`'s protection under `tag`; returns whether it is still protected under
    /// another tag.
    pub fn unprotect(&self, peer: &PeerId, tag: &str) -> bool {
        let mut peers = self.lock();
        let Some(entry) = peers.get_mut(peer) else {
            return false;
        };
        entry.protections.remove(tag);
        let still = !entry.protections.is_empty();
        if entry.is_empty() {
            peers.remove(peer);
        }
        still
    }

    /// Whether `peer` is protected under some tag.
    pub fn is_protected(&self, peer: &PeerId) -> bool {
        self.lock()
            .get(peer)
            .is_some_and(|entry| !entry.protections.is_empty())
    }

    /// How many peers have tags or protections.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no peer has tags or protections.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        hyphae_identity::Keypair::generate_ed25519().peer_id()
    }

    #[test]
    fn values_add_up_over_tags_and_a_tag_replaces_its_value() {
        let (tags, a) = (PeerTags::default(), peer());
        tags.tag(a, "kad", 5);
        tags.tag(a, "gossipsub", 20);
        tags.tag(a, "kad", 7);
        assert_eq!(tags.value(&a), 27);
        tags.untag(&a, "gossipsub");
        assert_eq!(tags.value(&a), 7);
        assert_eq!(tags.value(&peer()), 0);
    }

    #[test]
    fn a_peer_stays_protected_until_its_last_protection_is_lifted() {
        let (tags, a) = (PeerTags::default(), peer());
        tags.protect(a, "relay");
        tags.protect(a, "user");
        assert!(tags.unprotect(&a, "relay"));
        assert!(tags.is_protected(&a));
        assert!(!tags.unprotect(&a, "user"));
        assert!(!tags.is_protected(&a));
        assert!(tags.is_empty(), "nothing is kept for an untagged peer");
    }

    #[test]
    fn values_saturate() {
        let (tags, a) = (PeerTags::default(), peer());
        tags.tag(a, "x", i64::MAX);
        tags.tag(a, "y", 1);
        assert_eq!(tags.value(&a), i64::MAX);
    }
}
