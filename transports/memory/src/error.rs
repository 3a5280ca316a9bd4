use hyphae_multiaddr::Multiaddr;

/// Why a memory listen or dial failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not `/memory/<port>` (to listen), or `/memory/<port>` optionally
    /// followed by `/p2p/<id>` (to dial).
    #[error("{0} is not a /memory/<port> address")]
    UnsupportedAddress(Multiaddr),
    /// Another listener, or a dialler's connection, holds this port.
    #[error("/memory/{0} is already in use")]
    AddressInUse(u64),
    /// Nothing listens on this port, or its listener closed before taking the connection.
    #[error("nothing listens on /memory/{0}")]
    ConnectionRefused(u64),
    /// The listener's accept queue closed. The queue lives exactly as long as the
    /// [`Listener`](crate::Listener), so `accept` cannot see this; it is an error rather than
    /// a panic in case that ever changes.
    #[error("the listener on /memory/{0} stopped accepting connections")]
    ListenerClosed(u64),
}
