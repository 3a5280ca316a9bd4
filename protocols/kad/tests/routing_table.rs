//! The routing table's behaviour through its public API: bucket bounds, the insertion and
//! eviction policy, the diversity limit, refresh bookkeeping, and `closest` against a brute
//! force sort. Deterministic: peers come from a seeded `Rng`, time is a base instant plus
//! offsets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hyphae_identity::PeerId;
use hyphae_kad::{
    Insert, IpGroup, K, Key, MAX_REFRESH_CPL, Rng, RoutingConfig, RoutingTable,
    USEFULNESS_THRESHOLD, random_peer_bytes_with_cpl,
};
use hyphae_multiaddr::Multiaddr;
use proptest::prelude::*;

const MINUTE: Duration = Duration::from_secs(60);

/// A random peer id (a SHA2-256 multihash).
fn random_peer(rng: &mut Rng) -> PeerId {
    let mut bytes = vec![0x12, 32];
    bytes.resize(34, 0);
    rng.fill(&mut bytes[2..]);
    PeerId::from_bytes(&bytes).unwrap()
}

/// A random peer whose key shares exactly `cpl` (at most 15) leading bits with `local`.
fn peer_at(local: &Key, cpl: u32, rng: &mut Rng) -> PeerId {
    PeerId::from_bytes(&random_peer_bytes_with_cpl(local, cpl, rng)).unwrap()
}

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

/// An address in the public IPv4 group `a.b.0.0/16`.
fn public(a: u8, b: u8, host: u8) -> Vec<Multiaddr> {
    vec![addr(&format!("/ip4/{a}.{b}.0.{host}/tcp/4001"))]
}

fn table(seed: u64) -> (RoutingTable, Rng) {
    let mut rng = Rng::from_seed(seed);
    let local = random_peer(&mut rng);
    (RoutingTable::new(local, RoutingConfig::default()), rng)
}

/// Fills bucket `cpl` with k address-less peers added at `now`, and returns them.
fn fill_bucket(table: &mut RoutingTable, cpl: u32, rng: &mut Rng, now: Instant) -> Vec<PeerId> {
    let local = *table.local_key();
    let mut peers = Vec::new();
    while peers.len() < K {
        let peer = peer_at(&local, cpl, rng);
        assert_eq!(table.insert(peer, Vec::new(), now), Insert::Inserted);
        peers.push(peer);
    }
    peers
}

#[test]
fn a_bucket_never_holds_more_than_k_peers() {
    let (mut table, mut rng) = table(1);
    let now = Instant::now();
    let local = *table.local_key();
    let mut results = HashMap::new();
    for _ in 0..100 {
        let peer = peer_at(&local, 2, &mut rng);
        *results
            .entry(table.insert(peer, Vec::new(), now))
            .or_insert(0) += 1;
    }
    assert_eq!(results[&Insert::Inserted], K);
    assert_eq!(results[&Insert::Full], 100 - K);
    assert_eq!(table.bucket(2).len(), K);
    assert_eq!(table.len(), K);

    for _ in 0..3000 {
        let peer = random_peer(&mut rng);
        table.insert(peer, Vec::new(), now);
    }
    for cpl in 0..256 {
        assert!(table.bucket(cpl).len() <= K, "bucket {cpl}");
        for entry in table.bucket(cpl) {
            assert_eq!(local.common_prefix_len(&entry.key), cpl);
        }
    }
    assert_eq!(table.len(), table.iter().count());
    assert!(
        table.len() >= 6 * K,
        "3000 random peers fill at least the first 6 buckets"
    );
}

#[test]
fn the_local_peer_never_enters_its_own_table() {
    let (mut table, _) = table(2);
    let local = *table.local();
    let now = Instant::now();
    assert_eq!(table.insert(local, public(198, 51, 1), now), Insert::Local);
    assert!(table.is_empty());
    assert!(!table.contains(&local));
    assert!(table.closest(&Key::for_peer(&local), K).is_empty());
    assert!(!table.mark_useful(&local, now));
    assert!(table.remove(&local).is_none());
}

