//! The identify service: asks, answers, pushes and records.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyphae_core::{PeerRecord, frame};
use hyphae_multiaddr::{Multiaddr, Protocol};
use hyphae_service::{
    ConnectionEvent, ConnectionId, ConnectionInfo, Context, Identified, Incoming, PeerId,
    PeerUpdate, Service, Stream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;
use tracing::debug;

use crate::message::MAX_MESSAGE_LEN;
use crate::verified_records::VerifiedRecords;
use crate::{
    DEFAULT_AGENT_VERSION, DEFAULT_PROTOCOL_VERSION, Error, Info, PROTOCOL, PUSH_PROTOCOL, TIMEOUT,
};

/// Bytes read from one identify stream at most: go-libp2p may split a large answer into
/// several messages, which protobuf merges by concatenation.
const MAX_STREAM_LEN: usize = 2 * MAX_MESSAGE_LEN;
/// Inbound identify streams waiting to be served; beyond this a burst of them is reset.
const INBOUND_BACKLOG: usize = 32;
/// Connection events buffered before the service is resynchronised.
const CONNECTION_EVENTS: usize = 256;
/// Events buffered per subscriber to [`Handle::events`] before the slowest misses some.
const EVENT_BUFFER: usize = 256;
/// Pushes of one peer read at once; more are dropped (reset). A peer pushes when its
/// addresses or protocols change, one push at a time; a second allows an overlap.
const MAX_PUSHES_PER_PEER: usize = 2;
/// How long an identify request whose stream failed waits before asking again, each time.
/// A peer resets our stream when its backlog is full, which a burst of new connections
/// (a node starting among many) can make it for a moment; unanswered, the connection would
/// stay unidentified, and out of the services that need a peer's protocols (Kademlia's
/// table), until the peer pushes.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

/// What we tell peers about ourselves beside our key, addresses and protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The implementation and version, e.g. `hyphae/0.1.0`.
    pub agent_version: String,
    /// The protocol family, e.g. `ipfs/0.1.0`.
    pub protocol_version: String,
    /// Whether to push our information to connected peers when it changes.
    pub push: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            agent_version: DEFAULT_AGENT_VERSION.to_owned(),
            protocol_version: DEFAULT_PROTOCOL_VERSION.to_owned(),
            push: true,
        }
    }
}

/// The identify service: install with `Builder::service(Identify::new(config))` to change
/// the default one.
#[derive(Debug, Clone, Default)]
pub struct Identify {
    config: Config,
}

impl Identify {
    /// An identify service with `config`.
    pub fn new(config: Config) -> Identify {
        Identify { config }
    }
}

/// What a peer told us.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A peer answered our identify request on a connection.
    Received {
        /// The peer.
        peer: PeerId,
        /// The connection.
        connection: ConnectionId,
        /// What it said.
        info: Info,
    },
    /// A peer pushed new information.
    Pushed {
        /// The peer.
        peer: PeerId,
        /// The connection.
        connection: ConnectionId,
        /// What it said (fields it left out are empty).
        info: Info,
    },
}

/// Reports what peers say about themselves; from `Node::service::<Identify>()`.
#[derive(Debug, Clone)]
pub struct Handle {
    events: broadcast::Sender<Event>,
}

