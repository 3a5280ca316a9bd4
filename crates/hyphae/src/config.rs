use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use hyphae_core::resources::ResourceLimits;

use crate::RateLimit;

/// Resource limits of a node. Every one bounds something a remote peer could otherwise make
/// us spend without limit; hitting one refuses the new connection or stream cleanly.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Established connections in total. At this limit a new connection still gets in if
    /// the connection manager can close a less valued one for it: one from the address
    /// holding more than its share, or one past the grace period (least valued, idle and
    /// oldest first; never a protected peer's, see [`Node::tags`](crate::Node::tags)).
    pub max_connections: usize,
    /// Past this many connections, the connection manager closes the least valued ones
    /// that are older than the grace period, down to [`low_watermark`](Self::low_watermark).
    /// `None` (the default): 15/16 of `max_connections`.
    pub high_watermark: Option<usize>,
    /// Where trimming stops. `None` (the default): 7/8 of `max_connections`.
    pub low_watermark: Option<usize>,
    /// How long a new connection is spared from trimming, for its services to tag it.
    pub grace_period: Duration,
    /// Established connections to one peer (simultaneous dials can briefly make two).
    pub max_connections_per_peer: usize,
    /// Inbound connections still in their security and muxer handshakes; when all are
    /// taken, a new one evicts the oldest stalled one, once that one has had 100 ms
    /// (until then newcomers wait in the kernel's listen backlog).
    pub max_pending_inbound: usize,
    /// Inbound connections from one IP address still in their handshakes; more are refused.
    pub max_pending_inbound_per_ip: usize,
    /// Inbound connections (in their handshakes or established) from one address group at
    /// once: an IPv4 address, or an IPv6 /56. More are refused. Default 8 (go-libp2p's).
    pub max_inbound_per_ip: usize,
    /// How fast one address group may open inbound connections; `None`: no rate limit.
    /// Default a burst of 16, then one every 5 s (go-libp2p's).
    pub inbound_rate_per_ip: Option<RateLimit>,
    /// Networks exempt from the per-address caps and rates (`max_inbound_per_ip`,
    /// `inbound_rate_per_ip`, `max_pending_inbound_per_ip`). Default: the loopback
    /// networks, so that local peers are not capped; clear it to cap them too, or add the
    /// networks of a trusted cluster.
    pub allow: Vec<IpNet>,
    /// Streams open at once on one connection in each direction (Yamux, QUIC; mplex counts
    /// both directions together).
    pub max_streams_per_connection: usize,
    /// Time allowed for a new connection's whole upgrade: protocol negotiation, security
    /// handshake and muxer negotiation.
    pub handshake_timeout: Duration,
    /// Time an inbound connection may take to send its first protocol proposal: a peer that
    /// connects and stays silent is dropped sooner than [`handshake_timeout`](Self::handshake_timeout).
    pub first_bytes_timeout: Duration,
    /// Time allowed for negotiating the protocol of an inbound stream.
    pub stream_negotiation_timeout: Duration,
    /// The limits of the resource manager's scopes (system, transient, service, protocol,
    /// peer, connection, stream): connections, streams, memory and file descriptors. The
    /// default scales with the machine ([`ResourceLimits::for_this_machine`]). The caps
    /// above apply first; the scopes bound what they let through, and the memory the muxers
    /// and services reserve. [`Node::resources`](crate::Node::resources) shows the usage.
    pub resources: ResourceLimits,
}

impl Limits {
    /// These limits with every address allowed: no per-address caps or rates. For test
    /// networks and benchmarks where many peers share one address.
    pub fn allowing_every_address(self) -> Limits {
        Limits {
            allow: vec![
                IpNet::V4(Ipv4Net::new_assert(std::net::Ipv4Addr::UNSPECIFIED, 0)),
                IpNet::V6(Ipv6Net::new_assert(std::net::Ipv6Addr::UNSPECIFIED, 0)),
            ],
            ..self
        }
    }

    /// The high watermark in effect (never above `max_connections`).
    pub fn effective_high_watermark(&self) -> usize {
        self.high_watermark
            .unwrap_or(self.max_connections - self.max_connections / 16)
            .min(self.max_connections)
    }

    /// The low watermark in effect (never above the high one).
    pub fn effective_low_watermark(&self) -> usize {
        self.low_watermark
            .unwrap_or(self.max_connections - self.max_connections / 8)
            .min(self.effective_high_watermark())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            high_watermark: None,
            low_watermark: None,
            grace_period: Duration::from_secs(20),
            max_connections_per_peer: 2,
            max_pending_inbound: 128,
            max_pending_inbound_per_ip: 16,
            max_inbound_per_ip: 8,
            inbound_rate_per_ip: Some(RateLimit {
                per_second: 0.2,
                burst: 16,
            }),
            allow: vec![
                IpNet::V4(Ipv4Net::new_assert(std::net::Ipv4Addr::LOCALHOST, 8)),
                IpNet::V6(Ipv6Net::new_assert(std::net::Ipv6Addr::LOCALHOST, 128)),
            ],
            max_streams_per_connection: 512,
            handshake_timeout: Duration::from_secs(10),
            first_bytes_timeout: Duration::from_secs(3),
            stream_negotiation_timeout: Duration::from_secs(10),
            resources: ResourceLimits::default(),
        }
    }
}

/// A security protocol a connection over TCP or WebSocket can be secured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Security {
    /// Noise XX (`/noise`).
    Noise,
    /// TLS 1.3 with the libp2p certificate (`/tls/1.0.0`).
    Tls,
}

impl Security {
    /// Every security protocol, in the default order of preference.
    pub const ALL: [Security; 2] = [Security::Noise, Security::Tls];

    /// The multistream-select protocol id.
    pub fn protocol_id(self) -> &'static str {
        match self {
            Security::Noise => hyphae_noise::PROTOCOL_ID,
            Security::Tls => hyphae_tls::PROTOCOL_ID,
        }
    }
}

/// A stream multiplexer a connection over TCP or WebSocket can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Multiplexer {
    /// Yamux (`/yamux/1.0.0`).
    Yamux,
    /// mplex (`/mplex/6.7.0`), deprecated by the specs, kept for older peers.
    Mplex,
}

impl Multiplexer {
    /// Every multiplexer, in the default order of preference.
    pub const ALL: [Multiplexer; 2] = [Multiplexer::Yamux, Multiplexer::Mplex];

    /// The multistream-select protocol id.
    pub fn protocol_id(self) -> &'static str {
        match self {
            Multiplexer::Yamux => hyphae_yamux::PROTOCOL_ID,
            Multiplexer::Mplex => hyphae_mplex::PROTOCOL_ID,
        }
    }
}
