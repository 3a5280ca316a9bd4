//! The endpoint: UDP sockets that listen for and dial QUIC connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use hyphae_core::resources::{Opener, ResourceManager};
use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::Multiaddr;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::debug;

use crate::address::{self, socket_multiaddr};
use crate::config::Path;
use crate::memory::{self, Reservation};
use crate::{Config, Connection, Error};

/// The server name handed to quinn: never sent (SNI is off) nor checked.
const PLACEHOLDER_NAME: &str = "l";

/// A QUIC endpoint of a libp2p node: listens on any number of `/udp/…/quic-v1` addresses,
/// accepts connections on them, and dials out.
///
/// As quic/README.md asks, a dial reuses the socket of a listener of the same IP family
/// (one bound to the unspecified address, or of the same loopback-ness as the target), so
/// the peer sees our listening port as the source, which helps NAT traversal; with no such
/// listener it uses a client-only socket on an ephemeral port, made once per family.
///
/// Cheap to clone; the sockets close with [`close`](Self::close) or when the last clone is
/// dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hyphae_identity::Keypair;
/// use hyphae_quic::{Config, Endpoint};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let listener = Endpoint::new(&Keypair::generate_ed25519(), Config::default())?;
/// let addr = listener.listen(&"/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()).await?;
/// let dialer = Endpoint::new(&Keypair::generate_ed25519(), Config::default())?;
///
/// let dialled = addr.with_p2p(listener.local_peer_id()).unwrap();
/// let (connection, accepted) = tokio::join!(dialer.dial(&dialled), listener.accept());
/// let (connection, accepted) = (connection?, accepted.unwrap());
/// assert_eq!(accepted.remote_peer(), dialer.local_peer_id());
///
/// let mut stream = connection.open_stream().await?;
/// stream.write_all(b"hello").await?;
/// stream.shutdown().await?;
/// let mut inbound = accepted.accept().await.unwrap();
/// let mut received = Vec::new();
/// inbound.read_to_end(&mut received).await?;
/// assert_eq!(received, b"hello");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    tls: hyphae_tls::Config,
    /// Transport parameters of connections over the network, and to our own host (see
    /// [`Path`]), with the configured receive window.
    transport: Arc<quinn::TransportConfig>,
    loopback_transport: Arc<quinn::TransportConfig>,
    /// Settings of each quinn endpoint (one per socket).
    endpoint: quinn::EndpointConfig,
    server: quinn::ServerConfig,
    sockets: Mutex<Sockets>,
    /// Established inbound connections, from every listener.
    accepted_tx: mpsc::Sender<Connection>,
    accepted_rx: tokio::sync::Mutex<mpsc::Receiver<Connection>>,
    /// Bounds the handshakes running at once; see [`Config::max_pending_handshakes`].
    handshakes: Arc<Semaphore>,
    /// Becomes true when the endpoint is closed.
    closed: watch::Sender<bool>,
    /// Where new connections reserve their receive windows, if anywhere.
    memory: OnceLock<ResourceManager>,
}

#[derive(Debug, Default)]
struct Sockets {
    listeners: Vec<Listener>,
    client_v4: Option<quinn::Endpoint>,
    client_v6: Option<quinn::Endpoint>,
}

#[derive(Debug)]
struct Listener {
    endpoint: quinn::Endpoint,
    local_addr: SocketAddr,
}

impl Endpoint {
    /// An endpoint authenticating as `identity`, with no socket yet.
    pub fn new(identity: &Keypair, config: Config) -> Result<Endpoint, Error> {
        Endpoint::with_tls(hyphae_tls::Config::new(identity)?, config)
    }

    /// An endpoint presenting the certificate of `tls` (a node that also runs TLS over TCP
    /// shares one certificate between both), with no socket yet. Its muxer list is not
    /// used: QUIC offers only the ALPN `libp2p`.
    pub fn with_tls(tls: hyphae_tls::Config, config: Config) -> Result<Endpoint, Error> {
        let endpoint = config.endpoint()?;
        let transport = config.transport(Path::Network)?;
        let loopback_transport = config.transport(Path::Loopback)?;
        let server_tls = hyphae_tls::server_config(&tls, vec![hyphae_tls::ALPN.to_vec()])?;
        let crypto = QuicServerConfig::try_from(server_tls)
            .map_err(|_| Error::InvalidConfig("TLS lacks the QUIC initial cipher suite"))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        server.transport_config(transport.clone());
        // Bound the connection attempts quinn itself buffers before we see them.
        server.max_incoming(config.max_pending_handshakes.max(1));
        let (accepted_tx, accepted_rx) = mpsc::channel(config.accept_queue.max(1));
        Ok(Endpoint {
            inner: Arc::new(Inner {
                handshakes: Arc::new(Semaphore::new(config.max_pending_handshakes)),
                config,
                tls,
                transport,
                loopback_transport,
                endpoint,
                server,
                sockets: Mutex::new(Sockets::default()),
                accepted_tx,
                accepted_rx: tokio::sync::Mutex::new(accepted_rx),
                closed: watch::Sender::new(false),
                memory: OnceLock::new(),
            }),
        })
    }

