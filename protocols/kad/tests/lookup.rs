//! The iterative lookup against small in-memory networks on virtual time: each peer has a
//! Kademlia routing table built from a seeded `Rng` and answers with the k closest peers it
//! knows, after its own latency, or stays silent, refuses, or lies.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use hyphae_identity::PeerId;
use hyphae_kad::{K, Key, Lookup, LookupConfig, LookupStats, Phase, Rng};
use proptest::prelude::*;

const MS: Duration = Duration::from_millis(1);

/// How a peer of the test network behaves when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Answers with the k closest peers it knows after `latency`.
    Honest { latency: Duration },
    /// Never answers: only the lookup's request timeout ends the request.
    Silent,
    /// Refuses after `latency` (stream reset, protocol not supported).
    Refusing { latency: Duration },
    /// Answers after 50 ms with the k peers it knows that are farthest from the target.
    FarLiar,
    /// Answers after 50 ms with k peers drawn at random from the whole network.
    RandomLiar,
    /// Answers after 50 ms with 10,000 made-up peers that do not exist.
    HugeLiar,
}

/// Peers with their routing tables and behaviours.
struct Network {
    peers: Vec<PeerId>,
    keys: Vec<Key>,
    index: HashMap<PeerId, usize>,
    tables: Vec<Vec<usize>>,
    behaviours: Vec<Behaviour>,
}

fn random_peer(rng: &mut Rng) -> PeerId {
    let mut bytes = [0u8; 34];
    bytes[0] = 0x12; // sha2-256
    bytes[1] = 32;
    rng.fill(&mut bytes[2..]);
    PeerId::from_bytes(&bytes).unwrap()
}

