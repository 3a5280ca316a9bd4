//! Pubsub streams (pubsub/README.md "The RPC"): each peer writes its RPCs, length-prefixed,
//! on a stream it opens to us and reads ours on the one we open to it. A reader task per
//! inbound stream decodes RPCs and hands them to the driver, waiting while the driver is
//! busy (so a fast sender is slowed by its stream's flow control, not buffered); a writer
//! task per outbound stream drains the peer's [`OutboundQueue`].

use std::future::Future;
use std::task::Poll;

use bytes::BytesMut;
use hyphae_core::frame::Decoder;
use hyphae_identity::PeerId;
use hyphae_service::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::debug;

use super::queue::OutboundQueue;
use crate::{DecodedRpc, Limits, Rpc};

/// Bytes of frames gathered into one write.
const WRITE_BATCH: usize = 64 * 1024;
/// Bytes read from a stream at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes of the first read after a quiet spell, into the reader's own state: an idle
/// stream holds no read buffer.
const WAKE_READ: usize = 64;

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
///
/// Every peer has one of these tasks for as long as it stays, mostly waiting: an RPC is
/// decoded and its event built only once the channel has room for it (`reserve`), so that
/// the task's state holds neither while it waits.
pub(crate) fn read(
    mut stream: Stream,
    number: u64,
    limits: Limits,
    events: mpsc::Sender<StreamEvent>,
) -> impl Future<Output = ()> + Send {
    // An `async fn` would keep its arguments twice in its state (once as passed, once as
    // the body's variables): the block takes them once.
    let peer = stream.peer();
    let decoder = Decoder::new(limits.max_rpc_len);
    async move {
        let mut buffer = BytesMut::new();
        let malformed = loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(body)) => {
                    let Ok(room) = events.reserve().await else {
                        return;
                    };
                    match Rpc::decode(&body, &limits) {
                        Ok(rpc) => {
                            room.send(StreamEvent::Rpc {
                                peer,
                                stream: number,
                                rpc,
                            });
                            continue;
                        }
                        Err(error) => {
                            debug!(%peer, %error, "gossipsub: malformed RPC");
                            break true;
                        }
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    debug!(%peer, %error, "gossipsub: malformed frame");
                    break true;
                }
            }
            match read_more(&mut stream, &mut buffer).await {
                Ok(0) => break !buffer.is_empty(),
                Ok(_) => {}
                Err(error) => {
                    debug!(%peer, %error, "gossipsub: inbound stream failed");
                    break false;
                }
            }
        };
        if let Ok(room) = events.reserve().await {
            room.send(StreamEvent::InboundClosed {
                peer,
                stream: number,
                malformed,
            });
        }
    }
}

/// Reads what is there into `buffer`, up to [`READ_CHUNK`] more bytes; the bytes read.
///
/// When nothing is there, waits holding no empty buffer: most of a node's peers are idle
/// most of the time, and a read buffer each would be the larger part of what an idle
/// connection costs (16 KiB of its 30, measured with 1000 idle peers). The first bytes
/// then come in a small read and the buffer is allocated again.
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut BytesMut,
) -> std::io::Result<usize> {
    buffer.reserve(READ_CHUNK);
    let ready = {
        let mut read = std::pin::pin!(stream.read_buf(buffer));
        std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await
    };
    if let Poll::Ready(read) = ready {
        return read;
    }
    if buffer.is_empty() {
        *buffer = BytesMut::new();
    }
    let mut first = [0u8; WAKE_READ];
    let read = stream.read(&mut first).await?;
    buffer.extend_from_slice(&first[..read]);
    Ok(read)
}

/// Writes the frames of `queue` to `stream` until the queue closes or the stream fails.
pub(crate) fn write(
    mut stream: Stream,
    number: u64,
    queue: OutboundQueue,
    events: mpsc::Sender<StreamEvent>,
) -> impl Future<Output = ()> + Send {
    // The arguments kept once, as in `read`.
    let peer = stream.peer();
    async move {
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
                if let Ok(room) = events.reserve().await {
                    room.send(StreamEvent::OutboundClosed {
                        peer,
                        stream: number,
                    });
                }
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
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// The size of the future an async fn of four arguments returns.
    fn future_size<A, B, C, D, F: Future>(_: fn(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every peer has a reader and a writer task for as long as it stays, most of them
    /// idle: their futures are a good part of what an idle connection costs (1456 and 992
    /// bytes when they held an event while waiting for the channel, 760 and 480 while they
    /// were `async fn`s holding their arguments twice, 560 and 352 since).
    #[test]
    fn the_stream_tasks_stay_small() {
        assert!(
            future_size(read) <= 640,
            "reader: {} bytes",
            future_size(read)
        );
        assert!(
            future_size(write) <= 416,
            "writer: {} bytes",
            future_size(write)
        );
    }

    #[tokio::test]
    async fn a_reader_waits_for_a_quiet_stream_holding_no_read_buffer() {
        let (mut reader, mut writer) = tokio::io::duplex(1 << 20);
        let mut buffer = BytesMut::new();
        writer.write_all(&[7; 1000]).await.unwrap();
        assert_eq!(read_more(&mut reader, &mut buffer).await.unwrap(), 1000);
        assert!(
            buffer.capacity() >= READ_CHUNK,
            "data there: a whole chunk is read"
        );

        // Consumed; nothing more is there when the next read starts.
        buffer.clear();
        let wake = async {
            tokio::task::yield_now().await;
            writer.write_all(&[9; 10]).await.unwrap();
        };
        let (read, ()) = tokio::join!(read_more(&mut reader, &mut buffer), wake);
        assert_eq!(read.unwrap(), 10);
        assert_eq!(&buffer[..], &[9; 10]);
        assert!(
            buffer.capacity() < READ_CHUNK,
            "the chunk was given up while waiting: {}",
            buffer.capacity()
        );
    }
}
