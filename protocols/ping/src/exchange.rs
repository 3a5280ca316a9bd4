//! The two ends of a ping stream.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{Error, PAYLOAD_LEN};

/// Sends one ping on `stream` and waits at most `timeout` for the echo; returns the
/// round-trip time. A stream can carry any number of pings, one after another.
pub async fn ping<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    timeout: Duration,
) -> Result<Duration, Error> {
    let payload: [u8; PAYLOAD_LEN] = random_payload();
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
        .map_err(|_| Error::Timeout(timeout))??;
    if echo != payload {
        return Err(Error::WrongEcho);
    }
    Ok(started.elapsed())
}

/// Echoes pings on an inbound stream until the peer closes it.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Result<(), Error> {
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

fn random_payload() -> [u8; PAYLOAD_LEN] {
    let mut payload = [0u8; PAYLOAD_LEN];
    // Ping payloads need not be secret; if the OS generator fails, zeros still measure RTT.
    let _ = getrandom::fill(&mut payload);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measures_round_trips_on_one_stream() {
        let (mut a, mut b) = tokio::io::duplex(256);
        let server = tokio::spawn(async move { echo(&mut b).await });
        ping(&mut a, Duration::from_secs(5)).await.unwrap();
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
            Err(Error::WrongEcho)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_when_nobody_answers() {
        let (mut a, _b) = tokio::io::duplex(256);
        assert!(matches!(
            ping(&mut a, Duration::from_secs(1)).await,
            Err(Error::Timeout(_))
        ));
    }

    #[tokio::test]
    async fn echo_ends_cleanly_when_the_peer_closes() {
        let (a, mut b) = tokio::io::duplex(256);
        drop(a);
        echo(&mut b).await.unwrap();
    }
}
