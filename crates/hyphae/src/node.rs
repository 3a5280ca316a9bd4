use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, Weak};
use std::time::Duration;

use hyphae_core::negotiated;
use hyphae_core::resources::{ConnectionScope, Opener, ResourceManager};
use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::{Multiaddr, Protocol};
use hyphae_service::{ConnectionHub, PeerTags, Service, Timeout};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info};

use crate::connection::{self, Established};
use crate::inbound_gate::InboundGate;
use crate::memory_wait::retry_while_short_of_memory;
use crate::metrics::Metrics;
use crate::open_streams::Counted;
use crate::pending::PendingHandshakes;
use crate::pool::{Connection, DialSlot, Pool};
use crate::router::{Handler, Router};
use crate::transport::Accept;
use crate::upgrade::{ADMISSION_PRIORITY, HANDSHAKE_MEMORY, Upgraded, Upgrader};
use crate::{Builder, Direction, Error, Event, Limits, Peerstore, Protocols, Stream, Transport};

/// Events buffered per subscriber before the slowest one starts missing them.
pub(crate) const EVENT_BUFFER: usize = 1024;

/// The handles of a node's services, by the service's type.
pub(crate) type Services = HashMap<TypeId, Box<dyn Any + Send + Sync>>;

/// A running libp2p node: a cheap-to-clone handle.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hyphae::Error> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let server = hyphae::Node::builder().listen("/ip4/127.0.0.1/tcp/0".parse().unwrap()).start().await?;
/// server.handle("/echo/1.0.0", |mut stream| async move {
///     let mut request = Vec::new();
///     if stream.read_to_end(&mut request).await.is_ok() {
///         let _ = stream.write_all(&request).await;
///         let _ = stream.shutdown().await;
///     }
/// });
///
/// let client = hyphae::Node::builder().start().await?;
/// let peer = client.dial(&server.listen_addrs()[0]).await?;
/// let mut stream = client.open_stream(peer, "/echo/1.0.0").await?;
/// stream.write_all(b"hello").await?;
/// stream.shutdown().await?;
/// let mut reply = Vec::new();
/// stream.read_to_end(&mut reply).await?;
/// assert_eq!(reply, b"hello");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) keypair: Keypair,
    pub(crate) peer_id: PeerId,
    pub(crate) upgrader: Upgrader,
    pub(crate) limits: Limits,
    pub(crate) tcp: hyphae_tcp::Config,
    pub(crate) dns: hyphae_dns::Resolver,
    pub(crate) websocket: hyphae_websocket::Config,
    pub(crate) quic: hyphae_quic::Endpoint,
    /// Whether the loop accepting QUIC connections runs (it starts with the first socket).
    pub(crate) is_accepting_quic: AtomicBool,
    pub(crate) router: Router,
    pub(crate) pool: Pool,
    pub(crate) peerstore: Arc<Peerstore>,
    /// What services and the user value, for the connection manager.
    pub(crate) tags: Arc<PeerTags>,
    pub(crate) metrics: Metrics,
    /// What every scope holds, against [`Limits::resources`].
    pub(crate) resources: ResourceManager,
    /// Lifecycle events for users ([`Node::events`]): lossy past [`EVENT_BUFFER`].
    pub(crate) events: broadcast::Sender<Event>,
    /// Connection events for services: lossless per subscriber (resync on lag).
    pub(crate) connection_hub: ConnectionHub,
    /// Marked whenever listen addresses or protocols change (identify push follows).
    pub(crate) local_changes: watch::Sender<()>,
    pub(crate) listen_addrs: RwLock<Vec<Multiaddr>>,
    pub(crate) listeners: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) pending: Arc<PendingHandshakes>,
    /// Per-address caps and rates of inbound connections.
    pub(crate) gate: Arc<InboundGate>,
    pub(crate) services: OnceLock<Services>,
    /// Cancelled by shutdown or drop: ends every service task.
    pub(crate) shutdown: CancellationToken,
}

