//! The Redis commands the libp2p interop harnesses use, spoken in RESP2 over TCP: RPUSH and
//! BLPOP (transport interop: a listener publishes its address, a dialer waits for it), SET and
//! GET (kad-dht interop: roles publish addresses and progress); and a throwaway
//! `redis-server` for tests.

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

    /// `SET key value`.
    pub async fn set(&mut self, key: &str, value: &str) -> anyhow::Result<()> {
        self.command(&["SET", key, value]).await?;
        let line = self.line().await?;
        if line != "+OK" {
            bail!("unexpected SET reply {line:?}");
        }
        Ok(())
    }

    /// `GET key`: `None` if nothing is stored under `key`.
    pub async fn get(&mut self, key: &str) -> anyhow::Result<Option<String>> {
        self.command(&["GET", key]).await?;
        match self.bulk_or_nil().await? {
            Some(value) => Ok(Some(value)),
            None => Ok(None),
        }
    }

    /// Polls `GET key` every half second until a value appears or `patience` runs out.
    pub async fn wait_for(&mut self, key: &str, patience: Duration) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(value) = self.get(key).await? {
                return Ok(value);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("nothing under {key:?} within {} s", patience.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
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
        self.bulk_or_nil()
            .await?
            .context("expected a bulk string, got nil")
    }

    async fn bulk_or_nil(&mut self) -> anyhow::Result<Option<String>> {
        let header = self.line().await?;
        if header == "$-1" {
            return Ok(None);
        }
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
        Ok(Some(String::from_utf8(value)?))
    }
}

/// A `redis-server` on a free loopback port, stopped when dropped.
pub struct RedisServer {
    _child: tokio::process::Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
}

impl RedisServer {
    /// Starts one (it needs a moment before it accepts: [`Redis::connect`] waits).
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free port");
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is not installed: apt-get install redis-server (.ci/run does)");
        RedisServer {
            _child: child,
            addr: format!("127.0.0.1:{port}"),
        }
    }
}
