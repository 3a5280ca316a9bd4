//! The async side of the handshake: runs [`crate::handshake`] over a connection and hands
//! over the bytes read past the head to the new [`WsStream`].
//!
//! These functions apply no timeout: [`crate::dial`] and [`crate::Listener`] bound them by
//! [`Config::handshake_timeout`]; callers upgrading their own connections should too.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::Role;
use crate::handshake::{self, Request};
use crate::{Config, Error, HandshakeError, WsStream};

/// Upgrades `io` as the client: sends the request for `path` on `host` (`name:port`), checks
/// the server's `101` answer.
pub async fn upgrade_client<T>(
    mut io: T,
    host: &str,
    path: &str,
    config: &Config,
) -> Result<WsStream<T>, Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut random = [0; 16];
    getrandom::fill(&mut random).map_err(|error| Error::Io {
        action: "making a Sec-WebSocket-Key",
        error: std::io::Error::other(error),
    })?;
    let key = handshake::make_key(random);
    let request = handshake::write_request(host, path, &key);
    io.write_all(&request)
        .await
        .map_err(io_error("sending the upgrade request"))?;
    io.flush()
        .await
        .map_err(io_error("sending the upgrade request"))?;
    let mut head = Head::new(config.max_head_size);
    let len = loop {
        head.read_more(&mut io).await?;
        if let Some(len) = handshake::parse_response(head.bytes(), &key, config.max_head_size)? {
            break len;
        }
    };
    tracing::debug!(host, path, "WebSocket upgrade accepted by the server");
    Ok(WsStream::new(
        io,
        Role::Client,
        &head.bytes()[len..],
        config,
    ))
}

/// Upgrades `io` as the server: reads the client's request and answers `101`. A bad
/// request is answered with an HTTP error status before the error is returned.
pub async fn upgrade_server<T>(mut io: T, config: &Config) -> Result<(WsStream<T>, Request), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Head::new(config.max_head_size);
    let parsed = loop {
        head.read_more(&mut io).await?;
        match handshake::parse_request(head.bytes(), config.max_head_size) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) => {}
            Err(error) => {
                // Best effort: the client may already be gone.
                let _ = io.write_all(&handshake::write_rejection(&error)).await;
                let _ = io.shutdown().await;
                return Err(error.into());
            }
        }
    };
    let (request, len) = parsed;
    io.write_all(&handshake::write_response(&request.key))
        .await
        .map_err(io_error("sending the upgrade response"))?;
    io.flush()
        .await
        .map_err(io_error("sending the upgrade response"))?;
    tracing::debug!(path = %request.path, "WebSocket upgrade accepted");
    let stream = WsStream::new(io, Role::Server, &head.bytes()[len..], config);
    Ok((stream, request))
}

/// A bounded buffer for an HTTP head and whatever follows it in the same reads.
struct Head {
    buffer: Vec<u8>,
    filled: usize,
}

impl Head {
    fn new(limit: usize) -> Head {
        Head {
            buffer: vec![0; limit.max(1)],
            filled: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buffer[..self.filled]
    }

    async fn read_more<T: AsyncRead + Unpin>(&mut self, io: &mut T) -> Result<(), Error> {
        if self.filled == self.buffer.len() {
            return Err(HandshakeError::HeadTooLarge {
                limit: self.buffer.len(),
            }
            .into());
        }
        let read = io
            .read(&mut self.buffer[self.filled..])
            .await
            .map_err(io_error("reading the upgrade head"))?;
        if read == 0 {
            return Err(HandshakeError::ConnectionClosed.into());
        }
        self.filled += read;
        Ok(())
    }
}

fn io_error(action: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |error| Error::Io { action, error }
}