impl Inner {
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Secures and multiplexes a connection a peer dialled, within the first-bytes and
    /// handshake deadlines; `on_security_agreed` runs once the peer agreed on a security
    /// protocol.
    pub(crate) async fn upgrade_inbound<T>(
        &self,
        io: T,
        scope: ConnectionScope,
        on_security_agreed: impl FnOnce(),
    ) -> Result<Upgraded, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = &self.limits;
        tokio::time::timeout(
            limits.handshake_timeout,
            self.upgrader
                .inbound(io, limits.first_bytes_timeout, scope, on_security_agreed),
        )
        .await
        .map_err(|_| Error::Timeout {
            what: Timeout::Handshake,
            after: limits.handshake_timeout,
        })?
    }

    /// A resource scope for a new connection, in the transient scope, holding the memory its
    /// security handshake may use; refused if the transient or system scope is three
    /// quarters full (see [`ADMISSION_PRIORITY`]).
    pub(crate) fn connection_scope(
        &self,
        direction: Direction,
        uses_fd: bool,
    ) -> Result<ConnectionScope, Error> {
        let opener = match direction {
            Direction::Inbound => Opener::Remote,
            Direction::Outbound => Opener::Local,
        };
        let scope = self.resources.open_connection(opener, uses_fd)?;
        scope
            .scope()
            .reserve_memory_with_priority(HANDSHAKE_MEMORY, ADMISSION_PRIORITY)?;
        Ok(scope)
    }

    /// [`Inner::connection_scope`] for an inbound connection, waiting a moment while memory
    /// is what it lacks (see [`memory_wait`](crate::memory_wait)); other limits refuse at
    /// once. A waiting connection holds its pending-handshake slot, so
    /// [`Limits::max_pending_inbound`] bounds how many wait.
    pub(crate) async fn inbound_connection_scope(&self) -> Result<ConnectionScope, Error> {
        retry_while_short_of_memory(|| self.connection_scope(Direction::Inbound, true)).await
    }

    /// The resource scope of an authenticated QUIC connection: the one its endpoint reserved
    /// its receive window in, moved to the peer's scope with the window; refused if the
    /// peer is at its limits.
    pub(crate) fn quic_scope(
        &self,
        connection: &hyphae_quic::Connection,
        direction: Direction,
    ) -> Result<ConnectionScope, Error> {
        let peer = connection.remote_peer();
        let Some((scope, window)) = connection.take_reservation() else {
            return Ok(self
                .connection_scope(direction, false)?
                .authenticated(&peer)?);
        };
        let scope = scope.authenticated(&peer)?;
        scope.scope().reserve_memory(window as usize)?;
        Ok(scope)
    }

    /// Tells services (identify push) that our addresses or protocols changed.
    pub(crate) fn mark_local_change(&self) {
        self.local_changes.send_replace(());
    }
}

impl Drop for Inner {
    /// The last handle is gone: stop listening and close every connection.
    fn drop(&mut self) {
        self.shutdown.cancel();
        for listener in self
            .listeners
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            listener.abort();
        }
        self.quic.close();
        for connection in self.pool.all() {
            let muxer = connection.muxer;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { muxer.close().await });
            }
        }
    }
}

