//! Limits and tuning of a Yamux session.

use std::time::Duration;

/// Receive and send window every stream starts with ("Flow Control": 256 KiB). Both sides
/// assume it; it can only grow, through Window Update frames.
pub const INITIAL_WINDOW: u32 = 256 * 1024;

/// Most streams we open that the peer may leave unacknowledged ("ACK backlog &
/// backpressure": SHOULD be at most 256). Past it, opening a stream waits.
pub const MAX_ACK_BACKLOG: usize = 256;

/// Settings of a Yamux session. [`Config::default`] holds the spec's values and limits that
/// are safe against a hostile peer; change fields on a default value:
///
/// ```
/// let mut config = hyphae_yamux::Config::default();
/// config.max_streams = 1024;
/// ```
///
/// Out-of-range values are clamped when the session is created (see each field).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest receive window a stream may grow to through auto-tuning; also the largest Data
    /// frame we accept, so we never grant the peer more credit than it may use in one frame.
    ///
    /// Default 128 MiB. One stream moves at most a window per round trip (three quarters of
    /// it, with updates sent at each quarter freed), so 16 MiB (go-yamux's choice) holds a
    /// stream to about 1.5 Gbit/s on a 60 ms path, and 64 MiB held it to 5.5 Gbit/s where
    /// raw TCP moved 8 (`benches/RESULTS.md`, "Yamux's window on the 60 ms path").
    /// Auto-tuning grows a window only for a reader that keeps up on a path with a long
    /// round trip, [`Config::max_connection_receive_window`] bounds the sum, and a session
    /// with a resource scope grows windows only while the scopes are at most half full. At
    /// least [`INITIAL_WINDOW`].
    pub max_receive_window: u32,
    /// Total receive window of all streams of the session: auto-tuning grows a stream's window
    /// only while the sum stays under it. It bounds the data a peer can make us buffer on one
    /// connection beyond the spec's 256 KiB per stream.
    ///
    /// Default 256 MiB (2 streams at the full 128 MiB window).
    pub max_connection_receive_window: usize,
    /// Largest payload of a Data frame we send.
    ///
    /// Default 64 KiB, as go-yamux: large enough that the 12-byte header costs 0.02% and a
    /// frame is one cheap unit of work, small enough that one busy stream delays the others'
    /// frames by at most ~0.5 ms at 1 Gbit/s and that every implementation accepts it
    /// (js-libp2p sends whole windows as one frame; py-libp2p drops frames over 16 MiB).
    /// Between 1 KiB and 16 MiB.
    pub max_send_frame_size: u32,
    /// Most streams open at once in each direction: the peer's streams past it are refused
    /// with a reset; opening one of ours past it fails with
    /// [`Error::TooManyStreams`](crate::Error::TooManyStreams) (the tokio driver waits
    /// instead). Counting each direction apart keeps both ends' counts of the same streams
    /// equal, so a peer with the same limit is never refused; a stream closed both ways or
    /// reset stops counting even before the application drops it, as it has for the peer.
    /// Of the peer's streams, at most twice this many are kept in all, ended or not.
    ///
    /// Default 512. At least 1.
    pub max_streams: usize,
    /// Most streams the peer opened that the application has not accepted yet; a peer's
    /// stream past it is refused with a reset. We acknowledge a stream only when it is
    /// accepted, so a peer that respects the ACK backlog never hits this limit.
    ///
    /// Default 256, as rust-yamux.
    pub max_pending_inbound_streams: usize,
    /// Outbound bytes the session queues before writers must wait for the connection to
    /// take them. Together with the stream windows it bounds our send-side memory.
    ///
    /// Default 256 KiB. At least one frame.
    pub max_write_buffer: usize,
    /// How often to ping the peer to measure the round-trip time that window auto-tuning
    /// needs (the first ping goes out when the session starts). The pings also keep idle
    /// connections and NAT mappings alive. `None` sends no pings and disables auto-tuning.
    ///
    /// Default 30 s.
    pub rtt_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_receive_window: 128 * 1024 * 1024,
            max_connection_receive_window: 256 * 1024 * 1024,
            max_send_frame_size: 64 * 1024,
            max_streams: 512,
            max_pending_inbound_streams: 256,
            max_write_buffer: 256 * 1024,
            rtt_interval: Some(Duration::from_secs(30)),
        }
    }
}

impl Config {
    /// The configuration with every field brought into its documented range.
    pub(crate) fn clamped(mut self) -> Config {
        self.max_receive_window = self.max_receive_window.max(INITIAL_WINDOW);
        self.max_send_frame_size = self.max_send_frame_size.clamp(1024, 16 * 1024 * 1024);
        self.max_streams = self.max_streams.max(1);
        self.max_write_buffer = self.max_write_buffer.max(self.max_send_frame_size as usize);
        self
    }
}
