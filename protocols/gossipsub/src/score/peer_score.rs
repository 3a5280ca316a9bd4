//! The score of every known peer, kept up to date from the router's events
//! (gossipsub-v1.1.md, "Peer Scoring").

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Instant;

use super::deliveries::{DeliveryRecords, DeliveryStatus, MAX_DELIVERY_RECORDS};
use super::error::ScoreParamsError;
use super::params::{PeerScoreParams, TopicScoreParams};
use super::peer_stats::{PeerStats, TopicStats};
use crate::MessageId;
use crate::time::saturating_add;

/// Why a message was not accepted, which decides who, if anyone, is penalised (P₄).
///
/// The spec's extended validators (gossipsub-v1.1.md, "Extended Validators") distinguish
/// reject, which penalises, from ignore, which does not; the other reasons are the router's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The validator rejected the message: the sender, every peer that forwarded it while
    /// it was validated, and every peer that forwards it later are penalised.
    Invalid,
    /// The message failed a check made before its id can be trusted (signature missing or
    /// wrong, malformed seqno, our own message echoed back): only the sender is penalised,
    /// and nothing is recorded under the id, which an attacker could have chosen to smear
    /// honest forwarders of the real message.
    Unauthentic,
    /// The validator ignored the message: no one is penalised, nor credited for copies.
    Ignored,
    /// The router found the message a duplicate while validating it: not a fault; its
    /// copies count through [`PeerScore::duplicate_message`].
    Duplicate,
    /// The message was not validated, for a local reason (validation queue full,
    /// throttled, sender or author blocklisted): nothing is recorded.
    NotValidated,
}

/// Peer scores (gossipsub-v1.1.md, "Peer Scoring"), sans-IO: the router reports events as
/// they happen, with the time, and asks for scores; it calls
/// [`refresh_scores`](PeerScore::refresh_scores) by [`poll_timeout`](PeerScore::poll_timeout)
/// to decay the counters.
///
/// Bounds: stats are kept for peers added with [`add_peer`](PeerScore::add_peer) only, and
/// per topic only for the topics in the parameters; a disconnected peer with a non-positive
/// score is kept for `retain_score`, so that reconnecting does not clear its penalties.
/// At most [`MAX_RETAINED_PEERS`](PeerScore::MAX_RETAINED_PEERS) are retained at once:
/// beyond it, the one whose time ends first is forgotten early, so that peers cycling
/// through fresh ids cannot grow the table for `retain_score`. Delivery records last
/// `seen_msg_ttl`, and at most [`MAX_SEEN_MESSAGES`] are kept.
///
/// ```
/// use std::time::Instant;
/// use hyphae_gossipsub::{MessageId, PeerScore, PeerScoreParams, RejectReason, TopicScoreParams};
///
/// let mut params = PeerScoreParams::default();
/// params.topics.insert("blocks".into(), TopicScoreParams::default());
/// let start = Instant::now();
/// let mut scores = PeerScore::new(params, start)?;
/// scores.add_peer("alice");
///
/// // Alice sends a message the validator rejects: P₄ makes her score negative.
/// let id = MessageId::new(b"msg-1".to_vec());
/// scores.validate_message(start, &id);
/// scores.reject_message(start, &"alice", &id, "blocks", RejectReason::Invalid);
/// let penalised = scores.score(&"alice");
/// assert!(penalised < 0.0);
///
/// // The penalty decays at each decay interval.
/// scores.refresh_scores(scores.poll_timeout());
/// assert!(penalised < scores.score(&"alice"));
/// # Ok::<(), hyphae_gossipsub::ScoreParamsError>(())
/// ```
///
/// [`MAX_SEEN_MESSAGES`]: crate::params::MAX_SEEN_MESSAGES
#[derive(Debug, Clone)]
pub struct PeerScore<P> {
    params: PeerScoreParams,
    peers: HashMap<P, PeerStats>,
    /// Known peers by the IPs of their connections, for P₆.
    peers_by_ip: HashMap<IpAddr, HashSet<P>>,
    deliveries: DeliveryRecords<P>,
    next_decay: Instant,
    /// Peers in `peers` that are disconnected, kept for `retain_score`.
    retained: usize,
}

impl<P: Eq + Hash + Clone> PeerScore<P> {
    /// Most disconnected peers whose stats are retained at once.
    ///
    /// A retained peer costs a few hundred bytes (more with many topics); 20 000 is an hour
    /// of a new penalised peer every 0.18 s under the default `retain_score`, a few MB.
    pub const MAX_RETAINED_PEERS: usize = 20_000;

