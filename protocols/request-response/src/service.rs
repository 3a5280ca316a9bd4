//! The request-response service: sends requests and answers them, one stream each.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hyphae_service::{ConnectionId, Context, Incoming, PeerId, Protocols, Service, Stream};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::{Instant, timeout_at};
use tracing::{Instrument, debug};

use crate::slots::{Slot, Slots};
use crate::{Codec, Config, Error, Message};

/// Inbound streams negotiated but not yet taken by the service's accept loop; beyond this a
/// burst of them is reset. The loop only counts and spawns, so it is rarely behind.
const INBOUND_BACKLOG: usize = 32;

/// A request-response protocol as a node service: sends requests with
/// [`Handle::send_request`] and hands inbound ones to [`Handle::next_request`].
///
/// Install it with `Builder::service` and reach it with
/// `node.service::<RequestResponse<C>>()`. A node runs one service per type, so two
/// protocols with the same codec type replace each other: give each its own request and
/// response types (or its own codec type).
#[derive(Debug, Clone)]
pub struct RequestResponse<C> {
    protocols: Vec<String>,
    codec: C,
    config: Config,
}

impl<C: Codec> RequestResponse<C> {
    /// A service speaking `protocols` (one protocol id, or several in order of preference:
    /// see the [crate docs](crate#protocol-ids-and-versions)) with `codec`.
    pub fn new(protocols: impl Protocols, codec: C, config: Config) -> RequestResponse<C> {
        RequestResponse {
            protocols: protocols.into_protocols(),
            codec,
            config,
        }
    }
}

/// Sends requests and receives inbound ones; from `Node::service::<RequestResponse<C>>()`.
/// Cheap to clone; clones share the service.
pub struct Handle<C: Codec> {
    shared: Arc<Shared<C>>,
}

struct Shared<C: Codec> {
    cx: Context,
    codec: C,
    protocols: Vec<String>,
    config: Config,
    outbound: Slots,
    /// Requests read and waiting for the application; bounded by `Config::max_inbound`.
    requests: Mutex<mpsc::Receiver<InboundRequest<C::Request, C::Response>>>,
}

/// What the tasks serving inbound streams share.
struct Inbound<C: Codec> {
    codec: C,
    config: Config,
    slots: Slots,
    requests: mpsc::Sender<InboundRequest<C::Request, C::Response>>,
}

/// A request a peer sent, with the [`Responder`] that answers it; from
/// [`Handle::next_request`].
#[derive(Debug)]
pub struct InboundRequest<Req, Resp> {
    /// The peer that sent it.
    pub peer: PeerId,
    /// The connection it arrived on.
    pub connection: ConnectionId,
    /// The protocol it was sent with (one of the service's).
    pub protocol: String,
    /// The request.
    pub request: Req,
    /// Answers it; dropping it unanswered resets the stream.
    pub responder: Responder<Resp>,
}

/// Sends the response to one inbound request.
///
/// Dropping it without calling [`respond`](Responder::respond) resets the request's stream:
/// the requester's `send_request` fails with [`Error::StreamClosed`] at once rather than
/// waiting for its timeout.
pub struct Responder<Resp> {
    sender: oneshot::Sender<(Resp, oneshot::Sender<Result<(), Error>>)>,
    deadline: Instant,
    timeout: Duration,
}

impl<C: Codec> Service for RequestResponse<C> {
    type Handle = Handle<C>;

    fn start(self, cx: Context) -> Handle<C> {
        let config = self.config;
        let (sender, receiver) = mpsc::channel(config.max_inbound.max(1));
        if config.accepts_inbound {
            let inbound = Arc::new(Inbound {
                codec: self.codec.clone(),
                config: config.clone(),
                slots: Slots::new(config.max_inbound_per_peer, config.max_inbound),
                requests: sender,
            });
            for protocol in &self.protocols {
                let incoming = cx.accept(protocol.clone(), INBOUND_BACKLOG);
                cx.spawn(accept(cx.clone(), incoming, Arc::clone(&inbound)));
            }
        }
        Handle {
            shared: Arc::new(Shared {
                outbound: Slots::new(config.max_outbound_per_peer, config.max_outbound),
                cx,
                codec: self.codec,
                protocols: self.protocols,
                config,
                requests: Mutex::new(receiver),
            }),
        }
    }
}

