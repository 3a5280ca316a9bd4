//! Connection events for services: every subscriber sees every connection open and close,
//! or, if it falls behind, a snapshot of the connections that replaces what it missed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use tokio::sync::Notify;

use crate::{ConnectionId, ConnectionInfo};

/// Something that happened to one of the node's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A connection finished its handshakes.
    Established(ConnectionInfo),
    /// A connection ended.
    Closed(ConnectionInfo),
    /// The peer of a connection told us who it is (identify).
    Identified(Identified),
    /// Every connection open now. Sent first to a subscriber that starts while connections
    /// exist, and instead of the events a subscriber missed by falling more than its capacity
    /// behind: a connection absent from the list closed, one new to it opened.
    Resync(Vec<ConnectionInfo>),
}

/// What a peer said about itself on one connection (identify), as services need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The peer.
    pub peer: PeerId,
    /// The connection it answered on.
    pub connection: ConnectionId,
    /// The protocols it accepts streams for.
    pub protocols: Vec<String>,
    /// Its implementation, e.g. `hyphae/0.1.0`.
    pub agent_version: Option<String>,
    /// The addresses it listens on.
    pub listen_addrs: Vec<Multiaddr>,
    /// Our address as it sees us.
    pub observed_addr: Option<Multiaddr>,
}

/// A service's subscription to connection events, from [`Context::connections`].
///
/// Each subscriber has its own bounded queue, so a slow one costs only its own capacity
/// and never holds back the node or other subscribers. When its queue is full the queue is
/// dropped and the next event is a [`ConnectionEvent::Resync`]: never a silent gap.
///
/// [`Context::connections`]: crate::Context::connections
#[derive(Debug)]
pub struct ConnectionEvents {
    hub: Arc<Hub>,
    subscriber: Arc<Subscriber>,
}

/// The node's side of [`ConnectionEvents`]: it publishes here, subscribers read their own
/// queues. Dropping it (the node going away) ends every subscription.
#[derive(Debug, Default)]
pub struct ConnectionHub {
    hub: Arc<Hub>,
}

#[derive(Debug, Default)]
struct Hub {
    state: Mutex<HubState>,
}

#[derive(Debug, Default)]
struct HubState {
    connections: BTreeMap<ConnectionId, ConnectionInfo>,
    subscribers: Vec<Weak<Subscriber>>,
    is_closed: bool,
}

#[derive(Debug)]
struct Subscriber {
    queue: Mutex<Queue>,
    notify: Notify,
}

#[derive(Debug)]
struct Queue {
    events: VecDeque<ConnectionEvent>,
    capacity: usize,
    /// Events were dropped: the next read is a resync.
    is_lagging: bool,
    is_closed: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data is plain and consistent between statements; a panic elsewhere leaves it usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    fn snapshot(state: &HubState) -> Vec<ConnectionInfo> {
        state.connections.values().cloned().collect()
    }
}

impl Subscriber {
    /// Queues `event`, or drops the queue for a resync if it is full.
    fn offer(&self, event: ConnectionEvent) {
        let mut queue = lock(&self.queue);
        if !queue.is_lagging {
            if queue.events.len() < queue.capacity {
                queue.events.push_back(event);
            } else {
                queue.is_lagging = true;
                queue.events.clear();
            }
        }
        drop(queue);
        self.notify.notify_one();
    }
}

impl ConnectionHub {
    /// Publishes `event` to every subscriber.
    pub fn publish(&self, event: ConnectionEvent) {
        let mut state = lock(&self.hub.state);
        match &event {
            ConnectionEvent::Established(info) => {
                state.connections.insert(info.id, info.clone());
            }
            ConnectionEvent::Closed(info) => {
                state.connections.remove(&info.id);
            }
            ConnectionEvent::Identified(_) | ConnectionEvent::Resync(_) => {}
        }
        state
            .subscribers
            .retain(|subscriber| subscriber.strong_count() > 0);
        // Each subscriber but the last gets a copy, the last the event itself: an
        // `Identified` copy is several allocations (its strings and lists).
        let mut subscribers = state
            .subscribers
            .iter()
            .filter_map(Weak::upgrade)
            .peekable();
        while let Some(subscriber) = subscribers.next() {
            if subscribers.peek().is_none() {
                subscriber.offer(event);
                break;
            }
            subscriber.offer(event.clone());
        }
    }

    /// A new subscription holding at most `capacity` events (at least one); it starts with a
    /// [`ConnectionEvent::Resync`] if connections are open.
    pub fn subscribe(&self, capacity: usize) -> ConnectionEvents {
        let mut state = lock(&self.hub.state);
        let mut events = VecDeque::new();
        if !state.connections.is_empty() {
            events.push_back(ConnectionEvent::Resync(Hub::snapshot(&state)));
        }
        let subscriber = Arc::new(Subscriber {
            queue: Mutex::new(Queue {
                events,
                capacity: capacity.max(1),
                is_lagging: false,
                is_closed: state.is_closed,
            }),
            notify: Notify::new(),
        });
        state.subscribers.push(Arc::downgrade(&subscriber));
        ConnectionEvents {
            hub: Arc::clone(&self.hub),
            subscriber,
        }
    }

