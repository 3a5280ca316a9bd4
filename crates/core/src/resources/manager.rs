//! The resource manager: the scopes of one node, made on demand and found by name.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyphae_identity::PeerId;

use super::limits::{ResourceLimits, ScopeLimits};
use super::scope::{LimitExceeded, Resource, Scope, ScopeKind, ScopeName, Usage, WeakScope};

/// Who opened a connection or stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opener {
    /// The remote peer.
    Remote,
    /// We did.
    Local,
}

/// The scopes of a node: the system and transient scopes, one per service, protocol and
/// peer (made when first needed; a peer's scope lives while something of it does), and one
/// per connection and stream. Cheap to clone.
///
/// ```
/// use hyphae_core::resources::{Opener, ResourceLimits, ResourceManager};
///
/// let resources = ResourceManager::new(ResourceLimits::scaled(1 << 30, 1024));
/// let connection = resources.open_connection(Opener::Remote, true).unwrap();
/// assert_eq!(resources.transient().usage().inbound_connections, 1);
/// drop(connection);
/// assert!(resources.transient().usage().is_empty());
/// ```
#[derive(Clone)]
pub struct ResourceManager {
    inner: Arc<Inner>,
}

struct Inner {
    limits: ResourceLimits,
    /// The limits of the scopes made per peer, connection, stream and service span, shared
    /// by all scopes of the kind.
    shared: SharedLimits,
    system: Scope,
    transient: Scope,
    services: Mutex<HashMap<Arc<str>, Scope>>,
    protocols: Mutex<HashMap<Arc<str>, Scope>>,
    peers: Mutex<Peers>,
    next_id: AtomicU64,
}

/// [`ResourceLimits`] of the kinds with a scope per peer, connection, stream or span.
struct SharedLimits {
    peer: Arc<ScopeLimits>,
    connection: Arc<ScopeLimits>,
    stream: Arc<ScopeLimits>,
    unlimited: Arc<ScopeLimits>,
}

/// Peer scopes by peer, held weakly: a peer's scope goes with its last connection.
#[derive(Default)]
struct Peers {
    by_peer: HashMap<PeerId, WeakScope>,
    /// Size after the last sweep of dead entries: the next sweep is due at twice it.
    swept_len: usize,
}

/// What every scope of the node holds, at one moment.
#[derive(Debug, Clone, Default)]
pub struct ResourceSnapshot {
    /// The whole node.
    pub system: Usage,
    /// Connections in their handshakes.
    pub transient: Usage,
    /// Each service that has a scope.
    pub services: Vec<(Arc<str>, Usage)>,
    /// Each protocol that has a scope.
    pub protocols: Vec<(Arc<str>, Usage)>,
    /// How many peers have a scope (something of theirs is open).
    pub peers: usize,
    /// Reservations refused since the node started, by the kind of scope that refused and
    /// the resource (only those that happened).
    pub refusals: Vec<(ScopeKind, Resource, u64)>,
}

