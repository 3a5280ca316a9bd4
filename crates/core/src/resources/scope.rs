//! A resource scope: counters of what something holds, with limits, charged together with
//! every scope above it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use hyphae_identity::PeerId;

use super::limits::ScopeLimits;

/// A kind of resource a scope counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Connections the peer opened.
    InboundConnections,
    /// Connections we opened.
    OutboundConnections,
    /// Connections in either direction.
    Connections,
    /// Streams the peer opened.
    InboundStreams,
    /// Streams we opened.
    OutboundStreams,
    /// Streams in either direction.
    Streams,
    /// Bytes of memory.
    Memory,
    /// File descriptors (sockets).
    FileDescriptors,
}

impl Resource {
    /// Every resource, in the order of [`Usage`]'s fields.
    pub const ALL: [Resource; 8] = [
        Resource::InboundConnections,
        Resource::OutboundConnections,
        Resource::Connections,
        Resource::InboundStreams,
        Resource::OutboundStreams,
        Resource::Streams,
        Resource::Memory,
        Resource::FileDescriptors,
    ];

    /// A short lowercase name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::InboundConnections => "inbound_connections",
            Resource::OutboundConnections => "outbound_connections",
            Resource::Connections => "connections",
            Resource::InboundStreams => "inbound_streams",
            Resource::OutboundStreams => "outbound_streams",
            Resource::Streams => "streams",
            Resource::Memory => "memory",
            Resource::FileDescriptors => "file_descriptors",
        }
    }

    /// Why a refusal by this resource's limit happened, as a metric label.
    pub fn refusal_reason(self) -> &'static str {
        match self {
            Resource::InboundConnections => "resource_inbound_connections",
            Resource::OutboundConnections => "resource_outbound_connections",
            Resource::Connections => "resource_connections",
            Resource::InboundStreams => "resource_inbound_streams",
            Resource::OutboundStreams => "resource_outbound_streams",
            Resource::Streams => "resource_streams",
            Resource::Memory => "resource_memory",
            Resource::FileDescriptors => "resource_file_descriptors",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Which scope: the node as a whole, connections not yet authenticated, one service, one
/// protocol, one peer, one connection, or one stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScopeName {
    /// Everything the node holds.
    System,
    /// Connections still in their handshakes, before we know the peer.
    Transient,
    /// One service (kad, gossipsub, ...): its streams and its own memory.
    Service(Arc<str>),
    /// One protocol id: the streams that negotiated it.
    Protocol(Arc<str>),
    /// One remote peer: its connections and streams, and the memory spent on them.
    Peer(PeerId),
    /// One connection (numbered by the resource manager).
    Connection(u64),
    /// One stream (numbered by the resource manager).
    Stream(u64),
    /// Memory one service spends on one peer (numbered by the resource manager).
    Span(u64),
}

/// The kind of a scope, without its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    /// [`ScopeName::System`].
    System,
    /// [`ScopeName::Transient`].
    Transient,
    /// [`ScopeName::Service`].
    Service,
    /// [`ScopeName::Protocol`].
    Protocol,
    /// [`ScopeName::Peer`].
    Peer,
    /// [`ScopeName::Connection`].
    Connection,
    /// [`ScopeName::Stream`].
    Stream,
    /// [`ScopeName::Span`].
    Span,
}

impl ScopeKind {
    /// Every kind, in declaration order.
    pub const ALL: [ScopeKind; 8] = [
        ScopeKind::System,
        ScopeKind::Transient,
        ScopeKind::Service,
        ScopeKind::Protocol,
        ScopeKind::Peer,
        ScopeKind::Connection,
        ScopeKind::Stream,
        ScopeKind::Span,
    ];
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScopeKind::System => "system",
            ScopeKind::Transient => "transient",
            ScopeKind::Service => "service",
            ScopeKind::Protocol => "protocol",
            ScopeKind::Peer => "peer",
            ScopeKind::Connection => "connection",
            ScopeKind::Stream => "stream",
            ScopeKind::Span => "span",
        })
    }
}

impl ScopeName {
    /// Its kind.
    pub fn kind(&self) -> ScopeKind {
        match self {
            ScopeName::System => ScopeKind::System,
            ScopeName::Transient => ScopeKind::Transient,
            ScopeName::Service(_) => ScopeKind::Service,
            ScopeName::Protocol(_) => ScopeKind::Protocol,
            ScopeName::Peer(_) => ScopeKind::Peer,
            ScopeName::Connection(_) => ScopeKind::Connection,
            ScopeName::Stream(_) => ScopeKind::Stream,
            ScopeName::Span(_) => ScopeKind::Span,
        }
    }
}