    /// The connections open now.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        Hub::snapshot(&lock(&self.hub.state))
    }

    /// The connection `id`, if it is open (established and not yet closed, as published).
    pub fn connection(&self, id: ConnectionId) -> Option<ConnectionInfo> {
        lock(&self.hub.state).connections.get(&id).cloned()
    }
}

impl Drop for ConnectionHub {
    fn drop(&mut self) {
        let mut state = lock(&self.hub.state);
        state.is_closed = true;
        for subscriber in state.subscribers.drain(..).filter_map(|s| s.upgrade()) {
            lock(&subscriber.queue).is_closed = true;
            subscriber.notify.notify_one();
        }
    }
}

impl ConnectionEvents {
    /// The next event; `None` once the node is gone.
    pub async fn next(&mut self) -> Option<ConnectionEvent> {
        loop {
            if let Some(event) = self.try_next() {
                return event;
            }
            self.subscriber.notify.notified().await;
        }
    }

    /// The next event if one is ready: `Some(None)` once the node is gone, `None` if
    /// nothing is queued.
    pub fn try_next(&mut self) -> Option<Option<ConnectionEvent>> {
        let mut queue = lock(&self.subscriber.queue);
        if queue.is_lagging {
            drop(queue);
            // Same lock order as `publish`: the snapshot and the queue agree.
            let state = lock(&self.hub.state);
            let mut queue = lock(&self.subscriber.queue);
            queue.is_lagging = false;
            queue.events.clear();
            return Some(Some(ConnectionEvent::Resync(Hub::snapshot(&state))));
        }
        if let Some(event) = queue.events.pop_front() {
            return Some(Some(event));
        }
        queue.is_closed.then_some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;

    fn info(n: u64) -> ConnectionInfo {
        ConnectionInfo {
            id: ConnectionId::new(n),
            peer: PeerId::random(),
            remote_addr: "/ip4/127.0.0.1/tcp/1".parse().unwrap(),
            direction: Direction::Inbound,
        }
    }

    #[tokio::test]
    async fn a_subscriber_sees_events_in_order() {
        let hub = ConnectionHub::default();
        let mut events = hub.subscribe(8);
        let (a, b) = (info(1), info(2));
        hub.publish(ConnectionEvent::Established(a.clone()));
        hub.publish(ConnectionEvent::Established(b.clone()));
        hub.publish(ConnectionEvent::Closed(a.clone()));
        assert_eq!(
            events.next().await,
            Some(ConnectionEvent::Established(a.clone()))
        );
        assert_eq!(events.next().await, Some(ConnectionEvent::Established(b)));
        assert_eq!(events.next().await, Some(ConnectionEvent::Closed(a)));
        assert_eq!(events.try_next(), None);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_gets_a_snapshot_instead_of_a_gap() {
        let hub = ConnectionHub::default();
        let mut slow = hub.subscribe(2);
        let mut fast = hub.subscribe(100);
        let infos: Vec<_> = (1..=5).map(info).collect();
        for info in &infos {
            hub.publish(ConnectionEvent::Established(info.clone()));
        }
        hub.publish(ConnectionEvent::Closed(infos[0].clone()));
        // The slow one overflowed: one resync with the four connections still open.
        assert_eq!(
            slow.next().await,
            Some(ConnectionEvent::Resync(infos[1..].to_vec()))
        );
        assert_eq!(slow.try_next(), None);
        // Later events arrive normally after the resync.
        let sixth = info(6);
        hub.publish(ConnectionEvent::Established(sixth.clone()));
        assert_eq!(slow.next().await, Some(ConnectionEvent::Established(sixth)));
        // The fast one, with room, saw every event.
        for info in &infos {
            assert_eq!(
                fast.next().await,
                Some(ConnectionEvent::Established(info.clone()))
            );
        }
        assert_eq!(
            fast.next().await,
            Some(ConnectionEvent::Closed(infos[0].clone()))
        );
    }

    #[tokio::test]
    async fn a_late_subscriber_starts_with_the_open_connections() {
        let hub = ConnectionHub::default();
        let (a, b) = (info(1), info(2));
        hub.publish(ConnectionEvent::Established(a.clone()));
        hub.publish(ConnectionEvent::Established(b.clone()));
        let mut events = hub.subscribe(8);
        assert_eq!(
            events.next().await,
            Some(ConnectionEvent::Resync(vec![a, b]))
        );
        assert!(hub.subscribe(8).try_next().is_some());
    }

    #[tokio::test]
    async fn subscriptions_end_when_the_hub_is_dropped() {
        let hub = ConnectionHub::default();
        let mut events = hub.subscribe(8);
        let waiter = tokio::spawn(async move { events.next().await });
        tokio::task::yield_now().await;
        drop(hub);
        assert_eq!(waiter.await.unwrap(), None);
    }
}