impl<C: Codec> Clone for Handle<C> {
    fn clone(&self) -> Handle<C> {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: Codec> fmt::Debug for Handle<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("protocols", &self.shared.protocols)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl<C: Codec> Handle<C> {
    /// Sends `request` to `peer` (dialling it if no connection is open) and returns its
    /// response.
    ///
    /// Each request has its own stream. Fails at once with [`Error::TooManyInflight`] when
    /// [`Config::max_outbound_per_peer`] requests to `peer` or [`Config::max_outbound`] in
    /// all are already waiting (it does not queue: back-pressure stays with the caller),
    /// and with [`Error::Timeout`] when the whole exchange takes longer than
    /// [`Config::timeout`]. Dropping the returned future abandons the request and frees its
    /// slot.
    pub async fn send_request(
        &self,
        peer: PeerId,
        request: C::Request,
    ) -> Result<C::Response, Error> {
        let shared = &*self.shared;
        if shared.cx.is_shut_down() {
            return Err(Error::Shutdown);
        }
        let _slot = shared
            .outbound
            .try_acquire(peer)
            .map_err(Error::TooManyInflight)?;
        let timeout = shared.config.timeout;
        let span = tracing::debug_span!("request", %peer, protocol = ?shared.protocols);
        let exchange = tokio::time::timeout(timeout, shared.exchange(peer, request));
        tokio::select! {
            biased;
            () = shared.cx.shut_down() => Err(Error::Shutdown),
            result = exchange.instrument(span) => result.unwrap_or(Err(Error::Timeout(timeout))),
        }
    }

    /// The next inbound request; `None` once the node has shut down (or at once if the
    /// service was configured not to accept requests).
    ///
    /// Requests wait in a queue bounded by [`Config::max_inbound`]; one whose timeout
    /// passed while it waited is skipped (its stream was already reset). Clones of the
    /// handle may call this concurrently: each request goes to one of them.
    pub async fn next_request(&self) -> Option<InboundRequest<C::Request, C::Response>> {
        let mut requests = self.shared.requests.lock().await;
        loop {
            let request = requests.recv().await?;
            if !request.responder.sender.is_closed() {
                return Some(request);
            }
            debug!(peer = %request.peer, "skipping a request that timed out in the queue");
        }
    }

    /// The protocols the service speaks, most preferred first.
    pub fn protocols(&self) -> &[String] {
        &self.shared.protocols
    }

    /// The service's configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }
}

impl<C: Codec> Shared<C> {
    /// Opens a stream, writes the request, closes our side and reads the response.
    async fn exchange(&self, peer: PeerId, request: C::Request) -> Result<C::Response, Error> {
        let mut stream = self
            .cx
            .open_stream(peer, self.protocols.clone())
            .await
            .map_err(|source| self.open_error(peer, source))?;
        debug!(protocol = stream.protocol(), "sending request");
        let exchanged = async {
            self.codec
                .write_request(&mut stream, request, self.config.max_request_size)
                .await?;
            stream
                .shutdown()
                .await
                .map_err(|source| Error::stream(Message::Request, source))?;
            self.codec
                .read_response(&mut stream, self.config.max_response_size)
                .await
        }
        .await;
        // With one protocol, negotiation is optimistic: a refusal surfaces as a failed read,
        // or as a failed write if the peer ends the stream before our request is out (as a
        // rust-libp2p peer does).
        exchanged.map_err(|error| match error {
            Error::StreamClosed { source, .. } if is_refusal(&source) => self.unsupported(peer),
            error => error,
        })
    }

    fn open_error(&self, peer: PeerId, source: hyphae_service::Error) -> Error {
        match source {
            hyphae_service::Error::Shutdown => Error::Shutdown,
            hyphae_service::Error::Negotiation(hyphae_core::Error::NegotiationFailed {
                ..
            }) => self.unsupported(peer),
            hyphae_service::Error::Io(error) if is_refusal(&error) => self.unsupported(peer),
            source => Error::Open {
                peer,
                source: Box::new(source),
            },
        }
    }

    fn unsupported(&self, peer: PeerId) -> Error {
        Error::UnsupportedProtocols {
            peer,
            protocols: self.protocols.clone(),
        }
    }
}

/// Whether a stream error is the peer refusing every protocol we proposed: with a single
/// protocol, negotiation is optimistic and the refusal surfaces on the first read.
fn is_refusal(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<hyphae_core::Error>())
        .is_some_and(|inner| matches!(inner, hyphae_core::Error::NegotiationFailed { .. }))
}

/// Serves each inbound stream of one protocol on its own task, within the inbound limits.
async fn accept<C: Codec>(cx: Context, mut incoming: Incoming, inbound: Arc<Inbound<C>>) {
    while let Some(stream) = incoming.next().await {
        let peer = stream.peer();
        match inbound.slots.try_acquire(peer) {
            Ok(slot) => {
                let span = tracing::debug_span!(
                    "inbound request",
                    %peer,
                    connection = %stream.connection(),
                    protocol = stream.protocol(),
                );
                cx.spawn(serve(Arc::clone(&inbound), stream, slot).instrument(span));
            }
            // Dropping the stream resets it.
            Err(limit) => debug!(%peer, %limit, "inbound limit reached: resetting the stream"),
        }
    }
}

/// Reads one request, hands it to the application and writes its response, all before the
/// deadline; any failure resets the stream (by dropping it unclosed).
async fn serve<C: Codec>(inbound: Arc<Inbound<C>>, mut stream: Stream, _slot: Slot) {
    let config = &inbound.config;
    let deadline = Instant::now() + config.timeout;
    let read = inbound
        .codec
        .read_request(&mut stream, config.max_request_size);
    let request = match timeout_at(deadline, read).await {
        Ok(Ok(request)) => request,
        Ok(Err(error)) => {
            debug!(%error, "reading the request failed: resetting the stream");
            return;
        }
        Err(_) => {
            debug!("no whole request before the timeout: resetting the stream");
            return;
        }
    };
    let (sender, receiver) = oneshot::channel();
    let request = InboundRequest {
        peer: stream.peer(),
        connection: stream.connection(),
        protocol: stream.protocol().to_owned(),
        request,
        responder: Responder {
            sender,
            deadline,
            timeout: config.timeout,
        },
    };
    if inbound.requests.try_send(request).is_err() {
        debug!("request queue full or service gone: resetting the stream");
        return;
    }
    let (response, done) = match timeout_at(deadline, receiver).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => {
            debug!("responder dropped: resetting the stream");
            return;
        }
        Err(_) => {
            debug!("no response before the timeout: resetting the stream");
            return;
        }
    };
    let write = async {
        inbound
            .codec
            .write_response(&mut stream, response, config.max_response_size)
            .await?;
        stream
            .shutdown()
            .await
            .map_err(|source| Error::stream(Message::Response, source))
    };
    let result = timeout_at(deadline, write)
        .await
        .unwrap_or(Err(Error::Timeout(config.timeout)));
    match &result {
        Ok(()) => debug!("response sent"),
        Err(error) => debug!(%error, "sending the response failed"),
    }
    // The responder may have stopped waiting.
    let _ = done.send(result);
}