impl fmt::Display for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeName::System => f.write_str("system"),
            ScopeName::Transient => f.write_str("transient"),
            ScopeName::Service(name) => write!(f, "service {name}"),
            ScopeName::Protocol(name) => write!(f, "protocol {name}"),
            ScopeName::Peer(peer) => write!(f, "peer {peer}"),
            ScopeName::Connection(id) => write!(f, "connection {id}"),
            ScopeName::Stream(id) => write!(f, "stream {id}"),
            ScopeName::Span(id) => write!(f, "span {id}"),
        }
    }
}

/// A reservation that would take a scope past one of its limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scope}: {resource:?} limit of {limit} reached ({used} in use, {wanted} more asked)")]
pub struct LimitExceeded {
    /// The scope whose limit refused.
    pub scope: ScopeName,
    /// The resource.
    pub resource: Resource,
    /// The limit.
    pub limit: u64,
    /// What the scope held when it refused.
    pub used: u64,
    /// What was asked for.
    pub wanted: u64,
}

/// What a scope holds at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Connections the peer opened.
    pub inbound_connections: u64,
    /// Connections we opened.
    pub outbound_connections: u64,
    /// Connections in either direction.
    pub connections: u64,
    /// Streams the peer opened.
    pub inbound_streams: u64,
    /// Streams we opened.
    pub outbound_streams: u64,
    /// Streams in either direction.
    pub streams: u64,
    /// Bytes of memory reserved.
    pub memory: u64,
    /// File descriptors.
    pub file_descriptors: u64,
}