    /// Makes every new connection reserve its receive window from `resources` before its
    /// handshake, and take the window it could reserve (see [`MIN_WINDOW`](crate::MIN_WINDOW)):
    /// the reservation sits in a connection scope that
    /// [`Connection::take_reservation`] hands to the node. Only the first call counts.
    pub fn set_memory(&self, resources: ResourceManager) {
        let _ = self.inner.memory.set(resources);
    }

    /// Inbound handshakes running now (at most [`Config::max_pending_handshakes`]).
    pub fn pending_handshakes(&self) -> usize {
        let config = &self.inner.config;
        let free = self.inner.handshakes.available_permits();
        config.max_pending_handshakes.saturating_sub(free)
    }

    /// The peer id we authenticate as.
    pub fn local_peer_id(&self) -> PeerId {
        self.inner.tls.local_peer_id()
    }

    /// Binds a UDP socket to `/ip4|ip6/<ip>/udp/<port>/quic-v1` and starts accepting
    /// connections on it; returns the bound address (port 0 becomes the port the system
    /// chose). IPv6 sockets are IPv6-only, so the same port can also be bound on IPv4.
    pub async fn listen(&self, addr: &Multiaddr) -> Result<Multiaddr, Error> {
        let requested = address::listen_target(addr)?;
        if *self.inner.closed.borrow() {
            return Err(Error::EndpointClosed);
        }
        let socket = bind(requested, self.inner.config.socket_buffer_size)?;
        let local_addr = socket.local_addr().map_err(|error| Error::Io {
            action: "reading the address of",
            addr: addr.clone(),
            error,
        })?;
        let endpoint = quinn::Endpoint::new(
            self.inner.endpoint.clone(),
            Some(self.inner.server.clone()),
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(|error| Error::Io {
            action: "starting QUIC on",
            addr: addr.clone(),
            error,
        })?;
        tokio::spawn(accept_loop(
            endpoint.clone(),
            self.inner.accepted_tx.clone(),
            self.inner.handshakes.clone(),
            Arc::downgrade(&self.inner),
        ));
        debug!(addr = %socket_multiaddr(local_addr), "QUIC listening");
        self.inner.sockets().listeners.push(Listener {
            endpoint,
            local_addr,
        });
        Ok(socket_multiaddr(local_addr))
    }

    /// The addresses we listen on, with unspecified ones (`0.0.0.0`, `::`) expanded to the
    /// addresses of the host's interfaces of that family (link-local IPv6 left out).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        let locals: Vec<SocketAddr> = self
            .inner
            .sockets()
            .listeners
            .iter()
            .map(|listener| listener.local_addr)
            .collect();
        locals
            .into_iter()
            .flat_map(hyphae_netaddr::expand_unspecified)
            .map(socket_multiaddr)
            .collect()
    }

    /// The socket addresses we listen on, as bound.
    pub fn listen_socket_addrs(&self) -> Vec<SocketAddr> {
        self.inner
            .sockets()
            .listeners
            .iter()
            .map(|listener| listener.local_addr)
            .collect()
    }

    /// The next authenticated inbound connection, from any listener; `None` once the
    /// endpoint is closed. Failed inbound handshakes are logged and skipped.
    pub async fn accept(&self) -> Option<Connection> {
        let mut closed = self.inner.closed.subscribe();
        let mut accepted = self.inner.accepted_rx.lock().await;
        tokio::select! {
            connection = accepted.recv() => connection,
            _ = closed.wait_for(|is_closed| *is_closed) => None,
        }
    }

