//! The heartbeat (gossipsub-v1.0.md "Heartbeat", gossipsub-v1.1.md "Heartbeat
//! Maintenance"): mesh and fanout maintenance, gossip emission and bookkeeping upkeep.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;
use std::time::Instant;

use super::Router;
use crate::{ControlGraft, ControlIHave, ControlMessage, MessageId};

/// Control messages gathered during one heartbeat, sent as one RPC per peer.
type Outgoing<P> = BTreeMap<P, ControlMessage>;

impl<P: Clone + Eq + Hash + Ord> Router<P> {
    /// Runs the heartbeat at `now`; call it every `heartbeat_interval`
    /// ([`Router::next_heartbeat`]).
    pub fn heartbeat(&mut self, now: Instant) {
        self.heartbeats = self.heartbeats.wrapping_add(1);
        self.ihave_budget.reset();
        for (peer, count) in self.promises.take_broken(now) {
            self.score.broken_promises(&peer, count);
        }
        self.expire_pending(now);
        self.score.heartbeat(now);
        self.seen.expire(now);
        self.backoff.expire(now);
        let (heartbeat, ttl) = (self.heartbeats, self.config.idontwant_heartbeats);
        for state in self.peers.values_mut() {
            state.dont_want.expire(heartbeat, ttl);
            state.idontwant_messages = 0;
            state.announcements = 0;
        }

        let mut outgoing: Outgoing<P> = BTreeMap::new();
        let topics: Vec<String> = self.mesh.keys().cloned().collect();
        for topic in &topics {
            self.maintain_mesh(topic, now, &mut outgoing);
        }
        self.maintain_fanout(now);
        for topic in &topics {
            self.emit_gossip(topic, &mut outgoing);
        }
        let fanout_topics: Vec<String> = self.fanout.keys().cloned().collect();
        for topic in &fanout_topics {
            self.emit_gossip(topic, &mut outgoing);
        }
        for (peer, control) in outgoing {
            self.send_control(&peer, control);
        }
        self.mcache.shift();
    }

    fn maintain_mesh(&mut self, topic: &str, now: Instant, outgoing: &mut Outgoing<P>) {
        let Some(mesh) = self.mesh.get(topic) else {
            return;
        };
        // v1.1: peers with a negative score leave the mesh.
        let negative: Vec<P> = mesh
            .iter()
            .filter(|peer| self.score_of(peer) < 0.0)
            .cloned()
            .collect();
        for peer in negative {
            self.prune_peer(topic, &peer, false, now, outgoing);
        }

        let len = self.mesh_len(topic);
        if len < self.config.mesh_n_low {
            let wanted = self.config.mesh_n - len;
            let picked = self.pick_peers(topic, wanted, |router, peer| {
                router.is_graft_candidate(topic, peer, now)
            });
            for peer in picked {
                self.graft_peer(topic, &peer, now, outgoing);
            }
        }

        if self.mesh_len(topic) > self.config.mesh_n_high {
            self.shrink_mesh(topic, now, outgoing);
        }

        // v1.1 "Outbound Mesh Quotas": keep at least D_out outbound peers.
        let outbound = self.outbound_in_mesh(topic);
        if self.mesh_len(topic) >= self.config.mesh_n_low
            && outbound < self.config.mesh_outbound_min
        {
            let wanted = self.config.mesh_outbound_min - outbound;
            let picked = self.pick_peers(topic, wanted, |router, peer| {
                router.is_graft_candidate(topic, peer, now)
                    && router
                        .peers
                        .get(peer)
                        .is_some_and(|state| state.is_outbound())
            });
            for peer in picked {
                self.graft_peer(topic, &peer, now, outgoing);
            }
        }

        self.graft_opportunistically(topic, now, outgoing);
    }

