//! The ping service: answers pings, keeps every connection alive, pings on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyphae_service::{
    ConnectionEvent, ConnectionId, ConnectionInfo, Context, Incoming, PeerId, Service, Stream,
};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tracing::debug;

use crate::{DEFAULT_INTERVAL, Error, MAX_INBOUND_STREAMS_PER_PEER, PROTOCOL, TIMEOUT, echo, ping};

/// Inbound ping streams waiting to be served; beyond this a burst of them is reset.
const INBOUND_BACKLOG: usize = 32;
/// Connection events buffered for the keepalive task before it is resynchronised.
const CONNECTION_EVENTS: usize = 256;
/// Events buffered per subscriber to [`Handle::events`] before the slowest misses some.
const EVENT_BUFFER: usize = 256;

/// How the ping service behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How often each connection is pinged; `None` disables keepalive pings (pings are still
    /// answered, and [`Handle::ping`] still works).
    pub interval: Option<Duration>,
    /// How long to wait for an echo.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            interval: Some(DEFAULT_INTERVAL),
            timeout: TIMEOUT,
        }
    }
}

/// The ping service: install with `Builder::service(Ping::new(config))` to change the
/// default one.
#[derive(Debug, Clone, Default)]
pub struct Ping {
    config: Config,
}

impl Ping {
    /// A ping service with `config`.
    pub fn new(config: Config) -> Ping {
        Ping { config }
    }

    /// A ping service that answers pings and pings on demand, but sends no keepalive pings.
    pub fn without_keepalive() -> Ping {
        Ping::new(Config {
            interval: None,
            ..Config::default()
        })
    }
}

/// A measured round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The peer.
    pub peer: PeerId,
    /// The connection the ping travelled on.
    pub connection: ConnectionId,
    /// The round-trip time.
    pub rtt: Duration,
}

/// Pings peers and reports round trips; from `Node::service::<Ping>()`.
#[derive(Debug, Clone)]
pub struct Handle {
    /// Shared: every connection's keepalive task holds a handle, and a pointer is all of
    /// it that each one needs to keep.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cx: Context,
    config: Config,
    events: broadcast::Sender<Event>,
}

impl Service for Ping {
    type Handle = Handle;

    fn start(self, cx: Context) -> Handle {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let handle = Handle {
            shared: Arc::new(Shared {
                cx: cx.clone(),
                config: self.config,
                events,
            }),
        };
        cx.spawn(answer(cx.accept(PROTOCOL, INBOUND_BACKLOG)));
        if handle.shared.config.interval.is_some() {
            cx.spawn(keep_alive(handle.clone()));
        }
        handle
    }
}

impl Handle {
    /// Pings `peer` once, connecting if needed, and returns the round-trip time (also
    /// recorded in the peerstore and reported as an [`Event`]).
    pub async fn ping(&self, peer: PeerId) -> Result<Duration, Error> {
        let mut stream = self.shared.cx.open_stream(peer, PROTOCOL).await?;
        let rtt = ping(&mut stream, self.shared.config.timeout).await?;
        // We send nothing more: closing our side ends the stream cleanly.
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
        self.record(&stream, rtt);
        Ok(rtt)
    }

    /// Every round trip measured from now on, keepalive pings included. A subscriber more
    /// than 256 events behind misses the oldest (its next `recv` says how many).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    fn record(&self, stream: &Stream, rtt: Duration) {
        self.shared.cx.peerstore().set_rtt(stream.peer(), rtt);
        let _ = self.shared.events.send(Event {
            peer: stream.peer(),
            connection: stream.connection(),
            rtt,
        });
    }
}

/// Answers inbound pings, at most [`MAX_INBOUND_STREAMS_PER_PEER`] streams per peer at once.
async fn answer(mut incoming: Incoming) {
    let open: Arc<Mutex<HashMap<PeerId, usize>>> = Arc::default();
    while let Some(mut stream) = incoming.next().await {
        let peer = stream.peer();
        {
            let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
            let count = open.entry(peer).or_default();
            if *count >= MAX_INBOUND_STREAMS_PER_PEER {
                debug!(%peer, "refusing a third inbound ping stream");
                continue;
            }
            *count += 1;
        }
        let open = Arc::clone(&open);
        tokio::spawn(async move {
            if let Err(error) = echo(&mut stream).await {
                debug!(%peer, %error, "ping stream ended");
            }
            let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = open.get_mut(&peer) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&peer);
                }
            }
        });
    }
}

/// Runs one keepalive task per open connection.
async fn keep_alive(handle: Handle) {
    let cx = &handle.shared.cx;
    let mut connections = cx.connections(CONNECTION_EVENTS);
    let mut tasks: HashMap<ConnectionId, AbortHandle> = HashMap::new();
    let start = |info: &ConnectionInfo| cx.spawn(keep_alive_one(handle.clone(), info.id));
    while let Some(event) = connections.next().await {
        match event {
            ConnectionEvent::Established(info) => {
                tasks.insert(info.id, start(&info));
            }
            ConnectionEvent::Closed(info) => {
                if let Some(task) = tasks.remove(&info.id) {
                    task.abort();
                }
            }
            ConnectionEvent::Resync(open) => {
                tasks.retain(|id, task| {
                    let is_open = open.iter().any(|info| info.id == *id);
                    if !is_open {
                        task.abort();
                    }
                    is_open
                });
                for info in open {
                    tasks.entry(info.id).or_insert_with(|| start(&info));
                }
            }
            _ => {}
        }
    }
}

/// Pings one connection every `config.interval` on one long-lived stream, until it closes.
///
/// Its task lasts as long as the connection, so what it holds across an `await` is memory
/// of every idle connection: a pointer to the shared handle, the connection id, the stream.
/// Opening the stream and the exchange take a moment each interval; they are boxed, as
/// inline they would nearly double the task's size for its whole life.
async fn keep_alive_one(handle: Handle, connection: ConnectionId) {
    let mut stream: Option<Stream> = None;
    loop {
        let Some(interval) = handle.shared.config.interval else {
            return;
        };
        tokio::time::sleep(interval).await;
        let open = match stream.as_mut() {
            Some(open) => open,
            None => match Box::pin(handle.shared.cx.open_stream_on(connection, PROTOCOL)).await {
                Ok(opened) => stream.insert(opened),
                Err(error @ hyphae_service::Error::ConnectionClosed(_)) => {
                    debug!(%connection, %error, "keepalive ends");
                    return;
                }
                Err(error) => {
                    debug!(%connection, %error, "opening a ping stream failed");
                    continue;
                }
            },
        };
        match Box::pin(ping(open, handle.shared.config.timeout)).await {
            Ok(rtt) => handle.record(open, rtt),
            Err(error) => {
                debug!(%connection, %error, "ping failed");
                stream = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an async fn of two arguments returns.
    fn future_size<A, B, F: std::future::Future>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// One keepalive task per connection, idle nearly all its life: 440 bytes with the
    /// stream opening and the exchange inline, 240 with them boxed.
    #[test]
    fn the_keepalive_task_stays_small() {
        let size = future_size(keep_alive_one);
        assert!(size <= 320, "keepalive task: {size} bytes");
    }
}
