//! The established connections, by peer, with the limits that bound them, and the dials in
//! flight so that concurrent dials of one peer share a single attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use tokio::sync::watch;

use hyphae_service::{ConnectionInfo, Limit};

use crate::muxer::Muxer;
use crate::{ConnectionId, Direction, Error, Limits};

/// One established connection.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) id: ConnectionId,
    pub(crate) peer: PeerId,
    pub(crate) muxer: Muxer,
    pub(crate) remote_addr: Multiaddr,
    pub(crate) direction: Direction,
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

    /// The oldest live connection to `peer`.
    pub(crate) fn get(&self, peer: &PeerId) -> Option<Connection> {
        let mut state = self.lock();
        let connections = state.by_peer.get_mut(peer)?;
        connections.retain(|connection| !connection.muxer.is_closed());
        connections.first().cloned()
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

    /// Whether any connection to `peer` is open.
    pub(crate) fn is_connected(&self, peer: &PeerId) -> bool {
        self.get(peer).is_some()
    }

    /// Every connected peer.
    pub(crate) fn peers(&self) -> Vec<PeerId> {
        self.lock().by_peer.keys().copied().collect()
    }

    /// Every connection.
    pub(crate) fn all(&self) -> Vec<Connection> {
        self.lock().by_peer.values().flatten().cloned().collect()
    }

    /// Adds an established connection, unless a limit refuses it.
    pub(crate) fn insert(
        &self,
        peer: PeerId,
        muxer: Muxer,
        remote_addr: Multiaddr,
        direction: Direction,
        limits: &Limits,
    ) -> Result<Connection, Error> {
        let mut state = self.lock();
        if state.total >= limits.max_connections {
            return Err(Error::LimitReached(Limit::Connections(
                limits.max_connections,
            )));
        }
        let for_peer = state.by_peer.get(&peer).map_or(0, Vec::len);
        if for_peer >= limits.max_connections_per_peer {
            return Err(Error::LimitReached(Limit::ConnectionsPerPeer(
                limits.max_connections_per_peer,
            )));
        }
        state.next_id += 1;
        let connection = Connection {
            id: ConnectionId::new(state.next_id),
            peer,
            muxer,
            remote_addr,
            direction,
        };
        state.total += 1;
        state
            .by_peer
            .entry(peer)
            // Most peers have one connection: room for one, where a first push makes room
            // for four.
            .or_insert_with(|| Vec::with_capacity(1))
            .push(connection.clone());
        Ok(connection)
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
