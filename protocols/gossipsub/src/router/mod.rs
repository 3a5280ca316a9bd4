//! The gossipsub router as a sans-IO state machine (gossipsub-v1.0.md, -v1.1.md, -v1.2.md).
//!
//! The router is fed peer connections, received RPCs, publications and heartbeats, each with
//! the current time, and is asked for the RPCs to send ([`Router::poll_outbound`]) and the
//! events for the application ([`Router::poll_event`]). It does no I/O, reads no clock and
//! draws randomness from a generator seeded at construction, so a run replays exactly.
//!
//! Each new message that passes the signature policy is judged before it is delivered and
//! forwarded: at once by an optional validator closure ([`Router::set_validator`]), or, with
//! [`Config::async_validation`], later: the router emits [`Event::Validate`] and holds the
//! message (at most [`Config::max_pending_validations`], each for at most
//! [`Config::validation_timeout`], after which it counts as ignored) until the application
//! calls [`Router::report_validation`].
//!
//! Duplicates: IDONTWANT goes to mesh peers on receipt, before validation (v1.2); an id
//! another peer already owes us after its IHAVE is not asked of a second peer; and with
//! [`Config::large_message_push_n`] (off by default) a large message is relayed in full to
//! only a few mesh peers and announced to the rest with an IHAVE, which they answer with
//! IWANT only if they still lack it. That last is hyphae's own policy, built only of what
//! every implementation speaks, and the one that brings the simulator's duplicates below one
//! per message (sim/RESULTS.md).
//!
//! Bounds: per peer, at most [`Config::max_topics_per_peer`] subscriptions,
//! [`Config::max_idontwant_per_peer`] IDONTWANT ids (taken from at most
//! [`Config::max_idontwant_messages`] IDONTWANTs a heartbeat) and
//! [`Config::max_queued_rpcs_per_peer`] queued RPCs (more are dropped and counted); at most
//! [`Config::max_queued_events`] events; the message and seen caches, backoffs, IHAVE budgets
//! and promises keep the bounds of their own types ([`params`](crate::params)). Meshes and
//! fanouts hold only connected peers of topics we joined or published to.
//!
//! Peer exchange is off by default, as in go-libp2p and rust-libp2p: with [`Config::do_px`]
//! a PRUNE for want of room offers other peers ([`Router::set_peer_info_fn`] describes
//! them), and offers from well-scored peers are passed on as [`Event::PeerExchange`] for
//! the driver to dial. Deliberate omissions: direct peers and the v1.3 extensions message.
//!
//! ```
//! use std::time::Instant;
//! use hyphae_gossipsub::{Config, Direction, Event, Protocol, Publisher, Router};
//!
//! let now = Instant::now();
//! let new_router = |seed| Router::<u32>::new(Config::default(), Publisher::anonymous(), seed);
//! let (mut alice, mut bob) = (new_router(1)?, new_router(2)?);
//! alice.add_peer(2, Protocol::MeshsubV1_2, Direction::Outbound);
//! bob.add_peer(1, Protocol::MeshsubV1_2, Direction::Inbound);
//! alice.join("blocks", now);
//! bob.join("blocks", now);
//! // Carry the subscriptions across (a driver writes RPCs to the peers' streams).
//! for _ in 0..2 {
//!     while let Some((_, rpc)) = alice.poll_outbound() {
//!         bob.handle_rpc(&1, rpc, now);
//!     }
//!     while let Some((_, rpc)) = bob.poll_outbound() {
//!         alice.handle_rpc(&2, rpc, now);
//!     }
//! }
//! let id = alice.publish("blocks", &b"hello"[..], now)?;
//! let (to, rpc) = alice.poll_outbound().expect("the message for bob");
//! assert_eq!(to, 2);
//! bob.handle_rpc(&1, rpc, now);
//! let delivered = std::iter::from_fn(|| bob.poll_event())
//!     .any(|event| matches!(event, Event::Message { id: ref got, .. } if *got == id));
//! assert!(delivered);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod control;
mod handle_rpc;
mod heartbeat;
mod outbound;
mod peer;
mod publish;
mod score_source;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::time::Instant;

pub use config::{Config, ConfigError};
pub use publish::PublishError;
pub use score_source::{NoScore, ScoreSource};

