//! The cheap bootstrap: routing tables filled from the ground truth instead of thousands of
//! joins, what a long-running network converges to.

use std::time::Instant;

use hyphae_kad::{Dht, Failure, Key, Rng};

use super::Simulation;

impl Simulation {
    /// Cheap bootstrap: fills every node's routing table with up to `per_bucket` servers
    /// drawn at random from those that belong in each bucket, what a long-running network
    /// converges to, without a single lookup.
    ///
    /// The core bootstraps by itself at its first timer once its table stops being empty,
    /// and refreshing a deep bucket means hashing about 2^cpl random keys. So each table gets
    /// its bucket-0 sample first (at least `low_peers` entries), then the core's bootstrap is
    /// started and its requests failed on the spot (nothing is sent), which marks the table
    /// refreshed for the next refresh interval; then the deeper buckets are filled.
    pub fn seed_routing_tables(&mut self, per_bucket: usize) {
        let now = self.scheduler.now_instant();
        let servers = std::mem::take(&mut self.servers);
        for node in 0..self.nodes.len() {
            let own = Key::for_peer(&self.nodes[node].peer);
            let mut cpl = 0u32;
            loop {
                let range = bucket_range(&servers, &own, cpl);
                let own_range = prefix_range(&servers, &own, cpl + 1);
                let chosen = sample(&mut self.rng, range.len(), per_bucket);
                for offset in chosen {
                    let peer_index = servers[range.start + offset].1 as usize;
                    let peer = self.nodes[peer_index].peer;
                    let addr = self.nodes[peer_index].addr.clone();
                    self.nodes[node].dht.add_peer(peer, vec![addr], now);
                }
                if cpl == 0 {
                    quiet_bootstrap(&mut self.nodes[node].dht, now);
                }
                // Deeper buckets only hold the peers sharing our next bit; none but us: done.
                let is_server = self.links.placement(node).is_reachable;
                let others = own_range.len().saturating_sub(usize::from(is_server));
                if others == 0 || cpl == 255 {
                    break;
                }
                cpl += 1;
            }
            while self.nodes[node].dht.poll_event().is_some() {}
            self.dirty.push(node as u32);
        }
        self.servers = servers;
    }
}

/// Starts the core's bootstrap and fails every request it makes at once, so that nothing is
/// sent and the buckets count as refreshed (see [`Simulation::seed_routing_tables`]).
fn quiet_bootstrap(dht: &mut Dht, now: Instant) {
    if dht.bootstrap(now).is_err() {
        return;
    }
    let mut pending = Vec::new();
    loop {
        while let Some(transmit) = dht.poll_transmit() {
            pending.push(transmit.request);
        }
        if pending.is_empty() {
            return;
        }
        for request in pending.drain(..) {
            dht.handle_failure(request, Failure::Timeout, now);
        }
    }
}

/// `sample` distinct offsets in `0..len` (all of them if `len <= count`), in random order.
pub(super) fn sample(rng: &mut Rng, len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count {
        let offset = rng.below(len as u64) as usize;
        if !chosen.contains(&offset) {
            chosen.push(offset);
        }
    }
    chosen
}

/// The keys sharing the first `bits` bits of `key`, as `[low, high]` inclusive bounds.
fn prefix_bounds(key: &Key, bits: u32) -> ([u8; 32], [u8; 32]) {
    let mut low = *key.as_bytes();
    let mut high = *key.as_bytes();
    for bit in bits..256 {
        let (byte, mask) = ((bit / 8) as usize, 0x80u8 >> (bit % 8));
        low[byte] &= !mask;
        high[byte] |= mask;
    }
    (low, high)
}

/// Positions in `sorted` of the keys sharing the first `bits` bits of `key`.
pub(super) fn prefix_range(sorted: &[(Key, u32)], key: &Key, bits: u32) -> std::ops::Range<usize> {
    let (low, high) = prefix_bounds(key, bits.min(256));
    let start = sorted.partition_point(|(k, _)| *k.as_bytes() < low);
    let end = sorted.partition_point(|(k, _)| *k.as_bytes() <= high);
    start..end.max(start)
}

/// Positions in `sorted` of the keys in `key`'s bucket `cpl`: sharing exactly `cpl` leading
/// bits with it.
fn bucket_range(sorted: &[(Key, u32)], key: &Key, cpl: u32) -> std::ops::Range<usize> {
    let mut flipped = *key.as_bytes();
    flipped[(cpl / 8) as usize] ^= 0x80 >> (cpl % 8);
    prefix_range(sorted, &Key::from_hash(flipped), cpl + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_range_holds_exactly_the_keys_of_that_common_prefix_length() {
        let mut rng = Rng::from_seed(3);
        let mut keys: Vec<(Key, u32)> = (0..500)
            .map(|i| {
                let mut bytes = [0u8; 32];
                rng.fill(&mut bytes);
                (Key::from_hash(bytes), i)
            })
            .collect();
        keys.sort();
        let own = keys[17].0;
        for cpl in 0..12 {
            let range = bucket_range(&keys, &own, cpl);
            let expected = keys
                .iter()
                .filter(|(k, _)| k.common_prefix_len(&own) == cpl)
                .count();
            assert_eq!(range.len(), expected, "cpl {cpl}");
            assert!(
                keys[range]
                    .iter()
                    .all(|(k, _)| k.common_prefix_len(&own) == cpl)
            );
        }
    }
}