#[test]
fn known_peers_get_their_addresses_refreshed_but_keep_their_age() {
    let (mut table, mut rng) = table(3);
    let start = Instant::now();
    let peer = random_peer(&mut rng);
    assert_eq!(
        table.insert(peer, public(198, 51, 1), start),
        Insert::Inserted
    );
    table.mark_useful(&peer, start + MINUTE);

    let later = start + 5 * MINUTE;
    assert_eq!(
        table.insert(peer, public(203, 0, 9), later),
        Insert::Updated
    );
    let entry = table.get(&peer).unwrap();
    assert_eq!(entry.addrs, public(203, 0, 9));
    assert_eq!(entry.ip_groups(), [IpGroup::V4([203, 0])]);
    assert_eq!(
        (entry.added, entry.last_useful),
        (start, Some(start + MINUTE))
    );

    // No addresses given: the known ones stay.
    assert_eq!(table.insert(peer, Vec::new(), later), Insert::Updated);
    assert_eq!(table.get(&peer).unwrap().addrs, public(203, 0, 9));
    assert_eq!(table.len(), 1);
}

#[test]
fn an_entry_keeps_only_distinct_addresses_up_to_the_limit() {
    let mut rng = Rng::from_seed(4);
    let config = RoutingConfig {
        max_addresses_per_peer: 3,
        ..RoutingConfig::default()
    };
    let mut table = RoutingTable::new(random_peer(&mut rng), config);
    let peer = random_peer(&mut rng);
    let addrs: Vec<Multiaddr> = (0..10)
        .map(|i| addr(&format!("/ip4/10.0.0.{}/tcp/1", i % 5)))
        .collect();
    table.insert(peer, addrs, Instant::now());
    let kept: Vec<String> = table
        .get(&peer)
        .unwrap()
        .addrs
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        kept,
        [
            "/ip4/10.0.0.0/tcp/1",
            "/ip4/10.0.0.1/tcp/1",
            "/ip4/10.0.0.2/tcp/1"
        ]
    );
}

#[test]
fn a_full_bucket_keeps_peers_that_were_useful_recently() {
    let (mut table, mut rng) = table(5);
    let start = Instant::now();
    let old = fill_bucket(&mut table, 0, &mut rng, start);
    for peer in &old {
        assert!(table.mark_useful(peer, start + 50 * MINUTE));
    }
    let local = *table.local_key();
    let newcomer = peer_at(&local, 0, &mut rng);
    assert_eq!(
        table.insert(newcomer, Vec::new(), start + 90 * MINUTE),
        Insert::Full
    );
    assert!(!table.contains(&newcomer));
    assert!(old.iter().all(|peer| table.contains(peer)));
}

#[test]
fn a_newcomer_is_not_pushed_out_by_the_next_one_within_its_grace_period() {
    let (mut table, mut rng) = table(6);
    let start = Instant::now();
    fill_bucket(&mut table, 1, &mut rng, start);
    let local = *table.local_key();
    let newcomer = peer_at(&local, 1, &mut rng);
    let within_grace = start + USEFULNESS_THRESHOLD;
    assert_eq!(
        table.insert(newcomer, Vec::new(), within_grace),
        Insert::Full
    );
}

#[test]
fn a_full_bucket_replaces_its_stalest_entry_first() {
    let (mut table, mut rng) = table(7);
    let start = Instant::now();
    let old = fill_bucket(&mut table, 0, &mut rng, start);
    // old[3] was useful once, early; old[7] never was; the rest were useful recently.
    table.mark_useful(&old[3], start + MINUTE);
    for (index, peer) in old.iter().enumerate() {
        if index != 3 && index != 7 {
            table.mark_useful(peer, start + 30 * MINUTE);
        }
    }
    let local = *table.local_key();
    let now = start + 50 * MINUTE;
    let first = peer_at(&local, 0, &mut rng);
    let second = peer_at(&local, 0, &mut rng);
    let third = peer_at(&local, 0, &mut rng);
    assert_eq!(
        table.insert(first, Vec::new(), now),
        Insert::Replaced(old[7])
    );
    assert_eq!(
        table.insert(second, Vec::new(), now),
        Insert::Replaced(old[3])
    );
    assert_eq!(table.insert(third, Vec::new(), now), Insert::Full);
    assert_eq!(table.bucket(0).len(), K);
    assert!(table.contains(&first) && table.contains(&second));
    assert!(!table.contains(&old[7]) && !table.contains(&old[3]));
    assert_eq!(table.get(&first).unwrap().added, now);
}

