//! What identifies a connection and describes it to services.

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

/// Identifies one connection of a node, unique for the node's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// The id numbered `n` (a node numbers its connections from 1 as they are established).
    pub const fn new(n: u64) -> ConnectionId {
        ConnectionId(n)
    }

    /// The number of this id.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which side opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We dialled.
    Outbound,
    /// The peer dialled us.
    Inbound,
}

/// One established connection, as services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The connection.
    pub id: ConnectionId,
    /// The authenticated peer.
    pub peer: PeerId,
    /// The peer's address on this connection.
    pub remote_addr: Multiaddr,
    /// Who dialled.
    pub direction: Direction,
}

/// Anything usable as a list of protocols to propose on a new stream: one protocol id, or
/// several in order of preference.
pub trait Protocols {
    /// The protocol ids, most preferred first.
    fn into_protocols(self) -> Vec<String>;
}

impl Protocols for &str {
    fn into_protocols(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl Protocols for String {
    fn into_protocols(self) -> Vec<String> {
        vec![self]
    }
}

impl Protocols for &[&str] {
    fn into_protocols(self) -> Vec<String> {
        self.iter().map(|&protocol| protocol.to_owned()).collect()
    }
}

impl<const N: usize> Protocols for [&str; N] {
    fn into_protocols(self) -> Vec<String> {
        self.iter().map(|&protocol| protocol.to_owned()).collect()
    }
}

impl Protocols for Vec<String> {
    fn into_protocols(self) -> Vec<String> {
        self
    }
}
