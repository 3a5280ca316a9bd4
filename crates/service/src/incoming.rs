//! A service's queue of inbound streams for one protocol.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyphae_identity::PeerId;
use tokio::sync::Notify;
use tracing::debug;

use crate::Stream;

/// Inbound streams of one protocol, waiting for the service that accepts them.
///
/// The queue holds at most the backlog given to [`Context::accept`](crate::Context::accept),
/// so a peer opening streams faster than the service takes them costs a bounded amount of
/// memory. The backlog is shared fairly between peers: a stream that arrives while it is
/// full takes the place of the newest stream of the peer with the most queued, if that peer
/// has more queued than the newcomer's; otherwise the newcomer is refused. A refused or
/// displaced stream is reset (its peer sees it fail) and counted in
/// [`refused`](Incoming::refused). So peers flooding a protocol with streams cannot keep
/// another peer's stream out: it waits behind at most its own.
///
/// Dropping `Incoming` stops serving the protocol (streams still queued are reset), and
/// connected peers are told through identify push.
#[derive(Debug)]
pub struct Incoming {
    protocol: String,
    shared: Arc<Shared>,
    _registration: Registration,
}

/// The node's side of an [`Incoming`]: where it puts each negotiated stream.
#[derive(Debug)]
pub struct IncomingSender {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// Woken when a stream is queued or the last sender is gone.
    ready: Notify,
    senders: AtomicUsize,
    receiver_gone: AtomicBool,
    refused: AtomicU64,
}

/// The queued streams, oldest first, and how many of them each peer has.
#[derive(Debug)]
struct Queue {
    streams: VecDeque<Stream>,
    queued: HashMap<PeerId, usize>,
    backlog: usize,
}

/// What [`Queue::push`] did with a stream.
enum Pushed {
    Queued,
    /// Queued in place of this stream of a peer with more queued.
    Displaced(Stream),
    Refused(Stream),
}

impl Queue {
    fn push(&mut self, stream: Stream) -> Pushed {
        if self.streams.len() < self.backlog {
            self.add(stream);
            return Pushed::Queued;
        }
        let own = self.queued.get(&stream.peer()).copied().unwrap_or(0);
        let heaviest = self
            .queued
            .iter()
            .max_by_key(|(_, count)| **count)
            .filter(|(_, count)| **count > own)
            .map(|(peer, _)| *peer);
        let newest = heaviest.and_then(|peer| self.streams.iter().rposition(|s| s.peer() == peer));
        match self.remove(newest) {
            Some(displaced) => {
                self.add(stream);
                Pushed::Displaced(displaced)
            }
            None => Pushed::Refused(stream),
        }
    }

    fn add(&mut self, stream: Stream) {
        *self.queued.entry(stream.peer()).or_default() += 1;
        self.streams.push_back(stream);
    }

    fn pop(&mut self) -> Option<Stream> {
        self.remove((!self.streams.is_empty()).then_some(0))
    }

    /// Takes the stream at `index` out of the queue, with its peer's count.
    fn remove(&mut self, index: Option<usize>) -> Option<Stream> {
        let stream = self.streams.remove(index?)?;
        if let Some(count) = self.queued.get_mut(&stream.peer()) {
            *count -= 1;
            if *count == 0 {
                self.queued.remove(&stream.peer());
            }
        }
        Some(stream)
    }
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the node's clean-up (unregistering the protocol) when the `Incoming` is dropped.
struct Registration(Option<Box<dyn FnOnce() + Send + Sync>>);

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registration")
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(unregister) = self.0.take() {
            unregister();
        }
    }
}

/// A queue of at most `backlog` streams (at least one) for `protocol`; `unregister` runs
/// once the [`Incoming`] is dropped. For node implementations.
pub fn channel(
    protocol: String,
    backlog: usize,
    unregister: impl FnOnce() + Send + Sync + 'static,
) -> (IncomingSender, Incoming) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            streams: VecDeque::new(),
            queued: HashMap::new(),
            backlog: backlog.max(1),
        }),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
        receiver_gone: AtomicBool::new(false),
        refused: AtomicU64::new(0),
    });
    let incoming = Incoming {
        protocol,
        shared: Arc::clone(&shared),
        _registration: Registration(Some(Box::new(unregister))),
    };
    (IncomingSender { shared }, incoming)
}

impl Incoming {
    /// The next inbound stream; `None` once the node is gone.
    pub async fn next(&mut self) -> Option<Stream> {
        loop {
            // The one receiver: a wake-up that comes before this waits is kept for it.
            let ready = self.shared.ready.notified();
            if let Some(stream) = self.shared.queue().pop() {
                return Some(stream);
            }
            if self.shared.senders.load(Ordering::Acquire) == 0 {
                return None;
            }
            ready.await;
        }
    }

    /// The protocol these streams speak.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Streams waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.shared.queue().streams.len()
    }

    /// Streams reset so far because the backlog was full: refused, or displaced by another
    /// peer's.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        // Reset outside the lock: dropping a stream may take the muxer's.
        let queued = std::mem::take(&mut self.shared.queue().streams);
        drop(queued);
    }
}