#[test]
fn at_most_two_peers_of_one_ip_group_share_a_bucket() {
    let (mut table, mut rng) = table(8);
    let now = Instant::now();
    let local = *table.local_key();
    let peers: Vec<PeerId> = (0..4).map(|_| peer_at(&local, 0, &mut rng)).collect();
    assert_eq!(
        table.insert(peers[0], public(198, 51, 1), now),
        Insert::Inserted
    );
    assert_eq!(
        table.insert(peers[1], public(198, 51, 2), now),
        Insert::Inserted
    );
    assert_eq!(
        table.insert(peers[2], public(198, 51, 3), now),
        Insert::Diversity
    );
    assert!(!table.contains(&peers[2]));
    assert_eq!(
        table.insert(peers[3], public(198, 52, 3), now),
        Insert::Inserted
    );

    // Another bucket still has room for the group.
    let elsewhere = peer_at(&local, 1, &mut rng);
    assert_eq!(
        table.insert(elsewhere, public(198, 51, 4), now),
        Insert::Inserted
    );
}

#[test]
fn at_most_three_peers_of_one_ip_group_share_the_table() {
    let (mut table, mut rng) = table(9);
    let now = Instant::now();
    let local = *table.local_key();
    for cpl in 0..3 {
        let peer = peer_at(&local, cpl, &mut rng);
        assert_eq!(
            table.insert(peer, public(203, 0, cpl as u8), now),
            Insert::Inserted
        );
    }
    let fourth = peer_at(&local, 3, &mut rng);
    assert_eq!(
        table.insert(fourth, public(203, 0, 99), now),
        Insert::Diversity
    );

    // Removing one of the three makes room again.
    let first = table.bucket(0)[0].peer;
    assert!(table.remove(&first).is_some());
    assert_eq!(
        table.insert(fourth, public(203, 0, 99), now),
        Insert::Inserted
    );
}

#[test]
fn ipv6_peers_are_limited_per_slash_32() {
    let (mut table, mut rng) = table(10);
    let now = Instant::now();
    let local = *table.local_key();
    let v6 = |text: &str| vec![addr(text)];
    let a = peer_at(&local, 0, &mut rng);
    let b = peer_at(&local, 0, &mut rng);
    let c = peer_at(&local, 0, &mut rng);
    assert_eq!(
        table.insert(a, v6("/ip6/2001:db8:1::1/tcp/1"), now),
        Insert::Inserted
    );
    assert_eq!(
        table.insert(b, v6("/ip6/2001:db8:2::1/tcp/1"), now),
        Insert::Inserted
    );
    assert_eq!(
        table.insert(c, v6("/ip6/2001:db8:3::1/tcp/1"), now),
        Insert::Diversity
    );
    assert_eq!(
        table.insert(c, v6("/ip6/2001:db9:3::1/tcp/1"), now),
        Insert::Inserted
    );
}

#[test]
fn loopback_private_and_address_less_peers_are_exempt() {
    let mut rng = Rng::from_seed(11);
    let config = RoutingConfig {
        bucket_size: 64,
        ..RoutingConfig::default()
    };
    let mut table = RoutingTable::new(random_peer(&mut rng), config);
    let now = Instant::now();
    let local = *table.local_key();
    let exempt = [
        "/ip4/127.0.0.1/tcp/4001",
        "/ip4/192.168.1.10/tcp/4001",
        "/ip4/10.0.0.1/udp/4001/quic-v1",
        "/ip4/169.254.3.3/tcp/4001",
        "/ip6/::1/tcp/4001",
        "/ip6/fd00::1/tcp/4001",
        "/ip6/fe80::1/tcp/4001",
        "/dns4/node.example/tcp/4001",
        "/memory/1",
    ];
    // Four of a kind in one bucket: over both limits, were they counted.
    for text in exempt {
        for _ in 0..4 {
            let peer = peer_at(&local, 3, &mut rng);
            assert_eq!(
                table.insert(peer, vec![addr(text)], now),
                Insert::Inserted,
                "{text}"
            );
        }
    }
    for _ in 0..4 {
        let peer = peer_at(&local, 3, &mut rng);
        assert_eq!(table.insert(peer, Vec::new(), now), Insert::Inserted);
    }
    assert_eq!(table.bucket(3).len(), 4 * exempt.len() + 4);
    assert!(table.iter().all(|entry| entry.ip_groups().is_empty()));
}

