//! Control messages received: GRAFT and PRUNE (gossipsub-v1.0.md "Control Messages",
//! gossipsub-v1.1.md "PRUNE Backoff and Peer Exchange"), IHAVE and IWANT (v1.1 "Spam
//! Protection Measures") and IDONTWANT (gossipsub-v1.2.md).

use std::collections::HashSet;
use std::hash::Hash;
use std::time::Instant;

use super::Event;
use super::Router;
use crate::{ControlIWant, ControlMessage, ControlPrune, MessageId, PeerInfo, Rpc};

impl<P: Clone + Eq + Hash + Ord> Router<P> {
    /// Handles the control messages of one RPC and sends one merged reply.
    pub(crate) fn handle_control(&mut self, peer: &P, control: ControlMessage, now: Instant) {
        let mut reply = ControlMessage::default();
        for idontwant in control.idontwant {
            self.handle_idontwant(peer, idontwant.message_ids);
        }
        for graft in control.graft {
            self.handle_graft(peer, graft.topic, now, &mut reply);
        }
        for prune in control.prune {
            self.handle_prune(peer, prune, now);
        }
        for ihave in control.ihave {
            self.handle_ihave(peer, &ihave.topic, ihave.message_ids, now, &mut reply);
        }
        let mut wanted = Vec::new();
        for iwant in control.iwant {
            wanted.extend(iwant.message_ids);
        }
        self.handle_iwant(peer, wanted);
        self.send_control(peer, reply);
    }

    /// GRAFT: join `peer` to our mesh unless it is backing off, is not subscribed to the
    /// topic, scores below 0, or the mesh is full and it is inbound (v1.1 "Outbound Mesh Quotas"); otherwise answer PRUNE.
    /// GRAFTs for topics we did not join are ignored, so they cost us no state.
    fn handle_graft(&mut self, peer: &P, topic: String, now: Instant, reply: &mut ControlMessage) {
        let Some(mesh) = self.mesh.get(&topic) else {
            return;
        };
        if mesh.contains(peer) {
            return;
        }
        let Some(state) = self.peers.get(peer) else {
            return;
        };
        let is_outbound = state.is_outbound();
        // A mesh holds only subscribed peers, so that unsubscribing leaves the mesh too.
        let is_subscribed = state.topics.contains(&topic);
        let is_full = mesh.len() >= self.config.mesh_n_high;
        let backing_off = self.backoff.is_backing_off(&topic, peer, now);
        if backing_off {
            // v1.1: a GRAFT during backoff is penalised and the backoff extended.
            self.score.behaviour_penalty(peer, 1);
        }
        let is_negative = self.score_of(peer) < 0.0;
        if backing_off || !is_subscribed || is_negative || (is_full && !is_outbound) {
            let backoff = self.config.prune_backoff;
            self.backoff.add(&topic, peer, backoff, now);
            // Peers are offered only to a well-behaved peer turned away for want of room.
            let with_px = !backing_off && is_subscribed && !is_negative;
            let prune = self.prune_for(peer, topic, backoff, with_px);
            reply.prune.push(prune);
            return;
        }
        if let Some(mesh) = self.mesh.get_mut(&topic) {
            mesh.insert(peer.clone());
        }
        self.score.graft(peer, &topic, now);
    }

    /// PRUNE: leave `peer` out of our mesh and do not graft it again until its backoff ends.
    /// With peer exchange on, the peers it offers are passed on ([`Event::PeerExchange`])
    /// if its score reaches `accept_px_threshold` (v1.1 "PRUNE Backoff and Peer Exchange").
    fn handle_prune(&mut self, peer: &P, mut prune: ControlPrune, now: Instant) {
        if let Some(mesh) = self.mesh.get_mut(&prune.topic)
            && mesh.remove(peer)
        {
            self.score.prune(peer, &prune.topic, now);
        }
        // Backoffs only for topics we joined, so that PRUNEs for made-up topics cost nothing.
        if !self.joined.contains(&prune.topic) {
            return;
        }
        self.backoff
            .apply_prune(&prune.topic, peer, prune.backoff, now);
        let takes_px = self.config.do_px
            && !prune.peers.is_empty()
            && self.score_of(peer) >= self.config.accept_px_threshold;
        if takes_px {
            prune.peers.truncate(self.config.prune_peers);
            self.emit(Event::PeerExchange {
                source: peer.clone(),
                topic: prune.topic,
                peers: prune.peers,
            });
        }
    }