impl IncomingSender {
    /// Queues `stream`, in place of another peer's if the backlog is full (see
    /// [`Incoming`]). Returns `false` if it was refused, or the service is gone: it is
    /// dropped then, which resets it.
    pub fn offer(&self, stream: Stream) -> bool {
        if self.is_closed() {
            return false;
        }
        let pushed = self.shared.queue().push(stream);
        let (queued, reset) = match pushed {
            Pushed::Queued => (true, None),
            Pushed::Displaced(stream) => (true, Some(stream)),
            Pushed::Refused(stream) => (false, Some(stream)),
        };
        if queued {
            self.shared.ready.notify_one();
        }
        if let Some(stream) = reset {
            self.shared.refused.fetch_add(1, Ordering::Relaxed);
            debug!(protocol = stream.protocol(), peer = %stream.peer(), displaced = queued, "backlog full: resetting stream");
        }
        queued
    }

    /// Whether the [`Incoming`] was dropped.
    pub fn is_closed(&self) -> bool {
        self.shared.receiver_gone.load(Ordering::Acquire)
    }
}

impl Clone for IncomingSender {
    fn clone(&self) -> IncomingSender {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        IncomingSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for IncomingSender {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConnectionId;
    use hyphae_identity::Keypair;
    use tokio::io::{AsyncReadExt, DuplexStream};

    /// A stream from `peer` and the peer's end of it.
    fn stream_from(peer: PeerId) -> (Stream, DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(64);
        let stream = Stream::new(
            ours,
            "/test/1.0.0".into(),
            peer,
            ConnectionId::new(1),
            "/memory/1".parse().unwrap(),
        );
        (stream, theirs)
    }

    fn peer() -> PeerId {
        Keypair::generate_ed25519().peer_id()
    }

    /// Whether the other end of a stream saw it reset (here: closed without a byte).
    async fn was_reset(theirs: &mut DuplexStream) -> bool {
        matches!(theirs.read(&mut [0u8; 1]).await, Ok(0))
    }

    #[tokio::test]
    async fn a_newcomer_displaces_the_newest_stream_of_the_peer_with_the_most_queued() {
        let (sender, mut incoming) = channel("/test/1.0.0".into(), 3, || {});
        let (flooder, other, newcomer) = (peer(), peer(), peer());
        let (first, _first_end) = stream_from(flooder);
        let (second, mut second_end) = stream_from(flooder);
        let (others, _others_end) = stream_from(other);
        assert!(sender.offer(first));
        assert!(sender.offer(second));
        assert!(sender.offer(others));
        let (newcomers, _newcomers_end) = stream_from(newcomer);
        assert!(sender.offer(newcomers));
        assert!(was_reset(&mut second_end).await);
        assert_eq!(incoming.refused(), 1);
        let order: Vec<PeerId> = [(); 3]
            .iter()
            .map(|_| incoming.shared.queue().pop().unwrap().peer())
            .collect();
        assert_eq!(order, [flooder, other, newcomer]);
        drop(sender);
        assert!(incoming.next().await.is_none());
    }

    #[tokio::test]
    async fn a_stream_is_refused_when_no_peer_has_more_queued_than_its_own() {
        let (sender, incoming) = channel("/test/1.0.0".into(), 2, || {});
        let (a, b) = (peer(), peer());
        let (a_stream, _a_end) = stream_from(a);
        let (b_stream, _b_end) = stream_from(b);
        assert!(sender.offer(a_stream));
        assert!(sender.offer(b_stream));
        // `a` has one queued, as many as anybody: its second stream is refused.
        let (again, mut again_end) = stream_from(a);
        assert!(!sender.offer(again));
        assert!(was_reset(&mut again_end).await);
        assert_eq!(incoming.refused(), 1);
        assert_eq!(incoming.queued(), 2);
    }

    #[tokio::test]
    async fn next_waits_for_a_stream_and_ends_when_the_node_is_gone() {
        let (sender, mut incoming) = channel("/test/1.0.0".into(), 1, || {});
        let from = peer();
        let waiting = tokio::spawn(async move {
            let first = incoming.next().await.map(|s| s.peer());
            let end = incoming.next().await.map(|s| s.peer());
            (first, end)
        });
        tokio::task::yield_now().await;
        let (stream, _end) = stream_from(from);
        assert!(sender.offer(stream));
        drop(sender);
        assert_eq!(waiting.await.unwrap(), (Some(from), None));
    }

    #[tokio::test]
    async fn dropping_incoming_resets_what_it_queued_and_refuses_more() {
        let (sender, incoming) = channel("/test/1.0.0".into(), 4, || {});
        let (queued, mut queued_end) = stream_from(peer());
        assert!(sender.offer(queued));
        drop(incoming);
        assert!(was_reset(&mut queued_end).await);
        assert!(sender.is_closed());
        let (late, _late_end) = stream_from(peer());
        assert!(!sender.offer(late));
    }
}
