//! The [`Service`] trait and the [`Context`] every service gets from its node.

use hyphae_core::resources::{ResourceManager, Scope};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::Multiaddr;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_util::future::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::connection_events::{ConnectionHub, Identified};
use crate::{
    ConnectionEvents, ConnectionId, ConnectionInfo, Direction, Error, Incoming, PeerTags,
    Peerstore, Protocols, Stream, incoming,
};

/// A protocol (or any long-lived feature) plugged into a node: ping, identify, Kademlia, an
/// application's own.
///
/// The node calls [`start`](Service::start) once, inside its runtime, before it listens:
/// the service claims its protocols with [`Context::accept`], subscribes to
/// [`Context::connections`], spawns its tasks with [`Context::spawn`] and returns the
/// handle users reach it by, through `Node::service::<S>()`.
pub trait Service: Send + 'static {
    /// What `Node::service::<Self>()` returns: usually a cheap clone of a channel sender.
    type Handle: Clone + Send + Sync + 'static;

    /// Starts the service on the node `cx` belongs to.
    fn start(self, cx: Context) -> Self::Handle;
}

/// A boxed future, for the object-safe [`Host`] trait.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A byte stream a node can secure and multiplex into a connection, for
/// [`Context::add_connection`].
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// What a node implements for its services' [`Context`]s. Users call the methods of
/// `Context`, which say what each does; only a node implementation implements this.
pub trait Host: Send + Sync + 'static {
    /// See [`Context::listen_addrs`].
    fn listen_addrs(&self) -> Vec<Multiaddr>;
    /// See [`Context::protocols`].
    fn protocols(&self) -> Vec<String>;
    /// See [`Context::local_changes`].
    fn local_changes(&self) -> watch::Receiver<()>;
    /// See [`Context::accept`].
    fn accept(
        self: Arc<Self>,
        protocol: String,
        backlog: usize,
        service: Option<Arc<str>>,
    ) -> Incoming;
    /// See [`Context::connections`].
    fn connections(&self, capacity: usize) -> ConnectionEvents;
    /// See [`Context::open_connections`].
    fn open_connections(&self) -> Vec<ConnectionInfo>;
    /// See [`Context::open_stream`].
    fn open_stream(
        self: Arc<Self>,
        peer: PeerId,
        protocols: Vec<String>,
        service: Option<Arc<str>>,
    ) -> BoxFuture<Result<Stream, Error>>;
    /// See [`Context::open_stream_on`].
    fn open_stream_on(
        self: Arc<Self>,
        connection: ConnectionId,
        protocols: Vec<String>,
        service: Option<Arc<str>>,
    ) -> BoxFuture<Result<Stream, Error>>;
    /// See [`Context::add_connection`].
    fn add_connection(
        self: Arc<Self>,
        io: Box<dyn Io>,
        remote_addr: Multiaddr,
        direction: Direction,
        expected_peer: Option<PeerId>,
    ) -> BoxFuture<Result<PeerId, Error>>;
    /// See [`Context::report_identified`].
    fn report_identified(&self, identified: Identified);
}

/// A service's view of its node. Cheap to clone.
///
/// It holds the node weakly: a service never keeps its node alive. Once the node is gone
/// (dropped or shut down), streams can no longer be opened ([`Error::Shutdown`]),
/// [`Incoming`] and [`ConnectionEvents`] end, and tasks from [`spawn`](Context::spawn)
/// stop.
#[derive(Clone)]
pub struct Context {
    host: Weak<dyn Host>,
    /// Shared: every service task holds a context, and a key is a few hundred bytes.
    keypair: Arc<Keypair>,
    peerstore: Arc<Peerstore>,
    tags: Arc<PeerTags>,
    resources: ResourceManager,
    /// The service this context was given to: its streams and memory count in its scope.
    service: Option<Arc<str>>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("local_peer_id", &self.keypair.peer_id())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The context of a node `host` whose identity is `keypair`; `shutdown` is cancelled
    /// when the node shuts down or is dropped. For node implementations.
    pub fn new(
        host: Weak<dyn Host>,
        keypair: Arc<Keypair>,
        peerstore: Arc<Peerstore>,
        tags: Arc<PeerTags>,
        resources: ResourceManager,
        shutdown: CancellationToken,
    ) -> Context {
        Context {
            host,
            keypair,
            peerstore,
            tags,
            resources,
            service: None,
            shutdown,
        }
    }

    /// This context, for the service called `name`: the streams it accepts and opens count
    /// in that service's resource scope. For node implementations.
    pub fn for_service(self, name: &str) -> Context {
        Context {
            service: Some(Arc::from(name)),
            ..self
        }
    }

    /// The name of the service this context was given to, if any.
    pub fn service_name(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// The node's resource manager: what each scope holds, against its limits.
    pub fn resources(&self) -> &ResourceManager {
        &self.resources
    }

    /// A scope for the memory this service spends on `peer` (queues, requests in flight),
    /// charged to the service, the peer and the system: reserve before holding, release
    /// after, and what is still reserved is given back when the scope's last clone drops.
    pub fn memory_scope(&self, peer: &PeerId) -> Scope {
        let service = self.service.as_deref().unwrap_or("unnamed");
        self.resources.service_span(service, peer)
    }

    fn host(&self) -> Option<Arc<dyn Host>> {
        if self.shutdown.is_cancelled() {
            return None;
        }
        self.host.upgrade()
    }

    /// The node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.keypair.peer_id()
    }

