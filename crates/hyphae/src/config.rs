use std::time::Duration;

/// Resource limits of a node. Every one bounds something a remote peer could otherwise make
/// us spend without limit; hitting one refuses the new connection or stream cleanly.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Established connections in total.
    pub max_connections: usize,
    /// Established connections to one peer (simultaneous dials can briefly make two).
    pub max_connections_per_peer: usize,
    /// Inbound connections still in their security and muxer handshakes.
    pub max_pending_inbound: usize,
    /// Streams open at once on one connection, in both directions.
    pub max_streams_per_connection: usize,
    /// Time allowed for a new connection's whole upgrade: protocol negotiation, security
    /// handshake and muxer negotiation.
    pub handshake_timeout: Duration,
    /// Time allowed for negotiating the protocol of an inbound stream.
    pub stream_negotiation_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            max_connections_per_peer: 2,
            max_pending_inbound: 128,
            max_streams_per_connection: 512,
            handshake_timeout: Duration::from_secs(10),
            stream_negotiation_timeout: Duration::from_secs(10),
        }
    }
}