use crate::{
    BackoffTable, GossipPromises, IHaveBudget, Message, MessageCache, MessageId, MessageIdFn,
    Publisher, SeenCache, params,
};
use hyphae_core::rng::Rng;
use peer::PeerState;

/// Floodsub's protocol id (pubsub/README.md).
const FLOODSUB_PROTOCOL: &str = "/floodsub/1.0.0";

/// The protocol a peer negotiated on its pubsub stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `/floodsub/1.0.0`: subscriptions and messages only, no mesh, no control.
    Floodsub,
    /// `/meshsub/1.0.0`.
    MeshsubV1_0,
    /// `/meshsub/1.1.0`: PRUNE backoff.
    MeshsubV1_1,
    /// `/meshsub/1.2.0`: IDONTWANT.
    MeshsubV1_2,
}

impl Protocol {
    /// The protocol with this id, as multistream-select negotiated it; `None` for ids the
    /// router does not speak (`/meshsub/1.3.0` needs the extensions message, not sent yet).
    pub fn from_id(id: &str) -> Option<Protocol> {
        match id {
            FLOODSUB_PROTOCOL => Some(Protocol::Floodsub),
            crate::PROTOCOL_V1_0 => Some(Protocol::MeshsubV1_0),
            crate::PROTOCOL_V1_1 => Some(Protocol::MeshsubV1_1),
            crate::PROTOCOL_V1_2 => Some(Protocol::MeshsubV1_2),
            _ => None,
        }
    }

    /// The protocol's id.
    pub fn id(self) -> &'static str {
        match self {
            Protocol::Floodsub => FLOODSUB_PROTOCOL,
            Protocol::MeshsubV1_0 => crate::PROTOCOL_V1_0,
            Protocol::MeshsubV1_1 => crate::PROTOCOL_V1_1,
            Protocol::MeshsubV1_2 => crate::PROTOCOL_V1_2,
        }
    }

    /// Whether the peer speaks gossipsub (takes part in meshes and gossip).
    pub fn is_gossipsub(self) -> bool {
        self != Protocol::Floodsub
    }

    /// Whether the peer understands IDONTWANT (v1.2).
    pub fn supports_idontwant(self) -> bool {
        self >= Protocol::MeshsubV1_2
    }

    /// Whether the peer understands the backoff field of PRUNE (v1.1).
    pub fn supports_backoff(self) -> bool {
        self >= Protocol::MeshsubV1_1
    }
}

/// Which side opened the connection to a peer; outbound peers count for `D_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We dialled the peer.
    Outbound,
    /// The peer dialled us.
    Inbound,
}

/// The application's verdict on a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validation {
    /// Deliver and forward it.
    Accept,
    /// Drop it and penalise the sender.
    Reject,
    /// Drop it without penalty.
    Ignore,
}

/// What the router tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<P> {
    /// A new, valid message of a topic we joined.
    Message {
        /// The peer that sent it to us (not necessarily its author).
        source: P,
        /// Its id under the message-id function.
        id: MessageId,
        /// The message.
        message: Message,
    },
    /// A copy of a message already seen, of a topic we joined; only with
    /// [`Config::report_duplicates`].
    Duplicate {
        /// The peer that sent the copy.
        source: P,
        /// Its id under the message-id function.
        id: MessageId,
        /// The copy.
        message: Message,
    },
    /// A new message awaits the application's verdict ([`Router::report_validation`]);
    /// only with [`Config::async_validation`].
    Validate {
        /// The peer that sent it to us.
        source: P,
        /// Its id under the message-id function.
        id: MessageId,
        /// The message.
        message: Message,
    },
    /// A peer that pruned us offered other peers of a topic (peer exchange, only with
    /// [`Config::do_px`], from peers scoring at least `accept_px_threshold`): the driver
    /// may connect to them. The router itself dials no one.
    PeerExchange {
        /// The peer that pruned us.
        source: P,
        /// The topic.
        topic: String,
        /// The peers offered (at most `prune_peers`), unverified.
        peers: Vec<crate::PeerInfo>,
    },
    /// A peer subscribed to a topic.
    Subscribed {
        /// The peer.
        peer: P,
        /// The topic.
        topic: String,
    },
    /// A peer unsubscribed from a topic.
    Unsubscribed {
        /// The peer.
        peer: P,
        /// The topic.
        topic: String,
    },
}