fn random_key(rng: &mut Rng) -> Key {
    let mut hash = [0u8; 32];
    rng.fill(&mut hash);
    Key::from_hash(hash)
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

impl Network {
    /// `size` peers; each knows up to k random peers per bucket (common prefix length with
    /// itself), as a Kademlia routing table would; `behaviour` picks each peer's behaviour.
    fn new(
        seed: u64,
        size: usize,
        mut behaviour: impl FnMut(usize, &mut Rng) -> Behaviour,
    ) -> Self {
        let mut rng = Rng::from_seed(seed);
        let peers: Vec<PeerId> = (0..size).map(|_| random_peer(&mut rng)).collect();
        let keys: Vec<Key> = peers.iter().map(Key::for_peer).collect();
        let index = peers.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let mut tables = Vec::with_capacity(size);
        for i in 0..size {
            let mut buckets: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
            for j in (0..size).filter(|&j| j != i) {
                buckets
                    .entry(keys[i].common_prefix_len(&keys[j]))
                    .or_default()
                    .push(j);
            }
            let mut table = Vec::new();
            for bucket in buckets.values_mut() {
                shuffle(bucket, &mut rng);
                table.extend(bucket.iter().take(K));
            }
            tables.push(table);
        }
        let behaviours = (0..size).map(|i| behaviour(i, &mut rng)).collect();
        Network {
            peers,
            keys,
            index,
            tables,
            behaviours,
        }
    }

    fn honest(seed: u64, size: usize) -> Self {
        Network::new(seed, size, |_, rng| Behaviour::Honest {
            latency: MS * (10 + rng.below(190) as u32),
        })
    }

    /// The k peers of `table` closest to `target` (farthest if `far`), nearest first.
    fn closest_in(&self, table: &[usize], target: &Key, count: usize, far: bool) -> Vec<PeerId> {
        let mut known: Vec<usize> = table.to_vec();
        known.sort_by_key(|&j| self.keys[j].distance(target));
        if far {
            known.reverse();
        }
        known
            .into_iter()
            .take(count)
            .map(|j| self.peers[j])
            .collect()
    }

    /// What `peer` will do when asked about `target`: `None` if it never answers.
    fn reply(&self, peer: &PeerId, target: &Key, rng: &mut Rng) -> Option<(Duration, Reply)> {
        let Some(&i) = self.index.get(peer) else {
            // Not in the network: the dial fails.
            return Some((MS * 50, Reply::Failure));
        };
        let lie = MS * 50;
        match self.behaviours[i] {
            Behaviour::Honest { latency } => Some((
                latency,
                Reply::Answer(self.closest_in(&self.tables[i], target, K, false)),
            )),
            Behaviour::Silent => None,
            Behaviour::Refusing { latency } => Some((latency, Reply::Failure)),
            Behaviour::FarLiar => Some((
                lie,
                Reply::Answer(self.closest_in(&self.tables[i], target, K, true)),
            )),
            Behaviour::RandomLiar => {
                let peers = (0..K).map(|_| self.peers[rng.below(self.peers.len() as u64) as usize]);
                Some((lie, Reply::Answer(peers.collect())))
            }
            Behaviour::HugeLiar => Some((lie, Reply::Huge(rng.next_u64()))),
        }
    }

    /// The true k closest peers to `target` that answer (honestly or not), `local` excluded.
    fn true_closest(&self, target: &Key, local: usize) -> Vec<PeerId> {
        let answering: Vec<usize> = (0..self.peers.len())
            .filter(|&i| {
                i != local
                    && !matches!(
                        self.behaviours[i],
                        Behaviour::Silent | Behaviour::Refusing { .. }
                    )
            })
            .collect();
        self.closest_in(&answering, target, K, false)
    }

    /// A lookup for `target` started by peer `local`, seeded as a node would: the k closest
    /// peers of its own routing table.
    fn lookup_from(
        &self,
        local: usize,
        target: Key,
        config: LookupConfig,
        start: Instant,
    ) -> Lookup {
        let seeds = self.closest_in(&self.tables[local], &target, K, false);
        Lookup::new(&self.peers[local], target, seeds, config, start)
    }
}

#[derive(Debug, Clone)]
enum Reply {
    Answer(Vec<PeerId>),
    /// 10,000 made-up peers, drawn from this seed only as far as the lookup reads them.
    Huge(u64),
    Failure,
}

/// What a driven lookup did.
#[derive(Debug)]
struct Outcome {
    closest: Vec<PeerId>,
    stats: LookupStats,
    duration: Duration,
    /// Every request: when it was sent, to whom, and in which phase.
    requests: Vec<(Duration, PeerId, Phase)>,
    /// The most requests awaiting a reply from the network when one was sent in the lookup
    /// phase (silent peers excluded: the network never replies for them).
    most_in_flight: usize,
    /// The most peers the lookup held at any time.
    most_known: usize,
    /// Peers whose answer was delivered.
    answered: HashSet<PeerId>,
}

/// Runs `lookup` against `network` on virtual time until it finishes.
fn drive(network: &Network, mut lookup: Lookup, start: Instant, seed: u64) -> Outcome {
    let mut rng = Rng::from_seed(seed);
    let mut pending: BTreeMap<(Instant, u64), (PeerId, Reply)> = BTreeMap::new();
    let mut sequence = 0u64;
    let mut now = start;
    let mut outcome = Outcome {
        closest: Vec::new(),
        stats: LookupStats::default(),
        duration: Duration::ZERO,
        requests: Vec::new(),
        most_in_flight: 0,
        most_known: lookup.known_peers(),
        answered: HashSet::new(),
    };
    for step in 0.. {
        assert!(step < 100_000, "the lookup never finished");
        while let Some(peer) = lookup.poll_request(now) {
            assert_ne!(lookup.phase(), Phase::Finished);
            outcome.requests.push((now - start, peer, lookup.phase()));
            if let Some((latency, reply)) = network.reply(&peer, lookup.target(), &mut rng) {
                pending.insert((now + latency, sequence), (peer, reply));
                sequence += 1;
            }
            if lookup.phase() == Phase::Lookup {
                outcome.most_in_flight = outcome.most_in_flight.max(pending.len());
            }
        }
        if lookup.is_finished() {
            break;
        }
        let timer = lookup.poll_timeout();
        let next = [timer, pending.keys().next().map(|(at, _)| *at)]
            .into_iter()
            .flatten()
            .min()
            .expect("a running lookup always has a request or a timer pending");
        assert!(next >= now, "time never goes back");
        now = next;
        while let Some(entry) = pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (peer, reply) = entry.remove();
            match reply {
                Reply::Answer(closer) => {
                    if !lookup.is_finished() {
                        outcome.answered.insert(peer);
                    }
                    lookup.on_response(&peer, closer, now);
                }
                Reply::Huge(seed) => {
                    if !lookup.is_finished() {
                        outcome.answered.insert(peer);
                    }
                    let mut rng = Rng::from_seed(seed);
                    lookup.on_response(&peer, (0..10_000).map(move |_| random_peer(&mut rng)), now);
                }
                Reply::Failure => lookup.on_failure(&peer, now),
            }
            outcome.most_known = outcome.most_known.max(lookup.known_peers());
        }
        if timer.is_some_and(|at| at <= now) {
            lookup.handle_timeout(now);
        }
    }
    outcome.closest = lookup.closest();
    outcome.stats = lookup.stats();
    outcome.duration = now - start;
    outcome
}