impl Handle {
    /// Every identify answer and push from now on. A subscriber more than 256 events behind
    /// misses the oldest (its next `recv` says how many).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

/// What every task of the service shares (one copy: each task holds a pointer to it).
struct Shared {
    cx: Context,
    config: Config,
    events: broadcast::Sender<Event>,
    /// Pushes being read, per peer.
    pushes_in_flight: Mutex<HashMap<PeerId, usize>>,
    /// Our signed peer record, kept until our addresses change: signing one for every
    /// identify answer cost each new connection an Ed25519 signature.
    record: Mutex<Option<PeerRecord>>,
    /// Peers' records verified lately: one sent again is not verified again.
    verified: Mutex<VerifiedRecords>,
}

/// One push's place among its peer's pushes in flight, given back when dropped.
struct PushSlot {
    shared: Arc<Shared>,
    peer: PeerId,
}

impl PushSlot {
    fn acquire(shared: &Arc<Shared>, peer: PeerId) -> Option<PushSlot> {
        let mut in_flight = lock(&shared.pushes_in_flight);
        let count = in_flight.entry(peer).or_default();
        if *count >= MAX_PUSHES_PER_PEER {
            return None;
        }
        *count += 1;
        Some(PushSlot {
            shared: Arc::clone(shared),
            peer,
        })
    }
}

impl Drop for PushSlot {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.shared.pushes_in_flight);
        if let Some(count) = in_flight.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                in_flight.remove(&self.peer);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Service for Identify {
    type Handle = Handle;

    fn start(self, cx: Context) -> Handle {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let shared = Arc::new(Shared {
            cx: cx.clone(),
            config: self.config,
            events: events.clone(),
            pushes_in_flight: Mutex::default(),
            record: Mutex::default(),
            verified: Mutex::default(),
        });
        cx.spawn(answer(
            Arc::clone(&shared),
            cx.accept(PROTOCOL, INBOUND_BACKLOG),
        ));
        cx.spawn(receive_pushes(
            Arc::clone(&shared),
            cx.accept(PUSH_PROTOCOL, INBOUND_BACKLOG),
        ));
        cx.spawn(follow_connections(shared));
        Handle { events }
    }
}

/// Identifies each new connection's peer, and pushes to every connection when our
/// addresses or protocols change.
async fn follow_connections(shared: Arc<Shared>) {
    let mut connections = shared.cx.connections(CONNECTION_EVENTS);
    let mut changes = shared.cx.local_changes();
    // The connections asked already, to tell new ones in a resync (ids only: a few bytes
    // per idle connection).
    let mut asked: HashSet<ConnectionId> = HashSet::new();
    loop {
        tokio::select! {
            event = connections.next() => match event {
                Some(ConnectionEvent::Established(info)) => {
                    asked.insert(info.id);
                    shared.cx.spawn(request(Arc::clone(&shared), info));
                }
                Some(ConnectionEvent::Closed(info)) => {
                    asked.remove(&info.id);
                }
                Some(ConnectionEvent::Resync(open)) => {
                    let mut now_asked = HashSet::with_capacity(open.len());
                    for info in open {
                        now_asked.insert(info.id);
                        if !asked.contains(&info.id) {
                            shared.cx.spawn(request(Arc::clone(&shared), info));
                        }
                    }
                    asked = now_asked;
                }
                Some(_) => {}
                None => return,
            },
            changed = changes.changed() => {
                if !changed {
                    return;
                }
                if shared.config.push {
                    for info in shared.cx.open_connections() {
                        shared.cx.spawn(push(Arc::clone(&shared), info));
                    }
                }
            }
        }
    }
}

/// What we tell the peer at `observed` (its address on the connection) about ourselves.
fn our_info(shared: &Shared, observed: &Multiaddr) -> Info {
    let cx = &shared.cx;
    let listen_addrs = cx.listen_addrs();
    let record = our_record(shared, &listen_addrs);
    Info {
        public_key: Some(cx.keypair().public()),
        protocol_version: Some(shared.config.protocol_version.clone()),
        agent_version: Some(shared.config.agent_version.clone()),
        listen_addrs,
        protocols: cx.protocols(),
        observed_addr: Some(
            observed
                .iter()
                .filter(|component| !matches!(component, Protocol::P2p(_)))
                .collect(),
        ),
        signed_peer_record: record,
    }
}

/// Our signed peer record of `listen_addrs`: the one signed before if they are the same,
/// else a new one with a higher sequence number.
fn our_record(shared: &Shared, listen_addrs: &[Multiaddr]) -> Option<PeerRecord> {
    let certified: Vec<Multiaddr> = listen_addrs
        .iter()
        .take(hyphae_core::peer_record::MAX_ADDRESSES)
        .cloned()
        .collect();
    let mut cached = lock(&shared.record);
    if let Some(record) = cached.as_ref()
        && record.addresses() == certified.as_slice()
    {
        return Some(record.clone());
    }
    // Sequence numbers must grow with every new record: milliseconds since the epoch do.
    let seq = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    let record = PeerRecord::new(shared.cx.keypair(), certified, seq)
        .map_err(|error| debug!(%error, "signing our peer record failed"))
        .ok()?;
    *cached = Some(record.clone());
    Some(record)
}

/// Decodes what `peer` sent, checking the signature of its peer record unless it is the
/// one verified last time.
fn decode(shared: &Shared, bytes: &[u8], peer: PeerId) -> Result<Info, crate::Error> {
    let known = lock(&shared.verified).get(&peer).cloned();
    let info = Info::decode_knowing(bytes, peer, known.as_ref())?;
    if let Some(record) = &info.signed_peer_record
        && known.as_ref() != Some(record)
    {
        lock(&shared.verified).insert(record.clone());
    }
    Ok(info)
}

/// Asks the peer of a new connection who it is, and records the answer; asks again after
/// [`RETRY_DELAYS`] if the stream fails.
async fn request(shared: Arc<Shared>, connection: ConnectionInfo) {
    let peer = connection.peer;
    let mut retries = RETRY_DELAYS.iter();
    loop {
        let error = match tokio::time::timeout(TIMEOUT, exchange(&shared, &connection)).await {
            Ok(Ok(info)) => {
                let connection = connection.id;
                let event = |info| Event::Received {
                    peer,
                    connection,
                    info,
                };
                record(&shared, peer, connection, info, event);
                return;
            }
            Ok(Err(error)) => error,
            Err(_) => {
                debug!(%peer, "identify timed out");
                return;
            }
        };
        // The stream failed (reset, most likely by a peer whose backlog was full at that
        // moment): ask again while the connection lasts (on a closed one, opening the
        // stream fails with another error, which ends this).
        let delay = match (&error, retries.next()) {
            (Error::Io(_) | Error::Frame(hyphae_core::Error::Io(_)), Some(delay)) => delay,
            _ => {
                debug!(%peer, %error, "identify failed");
                return;
            }
        };
        debug!(%peer, %error, ?delay, "identify failed, asking again");
        tokio::time::sleep(*delay).await;
    }
}

/// One identify request on `connection`: what the peer answers.
async fn exchange(shared: &Shared, connection: &ConnectionInfo) -> Result<Info, Error> {
    let mut stream = shared.cx.open_stream_on(connection.id, PROTOCOL).await?;
    let bytes = read_messages(&mut stream).await?;
    // We send nothing: closing our side ends the stream cleanly rather than with a reset
    // (best effort: the answer is already in).
    let _ = stream.shutdown().await;
    decode(shared, &bytes, connection.peer)
}

/// Stores what `peer` said, tells the node's other services, and reports it as `event` to
/// the subscribers of [`Handle::events`], if there are any.
fn record(
    shared: &Shared,
    peer: PeerId,
    connection: ConnectionId,
    info: Info,
    event: impl FnOnce(Info) -> Event,
) {
    shared.cx.peerstore().apply(
        peer,
        &PeerUpdate {
            public_key: info.public_key.clone(),
            agent_version: info.agent_version.clone(),
            protocol_version: info.protocol_version.clone(),
            protocols: info.protocols.clone(),
            listen_addrs: info.listen_addrs.clone(),
            certified_addrs: info
                .signed_peer_record
                .as_ref()
                .map(|record| (record.seq(), record.addresses().to_vec())),
            signed_peer_record: info
                .signed_peer_record
                .as_ref()
                .map(|record| record.encode()),
        },
    );
    // The services' `Identified` takes its fields from the answer; only subscribers to our
    // own events (usually none) cost a copy of it.
    if shared.events.receiver_count() > 0 {
        let _ = shared.events.send(event(info.clone()));
    }
    shared.cx.report_identified(Identified {
        peer,
        connection,
        protocols: info.protocols,
        agent_version: info.agent_version,
        listen_addrs: info.listen_addrs,
        observed_addr: info.observed_addr,
    });
}

/// Reads the length-prefixed identify messages of a stream until it ends, concatenated.
async fn read_messages(stream: &mut Stream) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(message) = frame::read(stream, MAX_MESSAGE_LEN).await? {
        if bytes.len() + message.len() > MAX_STREAM_LEN {
            return Err(Error::MessageTooLarge {
                len: bytes.len() + message.len(),
                max: MAX_STREAM_LEN,
            });
        }
        bytes.extend_from_slice(&message);
    }
    Ok(bytes)
}

