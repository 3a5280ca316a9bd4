//! Receiving an RPC: subscriptions (pubsub/README.md "The RPC"), published messages
//! (gossipsub-v1.0.md "Message Processing") and, in control.rs, control messages.

use std::hash::Hash;
use std::time::Instant;

use super::{Event, Router, Validation};
use crate::{
    ControlIDontWant, ControlIHave, ControlMessage, Message, MessageId, RejectReason, Rpc, SubOpts,
};

impl<P: Clone + Eq + Hash + Ord> Router<P> {
    /// Handles an RPC `peer` sent at `now`. RPCs from unknown peers and, per v1.1 "Score
    /// Thresholds", from peers below the graylist threshold are ignored.
    pub fn handle_rpc(&mut self, peer: &P, rpc: Rpc, now: Instant) {
        if !self.peers.contains_key(peer) {
            return;
        }
        if self.score_of(peer) < self.config.graylist_threshold {
            return;
        }
        for subscription in rpc.subscriptions {
            self.handle_subscription(peer, subscription, now);
        }
        for message in rpc.publish {
            self.handle_message(peer, message, now);
        }
        if let Some(control) = rpc.control {
            let is_gossipsub = self
                .peers
                .get(peer)
                .is_some_and(|state| state.protocol.is_gossipsub());
            if is_gossipsub {
                self.handle_control(peer, control, now);
            }
        }
    }

    fn handle_subscription(&mut self, peer: &P, subscription: SubOpts, now: Instant) {
        let max_topics = self.config.max_topics_per_peer;
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        let topic = subscription.topic;
        if subscription.subscribe {
            if state.topics.contains(&topic) || state.topics.len() >= max_topics {
                return;
            }
            state.topics.insert(topic.clone());
            self.topic_peers
                .entry(topic.clone())
                .or_default()
                .insert(peer.clone());
            self.emit(Event::Subscribed {
                peer: peer.clone(),
                topic,
            });
        } else {
            if !state.topics.remove(&topic) {
                return;
            }
            super::remove_from(&mut self.topic_peers, &topic, peer);
            if let Some(mesh) = self.mesh.get_mut(&topic)
                && mesh.remove(peer)
            {
                self.score.prune(peer, &topic, now);
            }
            if let Some(fanout) = self.fanout.get_mut(&topic) {
                fanout.remove(peer);
            }
            self.emit(Event::Unsubscribed {
                peer: peer.clone(),
                topic,
            });
        }
    }

    fn handle_message(&mut self, source: &P, message: Message, now: Instant) {
        // Only topics we joined are delivered; others are not ours to relay.
        if !self.joined.contains(&message.topic) {
            return;
        }
        let id = self.message_id_fn.message_id(&message);
        if !self.seen.insert(id.clone(), now) {
            self.score.duplicate(source, &id, &message.topic, now);
            if self.config.report_duplicates {
                self.emit(Event::Duplicate {
                    source: source.clone(),
                    id,
                    message,
                });
            }
            return;
        }
        // v1.2 "IDONTWANT Message": tell mesh peers before validating, so they skip sending it.
        if self.is_large(&message) {
            self.send_idontwant(source, &message.topic, &id);
        }
        if self.publisher.policy().validate(&message).is_err() {
            let reason = RejectReason::Unauthentic;
            self.score.reject(source, &id, &message.topic, reason, now);
            return;
        }
        self.promises.message_received(&id);
        self.score.validating(&id, now);
        if self.config.async_validation {
            self.await_verdict(source, id, message, now);
            return;
        }
        let verdict = match self.validator.as_mut() {
            Some(validator) => validator(source, &id, &message),
            None => Validation::Accept,
        };
        self.apply_verdict(source, id, message, verdict, now);
    }

    /// Holds a message until the application reports its verdict
    /// ([`Router::report_validation`]); when `max_pending_validations` wait already, it is
    /// dropped unjudged.
    fn await_verdict(&mut self, source: &P, id: MessageId, message: Message, now: Instant) {
        if self.pending.len() >= self.config.max_pending_validations {
            self.unvalidated = self.unvalidated.saturating_add(1);
            let reason = RejectReason::NotValidated;
            self.score.reject(source, &id, &message.topic, reason, now);
            return;
        }
        let deadline = crate::time::saturating_add(now, self.config.validation_timeout);
        self.pending_order.push_back((deadline, id.clone()));
        self.pending.insert(
            id.clone(),
            super::PendingValidation {
                source: source.clone(),
                message: message.clone(),
            },
        );
        self.emit(Event::Validate {
            source: source.clone(),
            id,
            message,
        });
    }

    /// The application judged the message with `id` at `now`: an accepted message is
    /// delivered and forwarded, a rejected one penalises its sender. Returns false if the
    /// message was not waiting (unknown, judged already, or timed out).
    pub fn report_validation(&mut self, id: &MessageId, verdict: Validation, now: Instant) -> bool {
        let Some(pending) = self.pending.remove(id) else {
            return false;
        };
        if !self.peers.contains_key(&pending.source) && verdict == Validation::Accept {
            // The sender left meanwhile: the message is still good for everyone else.
            self.mcache.put(id.clone(), pending.message.clone());
            self.forward(None, id, &pending.message);
            self.emit(Event::Message {
                source: pending.source,
                id: id.clone(),
                message: pending.message,
            });
            return true;
        }
        self.apply_verdict(&pending.source, id.clone(), pending.message, verdict, now);
        true
    }

