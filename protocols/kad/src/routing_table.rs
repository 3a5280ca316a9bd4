//! The Kademlia routing table: the peers we know, kept in buckets by how many leading bits
//! their key shares with ours (spec: kad-dht/README.md, "Kademlia routing table").
//!
//! The table is sans-IO: it is told the time (`now`) and never dials or pings anyone. The
//! core decides which peers to offer it (go-libp2p-kad-dht offers only peers that answered a
//! query, "check before add") and reports which of them turned out useful.
//!
//! Layout and policy, where the spec leaves them open:
//!
//! - **One bucket per common prefix length** (cpl) with the local key, each holding at most
//!   k entries ([`RoutingConfig::bucket_size`]). Buckets are allocated up to the deepest one
//!   in use. This is the bucket list of the Kademlia paper fully unfolded; go-libp2p-kbucket
//!   instead keeps the deepest peers in one folded bucket that it splits when it overflows, so
//!   we may keep a few more of the peers nearest to us than go does, never fewer.
//! - **Old peers stay** (Kademlia's observation that a peer that has been up long is likely
//!   to stay up). A full bucket takes a newcomer only in place of an entry that has not been
//!   useful for [`RoutingConfig::replacement_grace`] (43 minutes by default, see
//!   [`USEFULNESS_THRESHOLD`]); of several such entries, the one useful longest ago leaves.
//!   An entry that was never useful is measured from when it was added, so a newcomer is not
//!   pushed out by the next newcomer before it had a chance to answer.
//! - **Useless peers go**: [`RoutingTable::evict_useless`] removes entries not useful for
//!   [`RoutingConfig::usefulness_window`] (twice the threshold, 86 minutes), as go keeps a
//!   peer only while its last useful answer is that recent.
//! - **IP diversity**: at most [`RoutingConfig::max_peers_per_ip_group`] entries per IP group
//!   in the table and [`RoutingConfig::max_peers_per_ip_group_per_bucket`] per bucket (see
//!   [`IpGroup`] for the groups and the exemptions).
//!
//! Memory bounds: at most `bucket_size` entries per bucket and 256 buckets, so no sequence of
//! peers grows the table beyond 256·k entries (in a network of n peers it holds about
//! k·log2(n/k)); each entry keeps at most [`RoutingConfig::max_addresses_per_peer`]
//! addresses.

use std::time::{Duration, Instant};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use crate::diversity::{GroupCounts, groups_of};
use crate::{Distance, IpGroup, K, Key, MAX_REFRESH_CPL};

/// How long a routing table peer may go without a useful answer before it is likely gone
/// (43 min 13 s): go-libp2p-kad-dht's `log(1/K) / log(1 − α/K) × refresh interval` with
/// K = 20, α = 10 and a 10-minute refresh, rounded to whole seconds.
///
/// The reasoning: each refresh asks α of a bucket's K peers, so after n refreshes a live peer
/// has been passed over with probability (1 − α/K)^n; after this many refreshes that chance
/// is down to 1/K. [`usefulness_threshold`] computes it for other parameters.
pub const USEFULNESS_THRESHOLD: Duration = Duration::from_secs(2593);

/// [`USEFULNESS_THRESHOLD`] for another bucket size, concurrency or refresh interval, rounded
/// to whole seconds (so the result does not depend on the last bits of a platform's
/// logarithm). With `alpha` 0 or at least `bucket_size`, every peer is asked on each refresh
/// and the threshold is one refresh interval, as in go.
pub fn usefulness_threshold(
    bucket_size: usize,
    alpha: usize,
    refresh_interval: Duration,
) -> Duration {
    if alpha == 0 || alpha >= bucket_size {
        return refresh_interval;
    }
    let k = bucket_size as f64;
    let refreshes = (1.0 / k).ln() / (1.0 - alpha as f64 / k).ln();
    let seconds = (refreshes * refresh_interval.as_secs_f64()).round();
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// The routing table's parameters. `Default` gives go-libp2p-kad-dht's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingConfig {
    /// Entries per bucket: the spec's k, 20 ([`K`]).
    pub bucket_size: usize,
    /// How long an entry must have gone without a useful answer (or, if it never gave one,
    /// since it was added) before a newcomer may take its place in a full bucket.
    /// Default: [`USEFULNESS_THRESHOLD`], 43 minutes.
    pub replacement_grace: Duration,
    /// How long an entry may go without a useful answer (or, if it never gave one, since it
    /// was added) before [`RoutingTable::evict_useless`] removes it. Default: twice
    /// [`USEFULNESS_THRESHOLD`], 86 minutes, as go-libp2p-kad-dht ("to keep older peers
    /// around longer").
    pub usefulness_window: Duration,
    /// Entries per IP group in the whole table (go: `DefaultMaxPeersPerIPGroup`, 3).
    /// `usize::MAX` disables the limit.
    pub max_peers_per_ip_group: usize,
    /// Entries per IP group in one bucket (go: `DefaultMaxPeersPerIPGroupPerCpl`, 2).
    /// `usize::MAX` disables the limit.
    pub max_peers_per_ip_group_per_bucket: usize,
    /// Addresses kept per entry; further ones are dropped. A peer may advertise any number of
    /// addresses, and every table entry is held for hours. Default 16.
    pub max_addresses_per_peer: usize,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            bucket_size: K,
            replacement_grace: USEFULNESS_THRESHOLD,
            usefulness_window: USEFULNESS_THRESHOLD * 2,
            max_peers_per_ip_group: 3,
            max_peers_per_ip_group_per_bucket: 2,
            max_addresses_per_peer: 16,
        }
    }
}