/// Answers identify requests.
async fn answer(shared: Arc<Shared>, mut incoming: Incoming) {
    while let Some(mut stream) = incoming.next().await {
        let info = our_info(&shared, stream.remote_addr());
        tokio::spawn(async move {
            let send = async {
                frame::write(&mut stream, &info.encode()).await?;
                stream.shutdown().await?;
                Ok::<_, Error>(())
            };
            match tokio::time::timeout(TIMEOUT, send).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => debug!(%error, "answering identify failed"),
                Err(_) => debug!("answering identify timed out"),
            }
        });
    }
}

/// Applies identify pushes.
async fn receive_pushes(shared: Arc<Shared>, mut incoming: Incoming) {
    while let Some(mut stream) = incoming.next().await {
        let peer = stream.peer();
        // Dropping the stream resets it.
        let Some(slot) = PushSlot::acquire(&shared, peer) else {
            debug!(%peer, "identify push dropped: too many in flight");
            continue;
        };
        // What reading the push may hold, in the service's memory for the peer.
        let memory = shared.cx.memory_scope(&peer);
        if let Err(refused) = memory.reserve_memory(MAX_STREAM_LEN) {
            debug!(%peer, %refused, "identify push dropped");
            continue;
        }
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _held = (slot, memory);
            let bytes = match tokio::time::timeout(TIMEOUT, read_messages(&mut stream)).await {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(error)) => return debug!(%peer, %error, "reading identify push failed"),
                Err(_) => return debug!(%peer, "identify push timed out"),
            };
            // Drain anything left so the stream closes cleanly.
            let _ = stream.read(&mut [0u8; 1]).await;
            match decode(&shared, &bytes, peer) {
                Ok(info) => {
                    let connection = stream.connection();
                    record(&shared, peer, connection, info, |info| Event::Pushed {
                        peer,
                        connection,
                        info,
                    });
                }
                Err(error) => debug!(%peer, %error, "invalid identify push"),
            }
        });
    }
}

/// Tells one connection's peer our current addresses and protocols.
async fn push(shared: Arc<Shared>, connection: ConnectionInfo) {
    let send = async {
        let mut stream = shared
            .cx
            .open_stream_on(connection.id, PUSH_PROTOCOL)
            .await?;
        let info = our_info(&shared, &connection.remote_addr);
        frame::write(&mut stream, &info.encode()).await?;
        stream.shutdown().await?;
        Ok::<_, Error>(())
    };
    match tokio::time::timeout(TIMEOUT, send).await {
        Ok(Ok(())) => debug!(peer = %connection.peer, "pushed identify"),
        Ok(Err(error)) => debug!(peer = %connection.peer, %error, "identify push failed"),
        Err(_) => debug!(peer = %connection.peer, "identify push timed out"),
    }
}
