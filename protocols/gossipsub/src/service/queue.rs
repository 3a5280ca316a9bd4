//! A peer's outbound queue: bounded, prioritised and shedding what would arrive too late.
//!
//! The driver pushes encoded frames in three classes; the peer's writer task pops them.
//! Control (subscriptions, GRAFT, PRUNE, gossip, IDONTWANT) goes first: it is small and
//! keeps meshes healthy. Our own publications and forwarded messages then take turns, so
//! that neither starves the other. Messages that waited longer than their class allows are
//! dropped when they reach the front rather than sent late, and a full queue refuses new
//! messages: a slow peer costs at most the queue's bound, and the drops are counted so that
//! the driver can lower its score. The queue also reserves the bytes it holds from the
//! service's resource scope for the peer, so that all queues together stay within the
//! gossipsub service's and each peer's memory limits: a frame the scope refuses is dropped
//! like one that does not fit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use hyphae_core::resources::Scope;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a frame carries, which decides its priority and how long it may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Subscriptions and control messages.
    Control,
    /// A message we published.
    Publish,
    /// A message we forward for others.
    Forward,
}

/// The bounds of each peer's outbound queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most bytes of control frames queued; more are dropped. Default 1 MiB.
    pub max_control_bytes: usize,
    /// Most bytes of message frames (published and forwarded) queued; more are dropped.
    /// A frame larger than this is still taken when no message waits. Default 4 MiB.
    pub max_message_bytes: usize,
    /// How long our own message may wait before it is dropped unsent. Default 5 s.
    pub publish_ttl: Duration,
    /// How long a forwarded message may wait; past it, the peer most likely has the message
    /// from someone else. Default 1 s.
    pub forward_ttl: Duration,
}

impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            max_control_bytes: 1024 * 1024,
            max_message_bytes: 4 * 1024 * 1024,
            publish_ttl: Duration::from_secs(5),
            forward_ttl: Duration::from_secs(1),
        }
    }
}

/// The driver's end and the writer's end of one peer's queue.
#[derive(Debug, Clone)]
pub(crate) struct OutboundQueue {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    ready: Notify,
    limits: QueueLimits,
    /// Where the queued bytes are reserved, if anywhere.
    memory: Option<Scope>,
}

#[derive(Debug, Default)]
struct State {
    control: VecDeque<Bytes>,
    publish: VecDeque<(Instant, Bytes)>,
    forward: VecDeque<(Instant, Bytes)>,
    control_bytes: usize,
    message_bytes: usize,
    /// Bytes the writer took and has not yet reported written.
    writing_bytes: usize,
    /// Whether a forwarded message goes next when both message classes wait.
    forward_turn: bool,
    /// Frames refused or shed, ever.
    dropped: u64,
    is_closed: bool,
    /// Bytes reserved in the memory scope: at least the unsent bytes, given back as they
    /// are written or shed.
    reserved: usize,
}