    /// Scores with `params`, which must pass [`PeerScoreParams::validate`]; the first decay
    /// is due one `decay_interval` after `now`.
    pub fn new(params: PeerScoreParams, now: Instant) -> Result<PeerScore<P>, ScoreParamsError> {
        params.validate()?;
        Ok(PeerScore {
            deliveries: DeliveryRecords::new(params.seen_msg_ttl, MAX_DELIVERY_RECORDS),
            next_decay: saturating_add(now, params.decay_interval),
            params,
            peers: HashMap::new(),
            peers_by_ip: HashMap::new(),
            retained: 0,
        })
    }

    /// The parameters in use.
    pub fn params(&self) -> &PeerScoreParams {
        &self.params
    }

    /// `peer`'s score; 0 for a peer we know nothing of (gossipsub-v1.1.md, "The Score
    /// Function"):
    /// TopicCap(Σ tᵢ·(w₁P₁ + w₂P₂ + w₃P₃ + w₃bP₃b + w₄P₄)) + w₅P₅ + w₆P₆ + w₇P₇.
    pub fn score(&self, peer: &P) -> f64 {
        let Some(stats) = self.peers.get(peer) else {
            return 0.0;
        };
        let score = stats.score_without_colocation(&self.params) + self.colocation_score(stats);
        // Huge application scores could otherwise sum past f64's range.
        score.clamp(-f64::MAX, f64::MAX)
    }

    /// w₆P₆: for each of the peer's IPs outside the whitelist shared by more than the
    /// threshold of known peers, the square of the surplus.
    fn colocation_score(&self, stats: &PeerStats) -> f64 {
        let params = &self.params;
        let threshold = params.ip_colocation_factor_threshold as f64;
        let mut score = 0.0;
        for ip in &stats.ips {
            let is_whitelisted = params
                .ip_colocation_factor_whitelist
                .iter()
                .any(|network| network.contains(*ip));
            if is_whitelisted {
                continue;
            }
            let sharing = self.peers_by_ip.get(ip).map_or(0, HashSet::len) as f64;
            if sharing > threshold {
                let surplus = sharing - threshold;
                score += surplus * surplus * params.ip_colocation_factor_weight;
            }
        }
        score
    }

    /// Starts scoring `peer`, now connected. A peer retained since it disconnected gets
    /// its stats back, penalties included.
    pub fn add_peer(&mut self, peer: P) {
        let stats = self.peers.entry(peer).or_insert_with(|| PeerStats {
            is_connected: true,
            ..PeerStats::default()
        });
        if !stats.is_connected {
            stats.is_connected = true;
            stats.expires = None;
            self.retained = self.retained.saturating_sub(1);
        }
    }

    /// `peer` disconnected at `now`. A peer with a positive score is forgotten; any other
    /// is kept, frozen, for `retain_score` (if not zero), so that reconnecting does not clear its
    /// penalties. Leaving with a delivery deficit in a mesh counts as a prune (P₃b), and
    /// first deliveries (P₂) are dropped, so that a retained peer keeps no credit. A peer
    /// already retained keeps its original expiry.
    pub fn remove_peer(&mut self, now: Instant, peer: &P) {
        if !self.peers.get(peer).is_some_and(|stats| stats.is_connected) {
            return;
        }
        // Retaining only non-positive scores, as go does, leaves nothing to gain by
        // disconnecting; a zero retain_score retains nothing.
        if self.score(peer) > 0.0 || self.params.retain_score.is_zero() {
            self.forget_peer(peer);
            return;
        }
        let retain_until = saturating_add(now, self.params.retain_score);
        let Some(stats) = self.peers.get_mut(peer) else {
            return;
        };
        for (topic, topic_stats) in &mut stats.topics {
            topic_stats.first_message_deliveries = 0.0;
            if let Some(topic_params) = self.params.topics.get(topic) {
                topic_stats.leave_mesh(topic_params);
            }
        }
        stats.is_connected = false;
        stats.expires = Some(retain_until);
        self.retained += 1;
        if self.retained > Self::MAX_RETAINED_PEERS {
            self.forget_first_expiring();
        }
    }

    /// Forgets the retained peer whose time ends first; a linear scan, made only when the
    /// table is full.
    fn forget_first_expiring(&mut self) {
        let first = self
            .peers
            .iter()
            .filter_map(|(peer, stats)| stats.expires.map(|expires| (expires, peer)))
            .min_by_key(|(expires, _)| *expires)
            .map(|(_, peer)| peer.clone());
        if let Some(peer) = first {
            self.forget_peer(&peer);
        }
    }

