use std::sync::Arc;
use std::time::Duration;

/// WebSocket transport settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Settings of the TCP connection under the WebSocket.
    pub tcp: hyphae_tcp::Config,
    /// Give up on TLS plus the HTTP upgrade after this long (dial and accept alike).
    pub handshake_timeout: Duration,
    /// The longest HTTP request or response head accepted during the upgrade.
    pub max_head_size: usize,
    /// The longest frame payload accepted from the peer; a larger frame fails the stream
    /// with close code 1009. Payloads are streamed to the reader, never buffered whole, so
    /// messages (fragmented across frames) have no size limit of their own.
    pub max_frame_size: usize,
    /// Writes longer than this are split into frames of at most this many bytes.
    pub write_frame_size: usize,
    /// Inbound connections a listener upgrades at once; while this many are pending (or
    /// upgraded but not yet taken with `accept`), it stops accepting TCP connections.
    pub max_pending_upgrades: usize,
    /// Certificates for `/wss`.
    pub tls: TlsConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            tcp: hyphae_tcp::Config::default(),
            handshake_timeout: Duration::from_secs(10),
            max_head_size: 8 * 1024,
            max_frame_size: 1024 * 1024,
            write_frame_size: 64 * 1024,
            max_pending_upgrades: 128,
            tls: TlsConfig::default(),
        }
    }
}

/// TLS settings for `/wss` (and `/tls/ws`), rustls with the ring provider.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// How dialled servers are verified; `None` trusts the Mozilla roots of the
    /// `webpki-roots` crate. Make one with [`TlsConfig::client_with_roots`].
    pub client: Option<Arc<rustls::ClientConfig>>,
    /// The certificate listeners present; listening on `/wss` requires it. Make one with
    /// [`TlsConfig::server_with_cert`].
    pub server: Option<Arc<rustls::ServerConfig>>,
}