fn lock(mutex: &Mutex<State>) -> MutexGuard<'_, State> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OutboundQueue {
    pub(crate) fn new(limits: QueueLimits, memory: Option<Scope>) -> OutboundQueue {
        OutboundQueue {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                ready: Notify::new(),
                limits,
                memory,
            }),
        }
    }

    /// Gives back the reservation of bytes no longer held.
    fn settle(&self, state: &mut State) {
        let unsent = state.control_bytes + state.message_bytes + state.writing_bytes;
        if let Some(memory) = &self.shared.memory
            && state.reserved > unsent
        {
            memory.release_memory(state.reserved - unsent);
        }
        state.reserved = state.reserved.min(unsent);
    }

    /// Queues `frame`; false if it was dropped for want of room.
    pub(crate) fn push(&self, class: Class, frame: Bytes, now: Instant) -> bool {
        let limits = &self.shared.limits;
        let mut state = lock(&self.shared.state);
        if state.is_closed {
            return false;
        }
        let len = frame.len();
        let fits = match class {
            Class::Control => state.control_bytes + len <= limits.max_control_bytes,
            Class::Publish | Class::Forward => {
                state.message_bytes == 0 || state.message_bytes + len <= limits.max_message_bytes
            }
        };
        let reserved = match &self.shared.memory {
            Some(memory) => fits && memory.reserve_memory(len).is_ok(),
            None => fits,
        };
        if !reserved {
            state.dropped += 1;
            return false;
        }
        state.reserved += len;
        match class {
            Class::Control => {
                state.control_bytes += len;
                state.control.push_back(frame);
            }
            Class::Publish => {
                state.message_bytes += len;
                state.publish.push_back((now, frame));
            }
            Class::Forward => {
                state.message_bytes += len;
                state.forward.push_back((now, frame));
            }
        }
        drop(state);
        self.shared.ready.notify_one();
        true
    }

    /// Frames dropped since the queue was made.
    pub(crate) fn dropped(&self) -> u64 {
        lock(&self.shared.state).dropped
    }

    /// Bytes not yet written to the peer's stream: waiting, or taken by the writer.
    pub(crate) fn unsent_bytes(&self) -> usize {
        let state = lock(&self.shared.state);
        state.control_bytes + state.message_bytes + state.writing_bytes
    }

    /// The writer wrote (and flushed) all it took.
    pub(crate) fn written(&self) {
        let mut state = lock(&self.shared.state);
        state.writing_bytes = 0;
        self.settle(&mut state);
    }

    /// Ends the queue: the writer finishes and later pushes are refused.
    pub(crate) fn close(&self) {
        let mut state = lock(&self.shared.state);
        state.is_closed = true;
        state.control.clear();
        state.publish.clear();
        state.forward.clear();
        state.control_bytes = 0;
        state.message_bytes = 0;
        state.writing_bytes = 0;
        self.settle(&mut state);
        drop(state);
        self.shared.ready.notify_one();
    }

    /// Waits for frames and moves up to `budget` bytes of them into `out` (at least one
    /// frame, whatever its size); `None` once the queue is closed.
    pub(crate) async fn pop_into(&self, out: &mut Vec<u8>, budget: usize) -> Option<()> {
        loop {
            {
                let mut state = lock(&self.shared.state);
                if state.is_closed {
                    return None;
                }
                let now = Instant::now();
                let mut taken = false;
                while out.len() < budget {
                    match state.pop(&self.shared.limits, now) {
                        Some(frame) => {
                            state.writing_bytes += frame.len();
                            out.extend_from_slice(&frame);
                            taken = true;
                        }
                        None => break,
                    }
                }
                // Shedding may have dropped frames.
                self.settle(&mut state);
                if taken {
                    return Some(());
                }
            }
            self.shared.ready.notified().await;
        }
    }
}

impl State {
    /// The next frame to send, shedding stale messages on the way.
    fn pop(&mut self, limits: &QueueLimits, now: Instant) -> Option<Bytes> {
        if let Some(frame) = self.control.pop_front() {
            self.control_bytes -= frame.len();
            return Some(frame);
        }
        self.shed(now, limits);
        let publish_next = !self.forward_turn || self.forward.is_empty();
        let queue = if publish_next && !self.publish.is_empty() {
            self.forward_turn = true;
            &mut self.publish
        } else {
            self.forward_turn = false;
            &mut self.forward
        };
        let (_, frame) = queue.pop_front()?;
        self.message_bytes -= frame.len();
        Some(frame)
    }