/// A peer in the routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The peer.
    pub peer: PeerId,
    /// Its point in the keyspace, [`Key::for_peer`].
    pub key: Key,
    /// Where to reach it, as last given to [`RoutingTable::insert`] (at most
    /// [`RoutingConfig::max_addresses_per_peer`], no duplicates).
    pub addrs: Vec<Multiaddr>,
    /// When it entered the table.
    pub added: Instant,
    /// When it last answered a query usefully ([`RoutingTable::mark_useful`]), if ever.
    pub last_useful: Option<Instant>,
    /// The distinct IP groups of `addrs`, as counted by the diversity limit.
    groups: Vec<IpGroup>,
}

impl Entry {
    /// The instant its usefulness is measured from: its last useful answer, or when it was
    /// added if it never gave one.
    pub fn last_useful_or_added(&self) -> Instant {
        self.last_useful.unwrap_or(self.added)
    }

    /// The IP groups it counts in for the diversity limit.
    pub fn ip_groups(&self) -> &[IpGroup] {
        &self.groups
    }

    /// Whether it has gone without a useful answer for longer than `period` at `now`.
    fn is_idle_longer_than(&self, period: Duration, now: Instant) -> bool {
        now.saturating_duration_since(self.last_useful_or_added()) > period
    }
}

/// What [`RoutingTable::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insert {
    /// The peer is new and took a free place.
    Inserted,
    /// The peer was already in the table; its addresses are now the ones given (if any were
    /// given). Its usefulness and age are unchanged.
    Updated,
    /// The peer is new and took the place of this one, which had not been useful within
    /// [`RoutingConfig::replacement_grace`] and has been removed.
    Replaced(PeerId),
    /// The peer's bucket is full of entries that are still within their grace period: the
    /// peer was dropped.
    Full,
    /// Taking the peer would put too many entries of one IP group in the table or in its
    /// bucket: the peer was dropped (or, if it was already in the table, its entry kept its
    /// old addresses).
    Diversity,
    /// The peer is the local peer, which never enters its own table.
    Local,
}

/// The number of refresh-time slots: buckets 0 through [`MAX_REFRESH_CPL`].
const REFRESH_SLOTS: usize = MAX_REFRESH_CPL as usize + 1;

/// A Kademlia routing table: up to k peers per common prefix length with the local key.
///
/// ```
/// use std::time::Instant;
/// use hyphae_identity::PeerId;
/// use hyphae_kad::{Insert, Key, RoutingConfig, RoutingTable};
///
/// let now = Instant::now();
/// let mut table = RoutingTable::new(PeerId::random(), RoutingConfig::default());
/// let peer = PeerId::random();
/// let addrs = vec!["/ip4/198.51.100.7/tcp/4001".parse()?];
/// assert_eq!(table.insert(peer, addrs, now), Insert::Inserted);
/// let nearest = table.closest(&Key::for_bytes(b"some record"), 20);
/// assert_eq!(nearest[0].peer, peer);
/// # Ok::<(), hyphae_multiaddr::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RoutingTable {
    local: PeerId,
    local_key: Key,
    config: RoutingConfig,
    /// `buckets[cpl]`, oldest entry first; no trailing empty bucket, so the last one is the
    /// deepest in use. At most 256 buckets (a peer's cpl is below 256), each at most
    /// `config.bucket_size` long.
    buckets: Vec<Vec<Entry>>,
    len: usize,
    /// When each of buckets 0..=MAX_REFRESH_CPL was last refreshed or looked into.
    refreshed: [Option<Instant>; REFRESH_SLOTS],
    groups: GroupCounts,
}