impl ResourceManager {
    /// A manager enforcing `limits`.
    pub fn new(limits: ResourceLimits) -> ResourceManager {
        let system = Scope::new(ScopeName::System, Arc::new(limits.system), &[]);
        let transient = Scope::new(ScopeName::Transient, Arc::new(limits.transient), &[&system]);
        let shared = SharedLimits {
            peer: Arc::new(limits.peer),
            connection: Arc::new(limits.connection),
            stream: Arc::new(limits.stream),
            unlimited: Arc::new(ScopeLimits::UNLIMITED),
        };
        ResourceManager {
            inner: Arc::new(Inner {
                limits,
                shared,
                system,
                transient,
                services: Mutex::default(),
                protocols: Mutex::default(),
                peers: Mutex::default(),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &ResourceLimits {
        &self.inner.limits
    }

    /// The scope of the whole node.
    pub fn system(&self) -> &Scope {
        &self.inner.system
    }

    /// The scope of connections in their handshakes.
    pub fn transient(&self) -> &Scope {
        &self.inner.transient
    }

    /// The scope of service `name`.
    pub fn service(&self, name: &str) -> Scope {
        let limits = self.inner.limits.service_limits(name);
        named(&self.inner.services, name, |name| {
            Scope::new(
                ScopeName::Service(name),
                Arc::new(limits),
                &[&self.inner.system],
            )
        })
    }

    /// The scope of protocol `id`.
    pub fn protocol(&self, id: &str) -> Scope {
        let limits = self.inner.limits.protocol_limits(id);
        named(&self.inner.protocols, id, |id| {
            Scope::new(
                ScopeName::Protocol(id),
                Arc::new(limits),
                &[&self.inner.system],
            )
        })
    }

    /// The scope of `peer`, shared by everything of it open now.
    pub fn peer(&self, peer: &PeerId) -> Scope {
        let mut peers = lock(&self.inner.peers);
        if let Some(scope) = peers.by_peer.get(peer).and_then(WeakScope::upgrade) {
            return scope;
        }
        let scope = Scope::new(
            ScopeName::Peer(*peer),
            Arc::clone(&self.inner.shared.peer),
            &[&self.inner.system],
        );
        peers.by_peer.insert(*peer, scope.downgrade());
        if peers.by_peer.len() >= 2 * peers.swept_len.max(64) {
            peers.by_peer.retain(|_, scope| scope.is_alive());
            peers.swept_len = peers.by_peer.len();
        }
        scope
    }

    /// What `peer`'s scope holds, if it has one.
    pub fn peer_usage(&self, peer: &PeerId) -> Option<Usage> {
        let peers = lock(&self.inner.peers);
        Some(peers.by_peer.get(peer)?.upgrade()?.usage())
    }

    /// A scope for a new connection, in the transient scope until
    /// [`ConnectionScope::authenticated`] moves it to its peer's. Counts the connection (and
    /// its socket's file descriptor if `uses_fd`), or refuses it.
    pub fn open_connection(
        &self,
        opener: Opener,
        uses_fd: bool,
    ) -> Result<ConnectionScope, LimitExceeded> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let scope = Scope::new(
            ScopeName::Connection(id),
            Arc::clone(&self.inner.shared.connection),
            &[&self.inner.transient],
        );
        let connection = ConnectionScope {
            id,
            scope,
            opener,
            uses_fd,
            manager: self.clone(),
        };
        connection.scope.reserve(&connection.counts())?;
        Ok(connection)
    }

    /// A scope for a new stream on `connection` that negotiated `protocol`, run by
    /// `service` if a service runs it. Counts the stream, or refuses it.
    pub fn open_stream(
        &self,
        connection: &ConnectionScope,
        opener: Opener,
        protocol: &str,
        service: Option<&str>,
    ) -> Result<Scope, LimitExceeded> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let protocol = self.protocol(protocol);
        let service = service.map(|name| self.service(name));
        let mut parents = vec![connection.scope(), &protocol];
        parents.extend(service.as_ref());
        let limits = Arc::clone(&self.inner.shared.stream);
        let scope = Scope::new(ScopeName::Stream(id), limits, &parents);
        let direction = match opener {
            Opener::Remote => Resource::InboundStreams,
            Opener::Local => Resource::OutboundStreams,
        };
        scope.reserve(&[(direction, 1), (Resource::Streams, 1)])?;
        Ok(scope)
    }

    /// A scope for memory that `service` spends on `peer` (its queues, its requests in
    /// flight): charged to the service, the peer and the system, and given back when the
    /// span's last clone drops.
    pub fn service_span(&self, service: &str, peer: &PeerId) -> Scope {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let service = self.service(service);
        let peer = self.peer(peer);
        Scope::new(
            ScopeName::Span(id),
            Arc::clone(&self.inner.shared.unlimited),
            &[&service, &peer],
        )
    }

    /// What every scope holds now.
    pub fn snapshot(&self) -> ResourceSnapshot {
        let usages = |scopes: &Mutex<HashMap<Arc<str>, Scope>>| {
            let mut usages: Vec<_> = lock(scopes)
                .iter()
                .map(|(name, scope)| (name.clone(), scope.usage()))
                .collect();
            usages.sort_by(|a, b| a.0.cmp(&b.0));
            usages
        };
        let peers = lock(&self.inner.peers);
        ResourceSnapshot {
            system: self.inner.system.usage(),
            transient: self.inner.transient.usage(),
            services: usages(&self.inner.services),
            protocols: usages(&self.inner.protocols),
            peers: peers
                .by_peer
                .values()
                .filter(|scope| scope.is_alive())
                .count(),
            refusals: self.inner.system.refusals(),
        }
    }
}

impl Default for ResourceManager {
    fn default() -> ResourceManager {
        ResourceManager::new(ResourceLimits::default())
    }
}

impl std::fmt::Debug for ResourceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceManager")
            .field("system", &self.inner.system)
            .field("transient", &self.inner.transient)
            .finish_non_exhaustive()
    }
}

/// The scope of one connection: it holds the connection's place in the counts, and the
/// memory reserved for it, until dropped.
#[derive(Debug)]
pub struct ConnectionScope {
    id: u64,
    scope: Scope,
    opener: Opener,
    uses_fd: bool,
    manager: ResourceManager,
}

impl ConnectionScope {
    /// The scope to reserve the connection's memory from.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Moves the connection from the transient scope to `peer`'s, once its handshake told
    /// us who it is. Memory reserved so far (handshake buffers) is given back; the
    /// connection is refused if the peer is at its limits.
    pub fn authenticated(self, peer: &PeerId) -> Result<ConnectionScope, LimitExceeded> {
        let peer_scope = self.manager.peer(peer);
        let scope = Scope::new(
            ScopeName::Connection(self.id),
            Arc::clone(&self.manager.inner.shared.connection),
            &[&peer_scope],
        );
        let authenticated = ConnectionScope {
            id: self.id,
            scope,
            opener: self.opener,
            uses_fd: self.uses_fd,
            manager: self.manager.clone(),
        };
        authenticated.scope.reserve(&authenticated.counts())?;
        Ok(authenticated)
    }

    /// What the connection itself counts for.
    fn counts(&self) -> Vec<(Resource, u64)> {
        let direction = match self.opener {
            Opener::Remote => Resource::InboundConnections,
            Opener::Local => Resource::OutboundConnections,
        };
        let mut counts = vec![(direction, 1), (Resource::Connections, 1)];
        if self.uses_fd {
            counts.push((Resource::FileDescriptors, 1));
        }
        counts
    }
}

/// The scope called `name` in `scopes`, made by `make` if there is none yet.
fn named(
    scopes: &Mutex<HashMap<Arc<str>, Scope>>,
    name: &str,
    make: impl FnOnce(Arc<str>) -> Scope,
) -> Scope {
    let mut scopes = lock(scopes);
    if let Some(scope) = scopes.get(name) {
        return scope.clone();
    }
    let name: Arc<str> = Arc::from(name);
    let scope = make(name.clone());
    scopes.insert(name, scope.clone());
    scope
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
