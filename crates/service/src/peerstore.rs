//! What the node knows about other peers: addresses, protocols, keys, agent, round-trip time.
//!
//! Everything here is learned from the network (identify, dials, the user), so every
//! collection is bounded: peers, addresses per peer, protocols per peer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hyphae_identity::{PeerId, PublicKey};
use hyphae_multiaddr::Multiaddr;

/// Peers remembered at most; the least recently updated is forgotten first.
pub const MAX_PEERS: usize = 10_000;
/// Addresses remembered per peer; the oldest is forgotten first.
pub const MAX_ADDRS_PER_PEER: usize = 32;
/// Protocols remembered per peer.
pub const MAX_PROTOCOLS_PER_PEER: usize = 128;

/// What is known about one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// Addresses the peer can be dialled at, newest last.
    pub addrs: Vec<Multiaddr>,
    /// Protocols the peer said it accepts streams for.
    pub protocols: Vec<String>,
    /// The peer's public key, once learned.
    pub public_key: Option<PublicKey>,
    /// The peer's implementation, from identify.
    pub agent_version: Option<String>,
    /// The peer's protocol family, from identify.
    pub protocol_version: Option<String>,
    /// Sequence number of the newest signed peer record applied.
    pub peer_record_seq: Option<u64>,
    /// That record's signed envelope, as received: passed on to others (gossipsub's peer
    /// exchange) who verify it themselves.
    pub signed_peer_record: Option<Vec<u8>>,
    /// The last measured ping round-trip time.
    pub rtt: Option<Duration>,
}

/// What a peer said about itself, to [`Peerstore::apply`]; `None` and empty fields leave
/// what is known unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerUpdate {
    /// Its public key.
    pub public_key: Option<PublicKey>,
    /// Its implementation.
    pub agent_version: Option<String>,
    /// Its protocol family.
    pub protocol_version: Option<String>,
    /// The protocols it accepts streams for (replaces the known list when not empty).
    pub protocols: Vec<String>,
    /// Addresses it listens on (added to the known ones).
    pub listen_addrs: Vec<Multiaddr>,
    /// Addresses from a verified signed peer record, with the record's sequence number.
    pub certified_addrs: Option<(u64, Vec<Multiaddr>)>,
    /// The signed envelope those addresses came in (kept with them).
    pub signed_peer_record: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Entry {
    info: PeerInfo,
    /// Update counter value at the last change, for least-recently-updated eviction.
    touched: u64,
}

/// The node's store of peer information. Cheap to share: all methods take `&self`.
#[derive(Debug, Default)]
pub struct Peerstore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Boxed: an entry is 360 bytes (a public key alone takes 200 inline), and a hash table
    /// holds up to twice as many slots as entries.
    peers: HashMap<PeerId, Box<Entry>>,
    clock: u64,
}

impl Inner {
    fn entry(&mut self, peer: PeerId) -> &mut PeerInfo {
        self.clock += 1;
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_PEERS {
            let oldest = self
                .peers
                .iter()
                .min_by_key(|(_, entry)| entry.touched)
                .map(|(peer, _)| *peer);
            if let Some(oldest) = oldest {
                self.peers.remove(&oldest);
            }
        }
        let clock = self.clock;
        let entry = self.peers.entry(peer).or_default();
        entry.touched = clock;
        &mut entry.info
    }
}

fn add_addrs(known: &mut Vec<Multiaddr>, addrs: impl IntoIterator<Item = Multiaddr>) {
    for addr in addrs {
        // Stored without the trailing /p2p/<id>: the peer id is the key.
        let addr = strip_p2p(addr);
        if let Some(position) = known.iter().position(|known| *known == addr) {
            known.remove(position);
        }
        known.push(addr);
    }
    if known.len() > MAX_ADDRS_PER_PEER {
        known.drain(..known.len() - MAX_ADDRS_PER_PEER);
    }
}

fn strip_p2p(mut addr: Multiaddr) -> Multiaddr {
    if addr.peer_id().is_some() {
        addr.pop();
    }
    addr
}

