//! A service's queue of inbound streams for one protocol.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tracing::debug;

use crate::Stream;

/// Inbound streams of one protocol, waiting for the service that accepts them.
///
/// The queue holds at most the backlog given to [`Context::accept`](crate::Context::accept):
/// a stream that arrives while it is full is reset (the peer sees its stream fail) and
/// counted in [`refused`](Incoming::refused), so a peer opening streams faster than the
/// service takes them costs a bounded amount of memory. Dropping `Incoming` stops serving
/// the protocol, and connected peers are told through identify push.
#[derive(Debug)]
pub struct Incoming {
    protocol: String,
    receiver: mpsc::Receiver<Stream>,
    refused: Arc<AtomicU64>,
    _registration: Registration,
}

/// The node's side of an [`Incoming`]: where it puts each negotiated stream.
#[derive(Debug, Clone)]
pub struct IncomingSender {
    sender: mpsc::Sender<Stream>,
    refused: Arc<AtomicU64>,
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
    let (sender, receiver) = mpsc::channel(backlog.max(1));
    let refused = Arc::new(AtomicU64::new(0));
    let incoming = Incoming {
        protocol,
        receiver,
        refused: Arc::clone(&refused),
        _registration: Registration(Some(Box::new(unregister))),
    };
    (IncomingSender { sender, refused }, incoming)
}

impl Incoming {
    /// The next inbound stream; `None` once the node is gone.
    pub async fn next(&mut self) -> Option<Stream> {
        self.receiver.recv().await
    }

    /// The protocol these streams speak.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Streams reset so far because the backlog was full.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl IncomingSender {
    /// Queues `stream`; if the backlog is full or the service is gone, the stream is
    /// dropped (which resets it) and `false` returned.
    pub fn offer(&self, stream: Stream) -> bool {
        match self.sender.try_send(stream) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(stream)) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                debug!(protocol = stream.protocol(), peer = %stream.peer(), "backlog full: resetting stream");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Whether the [`Incoming`] was dropped.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}