impl RoutingTable {
    /// An empty table for the local peer `local`.
    pub fn new(local: PeerId, config: RoutingConfig) -> RoutingTable {
        RoutingTable {
            local,
            local_key: Key::for_peer(&local),
            config,
            buckets: Vec::new(),
            len: 0,
            refreshed: [None; REFRESH_SLOTS],
            groups: GroupCounts::default(),
        }
    }

    /// The local peer.
    pub fn local(&self) -> &PeerId {
        &self.local
    }

    /// The local peer's key: a target's bucket is its common prefix length with this key.
    pub fn local_key(&self) -> &Key {
        &self.local_key
    }

    /// The parameters the table was built with.
    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    /// Offers `peer`, reachable at `addrs`, to the table, and says what came of it.
    ///
    /// A peer already in the table gets its addresses replaced by `addrs` unless `addrs` is
    /// empty. A new peer takes a free place in its bucket or the place of an entry past its
    /// grace period; otherwise it is dropped ([`Insert::Full`]). A new peer that would have a
    /// place, and a known peer with new addresses, must also pass the IP diversity limit
    /// ([`Insert::Diversity`]).
    pub fn insert(&mut self, peer: PeerId, mut addrs: Vec<Multiaddr>, now: Instant) -> Insert {
        let key = Key::for_peer(&peer);
        if peer == self.local || key == self.local_key {
            return Insert::Local;
        }
        let cpl = self.cpl_of(&key);
        clean_addresses(&mut addrs, self.config.max_addresses_per_peer);
        let groups = groups_of(&addrs);

        if let Some(index) = self.position(cpl, &peer) {
            if addrs.is_empty() {
                return Insert::Updated;
            }
            if !self.admits(cpl, &groups, Some(index)) {
                tracing::debug!(%peer, "kad: new addresses refused by the IP diversity limit");
                return Insert::Diversity;
            }
            let entry = &mut self.buckets[cpl][index];
            self.groups.remove(&entry.groups);
            self.groups.add(&groups);
            entry.addrs = addrs;
            entry.groups = groups;
            return Insert::Updated;
        }

        let bucket_len = self.buckets.get(cpl).map_or(0, Vec::len);
        let victim = if bucket_len < self.config.bucket_size {
            None
        } else {
            match self.replaceable(cpl, now) {
                Some(index) => Some(index),
                None => return Insert::Full,
            }
        };
        if !self.admits(cpl, &groups, victim) {
            tracing::debug!(%peer, "kad: peer refused by the IP diversity limit");
            return Insert::Diversity;
        }
        let replaced = victim.map(|index| self.take(cpl, index).peer);
        if self.buckets.len() <= cpl {
            self.buckets.resize_with(cpl + 1, Vec::new);
        }
        self.groups.add(&groups);
        self.buckets[cpl].push(Entry {
            peer,
            key,
            addrs,
            added: now,
            last_useful: None,
            groups,
        });
        self.len += 1;
        match replaced {
            Some(old) => {
                tracing::debug!(%peer, %old, "kad: peer replaced a stale routing table entry");
                Insert::Replaced(old)
            }
            None => Insert::Inserted,
        }
    }

    /// Removes `peer` and returns its entry, if it was in the table.
    pub fn remove(&mut self, peer: &PeerId) -> Option<Entry> {
        let cpl = self.cpl_of(&Key::for_peer(peer));
        let index = self.position(cpl, peer)?;
        let entry = self.take(cpl, index);
        self.trim();
        Some(entry)
    }

    /// The entry of `peer`, if it is in the table.
    pub fn get(&self, peer: &PeerId) -> Option<&Entry> {
        let cpl = self.cpl_of(&Key::for_peer(peer));
        let index = self.position(cpl, peer)?;
        Some(&self.buckets[cpl][index])
    }

    /// Whether `peer` is in the table.
    pub fn contains(&self, peer: &PeerId) -> bool {
        self.get(peer).is_some()
    }