/// Runs one lookup per target from random peers; returns the outcomes with the truth.
fn lookups(network: &Network, targets: usize, seed: u64) -> Vec<(Outcome, Vec<PeerId>)> {
    let mut rng = Rng::from_seed(seed);
    let start = Instant::now();
    (0..targets)
        .map(|n| {
            let target = random_key(&mut rng);
            let local = loop {
                let local = rng.below(network.peers.len() as u64) as usize;
                if matches!(network.behaviours[local], Behaviour::Honest { .. }) {
                    break local;
                }
            };
            let lookup = network.lookup_from(local, target, LookupConfig::default(), start);
            let truth = network.true_closest(&target, local);
            (drive(network, lookup, start, seed + n as u64), truth)
        })
        .collect()
}

fn overlap(found: &[PeerId], truth: &[PeerId]) -> usize {
    found.iter().filter(|p| truth.contains(p)).count()
}

fn assert_well_formed(outcome: &Outcome, target: &Key, k: usize) {
    let distances: Vec<_> = outcome
        .closest
        .iter()
        .map(|p| Key::for_peer(p).distance(target))
        .collect();
    assert!(
        distances.windows(2).all(|w| w[0] < w[1]),
        "sorted nearest first, no duplicates"
    );
    assert!(outcome.closest.len() <= k);
    assert!(
        outcome.closest.iter().all(|p| outcome.answered.contains(p)),
        "only peers that answered"
    );
}

#[test]
fn finds_the_true_k_closest_for_most_targets() {
    let network = Network::honest(1, 1000);
    let runs = lookups(&network, 40, 2);
    let exact = runs
        .iter()
        .filter(|(outcome, truth)| outcome.closest == *truth)
        .count();
    let found: usize = runs
        .iter()
        .map(|(outcome, truth)| overlap(&outcome.closest, truth))
        .sum();
    assert!(exact >= 36, "exact k closest for {exact} of 40 targets");
    assert!(
        found >= 40 * K * 98 / 100,
        "{found} of {} closest found",
        40 * K
    );
    for (outcome, _) in &runs {
        assert!(
            outcome.duration < Duration::from_secs(2),
            "{:?}",
            outcome.duration
        );
        assert!(outcome.stats.hops >= 1 && outcome.stats.answers >= K);
    }
}

#[test]
fn never_asks_more_than_alpha_at_once_in_the_lookup_phase() {
    let network = Network::honest(3, 400);
    for (outcome, _) in lookups(&network, 20, 4) {
        assert!(
            outcome.most_in_flight <= LookupConfig::default().alpha,
            "{}",
            outcome.most_in_flight
        );
    }
}

#[test]
fn the_follow_up_asks_the_rest_of_the_k_closest_at_once_and_chases_nothing() {
    let network = Network::honest(5, 400);
    for (outcome, truth) in lookups(&network, 20, 6) {
        let follow_up: Vec<_> = outcome
            .requests
            .iter()
            .filter(|r| r.2 == Phase::FollowUp)
            .collect();
        assert!(follow_up.len() <= K);
        // All at the instant the follow-up began (nobody fails here, so nobody is replaced):
        // none goes to a peer learned from a follow-up answer.
        assert!(
            follow_up.windows(2).all(|w| w[0].0 == w[1].0),
            "sent at the same instant"
        );
        assert!(
            truth
                .iter()
                .all(|p| outcome.requests.iter().any(|r| r.1 == *p)),
            "all k closest asked"
        );
    }
}

