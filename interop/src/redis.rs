//! The two Redis commands the libp2p interop harness uses, RPUSH and BLPOP, spoken in RESP2
//! over TCP: enough protocol for a listener to publish its address and a dialer to wait for it.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Longest bulk string we accept in a reply (a multiaddr is far shorter).
const MAX_BULK_LEN: usize = 64 * 1024;

/// A connection to a Redis server.
pub struct Redis {
    stream: BufReader<TcpStream>,
}

impl Redis {
    /// Connects to `addr` (`host:port`), retrying for up to `patience` while the server starts.
    pub async fn connect(addr: &str, patience: Duration) -> anyhow::Result<Redis> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    return Ok(Redis {
                        stream: BufReader::new(stream),
                    });
                }
                Err(error) if tokio::time::Instant::now() < deadline => {
                    eprintln!("redis at {addr} not reachable yet: {error}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("connecting to redis at {addr}"));
                }
            }
        }
    }

    /// `RPUSH key value`.
    pub async fn rpush(&mut self, key: &str, value: &str) -> anyhow::Result<()> {
        self.command(&["RPUSH", key, value]).await?;
        let line = self.line().await?;
        if !line.starts_with(':') {
            bail!("unexpected RPUSH reply {line:?}");
        }
        Ok(())
    }

    /// `BLPOP key timeout`: the first value pushed to `key`, waiting up to `timeout`.
    pub async fn blpop(&mut self, key: &str, timeout: Duration) -> anyhow::Result<String> {
        let seconds = timeout.as_secs().max(1).to_string();
        self.command(&["BLPOP", key, &seconds]).await?;
        let header = self.line().await?;
        match header.as_str() {
            "*2" => {
                let _key = self.bulk().await?;
                self.bulk().await
            }
            "*-1" | "$-1" => bail!("no value under {key:?} within {seconds} s"),
            other => bail!("unexpected BLPOP reply {other:?}"),
        }
    }

    async fn command(&mut self, parts: &[&str]) -> anyhow::Result<()> {
        let mut request = format!("*{}\r\n", parts.len());
        for part in parts {
            request.push_str(&format!("${}\r\n{part}\r\n", part.len()));
        }
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        Ok(())
    }

    /// One reply line without its CRLF; `-ERR …` lines become errors.
    async fn line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            bail!("redis closed the connection");
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if let Some(error) = line.strip_prefix('-') {
            bail!("redis error: {error}");
        }
        Ok(line)
    }

    async fn bulk(&mut self) -> anyhow::Result<String> {
        let header = self.line().await?;
        let len: usize = header
            .strip_prefix('$')
            .and_then(|len| len.parse().ok())
            .with_context(|| format!("expected a bulk string, got {header:?}"))?;
        if len > MAX_BULK_LEN {
            bail!("bulk string of {len} bytes is too long");
        }
        let mut value = vec![0u8; len + 2];
        self.stream.read_exact(&mut value).await?;
        value.truncate(len);
        Ok(String::from_utf8(value)?)
    }
}
