//! [`Kademlia`]: the DHT as a node service. One task owns the [`Dht`] core and feeds it
//! streams, connection events, commands from [`Handle`]s and time; each request runs on its
//! own small task.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use hyphae_service::{ConnectionEvent, Context, Incoming, Service};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::auto_mode::AutoMode;
use crate::event::{Event, Outcome, PeerAddrs};
use crate::handle::{COMMAND_QUEUE, Command, Handle};
use crate::results::Update;
use crate::store::{MemoryStore, RecordStore};
use crate::streams::{self, Inbound, InboundSlots};
use crate::validator::{AcceptAll, Validator};
use crate::{Config, Dht, Key, Mode, QueryId};

/// Inbound kad streams waiting to be served; beyond this a burst is reset.
const INBOUND_BACKLOG: usize = 64;
/// Inbound streams served at once per peer; more are reset.
const INBOUND_STREAMS_PER_PEER: usize = 16;
/// Requests from inbound streams waiting for the core.
const INBOUND_QUEUE: usize = 64;
/// Connection events buffered before the driver is resynchronised.
const CONNECTION_EVENTS: usize = 1024;
/// The tag routing table peers carry for the node's connection manager, and its value
/// (go-libp2p-kad-dht tags them likewise, with 5): a full node keeps the connections its
/// table relies on before others.
pub const ROUTING_TABLE_TAG: &str = "kad";
/// See [`ROUTING_TABLE_TAG`].
pub const ROUTING_TABLE_VALUE: i64 = 5;

/// How the service picks its [`Mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeSetting {
    /// Always this mode.
    Fixed(Mode),
    /// Client until the node has a confirmed public address (a public listen address, or a
    /// public address that several peers observed), then server.
    Automatic,
}

/// The Kademlia DHT service: `Node::builder().service(Kademlia::new(config))`.
pub struct Kademlia {
    config: Config,
    mode: ModeSetting,
    bootstrap: Vec<Multiaddr>,
    store: Box<dyn RecordStore>,
    validators: Vec<(String, Arc<dyn Validator>)>,
    accepts_all_records: bool,
    seed: Option<u64>,
}

impl std::fmt::Debug for Kademlia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kademlia")
            .field("config", &self.config)
            .field("mode", &self.mode)
            .field("bootstrap", &self.bootstrap)
            .finish_non_exhaustive()
    }
}

impl Default for Kademlia {
    fn default() -> Kademlia {
        Kademlia::new(Config::default())
    }
}

impl Kademlia {
    /// A DHT service with `config`, automatic mode, an in-memory store and the `pk` and
    /// `ipns` validators.
    pub fn new(config: Config) -> Kademlia {
        Kademlia {
            config,
            mode: ModeSetting::Automatic,
            bootstrap: Vec::new(),
            store: Box::new(MemoryStore::default()),
            validators: Vec::new(),
            accepts_all_records: false,
            seed: None,
        }
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: ModeSetting) -> Kademlia {
        self.mode = mode;
        self
    }

    /// Peers to join through, as multiaddrs ending in `/p2p/<peer id>`; the service
    /// bootstraps through them when it starts.
    pub fn bootstrap(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Kademlia {
        self.bootstrap.extend(addrs);
        self
    }

    /// Keeps records and provider entries in `store` instead of memory.
    pub fn store(mut self, store: impl RecordStore) -> Kademlia {
        self.store = Box::new(store);
        self
    }

    /// Validates records whose key starts with `/<namespace>/` with `validator`.
    pub fn validator(
        mut self,
        namespace: impl Into<String>,
        validator: impl Validator + 'static,
    ) -> Kademlia {
        self.validators
            .push((namespace.into(), Arc::new(validator)));
        self
    }

    /// Accepts records of every namespace without a validator, unvalidated: for test
    /// networks (the interop suites use an `example` namespace); the public DHT only stores
    /// `/pk/` and `/ipns/` records.
    pub fn accept_all_records(mut self) -> Kademlia {
        self.accepts_all_records = true;
        self
    }

    /// Seeds the core's random choices (refresh targets), for reproducible tests.
    pub fn seed(mut self, seed: u64) -> Kademlia {
        self.seed = Some(seed);
        self
    }
}

impl Service for Kademlia {
    type Handle = Handle;

    fn start(self, cx: Context) -> Handle {
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let now = Instant::now().into_std();
        // Refresh targets need no secrecy: the peer id and the clock are seed enough.
        let seed = self.seed.unwrap_or_else(|| {
            let key = Key::for_peer(&cx.local_peer_id());
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&key.as_bytes()[..8]);
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|elapsed| elapsed.subsec_nanos())
                .unwrap_or(0);
            u64::from_le_bytes(bytes) ^ u64::from(nanos)
        });
        let mode = match self.mode {
            ModeSetting::Fixed(mode) => mode,
            ModeSetting::Automatic => Mode::Client,
        };
        let mut dht = Dht::new(
            cx.local_peer_id(),
            self.config,
            mode,
            self.store,
            now,
            SystemTime::now(),
            seed,
        );
        for (namespace, validator) in self.validators {
            dht.validators_mut().insert_shared(namespace, validator);
        }
        if self.accepts_all_records {
            dht.validators_mut().set_fallback(Some(Arc::new(AcceptAll)));
        }
        let driver = Driver {
            cx: cx.clone(),
            dht,
            setting: self.mode,
            incoming: None,
            queries: HashMap::new(),
            auto: AutoMode::default(),
            slots: InboundSlots::default(),
        };
        cx.spawn(driver.run(receiver, self.bootstrap));
        Handle::new(commands)
    }
}