impl Peerstore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers addresses for `peer` (a trailing `/p2p/<id>` is dropped).
    pub fn add_addrs(&self, peer: PeerId, addrs: impl IntoIterator<Item = Multiaddr>) {
        add_addrs(&mut self.lock().entry(peer).addrs, addrs);
    }

    /// The known addresses of `peer`, newest last.
    pub fn addrs(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.lock()
            .peers
            .get(peer)
            .map(|entry| entry.info.addrs.clone())
            .unwrap_or_default()
    }

    /// Everything known about `peer`.
    pub fn get(&self, peer: &PeerId) -> Option<PeerInfo> {
        self.lock().peers.get(peer).map(|entry| entry.info.clone())
    }

    /// The peers the store knows.
    pub fn peers(&self) -> Vec<PeerId> {
        self.lock().peers.keys().copied().collect()
    }

    /// Forgets `peer`.
    pub fn remove(&self, peer: &PeerId) {
        self.lock().peers.remove(peer);
    }

    /// Records a ping round-trip time.
    pub fn set_rtt(&self, peer: PeerId, rtt: Duration) {
        self.lock().entry(peer).rtt = Some(rtt);
    }

    /// Applies what `peer` said about itself (identify, or a partial identify push): fields
    /// it left out stay as they were.
    ///
    /// Certified addresses newer than the last ones applied replace the peer's addresses;
    /// otherwise listen addresses are added.
    pub fn apply(&self, peer: PeerId, info: &PeerUpdate) {
        let mut inner = self.lock();
        let known = inner.entry(peer);
        if let Some(key) = &info.public_key {
            known.public_key = Some(key.clone());
        }
        if info.agent_version.is_some() {
            known.agent_version.clone_from(&info.agent_version);
        }
        if info.protocol_version.is_some() {
            known.protocol_version.clone_from(&info.protocol_version);
        }
        if !info.protocols.is_empty() {
            known.protocols = info
                .protocols
                .iter()
                .take(MAX_PROTOCOLS_PER_PEER)
                .cloned()
                .collect();
        }
        match &info.certified_addrs {
            Some((seq, addrs)) if known.peer_record_seq.is_none_or(|known| *seq > known) => {
                known.peer_record_seq = Some(*seq);
                known
                    .signed_peer_record
                    .clone_from(&info.signed_peer_record);
                known.addrs.clear();
                add_addrs(&mut known.addrs, addrs.iter().cloned());
            }
            _ => add_addrs(&mut known.addrs, info.listen_addrs.iter().cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: usize) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{i}").parse().unwrap()
    }

    #[test]
    fn keeps_the_newest_addresses_up_to_the_limit() {
        let store = Peerstore::default();
        let peer = PeerId::random();
        store.add_addrs(peer, (0..MAX_ADDRS_PER_PEER + 5).map(addr));
        let addrs = store.addrs(&peer);
        assert_eq!(addrs.len(), MAX_ADDRS_PER_PEER);
        assert_eq!(addrs[0], addr(5));
        store.add_addrs(peer, [addr(5)]);
        assert_eq!(store.addrs(&peer).last(), Some(&addr(5)));
        assert_eq!(store.addrs(&peer).len(), MAX_ADDRS_PER_PEER);
    }

    #[test]
    fn an_update_listing_thousands_of_protocols_and_addresses_is_bounded() {
        let store = Peerstore::default();
        let peer = PeerId::random();
        let update = PeerUpdate {
            protocols: (0..5000).map(|i| format!("/p/{i}")).collect(),
            listen_addrs: (0..5000).map(addr).collect(),
            ..PeerUpdate::default()
        };
        store.apply(peer, &update);
        let info = store.get(&peer).unwrap();
        assert_eq!(info.protocols.len(), MAX_PROTOCOLS_PER_PEER);
        assert_eq!(info.addrs.len(), MAX_ADDRS_PER_PEER);

        let certified = PeerUpdate {
            certified_addrs: Some((1, (0..5000).map(addr).collect())),
            ..PeerUpdate::default()
        };
        store.apply(peer, &certified);
        assert_eq!(store.addrs(&peer).len(), MAX_ADDRS_PER_PEER);
    }

    #[test]
    fn stores_addresses_without_the_peer_id() {
        let store = Peerstore::default();
        let peer = PeerId::random();
        store.add_addrs(peer, [addr(1).with_p2p(peer).unwrap()]);
        assert_eq!(store.addrs(&peer), vec![addr(1)]);
    }

    #[test]
    fn forgets_the_least_recently_updated_peer_when_full() {
        let store = Peerstore::default();
        let first = PeerId::random();
        store.add_addrs(first, [addr(0)]);
        for i in 1..MAX_PEERS {
            // Cheap distinct ids: identity multihashes of a counter.
            let mut bytes = vec![0x00, 8];
            bytes.extend_from_slice(&(i as u64).to_be_bytes());
            store.add_addrs(PeerId::from_bytes(&bytes).unwrap(), []);
        }
        store.add_addrs(first, [addr(1)]);
        let newcomer = PeerId::random();
        store.add_addrs(newcomer, [addr(2)]);
        assert_eq!(store.peers().len(), MAX_PEERS);
        assert!(
            store.get(&first).is_some(),
            "recently updated peer was evicted"
        );
        assert!(store.get(&newcomer).is_some());
    }
}
