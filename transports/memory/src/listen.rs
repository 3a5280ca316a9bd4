use hyphae_multiaddr::Multiaddr;
use tokio::sync::{Mutex, mpsc};

use crate::address::{listen_port, memory_multiaddr};
use crate::registry::{self, Reservation};
use crate::{Error, MemoryStream};

/// Most connections dialled to a listener and not yet accepted. A dial that finds the queue
/// full waits until `accept` takes one (back-pressure, as a TCP backlog slows a connecting
/// client), and fails with [`Error::ConnectionRefused`] if the listener is dropped first.
pub const ACCEPT_BACKLOG: usize = 128;

/// A listener on a `/memory/<port>` address; dropping it frees the port.
#[derive(Debug)]
pub struct Listener {
    port: Reservation,
    /// Behind a lock so that `accept` takes `&self`, as TCP's does.
    incoming: Mutex<mpsc::Receiver<MemoryStream>>,
}

impl Listener {
    /// Binds `addr`, exactly `/memory/<port>`; port 0 picks a free one.
    ///
    /// Fails with [`Error::AddressInUse`] if another listener or a live dialled connection
    /// holds the port.
    pub fn bind(addr: &Multiaddr) -> Result<Listener, Error> {
        let port = listen_port(addr)?;
        let (queue, incoming) = mpsc::channel(ACCEPT_BACKLOG);
        let port = registry::listen(port, queue)?;
        tracing::debug!(port = port.port(), "memory listener bound");
        Ok(Listener {
            port,
            incoming: Mutex::new(incoming),
        })
    }

    /// The bound port, never 0.
    pub fn port(&self) -> u64 {
        self.port.port()
    }

    /// The address peers can dial: `/memory/<port>`.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        vec![memory_multiaddr(self.port())]
    }

    /// Waits for the next connection; returns it with the dialler's address (its ephemeral
    /// `/memory/<port>`, distinct for each live connection).
    ///
    /// Cancel-safe: a connection is never lost by dropping this future.
    pub async fn accept(&self) -> Result<(MemoryStream, Multiaddr), Error> {
        let stream = self
            .incoming
            .lock()
            .await
            .recv()
            .await
            .ok_or(Error::ListenerClosed(self.port()))?;
        let remote = stream.remote_addr();
        Ok((stream, remote))
    }
}
