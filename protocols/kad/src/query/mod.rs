//! The iterative lookup: which peers to ask, one answer at a time, on the way to the peers
//! closest to a target key. See [`Lookup`].

mod config;
mod follow_up;

pub use config::{LookupConfig, LookupPhase, LookupStats};

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use hyphae_identity::PeerId;
use tracing::debug;

use crate::{Distance, Key};

/// A request is slow once outstanding for this many times the mean answer time of the lookup
/// (or [`LookupConfig::slow_after`], if longer).
const SLOW_FACTOR: u32 = 2;

/// What the lookup knows about one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Heard of, not asked.
    Heard,
    /// Chosen for the follow-up, waiting to be handed out by `poll_request`.
    Queued,
    /// Asked at `sent`, no answer yet.
    Waiting { sent: Instant },
    /// Answered.
    Answered,
    /// Failed or timed out.
    Failed,
}

/// One peer of the lookup.
#[derive(Debug, Clone)]
struct Candidate {
    peer: PeerId,
    /// Seeds 0, a peer learned from a peer of depth d: d + 1 (the first referrer counts).
    depth: u32,
    state: State,
}

/// One iterative lookup towards a target key: which peers to ask, one answer at a time.
///
/// It only decides *whom* to ask. What is asked (`FIND_NODE`, `GET_VALUE`,
/// `GET_PROVIDERS`) and what an answer means beyond its closer peers belong to the caller, who
/// drives the lookup sans-IO:
///
/// 1. [`Lookup::poll_request`] until it returns `None`, sending one request per peer;
/// 2. feed back [`Lookup::on_response`] (the closer peers of an answer) or
///    [`Lookup::on_failure`] (refused, reset, undecodable), and call
///    [`Lookup::handle_timeout`] when [`Lookup::poll_timeout`] is reached;
/// 3. repeat until [`Lookup::is_finished`], or call [`Lookup::finish`] once it has what it
///    wanted; then read [`Lookup::closest`].
///
/// # How it ends
///
/// We follow go-libp2p-kad-dht (`query.go`), which most of the network runs. The *lookup
/// phase* keeps up to α requests in flight, always to the closest peer not yet asked, and ends
/// when the β closest peers that have not failed have all answered, or when no peer is left
/// to ask (starvation). The *follow-up* then asks, all at once, every peer among the k closest
/// that was never asked; the peers they return are recorded but not chased. Ending on β keeps
/// the walk short; the follow-up makes the k closest complete.
///
/// Where we differ from go-libp2p, and why:
///
/// - A request outstanding for [`LookupConfig::slow_after`] is *slow*: it no longer takes one
///   of the α slots and no longer holds either phase open, yet its answer is still used if it
///   arrives before the lookup finishes. So a silent peer among the closest costs
///   `slow_after` per phase, not the whole request timeout (py-libp2p #1434 is the failure
///   this avoids: one silent peer hanging every lookup). A silent peer that is the only way
///   forward is still waited for, until its request times out. The threshold stretches to
///   twice the mean answer time seen so far when that is longer, so that a node on a
///   slow link, to which every peer looks slow, still waits for its answers.
/// - Like rust-libp2p, the lookup phase does not ask a peer when k nearer peers have answered:
///   it could not make the result, and asking it while a silent peer holds the lookup open
///   would only cost requests.
/// - When a peer of the follow-up fails or goes slow, the nearest peer known but not asked
///   when the follow-up began takes its place, so that dead or made-up peers returned by
///   others do not push live ones out of the k closest. The follow-up lasts at most one
///   request timeout.
///
/// # Bounds
///
/// - At most [`LookupConfig::max_peers`] peers are known at once. When full, a newly heard
///   peer takes the place of the farthest peer not yet asked, or is dropped if it is farther.
///   Peers once asked are never dropped, so no peer is asked twice and the lookup sends at
///   most `max_peers` requests: it always terminates, whatever peers answer.
/// - At most [`LookupConfig::max_peers_per_response`] peers are taken from one answer, in the
///   order given: an honest peer returns k, a lying one cannot make us hash thousands.
/// - Requests in flight: α fresh ones in the lookup phase, plus slow ones (at most α per
///   `slow_after`, each gone after `request_timeout`), plus the follow-up's k and their
///   replacements.
///
/// # Example
///
/// ```
/// use std::time::Instant;
///
/// use hyphae_identity::PeerId;
/// use hyphae_kad::{Key, Lookup, LookupConfig};
///
/// // A toy network: `a` knows `b`, `b` knows nobody.
/// let (local, a, b) = (PeerId::random(), PeerId::random(), PeerId::random());
/// let mut now = Instant::now();
/// let target = Key::for_bytes(b"some key");
/// let mut lookup = Lookup::new(&local, target, [a], LookupConfig::default(), now);
/// loop {
///     while let Some(peer) = lookup.poll_request(now) {
///         // Send FIND_NODE (or GET_VALUE, GET_PROVIDERS) to `peer`; here it answers at once.
///         let closer = if peer == a { vec![b] } else { vec![] };
///         lookup.on_response(&peer, closer, now);
///     }
///     if lookup.is_finished() {
///         break;
///     }
///     // Nothing to send: wait for answers, or until the next timer.
///     let Some(wake) = lookup.poll_timeout() else { break };
///     now = wake;
///     lookup.handle_timeout(now);
/// }
/// assert_eq!(lookup.closest().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Lookup {
    target: Key,
    /// Distance of the local peer to the target: it is never taken in, hence never asked.
    local: Distance,
    config: LookupConfig,
    phase: LookupPhase,
    /// Every known peer, nearest first. Distances are unique: one key, one distance.
    candidates: BTreeMap<Distance, Candidate>,
    /// The candidates in [`State::Heard`]: the nearest is asked next, the farthest is dropped
    /// first when room is needed.
    heard: BTreeSet<Distance>,
    /// The candidates in [`State::Waiting`].
    waiting: BTreeSet<Distance>,
    /// The candidates in [`State::Queued`].
    queued: BTreeSet<Distance>,
    /// The peers of the follow-up: the k closest neither failed nor slow when it began, less
    /// those lost since, plus their replacements. It ends when none is queued or fresh.
    follow_up: BTreeSet<Distance>,
    /// Peers heard of but not asked when the follow-up began, beyond its k, nearest first:
    /// each replaces a peer of the follow-up that fails or goes slow.
    reserve: VecDeque<Distance>,
    /// When the follow-up ends at the latest: one request timeout after it began.
    follow_up_deadline: Option<Instant>,
    /// The latest time seen, so that [`Lookup::poll_timeout`] knows which requests are slow.
    now: Instant,
    /// The sum of the times the answers took, for the slow threshold.
    answer_time: Duration,
    stats: LookupStats,
}

