//! Limits of an mplex session.

use crate::frame::MAX_FRAME_DATA;

/// Settings of an mplex session; [`Config::default`] holds limits safe against a hostile peer.
///
/// ```
/// let mut config = hyphae_mplex::Config::default();
/// config.max_streams = 1024;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Most streams open at once, both directions together. Opening past it fails with
    /// [`Error::TooManyStreams`](crate::Error::TooManyStreams); a stream the peer opens past
    /// it is reset at once. Default 512, as Yamux.
    pub max_streams: usize,
    /// Most unread bytes buffered for one stream. mplex has no flow control, so when a frame
    /// would take a stream past it, the connection stops reading until that stream is read
    /// (rust-libp2p's default `MaxBufferBehaviour::Block`); see
    /// [`Session::is_read_blocked`](crate::Session::is_read_blocked). Default 1 MiB.
    pub max_buffer_per_stream: usize,
    /// Most inbound streams waiting for [`Session::accept`](crate::Session::accept); a stream
    /// the peer opens past it is reset. Default 256.
    pub max_pending_inbound: usize,
    /// Most bytes of frames queued for sending; past it, writes accept nothing until the
    /// connection drains them. Default 1 MiB plus one frame.
    pub max_outbound_buffer: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_streams: 512,
            max_buffer_per_stream: 1024 * 1024,
            max_pending_inbound: 256,
            max_outbound_buffer: 1024 * 1024 + MAX_FRAME_DATA,
        }
    }
}
