//! The kad protocol on streams: one request and its answer on an outbound stream; requests
//! answered one after another on an inbound stream (go-libp2p sends several on one stream).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyphae_core::frame;
use hyphae_core::resources::Scope;
use hyphae_identity::PeerId;
use hyphae_service::{Context, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, trace};

use crate::message::{Limits, Message};
use crate::{Error, Failure, RequestId, Transmit};

/// Largest request we read: a PUT_VALUE carries a record, and stores refuse values over
/// 65 KiB; IPNS records are at most 10 KiB.
pub(crate) const MAX_REQUEST_LEN: usize = 128 * 1024;
/// Largest answer we read: 20 peers of at most 8 KiB each (go-libp2p's trim), a record and
/// providers.
pub(crate) const MAX_RESPONSE_LEN: usize = 1024 * 1024;
/// How long an inbound stream may sit idle between requests before we close it.
const INBOUND_IDLE: Duration = Duration::from_secs(60);

/// The outcome of one outbound request, for the driver to hand to the core.
#[derive(Debug)]
pub(crate) enum Outcome {
    Response(RequestId, Message),
    Delivered(RequestId),
    Failed(RequestId, Failure),
}

/// Sends one request and reads its answer.
pub(crate) async fn request(
    cx: Context,
    protocol: String,
    transmit: Transmit,
    timeout: Duration,
) -> Outcome {
    let id = transmit.request;
    if !transmit.addrs.is_empty() {
        cx.peerstore()
            .add_addrs(transmit.peer, transmit.addrs.iter().cloned());
    }
    match tokio::time::timeout(timeout, exchange(&cx, protocol, &transmit)).await {
        Ok(Ok(Some(response))) => Outcome::Response(id, response),
        Ok(Ok(None)) => Outcome::Delivered(id),
        Ok(Err(failure)) => Outcome::Failed(id, failure),
        Err(_) => Outcome::Failed(id, Failure::Timeout),
    }
}

async fn exchange(
    cx: &Context,
    protocol: String,
    transmit: &Transmit,
) -> Result<Option<Message>, Failure> {
    let mut stream = cx
        .open_stream(transmit.peer, protocol.as_str())
        .await
        .map_err(|error| {
            debug!(peer = %transmit.peer, %error, "kad stream not opened");
            open_failure(&error)
        })?;
    debug!(peer = %transmit.peer, request = ?transmit.request, "kad stream opened");
    let written = frame::write(&mut stream, &transmit.message.encode()).await;
    if let Err(error) = written {
        return Err(stream_failure(&error));
    }
    if !transmit.expects_response {
        if let Err(error) = stream.shutdown().await {
            return Err(stream_failure(&error.into()));
        }
        return peer_closed(&mut stream).await.map(|()| None);
    }
    debug!(peer = %transmit.peer, request = ?transmit.request, "kad request written");
    let limits = Limits::default();
    match frame::read(&mut stream, MAX_RESPONSE_LEN).await {
        Ok(Some(body)) => Message::decode(&body, &limits)
            .map(Some)
            .map_err(|_| Failure::Invalid),
        Ok(None) => Err(Failure::Invalid),
        Err(error) => Err(stream_failure(&error)),
    }
}

/// Waits for the peer to end a stream that carried a request without an answer
/// (ADD_PROVIDER): the peer reads our end of stream only after the request, so its close
/// (or its reset, as peers that drop finished streams send) shows the request arrived. A
/// refused protocol shows here too, and our process cannot exit while the request is
/// still in our send queue.
async fn peer_closed(stream: &mut Stream) -> Result<(), Failure> {
    let mut discard = [0u8; 256];
    loop {
        match stream.read(&mut discard).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(error) => return Err(stream_failure(&error.into())),
        }
    }
}

fn open_failure(error: &hyphae_service::Error) -> Failure {
    match error {
        hyphae_service::Error::Negotiation(hyphae_core::Error::NegotiationFailed { .. }) => {
            Failure::Unsupported
        }
        _ => Failure::Unreachable,
    }
}