#[test]
fn a_peer_with_addresses_in_two_groups_needs_room_in_both() {
    let (mut table, mut rng) = table(12);
    let now = Instant::now();
    let local = *table.local_key();
    for host in 1..=2 {
        let peer = peer_at(&local, 0, &mut rng);
        assert_eq!(
            table.insert(peer, public(198, 51, host), now),
            Insert::Inserted
        );
    }
    let both = peer_at(&local, 0, &mut rng);
    let mut addrs = public(203, 0, 1);
    addrs.extend(public(198, 51, 3));
    assert_eq!(table.insert(both, addrs, now), Insert::Diversity);
    // A private address next to a public one does not help or hurt.
    let mixed = peer_at(&local, 0, &mut rng);
    let addrs = vec![addr("/ip4/10.0.0.1/tcp/1"), addr("/ip4/203.0.0.2/tcp/1")];
    assert_eq!(table.insert(mixed, addrs, now), Insert::Inserted);
}

#[test]
fn a_replaced_entry_frees_its_ip_group_for_the_newcomer() {
    let (mut table, mut rng) = table(13);
    let start = Instant::now();
    let local = *table.local_key();
    let mut peers = Vec::new();
    for host in 1..=2 {
        let peer = peer_at(&local, 0, &mut rng);
        assert_eq!(
            table.insert(peer, public(198, 51, host), start),
            Insert::Inserted
        );
        peers.push(peer);
    }
    while table.bucket(0).len() < K {
        let peer = peer_at(&local, 0, &mut rng);
        table.insert(peer, Vec::new(), start + MINUTE);
    }
    // Only peers[0] is past its grace period; the newcomer shares its group.
    let later = start + MINUTE + USEFULNESS_THRESHOLD;
    table.mark_useful(&peers[1], later);
    let newcomer = peer_at(&local, 0, &mut rng);
    assert_eq!(
        table.insert(newcomer, public(198, 51, 3), later),
        Insert::Replaced(peers[0])
    );
}

#[test]
fn new_addresses_of_a_known_peer_must_pass_the_diversity_limit() {
    let (mut table, mut rng) = table(14);
    let now = Instant::now();
    let local = *table.local_key();
    for host in 1..=2 {
        let peer = peer_at(&local, 0, &mut rng);
        table.insert(peer, public(198, 51, host), now);
    }
    let peer = peer_at(&local, 0, &mut rng);
    let private = vec![addr("/ip4/192.168.0.1/tcp/1")];
    assert_eq!(table.insert(peer, private.clone(), now), Insert::Inserted);
    assert_eq!(
        table.insert(peer, public(198, 51, 3), now),
        Insert::Diversity
    );
    assert_eq!(table.get(&peer).unwrap().addrs, private);
    assert_eq!(table.insert(peer, public(198, 60, 3), now), Insert::Updated);
    // Moving within its own group never counts the peer against itself.
    assert_eq!(table.insert(peer, public(198, 60, 4), now), Insert::Updated);
}

#[test]
fn eviction_removes_exactly_the_entries_idle_past_the_window() {
    let (mut table, mut rng) = table(15);
    let start = Instant::now();
    let window = table.config().usefulness_window;
    assert_eq!(window, 2 * USEFULNESS_THRESHOLD);
    let peers: Vec<PeerId> = (0..40).map(|_| random_peer(&mut rng)).collect();
    for peer in &peers {
        table.insert(*peer, Vec::new(), start);
    }
    let useful: Vec<PeerId> = peers.iter().step_by(3).copied().collect();
    for peer in &useful {
        table.mark_useful(peer, start + 60 * MINUTE);
    }
    assert!(
        table.evict_useless(start + window).is_empty(),
        "not past the window yet"
    );

    let mut evicted = table.evict_useless(start + window + Duration::from_secs(1));
    let mut expected: Vec<PeerId> = peers
        .iter()
        .filter(|p| !useful.contains(p))
        .copied()
        .collect();
    evicted.sort();
    expected.sort();
    assert_eq!(evicted, expected);
    assert_eq!(table.len(), useful.len());
    assert!(useful.iter().all(|peer| table.contains(peer)));

    let all = table.evict_useless(start + 60 * MINUTE + window + Duration::from_secs(1));
    assert_eq!(all.len(), useful.len());
    assert!(table.is_empty());
    assert!(table.refresh_due(start, MINUTE).is_empty());
}

