//! Reading port numbers out of multiaddrs and writing them back.

use hyphae_multiaddr::{Multiaddr, Protocol};

use crate::Error;

/// Reads `/memory/<port>[/p2p/<id>]` as the port to dial. The `/p2p/<id>` is ignored:
/// checking the peer's identity is the security upgrade's job.
pub(crate) fn dial_port(addr: &Multiaddr) -> Result<u64, Error> {
    let mut components = addr.iter();
    match (components.next(), components.next(), components.next()) {
        (Some(Protocol::Memory(port)), None | Some(Protocol::P2p(_)), None) => Ok(port),
        _ => Err(Error::UnsupportedAddress(addr.clone())),
    }
}

/// Reads exactly `/memory/<port>` as the port to bind (0: pick one). A `/p2p/<id>` is
/// refused, as it is by TCP: only a dialler can check it.
pub(crate) fn listen_port(addr: &Multiaddr) -> Result<u64, Error> {
    let mut components = addr.iter();
    match (components.next(), components.next()) {
        (Some(Protocol::Memory(port)), None) => Ok(port),
        _ => Err(Error::UnsupportedAddress(addr.clone())),
    }
}

/// `/memory/<port>`.
pub(crate) fn memory_multiaddr(port: u64) -> Multiaddr {
    Multiaddr::empty().with(Protocol::Memory(port))
}