/// Judges each new message before it is delivered and forwarded.
type Validator<P> = Box<dyn FnMut(&P, &MessageId, &Message) -> Validation + Send>;

/// Describes a peer for peer exchange: its id and, if known, its signed peer record.
type PeerInfoFn<P> = Box<dyn Fn(&P) -> Option<crate::PeerInfo> + Send>;

/// Maps a message's `from` bytes to the peer key of its author.
type AuthorFn<P> = Box<dyn Fn(&[u8]) -> Option<P> + Send>;

/// A message waiting for the application's verdict.
struct PendingValidation<P> {
    source: P,
    message: Message,
}

/// The gossipsub router for peers keyed by `P` (`PeerId` in a node, an integer in a
/// simulation).
pub struct Router<P> {
    config: Config,
    publisher: Publisher,
    message_id_fn: MessageIdFn,
    validator: Option<Validator<P>>,
    author_of: Option<AuthorFn<P>>,
    peer_info_of: Option<PeerInfoFn<P>>,
    score: Box<dyn ScoreSource<P> + Send>,
    rng: Rng,
    /// Connected peers and what we know of each.
    peers: BTreeMap<P, PeerState>,
    /// Topics we joined.
    joined: BTreeSet<String>,
    /// Connected gossipsub and floodsub peers subscribed to each topic.
    topic_peers: BTreeMap<String, BTreeSet<P>>,
    /// Our mesh of each joined topic.
    mesh: BTreeMap<String, BTreeSet<P>>,
    /// Peers we publish to in topics we did not join, and when we last did.
    fanout: BTreeMap<String, BTreeSet<P>>,
    fanout_last_publish: BTreeMap<String, Instant>,
    mcache: MessageCache<P>,
    seen: SeenCache,
    backoff: BackoffTable<P>,
    ihave_budget: IHaveBudget<P>,
    promises: GossipPromises<P>,
    heartbeats: u64,
    /// Messages waiting for a verdict, and their deadlines in order.
    pending: BTreeMap<MessageId, PendingValidation<P>>,
    pending_order: VecDeque<(Instant, MessageId)>,
    /// Messages dropped unjudged: the pending bound was reached or the verdict came late.
    unvalidated: u64,
    outbound: VecDeque<(P, crate::Rpc)>,
    events: VecDeque<Event<P>>,
    dropped_rpcs: u64,
    dropped_events: u64,
}

impl<P> fmt::Debug for Router<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("peers", &self.peers.len())
            .field("joined", &self.joined)
            .field("heartbeats", &self.heartbeats)
            .finish_non_exhaustive()
    }
}

impl<P: Clone + Eq + Hash + Ord> Router<P> {
    /// A router publishing through `publisher`, its random choices drawn from `seed`.
    ///
    /// The message-id function defaults to the one of the publisher's signature policy;
    /// received messages must follow the same policy.
    pub fn new(config: Config, publisher: Publisher, seed: u64) -> Result<Router<P>, ConfigError> {
        config.validate()?;
        let slack = config
            .heartbeat_interval
            .saturating_mul(config.backoff_slack);
        Ok(Router {
            message_id_fn: MessageIdFn::default_for(publisher.policy()),
            publisher,
            validator: None,
            author_of: None,
            peer_info_of: None,
            score: Box::new(NoScore),
            rng: Rng::from_seed(seed),
            peers: BTreeMap::new(),
            joined: BTreeSet::new(),
            topic_peers: BTreeMap::new(),
            mesh: BTreeMap::new(),
            fanout: BTreeMap::new(),
            fanout_last_publish: BTreeMap::new(),
            mcache: MessageCache::new(config.history_length, config.history_gossip)
                .with_gossip_retransmission(config.gossip_retransmission)
                .with_max_messages(params::MAX_CACHED_MESSAGES),
            seen: SeenCache::new(config.seen_ttl, params::MAX_SEEN_MESSAGES),
            backoff: BackoffTable::new(config.prune_backoff, slack),
            ihave_budget: IHaveBudget::new(config.max_ihave_messages, config.max_ihave_length),
            promises: GossipPromises::new(config.iwant_followup_time, config.max_ihave_length),
            heartbeats: 0,
            pending: BTreeMap::new(),
            pending_order: VecDeque::new(),
            unvalidated: 0,
            outbound: VecDeque::new(),
            events: VecDeque::new(),
            dropped_rpcs: 0,
            dropped_events: 0,
            config,
        })
    }

