//! What misbehaving servers ([`crate::adversary`]) answer instead of the truth.

use std::time::Duration;

use hyphae_identity::PeerId;
use hyphae_kad::{Key, Message, PeerInfo};

use super::seed::{prefix_range, sample};
use super::{Simulation, node_addr};
use crate::adversary::Behaviour;

impl Simulation {
    /// How late a slow adversary answers.
    pub(super) fn adversary_delay(&self) -> Duration {
        self.slow_delay
    }

    /// Rewrites an honest `answer` as an adversary of `behaviour` would send it.
    pub(super) fn misbehave(&mut self, behaviour: Behaviour, answer: &mut Message) {
        let peers = match behaviour {
            Behaviour::Far => self.far_peers(&answer.key),
            Behaviour::Fake => self.fake_peers(),
            Behaviour::Honest | Behaviour::Silent | Behaviour::Slow => return,
        };
        answer.closer_peers = peers;
        answer.provider_peers.clear();
        answer.record = None;
    }

    /// k real servers from the half of the key space away from `key`: each one a detour.
    fn far_peers(&mut self, key: &[u8]) -> Vec<PeerInfo> {
        let target = Key::for_bytes(key);
        let mut flipped = *target.as_bytes();
        flipped[0] ^= 0x80;
        let range = prefix_range(&self.servers, &Key::from_hash(flipped), 1);
        sample(&mut self.rng, range.len(), self.kad.k)
            .into_iter()
            .map(|offset| {
                let node = self.servers[range.start + offset].1 as usize;
                let addrs = vec![self.nodes[node].addr.clone()];
                PeerInfo::new(self.nodes[node].peer, addrs)
            })
            .collect()
    }

    /// k peers nobody runs, at addresses nobody answers on.
    fn fake_peers(&mut self) -> Vec<PeerInfo> {
        (0..self.kad.k)
            .filter_map(|i| {
                let mut bytes = [0u8; 34];
                bytes[0] = 0x12;
                bytes[1] = 32;
                self.rng.fill(&mut bytes[2..]);
                let peer = PeerId::from_bytes(&bytes).ok()?;
                Some(PeerInfo::new(peer, vec![node_addr(self.nodes.len() + i)]))
            })
            .collect()
    }
}
