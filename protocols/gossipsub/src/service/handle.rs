//! What the application holds: a [`Handle`] to the running service and a [`Subscription`]
//! per topic it listens to.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use hyphae_identity::PeerId;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{Error, Message, MessageId, PublishError};

/// Commands waiting for the driver; callers wait beyond this.
pub(crate) const COMMAND_QUEUE: usize = 256;
/// Messages buffered per subscription; beyond this, messages for a subscriber that does not
/// read are dropped (and counted in [`Stats::dropped_deliveries`]).
pub(crate) const SUBSCRIPTION_BUFFER: usize = 256;

/// What a subscription's channel carries: boxed, because tokio allocates a channel's first
/// block of 32 slots when the channel is made, and a slot of [`Received`] itself would make
/// every joined topic hold 32 of them (about 7 KiB) before a message ever arrives. Boxed,
/// the block is 32 pointers, for one allocation per delivery.
pub(crate) type Delivery = Box<Received>;

/// A message delivered to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The peer that sent it to us (not necessarily its author).
    pub source: PeerId,
    /// Its id under the message-id function.
    pub id: MessageId,
    /// The message.
    pub message: Message,
    /// Whether this is a copy of a message already delivered: only subscriptions of a
    /// service built with [`Gossipsub::deliver_duplicates`](super::Gossipsub::deliver_duplicates)
    /// see copies.
    pub is_duplicate: bool,
}

impl Received {
    /// The payload.
    pub fn data(&self) -> &[u8] {
        self.message.data.as_deref().unwrap_or_default()
    }

    /// The author, for signed messages.
    pub fn author(&self) -> Option<PeerId> {
        self.message
            .from
            .as_deref()
            .and_then(|from| PeerId::from_bytes(from).ok())
    }
}

/// Counters of the service, for debugging and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Peers with a pubsub stream.
    pub peers: usize,
    /// Topics we joined.
    pub topics: usize,
    /// Bytes queued for peers and not yet written to their streams; zero once everything
    /// published has left (to the transport's buffers).
    pub unsent_bytes: usize,
    /// Frames dropped from outbound queues (full, or waited too long).
    pub dropped_frames: u64,
    /// Messages dropped because a subscriber did not read them.
    pub dropped_deliveries: u64,
    /// Messages dropped unjudged (too many awaited validation, or it took too long).
    pub unvalidated: u64,
    /// Message ids we sent in IDONTWANT.
    pub idontwant_sent: u64,
    /// Message ids peers sent us in IDONTWANT (counted as received, before the router's
    /// per-heartbeat bound).
    pub idontwant_received: u64,
    /// RPCs from peers that did not decode (their stream was closed).
    pub malformed_rpcs: u64,
}

pub(crate) enum Command {
    Subscribe(String, oneshot::Sender<Subscription>),
    Unsubscribe(String),
    Publish(
        String,
        Bytes,
        oneshot::Sender<Result<MessageId, PublishError>>,
    ),
    MeshPeers(String, oneshot::Sender<Vec<PeerId>>),
    TopicPeers(String, oneshot::Sender<Vec<PeerId>>),
    Scores(oneshot::Sender<Vec<(PeerId, f64)>>),
    Stats(oneshot::Sender<Stats>),
}

/// The handle to a running gossipsub service: `node.service::<Gossipsub>()`. Cheap to
/// clone; the service runs as long as its node.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
    /// Bumped whenever peers, subscriptions or meshes may have changed.
    changes: watch::Receiver<u64>,
}

impl Handle {
    pub(crate) fn new(commands: mpsc::Sender<Command>, changes: watch::Receiver<u64>) -> Handle {
        Handle { commands, changes }
    }

    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(command(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Joins `topic` (if not joined yet) and returns a stream of its messages. Several
    /// subscriptions to one topic each get every message; the topic is left when the last
    /// is dropped or [`Handle::unsubscribe`] is called.
    pub async fn subscribe(&self, topic: impl Into<String>) -> Result<Subscription, Error> {
        let topic = topic.into();
        self.ask(|tx| Command::Subscribe(topic, tx))
            .await
            .ok_or(Error::Stopped)
    }

    /// Leaves `topic`: its subscriptions end.
    pub async fn unsubscribe(&self, topic: impl Into<String>) -> Result<(), Error> {
        self.commands
            .send(Command::Unsubscribe(topic.into()))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Publishes `data` to `topic` (which need not be joined) and returns the message's id
    /// once it is queued for its peers.
    pub async fn publish(
        &self,
        topic: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Result<MessageId, PublishError> {
        let (topic, data) = (topic.into(), data.into());
        self.ask(|tx| Command::Publish(topic, data, tx))
            .await
            .unwrap_or(Err(PublishError::Stopped))
    }

    /// Our mesh peers in `topic`.
    pub async fn mesh_peers(&self, topic: impl Into<String>) -> Vec<PeerId> {
        let topic = topic.into();
        self.ask(|tx| Command::MeshPeers(topic, tx))
            .await
            .unwrap_or_default()
    }

    /// Connected peers subscribed to `topic`.
    pub async fn topic_peers(&self, topic: impl Into<String>) -> Vec<PeerId> {
        let topic = topic.into();
        self.ask(|tx| Command::TopicPeers(topic, tx))
            .await
            .unwrap_or_default()
    }

    /// Every peer with a pubsub stream, with its score (0 without scoring).
    pub async fn scores(&self) -> Vec<(PeerId, f64)> {
        self.ask(Command::Scores).await.unwrap_or_default()
    }

    /// The service's counters.
    pub async fn stats(&self) -> Stats {
        self.ask(Command::Stats).await.unwrap_or_default()
    }

    /// Waits until `condition` holds of what `query` returns, re-asking whenever peers,
    /// subscriptions or meshes change, and returns the last answer. Callers bound the wait
    /// with a timeout; it returns early if the service stops.
    ///
    /// ```no_run
    /// # async fn run(gossip: hyphae_gossipsub::Handle) {
    /// // Wait for a peer subscribed to "chat" before publishing to it.
    /// let peers = gossip
    ///     .wait_for(
    ///         |handle| async move { handle.topic_peers("chat").await },
    ///         |peers| !peers.is_empty(),
    ///     )
    ///     .await;
    /// # }
    /// ```
    pub async fn wait_for<T, F, Q>(&self, query: Q, condition: impl Fn(&T) -> bool) -> T
    where
        Q: Fn(Handle) -> F,
        F: Future<Output = T>,
    {
        let mut changes = self.changes.clone();
        loop {
            changes.mark_unchanged();
            let answer = query(self.clone()).await;
            if condition(&answer) || changes.changed().await.is_err() {
                return answer;
            }
        }
    }
}

/// The messages of one topic, as a [`futures_core::Stream`] or with [`Subscription::next`].
/// Dropping it unsubscribes (once every subscription to the topic is gone).
#[derive(Debug)]
pub struct Subscription {
    topic: String,
    messages: mpsc::Receiver<Delivery>,
}

impl Subscription {
    pub(crate) fn new(topic: String, messages: mpsc::Receiver<Delivery>) -> Subscription {
        Subscription { topic, messages }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The next message; `None` once unsubscribed or the service stopped.
    pub async fn next(&mut self) -> Option<Received> {
        self.messages.recv().await.map(|received| *received)
    }
}

impl futures_core::Stream for Subscription {
    type Item = Received;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Received>> {
        self.messages
            .poll_recv(cx)
            .map(|received| received.map(|received| *received))
    }
}