    /// Uses `function` for message ids instead of the policy's default.
    pub fn set_message_id_fn(&mut self, function: MessageIdFn) {
        self.message_id_fn = function;
    }

    /// Judges each new message with `validator` (by default every message that passes the
    /// signature policy is accepted).
    pub fn set_validator(
        &mut self,
        validator: impl FnMut(&P, &MessageId, &Message) -> Validation + Send + 'static,
    ) {
        self.validator = Some(Box::new(validator));
    }

    /// Tells the router which peer wrote a message, from its `from` field (for peer ids:
    /// `PeerId::from_bytes`), so that a message is never forwarded back to its author, as
    /// go-libp2p and rust-libp2p do not (rust-libp2p penalises a peer that echoes a peer's
    /// own message to it).
    pub fn set_author_fn(&mut self, author_of: impl Fn(&[u8]) -> Option<P> + Send + 'static) {
        self.author_of = Some(Box::new(author_of));
    }

    /// Tells the router how to describe a peer in the PRUNEs it sends with peer exchange
    /// ([`Config::do_px`]); without it no peers are offered.
    pub fn set_peer_info_fn(
        &mut self,
        peer_info_of: impl Fn(&P) -> Option<crate::PeerInfo> + Send + 'static,
    ) {
        self.peer_info_of = Some(Box::new(peer_info_of));
    }

