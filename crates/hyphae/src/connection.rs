//! The life of a connection: accepting it, registering it, routing its inbound streams to
//! handlers and services, and cleaning up when it closes.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use hyphae_core::negotiated;
use hyphae_core::resources::{ConnectionScope, Opener};
use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use hyphae_service::{ConnectionEvent, Timeout};
use tracing::{Instrument, debug, info, warn};

use crate::inbound_gate::InboundSlot;
use crate::muxer::{Muxer, RawStream};
use crate::node::Inner;
use crate::open_streams::Counted;
use crate::pending::Admission;
use crate::pool::{Connection, Inserted, remote_ip};
use crate::router::Route;
use crate::transport::Accept;
use crate::upgrade::Upgraded;
use crate::{Direction, Error, Event, Limit, Security, Stream};

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// A connection that finished its handshakes.
pub(crate) struct Established {
    pub(crate) peer: PeerId,
    /// The security protocol, unless the transport secures connections itself.
    pub(crate) security: Option<Security>,
    pub(crate) muxer: Muxer,
    pub(crate) remote_addr: Multiaddr,
    pub(crate) direction: Direction,
    /// Its place in its address's count of inbound connections, if one is kept.
    pub(crate) inbound_slot: Option<InboundSlot>,
    /// What it holds in the resource manager.
    pub(crate) scope: ConnectionScope,
}

impl Established {
    /// The connection, holding `slot` for its life.
    pub(crate) fn holding(self, slot: Option<InboundSlot>) -> Established {
        Established {
            inbound_slot: slot,
            ..self
        }
    }

    /// A QUIC connection: secured and multiplexed by the transport.
    pub(crate) fn quic(
        connection: hyphae_quic::Connection,
        direction: Direction,
        scope: ConnectionScope,
    ) -> Established {
        Established {
            scope,
            peer: connection.remote_peer(),
            security: None,
            remote_addr: connection.remote_addr(),
            muxer: Muxer::Quic(Box::new(connection)),
            direction,
            inbound_slot: None,
        }
    }

    /// A connection secured and multiplexed by the [`Upgrader`](crate::upgrade::Upgrader).
    pub(crate) fn upgraded(
        upgraded: Upgraded,
        remote_addr: Multiaddr,
        direction: Direction,
    ) -> Established {
        Established {
            scope: upgraded.scope,
            peer: upgraded.peer,
            security: Some(upgraded.security),
            muxer: upgraded.muxer,
            remote_addr,
            direction,
            inbound_slot: None,
        }
    }
}

