//! Ping (`/ipfs/ping/1.0.0`, ping/ping.md in libp2p/specs): 32 random bytes sent and echoed
//! back, measuring round-trip time and keeping connections alive.
//!
//! The spec allows one outbound ping stream per peer and asks implementations to accept at
//! most two inbound ones; a third inbound stream is refused.

use std::sync::{PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use crate::node::{Inner, Node};
use crate::pool::Connection;
use crate::{Error, Event, Stream};

/// The protocol id.
pub const PROTOCOL: &str = "/ipfs/ping/1.0.0";
/// Bytes in one ping.
pub const PAYLOAD_LEN: usize = 32;
/// Inbound ping streams accepted per peer at once (ping.md).
pub const MAX_INBOUND_STREAMS_PER_PEER: usize = 2;
/// How long to wait for an echo (go-libp2p also uses 10 s).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Pings a connection's peer every `ping_interval` on one long-lived stream, recording the
/// round-trip time, until the connection closes or the node is gone.
pub(crate) async fn keepalive(connection: Connection, node: Weak<Inner>) {
    let Some(interval) = node.upgrade().and_then(|inner| inner.ping_interval) else {
        return;
    };
    let mut stream: Option<Stream> = None;
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = node.upgrade() else {
            return;
        };
        if connection.muxer.is_closed() {
            return;
        }
        if stream.is_none() {
            match Node::from_inner(inner.clone())
                .open_stream_on(&connection, vec![PROTOCOL.to_owned()])
                .await
            {
                Ok(opened) => stream = Some(opened),
                Err(error) => {
                    debug!(%error, "opening a ping stream failed");
                    continue;
                }
            }
        }
        let Some(open) = stream.as_mut() else {
            continue;
        };
        match ping(open, TIMEOUT).await {
            Ok(rtt) => {
                inner.peerstore.set_rtt(connection.peer, rtt);
                let _ = inner.events.send(Event::Ping {
                    peer: connection.peer,
                    rtt,
                });
            }
            Err(error) => {
                debug!(%error, "ping failed");
                stream = None;
            }
        }
    }
}

/// Serves an inbound ping stream, refusing more than
/// [`MAX_INBOUND_STREAMS_PER_PEER`] at once from one peer.
pub(crate) async fn serve(mut stream: Stream, node: Weak<Inner>) {
    let Some(inner) = node.upgrade() else {
        return;
    };
    let peer = stream.peer();
    {
        let mut counts = inner
            .inbound_pings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(peer).or_default();
        if *count >= MAX_INBOUND_STREAMS_PER_PEER {
            debug!(%peer, "refusing a third inbound ping stream");
            return;
        }
        *count += 1;
    }
    drop(inner);
    if let Err(error) = echo(&mut stream).await {
        debug!(%error, "ping stream ended");
    }
    if let Some(inner) = node.upgrade() {
        let mut counts = inner
            .inbound_pings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&peer);
            }
        }
    }
}

/// Sends one ping on `stream` and waits for the echo; returns the round-trip time.
pub(crate) async fn ping<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    timeout: Duration,
) -> Result<Duration, Error> {
    let payload: [u8; PAYLOAD_LEN] = rand_payload();
    let started = Instant::now();
    let exchange = async {
        stream.write_all(&payload).await?;
        stream.flush().await?;
        let mut echo = [0u8; PAYLOAD_LEN];
        stream.read_exact(&mut echo).await?;
        Ok::<_, std::io::Error>(echo)
    };
    let echo = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| Error::Timeout {
            what: "ping",
            seconds: timeout.as_secs_f64(),
        })??;
    if echo != payload {
        return Err(Error::Malformed {
            protocol: PROTOCOL,
            reason: "the echo differs from the ping".into(),
        });
    }
    Ok(started.elapsed())
}

/// Echoes pings on an inbound stream until the peer closes it.
pub(crate) async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Result<(), Error> {
    let mut payload = [0u8; PAYLOAD_LEN];
    loop {
        match stream.read_exact(&mut payload).await {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(error.into()),
        }
        stream.write_all(&payload).await?;
        stream.flush().await?;
    }
}

fn rand_payload() -> [u8; PAYLOAD_LEN] {
    let mut payload = [0u8; PAYLOAD_LEN];
    // Ping payloads need not be secret; if the OS generator fails, zeros still measure RTT.
    let _ = getrandom::fill(&mut payload);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measures_a_round_trip() {
        let (mut a, mut b) = tokio::io::duplex(256);
        let server = tokio::spawn(async move { echo(&mut b).await });
        let rtt = ping(&mut a, Duration::from_secs(5)).await.unwrap();
        assert!(rtt < Duration::from_secs(5));
        ping(&mut a, Duration::from_secs(5)).await.unwrap();
        drop(a);
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn rejects_a_wrong_echo() {
        let (mut a, mut b) = tokio::io::duplex(256);
        tokio::spawn(async move {
            let mut buf = [0u8; PAYLOAD_LEN];
            b.read_exact(&mut buf).await.unwrap();
            buf[0] ^= 1;
            b.write_all(&buf).await.unwrap();
            b
        });
        assert!(matches!(
            ping(&mut a, Duration::from_secs(5)).await,
            Err(Error::Malformed { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_when_nobody_answers() {
        let (mut a, _b) = tokio::io::duplex(256);
        assert!(matches!(
            ping(&mut a, Duration::from_secs(1)).await,
            Err(Error::Timeout { .. })
        ));
    }
}
