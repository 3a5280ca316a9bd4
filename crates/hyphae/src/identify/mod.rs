//! Identify (`/ipfs/id/1.0.0`) and identify push (`/ipfs/id/push/1.0.0`), spec
//! identify/README.md in libp2p/specs: peers tell each other their key, addresses, protocols
//! and agent, and tell connected peers again when their addresses or protocols change.

mod message;

use std::sync::{PoisonError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use hyphae_core::{PeerRecord, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::debug;

pub use message::Info;

use crate::node::{Inner, Node, without_p2p};
use crate::pool::Connection;
use crate::{Error, Event, Stream};

/// The identify protocol id.
pub const PROTOCOL: &str = "/ipfs/id/1.0.0";
/// The identify push protocol id.
pub const PUSH_PROTOCOL: &str = "/ipfs/id/push/1.0.0";
/// How long an identify exchange may take (go-libp2p uses 5 s).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Bytes read from one identify stream at most: go-libp2p may split a large answer into
/// several messages, which protobuf merges by concatenation.
const MAX_STREAM_LEN: usize = 2 * message::MAX_MESSAGE_LEN;

/// What we tell a peer about ourselves on `connection`.
fn our_info(inner: &Inner, connection_addr: &hyphae_multiaddr::Multiaddr) -> Info {
    let listen_addrs: Vec<_> = inner
        .listen_addrs
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    // Sequence numbers must grow with every new record: milliseconds since the epoch do.
    let seq = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    let record = PeerRecord::new(
        &inner.keypair,
        listen_addrs
            .iter()
            .take(hyphae_core::peer_record::MAX_ADDRESSES)
            .cloned()
            .collect(),
        seq,
    )
    .map_err(|error| debug!(%error, "signing our peer record failed"))
    .ok();
    Info {
        public_key: Some(inner.keypair.public()),
        protocol_version: Some(inner.protocol_version.clone()),
        agent_version: Some(inner.agent_version.clone()),
        listen_addrs,
        protocols: inner.router.protocols().to_vec(),
        observed_addr: Some(without_p2p(connection_addr)),
        signed_peer_record: record,
    }
}

/// Asks the peer of a new connection who it is, and records the answer.
pub(crate) fn spawn_request(node: Node, connection: Connection) {
    tokio::spawn(async move {
        let peer = connection.peer;
        let result = tokio::time::timeout(TIMEOUT, request(&node, &connection)).await;
        match result {
            Ok(Ok(info)) => {
                node.inner.peerstore.apply_identify(peer, &info);
                let _ = node.inner.events.send(Event::PeerIdentified {
                    peer,
                    agent_version: info.agent_version,
                    protocols: info.protocols,
                });
            }
            Ok(Err(error)) => debug!(%peer, %error, "identify failed"),
            Err(_) => debug!(%peer, "identify timed out"),
        }
    });
}

async fn request(node: &Node, connection: &Connection) -> Result<Info, Error> {
    let mut stream = node
        .open_stream_on(connection, vec![PROTOCOL.to_owned()])
        .await?;
    let bytes = read_messages(&mut stream).await?;
    // We send nothing: closing our side ends the stream cleanly rather than with a reset
    // (best effort: the answer is already in).
    let _ = stream.shutdown().await;
    Info::decode(&bytes, connection.peer)
}

/// Reads the length-prefixed identify messages of a stream until it ends, concatenated.
async fn read_messages(stream: &mut Stream) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(message) = frame::read(stream, message::MAX_MESSAGE_LEN).await? {
        if bytes.len() + message.len() > MAX_STREAM_LEN {
            return Err(Error::MessageTooLarge {
                protocol: PROTOCOL,
                len: bytes.len() + message.len(),
                max: MAX_STREAM_LEN,
            });
        }
        bytes.extend_from_slice(&message);
    }
    Ok(bytes)
}

/// Answers an identify request.
pub(crate) async fn serve(mut stream: Stream, node: Weak<Inner>) {
    let Some(inner) = node.upgrade() else {
        return;
    };
    let info = our_info(&inner, stream.remote_addr());
    drop(inner);
    let result = async {
        frame::write(&mut stream, &info.encode()).await?;
        stream.shutdown().await?;
        Ok::<_, Error>(())
    };
    if let Err(error) = tokio::time::timeout(TIMEOUT, result)
        .await
        .unwrap_or(Ok(()))
    {
        debug!(%error, "answering identify failed");
    }
}

/// Applies an identify push.
pub(crate) async fn serve_push(mut stream: Stream, node: Weak<Inner>) {
    let peer = stream.peer();
    let result = tokio::time::timeout(TIMEOUT, read_messages(&mut stream)).await;
    let Ok(Ok(bytes)) = result else {
        debug!(%peer, "reading identify push failed");
        return;
    };
    // Drain anything left so the stream closes cleanly.
    let _ = stream.read(&mut [0u8; 1]).await;
    match Info::decode(&bytes, peer) {
        Ok(info) => {
            if let Some(inner) = node.upgrade() {
                inner.peerstore.apply_identify(peer, &info);
                let _ = inner.events.send(Event::PeerIdentified {
                    peer,
                    agent_version: info.agent_version,
                    protocols: info.protocols,
                });
            }
        }
        Err(error) => debug!(%peer, %error, "invalid identify push"),
    }
}

/// Tells every connected peer our current addresses and protocols.
pub(crate) fn push_to_all(node: &Node) {
    for connection in node.inner.pool.all() {
        let node = node.clone();
        tokio::spawn(async move {
            let push = async {
                let mut stream = node
                    .open_stream_on(&connection, vec![PUSH_PROTOCOL.to_owned()])
                    .await?;
                let info = our_info(&node.inner, &connection.remote_addr);
                frame::write(&mut stream, &info.encode()).await?;
                stream.shutdown().await?;
                Ok::<_, Error>(())
            };
            match tokio::time::timeout(TIMEOUT, push).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => debug!(peer = %connection.peer, %error, "identify push failed"),
                Err(_) => debug!(peer = %connection.peer, "identify push timed out"),
            }
        });
    }
}
