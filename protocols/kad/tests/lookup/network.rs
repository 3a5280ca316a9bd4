//! The test network: peers with Kademlia routing tables built from a seeded `Rng`, each
//! answering with the k closest peers it knows after its own latency, or staying silent,
//! refusing, or lying; and a driver that runs a lookup against it on virtual time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use hyphae_identity::PeerId;
use hyphae_kad::{K, Key, Lookup, LookupConfig, LookupPhase, LookupStats, Rng};

pub(crate) const MS: Duration = Duration::from_millis(1);

/// How a peer of the test network behaves when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
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
pub(crate) struct Network {
    pub(crate) peers: Vec<PeerId>,
    pub(crate) keys: Vec<Key>,
    pub(crate) index: HashMap<PeerId, usize>,
    pub(crate) tables: Vec<Vec<usize>>,
    pub(crate) behaviours: Vec<Behaviour>,
}

pub(crate) fn random_peer(rng: &mut Rng) -> PeerId {
    let mut bytes = [0u8; 34];
    bytes[0] = 0x12; // sha2-256
    bytes[1] = 32;
    rng.fill(&mut bytes[2..]);
    PeerId::from_bytes(&bytes).unwrap()
}

pub(crate) fn random_key(rng: &mut Rng) -> Key {
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
    pub(crate) fn new(
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

    pub(crate) fn honest(seed: u64, size: usize) -> Self {
        Network::new(seed, size, |_, rng| Behaviour::Honest {
            latency: MS * (10 + rng.below(190) as u32),
        })
    }

    /// The k peers of `table` closest to `target` (farthest if `far`), nearest first.
    pub(crate) fn closest_in(
        &self,
        table: &[usize],
        target: &Key,
        count: usize,
        far: bool,
    ) -> Vec<PeerId> {
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
    pub(crate) fn reply(
        &self,
        peer: &PeerId,
        target: &Key,
        rng: &mut Rng,
    ) -> Option<(Duration, Reply)> {
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
    pub(crate) fn true_closest(&self, target: &Key, local: usize) -> Vec<PeerId> {
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
    pub(crate) fn lookup_from(
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
pub(crate) enum Reply {
    Answer(Vec<PeerId>),
    /// 10,000 made-up peers, drawn from this seed only as far as the lookup reads them.
    Huge(u64),
    Failure,
}

/// What a driven lookup did.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) closest: Vec<PeerId>,
    pub(crate) stats: LookupStats,
    pub(crate) duration: Duration,
    /// Every request: when it was sent, to whom, and in which phase.
    pub(crate) requests: Vec<(Duration, PeerId, LookupPhase)>,
    /// The most requests awaiting a reply from the network when one was sent in the lookup
    /// phase (silent peers excluded: the network never replies for them).
    pub(crate) most_in_flight: usize,
    /// The most peers the lookup held at any time.
    pub(crate) most_known: usize,
    /// Peers whose answer was delivered.
    pub(crate) answered: HashSet<PeerId>,
}

/// Runs `lookup` against `network` on virtual time until it finishes.
pub(crate) fn drive(network: &Network, mut lookup: Lookup, start: Instant, seed: u64) -> Outcome {
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
            assert_ne!(lookup.phase(), LookupPhase::Finished);
            outcome.requests.push((now - start, peer, lookup.phase()));
            if let Some((latency, reply)) = network.reply(&peer, lookup.target(), &mut rng) {
                pending.insert((now + latency, sequence), (peer, reply));
                sequence += 1;
            }
            if lookup.phase() == LookupPhase::Lookup {
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
pub(crate) fn lookups(network: &Network, targets: usize, seed: u64) -> Vec<(Outcome, Vec<PeerId>)> {
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

pub(crate) fn overlap(found: &[PeerId], truth: &[PeerId]) -> usize {
    found.iter().filter(|p| truth.contains(p)).count()
}

pub(crate) fn assert_well_formed(outcome: &Outcome, target: &Key, k: usize) {
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

/// Peers sorted by the distance of their key to `target`, nearest first.
pub(crate) fn peers_by_distance(count: usize, target: &Key, rng: &mut Rng) -> Vec<PeerId> {
    let mut peers: Vec<PeerId> = (0..count).map(|_| random_peer(rng)).collect();
    peers.sort_by_key(|p| Key::for_peer(p).distance(target));
    peers
}
