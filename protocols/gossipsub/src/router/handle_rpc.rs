//! Receiving an RPC: subscriptions (pubsub/README.md "The RPC"), published messages
//! (gossipsub-v1.0.md "Message Processing") and, in control.rs, control messages.

use std::hash::Hash;
use std::time::Instant;

use super::{Event, Router, Validation};
use crate::{ControlIDontWant, ControlMessage, Message, MessageId, Rpc, SubOpts};

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
            return;
        }
        // v1.2 "IDONTWANT Message": tell mesh peers before validating, so they skip sending it.
        let is_large = message
            .data
            .as_ref()
            .is_some_and(|data| data.len() >= self.config.idontwant_message_size_threshold);
        if is_large {
            self.send_idontwant(source, &message.topic, &id);
        }
        if self.publisher.policy().validate(&message).is_err() {
            self.score.reject(source, &id, &message.topic, now);
            return;
        }
        self.promises.message_received(&id);
        let verdict = match self.validator.as_mut() {
            Some(validator) => validator(source, &id, &message),
            None => Validation::Accept,
        };
        match verdict {
            Validation::Accept => {}
            Validation::Reject => {
                self.score.reject(source, &id, &message.topic, now);
                return;
            }
            Validation::Ignore => return,
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
    /// it, except `source` and peers that sent IDONTWANT for it (v1.0 "Message Processing",
    /// v1.2 "IDONTWANT Message").
    pub(crate) fn forward(&mut self, source: Option<&P>, id: &MessageId, message: &Message) {
        let topic = &message.topic;
        let floodsub = self.topic_peers(topic).filter(|peer| {
            self.peers
                .get(*peer)
                .is_some_and(|state| !state.protocol.is_gossipsub())
        });
        let targets: Vec<P> = self
            .mesh_peers(topic)
            .chain(floodsub)
            .filter(|peer| Some(*peer) != source)
            .filter(|peer| {
                self.peers
                    .get(*peer)
                    .is_some_and(|state| !state.dont_want.contains(id))
            })
            .cloned()
            .collect();
        self.send_message_to(targets, message);
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