#[test]
fn refresh_due_lists_exactly_the_stale_buckets() {
    let (mut table, mut rng) = table(16);
    let start = Instant::now();
    let interval = 10 * MINUTE;
    assert!(
        table.refresh_due(start, interval).is_empty(),
        "an empty table refreshes nothing"
    );

    let local = *table.local_key();
    for cpl in [0, 4] {
        table.insert(peer_at(&local, cpl, &mut rng), Vec::new(), start);
    }
    // Never refreshed: every bucket up to the deepest in use, empty ones included.
    assert_eq!(table.refresh_due(start, interval), [0, 1, 2, 3, 4]);

    table.mark_refreshed(1, start);
    table.mark_refreshed(3, start + MINUTE);
    assert_eq!(table.refresh_due(start + 5 * MINUTE, interval), [0, 2, 4]);
    assert_eq!(table.refresh_due(start + interval, interval), [0, 1, 2, 4]);
    assert_eq!(
        table.refresh_due(start + interval + MINUTE, interval),
        [0, 1, 2, 3, 4]
    );

    // A lookup for a target in bucket 2 counts as its refresh.
    let target = Key::for_bytes(&random_peer_bytes_with_cpl(&local, 2, &mut rng));
    table.mark_refreshed(local.common_prefix_len(&target), start + interval);
    assert_eq!(table.refresh_due(start + interval, interval), [0, 1, 4]);
}

#[test]
fn refresh_stops_at_the_deepest_bucket_a_lookup_can_target() {
    let (mut table, mut rng) = table(17);
    let start = Instant::now();
    let local = *table.local_key();
    // Grind a peer deeper than MAX_REFRESH_CPL (about 2^16 hashes).
    let deep = loop {
        let peer = random_peer(&mut rng);
        if local.common_prefix_len(&Key::for_peer(&peer)) > MAX_REFRESH_CPL {
            break peer;
        }
    };
    table.insert(deep, Vec::new(), start);
    let due = table.refresh_due(start, MINUTE);
    assert_eq!(due, (0..=MAX_REFRESH_CPL).collect::<Vec<_>>());
    table.mark_refreshed(MAX_REFRESH_CPL + 1, start);
    table.mark_refreshed(200, start);
    assert_eq!(table.refresh_due(start, MINUTE), due);
}

#[test]
fn peers_are_found_removed_and_marked_by_id() {
    let (mut table, mut rng) = table(18);
    let now = Instant::now();
    let peers: Vec<PeerId> = (0..50).map(|_| random_peer(&mut rng)).collect();
    for peer in &peers {
        table.insert(*peer, public(198, 51, 1), now);
    }
    let inside: Vec<PeerId> = peers
        .iter()
        .filter(|p| table.contains(p))
        .copied()
        .collect();
    assert_eq!(
        inside.len(),
        3,
        "the diversity limit admits three of one /16"
    );
    let stranger = random_peer(&mut rng);
    assert!(!table.mark_useful(&stranger, now));
    assert!(table.mark_useful(&inside[0], now + MINUTE));
    assert_eq!(
        table.get(&inside[0]).unwrap().last_useful,
        Some(now + MINUTE)
    );
    let removed = table.remove(&inside[0]).unwrap();
    assert_eq!(removed.peer, inside[0]);
    assert_eq!(removed.key, Key::for_peer(&inside[0]));
    assert!(!table.contains(&inside[0]));
    assert!(table.remove(&inside[0]).is_none());
    assert_eq!(table.len(), 2);
    assert_eq!(table.iter().count(), 2);
}

#[test]
fn closest_walks_past_sparse_buckets_in_distance_order() {
    let (mut table, mut rng) = table(19);
    let now = Instant::now();
    let local = *table.local_key();
    for cpl in [0, 1, 5, 9] {
        for _ in 0..3 {
            table.insert(peer_at(&local, cpl, &mut rng), Vec::new(), now);
        }
    }
    // A target in bucket 5: its three peers first, then those of 9, then 1, then 0.
    let target = Key::for_bytes(&random_peer_bytes_with_cpl(&local, 5, &mut rng));
    let cpls: Vec<u32> = table
        .closest(&target, 12)
        .iter()
        .map(|entry| local.common_prefix_len(&entry.key))
        .collect();
    assert_eq!(cpls, [5, 5, 5, 9, 9, 9, 1, 1, 1, 0, 0, 0]);
    assert_eq!(table.closest(&target, 4).len(), 4);
    assert!(table.closest(&target, 0).is_empty());
    assert_eq!(table.closest(&target, 100).len(), 12);
}