    /// Verdicts not reported by their deadline count as Ignore, so that a validator that
    /// never answers cannot hold memory.
    pub(crate) fn expire_pending(&mut self, now: Instant) {
        while let Some((deadline, _)) = self.pending_order.front() {
            if *deadline > now {
                break;
            }
            let Some((_, id)) = self.pending_order.pop_front() else {
                break;
            };
            if let Some(pending) = self.pending.remove(&id) {
                self.unvalidated = self.unvalidated.saturating_add(1);
                let (source, topic) = (&pending.source, &pending.message.topic);
                self.score
                    .reject(source, &id, topic, RejectReason::Ignored, now);
            }
        }
    }

    fn apply_verdict(
        &mut self,
        source: &P,
        id: MessageId,
        message: Message,
        verdict: Validation,
        now: Instant,
    ) {
        match verdict {
            Validation::Accept => {}
            Validation::Reject => {
                let reason = RejectReason::Invalid;
                self.score.reject(source, &id, &message.topic, reason, now);
                return;
            }
            Validation::Ignore => {
                let reason = RejectReason::Ignored;
                self.score.reject(source, &id, &message.topic, reason, now);
                return;
            }
        }
        self.score.deliver(source, &id, &message.topic, now);
        self.mcache.put(id.clone(), message.clone());
        self.forward(Some(source), &id, &message);
        self.emit(Event::Message {
            source: source.clone(),
            id,
            message,
        });
    }

    /// Sends IDONTWANT for `id` to our meshsub 1.2 mesh peers of `topic` except `source`.
    fn send_idontwant(&mut self, source: &P, topic: &str, id: &MessageId) {
        let targets: Vec<P> = self
            .mesh_peers(topic)
            .filter(|peer| *peer != source)
            .filter(|peer| {
                self.peers
                    .get(*peer)
                    .is_some_and(|state| state.protocol.supports_idontwant())
            })
            .cloned()
            .collect();
        for peer in targets {
            let control = ControlMessage {
                idontwant: vec![ControlIDontWant {
                    message_ids: vec![id.clone()],
                }],
                ..ControlMessage::default()
            };
            self.send_control(&peer, control);
        }
    }

    /// Sends `message` to our mesh peers of its topic and to floodsub peers subscribed to
    /// it, except `source`, its author and peers that sent IDONTWANT for it (v1.0 "Message
    /// Processing", v1.2 "IDONTWANT Message"). With [`Config::large_message_push_n`], a
    /// large message goes in full to only that many mesh peers, drawn at random, and the
    /// others are told of it at once with an IHAVE.
    ///
    /// [`Config::large_message_push_n`]: super::Config::large_message_push_n
    pub(crate) fn forward(&mut self, source: Option<&P>, id: &MessageId, message: &Message) {
        let topic = &message.topic;
        let author = match (&self.author_of, message.from.as_deref()) {
            (Some(author_of), Some(from)) => author_of(from),
            _ => None,
        };
        let wants = |peer: &P| {
            Some(peer) != source
                && Some(peer) != author.as_ref()
                && self
                    .peers
                    .get(peer)
                    .is_some_and(|state| !state.dont_want.contains(id))
        };
        let mut mesh: Vec<P> = self
            .mesh_peers(topic)
            .filter(|peer| wants(peer))
            .cloned()
            .collect();
        let floodsub: Vec<P> = self
            .topic_peers(topic)
            .filter(|peer| {
                self.peers
                    .get(*peer)
                    .is_some_and(|state| !state.protocol.is_gossipsub())
            })
            .filter(|peer| wants(peer))
            .cloned()
            .collect();
        let lazy = match self.config.large_message_push_n {
            Some(push_n) if self.is_large(message) && mesh.len() > push_n => {
                self.rng.shuffle(&mut mesh);
                mesh.split_off(push_n)
            }
            _ => Vec::new(),
        };
        // Peers take only so many IHAVEs a heartbeat (go and rust-libp2p: 10) and ignore
        // the rest: past half of that (their heartbeats are not ours), the message goes in
        // full instead of announced.
        let budget = (self.config.max_ihave_messages / 2).max(1);
        let (announced, over_budget): (Vec<P>, Vec<P>) = lazy.into_iter().partition(|peer| {
            self.peers
                .get(peer)
                .is_some_and(|state| state.announcements < budget)
        });
        mesh.extend(over_budget);
        mesh.extend(floodsub);
        self.send_message_to(mesh, message);
        for peer in announced {
            if let Some(state) = self.peers.get_mut(&peer) {
                state.announcements += 1;
            }
            let control = ControlMessage {
                ihave: vec![ControlIHave {
                    topic: topic.clone(),
                    message_ids: vec![id.clone()],
                }],
                ..ControlMessage::default()
            };
            self.send_control(&peer, control);
        }
    }

    /// Whether `message` is large enough for IDONTWANT (and lazy push).
    fn is_large(&self, message: &Message) -> bool {
        message
            .data
            .as_ref()
            .is_some_and(|data| data.len() >= self.config.idontwant_message_size_threshold)
    }

    /// Queues `message` once for each of `targets`.
    pub(crate) fn send_message_to(&mut self, targets: Vec<P>, message: &Message) {
        for peer in targets {
            self.send(
                &peer,
                Rpc {
                    publish: vec![message.clone()],
                    ..Rpc::default()
                },
            );
        }
    }
}
