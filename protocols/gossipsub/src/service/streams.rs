//! Pubsub streams (pubsub/README.md "The RPC"): each peer writes its RPCs, length-prefixed,
//! on a stream it opens to us and reads ours on the one we open to it. A reader task per
//! inbound stream decodes RPCs and hands them to the driver, waiting while the driver is
//! busy (so a fast sender is slowed by its stream's flow control, not buffered); a writer
//! task per outbound stream drains the peer's [`OutboundQueue`].

use bytes::BytesMut;
use hyphae_core::frame::Decoder;
use hyphae_identity::PeerId;
use hyphae_service::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::debug;

use super::queue::OutboundQueue;
use crate::{DecodedRpc, Limits, Rpc};

/// Bytes of frames gathered into one write.
const WRITE_BATCH: usize = 64 * 1024;
/// Bytes read from a stream at a time.
const READ_CHUNK: usize = 16 * 1024;

/// What a stream task tells the driver.
#[derive(Debug)]
pub(crate) enum StreamEvent {
    /// An RPC arrived on the inbound stream numbered `stream`.
    Rpc {
        peer: PeerId,
        stream: u64,
        rpc: DecodedRpc,
    },
    /// The inbound stream ended; `malformed` if the peer sent what does not decode.
    InboundClosed {
        peer: PeerId,
        stream: u64,
        malformed: bool,
    },
    /// The outbound stream numbered `stream` failed or was closed by the peer.
    OutboundClosed { peer: PeerId, stream: u64 },
}

/// Reads RPCs from `stream` until it ends.
pub(crate) async fn read(
    mut stream: Stream,
    number: u64,
    limits: Limits,
    events: mpsc::Sender<StreamEvent>,
) {
    let peer = stream.peer();
    let decoder = Decoder::new(limits.max_rpc_len);
    let mut buffer = BytesMut::new();
    let malformed = loop {
        match decoder.decode(&mut buffer) {
            Ok(Some(body)) => match Rpc::decode(&body, &limits) {
                Ok(rpc) => {
                    let event = StreamEvent::Rpc {
                        peer,
                        stream: number,
                        rpc,
                    };
                    if events.send(event).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(error) => {
                    debug!(%peer, %error, "gossipsub: malformed RPC");
                    break true;
                }
            },
            Ok(None) => {}
            Err(error) => {
                debug!(%peer, %error, "gossipsub: malformed frame");
                break true;
            }
        }
        buffer.reserve(READ_CHUNK);
        match stream.read_buf(&mut buffer).await {
            Ok(0) => break !buffer.is_empty(),
            Ok(_) => {}
            Err(error) => {
                debug!(%peer, %error, "gossipsub: inbound stream failed");
                break false;
            }
        }
    };
    let _ = events
        .send(StreamEvent::InboundClosed {
            peer,
            stream: number,
            malformed,
        })
        .await;
}

/// Writes the frames of `queue` to `stream` until the queue closes or the stream fails.
pub(crate) async fn write(
    mut stream: Stream,
    number: u64,
    queue: OutboundQueue,
    events: mpsc::Sender<StreamEvent>,
) {
    let peer = stream.peer();
    // Grown on demand: most peers of a node are idle, and a batch reserved up front would
    // cost each of them WRITE_BATCH bytes for life.
    let mut batch = Vec::new();
    while queue.pop_into(&mut batch, WRITE_BATCH).await.is_some() {
        let written = async {
            stream.write_all(&batch).await?;
            stream.flush().await
        };
        if let Err(error) = written.await {
            debug!(%peer, %error, "gossipsub: outbound stream failed");
            let _ = events
                .send(StreamEvent::OutboundClosed {
                    peer,
                    stream: number,
                })
                .await;
            return;
        }
        queue.written();
        batch.clear();
        if batch.capacity() > 4 * WRITE_BATCH {
            batch = Vec::new();
        }
    }
    let _ = stream.shutdown().await;
}