/// How a proptest picks the target of `closest`.
fn target(local: &Key, choice: u8, bit: u16, rng: &mut Rng, members: &[Key]) -> Key {
    match choice % 4 {
        0 => {
            let mut hash = [0u8; 32];
            rng.fill(&mut hash);
            Key::from_hash(hash)
        }
        1 => *local,
        2 => {
            // Near us: flip one bit, so the target's bucket may be deep and sparse.
            let mut hash = *local.as_bytes();
            hash[usize::from(bit / 8) % 32] ^= 0x80 >> (bit % 8);
            Key::from_hash(hash)
        }
        _ => members
            .get(usize::from(bit) % members.len().max(1))
            .copied()
            .unwrap_or(*local),
    }
}

proptest! {
    #[test]
    fn closest_equals_a_brute_force_sort(
        seed in any::<u64>(),
        peers in 0usize..400,
        bucket_size in 1usize..=K,
        count in 0usize..60,
        choice in any::<u8>(),
        bit in any::<u16>(),
    ) {
        let mut rng = Rng::from_seed(seed);
        let config = RoutingConfig { bucket_size, ..RoutingConfig::default() };
        let mut table = RoutingTable::new(random_peer(&mut rng), config);
        let local = *table.local_key();
        let now = Instant::now();
        for _ in 0..peers {
            table.insert(random_peer(&mut rng), Vec::new(), now);
        }
        let members: Vec<Key> = table.iter().map(|entry| entry.key).collect();
        let target = target(&local, choice, bit, &mut rng, &members);

        let fast: Vec<_> = table.closest(&target, count).iter().map(|e| e.key.distance(&target)).collect();
        let mut slow: Vec<_> = members.iter().map(|key| key.distance(&target)).collect();
        slow.sort();
        slow.truncate(count);
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn the_table_keeps_its_bounds_under_any_sequence_of_operations(
        seed in any::<u64>(),
        operations in proptest::collection::vec((0u8..6, any::<u8>()), 1..300),
    ) {
        let mut rng = Rng::from_seed(seed);
        let config = RoutingConfig { bucket_size: 4, ..RoutingConfig::default() };
        let mut table = RoutingTable::new(random_peer(&mut rng), config.clone());
        let local = *table.local_key();
        let start = Instant::now();
        let mut known: Vec<PeerId> = vec![*table.local()];
        for (step, (operation, value)) in operations.into_iter().enumerate() {
            let now = start + MINUTE * (step as u32);
            let some_known = known[usize::from(value) % known.len()];
            match operation {
                0..=2 => {
                    let peer = if operation == 0 { some_known } else {
                        let peer = peer_at(&local, u32::from(value % 4), &mut rng);
                        known.push(peer);
                        peer
                    };
                    // Addresses from a handful of groups, so the limits bite.
                    let addrs = if value % 5 == 0 { Vec::new() } else { public(198, value % 3, value) };
                    let before = table.len();
                    let result = table.insert(peer, addrs, now);
                    let grown = match result {
                        Insert::Inserted => 1,
                        _ => 0,
                    };
                    prop_assert_eq!(table.len(), before + grown);
                }
                3 => { table.remove(&some_known); }
                4 => { table.mark_useful(&some_known, now); }
                _ => { table.evict_useless(now); }
            }
            prop_assert!(!table.contains(table.local()));
            prop_assert_eq!(table.len(), table.iter().count());
            let mut per_group: HashMap<IpGroup, usize> = HashMap::new();
            for cpl in 0..256 {
                let bucket = table.bucket(cpl);
                prop_assert!(bucket.len() <= config.bucket_size);
                let mut in_bucket: HashMap<IpGroup, usize> = HashMap::new();
                for entry in bucket {
                    prop_assert_eq!(local.common_prefix_len(&entry.key), cpl);
                    for group in entry.ip_groups() {
                        *in_bucket.entry(*group).or_default() += 1;
                        *per_group.entry(*group).or_default() += 1;
                    }
                }
                prop_assert!(in_bucket.values().all(|&n| n <= config.max_peers_per_ip_group_per_bucket));
            }
            prop_assert!(per_group.values().all(|&n| n <= config.max_peers_per_ip_group));
        }
    }
}
