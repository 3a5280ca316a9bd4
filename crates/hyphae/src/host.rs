//! The node as its services see it: the [`Host`] behind every service's `Context`.

use std::sync::{Arc, PoisonError};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use hyphae_service::{
    BoxFuture, ConnectionEvent, ConnectionEvents, ConnectionId, ConnectionInfo, Direction, Host,
    Identified, Incoming, Io, incoming,
};
use tokio::sync::watch;

use crate::node::{Inner, Node};
use crate::{Error, Stream};

impl Host for Inner {
    fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen_addrs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn protocols(&self) -> Vec<String> {
        self.router.protocols().to_vec()
    }

    fn local_changes(&self) -> watch::Receiver<()> {
        self.local_changes.subscribe()
    }

    fn accept(
        self: Arc<Self>,
        protocol: String,
        backlog: usize,
        service: Option<Arc<str>>,
    ) -> Incoming {
        let registration = self.router.new_registration();
        let node = Arc::downgrade(&self);
        let unregistered = protocol.clone();
        let (sender, incoming) = incoming::channel(protocol.clone(), backlog, move || {
            if let Some(inner) = node.upgrade()
                && inner.router.remove_queue(&unregistered, registration)
            {
                inner.mark_local_change();
            }
        });
        self.router
            .insert_queue(protocol, sender, (registration, service));
        self.mark_local_change();
        incoming
    }

    fn connections(&self, capacity: usize) -> ConnectionEvents {
        self.connection_hub.subscribe(capacity)
    }

    fn open_connections(&self) -> Vec<ConnectionInfo> {
        self.connection_hub.connections()
    }

    fn open_stream(
        self: Arc<Self>,
        peer: PeerId,
        protocols: Vec<String>,
        service: Option<Arc<str>>,
    ) -> BoxFuture<Result<Stream, Error>> {
        Box::pin(async move {
            Node::from_inner(self)
                .open_stream_for(peer, protocols, service.as_deref())
                .await
        })
    }

    fn open_stream_on(
        self: Arc<Self>,
        connection: ConnectionId,
        protocols: Vec<String>,
        service: Option<Arc<str>>,
    ) -> BoxFuture<Result<Stream, Error>> {
        Box::pin(async move {
            let open = self
                .connection_hub
                .connection(connection)
                .and_then(|info| self.pool.get_by_id(&info.peer, connection))
                .ok_or(Error::ConnectionClosed(connection))?;
            Node::from_inner(self)
                .open_stream_on(&open, protocols, service.as_deref())
                .await
        })
    }

    fn add_connection(
        self: Arc<Self>,
        io: Box<dyn Io>,
        remote_addr: Multiaddr,
        direction: Direction,
        expected_peer: Option<PeerId>,
    ) -> BoxFuture<Result<PeerId, Error>> {
        Box::pin(async move {
            Node::from_inner(self)
                .add_connection(io, remote_addr, direction, expected_peer)
                .await
        })
    }

    fn report_identified(&self, identified: Identified) {
        self.connection_hub
            .publish(ConnectionEvent::Identified(identified));
    }
}