/// Peers sorted by the distance of their key to `target`, nearest first.
fn peers_by_distance(count: usize, target: &Key, rng: &mut Rng) -> Vec<PeerId> {
    let mut peers: Vec<PeerId> = (0..count).map(|_| random_peer(rng)).collect();
    peers.sort_by_key(|p| Key::for_peer(p).distance(target));
    peers
}

#[test]
fn a_peer_of_the_follow_up_that_fails_is_replaced_by_the_next_closest() {
    let mut rng = Rng::from_seed(24);
    let target = random_key(&mut rng);
    let peers = peers_by_distance(4, &target, &mut rng);
    let config = LookupConfig {
        k: 2,
        alpha: 1,
        beta: 1,
        ..LookupConfig::default()
    };
    let start = Instant::now();
    let mut lookup = Lookup::new(&random_peer(&mut rng), target, peers.clone(), config, start);
    assert_eq!(lookup.poll_request(start), Some(peers[0]));
    lookup.on_response(&peers[0], [], start);
    assert_eq!(lookup.phase(), Phase::FollowUp);
    assert_eq!(lookup.poll_request(start), Some(peers[1]));
    assert_eq!(lookup.poll_request(start), None, "k = 2: one more to ask");
    lookup.on_failure(&peers[1], start);
    assert_eq!(
        lookup.poll_request(start),
        Some(peers[2]),
        "the replacement"
    );
    lookup.on_response(&peers[2], [], start);
    assert!(lookup.is_finished());
    assert_eq!(lookup.closest(), [peers[0], peers[2]]);
}

#[test]
fn replacements_never_stretch_the_follow_up_beyond_a_request_timeout() {
    // The nearest peer answers; every other one is silent, so each replacement goes slow in
    // turn and is replaced again.
    let mut rng = Rng::from_seed(25);
    let target = random_key(&mut rng);
    let peers = peers_by_distance(30, &target, &mut rng);
    let config = LookupConfig {
        k: 2,
        beta: 1,
        ..LookupConfig::default()
    };
    let start = Instant::now();
    let mut lookup = Lookup::new(
        &random_peer(&mut rng),
        target,
        peers.clone(),
        config.clone(),
        start,
    );
    assert_eq!(lookup.poll_request(start), Some(peers[0]));
    lookup.on_response(&peers[0], [], start);
    let mut now = start;
    let mut asked = 1;
    while !lookup.is_finished() {
        while lookup.poll_request(now).is_some() {
            asked += 1;
        }
        now = lookup
            .poll_timeout()
            .expect("a follow-up waits for something");
        lookup.handle_timeout(now);
    }
    assert_eq!(now - start, config.request_timeout);
    assert_eq!(asked, 1 + 5, "one replacement per slow_after (2 s) in 10 s");
    assert_eq!(lookup.closest(), [peers[0]]);
}

/// A network where the three honest peers closest to `target` never answer.
fn silent_closest(seed: u64, target: &Key) -> Network {
    let mut network = Network::honest(seed, 300);
    let closest = network.true_closest(target, usize::MAX);
    for peer in &closest[..3] {
        let i = network.index[peer];
        network.behaviours[i] = Behaviour::Silent;
    }
    network
}

#[test]
fn a_silent_peer_among_the_closest_costs_slow_after_not_the_request_timeout() {
    let mut rng = Rng::from_seed(7);
    let config = LookupConfig::default();
    for n in 0..10 {
        let target = random_key(&mut rng);
        let network = silent_closest(100 + n, &target);
        let start = Instant::now();
        let lookup = network.lookup_from(0, target, config.clone(), start);
        let outcome = drive(&network, lookup, start, n);
        assert!(
            outcome.duration < config.request_timeout,
            "{:?}",
            outcome.duration
        );
        assert!(outcome.duration <= 2 * config.slow_after + Duration::from_secs(2));
        // Every honest peer's table holds the silent ones, so the 20th closest live peer is
        // rarely returned by anyone: allow missing one.
        let truth = network.true_closest(&target, 0);
        assert!(overlap(&outcome.closest, &truth) >= K - 1);
        assert_eq!(
            outcome.stats.timeouts, 0,
            "finished before any request timed out"
        );
    }
}