    /// Takes scores from `source` and reports peers' behaviour to it.
    pub fn set_score_source(&mut self, source: impl ScoreSource<P> + Send + 'static) {
        self.score = Box::new(source);
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A peer opened a pubsub stream with `protocol` ([`Protocol::from_id`]); we tell it our
    /// subscriptions. A peer already known keeps its first protocol and direction.
    pub fn add_peer(&mut self, peer: P, protocol: Protocol, direction: Direction) {
        if self.peers.contains_key(&peer) {
            return;
        }
        self.peers
            .insert(peer.clone(), PeerState::new(protocol, direction));
        self.score.peer_connected(&peer);
        if !self.joined.is_empty() {
            let subscriptions = self
                .joined
                .iter()
                .map(|topic| crate::SubOpts {
                    subscribe: true,
                    topic: topic.clone(),
                })
                .collect();
            self.send(
                &peer,
                crate::Rpc {
                    subscriptions,
                    ..crate::Rpc::default()
                },
            );
        }
    }

    /// A peer disconnected at `now`: everything held for it is freed, except its backoffs (so that
    /// reconnecting does not reset them) and its open IHAVE promises, which expire by
    /// themselves within `iwant_followup_time`.
    pub fn remove_peer(&mut self, peer: &P, now: Instant) {
        let Some(state) = self.peers.remove(peer) else {
            return;
        };
        self.score.peer_disconnected(peer, now);
        for topic in &state.topics {
            remove_from(&mut self.topic_peers, topic, peer);
        }
        // Meshes and fanouts are of our own topics, so few: sweep them all rather than trust
        // that they only hold subscribed peers.
        for (topic, mesh) in &mut self.mesh {
            if mesh.remove(peer) {
                self.score.prune(peer, topic, now);
            }
        }
        for fanout in self.fanout.values_mut() {
            fanout.remove(peer);
        }
        self.outbound.retain(|(to, _)| to != peer);
    }

    /// The IPs `peer`'s connections come from, for the score's IP colocation factor (P6).
    pub fn set_peer_ips(&mut self, peer: &P, ips: &[std::net::IpAddr]) {
        if self.peers.contains_key(peer) {
            self.score.set_peer_ips(peer, ips);
        }
    }

    /// Penalises `peer` for misbehaviour the driver sees and the router cannot (a peer too
    /// slow to take what we send it): `count` is added to its behaviour penalty (P7).
    pub fn penalize(&mut self, peer: &P, count: usize) {
        if self.peers.contains_key(peer) {
            self.score.behaviour_penalty(peer, count);
        }
    }

    /// `peer`'s score, from the score source (0 without scoring).
    pub fn peer_score(&self, peer: &P) -> f64 {
        self.score_of(peer)
    }

    /// The next RPC to send, and to whom.
    pub fn poll_outbound(&mut self) -> Option<(P, crate::Rpc)> {
        let (peer, rpc) = self.outbound.pop_front()?;
        if let Some(state) = self.peers.get_mut(&peer) {
            state.queued = state.queued.saturating_sub(1);
        }
        Some((peer, rpc))
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    /// When to call [`Router::heartbeat`] next, given the last call was at `last`.
    pub fn next_heartbeat(&self, last: Instant) -> Instant {
        crate::time::saturating_add(last, self.config.heartbeat_interval)
    }

    /// Topics we joined.
    pub fn joined(&self) -> impl Iterator<Item = &str> {
        self.joined.iter().map(String::as_str)
    }

    /// Our mesh peers in `topic`.
    pub fn mesh_peers(&self, topic: &str) -> impl Iterator<Item = &P> {
        self.mesh.get(topic).into_iter().flatten()
    }

    /// Our fanout peers in `topic`.
    pub fn fanout_peers(&self, topic: &str) -> impl Iterator<Item = &P> {
        self.fanout.get(topic).into_iter().flatten()
    }

    /// Connected peers subscribed to `topic`.
    pub fn topic_peers(&self, topic: &str) -> impl Iterator<Item = &P> {
        self.topic_peers.get(topic).into_iter().flatten()
    }

    /// Connected peers.
    pub fn peers(&self) -> impl Iterator<Item = &P> {
        self.peers.keys()
    }

    /// Topics `peer` is subscribed to, as far as we know.
    pub fn peer_topics(&self, peer: &P) -> impl Iterator<Item = &str> {
        self.peers
            .get(peer)
            .into_iter()
            .flat_map(|state| state.topics.iter().map(String::as_str))
    }

    /// IDONTWANT ids held for `peer`.
    pub fn dont_want_len(&self, peer: &P) -> usize {
        self.peers
            .get(peer)
            .map_or(0, |state| state.dont_want.len())
    }

    /// RPCs queued for `peer`.
    pub fn queued_rpcs(&self, peer: &P) -> usize {
        self.peers.get(peer).map_or(0, |state| state.queued)
    }

    /// RPCs dropped because a peer's queue was full.
    pub fn dropped_rpcs(&self) -> u64 {
        self.dropped_rpcs
    }

    /// Events dropped because the application did not poll them.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Messages waiting for a verdict.
    pub fn pending_validations(&self) -> usize {
        self.pending.len()
    }

    /// Messages dropped unjudged: too many waited, or no verdict came in time.
    pub fn unvalidated(&self) -> u64 {
        self.unvalidated
    }

    /// Topics any state (subscriptions, mesh, fanout) is held for.
    pub fn topics_tracked(&self) -> usize {
        self.topic_peers.len() + self.mesh.len() + self.fanout.len()
    }

    fn score_of(&self, peer: &P) -> f64 {
        self.score.score(peer)
    }

    fn emit(&mut self, event: Event<P>) {
        if self.events.len() >= self.config.max_queued_events {
            self.dropped_events += 1;
            return;
        }
        self.events.push_back(event);
    }
}

/// Removes `peer` from `map[topic]`, dropping the set once empty so no topic outlives its
/// last peer.
fn remove_from<P: Ord>(map: &mut BTreeMap<String, BTreeSet<P>>, topic: &str, peer: &P) -> bool {
    let Some(set) = map.get_mut(topic) else {
        return false;
    };
    let removed = set.remove(peer);
    if set.is_empty() {
        map.remove(topic);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_ids_round_trip_and_1_3_is_not_spoken() {
        for protocol in [
            Protocol::Floodsub,
            Protocol::MeshsubV1_0,
            Protocol::MeshsubV1_1,
            Protocol::MeshsubV1_2,
        ] {
            assert_eq!(Protocol::from_id(protocol.id()), Some(protocol));
        }
        assert_eq!(Protocol::from_id(crate::PROTOCOL_V1_3), None);
    }
}