    /// Connects to `/ip4|ip6|dns|dns4|dns6/<host>/udp/<port>/quic-v1[/p2p/<id>]` and
    /// authenticates the peer, which must be `<id>` when the address names one
    /// ([`Error::PeerIdMismatch`] otherwise, before we reveal our identity).
    ///
    /// Resolved addresses are tried in turn; the whole dial is bounded by
    /// [`Config::handshake_timeout`].
    pub async fn dial(&self, addr: &Multiaddr) -> Result<Connection, Error> {
        let target = address::dial_target(addr)?;
        let timeout = self.inner.config.handshake_timeout;
        let attempt = async {
            let candidates = hyphae_netaddr::resolve(&target.host, target.port).await?;
            let mut last_error = None;
            for remote in candidates {
                match self.connect(remote, target.peer).await {
                    Ok(connection) => return Ok(connection),
                    Err(error) => {
                        debug!(%addr, %remote, %error, "QUIC dial failed");
                        last_error = Some(error);
                    }
                }
            }
            Err(last_error.unwrap_or(Error::EndpointClosed))
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| Error::HandshakeTimeout {
                addr: addr.clone(),
                seconds: timeout.as_secs_f64(),
            })?
    }

    /// Dials one socket address.
    async fn connect(
        &self,
        remote: SocketAddr,
        expected: Option<PeerId>,
    ) -> Result<Connection, Error> {
        let endpoint = self.endpoint_for(remote)?;
        let (tls, rejection) =
            hyphae_tls::client_config(&self.inner.tls, expected, vec![hyphae_tls::ALPN.to_vec()])?;
        let crypto = QuicClientConfig::try_from(tls)
            .map_err(|_| Error::InvalidConfig("TLS lacks the QUIC initial cipher suite"))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        let (reservation, transport) = self.inner.reserve_window(Opener::Local, remote)?;
        client.transport_config(transport);
        let connecting = endpoint.connect_with(client, remote, PLACEHOLDER_NAME)?;
        match connecting.await {
            Ok(connection) => {
                let connection = Connection::new(
                    connection,
                    &self.inner.tls,
                    self.inner.config.max_concurrent_streams,
                )?
                .holding(reservation);
                debug!(peer = %connection.remote_peer(), %remote, "QUIC connection established (outbound)");
                Ok(connection)
            }
            // Our verifier's reason is more precise than the TLS alert quinn reports.
            Err(error) => Err(rejection
                .take()
                .map_or(Error::Connection(error), Error::from)),
        }
    }

    /// The socket to dial `remote` from: a listener's when one fits, else the client-only
    /// socket of that family (bound on first use).
    fn endpoint_for(&self, remote: SocketAddr) -> Result<quinn::Endpoint, Error> {
        let mut sockets = self.inner.sockets();
        if *self.inner.closed.borrow() {
            return Err(Error::EndpointClosed);
        }
        let reusable = sockets.listeners.iter().find(|listener| {
            let local = listener.local_addr.ip();
            local.is_ipv4() == remote.is_ipv4()
                && (local.is_unspecified() || local.is_loopback() == remote.ip().is_loopback())
        });
        if let Some(listener) = reusable {
            return Ok(listener.endpoint.clone());
        }
        let slot = if remote.is_ipv4() {
            &mut sockets.client_v4
        } else {
            &mut sockets.client_v6
        };
        if let Some(endpoint) = slot {
            return Ok(endpoint.clone());
        }
        let unspecified = if remote.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        let local = SocketAddr::new(unspecified, 0);
        let endpoint = quinn::Endpoint::new(
            self.inner.endpoint.clone(),
            None,
            bind(local, self.inner.config.socket_buffer_size)?,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(|error| Error::Io {
            action: "starting QUIC on",
            addr: socket_multiaddr(local),
            error,
        })?;
        *slot = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// Closes every socket: connections close, `accept` returns `None`, and later `listen`
    /// and `dial` calls fail with [`Error::EndpointClosed`].
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
        self.inner.close_sockets();
    }
}

impl Inner {
    /// A new connection's window reservation and the transport parameters that go with it;
    /// the configured ones without a memory budget.
    fn reserve_window(
        &self,
        opener: Opener,
        remote: SocketAddr,
    ) -> Result<(Reservation, Arc<quinn::TransportConfig>), Error> {
        let path = Path::to(remote);
        let configured = match path {
            Path::Loopback => &self.loopback_transport,
            Path::Network => &self.transport,
        };
        let Some(resources) = self.memory.get() else {
            return Ok((Reservation::default(), configured.clone()));
        };
        let wanted = self.config.connection_receive_window;
        let (reservation, window) =
            memory::reserve(resources, opener, wanted).ok_or(Error::NoMemory)?;
        let transport = if window == wanted {
            configured.clone()
        } else {
            self.config.transport_with_window(window, path)?
        };
        Ok((reservation, transport))
    }