#[test]
fn lookups_end_when_a_third_of_the_peers_are_silent_or_refuse() {
    let network = Network::new(8, 400, |_, rng| match rng.below(6) {
        0 => Behaviour::Silent,
        1 => Behaviour::Refusing { latency: MS * 30 },
        _ => Behaviour::Honest {
            latency: MS * (10 + rng.below(190) as u32),
        },
    });
    let runs = lookups(&network, 30, 9);
    // The dead peers stay in every table, and answers of k peers that include them reach
    // fewer live ones: some of the true k closest live peers are never heard of.
    let found: usize = runs
        .iter()
        .map(|(outcome, truth)| overlap(&outcome.closest, truth))
        .sum();
    assert!(
        found >= 30 * K * 9 / 10,
        "{found} of {} closest found",
        30 * K
    );
    for (outcome, _) in &runs {
        assert!(
            outcome.duration <= Duration::from_secs(15),
            "{:?}",
            outcome.duration
        );
    }
}

#[test]
fn a_slow_peer_frees_its_slot_and_its_late_answer_still_counts() {
    // Peers sorted by distance to the target: `near` is the closest and slow.
    let mut rng = Rng::from_seed(10);
    let target = random_key(&mut rng);
    let mut peers: Vec<PeerId> = (0..4).map(|_| random_peer(&mut rng)).collect();
    peers.sort_by_key(|p| Key::for_peer(p).distance(&target));
    let [near, second, third, fourth] = [peers[0], peers[1], peers[2], peers[3]];
    let config = LookupConfig {
        alpha: 1,
        beta: 1,
        ..LookupConfig::default()
    };
    let start = Instant::now();
    let local = random_peer(&mut rng);
    let mut lookup = Lookup::new(&local, target, [near, fourth], config.clone(), start);

    assert_eq!(lookup.poll_request(start), Some(near));
    assert_eq!(lookup.poll_request(start), None, "one slot, taken");
    assert_eq!(lookup.poll_timeout(), Some(start + config.slow_after));
    let slow = start + config.slow_after;
    lookup.handle_timeout(slow);
    assert_eq!(
        lookup.poll_request(slow),
        Some(fourth),
        "the slow request freed its slot"
    );
    assert_eq!(lookup.poll_timeout(), Some(slow + config.slow_after));

    // The slow peer's late answer is used: with β = 1 it ends the lookup phase, and what it
    // returned goes to the follow-up, which is not limited by α.
    let late = slow + MS * 500;
    lookup.on_response(&near, [second, third], late);
    assert_eq!(
        lookup.phase(),
        Phase::FollowUp,
        "the closest peer has answered"
    );
    let mut follow_up = Vec::new();
    while let Some(peer) = lookup.poll_request(late) {
        follow_up.push(peer);
    }
    assert_eq!(follow_up, [second, third]);
    lookup.on_response(&second, [], late + MS);
    lookup.on_failure(&third, late + MS);
    assert_eq!(
        lookup.phase(),
        Phase::FollowUp,
        "fourth, among the k closest, is awaited"
    );
    lookup.on_response(&fourth, [], late + MS * 2);
    assert!(lookup.is_finished());
    assert_eq!(lookup.closest(), [near, second, fourth]);
    let stats = lookup.stats();
    assert_eq!(
        (
            stats.requests,
            stats.answers,
            stats.failures,
            stats.timeouts
        ),
        (4, 3, 1, 0)
    );
}

#[test]
fn a_network_where_every_answer_is_slow_still_completes() {
    let network = Network::new(11, 200, |_, _| Behaviour::Honest {
        latency: Duration::from_secs(3),
    });
    for (outcome, truth) in lookups(&network, 5, 12) {
        // Every request outlasts `slow_after`: the threshold stretches to the answer times.
        assert!(
            overlap(&outcome.closest, &truth) >= K - 2,
            "{:?}",
            outcome.stats
        );
        assert!(outcome.duration < Duration::from_secs(20));
    }
}