    /// The node's identity key (to sign records).
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// What the node knows about other peers.
    pub fn peerstore(&self) -> &Peerstore {
        &self.peerstore
    }

    /// How much the node values its connections to each peer: tag the peers the service
    /// depends on, protect those it must keep (the connection manager closes the least
    /// valued connections first when the node holds too many).
    pub fn tags(&self) -> &PeerTags {
        &self.tags
    }

    /// The addresses the node listens on (without `/p2p/<id>`); empty once it is gone.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.host()
            .map(|host| host.listen_addrs())
            .unwrap_or_default()
    }

    /// The protocols the node accepts streams for.
    pub fn protocols(&self) -> Vec<String> {
        self.host().map(|host| host.protocols()).unwrap_or_default()
    }

    /// Wakes when the node's listen addresses or protocols change (what identify push
    /// tells peers). Changes in quick succession wake it once.
    pub fn local_changes(&self) -> LocalChanges {
        let receiver = match self.host() {
            Some(host) => host.local_changes(),
            // The sender is dropped at once: `changed` reports the node gone.
            None => watch::channel(()).1,
        };
        LocalChanges { receiver }
    }

    /// Accepts inbound streams of `protocol`, queueing at most `backlog` of them (see
    /// [`Incoming`]); replaces any earlier handler of the protocol. Connected peers learn of
    /// the new protocol through identify push.
    pub fn accept(&self, protocol: impl Into<String>, backlog: usize) -> Incoming {
        let protocol = protocol.into();
        match self.host() {
            Some(host) => host.accept(protocol, backlog, self.service.clone()),
            None => incoming::channel(protocol, backlog, || {}).1,
        }
    }

    /// Opens a stream to `peer` speaking the first of `protocols` it supports, dialling it
    /// first if no connection is open.
    ///
    /// With a single protocol, negotiation is optimistic: the stream is returned at once and
    /// data written to it travels with the proposal; if the peer refuses the protocol, the
    /// first read fails.
    pub async fn open_stream(
        &self,
        peer: PeerId,
        protocols: impl Protocols,
    ) -> Result<Stream, Error> {
        let host = self.host().ok_or(Error::Shutdown)?;
        host.open_stream(peer, protocols.into_protocols(), self.service.clone())
            .await
    }

    /// Opens a stream on one given connection, never dialling: a service following a
    /// connection (keepalive, identify) does not undo its closing.
    pub async fn open_stream_on(
        &self,
        connection: ConnectionId,
        protocols: impl Protocols,
    ) -> Result<Stream, Error> {
        let host = self.host().ok_or(Error::Shutdown)?;
        host.open_stream_on(connection, protocols.into_protocols(), self.service.clone())
            .await
    }

    /// Subscribes to connection events with a queue of `capacity` (see
    /// [`ConnectionEvents`]: lossless, a lagging subscriber is resynchronised).
    pub fn connections(&self, capacity: usize) -> ConnectionEvents {
        match self.host() {
            Some(host) => host.connections(capacity),
            // A hub dropped at once: the subscription ends immediately.
            None => ConnectionHub::default().subscribe(capacity),
        }
    }

    /// The connections open now (what [`connections`](Context::connections) starts with);
    /// empty once the node is gone.
    pub fn open_connections(&self) -> Vec<ConnectionInfo> {
        self.host()
            .map(|host| host.open_connections())
            .unwrap_or_default()
    }

    /// Secures, multiplexes and registers any byte stream as a connection, as the node does
    /// with a TCP connection: what relayed and WebRTC connections need. `direction` says
    /// which side we are in the handshakes; an outbound connection must prove to be
    /// `expected_peer` if one is given. Returns the authenticated peer.
    pub async fn add_connection(
        &self,
        io: impl Io,
        remote_addr: Multiaddr,
        direction: Direction,
        expected_peer: Option<PeerId>,
    ) -> Result<PeerId, Error> {
        let host = self.host().ok_or(Error::Shutdown)?;
        host.add_connection(Box::new(io), remote_addr, direction, expected_peer)
            .await
    }

    /// Tells the node and every service what a peer said about itself (the identify
    /// service calls this).
    pub fn report_identified(&self, identified: Identified) {
        if let Some(host) = self.host() {
            host.report_identified(identified);
        }
    }

    /// Runs `task` until it ends or the node shuts down, whichever comes first.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        // A combinator, not an `async` block around `select!`: the block would keep `task`
        // twice (as captured, and moved into the select), which doubled the memory of every
        // task a service runs per connection.
        tokio::spawn(task.with_cancellation_token_owned(self.shutdown.clone())).abort_handle()
    }

    /// Whether the node has shut down or is gone.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown.is_cancelled() || self.host.strong_count() == 0
    }

    /// Completes when the node shuts down.
    pub async fn shut_down(&self) {
        self.shutdown.cancelled().await;
    }
}

/// Notice of changes to the node's listen addresses or protocols, from
/// [`Context::local_changes`].
#[derive(Debug)]
pub struct LocalChanges {
    receiver: watch::Receiver<()>,
}

impl LocalChanges {
    /// Waits for the next change; `false` once the node is gone.
    pub async fn changed(&mut self) -> bool {
        self.receiver.changed().await.is_ok()
    }
}