impl Lookup {
    /// Starts a lookup for `target` from `seeds` (usually the k closest peers in the routing
    /// table). `local` is never asked, even when a peer returns it.
    pub fn new(
        local: &PeerId,
        target: Key,
        seeds: impl IntoIterator<Item = PeerId>,
        config: LookupConfig,
        now: Instant,
    ) -> Lookup {
        let config = config.clamped();
        let mut lookup = Lookup {
            target,
            local: Key::for_peer(local).distance(&target),
            config,
            phase: LookupPhase::Lookup,
            candidates: BTreeMap::new(),
            heard: BTreeSet::new(),
            waiting: BTreeSet::new(),
            queued: BTreeSet::new(),
            follow_up: BTreeSet::new(),
            reserve: VecDeque::new(),
            follow_up_deadline: None,
            now,
            answer_time: Duration::ZERO,
            stats: LookupStats::default(),
        };
        for seed in seeds {
            lookup.take_in(seed, 0);
        }
        lookup.advance(now);
        lookup
    }

    /// The key this lookup walks towards.
    pub fn target(&self) -> &Key {
        &self.target
    }

    /// Where the lookup is.
    pub fn phase(&self) -> LookupPhase {
        self.phase
    }

    /// Whether the lookup is over: no more requests, answers ignored.
    pub fn is_finished(&self) -> bool {
        self.phase == LookupPhase::Finished
    }

    /// The next peer to ask, if one is due and (in the lookup phase) a slot is free. Call it
    /// until it returns `None` after every event.
    pub fn poll_request(&mut self, now: Instant) -> Option<PeerId> {
        self.advance(now);
        let next = match self.phase {
            LookupPhase::Lookup if self.fresh_requests() < self.config.alpha => {
                let nearest = self.heard.first().copied()?;
                if !self.could_make_the_result(&nearest) {
                    return None;
                }
                self.heard.pop_first()
            }
            LookupPhase::FollowUp => self.queued.pop_first(),
            LookupPhase::Lookup | LookupPhase::Finished => None,
        }?;
        let candidate = self.candidates.get_mut(&next)?;
        candidate.state = State::Waiting { sent: now };
        self.waiting.insert(next);
        self.stats.requests += 1;
        Some(candidate.peer)
    }

