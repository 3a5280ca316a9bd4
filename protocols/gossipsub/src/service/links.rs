//! What the driver knows of each connected peer: its connections, its streams and its
//! outbound queue.

use hyphae_core::resources::Scope;
use std::net::IpAddr;

use hyphae_multiaddr::Protocol as AddrPart;
use hyphae_service::{ConnectionId, ConnectionInfo};
use tokio::task::AbortHandle;

use super::queue::{OutboundQueue, QueueLimits};
use crate::Protocol;

/// Outbound stream attempts per peer before we stop trying (until a new identify says the
/// peer speaks pubsub).
pub(crate) const MAX_OPEN_ATTEMPTS: u32 = 3;

/// The state of our stream to the peer.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// None yet; `attempts` failed so far.
    Closed { attempts: u32 },
    /// Being negotiated on a connection.
    Opening { attempts: u32 },
    /// Open, numbered `stream`, written by a task draining the link's queue; `attempts`
    /// failed before it, so that a peer resetting our streams gets only a few more.
    Open { stream: u64, attempts: u32 },
}

/// One connected peer.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) connections: Connections,
    pub(crate) outbound: Outbound,
    /// What we send the peer; it fills while our stream is being opened, so that nothing
    /// the router sends as soon as it knows the peer (our subscriptions) is lost.
    pub(crate) queue: OutboundQueue,
    /// The queue's drop count at the last heartbeat.
    pub(crate) dropped_seen: u64,
    /// The inbound stream we read, by number, and its reader task.
    pub(crate) inbound: Option<(u64, AbortHandle)>,
    /// The protocol the router knows the peer by, once it has a stream.
    pub(crate) protocol: Option<Protocol>,
}

impl Link {
    /// A link whose queue reserves what it holds from `memory`.
    pub(crate) fn new(limits: QueueLimits, memory: Scope) -> Link {
        Link {
            connections: Connections::default(),
            outbound: Outbound::Closed { attempts: 0 },
            queue: OutboundQueue::new(limits, Some(memory)),
            dropped_seen: 0,
            inbound: None,
            protocol: None,
        }
    }

    /// The IPs the peer's connections come from.
    pub(crate) fn ips(&self) -> Vec<IpAddr> {
        let mut ips: Vec<IpAddr> = self
            .connections
            .iter()
            .filter_map(|info| {
                info.remote_addr.iter().find_map(|part| match part {
                    AddrPart::Ip4(ip) => Some(IpAddr::V4(ip)),
                    AddrPart::Ip6(ip) => Some(IpAddr::V6(ip)),
                    _ => None,
                })
            })
            .collect();
        ips.sort_unstable();
        ips.dedup();
        ips
    }
}

/// A peer's connections, oldest first: one or two nearly always, held in a vector of
/// exactly their number (a `BTreeMap` node, for one connection, took 806 bytes a peer).
#[derive(Debug, Default)]
pub(crate) struct Connections(Vec<ConnectionInfo>);

impl Connections {
    /// Adds `info`, or replaces the connection of its id.
    pub(crate) fn insert(&mut self, info: ConnectionInfo) {
        match self.0.binary_search_by_key(&info.id, |known| known.id) {
            Ok(index) => self.0[index] = info,
            Err(index) => {
                self.0.reserve_exact(1);
                self.0.insert(index, info);
            }
        }
    }

    pub(crate) fn remove(&mut self, id: ConnectionId) {
        self.0.retain(|info| info.id != id);
        self.0.shrink_to_fit();
    }

    pub(crate) fn contains(&self, id: ConnectionId) -> bool {
        self.0.iter().any(|info| info.id == id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn first(&self) -> Option<&ConnectionInfo> {
        self.0.first()
    }

    pub(crate) fn newest(&self) -> Option<ConnectionId> {
        self.0.last().map(|info| info.id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ConnectionInfo> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use hyphae_identity::Keypair;
    use hyphae_service::Direction;

    use super::*;

    fn info(id: u64, addr: &str) -> ConnectionInfo {
        ConnectionInfo {
            id: ConnectionId::new(id),
            peer: Keypair::generate_ed25519().public().to_peer_id(),
            remote_addr: addr.parse().unwrap(),
            direction: Direction::Inbound,
        }
    }

    #[test]
    fn connections_keep_one_entry_per_id_oldest_first() {
        let mut connections = Connections::default();
        assert!(connections.is_empty());
        connections.insert(info(7, "/ip4/10.0.0.7/tcp/1"));
        connections.insert(info(3, "/ip4/10.0.0.3/tcp/1"));
        connections.insert(info(7, "/ip4/10.0.0.8/tcp/1"));
        let ids: Vec<_> = connections.iter().map(|info| info.id).collect();
        assert_eq!(ids, [ConnectionId::new(3), ConnectionId::new(7)]);
        assert_eq!(connections.first().unwrap().id, ConnectionId::new(3));
        assert_eq!(connections.newest(), Some(ConnectionId::new(7)));
        // The second insert of 7 replaced the first.
        let replaced = connections.iter().last().unwrap();
        assert_eq!(replaced.remote_addr.to_string(), "/ip4/10.0.0.8/tcp/1");
        assert!(connections.contains(ConnectionId::new(3)));

        connections.remove(ConnectionId::new(3));
        assert!(!connections.contains(ConnectionId::new(3)));
        assert_eq!(connections.newest(), Some(ConnectionId::new(7)));
        connections.remove(ConnectionId::new(7));
        assert!(connections.is_empty());
        assert_eq!(connections.newest(), None);
    }
}