    /// How many peers the table holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no peer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, bucket by bucket from the farthest (cpl 0) to the nearest, oldest first
    /// within a bucket.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flatten()
    }

    /// The entries whose key shares exactly `cpl` leading bits with the local key, oldest
    /// first.
    pub fn bucket(&self, cpl: u32) -> &[Entry] {
        self.buckets.get(cpl as usize).map_or(&[], Vec::as_slice)
    }

    /// Records that `peer` answered a query usefully at `now`, which protects it from
    /// replacement and eviction for a while. Returns whether the peer is in the table.
    pub fn mark_useful(&mut self, peer: &PeerId, now: Instant) -> bool {
        let cpl = self.cpl_of(&Key::for_peer(peer));
        match self.position(cpl, peer) {
            Some(index) => {
                self.buckets[cpl][index].last_useful = Some(now);
                true
            }
            None => false,
        }
    }

    /// Removes the entries that have not been useful for longer than
    /// [`RoutingConfig::usefulness_window`] at `now` and returns them, farthest bucket first.
    pub fn evict_useless(&mut self, now: Instant) -> Vec<PeerId> {
        let window = self.config.usefulness_window;
        let mut evicted = Vec::new();
        for bucket in &mut self.buckets {
            bucket.retain(|entry| {
                if entry.is_idle_longer_than(window, now) {
                    evicted.push(entry.peer);
                    self.groups.remove(&entry.groups);
                    false
                } else {
                    true
                }
            });
        }
        self.len -= evicted.len();
        self.trim();
        if !evicted.is_empty() {
            tracing::debug!(
                count = evicted.len(),
                "kad: evicted routing table entries no longer useful"
            );
        }
        evicted
    }

    /// The at most `count` entries nearest to `target`, nearest first.
    ///
    /// Walks buckets outward from the target's instead of sorting the table: with c the
    /// target's cpl with the local key, every entry of bucket c is nearer to the target than
    /// any entry of the deeper buckets (c + 1 and on), which are in turn nearer than bucket
    /// c − 1, then c − 2, down to 0. Only the buckets needed to reach `count` are read and
    /// sorted.
    pub fn closest(&self, target: &Key, count: usize) -> Vec<&Entry> {
        let mut nearest = Vec::with_capacity(count.min(self.len));
        if count == 0 {
            return nearest;
        }
        let cpl = self.local_key.common_prefix_len(target) as usize;
        let mut scratch = Vec::new();
        if let Some(bucket) = self.buckets.get(cpl) {
            take_nearest(bucket.iter(), target, count, &mut scratch, &mut nearest);
        }
        if nearest.len() < count {
            let deeper = self.buckets.iter().skip(cpl + 1).flatten();
            take_nearest(deeper, target, count, &mut scratch, &mut nearest);
        }
        for bucket in self.buckets[..cpl.min(self.buckets.len())].iter().rev() {
            if nearest.len() >= count {
                break;
            }
            take_nearest(bucket.iter(), target, count, &mut scratch, &mut nearest);
        }
        nearest
    }

    /// The cpls of the buckets due for a refresh at `now`: every bucket from 0 to the deepest
    /// bucket in use (at most [`MAX_REFRESH_CPL`]) that was neither refreshed nor looked into
    /// ([`RoutingTable::mark_refreshed`]) in the last `interval`. Empty buckets below the
    /// deepest are included: a lookup may find peers for them. An empty table has nothing to
    /// refresh (there is nobody to ask); the core bootstraps it instead.
    pub fn refresh_due(&self, now: Instant, interval: Duration) -> Vec<u32> {
        let Some(deepest) = self.buckets.len().checked_sub(1) else {
            return Vec::new();
        };
        let last = deepest.min(MAX_REFRESH_CPL as usize);
        (0..=last)
            .filter(|&cpl| match self.refreshed[cpl] {
                Some(at) => now.saturating_duration_since(at) >= interval,
                None => true,
            })
            .map(|cpl| cpl as u32)
            .collect()
    }

    /// Records that the bucket `cpl` was refreshed, or that a lookup for a target in it
    /// completed, at `now` (a target's bucket is `local_key().common_prefix_len(target)`).
    /// Buckets deeper than [`MAX_REFRESH_CPL`] are not tracked and are ignored.
    pub fn mark_refreshed(&mut self, cpl: u32, now: Instant) {
        if let Some(slot) = self.refreshed.get_mut(cpl as usize) {
            *slot = Some(now);
        }
    }

    /// The bucket index of `key`; a key other than ours shares fewer than 256 bits with it.
    fn cpl_of(&self, key: &Key) -> usize {
        (self.local_key.common_prefix_len(key) as usize).min(255)
    }

    fn position(&self, cpl: usize, peer: &PeerId) -> Option<usize> {
        self.buckets
            .get(cpl)?
            .iter()
            .position(|entry| entry.peer == *peer)
    }

    /// The entry of bucket `cpl` a newcomer may replace at `now`: of those past the grace
    /// period, the one useful longest ago (the oldest on a tie).
    fn replaceable(&self, cpl: usize, now: Instant) -> Option<usize> {
        let grace = self.config.replacement_grace;
        self.buckets
            .get(cpl)?
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.is_idle_longer_than(grace, now))
            .min_by_key(|(index, entry)| (entry.last_useful_or_added(), *index))
            .map(|(index, _)| index)
    }

    /// Whether an entry with `groups` fits the diversity limits in bucket `cpl`, not counting
    /// the entry at `excluded` in that bucket (the one it replaces, or its own old self).
    fn admits(&self, cpl: usize, groups: &[IpGroup], excluded: Option<usize>) -> bool {
        let bucket = self.buckets.get(cpl).map_or(&[][..], Vec::as_slice);
        let excluded_groups = excluded
            .and_then(|index| bucket.get(index))
            .map_or(&[][..], |entry| entry.groups.as_slice());
        groups.iter().all(|group| {
            let in_table = self
                .groups
                .get(group)
                .saturating_sub(usize::from(excluded_groups.contains(group)));
            let in_bucket = bucket
                .iter()
                .enumerate()
                .filter(|&(index, entry)| Some(index) != excluded && entry.groups.contains(group))
                .count();
            in_table < self.config.max_peers_per_ip_group
                && in_bucket < self.config.max_peers_per_ip_group_per_bucket
        })
    }

    /// Removes the entry at `index` of bucket `cpl` (which must exist) and uncounts it.
    fn take(&mut self, cpl: usize, index: usize) -> Entry {
        let entry = self.buckets[cpl].remove(index);
        self.groups.remove(&entry.groups);
        self.len -= 1;
        entry
    }

    /// Drops trailing empty buckets, so the last bucket is the deepest in use.
    fn trim(&mut self) {
        while self.buckets.last().is_some_and(Vec::is_empty) {
            self.buckets.pop();
        }
    }
}