impl Usage {
    /// What it holds of `resource`.
    pub fn get(&self, resource: Resource) -> u64 {
        match resource {
            Resource::InboundConnections => self.inbound_connections,
            Resource::OutboundConnections => self.outbound_connections,
            Resource::Connections => self.connections,
            Resource::InboundStreams => self.inbound_streams,
            Resource::OutboundStreams => self.outbound_streams,
            Resource::Streams => self.streams,
            Resource::Memory => self.memory,
            Resource::FileDescriptors => self.file_descriptors,
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

/// A resource scope. Cheap to clone: clones share the counters.
///
/// A scope charges every reservation to itself and to each scope above it (a connection to
/// its peer and the system, a stream to its protocol, service, peer and the system), and
/// refuses it with [`LimitExceeded`] if any of them would pass a limit; then nothing is
/// charged anywhere. What a connection, stream or service-span scope still holds when its
/// last clone drops is released from the scopes above it, so a connection or stream that
/// ends any way at all gives back what it took.
#[derive(Clone)]
pub struct Scope {
    inner: Arc<Inner>,
}

/// Every connection, stream and service span has one, so it is kept small: the limits are
/// shared by the scopes of a kind, and the ancestors allocated at their exact number.
struct Inner {
    name: ScopeName,
    limits: Arc<ScopeLimits>,
    used: [AtomicU64; 8],
    /// The scopes above, each once, nearest first.
    ancestors: Box<[Scope]>,
    /// Refusals by the kind of scope that refused and the resource, counted in the root of
    /// the tree (the system scope) only.
    refusals: Option<Box<[[AtomicU64; 8]; 8]>>,
}

impl Scope {
    /// A scope under `parents` (and, transitively, everything above them).
    pub(crate) fn new(name: ScopeName, limits: Arc<ScopeLimits>, parents: &[&Scope]) -> Scope {
        let mut ancestors: Vec<Scope> = Vec::new();
        for parent in parents {
            for scope in std::iter::once(*parent).chain(parent.inner.ancestors.iter()) {
                if !ancestors.iter().any(|known| known.same_as(scope)) {
                    ancestors.push(scope.clone());
                }
            }
        }
        Scope {
            inner: Arc::new(Inner {
                name,
                limits,
                used: Default::default(),
                refusals: ancestors.is_empty().then(Default::default),
                ancestors: ancestors.into_boxed_slice(),
            }),
        }
    }

    /// Which scope this is.
    pub fn name(&self) -> &ScopeName {
        &self.inner.name
    }

    /// Its limits.
    pub fn limits(&self) -> &ScopeLimits {
        &self.inner.limits
    }

    /// What it holds now.
    pub fn usage(&self) -> Usage {
        let get = |resource: Resource| self.inner.used[resource.index()].load(Ordering::Relaxed);
        Usage {
            inbound_connections: get(Resource::InboundConnections),
            outbound_connections: get(Resource::OutboundConnections),
            connections: get(Resource::Connections),
            inbound_streams: get(Resource::InboundStreams),
            outbound_streams: get(Resource::OutboundStreams),
            streams: get(Resource::Streams),
            memory: get(Resource::Memory),
            file_descriptors: get(Resource::FileDescriptors),
        }
    }

    pub(crate) fn downgrade(&self) -> WeakScope {
        WeakScope(Arc::downgrade(&self.inner))
    }

    /// For the root of a scope tree (the system scope): how many reservations each kind of
    /// scope refused, by resource, since the tree was made. Empty for other scopes.
    pub fn refusals(&self) -> Vec<(ScopeKind, Resource, u64)> {
        let Some(refusals) = &self.inner.refusals else {
            return Vec::new();
        };
        let mut counted = Vec::new();
        for kind in ScopeKind::ALL {
            for resource in Resource::ALL {
                let count = refusals[kind as usize][resource.index()].load(Ordering::Relaxed);
                if count > 0 {
                    counted.push((kind, resource, count));
                }
            }
        }
        counted
    }

    /// Whether `other` is a clone of this scope.
    pub fn same_as(&self, other: &Scope) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Reserves `bytes` of memory here and above.
    pub fn reserve_memory(&self, bytes: usize) -> Result<(), LimitExceeded> {
        self.reserve(&[(Resource::Memory, bytes as u64)])
    }

    /// Reserves `bytes` of memory here and above only while every scope stays within
    /// `(priority + 1) / 256` of its limit (go-libp2p's priorities): memory that is nice to
    /// have, such as a larger receive window, asks with a low priority so that it never
    /// takes the room that new streams and connections need. Priority 255 is
    /// [`Scope::reserve_memory`].
    pub fn reserve_memory_with_priority(
        &self,
        bytes: usize,
        priority: u8,
    ) -> Result<(), LimitExceeded> {
        self.reserve_one(Resource::Memory, bytes as u64, priority)
    }

    /// Gives back `bytes` of memory reserved with [`Scope::reserve_memory`].
    pub fn release_memory(&self, bytes: usize) {
        self.release(&[(Resource::Memory, bytes as u64)]);
    }

    /// Reserves every `(resource, amount)` here and above, or none of them.
    pub fn reserve(&self, amounts: &[(Resource, u64)]) -> Result<(), LimitExceeded> {
        for (done, &(resource, amount)) in amounts.iter().enumerate() {
            if let Err(refused) = self.reserve_one(resource, amount, u8::MAX) {
                self.release(&amounts[..done]);
                return Err(refused);
            }
        }
        Ok(())
    }

    /// Gives back what [`Scope::reserve`] took (never more than is held).
    pub fn release(&self, amounts: &[(Resource, u64)]) {
        for &(resource, amount) in amounts {
            for scope in self.chain() {
                scope.inner.take(resource, amount);
            }
        }
    }

    fn reserve_one(
        &self,
        resource: Resource,
        amount: u64,
        priority: u8,
    ) -> Result<(), LimitExceeded> {
        if amount == 0 {
            return Ok(());
        }
        for (charged, scope) in self.chain().enumerate() {
            if let Err(refused) = scope.inner.add(resource, amount, priority) {
                for scope in self.chain().take(charged) {
                    scope.inner.take(resource, amount);
                }
                let root = self.chain().last().unwrap_or(self);
                if let Some(refusals) = &root.inner.refusals {
                    let kind = refused.scope.kind() as usize;
                    refusals[kind][resource.index()].fetch_add(1, Ordering::Relaxed);
                }
                return Err(refused);
            }
        }
        Ok(())
    }

    /// This scope, then each above it.
    fn chain(&self) -> impl Iterator<Item = &Scope> {
        std::iter::once(self).chain(self.inner.ancestors.iter())
    }
}

/// A scope held without keeping it alive.
pub(crate) struct WeakScope(Weak<Inner>);

impl WeakScope {
    pub(crate) fn upgrade(&self) -> Option<Scope> {
        self.0.upgrade().map(|inner| Scope { inner })
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

impl Inner {
    fn add(&self, resource: Resource, amount: u64, priority: u8) -> Result<(), LimitExceeded> {
        let limit = match (self.limits.get(resource), priority) {
            (limit, u8::MAX) => limit,
            (limit, priority) => limit / 256 * (u64::from(priority) + 1),
        };
        let counter = &self.used[resource.index()];
        let mut used = counter.load(Ordering::Relaxed);
        loop {
            let wanted = used.saturating_add(amount);
            if wanted > limit {
                return Err(LimitExceeded {
                    scope: self.name.clone(),
                    resource,
                    limit,
                    used,
                    wanted: amount,
                });
            }
            match counter.compare_exchange_weak(used, wanted, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => used = now,
            }
        }
    }

    fn take(&self, resource: Resource, amount: u64) {
        let counter = &self.used[resource.index()];
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            Some(used.saturating_sub(amount))
        });
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Whatever this scope still holds was charged above it too: give it back there.
        for resource in Resource::ALL {
            let held = *self.used[resource.index()].get_mut();
            if held > 0 {
                for scope in &self.ancestors {
                    scope.inner.take(resource, held);
                }
            }
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("name", &self.inner.name)
            .field("usage", &self.usage())
            .finish()
    }
}