impl Node {
    /// A builder with the defaults: a fresh Ed25519 key, every transport, Noise and TLS,
    /// Yamux and mplex, and the ping and identify services.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Node {
        Node { inner }
    }

    pub(crate) fn weak(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.peer_id
    }

    /// Our identity key.
    pub fn keypair(&self) -> &Keypair {
        &self.inner.keypair
    }

    /// What the node knows about other peers.
    pub fn peerstore(&self) -> &Peerstore {
        &self.inner.peerstore
    }

    /// The node's resource manager: what each scope (system, transient, service,
    /// protocol, peer) holds now, against [`Limits::resources`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hyphae::Error> {
    /// let node = hyphae::Node::builder().start().await?;
    /// let usage = node.resources().snapshot();
    /// println!("{} bytes reserved by {} peers", usage.system.memory, usage.peers);
    /// assert_eq!(usage.peers, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn resources(&self) -> &ResourceManager {
        &self.inner.resources
    }

    /// The node's metrics in Prometheus' text exposition format: connections open, made,
    /// closed and refused (by limit), connections the connection manager closed, handshake
    /// durations and failures, streams open, opened and refused per protocol, and the
    /// memory, streams and connections each resource scope holds. Serve it on an HTTP
    /// endpoint for Prometheus to scrape (`hyphae node --metrics <addr>` does).
    pub fn metrics(&self) -> String {
        self.inner.metrics.record_resources(
            &self.inner.resources.snapshot(),
            self.inner.resources.limits(),
        );
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = self.inner.metrics.encode(&mut text);
        text
    }

    /// How much the node values its connections to each peer. When it holds more than
    /// [`Limits::high_watermark`] connections, or a new peer arrives at
    /// [`Limits::max_connections`], the connection manager closes the least valued first
    /// and never a protected peer's:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hyphae::Error> {
    /// let node = hyphae::Node::builder().start().await?;
    /// let friend = hyphae::Keypair::generate_ed25519().peer_id();
    /// node.tags().protect(friend, "my-app");
    /// assert!(node.tags().is_protected(&friend));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tags(&self) -> &PeerTags {
        &self.inner.tags
    }

    /// The handle of the node's service of type `S`, if it runs one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hyphae::Error> {
    /// use hyphae::ping::Ping;
    ///
    /// let node = hyphae::Node::builder().start().await?;
    /// assert!(node.service::<Ping>().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn service<S: Service>(&self) -> Option<S::Handle> {
        self.inner
            .services
            .get()?
            .get(&TypeId::of::<S>())?
            .downcast_ref::<S::Handle>()
            .cloned()
    }

    /// Subscribes to the node's lifecycle events. A subscriber that falls more than 1024
    /// events behind misses the oldest (its next `recv` reports how many); services that
    /// must see every connection use `Context::connections` instead.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The addresses we listen on, each ending in `/p2p/<our id>`.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner
            .listen_addrs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|addr| addr.clone().with_p2p(self.inner.peer_id).ok())
            .collect()
    }

    /// Starts listening on `addr` and returns the concrete addresses peers can dial, ending
    /// in `/p2p/<our id>`.
    ///
    /// TCP: `/ip4|ip6/<ip>/tcp/<port>` (port 0 for any free port). WebSocket: the same
    /// followed by `/ws`, or by `/wss` (`/tls/ws`) with a certificate set through
    /// [`Builder::websocket`](crate::Builder::websocket). QUIC:
    /// `/ip4|ip6/<ip>/udp/<port>/quic-v1`; its sockets are also used to dial. In-process:
    /// `/memory/<port>` (0 for any free one).
    pub async fn listen(&self, addr: &Multiaddr) -> Result<Vec<Multiaddr>, Error> {
        match Transport::of(addr) {
            Some(Transport::Tcp) => {
                let listener = hyphae_tcp::Listener::bind(addr, &self.inner.tcp)?;
                let addrs = listener.listen_addrs();
                Ok(self.start_listener(addr, listener, addrs))
            }
            Some(Transport::WebSocket) => {
                let listener = hyphae_websocket::Listener::bind(addr, &self.inner.websocket)?;
                let addrs = listener.listen_addrs();
                Ok(self.start_listener(addr, listener, addrs))
            }
            Some(Transport::Quic) => self.listen_quic(addr).await,
            Some(Transport::Memory) => {
                let listener = hyphae_memory::Listener::bind(addr)?;
                let addrs = listener.listen_addrs();
                Ok(self.start_listener(addr, listener, addrs))
            }
            None => Err(Error::UnsupportedListenAddress(addr.clone())),
        }
    }

    /// Runs `listener`'s accept loop and announces its addresses.
    fn start_listener<L: Accept>(
        &self,
        addr: &Multiaddr,
        listener: L,
        addrs: Vec<Multiaddr>,
    ) -> Vec<Multiaddr> {
        let span = tracing::info_span!("listener", addr = %addr);
        self.keep_listener_task(tokio::spawn(
            connection::accept_loop(listener, self.weak()).instrument(span),
        ));
        self.announce_listen_addrs(addrs)
    }

    /// Binds a QUIC socket; the first one starts the loop accepting from every socket.
    async fn listen_quic(&self, addr: &Multiaddr) -> Result<Vec<Multiaddr>, Error> {
        let quic = &self.inner.quic;
        let before = quic.listen_addrs();
        quic.listen(addr).await?;
        let addrs = quic
            .listen_addrs()
            .into_iter()
            .filter(|addr| !before.contains(addr))
            .collect();
        if !self.inner.is_accepting_quic.swap(true, Ordering::SeqCst) {
            let span = tracing::info_span!("listener", transport = "quic-v1");
            self.keep_listener_task(tokio::spawn(
                connection::accept_quic(quic.clone(), self.weak()).instrument(span),
            ));
        }
        Ok(self.announce_listen_addrs(addrs))
    }

    /// Keeps a listener's task so that shutdown can stop it.
    fn keep_listener_task(&self, task: JoinHandle<()>) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    /// Records new listen addresses, reports them, and tells connected peers.
    fn announce_listen_addrs(&self, addrs: Vec<Multiaddr>) -> Vec<Multiaddr> {
        self.inner
            .listen_addrs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(addrs.iter().cloned());
        let with_id: Vec<Multiaddr> = addrs
            .into_iter()
            .filter_map(|addr| addr.with_p2p(self.inner.peer_id).ok())
            .collect();
        for addr in &with_id {
            info!(%addr, "listening");
            let _ = self
                .inner
                .events
                .send(Event::ListenAddr { addr: addr.clone() });
        }
        self.inner.mark_local_change();
        with_id
    }

    /// Serves `protocol` on inbound streams: `handler` runs on its own task for each one.
    ///
    /// Connected peers learn about the new protocol through identify push.
    pub fn handle<F, Fut>(&self, protocol: impl Into<String>, handler: F)
    where
        F: Fn(Stream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |stream| Box::pin(handler(stream)));
        self.inner.router.insert_handler(protocol.into(), handler);
        self.inner.mark_local_change();
    }

    /// Stops serving `protocol`; returns whether it was served.
    pub fn remove_handler(&self, protocol: &str) -> bool {
        let removed = self.inner.router.remove(protocol);
        if removed {
            self.inner.mark_local_change();
        }
        removed
    }

    /// The protocols we serve.
    pub fn protocols(&self) -> Vec<String> {
        self.inner.router.protocols().to_vec()
    }

    /// Connects to `addr` and returns the peer id it authenticated.
    ///
    /// If `addr` ends in `/p2p/<id>`, the peer must prove that identity, and an existing
    /// connection to it is reused; concurrent dials of the same peer share one attempt.
    pub async fn dial(&self, addr: &Multiaddr) -> Result<PeerId, Error> {
        self.check_running()?;
        let expected = addr.peer_id();
        let Some(peer) = expected else {
            return self.connect(addr, None).await;
        };
        if peer == self.inner.peer_id {
            return Err(Error::DialSelf);
        }
        self.inner.peerstore.add_addrs(peer, [addr.clone()]);
        if self.inner.pool.get(&peer).is_some() {
            return Ok(peer);
        }
        self.shared_dial(peer, || self.connect(addr, Some(peer)))
            .await
            .map(|()| peer)
    }

    /// Makes sure we are connected to `peer`, dialling its known addresses if not.
    pub async fn dial_peer(&self, peer: PeerId) -> Result<(), Error> {
        self.check_running()?;
        if peer == self.inner.peer_id {
            return Err(Error::DialSelf);
        }
        // A connection the peer is closing (it sent Go Away) takes no new streams: dial
        // again rather than hand it out.
        if self.inner.pool.get(&peer).is_some() {
            return Ok(());
        }
        self.shared_dial(peer, || self.dial_known_addrs(peer)).await
    }

    /// Runs `dial` unless a dial of `peer` is already in flight, in which case its outcome
    /// is shared.
    async fn shared_dial<F, Fut, T>(&self, peer: PeerId, dial: F) -> Result<(), Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        match self.inner.pool.dial_slot(peer) {
            DialSlot::Lead(sender) => {
                let result = dial().await.map(|_| ());
                self.inner.pool.finish_dial(&peer);
                match result {
                    Ok(()) => {
                        let _ = sender.send(Some(Ok(())));
                        Ok(())
                    }
                    // Nobody joined: the error is ours alone.
                    Err(error) if sender.receiver_count() == 0 => Err(error),
                    Err(error) => {
                        let shared = Arc::new(error);
                        let _ = sender.send(Some(Err(Arc::clone(&shared))));
                        Err(Error::DialFailed {
                            peer,
                            source: shared,
                        })
                    }
                }
            }
            DialSlot::Join(mut receiver) => {
                let outcome = receiver
                    .wait_for(Option::is_some)
                    .await
                    .map(|outcome| outcome.clone());
                match outcome {
                    Ok(Some(Ok(()))) => Ok(()),
                    Ok(Some(Err(source))) => Err(Error::DialFailed { peer, source }),
                    // The leader gave up without reporting: try ourselves.
                    _ => dial().await.map(|_| ()),
                }
            }
        }
    }

    async fn dial_known_addrs(&self, peer: PeerId) -> Result<PeerId, Error> {
        let addrs = self.inner.peerstore.addrs(&peer);
        if addrs.is_empty() {
            return Err(Error::NoAddresses(peer));
        }
        let mut attempts = Vec::new();
        // Newest addresses first: they are the likeliest to work.
        for addr in addrs.into_iter().rev() {
            match self.connect(&addr, Some(peer)).await {
                Ok(peer) => return Ok(peer),
                Err(error) => attempts.push((addr, error)),
            }
        }
        Err(Error::Unreachable { peer, attempts })
    }

    /// Dials one address (resolving `/dnsaddr` first) and upgrades the connection.
    async fn connect(&self, addr: &Multiaddr, expected: Option<PeerId>) -> Result<PeerId, Error> {
        if !matches!(addr.iter().next(), Some(Protocol::Dnsaddr(_))) {
            return self.connect_resolved(addr, expected).await;
        }
        let timeout = self.inner.limits.handshake_timeout;
        let candidates =
            tokio::time::timeout(timeout, hyphae_dns::resolve_dnsaddr(&self.inner.dns, addr))
                .await
                .map_err(|_| Error::Timeout {
                    what: Timeout::DnsaddrResolution,
                    after: timeout,
                })??;
        debug!(%addr, resolved = candidates.len(), "resolved dnsaddr");
        let mut attempts = Vec::new();
        for candidate in candidates {
            let expected = expected.or(candidate.peer_id());
            if expected == Some(self.inner.peer_id) {
                continue;
            }
            match self.connect_resolved(&candidate, expected).await {
                Ok(peer) => return Ok(peer),
                Err(error) => attempts.push((candidate, error)),
            }
        }
        Err(Error::DnsaddrUnreachable {
            addr: addr.clone(),
            attempts,
        })
    }

    /// Dials one address of a transport and upgrades the connection.
    async fn connect_resolved(
        &self,
        addr: &Multiaddr,
        expected: Option<PeerId>,
    ) -> Result<PeerId, Error> {
        let mut remote_addr = addr.clone();
        if remote_addr.peer_id().is_some() {
            remote_addr.pop();
        }
        let outbound = Direction::Outbound;
        let started = std::time::Instant::now();
        let established = self.establish_outbound(addr, remote_addr, expected).await;
        self.inner
            .metrics
            .handshake_done(outbound, started, &established);
        let established = established?;
        let peer = established.peer;
        self.inner
            .peerstore
            .add_addrs(peer, [established.remote_addr.clone()]);
        connection::establish(&self.inner, established)?;
        Ok(peer)
    }

    /// Dials `addr` and secures and multiplexes the connection.
    async fn establish_outbound(
        &self,
        addr: &Multiaddr,
        remote_addr: Multiaddr,
        expected: Option<PeerId>,
    ) -> Result<Established, Error> {
        let outbound = Direction::Outbound;
        let established = match Transport::of(addr) {
            Some(Transport::Tcp) => {
                let scope = self.inner.connection_scope(outbound, true)?;
                let tcp = hyphae_tcp::dial(addr, &self.inner.tcp).await?;
                let upgraded = self.upgrade_outbound(tcp, expected, scope).await?;
                Established::upgraded(upgraded, remote_addr, outbound)
            }
            Some(Transport::WebSocket) => {
                let scope = self.inner.connection_scope(outbound, true)?;
                let websocket = hyphae_websocket::dial(addr, &self.inner.websocket).await?;
                let upgraded = self.upgrade_outbound(websocket, expected, scope).await?;
                Established::upgraded(upgraded, remote_addr, outbound)
            }
            Some(Transport::Quic) => {
                // The endpoint checks the /p2p/ id of the address inside the handshake,
                // before it shows our certificate, and within the node's handshake timeout.
                let target = match expected {
                    Some(peer) if addr.peer_id().is_none() => {
                        addr.clone().with(Protocol::P2p(peer))
                    }
                    _ => addr.clone(),
                };
                let quic = self.inner.quic.dial(&target).await?;
                let actual = quic.remote_peer();
                if let Some(expected) = expected.filter(|&expected| expected != actual) {
                    quic.close();
                    return Err(Error::PeerIdMismatch { expected, actual });
                }
                match self.inner.quic_scope(&quic, outbound) {
                    Ok(scope) => Established::quic(quic, outbound, scope),
                    Err(error) => {
                        quic.close();
                        return Err(error);
                    }
                }
            }
            Some(Transport::Memory) => {
                let scope = self.inner.connection_scope(outbound, false)?;
                let memory = hyphae_memory::dial(addr).await?;
                let upgraded = self.upgrade_outbound(memory, expected, scope).await?;
                Established::upgraded(upgraded, remote_addr, outbound)
            }
            None => return Err(Error::UnsupportedAddress(addr.clone())),
        };
        Ok(established)
    }

    /// Secures and multiplexes a raw connection we dialled, within the handshake timeout.
    async fn upgrade_outbound<T>(
        &self,
        io: T,
        expected: Option<PeerId>,
        scope: ConnectionScope,
    ) -> Result<Upgraded, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let timeout = self.inner.limits.handshake_timeout;
        tokio::time::timeout(timeout, self.inner.upgrader.outbound(io, expected, scope))
            .await
            .map_err(|_| Error::Timeout {
                what: Timeout::Handshake,
                after: timeout,
            })?
    }

    /// Opens a stream to `peer` speaking the first of `protocols` it supports, connecting
    /// first if needed.
    ///
    /// With a single protocol, negotiation is optimistic: the stream is returned at once and
    /// data written to it travels with the proposal; if the peer refuses the protocol, the
    /// first read fails.
    pub async fn open_stream(
        &self,
        peer: PeerId,
        protocols: impl Protocols,
    ) -> Result<Stream, Error> {
        self.open_stream_for(peer, protocols.into_protocols(), None)
            .await
    }

    /// Opens a stream to `peer` for `service` (if a service asks), counted in its scope.
    pub(crate) async fn open_stream_for(
        &self,
        peer: PeerId,
        protocols: Vec<String>,
        service: Option<&str>,
    ) -> Result<Stream, Error> {
        self.dial_peer(peer).await?;
        let connection = self
            .inner
            .pool
            .get(&peer)
            .ok_or(Error::NotConnected(peer))?;
        self.open_stream_on(&connection, protocols, service).await
    }

    /// Opens a stream on one given connection, never dialling; it counts in the resource
    /// scopes of its connection, protocol and `service`, and fails if one is full.
    pub(crate) async fn open_stream_on(
        &self,
        connection: &Connection,
        protocols: Vec<String>,
        service: Option<&str>,
    ) -> Result<Stream, Error> {
        let raw = connection.muxer.open_stream().await?;
        let negotiated = if protocols.len() == 1 {
            // Optimistic: nothing is awaited from the peer here, only our own write queue,
            // which is backpressure rather than a peer to time out.
            negotiated::dial(raw, protocols).await?
        } else {
            let timeout = self.inner.limits.stream_negotiation_timeout;
            tokio::time::timeout(timeout, negotiated::dial(raw, protocols))
                .await
                .map_err(|_| Error::Timeout {
                    what: Timeout::StreamNegotiation,
                    after: timeout,
                })??
        };
        let protocol = negotiated.protocol().to_owned();
        let scope = self.inner.resources.open_stream(
            &connection.scope,
            Opener::Local,
            &protocol,
            service,
        )?;
        Ok(Stream::new(
            Counted::new(
                negotiated,
                &protocol,
                &connection.open_streams,
                self.inner
                    .metrics
                    .stream_opened(&protocol, Direction::Outbound),
            )
            .holding(scope),
            protocol,
            connection.peer,
            connection.id,
            connection.remote_addr.clone(),
        ))
    }

    /// Secures, multiplexes and registers a byte stream as a connection (see
    /// `Context::add_connection`).
    pub(crate) async fn add_connection(
        &self,
        io: Box<dyn hyphae_service::Io>,
        remote_addr: Multiaddr,
        direction: Direction,
        expected: Option<PeerId>,
    ) -> Result<PeerId, Error> {
        self.check_running()?;
        let scope = self.inner.connection_scope(direction, false)?;
        let upgraded = match direction {
            Direction::Outbound => self.upgrade_outbound(io, expected, scope).await?,
            Direction::Inbound => self.inner.upgrade_inbound(io, scope, || {}).await?,
        };
        if let Some(expected) = expected.filter(|&expected| expected != upgraded.peer) {
            let actual = upgraded.peer;
            upgraded.muxer.close().await;
            return Err(Error::PeerIdMismatch { expected, actual });
        }
        let peer = upgraded.peer;
        connection::establish(
            &self.inner,
            Established::upgraded(upgraded, remote_addr, direction),
        )?;
        Ok(peer)
    }

    /// Pings `peer` once (connecting if needed) and returns the round-trip time: the ping
    /// service's [`Handle::ping`](crate::ping::Handle::ping).
    pub async fn ping(&self, peer: PeerId) -> Result<Duration, crate::ping::Error> {
        let ping = self
            .service::<crate::ping::Ping>()
            .ok_or(Error::ServiceNotRunning("ping"))?;
        ping.ping(peer).await
    }

    /// Whether we have a connection to `peer`.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.inner.pool.is_connected(peer)
    }

    /// The peers we have connections to.
    pub fn connected_peers(&self) -> Vec<PeerId> {
        self.inner.pool.peers()
    }

    /// Closes every connection to `peer` (each then reports
    /// [`Event::ConnectionClosed`]).
    pub async fn disconnect(&self, peer: PeerId) {
        let connections = self.inner.pool.all();
        for connection in connections.into_iter().filter(|c| c.peer == peer) {
            connection.muxer.close().await;
        }
    }

    /// Stops listening and closes every connection gracefully (Yamux Go Away). Further
    /// dials fail with [`Error::Shutdown`].
    pub async fn shutdown(&self) {
        if self.inner.shutdown.is_cancelled() {
            return;
        }
        // First, so that services stop and a handshake finishing now sees it.
        self.inner.shutdown.cancel();
        let listeners: Vec<_> = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for listener in listeners {
            listener.abort();
        }
        for connection in self.inner.pool.all() {
            connection.muxer.close().await;
        }
        self.inner.quic.close();
        debug!("node shut down");
    }

    fn check_running(&self) -> Result<(), Error> {
        if self.inner.is_shut_down() {
            Err(Error::Shutdown)
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("peer_id", &self.inner.peer_id)
            .field("listen_addrs", &self.listen_addrs())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The task that upgrades an inbound connection is allocated whole for every connection
    /// being set up, and a burst of them sets the heap's high-water mark. With the security
    /// handshakes and the muxer's start inline it was 12.6 KiB, and the listener's memory per
    /// idle connection 14.6 KiB instead of 10.7 (`connections --bench memory`).
    #[tokio::test]
    async fn an_inbound_upgrade_is_a_small_future() {
        let node = Node::builder().start().await.unwrap();
        let scope = node
            .inner
            .connection_scope(Direction::Inbound, true)
            .unwrap();
        let (io, _peer) = tokio::io::duplex(64);
        let upgrade = node.inner.upgrade_inbound(io, scope, || {});
        let size = std::mem::size_of_val(&upgrade);
        assert!(size <= 2048, "the inbound upgrade future is {size} bytes");
    }
}