/// Appends to `nearest` the entries of `group` nearest to `target`, in order, until `nearest`
/// holds `count`. Every entry of `group` must be farther from `target` than those already in
/// `nearest`. Only the part that is kept gets sorted.
fn take_nearest<'a>(
    group: impl Iterator<Item = &'a Entry>,
    target: &Key,
    count: usize,
    scratch: &mut Vec<(Distance, &'a Entry)>,
    nearest: &mut Vec<&'a Entry>,
) {
    let wanted = count.saturating_sub(nearest.len());
    if wanted == 0 {
        return;
    }
    scratch.clear();
    scratch.extend(group.map(|entry| (entry.key.distance(target), entry)));
    if wanted < scratch.len() {
        scratch.select_nth_unstable_by_key(wanted - 1, |(distance, _)| *distance);
        scratch.truncate(wanted);
    }
    scratch.sort_unstable_by_key(|(distance, _)| *distance);
    nearest.extend(scratch.iter().map(|(_, entry)| *entry));
}

/// Drops duplicate addresses and keeps at most `limit`, in the order given.
fn clean_addresses(addrs: &mut Vec<Multiaddr>, limit: usize) {
    let mut kept = 0;
    for index in 0..addrs.len() {
        if kept == limit {
            break;
        }
        if !addrs[..kept].contains(&addrs[index]) {
            addrs.swap(kept, index);
            kept += 1;
        }
    }
    addrs.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ALPHA, REFRESH_INTERVAL};

    #[test]
    fn the_usefulness_threshold_is_gos_formula_for_the_default_parameters() {
        assert_eq!(
            usefulness_threshold(K, ALPHA, REFRESH_INTERVAL),
            USEFULNESS_THRESHOLD
        );
        let minutes = USEFULNESS_THRESHOLD.as_secs_f64() / 60.0;
        assert!((43.0..43.5).contains(&minutes), "{minutes}");
        assert_eq!(
            usefulness_threshold(20, 20, REFRESH_INTERVAL),
            REFRESH_INTERVAL
        );
        assert_eq!(
            usefulness_threshold(20, 0, REFRESH_INTERVAL),
            REFRESH_INTERVAL
        );
        assert_eq!(usefulness_threshold(20, 3, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn addresses_lose_duplicates_and_are_capped() {
        let a: Multiaddr = "/ip4/198.51.100.1/tcp/1".parse().unwrap();
        let b: Multiaddr = "/ip4/198.51.100.2/tcp/1".parse().unwrap();
        let c: Multiaddr = "/ip4/198.51.100.3/tcp/1".parse().unwrap();
        let mut addrs = vec![a.clone(), a.clone(), b.clone(), a.clone(), c.clone()];
        clean_addresses(&mut addrs, 16);
        assert_eq!(addrs, vec![a.clone(), b.clone(), c.clone()]);
        let mut addrs = vec![a.clone(), a.clone(), b.clone(), c];
        clean_addresses(&mut addrs, 2);
        assert_eq!(addrs, vec![a, b]);
    }
}
