//! The task that owns the router: it turns connections into pubsub streams, streams' RPCs
//! into router input, router output into the peers' queues and the application's
//! subscriptions, and time into heartbeats.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyphae_core::peer_record::PeerRecord;
use hyphae_identity::PeerId;
use hyphae_service::{
    ConnectionEvent, ConnectionId, ConnectionInfo, Context, Incoming, PeerUpdate, Stream,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::debug;

use super::Validator;
use super::handle::{Command, Delivery, Received, SUBSCRIPTION_BUFFER, Stats, Subscription};
use super::links::{Link, MAX_OPEN_ATTEMPTS, Outbound};
use super::queue::{Class, OutboundQueue, QueueLimits};
use super::split;
use super::streams::{self, StreamEvent};
use crate::{Direction, Event, Limits, MessageId, Protocol, Router, Rpc, Validation, encode_frame};

/// Inbound pubsub streams waiting to be taken, per protocol.
const INBOUND_BACKLOG: usize = 32;
/// RPCs decoded and waiting for the driver; readers wait beyond this.
const STREAM_EVENTS: usize = 256;
/// Connection events buffered before the driver is resynchronised.
const CONNECTION_EVENTS: usize = 1024;
/// Outbound stream attempts finished and waiting for the driver.
const OPENED_QUEUE: usize = 64;
/// Peer-exchange dials in flight at once; offers beyond are ignored (go-libp2p runs 8
/// connectors).
const MAX_PX_DIALS: usize = 8;
/// How long a peer-exchange dial may take.
const PX_DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the reader of a peer whose connections closed may take to read what arrived
/// before the close (it ends as soon as that is read; this bounds a reader kept waiting).
const LEAVING_GRACE: Duration = Duration::from_secs(5);
/// The tag mesh peers carry for the node's connection manager, and its value (above the
/// Kademlia routing table's 5: a mesh link carries traffic all the time).
pub const MESH_TAG: &str = "gossipsub-mesh";
/// See [`MESH_TAG`].
pub const MESH_VALUE: i64 = 20;

/// What the service was configured with besides the router.
pub(crate) struct Setup {
    pub(crate) validator: Option<Arc<dyn Validator>>,
    pub(crate) queue: QueueLimits,
    pub(crate) limits: Limits,
    pub(crate) protocols: Vec<Protocol>,
}

/// A peer whose last connection closed while its inbound stream may still hold RPCs that
/// arrived before the close (a publisher that sends and leaves at once): its reader reads
/// them before the router forgets the peer.
struct Leaving {
    stream: u64,
    reader: AbortHandle,
    since: Instant,
}

/// A finished attempt to open our stream to a peer.
struct Opened {
    peer: PeerId,
    result: Result<Stream, hyphae_service::Error>,
}

pub(crate) struct Driver {
    cx: Context,
    router: Router<PeerId>,
    setup: Setup,
    limits: Limits,
    links: HashMap<PeerId, Link>,
    leaving: HashMap<PeerId, Leaving>,
    subscriptions: BTreeMap<String, Vec<mpsc::Sender<Delivery>>>,
    changes: watch::Sender<u64>,
    stream_events: mpsc::Sender<StreamEvent>,
    opened: mpsc::Sender<Opened>,
    verdicts: mpsc::UnboundedSender<(MessageId, Validation)>,
    next_stream: u64,
    /// Peer-exchange dials in flight.
    px_dials: Arc<AtomicUsize>,
    stats: Stats,
    /// The peers tagged [`MESH_TAG`] for the node's connection manager.
    mesh_tagged: HashSet<PeerId>,
}

/// The receiving ends of the driver's channels, kept apart so that `select!` can borrow
/// them beside the driver.
pub(crate) struct Inputs {
    stream_events: mpsc::Receiver<StreamEvent>,
    opened: mpsc::Receiver<Opened>,
    verdicts: mpsc::UnboundedReceiver<(MessageId, Validation)>,
}

impl Driver {
    pub(crate) fn new(
        cx: Context,
        router: Router<PeerId>,
        setup: Setup,
        changes: watch::Sender<u64>,
    ) -> (Driver, Inputs) {
        let (stream_events, stream_events_rx) = mpsc::channel(STREAM_EVENTS);
        let (opened, opened_rx) = mpsc::channel(OPENED_QUEUE);
        let (verdicts, verdicts_rx) = mpsc::unbounded_channel();
        let limits = setup.limits;
        let driver = Driver {
            cx,
            router,
            setup,
            limits,
            links: HashMap::new(),
            leaving: HashMap::new(),
            subscriptions: BTreeMap::new(),
            changes,
            stream_events,
            opened,
            verdicts,
            next_stream: 0,
            px_dials: Arc::new(AtomicUsize::new(0)),
            stats: Stats::default(),
            mesh_tagged: HashSet::new(),
        };
        let inputs = Inputs {
            stream_events: stream_events_rx,
            opened: opened_rx,
            verdicts: verdicts_rx,
        };
        (driver, inputs)
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>, mut inputs: Inputs) {
        let mut connections = self.cx.connections(CONNECTION_EVENTS);
        let mut inbound = self.accept();
        let mut last_heartbeat = Instant::now();
        loop {
            self.flush(Class::Forward);
            let heartbeat =
                Instant::from_std(self.router.next_heartbeat(last_heartbeat.into_std()));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => return,
                },
                Some(event) = inputs.stream_events.recv() => self.stream_event(event),
                Some(opened) = inputs.opened.recv() => self.opened(opened),
                Some((id, verdict)) = inputs.verdicts.recv() => {
                    self.router.report_validation(&id, verdict, now());
                }
                Some(stream) = inbound.recv() => self.inbound(stream),
                event = connections.next() => match event {
                    Some(event) => self.connection_event(event),
                    None => return,
                },
                () = tokio::time::sleep_until(heartbeat) => {
                    last_heartbeat = Instant::now();
                    self.heartbeat();
                }
            }
        }
    }

    /// Accepts the pubsub protocols, their streams merged into one channel.
    fn accept(&self) -> mpsc::Receiver<Stream> {
        let (sender, receiver) = mpsc::channel(INBOUND_BACKLOG);
        for protocol in &self.setup.protocols {
            let mut incoming: Incoming = self.cx.accept(protocol.id(), INBOUND_BACKLOG);
            let sender = sender.clone();
            self.cx.spawn(async move {
                while let Some(stream) = incoming.next().await {
                    if sender.send(stream).await.is_err() {
                        return;
                    }
                }
            });
        }
        receiver
    }

    fn changed(&self) {
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    fn heartbeat(&mut self) {
        let stalled: Vec<PeerId> = self
            .leaving
            .iter()
            .filter(|(_, leaving)| leaving.since.elapsed() >= LEAVING_GRACE)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in stalled {
            self.forget(peer);
        }
        self.router.heartbeat(now());
        self.tag_mesh_peers();
        // A peer whose queue dropped frames since the last heartbeat is slow (or not
        // reading): it loses score, as misbehaviour does.
        for (peer, link) in &mut self.links {
            let dropped = link.queue.dropped();
            if dropped > link.dropped_seen {
                self.stats.dropped_frames += dropped - link.dropped_seen;
                link.dropped_seen = dropped;
                self.router.penalize(peer, 1);
            }
        }
        // Subscriptions dropped by the application leave their topics.
        let abandoned: Vec<String> = self
            .subscriptions
            .iter_mut()
            .filter_map(|(topic, senders)| {
                senders.retain(|sender| !sender.is_closed());
                senders.is_empty().then(|| topic.clone())
            })
            .collect();
        for topic in abandoned {
            self.leave(&topic);
        }
        self.changed();
    }

    /// Tags the peers of our meshes for the node's connection manager, and untags those
    /// that left them, so that a full node keeps the links its topics rely on.
    fn tag_mesh_peers(&mut self) {
        let mesh: HashSet<PeerId> = self
            .subscriptions
            .keys()
            .flat_map(|topic| self.router.mesh_peers(topic))
            .copied()
            .collect();
        let tags = self.cx.tags();
        for peer in mesh.difference(&self.mesh_tagged) {
            tags.tag(*peer, MESH_TAG, MESH_VALUE);
        }
        for peer in self.mesh_tagged.difference(&mesh) {
            tags.untag(peer, MESH_TAG);
        }
        self.mesh_tagged = mesh;
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Subscribe(topic, reply) => {
                let (sender, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
                let senders = self.subscriptions.entry(topic.clone()).or_default();
                senders.push(sender);
                if senders.len() == 1 {
                    self.router.join(&topic, now());
                    self.changed();
                }
                let _ = reply.send(Subscription::new(topic, receiver));
            }
            Command::Unsubscribe(topic) => self.leave(&topic),
            Command::Publish(topic, data, reply) => {
                let published = self.router.publish(&topic, data, now());
                self.flush(Class::Publish);
                let _ = reply.send(published);
            }
            Command::MeshPeers(topic, reply) => {
                let _ = reply.send(self.router.mesh_peers(&topic).copied().collect());
            }
            Command::TopicPeers(topic, reply) => {
                let _ = reply.send(self.router.topic_peers(&topic).copied().collect());
            }
            Command::Scores(reply) => {
                let scores = self
                    .router
                    .peers()
                    .map(|peer| (*peer, self.router.peer_score(peer)))
                    .collect();
                let _ = reply.send(scores);
            }
            Command::Stats(reply) => self.report_stats(reply),
        }
    }

    fn report_stats(&self, reply: oneshot::Sender<Stats>) {
        let mut stats = self.stats.clone();
        stats.peers = self.router.peers().count();
        stats.topics = self.router.joined().count();
        stats.unvalidated = self.router.unvalidated();
        for link in self.links.values() {
            stats.unsent_bytes += link.queue.unsent_bytes();
            stats.dropped_frames += link.queue.dropped() - link.dropped_seen;
        }
        let _ = reply.send(stats);
    }

    fn leave(&mut self, topic: &str) {
        // Dropping the senders ends the subscriptions.
        if self.subscriptions.remove(topic).is_some() {
            self.router.leave(topic, now());
            self.changed();
        }
    }

    fn stream_event(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Rpc { peer, stream, rpc } => {
                let is_current = self
                    .links
                    .get(&peer)
                    .and_then(|link| link.inbound.as_ref())
                    .is_some_and(|(number, _)| *number == stream)
                    || self.is_leaving_reader(&peer, stream);
                if !is_current {
                    return;
                }
                if let Some(control) = &rpc.rpc.control {
                    let ids: usize = control.idontwant.iter().map(|c| c.message_ids.len()).sum();
                    self.stats.idontwant_received += ids as u64;
                }
                let touches_peers = !rpc.rpc.subscriptions.is_empty() || rpc.rpc.control.is_some();
                self.router.handle_rpc(&peer, rpc.rpc, now());
                if touches_peers {
                    self.changed();
                }
            }
            StreamEvent::InboundClosed {
                peer,
                stream,
                malformed,
            } => {
                if malformed {
                    self.stats.malformed_rpcs += 1;
                }
                if self.is_leaving_reader(&peer, stream) {
                    self.forget(peer);
                    return;
                }
                if let Some(link) = self.links.get_mut(&peer)
                    && link
                        .inbound
                        .as_ref()
                        .is_some_and(|(number, _)| *number == stream)
                {
                    link.inbound = None;
                }
            }
            StreamEvent::OutboundClosed { peer, stream } => {
                let Some(link) = self.links.get_mut(&peer) else {
                    return;
                };
                if let Outbound::Open {
                    stream: open,
                    attempts,
                } = link.outbound
                    && open == stream
                {
                    link.outbound = Outbound::Closed {
                        attempts: attempts + 1,
                    };
                    self.open_outbound(peer);
                }
            }
        }
    }

    /// A peer opened its stream to us: we read it (replacing an older one) and, if the peer
    /// is new to the router, add it.
    fn inbound(&mut self, stream: Stream) {
        let peer = stream.peer();
        let Some(protocol) = Protocol::from_id(stream.protocol()) else {
            return;
        };
        // The stream can come before the connection's event does; if its connection closed
        // meanwhile, it is dropped.
        if !self.ensure_link(peer, stream.connection()) {
            return;
        }
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        if let Some((_, reader)) = link.inbound.take() {
            reader.abort();
        }
        let number = self.next_stream;
        self.next_stream += 1;
        let reader = self.cx.spawn(streams::read(
            stream,
            number,
            self.limits,
            self.stream_events.clone(),
        ));
        link.inbound = Some((number, reader));
        self.add_to_router(peer, protocol);
    }

    fn add_to_router(&mut self, peer: PeerId, protocol: Protocol) {
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        if link.protocol.is_some() {
            return;
        }
        link.protocol = Some(protocol);
        let direction = match link.connections.first().map(|info| info.direction) {
            Some(hyphae_service::Direction::Outbound) => Direction::Outbound,
            _ => Direction::Inbound,
        };
        let ips = link.ips();
        self.router.add_peer(peer, protocol, direction);
        self.router.set_peer_ips(&peer, &ips);
        self.changed();
    }

    fn opened(&mut self, opened: Opened) {
        let Opened { peer, result } = opened;
        if let Ok(stream) = &result {
            // A stream a peer-exchange dial opened can come before its connection's event.
            self.ensure_link(peer, stream.connection());
        }
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        let attempts = match link.outbound {
            Outbound::Opening { attempts } | Outbound::Closed { attempts } => attempts,
            // One stream is enough; a second (from a peer-exchange dial) is dropped.
            Outbound::Open { .. } => return,
        };
        let stream = match result {
            Ok(stream) => stream,
            Err(error) => {
                debug!(%peer, %error, "gossipsub: no pubsub stream to the peer");
                if matches!(link.outbound, Outbound::Opening { .. }) {
                    link.outbound = Outbound::Closed {
                        attempts: attempts + 1,
                    };
                }
                return;
            }
        };
        let Some(protocol) = Protocol::from_id(stream.protocol()) else {
            link.outbound = Outbound::Closed {
                attempts: MAX_OPEN_ATTEMPTS,
            };
            return;
        };
        let number = self.next_stream;
        self.next_stream += 1;
        self.cx.spawn(streams::write(
            stream,
            number,
            link.queue.clone(),
            self.stream_events.clone(),
        ));
        link.outbound = Outbound::Open {
            stream: number,
            attempts,
        };
        if link.protocol.is_some() {
            return;
        }
        self.add_to_router(peer, protocol);
    }

    /// Makes sure the link of `peer` knows `connection`, learning it from the node if its
    /// event has not arrived yet; false if the connection is gone.
    fn ensure_link(&mut self, peer: PeerId, connection: ConnectionId) -> bool {
        let is_known = self
            .links
            .get(&peer)
            .is_some_and(|link| link.connections.contains(connection));
        if is_known {
            return true;
        }
        let open = self.cx.open_connections();
        match open.into_iter().find(|info| info.id == connection) {
            Some(info) => {
                self.connected(info);
                true
            }
            None => false,
        }
    }

    /// Dials peers offered by peer exchange, a few at a time: each dial opens our pubsub
    /// stream to the peer, which makes it a peer like any other.
    fn exchange(&mut self, peers: Vec<crate::PeerInfo>) {
        let local = self.cx.local_peer_id();
        for info in peers {
            if self.px_dials.load(Ordering::Relaxed) >= MAX_PX_DIALS {
                return;
            }
            let Some(peer) = info.peer_id.and_then(|id| PeerId::from_bytes(&id).ok()) else {
                continue;
            };
            if peer == local || self.links.contains_key(&peer) {
                continue;
            }
            if let Some(envelope) = info.signed_peer_record {
                // Only a record the peer itself signed may tell us where it is.
                match PeerRecord::decode(&envelope) {
                    Ok(record) if record.peer_id() == peer => {
                        let update = PeerUpdate {
                            certified_addrs: Some((record.seq(), record.addresses().to_vec())),
                            signed_peer_record: Some(envelope),
                            ..PeerUpdate::default()
                        };
                        self.cx.peerstore().apply(peer, &update);
                    }
                    _ => {
                        debug!(%peer, "gossipsub: peer exchange record invalid: peer skipped");
                        continue;
                    }
                }
            }
            if self.cx.peerstore().addrs(&peer).is_empty() {
                continue;
            }
            let protocols = self.protocol_ids();
            let (cx, opened, dials) = (self.cx.clone(), self.opened.clone(), self.px_dials.clone());
            dials.fetch_add(1, Ordering::Relaxed);
            self.cx.spawn(async move {
                let dial = tokio::time::timeout(PX_DIAL_TIMEOUT, cx.open_stream(peer, protocols));
                if let Ok(result) = dial.await {
                    let _ = opened.send(Opened { peer, result }).await;
                }
                dials.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }

    /// The protocol ids we offer when we open our stream, in order of preference.
    fn protocol_ids(&self) -> Vec<String> {
        let protocols = self.setup.protocols.iter();
        protocols.map(|protocol| protocol.id().to_owned()).collect()
    }

    /// Opens our stream to `peer` on one of its connections, unless one is open, being
    /// opened, or failed too often.
    fn open_outbound(&mut self, peer: PeerId) {
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        let Outbound::Closed { attempts } = link.outbound else {
            return;
        };
        if attempts >= MAX_OPEN_ATTEMPTS {
            return;
        }
        let Some(connection) = link.connections.newest() else {
            return;
        };
        link.outbound = Outbound::Opening { attempts };
        let protocols = self.protocol_ids();
        let (cx, opened) = (self.cx.clone(), self.opened.clone());
        self.cx.spawn(async move {
            let result = cx.open_stream_on(connection, protocols).await;
            let _ = opened.send(Opened { peer, result }).await;
        });
    }

    fn connection_event(&mut self, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Established(info) => self.connected(info),
            ConnectionEvent::Closed(info) => self.disconnected(info.peer, info.id),
            ConnectionEvent::Identified(identified) => {
                let speaks_pubsub = identified.protocols.iter().any(|id| {
                    self.setup
                        .protocols
                        .iter()
                        .any(|protocol| protocol.id() == id)
                });
                if let Some(link) = self.links.get_mut(&identified.peer)
                    && speaks_pubsub
                    && matches!(link.outbound, Outbound::Closed { .. })
                {
                    // Identify is newer news than our failed attempts.
                    link.outbound = Outbound::Closed { attempts: 0 };
                    self.open_outbound(identified.peer);
                }
            }
            ConnectionEvent::Resync(open) => {
                let open_ids: BTreeMap<ConnectionId, ConnectionInfo> =
                    open.into_iter().map(|info| (info.id, info)).collect();
                let gone: Vec<(PeerId, ConnectionId)> = self
                    .links
                    .iter()
                    .flat_map(|(peer, link)| {
                        link.connections
                            .iter()
                            .filter(|info| !open_ids.contains_key(&info.id))
                            .map(|info| (*peer, info.id))
                    })
                    .collect();
                for (peer, id) in gone {
                    self.disconnected(peer, id);
                }
                for info in open_ids.into_values() {
                    let is_known = self
                        .links
                        .get(&info.peer)
                        .is_some_and(|link| link.connections.contains(info.id));
                    if !is_known {
                        self.connected(info);
                    }
                }
            }
            _ => {}
        }
    }

    fn connected(&mut self, info: ConnectionInfo) {
        let peer = info.peer;
        if self.leaving.contains_key(&peer) {
            // Back before its last reader finished: it starts afresh.
            self.forget(peer);
        }
        let limits = self.setup.queue;
        let cx = &self.cx;
        let link = self
            .links
            .entry(peer)
            .or_insert_with(|| Link::new(limits, cx.memory_scope(&peer)));
        link.connections.insert(info);
        if link.protocol.is_some() {
            let ips = link.ips();
            self.router.set_peer_ips(&peer, &ips);
        }
        self.open_outbound(peer);
    }

    fn disconnected(&mut self, peer: PeerId, connection: ConnectionId) {
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        link.connections.remove(connection);
        if !link.connections.is_empty() {
            let ips = link.ips();
            self.router.set_peer_ips(&peer, &ips);
            return;
        }
        if let Some(mut link) = self.links.remove(&peer) {
            self.stats.dropped_frames += link.queue.dropped() - link.dropped_seen;
            link.queue.close();
            if let Some((stream, reader)) = link.inbound.take() {
                // What the peer sent before it closed may still be unread: the reader
                // finishes it, then the router forgets the peer (`InboundClosed`).
                let since = Instant::now();
                self.leaving.insert(
                    peer,
                    Leaving {
                        stream,
                        reader,
                        since,
                    },
                );
                return;
            }
        }
        self.forget(peer);
    }

    /// Whether inbound stream `stream` is the one a peer that left is still being read on.
    fn is_leaving_reader(&self, peer: &PeerId, stream: u64) -> bool {
        self.leaving
            .get(peer)
            .is_some_and(|leaving| leaving.stream == stream)
    }

    /// The router forgets a peer that left, and a reader still finishing its stream stops.
    fn forget(&mut self, peer: PeerId) {
        if let Some(leaving) = self.leaving.remove(&peer) {
            leaving.reader.abort();
        }
        self.router.remove_peer(&peer, now());
        self.changed();
    }

    /// Hands the router's RPCs to the peers' queues (messages as `class`) and its events to
    /// the application.
    fn flush(&mut self, class: Class) {
        let now = Instant::now();
        while let Some((peer, rpc)) = self.router.poll_outbound() {
            self.enqueue(peer, rpc, class, now);
        }
        while let Some(event) = self.router.poll_event() {
            self.event(event);
        }
    }

    /// Splits `rpc` into control frames ([`split::split`]) and one frame per message, and
    /// queues them.
    fn enqueue(&mut self, peer: PeerId, rpc: Rpc, class: Class, now: Instant) {
        let Some(queue) = self.links.get(&peer).map(|link| link.queue.clone()) else {
            return;
        };
        let Rpc {
            subscriptions,
            publish,
            control,
            test_extension,
        } = rpc;
        if let Some(control) = &control {
            let ids: usize = control.idontwant.iter().map(|c| c.message_ids.len()).sum();
            self.stats.idontwant_sent += ids as u64;
        }
        if !subscriptions.is_empty() || control.is_some() || test_extension {
            // In pieces every peer takes (split.rs): rust-libp2p ignores or refuses large ones.
            for rpc in split::split(subscriptions, control, test_extension) {
                self.push(&queue, Class::Control, &rpc, now);
            }
        }
        for message in publish {
            let rpc = Rpc {
                publish: vec![message],
                ..Rpc::default()
            };
            self.push(&queue, class, &rpc, now);
        }
    }

    fn push(&mut self, queue: &OutboundQueue, class: Class, rpc: &Rpc, now: Instant) {
        match encode_frame(rpc, &self.limits) {
            Ok(frame) => {
                queue.push(class, Bytes::from(frame), now);
            }
            // Only an RPC over the size limit fails; the router bounds what it sends.
            Err(error) => debug!(%error, "gossipsub: RPC not sent"),
        }
    }

    fn event(&mut self, event: Event<PeerId>) {
        match event {
            Event::Message {
                source,
                id,
                message,
            } => self.deliver(Received {
                source,
                id,
                message,
                is_duplicate: false,
            }),
            Event::Duplicate {
                source,
                id,
                message,
            } => self.deliver(Received {
                source,
                id,
                message,
                is_duplicate: true,
            }),
            Event::Validate {
                source,
                id,
                message,
            } => {
                let Some(validator) = self.setup.validator.clone() else {
                    // Without a validator the router judges at once; nothing waits.
                    return;
                };
                let timeout = self.router.config().validation_timeout;
                let verdicts = self.verdicts.clone();
                self.cx.spawn(async move {
                    let judged = tokio::time::timeout(timeout, validator.validate(source, message));
                    let verdict = judged.await.unwrap_or(Validation::Ignore);
                    let _ = verdicts.send((id, verdict));
                });
            }
            Event::PeerExchange { source, peers, .. } => {
                debug!(%source, offered = peers.len(), "gossipsub: peer exchange");
                self.exchange(peers);
            }
            Event::Subscribed { .. } | Event::Unsubscribed { .. } => self.changed(),
        }
    }

    fn deliver(&mut self, received: Received) {
        let Some(senders) = self.subscriptions.get_mut(&received.message.topic) else {
            return;
        };
        let mut dropped = 0;
        senders.retain(|sender| match sender.try_send(Box::new(received.clone())) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                dropped += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        self.stats.dropped_deliveries += dropped;
        if senders.is_empty() {
            let topic = received.message.topic;
            self.leave(&topic);
        }
    }
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}
