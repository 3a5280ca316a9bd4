//! The established connections, by peer, with the limits that bound them, and the dials in
//! flight so that concurrent dials of one peer share a single attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hyphae_core::resources::ConnectionScope;
use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use tokio::sync::watch;

use hyphae_service::{ConnectionInfo, Limit, PeerTags};

use crate::inbound_gate::InboundSlot;
use crate::muxer::Muxer;
use crate::trim::{self, Candidate};
use crate::{ConnectionId, Direction, Error, Limits};

/// Least time between two trims down to the low watermark.
const TRIM_SILENCE: Duration = Duration::from_secs(1);

/// One established connection.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) id: ConnectionId,
    pub(crate) peer: PeerId,
    pub(crate) muxer: Muxer,
    pub(crate) remote_addr: Multiaddr,
    pub(crate) direction: Direction,
    pub(crate) established: Instant,
    /// Streams open on it now ([`Counted`](crate::open_streams::Counted) keeps the count).
    pub(crate) open_streams: Arc<AtomicUsize>,
    /// Its place in its address's count of inbound connections, freed with the last clone.
    _inbound_slot: Option<Arc<InboundSlot>>,
    /// What it holds in the resource manager, given back with the last clone.
    pub(crate) scope: Arc<ConnectionScope>,
}

impl Connection {
    /// How services see this connection.
    pub(crate) fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            id: self.id,
            peer: self.peer,
            remote_addr: self.remote_addr.clone(),
            direction: self.direction,
        }
    }
}

/// The outcome of a shared dial, as its waiters see it.
pub(crate) type DialOutcome = Option<Result<(), Arc<Error>>>;

#[derive(Default)]
pub(crate) struct Pool {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// No index by connection id: the node's connection hub has one (services name
    /// connections by id, and the hub maps every open one to its peer).
    by_peer: HashMap<PeerId, Vec<Connection>>,
    total: usize,
    next_id: u64,
    dialing: HashMap<PeerId, watch::Receiver<DialOutcome>>,
    last_trim: Option<Instant>,
}

/// A connection the pool took, and those it let go to make room.
pub(crate) struct Inserted {
    pub(crate) connection: Connection,
    /// Removed from the pool: the caller closes them and reports them closed.
    pub(crate) evicted: Vec<Connection>,
}

impl State {
    /// Every connection as the connection manager weighs it.
    fn candidates(&self, tags: &PeerTags, now: Instant) -> Vec<Candidate> {
        let mut candidates = Vec::with_capacity(self.total);
        for (peer, connections) in &self.by_peer {
            let (value, is_protected) = (tags.value(peer), tags.is_protected(peer));
            candidates.extend(connections.iter().map(|connection| Candidate {
                id: connection.id,
                ip: remote_ip(&connection.remote_addr),
                age: now.saturating_duration_since(connection.established),
                is_idle: connection.open_streams.load(Ordering::Relaxed) == 0,
                value,
                is_protected,
            }));
        }
        candidates
    }

    /// Removes connection `id` and returns it.
    fn take(&mut self, id: ConnectionId) -> Option<Connection> {
        let peer = self
            .by_peer
            .iter()
            .find(|(_, connections)| connections.iter().any(|c| c.id == id))
            .map(|(peer, _)| *peer)?;
        let connections = self.by_peer.get_mut(&peer)?;
        let index = connections.iter().position(|c| c.id == id)?;
        let connection = connections.remove(index);
        if connections.is_empty() {
            self.by_peer.remove(&peer);
        }
        self.total -= 1;
        Some(connection)
    }
}