/// With one protocol, negotiation is optimistic: a peer refusing it shows as a failed read.
fn stream_failure(error: &hyphae_core::Error) -> Failure {
    let is_refusal = match error {
        hyphae_core::Error::NegotiationFailed { .. } => true,
        hyphae_core::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<hyphae_core::Error>())
            .is_some_and(|inner| matches!(inner, hyphae_core::Error::NegotiationFailed { .. })),
        _ => false,
    };
    if is_refusal {
        Failure::Unsupported
    } else {
        Failure::Invalid
    }
}

/// A request a peer sent, for the driver to answer through the core.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) peer: PeerId,
    pub(crate) message: Message,
    pub(crate) reply: oneshot::Sender<Result<Option<Message>, Error>>,
}

/// Serves one inbound stream: each request goes to the core through `requests`, each answer
/// back to the peer; an error answer resets the stream (closing it is how kad says no).
/// Each request is held in `memory` (the service's scope for the peer) until answered; a
/// request the scope cannot hold ends the stream unanswered.
pub(crate) async fn serve(mut stream: Stream, requests: mpsc::Sender<Inbound>, memory: Scope) {
    let peer = stream.peer();
    let limits = Limits::default();
    loop {
        let body =
            match tokio::time::timeout(INBOUND_IDLE, frame::read(&mut stream, MAX_REQUEST_LEN))
                .await
            {
                Ok(Ok(Some(body))) => body,
                // The peer's end of stream: close ours, so that a peer waiting for it
                // (see [`peer_closed`]) knows its requests arrived.
                Ok(Ok(None)) => {
                    let _ = stream.shutdown().await;
                    return;
                }
                Err(_) => return,
                Ok(Err(error)) => {
                    debug!(%peer, %error, "kad request unreadable");
                    return;
                }
            };
        // The decoded message holds at most about as much again as its body.
        let held = 2 * body.len();
        if let Err(refused) = memory.reserve_memory(held) {
            debug!(%peer, %refused, "kad request refused by the resource manager");
            return;
        }
        let answered = answer(&mut stream, &requests, peer, &body, &limits).await;
        memory.release_memory(held);
        if answered.is_none() {
            return;
        }
    }
}

/// Hands one request to the core and writes its answer; `None` ends the stream.
async fn answer(
    stream: &mut Stream,
    requests: &mpsc::Sender<Inbound>,
    peer: PeerId,
    body: &[u8],
    limits: &Limits,
) -> Option<()> {
    let message = match Message::decode(body, limits) {
        Ok(message) => message,
        Err(error) => {
            debug!(%peer, %error, "kad request undecodable");
            return None;
        }
    };
    trace!(%peer, kind = ?message.kind, "kad request");
    let (reply, answer) = oneshot::channel();
    let inbound = Inbound {
        peer,
        message,
        reply,
    };
    requests.send(inbound).await.ok()?;
    match answer.await {
        Ok(Ok(Some(response))) => frame::write(stream, &response.encode()).await.ok(),
        Ok(Ok(None)) => Some(()),
        Ok(Err(error)) => {
            debug!(%peer, %error, "kad request refused");
            None
        }
        Err(_) => None,
    }
}

/// Inbound streams being served, per peer: a peer opening more than its share waits for
/// none of ours, its extra streams are dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct InboundSlots {
    counts: Arc<Mutex<HashMap<PeerId, usize>>>,
}

/// One stream's place in [`InboundSlots`]; freed on drop.
#[derive(Debug)]
pub(crate) struct InboundSlot {
    counts: Arc<Mutex<HashMap<PeerId, usize>>>,
    peer: PeerId,
}

fn lock(counts: &Mutex<HashMap<PeerId, usize>>) -> MutexGuard<'_, HashMap<PeerId, usize>> {
    counts.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InboundSlots {
    pub(crate) fn try_acquire(&self, peer: PeerId, max: usize) -> Option<InboundSlot> {
        let mut counts = lock(&self.counts);
        let count = counts.entry(peer).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(InboundSlot {
            counts: Arc::clone(&self.counts),
            peer,
        })
    }
}

impl Drop for InboundSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.peer);
            }
        }
    }
}