/// Accepts connections until the node is gone, upgrading each on its own task.
pub(crate) async fn accept_loop<L: Accept>(listener: L, node: Weak<Inner>) {
    // Held apart from the node, which it does not keep alive.
    let Some(pending) = node.upgrade().map(|inner| Arc::clone(&inner.pending)) else {
        return;
    };
    loop {
        // While the pending handshakes are all in their grace, newcomers wait in the
        // kernel's backlog rather than evict one (pending.rs).
        pending.room().await;
        let accepted = listener.accept().await;
        let Some(inner) = node.upgrade() else {
            return;
        };
        let (io, remote_addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let ip = remote_ip(&remote_addr);
        let admitted = inner.gate.admit(ip, Instant::now()).and_then(|slot| {
            let capped_ip = ip.filter(|ip| !inner.gate.is_allowed(*ip));
            match inner.pending.admit(capped_ip) {
                Admission::Admitted(ticket) => Ok((slot, ticket)),
                Admission::Refused(limit) => Err(limit),
            }
        });
        let (slot, ticket) = match admitted {
            Ok(admitted) => admitted,
            Err(limit) => {
                refuse(&inner, remote_addr, limit);
                continue;
            }
        };
        let span = tracing::debug_span!("inbound", remote = %remote_addr);
        tokio::spawn(
            async move {
                // Memory may take a moment to free up; the slot is held meanwhile.
                let scope = tokio::select! {
                    scope = inner.inbound_connection_scope() => scope,
                    limit = ticket.evicted() => Err(Error::LimitReached(limit)),
                };
                let scope = match scope {
                    Ok(scope) => scope,
                    Err(error) => {
                        if let Error::LimitReached(limit) = error {
                            refuse(&inner, remote_addr, limit);
                        }
                        return;
                    }
                };
                let started = Instant::now();
                let result = tokio::select! {
                    upgraded = inner.upgrade_inbound(io, scope, || ticket.negotiated()) => upgraded,
                    limit = ticket.evicted() => Err(Error::LimitReached(limit)),
                };
                drop(ticket);
                inner
                    .metrics
                    .handshake_done(Direction::Inbound, started, &result);
                let result = result.and_then(|upgraded| {
                    let established =
                        Established::upgraded(upgraded, remote_addr.clone(), Direction::Inbound);
                    establish(&inner, established.holding(slot))
                });
                if let Err(error) = result {
                    debug!(%error, "inbound connection failed");
                    let _ = inner.events.send(Event::IncomingConnectionFailed {
                        remote_addr,
                        error: Arc::new(error),
                    });
                }
            }
            .instrument(span),
        );
    }
}

/// Logs, counts and reports an inbound connection a limit refused.
fn refuse(inner: &Inner, remote_addr: Multiaddr, limit: Limit) {
    debug!(%remote_addr, %limit, "refusing connection");
    inner.metrics.connection_refused(&limit);
    let _ = inner
        .events
        .send(Event::IncomingConnectionRefused { remote_addr, limit });
}

/// Takes the QUIC endpoint's authenticated inbound connections until the node is gone.
pub(crate) async fn accept_quic(endpoint: hyphae_quic::Endpoint, node: Weak<Inner>) {
    while let Some(connection) = endpoint.accept().await {
        let Some(inner) = node.upgrade() else {
            return;
        };
        let remote_addr = connection.remote_addr();
        // QUIC finished its handshake inside the endpoint; the caps apply from here.
        let slot = match inner.gate.admit(remote_ip(&remote_addr), Instant::now()) {
            Ok(slot) => slot,
            Err(limit) => {
                connection.close();
                refuse(&inner, remote_addr, limit);
                continue;
            }
        };
        let scope = match inner.quic_scope(&connection, Direction::Inbound) {
            Ok(scope) => scope,
            Err(error) => {
                connection.close();
                if let Error::LimitReached(limit) = error {
                    refuse(&inner, remote_addr, limit);
                }
                continue;
            }
        };
        let established = Established::quic(connection, Direction::Inbound, scope).holding(slot);
        if let Err(error) = establish(&inner, established) {
            debug!(%error, "inbound QUIC connection refused");
            let _ = inner.events.send(Event::IncomingConnectionFailed {
                remote_addr,
                error: Arc::new(error),
            });
        }
    }
}

/// Registers an established connection and starts serving it.
pub(crate) fn establish(inner: &Arc<Inner>, established: Established) -> Result<(), Error> {
    let Established {
        peer,
        security,
        muxer,
        remote_addr,
        direction,
        inbound_slot,
        scope,
    } = established;
    let inserted = inner.pool.insert(
        peer,
        muxer.clone(),
        (remote_addr, direction, inbound_slot, scope),
        &inner.limits,
        &inner.tags,
    );
    let Inserted {
        connection,
        evicted,
    } = match inserted {
        Ok(inserted) => inserted,
        Err(error) => {
            if let Error::LimitReached(limit) = &error {
                inner.metrics.connection_refused(limit);
            }
            tokio::spawn(async move { muxer.close().await });
            return Err(error);
        }
    };
    inner.metrics.connection_established(direction);
    inner.metrics.connections_trimmed(evicted.len());
    if !evicted.is_empty() {
        info!(
            closed = evicted.len(),
            total = inner.pool.len(),
            "connection manager: closed the least valued connections"
        );
    }
    for old in evicted {
        debug!(peer = %old.peer, connection = %old.id, remote = %old.remote_addr, "closing to make room");
        let muxer = old.muxer.clone();
        tokio::spawn(async move { muxer.close().await });
        report_closed(inner, &old);
    }
    // A handshake can finish after `shutdown` took its snapshot of the pool (shutdown sets
    // the flag first, so checking after inserting cannot miss it): close such a connection.
    if inner.is_shut_down() {
        inner.pool.remove(&peer, connection.id);
        tokio::spawn(async move { muxer.close().await });
        return Err(Error::Shutdown);
    }
    info!(%peer, connection = %connection.id, remote = %connection.remote_addr, ?direction, "connected");
    inner
        .connection_hub
        .publish(ConnectionEvent::Established(connection.info()));
    let _ = inner.events.send(Event::ConnectionEstablished {
        peer,
        connection: connection.id,
        remote_addr: connection.remote_addr.clone(),
        direction,
        security,
        muxer: connection.muxer.kind(),
    });
    tokio::spawn(serve(connection, Arc::downgrade(inner)));
    Ok(())
}

/// Serves one connection's inbound streams until it closes, then cleans up, in the span
/// that names the connection in its log lines.
///
/// The task lives as long as the connection: an `async fn` would keep `connection` twice in
/// its state (as passed, and as the body's variable), the block keeps it once.
fn serve(connection: Connection, node: Weak<Inner>) -> impl Future<Output = ()> + Send {
    let span = tracing::info_span!("connection", peer = %connection.peer, id = %connection.id);
    async move {
        while let Some(raw) = connection.muxer.accept().await {
            let Some(inner) = node.upgrade() else {
                break;
            };
            let connection = connection.clone();
            tokio::spawn(
                async move {
                    if let Err(error) = serve_stream(&inner, raw, &connection).await {
                        debug!(%error, "inbound stream failed");
                    }
                }
                .in_current_span(),
            );
        }
        if let Some(inner) = node.upgrade()
            && inner.pool.remove(&connection.peer, connection.id)
        {
            report_closed(&inner, &connection);
        }
    }
    .instrument(span)
}

/// Tells services and users that `connection`, out of the pool now, closed.
fn report_closed(inner: &Inner, connection: &Connection) {
    info!(peer = %connection.peer, connection = %connection.id, "disconnected");
    inner.metrics.connection_closed(connection.direction);
    inner
        .connection_hub
        .publish(ConnectionEvent::Closed(connection.info()));
    let _ = inner.events.send(Event::ConnectionClosed {
        peer: connection.peer,
        connection: connection.id,
    });
}

/// Negotiates an inbound stream's protocol and hands it to its handler or service.
async fn serve_stream(
    inner: &Arc<Inner>,
    raw: RawStream,
    connection: &Connection,
) -> Result<(), Error> {
    let timeout = inner.limits.stream_negotiation_timeout;
    let negotiated =
        tokio::time::timeout(timeout, negotiated::listen(raw, inner.router.protocols()))
            .await
            .map_err(|_| Error::Timeout {
                what: Timeout::StreamNegotiation,
                after: timeout,
            })??;
    // The route may have been removed while negotiating; dropping the stream resets it.
    let Some(route) = inner.router.route(negotiated.protocol()) else {
        return Ok(());
    };
    let protocol = negotiated.protocol().to_owned();
    let opened = inner.resources.open_stream(
        &connection.scope,
        Opener::Remote,
        &protocol,
        route.service(),
    );
    let scope = match opened {
        Ok(scope) => scope,
        Err(refused) => {
            // Dropping the stream resets it.
            let limit = Limit::from(&refused);
            debug!(%protocol, %limit, "refusing inbound stream");
            inner.metrics.stream_refused(&limit);
            return Ok(());
        }
    };
    debug!(%protocol, "inbound stream");
    let stream = Stream::new(
        Counted::new(
            negotiated,
            &protocol,
            &connection.open_streams,
            inner.metrics.stream_opened(&protocol, Direction::Inbound),
        )
        .holding(scope),
        protocol,
        connection.peer,
        connection.id,
        connection.remote_addr.clone(),
    );
    match route {
        Route::Handler(handler) => handler(stream).await,
        Route::Queue { sender, .. } => {
            sender.offer(stream);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, F: Future>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every connection has this task for its whole life: 416 bytes with its span as an
    /// `async fn` (holding the connection twice), 288 since (sizes of a debug build).
    #[test]
    fn the_connection_task_stays_small() {
        let size = future_size(serve);
        assert!(size <= 320, "the connection task is {size} bytes");
    }
}