    /// Prunes an oversized mesh down to `D`, keeping the `D_score` best-scored peers and at
    /// least `D_out` outbound ones, the rest at random (v1.1 "Heartbeat Maintenance").
    fn shrink_mesh(&mut self, topic: &str, now: Instant, outgoing: &mut Outgoing<P>) {
        let mut peers: Vec<P> = self.mesh_peers(topic).cloned().collect();
        self.rng.shuffle(&mut peers);
        let scores: BTreeMap<P, f64> = peers
            .iter()
            .map(|peer| (peer.clone(), self.score_of(peer)))
            .collect();
        // Stable sort: equal scores keep their random order.
        peers.sort_by(|a, b| scores[b].total_cmp(&scores[a]));
        let mut rest = peers.split_off(self.config.mesh_n_score.min(peers.len()));
        self.rng.shuffle(&mut rest);
        let keep_random = self.config.mesh_n - peers.len();
        let mut pruned = rest.split_off(keep_random.min(rest.len()));
        let mut kept = peers;
        let scored = kept.len();
        kept.extend(rest);

        let is_outbound =
            |router: &Router<P>, peer: &P| router.peers.get(peer).is_some_and(|s| s.is_outbound());
        let mut outbound = kept.iter().filter(|peer| is_outbound(self, peer)).count();
        while outbound < self.config.mesh_outbound_min {
            let Some(from) = pruned.iter().position(|peer| is_outbound(self, peer)) else {
                break;
            };
            // Replace the last inbound peer kept at random (not one kept for its score).
            let Some(to) = kept[scored..]
                .iter()
                .rposition(|peer| !is_outbound(self, peer))
                .map(|index| index + scored)
            else {
                break;
            };
            let swapped = std::mem::replace(&mut kept[to], pruned.remove(from));
            pruned.push(swapped);
            outbound += 1;
        }
        for peer in pruned {
            self.prune_peer(topic, &peer, true, now, outgoing);
        }
    }

    /// v1.1 "Opportunistic Grafting": every `opportunistic_graft_ticks` heartbeats, when the
    /// mesh's median score is below the threshold, graft a few peers scoring above it.
    fn graft_opportunistically(&mut self, topic: &str, now: Instant, outgoing: &mut Outgoing<P>) {
        if !self
            .heartbeats
            .is_multiple_of(self.config.opportunistic_graft_ticks)
            || self.mesh_len(topic) < 2
        {
            return;
        }
        let mut scores: Vec<f64> = self
            .mesh_peers(topic)
            .map(|peer| self.score_of(peer))
            .collect();
        scores.sort_by(f64::total_cmp);
        let median = scores[scores.len() / 2];
        if median >= self.config.opportunistic_graft_threshold {
            return;
        }
        let picked = self.pick_peers(
            topic,
            self.config.opportunistic_graft_peers,
            |router, peer| {
                router.is_graft_candidate(topic, peer, now) && router.score_of(peer) > median
            },
        );
        for peer in picked {
            self.graft_peer(topic, &peer, now, outgoing);
        }
    }

    /// Drops expired fanouts and keeps the others at `D` peers above the publish threshold.
    fn maintain_fanout(&mut self, now: Instant) {
        let ttl = self.config.fanout_ttl;
        let expired: Vec<String> = self
            .fanout_last_publish
            .iter()
            .filter(|(_, last)| crate::time::saturating_add(**last, ttl) <= now)
            .map(|(topic, _)| topic.clone())
            .collect();
        for topic in expired {
            self.fanout.remove(&topic);
            self.fanout_last_publish.remove(&topic);
        }
        let threshold = self.config.publish_threshold;
        let topics: Vec<String> = self.fanout.keys().cloned().collect();
        for topic in topics {
            let Some(fanout) = self.fanout.get(&topic) else {
                continue;
            };
            let keep: BTreeSet<P> = fanout
                .iter()
                .filter(|peer| {
                    self.peers
                        .get(*peer)
                        .is_some_and(|state| state.topics.contains(&topic))
                        && self.score_of(peer) >= threshold
                })
                .cloned()
                .collect();
            let wanted = self.config.mesh_n.saturating_sub(keep.len());
            let more = self.pick_peers(&topic, wanted, |router, peer| {
                !keep.contains(peer)
                    && router.is_gossipsub(peer)
                    && router.score_of(peer) >= threshold
            });
            let mut fanout = keep;
            fanout.extend(more);
            self.fanout.insert(topic, fanout);
        }
    }