    fn sockets(&self) -> MutexGuard<'_, Sockets> {
        // A panic while holding the lock leaves the socket list intact; keep using it.
        self.sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn close_sockets(&self) {
        let mut sockets = self.sockets();
        let code = quinn::VarInt::from_u32(0);
        for listener in sockets.listeners.drain(..) {
            listener.endpoint.close(code, b"");
        }
        for endpoint in [sockets.client_v4.take(), sockets.client_v6.take()]
            .into_iter()
            .flatten()
        {
            endpoint.close(code, b"");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The accept loops hold their quinn endpoints; closing ends them.
        self.close_sockets();
    }
}

/// Accepts connections on one listener until it closes, running each handshake in its own
/// task so that a slow peer cannot hold up the others.
///
/// Once `retry_above_pending` handshakes run, a connection from an unvalidated address is
/// sent a Retry first, which costs us no state.
async fn accept_loop(
    endpoint: quinn::Endpoint,
    accepted: mpsc::Sender<Connection>,
    handshakes: Arc<Semaphore>,
    owner: Weak<Inner>,
) {
    while let Some(incoming) = endpoint.accept().await {
        let Some(inner) = owner.upgrade() else {
            return;
        };
        let config = &inner.config;
        let timeout = config.handshake_timeout;
        let max_streams = config.max_concurrent_streams;
        let pending = config
            .max_pending_handshakes
            .saturating_sub(handshakes.available_permits());
        if pending >= config.retry_above_pending && !incoming.remote_address_validated() {
            if incoming.may_retry() {
                // The peer comes back with a token that proves it receives at its address.
                if let Err(error) = incoming.retry() {
                    error.into_incoming().ignore();
                }
            } else {
                incoming.ignore();
            }
            continue;
        }
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            debug!(remote = %incoming.remote_address(), "too many QUIC handshakes; refusing");
            incoming.refuse();
            continue;
        };
        let reserved = inner
            .reserve_window(Opener::Remote, incoming.remote_address())
            .map(|(reservation, transport)| {
                let mut server = inner.server.clone();
                server.transport_config(transport);
                (reservation, server)
            });
        let (reservation, server) = match reserved {
            Ok(reserved) => reserved,
            Err(error) => {
                debug!(remote = %incoming.remote_address(), %error, "refusing a QUIC connection");
                incoming.refuse();
                continue;
            }
        };
        // Reads the verified certificate of each handshake (cheap to clone).
        let tls = inner.tls.clone();
        drop(inner);
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let handshake = async {
                let connection = incoming.accept_with(Arc::new(server))?.await?;
                let connection = Connection::new(connection, &tls, max_streams)?;
                Ok::<_, Error>(connection.holding(reservation))
            };
            match tokio::time::timeout(timeout, handshake).await {
                Ok(Ok(connection)) => {
                    debug!(peer = %connection.remote_peer(), %remote, "QUIC connection established (inbound)");
                    // Waits while the accept queue is full; the permit is held meanwhile.
                    let _ = accepted.send(connection).await;
                }
                Ok(Err(error)) => debug!(%remote, %error, "inbound QUIC handshake failed"),
                Err(_) => debug!(%remote, "inbound QUIC handshake timed out"),
            }
            drop(permit);
        });
    }
}

/// Binds a non-blocking UDP socket; IPv6 sockets are IPv6-only.
fn bind(addr: SocketAddr, buffer_size: usize) -> Result<std::net::UdpSocket, Error> {
    let io_error = |action: &'static str| {
        move |error| Error::Io {
            action,
            addr: socket_multiaddr(addr),
            error,
        }
    };
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(io_error("creating a socket for"))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(io_error("configuring"))?;
    }
    socket
        .set_nonblocking(true)
        .map_err(io_error("configuring"))?;
    // Best effort: the kernel grants what its limits allow.
    if let Err(error) = socket
        .set_recv_buffer_size(buffer_size)
        .and_then(|()| socket.set_send_buffer_size(buffer_size))
    {
        debug!(%error, "could not enlarge the UDP socket buffers");
    }
    socket.bind(&addr.into()).map_err(io_error("binding"))?;
    Ok(socket.into())
}