/// The IP address of a remote address, if it has one.
pub(crate) fn remote_ip(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|component| match component {
        hyphae_multiaddr::Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        hyphae_multiaddr::Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

/// Whether the caller leads a dial or joins one in flight.
pub(crate) enum DialSlot {
    /// Dial, then report through the sender (dropping it unreported counts as failure).
    Lead(watch::Sender<DialOutcome>),
    /// Wait for the leader's outcome.
    Join(watch::Receiver<DialOutcome>),
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest live connection to `peer` that takes new streams.
    pub(crate) fn get(&self, peer: &PeerId) -> Option<Connection> {
        let mut state = self.lock();
        let connections = state.by_peer.get_mut(peer)?;
        connections.retain(|connection| !connection.muxer.is_closed());
        connections
            .iter()
            .find(|connection| connection.muxer.takes_new_streams())
            .cloned()
    }

    /// The connection `id` to `peer`, if it is open.
    pub(crate) fn get_by_id(&self, peer: &PeerId, id: ConnectionId) -> Option<Connection> {
        self.lock()
            .by_peer
            .get(peer)?
            .iter()
            .find(|connection| connection.id == id && !connection.muxer.is_closed())
            .cloned()
    }

    /// Whether any connection to `peer` is open (new streams or not).
    pub(crate) fn is_connected(&self, peer: &PeerId) -> bool {
        self.lock()
            .by_peer
            .get(peer)
            .is_some_and(|connections| connections.iter().any(|c| !c.muxer.is_closed()))
    }

    /// How many connections are open.
    pub(crate) fn len(&self) -> usize {
        self.lock().total
    }

    /// Every connected peer.
    pub(crate) fn peers(&self) -> Vec<PeerId> {
        self.lock().by_peer.keys().copied().collect()
    }

    /// Every connection.
    pub(crate) fn all(&self) -> Vec<Connection> {
        self.lock().by_peer.values().flatten().cloned().collect()
    }

    /// Adds an established connection. At the connection limit a less valued one makes
    /// room ([`trim::to_evict`]) or the new one is refused; past the high watermark the
    /// least valued are let go down to the low one ([`trim::to_trim`]).
    pub(crate) fn insert(
        &self,
        peer: PeerId,
        muxer: Muxer,
        (remote_addr, direction, inbound_slot, scope): (
            Multiaddr,
            Direction,
            Option<InboundSlot>,
            ConnectionScope,
        ),
        limits: &Limits,
        tags: &PeerTags,
    ) -> Result<Inserted, Error> {
        let now = Instant::now();
        let mut state = self.lock();
        let for_peer = state.by_peer.get(&peer).map_or(0, Vec::len);
        if for_peer >= limits.max_connections_per_peer {
            return Err(Error::LimitReached(Limit::ConnectionsPerPeer(
                limits.max_connections_per_peer,
            )));
        }
        let mut evicted = Vec::new();
        if state.total >= limits.max_connections {
            let candidates = state.candidates(tags, now);
            let ip = remote_ip(&remote_addr);
            let Some(victim) = trim::to_evict(&candidates, ip, limits.grace_period) else {
                return Err(Error::LimitReached(Limit::Connections(
                    limits.max_connections,
                )));
            };
            evicted.extend(state.take(victim));
        }
        state.next_id += 1;
        let connection = Connection {
            id: ConnectionId::new(state.next_id),
            peer,
            muxer,
            remote_addr,
            direction,
            established: now,
            open_streams: Arc::default(),
            _inbound_slot: inbound_slot.map(Arc::new),
            scope: Arc::new(scope),
        };
        state.total += 1;
        state
            .by_peer
            .entry(peer)
            // Most peers have one connection: room for one, where a first push makes room
            // for four.
            .or_insert_with(|| Vec::with_capacity(1))
            .push(connection.clone());
        let high = limits.effective_high_watermark();
        let is_quiet = state
            .last_trim
            .is_none_or(|last| now.duration_since(last) >= TRIM_SILENCE);
        if state.total > high && is_quiet {
            state.last_trim = Some(now);
            let excess = state.total.saturating_sub(limits.effective_low_watermark());
            let candidates = state.candidates(tags, now);
            for victim in trim::to_trim(&candidates, excess, limits.grace_period) {
                evicted.extend(state.take(victim));
            }
        }
        Ok(Inserted {
            connection,
            evicted,
        })
    }

    /// Removes a closed connection; returns whether it was there.
    pub(crate) fn remove(&self, peer: &PeerId, id: ConnectionId) -> bool {
        let mut state = self.lock();
        let Some(connections) = state.by_peer.get_mut(peer) else {
            return false;
        };
        let before = connections.len();
        connections.retain(|connection| connection.id != id);
        let removed = before - connections.len();
        if connections.is_empty() {
            state.by_peer.remove(peer);
        }
        state.total -= removed;
        removed > 0
    }

    /// Claims the dial of `peer`, or joins the one in flight.
    pub(crate) fn dial_slot(&self, peer: PeerId) -> DialSlot {
        let mut state = self.lock();
        if let Some(receiver) = state.dialing.get(&peer)
            && receiver.has_changed().is_ok()
        {
            return DialSlot::Join(receiver.clone());
        }
        let (sender, receiver) = watch::channel(None);
        state.dialing.insert(peer, receiver);
        DialSlot::Lead(sender)
    }

    /// Ends the dial of `peer` led by the caller.
    pub(crate) fn finish_dial(&self, peer: &PeerId) {
        self.lock().dialing.remove(peer);
    }
}