    /// `peer` answered with `closer` peers. Ignored unless we asked `peer` and still await
    /// it. In the lookup phase the new peers become candidates; in the follow-up they are
    /// only recorded.
    pub fn on_response(
        &mut self,
        peer: &PeerId,
        closer: impl IntoIterator<Item = PeerId>,
        now: Instant,
    ) {
        let Some(distance) = self.awaited(peer) else {
            return;
        };
        if let Some(State::Waiting { sent }) = self.candidates.get(&distance).map(|c| c.state) {
            self.answer_time += now.saturating_duration_since(sent);
        }
        let depth = self.settle(distance, State::Answered);
        self.stats.answers += 1;
        for next in closer.into_iter().take(self.config.max_peers_per_response) {
            self.take_in(next, depth.saturating_add(1));
        }
        self.advance(now);
    }

    /// The request to `peer` failed: refused, reset, undecodable. Ignored unless awaited.
    pub fn on_failure(&mut self, peer: &PeerId, now: Instant) {
        let Some(distance) = self.awaited(peer) else {
            return;
        };
        self.settle(distance, State::Failed);
        self.stats.failures += 1;
        self.advance(now);
    }

    /// When to call [`Lookup::handle_timeout`]: the next time a request becomes slow or
    /// times out, or the follow-up runs out of time. `None` when nothing is in flight or the
    /// lookup is over.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        let timeout = self.config.request_timeout;
        let threshold = self.slow_threshold().min(timeout);
        let requests =
            self.waiting
                .iter()
                .filter_map(|distance| match self.candidates.get(distance)?.state {
                    State::Waiting { sent } if self.is_slow(sent, self.now) => Some(sent + timeout),
                    State::Waiting { sent } => Some(sent + threshold),
                    _ => None,
                });
        requests.chain(self.follow_up_deadline).min()
    }

    /// Lets time pass: requests outstanding for the request timeout fail, slow ones stop
    /// holding the lookup open.
    pub fn handle_timeout(&mut self, now: Instant) {
        let timeout = self.config.request_timeout;
        let expired: Vec<Distance> = self
            .waiting
            .iter()
            .copied()
            .filter(
                |distance| match self.candidates.get(distance).map(|c| c.state) {
                    Some(State::Waiting { sent }) => now.saturating_duration_since(sent) >= timeout,
                    _ => false,
                },
            )
            .collect();
        for distance in expired {
            self.settle(distance, State::Failed);
            self.stats.timeouts += 1;
        }
        self.advance(now);
    }

    /// Ends the lookup at once: the caller has what it wanted (a quorum of records, enough
    /// providers). Requests still in flight can be dropped.
    pub fn finish(&mut self) {
        if self.phase != LookupPhase::Finished {
            debug!(target = ?self.target, "lookup finished by the caller");
        }
        self.phase = LookupPhase::Finished;
    }

    /// The up-to-k closest peers that answered, nearest first.
    pub fn closest(&self) -> Vec<PeerId> {
        self.candidates
            .values()
            .filter(|candidate| candidate.state == State::Answered)
            .take(self.config.k)
            .map(|candidate| candidate.peer)
            .collect()
    }

    /// The up-to-`n` nearest peers not known to have failed (heard of, asked or answered),
    /// nearest first, with their distances: how near the walk has come so far.
    pub fn nearest_alive(&self, n: usize) -> Vec<(PeerId, Distance)> {
        self.candidates
            .iter()
            .filter(|(_, candidate)| candidate.state != State::Failed)
            .take(n)
            .map(|(distance, candidate)| (candidate.peer, *distance))
            .collect()
    }

    /// What the lookup has done so far.
    pub fn stats(&self) -> LookupStats {
        let hops = self
            .candidates
            .values()
            .find(|candidate| candidate.state == State::Answered)
            .map_or(0, |candidate| candidate.depth.saturating_add(1));
        LookupStats { hops, ..self.stats }
    }

    /// How many peers the lookup holds (bounded by [`LookupConfig::max_peers`]).
    pub fn known_peers(&self) -> usize {
        self.candidates.len()
    }

    /// Takes `peer` in as a candidate of `depth`, unless it is us, already known, or
    /// farther than every peer it could replace when full.
    fn take_in(&mut self, peer: PeerId, depth: u32) {
        let distance = Key::for_peer(&peer).distance(&self.target);
        if distance == self.local || self.candidates.contains_key(&distance) {
            return;
        }
        if self.candidates.len() >= self.config.max_peers {
            // Full: only a peer not yet asked can make room, and only for a nearer one.
            match self.heard.last().copied() {
                Some(farthest) if distance < farthest => {
                    self.heard.remove(&farthest);
                    self.candidates.remove(&farthest);
                }
                _ => return,
            }
        }
        let state = State::Heard;
        self.candidates
            .insert(distance, Candidate { peer, depth, state });
        self.heard.insert(distance);
        self.stats.peers_seen += 1;
    }

    /// The distance of `peer` if we asked it and still await its answer.
    fn awaited(&self, peer: &PeerId) -> Option<Distance> {
        if self.is_finished() {
            return None;
        }
        let distance = Key::for_peer(peer).distance(&self.target);
        let candidate = self.candidates.get(&distance)?;
        let is_awaited =
            matches!(candidate.state, State::Waiting { .. }) && candidate.peer == *peer;
        is_awaited.then_some(distance)
    }

    /// Moves an awaited candidate to `state` (answered or failed); returns its depth.
    fn settle(&mut self, distance: Distance, state: State) -> u32 {
        self.waiting.remove(&distance);
        match self.candidates.get_mut(&distance) {
            Some(candidate) => {
                candidate.state = state;
                candidate.depth
            }
            None => 0,
        }
    }

    /// Whether a request sent at `sent` is slow at `now`.
    fn is_slow(&self, sent: Instant, now: Instant) -> bool {
        now.saturating_duration_since(sent) >= self.slow_threshold()
    }

    /// How long a request may be outstanding before it is slow: `slow_after`, or twice
    /// the mean answer time if longer.
    fn slow_threshold(&self) -> Duration {
        let answers = u32::try_from(self.stats.answers).unwrap_or(u32::MAX);
        let mean = self
            .answer_time
            .checked_div(answers)
            .unwrap_or(Duration::ZERO);
        self.config.slow_after.max(mean.saturating_mul(SLOW_FACTOR))
    }

    /// Whether the peer at `distance` could be among the k closest that answer: fewer than k
    /// nearer peers have answered.
    fn could_make_the_result(&self, distance: &Distance) -> bool {
        let nearer = self
            .candidates
            .range(..distance)
            .filter(|(_, candidate)| candidate.state == State::Answered)
            .count();
        nearer < self.config.k
    }

    /// Requests in flight that are not slow: those that take an α slot.
    fn fresh_requests(&self) -> usize {
        self.waiting
            .iter()
            .filter(|distance| self.is_fresh(distance))
            .count()
    }

    /// Whether the candidate at `distance` awaits an answer and is not slow yet.
    fn is_fresh(&self, distance: &Distance) -> bool {
        matches!(
            self.candidates.get(distance).map(|c| c.state),
            Some(State::Waiting { sent }) if !self.is_slow(sent, self.now)
        )
    }

    /// Moves to the next phase when the current one is over.
    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.phase == LookupPhase::Lookup && self.is_lookup_over() {
            self.start_follow_up(self.now);
        }
        if self.phase == LookupPhase::FollowUp {
            self.replace_lost_members();
        }
        if self.phase == LookupPhase::FollowUp && self.is_follow_up_over() {
            debug!(target = ?self.target, stats = ?self.stats(), "lookup complete");
            self.phase = LookupPhase::Finished;
        }
    }

    /// Starvation (nothing to ask, nothing awaited), or the β closest peers that have not
    /// failed and are not slow have all answered (and there is at least one such peer: with
    /// only slow peers left, we wait for them).
    fn is_lookup_over(&self) -> bool {
        if self.heard.is_empty() && self.waiting.is_empty() {
            return true;
        }
        let mut answered = 0;
        for (distance, candidate) in &self.candidates {
            match candidate.state {
                State::Failed => continue,
                State::Waiting { .. } if !self.is_fresh(distance) => continue,
                State::Answered => answered += 1,
                State::Heard | State::Queued | State::Waiting { .. } => return false,
            }
            if answered == self.config.beta {
                break;
            }
        }
        answered > 0
    }
}