impl<Resp> Responder<Resp> {
    /// Sends `response` and closes the stream; returns once it is written.
    ///
    /// Fails with [`Error::TooLarge`] (and resets the stream) if the response exceeds
    /// [`Config::max_response_size`], with [`Error::Timeout`] if the request's timeout has
    /// passed (its stream was reset then), and with [`Error::StreamClosed`] if the
    /// requester is gone.
    pub async fn respond(self, response: Resp) -> Result<(), Error> {
        let (deadline, timeout) = (self.deadline, self.timeout);
        let (done, result) = oneshot::channel();
        if self.sender.send((response, done)).is_err() {
            return Err(gone(deadline, timeout));
        }
        result
            .await
            .unwrap_or_else(|_| Err(gone(deadline, timeout)))
    }

    /// Whether the request can no longer be answered: its timeout passed or the node shut
    /// down.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// Why the task serving a request ended before answering: it gives up at the deadline,
/// and otherwise only stops with the node.
fn gone(deadline: Instant, timeout: Duration) -> Error {
    if Instant::now() >= deadline {
        Error::Timeout(timeout)
    } else {
        Error::Shutdown
    }
}

impl<Resp> fmt::Debug for Responder<Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("deadline", &self.deadline)
            .field("is_closed", &self.is_closed())
            .finish()
    }
}