    /// IHAVE: ask by IWANT for the advertised ids we have not seen, within the peer's
    /// per-heartbeat budget, and record the promise. Ignored below the gossip threshold and
    /// for topics we did not join.
    fn handle_ihave(
        &mut self,
        peer: &P,
        topic: &str,
        ids: Vec<MessageId>,
        now: Instant,
        reply: &mut ControlMessage,
    ) {
        if self.score_of(peer) < self.config.gossip_threshold || !self.joined.contains(topic) {
            return;
        }
        if !self.ihave_budget.accept_ihave(peer) {
            return;
        }
        let mut asked: HashSet<&MessageId> = reply
            .iwant
            .iter()
            .flat_map(|iwant| &iwant.message_ids)
            .collect();
        let mut wanted: Vec<MessageId> = Vec::new();
        for id in &ids {
            // An id another peer owes us already is not asked twice (rust-libp2p does
            // likewise); if that peer breaks its promise, later gossip asks again.
            let is_new = !self.seen.contains(id, now) && !self.promises.is_awaited(id);
            if is_new && asked.insert(id) {
                wanted.push(id.clone());
            }
        }
        if wanted.is_empty() {
            return;
        }
        // Shuffled, so that the peer cannot choose which of its ids fall outside the budget.
        self.rng.shuffle(&mut wanted);
        let allowed = self.ihave_budget.reserve_iwant(peer, wanted.len());
        wanted.truncate(allowed);
        if wanted.is_empty() {
            return;
        }
        for id in &wanted {
            self.promises.add(peer, id.clone(), now);
        }
        reply.iwant.push(ControlIWant {
            message_ids: wanted,
        });
    }

    /// IWANT: send the cached messages asked for, each at most `gossip_retransmission` times
    /// per peer. Ignored below the gossip threshold.
    fn handle_iwant(&mut self, peer: &P, ids: Vec<MessageId>) {
        if ids.is_empty() || self.score_of(peer) < self.config.gossip_threshold {
            return;
        }
        let mut messages = Vec::new();
        for id in ids {
            if let Some(message) = self.mcache.get_for_iwant(&id, peer) {
                messages.push(message.clone());
            }
        }
        for message in messages {
            self.send(
                peer,
                Rpc {
                    publish: vec![message],
                    ..Rpc::default()
                },
            );
        }
    }

    /// IDONTWANT: remember the ids for a few heartbeats, from meshsub 1.2 peers only and at
    /// most `max_idontwant_messages` per heartbeat.
    fn handle_idontwant(&mut self, peer: &P, ids: Vec<MessageId>) {
        let max = self.config.max_idontwant_per_peer;
        let max_messages = self.config.max_idontwant_messages;
        let heartbeat = self.heartbeats;
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        if !state.protocol.supports_idontwant() || state.idontwant_messages >= max_messages {
            return;
        }
        state.idontwant_messages += 1;
        for id in ids {
            state.dont_want.insert(id, heartbeat, max);
        }
    }

    /// A PRUNE for `topic` asking `peer` to back off for `backoff` (v1.1 peers only read
    /// the backoff), offering it up to `prune_peers` other peers of the topic when
    /// `with_px` and peer exchange is on (v1.1 "PRUNE Backoff and Peer Exchange").
    pub(crate) fn prune_for(
        &mut self,
        peer: &P,
        topic: String,
        backoff: std::time::Duration,
        with_px: bool,
    ) -> ControlPrune {
        let supports_backoff = self
            .peers
            .get(peer)
            .is_some_and(|state| state.protocol.supports_backoff());
        let peers = if with_px && supports_backoff && self.config.do_px {
            self.exchange_peers(peer, &topic)
        } else {
            Vec::new()
        };
        ControlPrune {
            topic,
            peers,
            backoff: supports_backoff.then_some(backoff.as_secs()),
        }
    }

    /// Up to `prune_peers` gossipsub peers of `topic` other than `pruned`, scoring at least
    /// 0, in random order, as the peer-info function describes them.
    fn exchange_peers(&mut self, pruned: &P, topic: &str) -> Vec<PeerInfo> {
        let Some(describe) = &self.peer_info_of else {
            return Vec::new();
        };
        let mut candidates: Vec<P> = self
            .topic_peers(topic)
            .filter(|candidate| *candidate != pruned)
            .filter(|candidate| self.is_gossipsub(candidate) && self.score_of(candidate) >= 0.0)
            .cloned()
            .collect();
        self.rng.shuffle(&mut candidates);
        candidates
            .iter()
            .filter_map(describe)
            .take(self.config.prune_peers)
            .collect()
    }
}
