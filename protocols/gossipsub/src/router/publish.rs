//! Our own actions: publishing (gossipsub-v1.0.md "Message Processing", v1.1 "Flood
//! Publishing"), joining and leaving topics (v1.0 "Topic Membership").

use std::collections::BTreeSet;
use std::hash::Hash;
use std::time::Instant;

use bytes::Bytes;

use super::Router;
use crate::{ControlGraft, ControlMessage, MessageId, Rpc, SubOpts};

/// Why a publication failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Signing the message failed.
    #[error("signing failed: {0}")]
    Signing(#[source] crate::Error),
    /// The encoded message is larger than `max_transmit_size`.
    #[error("message of {size} bytes exceeds max_transmit_size {max}")]
    TooLarge {
        /// Its encoded size.
        size: usize,
        /// The configured bound.
        max: usize,
    },
    /// The same message (by id) was published or received recently.
    #[error("duplicate message")]
    Duplicate,
    /// No peer to send it to.
    #[error("no peers to publish to")]
    NoPeers,
    /// The gossipsub service has stopped.
    #[error("the gossipsub service has stopped")]
    Stopped,
}

impl<P: Clone + Eq + Hash + Ord> Router<P> {
    /// Publishes `data` to `topic` at `now` and returns the message's id.
    ///
    /// With flood publishing, to every subscribed peer scoring at least the publish
    /// threshold; otherwise to our mesh if we joined the topic, else to its fanout. The
    /// message is cached for gossip either way once it has a recipient.
    pub fn publish(
        &mut self,
        topic: &str,
        data: impl Into<Bytes>,
        now: Instant,
    ) -> Result<MessageId, PublishError> {
        let message = self
            .publisher
            .build_message(topic, data)
            .map_err(PublishError::Signing)?;
        let size = Rpc {
            publish: vec![message.clone()],
            ..Rpc::default()
        }
        .encoded_len();
        if size > self.config.max_transmit_size {
            return Err(PublishError::TooLarge {
                size,
                max: self.config.max_transmit_size,
            });
        }
        let id = self.message_id_fn.message_id(&message);
        if self.seen.contains(&id, now) {
            return Err(PublishError::Duplicate);
        }
        let recipients = self.publish_recipients(topic, now);
        if recipients.is_empty() {
            return Err(PublishError::NoPeers);
        }
        self.seen.insert(id.clone(), now);
        self.mcache.put(id.clone(), message.clone());
        self.send_message_to(recipients.into_iter().collect(), &message);
        Ok(id)
    }

    fn publish_recipients(&mut self, topic: &str, now: Instant) -> BTreeSet<P> {
        let threshold = self.config.publish_threshold;
        let floodsub: BTreeSet<P> = self
            .topic_peers(topic)
            .filter(|peer| {
                self.peers
                    .get(*peer)
                    .is_some_and(|state| !state.protocol.is_gossipsub())
            })
            .filter(|peer| self.score_of(peer) >= threshold)
            .cloned()
            .collect();
        let mut recipients: BTreeSet<P> = if self.config.flood_publish {
            self.topic_peers(topic)
                .filter(|peer| self.score_of(peer) >= threshold)
                .cloned()
                .collect()
        } else if self.joined.contains(topic) {
            self.mesh_peers(topic).cloned().collect()
        } else {
            if !self.fanout.contains_key(topic) {
                let peers = self.pick_peers(topic, self.config.mesh_n, |router, peer| {
                    router.is_gossipsub(peer) && router.score_of(peer) >= threshold
                });
                self.fanout
                    .insert(topic.to_owned(), peers.into_iter().collect());
            }
            self.fanout_peers(topic).cloned().collect()
        };
        if !self.joined.contains(topic) {
            self.fanout_last_publish.insert(topic.to_owned(), now);
            self.fanout.entry(topic.to_owned()).or_default();
        }
        recipients.extend(floodsub);
        recipients
    }

    /// Joins `topic`: announces the subscription and builds a mesh of up to `D` peers,
    /// first from the topic's fanout, then from other subscribed peers not backing off.
    pub fn join(&mut self, topic: &str, now: Instant) {
        if !self.joined.insert(topic.to_owned()) {
            return;
        }
        self.announce(topic, true);
        let mut mesh: BTreeSet<P> = BTreeSet::new();
        if let Some(fanout) = self.fanout.remove(topic) {
            mesh.extend(
                fanout
                    .into_iter()
                    .filter(|peer| self.score_of(peer) >= 0.0)
                    .take(self.config.mesh_n),
            );
        }
        self.fanout_last_publish.remove(topic);
        let missing = self.config.mesh_n.saturating_sub(mesh.len());
        let more = self.pick_peers(topic, missing, |router, peer| {
            !mesh.contains(peer)
                && router.is_gossipsub(peer)
                && router.backoff.can_graft(topic, peer, now)
                && router.score_of(peer) >= 0.0
        });
        mesh.extend(more);
        self.mesh.insert(topic.to_owned(), BTreeSet::new());
        for peer in mesh {
            self.graft(&peer, topic, now);
            self.send_control(
                &peer,
                ControlMessage {
                    graft: vec![ControlGraft {
                        topic: topic.to_owned(),
                    }],
                    ..ControlMessage::default()
                },
            );
        }
    }

    /// Leaves `topic`: announces it, and prunes every mesh peer asking for the short
    /// unsubscribe backoff (v1.1 "Overview of New Parameters"), which we keep too.
    pub fn leave(&mut self, topic: &str, now: Instant) {
        if !self.joined.remove(topic) {
            return;
        }
        self.announce(topic, false);
        let mesh = self.mesh.remove(topic).unwrap_or_default();
        let backoff = self.config.unsubscribe_backoff;
        for peer in mesh {
            self.score.prune(&peer, topic, now);
            self.backoff.add(topic, &peer, backoff, now);
            let prune = self.prune_for(&peer, topic.to_owned(), backoff, false);
            self.send_control(
                &peer,
                ControlMessage {
                    prune: vec![prune],
                    ..ControlMessage::default()
                },
            );
        }
    }

    /// Tells every peer we (un)subscribed to `topic`.
    fn announce(&mut self, topic: &str, subscribe: bool) {
        let peers: Vec<P> = self.peers.keys().cloned().collect();
        for peer in peers {
            self.send(
                &peer,
                Rpc {
                    subscriptions: vec![SubOpts {
                        subscribe,
                        topic: topic.to_owned(),
                    }],
                    ..Rpc::default()
                },
            );
        }
    }

    /// Adds `peer` to our mesh of `topic` and tells the score source.
    pub(crate) fn graft(&mut self, peer: &P, topic: &str, now: Instant) {
        if let Some(mesh) = self.mesh.get_mut(topic)
            && mesh.insert(peer.clone())
        {
            self.score.graft(peer, topic, now);
        }
    }

    pub(crate) fn is_gossipsub(&self, peer: &P) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|state| state.protocol.is_gossipsub())
    }

    /// Up to `count` random peers subscribed to `topic` for which `accept` holds.
    pub(crate) fn pick_peers(
        &mut self,
        topic: &str,
        count: usize,
        accept: impl Fn(&Router<P>, &P) -> bool,
    ) -> Vec<P> {
        if count == 0 {
            return Vec::new();
        }
        let mut candidates: Vec<P> = self
            .topic_peers(topic)
            .filter(|peer| accept(self, peer))
            .cloned()
            .collect();
        self.rng.shuffle(&mut candidates);
        candidates.truncate(count);
        candidates
    }
}