    /// IHAVE with the recent ids of `topic` to `max(D_lazy, gossip_factor * eligible)` peers
    /// outside its mesh and fanout, scoring at least the gossip threshold (v1.1 "Adaptive
    /// Gossip Dissemination").
    fn emit_gossip(&mut self, topic: &str, outgoing: &mut Outgoing<P>) {
        let mut ids: Vec<MessageId> = self.mcache.get_gossip_ids(topic);
        if ids.is_empty() {
            return;
        }
        if ids.len() > self.config.max_ihave_length {
            self.rng.shuffle(&mut ids);
            ids.truncate(self.config.max_ihave_length);
        }
        let threshold = self.config.gossip_threshold;
        let mut candidates: Vec<P> = self
            .topic_peers(topic)
            .filter(|peer| {
                !self
                    .mesh
                    .get(topic)
                    .is_some_and(|mesh| mesh.contains(*peer))
                    && !self
                        .fanout
                        .get(topic)
                        .is_some_and(|fanout| fanout.contains(*peer))
                    && self.is_gossipsub(peer)
                    && self.score_of(peer) >= threshold
            })
            .cloned()
            .collect();
        let by_factor = (self.config.gossip_factor * candidates.len() as f64) as usize;
        let count = self.config.gossip_lazy.max(by_factor);
        self.rng.shuffle(&mut candidates);
        candidates.truncate(count);
        for peer in candidates {
            // Ids the peer told us by IDONTWANT it has are not advertised to it.
            let message_ids: Vec<MessageId> = match self.peers.get(&peer) {
                Some(state) => ids
                    .iter()
                    .filter(|id| !state.dont_want.contains(id))
                    .cloned()
                    .collect(),
                None => continue,
            };
            if message_ids.is_empty() {
                continue;
            }
            outgoing.entry(peer).or_default().ihave.push(ControlIHave {
                topic: topic.to_owned(),
                message_ids,
            });
        }
    }

    fn is_graft_candidate(&self, topic: &str, peer: &P, now: Instant) -> bool {
        !self.mesh.get(topic).is_some_and(|mesh| mesh.contains(peer))
            && self.is_gossipsub(peer)
            && self.backoff.can_graft(topic, peer, now)
            && self.score_of(peer) >= 0.0
    }

    fn graft_peer(&mut self, topic: &str, peer: &P, now: Instant, outgoing: &mut Outgoing<P>) {
        self.graft(peer, topic, now);
        outgoing
            .entry(peer.clone())
            .or_default()
            .graft
            .push(ControlGraft {
                topic: topic.to_owned(),
            });
    }

    /// Prunes `peer` from `topic`'s mesh, offering it other peers (`with_px`) when it is
    /// pruned for room, not for its score.
    fn prune_peer(
        &mut self,
        topic: &str,
        peer: &P,
        with_px: bool,
        now: Instant,
        outgoing: &mut Outgoing<P>,
    ) {
        if let Some(mesh) = self.mesh.get_mut(topic)
            && mesh.remove(peer)
        {
            self.score.prune(peer, topic, now);
        }
        self.backoff
            .add(topic, peer, self.config.prune_backoff, now);
        let backoff = self.config.prune_backoff;
        let prune = self.prune_for(peer, topic.to_owned(), backoff, with_px);
        outgoing.entry(peer.clone()).or_default().prune.push(prune);
    }

    fn mesh_len(&self, topic: &str) -> usize {
        self.mesh.get(topic).map_or(0, |mesh| mesh.len())
    }

    fn outbound_in_mesh(&self, topic: &str) -> usize {
        self.mesh_peers(topic)
            .filter(|peer| {
                self.peers
                    .get(*peer)
                    .is_some_and(|state| state.is_outbound())
            })
            .count()
    }
}