/// The task that owns the core.
struct Driver {
    cx: Context,
    dht: Dht,
    setting: ModeSetting,
    /// Accepting the protocol: only in server mode, so identify advertises it only then.
    incoming: Option<Incoming>,
    /// Where each running query's results go.
    queries: HashMap<QueryId, mpsc::UnboundedSender<Update>>,
    /// What automatic mode has learned of our addresses.
    auto: AutoMode,
    slots: InboundSlots,
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, bootstrap: Vec<Multiaddr>) {
        let mut connections = self.cx.connections(CONNECTION_EVENTS);
        let mut local_changes = self.cx.local_changes();
        let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel();
        let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(INBOUND_QUEUE);
        let mut connected: HashMap<PeerId, usize> = HashMap::new();
        self.dht.set_local_addrs(self.cx.listen_addrs());
        self.apply_mode();
        self.join(bootstrap);
        loop {
            self.flush(&outcomes_tx);
            let wake = self.dht.poll_timeout().map(Instant::from_std);
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => return,
                },
                Some(outcome) = outcomes.recv() => {
                    let now = Instant::now().into_std();
                    match outcome {
                        streams::Outcome::Response(id, message) => self.dht.handle_response(id, message, now),
                        streams::Outcome::Delivered(id) => self.dht.handle_delivered(id, now),
                        streams::Outcome::Failed(id, failure) => self.dht.handle_failure(id, failure, now),
                    }
                }
                Some(request) = inbound.recv() => {
                    let now = Instant::now().into_std();
                    let answer = self.dht.handle_request(request.peer, request.message, now);
                    let _ = request.reply.send(answer);
                }
                Some(stream) = next_stream(&mut self.incoming) => {
                    let peer = stream.peer();
                    if let Some(slot) = self.slots.try_acquire(peer, INBOUND_STREAMS_PER_PEER) {
                        let requests = inbound_tx.clone();
                        let memory = self.cx.memory_scope(&peer);
                        self.cx.spawn(async move {
                            streams::serve(stream, requests, memory).await;
                            drop(slot);
                        });
                    } else {
                        debug!(%peer, "kad: too many inbound streams from one peer");
                    }
                }
                event = connections.next() => match event {
                    Some(event) => self.connection_event(event, &mut connected),
                    None => return,
                },
                changed = local_changes.changed() => {
                    if !changed {
                        return;
                    }
                    self.dht.set_local_addrs(self.cx.listen_addrs());
                    self.apply_mode();
                }
                () = sleep_until(wake) => self.dht.handle_timeout(Instant::now().into_std()),
            }
        }
    }

    /// Adds the bootstrap peers and starts a bootstrap.
    fn join(&mut self, bootstrap: Vec<Multiaddr>) {
        let now = Instant::now().into_std();
        let mut added = false;
        for addr in bootstrap {
            let Some(peer) = addr.peer_id() else {
                debug!(%addr, "kad bootstrap address without /p2p: ignored");
                continue;
            };
            let mut dial = addr.clone();
            dial.pop();
            self.cx.peerstore().add_addrs(peer, [dial.clone()]);
            self.dht.add_peer(peer, vec![dial], now);
            added = true;
        }
        if added {
            let _ = self.dht.bootstrap(now);
        }
    }

    /// Hands the core's requests to tasks and its events to the queries' callers.
    fn flush(&mut self, outcomes: &mpsc::UnboundedSender<streams::Outcome>) {
        let protocol = self.dht.config().protocol.clone();
        let timeout = self.dht.config().request_timeout;
        while let Some(transmit) = self.dht.poll_transmit() {
            let (cx, protocol, outcomes) = (self.cx.clone(), protocol.clone(), outcomes.clone());
            self.cx.spawn(async move {
                let _ = outcomes.send(streams::request(cx, protocol, transmit, timeout).await);
            });
        }
        while let Some(event) = self.dht.poll_event() {
            self.event(event);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Progress { query, progress } => {
                if let crate::Progress::FoundPeer(found) | crate::Progress::Provider(found) =
                    &progress
                {
                    self.cx
                        .peerstore()
                        .add_addrs(found.peer, found.addrs.iter().cloned());
                }
                let is_gone = self
                    .queries
                    .get(&query)
                    .is_some_and(|sender| sender.send(Update::Progress(progress)).is_err());
                if is_gone {
                    // The caller dropped its results: stop working for it.
                    self.queries.remove(&query);
                    self.dht.cancel(query, Instant::now().into_std());
                }
            }
            Event::Finished {
                query,
                outcome,
                stats,
            } => {
                debug!(query = query.get(), ?stats, "kad query finished");
                if let Outcome::ClosestPeers(peers) = &outcome {
                    for found in peers {
                        self.cx
                            .peerstore()
                            .add_addrs(found.peer, found.addrs.iter().cloned());
                    }
                }
                if let Some(sender) = self.queries.remove(&query) {
                    let _ = sender.send(Update::Finished(outcome, stats));
                }
            }
            Event::PeerAdded(peer) => {
                debug!(%peer, "kad routing table: added");
                self.cx
                    .tags()
                    .tag(peer, ROUTING_TABLE_TAG, ROUTING_TABLE_VALUE);
            }
            Event::PeerRemoved(peer) => {
                debug!(%peer, "kad routing table: removed");
                self.cx.tags().untag(&peer, ROUTING_TABLE_TAG);
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now().into_std();
        let (started, sender) = match command {
            Command::Bootstrap(tx) => (self.dht.bootstrap(now), tx),
            Command::Closest(key, tx) => (self.dht.get_closest_peers(key, now), tx),
            Command::FindPeer(peer, tx) => (self.dht.find_peer(peer, now), tx),
            Command::GetValue(key, tx) => (self.dht.get_value(key, now), tx),
            Command::PutValue(key, value, tx) => (self.dht.put_value(key, value, now), tx),
            Command::Provide(key, tx) => (self.dht.provide(key, now), tx),
            Command::FindProviders(key, limit, tx) => {
                (self.dht.find_providers(key, limit, now), tx)
            }
            Command::StopProviding(key) => return self.dht.stop_providing(&key),
            Command::AddPeer(peer, addrs) => {
                self.cx.peerstore().add_addrs(peer, addrs.iter().cloned());
                self.dht.add_peer(peer, addrs, now);
                return;
            }
            Command::SetMode(setting) => {
                self.setting = setting;
                return self.apply_mode();
            }
            Command::Mode(reply) => {
                let _ = reply.send(self.dht.mode());
                return;
            }
            Command::Peers(reply) => {
                let peers = self
                    .dht
                    .routing_table()
                    .iter()
                    .map(|entry| PeerAddrs {
                        peer: entry.peer,
                        addrs: entry.addrs.clone(),
                    })
                    .collect();
                let _ = reply.send(peers);
                return;
            }
        };
        match started {
            // A query that ended at once (an empty table, a local answer) has its events
            // queued; they are routed at the next flush, now that its sender is known.
            Ok(query) => {
                self.queries.insert(query, sender);
            }
            Err(error) => {
                let _ = sender.send(Update::Failed(error));
            }
        }
    }

    fn connection_event(&mut self, event: ConnectionEvent, connected: &mut HashMap<PeerId, usize>) {
        let now = Instant::now().into_std();
        match event {
            ConnectionEvent::Established(info) => {
                *connected.entry(info.peer).or_default() += 1;
                self.dht.set_connected(info.peer, true);
            }
            ConnectionEvent::Closed(info) => {
                if let Some(count) = connected.get_mut(&info.peer) {
                    *count -= 1;
                    if *count == 0 {
                        connected.remove(&info.peer);
                        self.dht.set_connected(info.peer, false);
                    }
                }
            }
            ConnectionEvent::Identified(identified) => {
                let protocol = &self.dht.config().protocol;
                let is_server = identified.protocols.iter().any(|p| p == protocol);
                if let Some(observed) = &identified.observed_addr
                    && self.setting == ModeSetting::Automatic
                {
                    self.auto.observe(observed, identified.peer);
                    self.apply_mode();
                }
                self.dht
                    .on_identified(identified.peer, identified.listen_addrs, is_server, now);
            }
            ConnectionEvent::Resync(open) => {
                let before: Vec<PeerId> = connected.keys().copied().collect();
                connected.clear();
                for info in open {
                    *connected.entry(info.peer).or_default() += 1;
                }
                for peer in before {
                    if !connected.contains_key(&peer) {
                        self.dht.set_connected(peer, false);
                    }
                }
                for peer in connected.keys() {
                    self.dht.set_connected(*peer, true);
                }
            }
            _ => {}
        }
    }

    /// Chooses the mode and accepts the protocol only as a server.
    fn apply_mode(&mut self) {
        let mode = match self.setting {
            ModeSetting::Fixed(mode) => mode,
            ModeSetting::Automatic => self.auto.mode(&self.cx.listen_addrs()),
        };
        if mode != self.dht.mode() {
            info!(?mode, "kad mode");
        }
        self.dht.set_mode(mode);
        match mode {
            Mode::Server if self.incoming.is_none() => {
                let protocol = self.dht.config().protocol.clone();
                self.incoming = Some(self.cx.accept(protocol, INBOUND_BACKLOG));
            }
            // Dropping `Incoming` unregisters the protocol; identify push tells peers.
            Mode::Client => self.incoming = None,
            Mode::Server => {}
        }
    }
}

async fn next_stream(incoming: &mut Option<Incoming>) -> Option<hyphae_service::Stream> {
    match incoming {
        Some(incoming) => incoming.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