#[test]
fn lying_peers_do_not_keep_the_lookup_from_the_closest() {
    for (name, lie) in [
        ("far", Behaviour::FarLiar),
        ("random", Behaviour::RandomLiar),
        ("huge", Behaviour::HugeLiar),
    ] {
        let network = Network::new(13, 400, |_, rng| {
            if rng.below(5) == 0 {
                lie
            } else {
                Behaviour::Honest {
                    latency: MS * (10 + rng.below(190) as u32),
                }
            }
        });
        let runs = lookups(&network, 20, 14);
        let found: usize = runs
            .iter()
            .map(|(outcome, truth)| overlap(&outcome.closest, truth))
            .sum();
        assert!(
            found >= 20 * K * 95 / 100,
            "{name}: {found} of {} closest found",
            20 * K
        );
        let config = LookupConfig::default();
        for (outcome, _) in &runs {
            assert!(
                outcome.most_known <= config.max_peers,
                "{name}: {}",
                outcome.most_known
            );
            assert!(outcome.stats.requests <= config.max_peers);
            assert!(
                outcome.duration <= Duration::from_secs(15),
                "{name}: {:?}",
                outcome.duration
            );
        }
    }
}

#[test]
fn a_huge_answer_is_cut_to_the_per_response_cap() {
    let network = Network::new(15, 50, |_, _| Behaviour::HugeLiar);
    let start = Instant::now();
    let target = Key::for_bytes(b"target");
    let config = LookupConfig::default();
    let lookup = Lookup::new(
        &network.peers[0],
        target,
        [network.peers[1]],
        config.clone(),
        start,
    );
    let outcome = drive(&network, lookup, start, 16);
    assert_eq!(outcome.stats.peers_seen, 1 + config.max_peers_per_response);
    assert_eq!(outcome.stats.requests, 1 + config.max_peers_per_response);
    assert!(outcome.closest == [network.peers[1]]);
}

#[test]
fn when_every_seed_fails_the_lookup_ends_with_nothing() {
    let network = Network::new(17, 50, |i, _| match i % 2 {
        0 => Behaviour::Silent,
        _ => Behaviour::Refusing { latency: MS * 20 },
    });
    let start = Instant::now();
    let config = LookupConfig::default();
    let lookup = Lookup::new(
        &random_peer(&mut Rng::from_seed(1)),
        Key::for_bytes(b"x"),
        network.peers.clone(),
        config.clone(),
        start,
    );
    let outcome = drive(&network, lookup, start, 18);
    assert!(outcome.closest.is_empty());
    assert_eq!(outcome.stats.requests, 50);
    assert_eq!((outcome.stats.failures, outcome.stats.timeouts), (25, 25));
    assert_eq!(outcome.stats.hops, 0);
    assert!(
        outcome.duration <= 5 * config.request_timeout,
        "silent seeds are waited for: nothing else is left"
    );
}

#[test]
fn without_seeds_the_lookup_is_finished_at_once() {
    let mut lookup = Lookup::new(
        &PeerId::random(),
        Key::for_bytes(b"x"),
        [],
        LookupConfig::default(),
        Instant::now(),
    );
    assert!(lookup.is_finished());
    assert_eq!(lookup.poll_request(Instant::now()), None);
    assert_eq!(lookup.poll_timeout(), None);
    assert!(lookup.closest().is_empty());
}

#[test]
fn finish_ends_the_lookup_at_once_and_later_answers_are_ignored() {
    let network = Network::honest(19, 200);
    let start = Instant::now();
    let target = Key::for_bytes(b"wanted");
    let mut lookup = network.lookup_from(0, target, LookupConfig::default(), start);
    let first = lookup.poll_request(start).unwrap();
    let second = lookup.poll_request(start).unwrap();
    lookup.on_response(&first, [], start + MS);
    lookup.finish();
    assert!(lookup.is_finished());
    assert_eq!(lookup.poll_request(start + MS), None);
    assert_eq!(lookup.poll_timeout(), None);
    lookup.on_response(&second, [], start + MS * 2);
    assert_eq!(lookup.closest(), [first]);
    assert_eq!(lookup.stats().answers, 1);
}

