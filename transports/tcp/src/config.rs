use std::time::Duration;

/// TCP transport settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Give up on a dial (resolution and all connection attempts) after this long.
    pub dial_timeout: Duration,
    /// Disable Nagle's algorithm on every connection.
    pub nodelay: bool,
    /// Pending connections the kernel queues for a listener before refusing more.
    pub listen_backlog: u32,
    /// Most bytes the kernel may hold in a connection's send buffer before sending them
    /// (`TCP_NOTSENT_LOWAT`; Linux and Android, ignored elsewhere). 128 KiB by default: a
    /// multiplexed connection's small frames (a ping, a DHT request, another stream's data)
    /// then queue behind at most 128 KiB of a bulk transfer, instead of behind the megabytes
    /// an auto-tuned send buffer takes in (≈8 MB, 26 ms at 2.4 Gbit/s, seen on a 60 ms
    /// path). Throughput stays the same. `None` leaves the kernel's default.
    pub notsent_lowat: Option<u32>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            dial_timeout: Duration::from_secs(10),
            nodelay: true,
            listen_backlog: 1024,
            notsent_lowat: Some(128 * 1024),
        }
    }
}

/// Applies the per-connection options of `config` to `stream`.
pub(crate) fn configure(stream: &tokio::net::TcpStream, config: &Config) -> std::io::Result<()> {
    stream.set_nodelay(config.nodelay)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(lowat) = config.notsent_lowat
        && let Err(error) = socket2::SockRef::from(stream).set_tcp_notsent_lowat(lowat)
    {
        // Only latency depends on it: a kernel without the option still carries the connection.
        tracing::debug!(%error, "setting TCP_NOTSENT_LOWAT failed");
    }
    Ok(())
}