    /// Sets the IPs of `peer`'s connections, for P₆ (colocation); the router calls it when
    /// the peer connects and when its connections change. Unknown peers are ignored.
    ///
    /// A retained peer keeps counting on its IPs until it is forgotten, so that peers
    /// cycling through ids on one IP do not escape P₆.
    pub fn set_peer_ips(&mut self, peer: &P, ips: impl IntoIterator<Item = IpAddr>) {
        let Some(stats) = self.peers.get_mut(peer) else {
            return;
        };
        let mut new_ips: Vec<IpAddr> = ips.into_iter().collect();
        new_ips.sort_unstable();
        new_ips.dedup();
        let old_ips = std::mem::replace(&mut stats.ips, new_ips.clone());
        unmark_ips(&mut self.peers_by_ip, peer, &old_ips);
        for ip in new_ips {
            self.peers_by_ip.entry(ip).or_default().insert(peer.clone());
        }
    }

    /// We grafted `peer` onto `topic`'s mesh at `now`, or it grafted itself: time in mesh
    /// (P₁) starts, and P₃ applies once the activation time has passed.
    pub fn graft(&mut self, now: Instant, peer: &P, topic: &str) {
        if let Some((stats, _)) = self.topic_stats(peer, topic) {
            stats.grafted_at = Some(now);
            stats.mesh_time = Default::default();
            stats.is_mesh_delivery_active = false;
        }
    }

    /// `peer` left `topic`'s mesh: a delivery deficit it has then becomes the sticky mesh
    /// failure penalty (P₃b).
    pub fn prune(&mut self, peer: &P, topic: &str) {
        if let Some((stats, params)) = self.topic_stats(peer, topic)
            && stats.is_in_mesh()
        {
            stats.leave_mesh(params);
        }
    }

    /// A message with `id` arrived at `now` for the first time and goes to validation;
    /// copies arriving meanwhile are judged by its verdict.
    pub fn validate_message(&mut self, now: Instant, id: &MessageId) {
        self.deliveries.record(id, now);
    }

    /// The message with `id`, first received from `from`, is valid: `from` earns a first
    /// delivery (P₂, and P₃ if in the mesh), and mesh peers that forwarded copies while it
    /// was validated earn a mesh delivery (P₃).
    pub fn deliver_message(&mut self, now: Instant, from: &P, id: &MessageId, topic: &str) {
        let record = self.deliveries.record(id, now);
        if record.status != DeliveryStatus::Unknown {
            return;
        }
        record.status = DeliveryStatus::Valid(now);
        let forwarders: Vec<P> = record.peers.iter().cloned().collect();
        if let Some((stats, params)) = self.topic_stats(from, topic) {
            stats.add_first_delivery(params);
        }
        for peer in forwarders.iter().filter(|peer| *peer != from) {
            if let Some((stats, params)) = self.topic_stats(peer, topic) {
                stats.add_mesh_delivery(params);
            }
        }
    }

    /// The message with `id`, first received from `from`, was not accepted: who is
    /// penalised (P₄) depends on `reason`.
    pub fn reject_message(
        &mut self,
        now: Instant,
        from: &P,
        id: &MessageId,
        topic: &str,
        reason: RejectReason,
    ) {
        match reason {
            RejectReason::Unauthentic => {
                self.add_invalid_delivery(from, topic);
                return;
            }
            RejectReason::Duplicate | RejectReason::NotValidated => return,
            RejectReason::Invalid | RejectReason::Ignored => {}
        }
        let record = self.deliveries.record(id, now);
        if record.status != DeliveryStatus::Unknown {
            return;
        }
        let forwarders = std::mem::take(&mut record.peers);
        if reason == RejectReason::Ignored {
            record.status = DeliveryStatus::Ignored;
            return;
        }
        record.status = DeliveryStatus::Invalid;
        self.add_invalid_delivery(from, topic);
        for peer in forwarders.iter().filter(|peer| *peer != from) {
            self.add_invalid_delivery(peer, topic);
        }
    }

    /// `from` sent at `now` a copy of a message with `id` we already had. While the message
    /// is validated the copy waits for the verdict; once it is valid, a mesh peer earns a
    /// mesh delivery (P₃) if the copy came within `mesh_message_deliveries_window`; once
    /// it is invalid, `from` is penalised (P₄) for every copy, as in go-libp2p-pubsub and
    /// rust-libp2p. A peer is credited at most once per message.
    pub fn duplicate_message(&mut self, now: Instant, from: &P, id: &MessageId, topic: &str) {
        if !self.peers.contains_key(from) {
            return;
        }
        let window = self
            .params
            .topics
            .get(topic)
            .map(|params| params.mesh_message_deliveries_window);
        let record = self.deliveries.record(id, now);
        if record.peers.contains(from) {
            return;
        }
        match record.status {
            DeliveryStatus::Unknown => {
                record.peers.insert(from.clone());
            }
            DeliveryStatus::Valid(validated) => {
                record.peers.insert(from.clone());
                let is_near_first =
                    window.is_some_and(|window| now.saturating_duration_since(validated) <= window);
                if is_near_first && let Some((stats, params)) = self.topic_stats(from, topic) {
                    stats.add_mesh_delivery(params);
                }
            }
            DeliveryStatus::Invalid => self.add_invalid_delivery(from, topic),
            DeliveryStatus::Ignored => {}
        }
    }