    /// Drops messages from the front of each class that waited past its time.
    fn shed(&mut self, now: Instant, limits: &QueueLimits) {
        for (queue, ttl) in [
            (&mut self.publish, limits.publish_ttl),
            (&mut self.forward, limits.forward_ttl),
        ] {
            while let Some((queued, frame)) = queue.front() {
                if now.saturating_duration_since(*queued) <= ttl {
                    break;
                }
                self.message_bytes -= frame.len();
                self.dropped += 1;
                queue.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u8, len: usize) -> Bytes {
        Bytes::from(vec![tag; len])
    }

    async fn pop_one(queue: &OutboundQueue) -> u8 {
        let mut out = Vec::new();
        queue.pop_into(&mut out, 1).await.expect("open");
        out[0]
    }

    #[tokio::test(start_paused = true)]
    async fn control_goes_first_and_messages_take_turns() {
        let queue = OutboundQueue::new(QueueLimits::default(), None);
        let now = Instant::now();
        for tag in [1, 2, 3] {
            assert!(queue.push(Class::Forward, frame(tag, 10), now));
        }
        assert!(queue.push(Class::Publish, frame(10, 10), now));
        assert!(queue.push(Class::Publish, frame(11, 10), now));
        assert!(queue.push(Class::Control, frame(20, 10), now));
        let mut order = Vec::new();
        for _ in 0..6 {
            order.push(pop_one(&queue).await);
        }
        assert_eq!(order, [20, 10, 1, 11, 2, 3]);
        // Taken by the writer, not yet written.
        assert_eq!(queue.unsent_bytes(), 60);
        queue.written();
        assert_eq!(queue.unsent_bytes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_messages_but_takes_one_oversized_frame_when_empty() {
        let limits = QueueLimits {
            max_message_bytes: 100,
            ..QueueLimits::default()
        };
        let queue = OutboundQueue::new(limits, None);
        let now = Instant::now();
        assert!(queue.push(Class::Forward, frame(1, 300), now));
        assert!(!queue.push(Class::Forward, frame(2, 10), now));
        assert!(!queue.push(Class::Publish, frame(3, 10), now));
        assert_eq!(queue.dropped(), 2);
        assert_eq!(pop_one(&queue).await, 1);
        assert!(queue.push(Class::Forward, frame(4, 60), now));
        assert!(!queue.push(Class::Forward, frame(5, 60), now));
    }

    #[tokio::test(start_paused = true)]
    async fn stale_messages_are_shed_instead_of_sent() {
        let queue = OutboundQueue::new(QueueLimits::default(), None);
        let start = Instant::now();
        assert!(queue.push(Class::Forward, frame(1, 10), start));
        assert!(queue.push(Class::Publish, frame(2, 10), start));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(queue.push(Class::Forward, frame(3, 10), Instant::now()));
        // The forward of 2 s ago is shed; the publication of 2 s ago is still in time.
        assert_eq!(pop_one(&queue).await, 2);
        assert_eq!(pop_one(&queue).await, 3);
        assert_eq!(queue.dropped(), 1);
        queue.written();
        assert_eq!(queue.unsent_bytes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn closing_ends_the_writer_and_frees_the_frames() {
        let queue = OutboundQueue::new(QueueLimits::default(), None);
        assert!(queue.push(Class::Forward, frame(1, 10), Instant::now()));
        queue.close();
        assert_eq!(queue.unsent_bytes(), 0);
        assert!(queue.pop_into(&mut Vec::new(), 1).await.is_none());
        assert!(!queue.push(Class::Control, frame(2, 10), Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn queued_bytes_are_reserved_until_written() {
        use hyphae_core::resources::{ResourceLimits, ResourceManager, ScopeLimits};
        let mut limits = ResourceLimits::scaled(1 << 30, 1024);
        limits
            .services
            .insert("gossipsub".into(), ScopeLimits::UNLIMITED.with_memory(250));
        let resources = ResourceManager::new(limits);
        let peer = hyphae_identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        let queue = OutboundQueue::new(
            QueueLimits::default(),
            Some(resources.service_span("gossipsub", &peer)),
        );
        let service = resources.service("gossipsub");
        let now = Instant::now();
        assert!(queue.push(Class::Forward, frame(1, 100), now));
        assert!(queue.push(Class::Control, frame(2, 100), now));
        assert!(
            !queue.push(Class::Forward, frame(3, 100), now),
            "the service scope is full"
        );
        assert_eq!(queue.dropped(), 1);
        assert_eq!(service.usage().memory, 200);

        let mut out = Vec::new();
        queue.pop_into(&mut out, 1).await.expect("open");
        assert_eq!(
            service.usage().memory,
            200,
            "still held while being written"
        );
        queue.written();
        assert_eq!(service.usage().memory, 100);
        assert!(queue.push(Class::Forward, frame(4, 100), now));

        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(queue.push(Class::Control, frame(5, 50), Instant::now()));
        let mut out = Vec::new();
        queue.pop_into(&mut out, 1000).await.expect("open");
        assert_eq!(out, vec![5; 50], "the stale messages were shed");
        queue.written();
        assert_eq!(
            service.usage().memory,
            0,
            "shed and written bytes are given back"
        );
        assert!(queue.push(Class::Control, frame(6, 100), Instant::now()));
        drop(queue);
        assert_eq!(resources.system().usage().memory, 0);
    }
}
