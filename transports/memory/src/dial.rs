use hyphae_multiaddr::Multiaddr;

use crate::address::dial_port;
use crate::{Error, MemoryStream, registry};

/// Connects to the listener on a `/memory/<port>` address; a trailing `/p2p/<id>` is
/// ignored (checking the peer's identity is the security upgrade's job).
///
/// Completes once the connection is in the listener's accept queue, waiting while that queue
/// is full (see [`ACCEPT_BACKLOG`](crate::ACCEPT_BACKLOG)). Fails with
/// [`Error::ConnectionRefused`] if nothing listens on the port or the listener is dropped
/// before taking the connection. The dialling end gets an ephemeral port of its own, held
/// until it is dropped.
pub async fn dial(addr: &Multiaddr) -> Result<MemoryStream, Error> {
    let port = dial_port(addr)?;
    let (local, queue) = registry::connect(port)?;
    let local_port = local.port();
    let (dialing, accepted) = MemoryStream::pair(local, port);
    queue
        .send(accepted)
        .await
        .map_err(|_| Error::ConnectionRefused(port))?;
    tracing::debug!(port, local_port, "memory connection opened");
    Ok(dialing)
}