#[test]
fn answers_from_peers_not_asked_are_ignored_and_the_local_peer_is_never_asked() {
    let mut rng = Rng::from_seed(20);
    let [local, seed, stranger, other] = [(); 4].map(|_| random_peer(&mut rng));
    let start = Instant::now();
    let target = Key::for_peer(&local); // the local peer would be the closest of all
    let mut lookup = Lookup::new(
        &local,
        target,
        [seed, local, seed],
        LookupConfig::default(),
        start,
    );
    assert_eq!(
        lookup.stats().peers_seen,
        1,
        "the local peer and duplicates are not taken in"
    );
    lookup.on_response(&stranger, [other], start);
    assert_eq!(lookup.stats().answers, 0);
    assert_eq!(lookup.poll_request(start), Some(seed));
    lookup.on_response(&seed, [local, seed, other], start + MS);
    lookup.on_response(&seed, [stranger], start + MS); // a second answer is not awaited
    assert_eq!(lookup.poll_request(start + MS), Some(other));
    assert_eq!(lookup.poll_request(start + MS), None);
    lookup.on_response(&other, [], start + MS * 2);
    assert!(lookup.is_finished());
    assert_eq!(lookup.stats().peers_seen, 2);
    assert_eq!(lookup.stats().answers, 2);
}

#[test]
fn hops_count_the_rounds_to_the_closest_peer_that_answered() {
    let mut rng = Rng::from_seed(21);
    let target = random_key(&mut rng);
    let mut peers: Vec<PeerId> = (0..4).map(|_| random_peer(&mut rng)).collect();
    peers.sort_by_key(|p| Key::for_peer(p).distance(&target));
    let [nearest, near, far, farthest] = [peers[0], peers[1], peers[2], peers[3]];
    let start = Instant::now();
    let mut lookup = Lookup::new(
        &PeerId::random(),
        target,
        [farthest],
        LookupConfig::default(),
        start,
    );
    // farthest (depth 0) → far (1) → near (2) → nearest (3), one round each.
    for (asked, returned) in [(farthest, far), (far, near), (near, nearest)] {
        assert_eq!(lookup.poll_request(start), Some(asked));
        lookup.on_response(&asked, [returned], start);
    }
    assert_eq!(lookup.stats().hops, 3, "near answered at depth 2");
    assert_eq!(lookup.poll_request(start), Some(nearest));
    lookup.on_response(&nearest, [farthest], start);
    assert!(lookup.is_finished());
    assert_eq!(lookup.stats().hops, 4);
}

#[test]
fn the_same_inputs_give_the_same_lookup() {
    let network = Network::new(22, 300, |_, rng| match rng.below(4) {
        0 => Behaviour::Silent,
        _ => Behaviour::Honest {
            latency: MS * (10 + rng.below(300) as u32),
        },
    });
    let first = lookups(&network, 3, 23);
    let second = lookups(&network, 3, 23);
    for ((a, _), (b, _)) in first.iter().zip(&second) {
        assert_eq!(a.requests, b.requests);
        assert_eq!(a.stats, b.stats);
    }
}

fn behaviour_strategy() -> impl Strategy<Value = Vec<(u8, u16)>> {
    prop::collection::vec((0u8..10, 1u16..4000), 10..120)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_lookup_ends_with_sorted_unique_peers_that_answered(
        seed in any::<u64>(),
        kinds in behaviour_strategy(),
        k in 1usize..25,
        alpha in 1usize..12,
        beta in 1usize..5,
        slow_after in 50u64..5000,
    ) {
        let network = Network::new(seed, kinds.len(), |i, _| {
            let (kind, millis) = kinds[i];
            let latency = MS * u32::from(millis);
            match kind {
                0 => Behaviour::Silent,
                1 => Behaviour::Refusing { latency },
                2 => Behaviour::FarLiar,
                3 => Behaviour::RandomLiar,
                4 => Behaviour::HugeLiar,
                _ => Behaviour::Honest { latency },
            }
        });
        let config = LookupConfig {
            k, alpha, beta,
            slow_after: MS * slow_after as u32,
            ..LookupConfig::default()
        };
        let start = Instant::now();
        let target = random_key(&mut Rng::from_seed(seed ^ 1));
        let lookup = network.lookup_from(0, target, config.clone(), start);
        let outcome = drive(&network, lookup, start, seed);
        assert_well_formed(&outcome, &target, k);
        prop_assert!(outcome.closest.len() <= k);
        prop_assert!(outcome.most_known <= config.max_peers);
        prop_assert!(outcome.stats.requests <= config.max_peers);
        prop_assert!(!outcome.requests.iter().any(|r| r.1 == network.peers[0]), "never asks itself");
        let asked: HashSet<_> = outcome.requests.iter().map(|r| r.1).collect();
        prop_assert_eq!(asked.len(), outcome.requests.len(), "nobody is asked twice");
    }
}