    /// Adds `count` to `peer`'s behaviour penalty (P₇), for misbehaviour the router sees:
    /// broken gossip promises, GRAFTs during backoff, and the like.
    pub fn add_penalty(&mut self, peer: &P, count: u32) {
        if let Some(stats) = self.peers.get_mut(peer) {
            stats.behaviour_penalty += f64::from(count);
        }
    }

    /// Sets `peer`'s application-specific score (P₅). Returns false, changing nothing, if
    /// the peer is unknown or `score`, weighted, is not a finite number.
    pub fn set_application_score(&mut self, peer: &P, score: f64) -> bool {
        let is_finite = (score * self.params.app_specific_weight).is_finite();
        match self.peers.get_mut(peer) {
            Some(stats) if is_finite => {
                stats.application_score = score;
                true
            }
            _ => false,
        }
    }

    /// When [`refresh_scores`](PeerScore::refresh_scores) next has work: the next decay.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.next_decay
    }

    /// Decays the counters of connected peers once for each `decay_interval` elapsed by
    /// `now` (counters under `decay_to_zero` become zero), updates their time in mesh (P₁,
    /// P₃ activation), forgets retained peers whose time is over and expired delivery
    /// records. Before [`poll_timeout`](PeerScore::poll_timeout) it only expires records.
    ///
    /// Retained peers do not decay: a penalty lasts as long as the peer stays away.
    pub fn refresh_scores(&mut self, now: Instant) {
        self.deliveries.expire(now);
        if now < self.next_decay {
            return;
        }
        let interval = self.params.decay_interval;
        let late = now.duration_since(self.next_decay);
        let intervals = 1 + late.as_nanos() / interval.as_nanos().max(1);
        let intervals = i32::try_from(intervals).unwrap_or(i32::MAX);
        self.next_decay = saturating_add(
            self.next_decay,
            interval.saturating_mul(u32::try_from(intervals).unwrap_or(u32::MAX)),
        );

        let mut expired = Vec::new();
        for (peer, stats) in &mut self.peers {
            if stats.is_connected {
                stats.refresh(&self.params, intervals, now);
            } else if stats.expires.is_some_and(|expires| expires <= now) {
                expired.push(peer.clone());
            }
        }
        for peer in &expired {
            self.forget_peer(peer);
        }
    }

    /// Whether `peer` has stats, connected or retained.
    pub fn is_known(&self, peer: &P) -> bool {
        self.peers.contains_key(peer)
    }

    /// Peers with stats, connected or retained.
    pub fn known_peers(&self) -> usize {
        self.peers.len()
    }

    fn add_invalid_delivery(&mut self, peer: &P, topic: &str) {
        if let Some((stats, _)) = self.topic_stats(peer, topic) {
            stats.invalid_message_deliveries += 1.0;
        }
    }

    /// `peer`'s stats in `topic`, made on first use, if both the peer is known and the
    /// topic configured.
    fn topic_stats(
        &mut self,
        peer: &P,
        topic: &str,
    ) -> Option<(&mut TopicStats, &TopicScoreParams)> {
        let params = self.params.topics.get(topic)?;
        let stats = self.peers.get_mut(peer)?;
        let topic_stats = stats.topics.entry(topic.to_owned()).or_default();
        Some((topic_stats, params))
    }

    fn forget_peer(&mut self, peer: &P) {
        if let Some(stats) = self.peers.remove(peer) {
            if !stats.is_connected {
                self.retained = self.retained.saturating_sub(1);
            }
            unmark_ips(&mut self.peers_by_ip, peer, &stats.ips);
            self.deliveries.forget_peer(peer);
        }
    }
}

fn unmark_ips<P: Eq + Hash>(
    peers_by_ip: &mut HashMap<IpAddr, HashSet<P>>,
    peer: &P,
    ips: &[IpAddr],
) {
    for ip in ips {
        if let Some(peers) = peers_by_ip.get_mut(ip) {
            peers.remove(peer);
            if peers.is_empty() {
                peers_by_ip.remove(ip);
            }
        }
    }
}
