//! The QUIC settings of a libp2p node, each with the reason for its default.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{EndpointConfig, IdleTimeout, MtuDiscoveryConfig, TransportConfig, VarInt};

use crate::Error;
use crate::stream_credit::StreamCredit;

/// Settings of a QUIC [`Endpoint`](crate::Endpoint). [`Config::default`] suits a libp2p
/// node: it matches what go-libp2p and rust-libp2p use where it matters for interop
/// (streams, windows, timeouts).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// How long a dial may take, name resolution and QUIC + TLS handshake included; also
    /// bounds inbound handshakes. 10 s, like rust-libp2p's handshake timeout.
    pub handshake_timeout: Duration,
    /// A connection with no packet from the peer for this long is closed. 30 s: long
    /// enough for a stalled mobile link, short enough to notice a vanished peer (go-libp2p
    /// uses 30 s).
    pub max_idle_timeout: Duration,
    /// How often we send a PING when nothing else is sent, to keep the idle timeout and
    /// NAT bindings from expiring (most NATs drop UDP mappings after 30 s or more). 10 s.
    pub keep_alive_interval: Duration,
    /// Bidirectional streams the peer may have open at once (libp2p uses no
    /// unidirectional streams, so the peer gets none). 256, like go-libp2p and
    /// rust-libp2p, and the yamux spec's ACK backlog. Granted as the peer uses it, from
    /// [`INITIAL_STREAM_CREDIT`](crate::INITIAL_STREAM_CREDIT) up.
    pub max_concurrent_streams: u32,
    /// How many unread bytes one stream may have in flight towards us. A single stream
    /// reaches `window / RTT` at most, so 24 MB lets one stream run at 3 Gbit/s over a
    /// 60 ms path (the bandwidth-delay product; go-libp2p's 10 MB caps it near 1.3 Gbit/s
    /// there). quinn grows its credit as the reader consumes, so memory is spent only on
    /// streams that are that fast and unread.
    pub stream_receive_window: u32,
    /// The same bound for all streams of a connection together: 36 MB, 1.5 times the stream
    /// window, so that one fast stream leaves room for the others.
    pub connection_receive_window: u32,
    /// How much unacknowledged data we keep in flight per connection: the connection window,
    /// so that our sending matches what a peer with our settings lets us send.
    pub send_window: u64,
    /// Kernel receive and send buffer asked for on each UDP socket: 8 MiB. The Linux
    /// default (208 KiB) overflows at a few hundred Mbit/s when the reader is briefly late,
    /// and every datagram lost there costs a congestion-window cut. The kernel caps it at
    /// `net.core.rmem_max` / `wmem_max`; a smaller grant is not an error.
    pub socket_buffer_size: usize,
    /// The largest UDP payload we send and accept, in bytes: 6000. A connection to our own
    /// host starts at it, as the loopback interface carries 64 KiB datagrams: four times as
    /// much per packet as quinn's default of 1452, which saves the per-packet work with it
    /// (twice the single-stream throughput on loopback, benches/RESULTS.md), and no probe is
    /// sent. At most 6500: quinn hands the kernel up to 10 packets per segmentation-offload
    /// send, and they must fit UDP's 64 KiB together (above that the sends fail and
    /// throughput collapses). An endpoint's receive buffer is 2048 times this (12 MB of
    /// address space, touched only as datagrams arrive).
    pub max_udp_payload_size: u16,
    /// How far path MTU discovery probes on other paths, in bytes of UDP payload: 1452, as
    /// quinn, quic-go and rust-libp2p do (a 1500-byte Ethernet MTU less IPv6 and UDP
    /// headers). Connections start at 1200 and probe up from there. A probe larger than the
    /// path carries is lost and tried three times, and the search is repeated every ten
    /// minutes: probing up to 6000 over a 1500-byte path lost 18 probes, about 37 KB, at the
    /// start of every connection. Raise it on jumbo-frame networks (`max_udp_payload_size`
    /// caps it).
    pub mtu_discovery_upper_bound: u16,
    /// Handshakes that may run at once on one endpoint; incoming connections beyond it are
    /// refused, so a flood of Initial packets costs bounded memory.
    pub max_pending_handshakes: usize,
    /// Once this many handshakes are pending, a connection from an address not yet
    /// validated is first sent a Retry (RFC 9000 §8.1.2): only a peer that receives at its
    /// address and answers gets a handshake slot, so a flood of Initial packets from spoofed
    /// or abandoned addresses holds none. Below it, connections start at once (a Retry costs
    /// a round trip). 0: always. Default 32, a quarter of `max_pending_handshakes`.
    pub retry_above_pending: usize,
    /// Established inbound connections queued for [`Endpoint::accept`](crate::Endpoint::accept);
    /// when full, handshakes wait (back-pressure), then count against
    /// `max_pending_handshakes`.
    pub accept_queue: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            handshake_timeout: Duration::from_secs(10),
            max_idle_timeout: Duration::from_secs(30),
            keep_alive_interval: Duration::from_secs(10),
            max_concurrent_streams: 256,
            stream_receive_window: 24_000_000,
            connection_receive_window: 36_000_000,
            send_window: 36_000_000,
            socket_buffer_size: 8 * 1024 * 1024,
            max_udp_payload_size: 6000,
            mtu_discovery_upper_bound: 1452,
            max_pending_handshakes: 128,
            retry_above_pending: 32,
            accept_queue: 64,
        }
    }
}

/// The most [`Config::max_udp_payload_size`] may be (see there).
const MAX_UDP_PAYLOAD_SIZE: u16 = 6500;

/// The least UDP payload QUIC allows a path to carry (RFC 9000, section 14).
const MIN_UDP_PAYLOAD_SIZE: u16 = 1200;

/// What a connection's path is known to carry before anything is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// To our own host: the loopback interface carries 64 KiB datagrams.
    Loopback,
    /// Anything else: path MTU discovery finds out.
    Network,
}

impl Path {
    /// The path to `remote` (an IPv4-mapped IPv6 address counts as the IPv4 one).
    pub(crate) fn to(remote: SocketAddr) -> Path {
        if remote.ip().to_canonical().is_loopback() {
            Path::Loopback
        } else {
            Path::Network
        }
    }
}

impl Config {
    /// quinn's endpoint settings for these settings.
    pub(crate) fn endpoint(&self) -> Result<EndpointConfig, Error> {
        if self.max_udp_payload_size > MAX_UDP_PAYLOAD_SIZE {
            return Err(Error::InvalidConfig(
                "max_udp_payload_size above 6500 (ten must fit one 64 KiB UDP send)",
            ));
        }
        if self.mtu_discovery_upper_bound < MIN_UDP_PAYLOAD_SIZE {
            return Err(Error::InvalidConfig("mtu_discovery_upper_bound below 1200"));
        }
        let mut endpoint = EndpointConfig::default();
        endpoint
            .max_udp_payload_size(self.max_udp_payload_size)
            .map_err(|_| Error::InvalidConfig("max_udp_payload_size below 1200"))?;
        Ok(endpoint)
    }

    /// quinn's transport parameters for these settings on `path`.
    pub(crate) fn transport(&self, path: Path) -> Result<Arc<TransportConfig>, Error> {
        self.transport_with_window(self.connection_receive_window, path)
    }

    /// quinn's transport parameters for these settings on `path` with a connection receive
    /// window of `window` (streams get at most that too).
    pub(crate) fn transport_with_window(
        &self,
        window: u32,
        path: Path,
    ) -> Result<Arc<TransportConfig>, Error> {
        let mut transport = TransportConfig::default();
        let mut mtu_discovery = MtuDiscoveryConfig::default();
        match path {
            // Discovery stays on: should packets of that size be lost after all, quinn's black
            // hole detection falls back to 1200 bytes and the search climbs again.
            Path::Loopback => {
                transport.initial_mtu(self.max_udp_payload_size);
                mtu_discovery.upper_bound(self.max_udp_payload_size);
            }
            Path::Network => {
                mtu_discovery.upper_bound(
                    self.mtu_discovery_upper_bound
                        .min(self.max_udp_payload_size),
                );
            }
        }
        let idle = IdleTimeout::try_from(self.max_idle_timeout)
            .map_err(|_| Error::InvalidConfig("max_idle_timeout exceeds 2^62 ms"))?;
        transport
            // The rest is granted as the peer uses it (see `StreamCredit`).
            .max_concurrent_bidi_streams(VarInt::from_u32(StreamCredit::initial(
                self.max_concurrent_streams,
            )))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            .stream_receive_window(VarInt::from_u32(self.stream_receive_window.min(window)))
            .receive_window(VarInt::from_u32(window))
            .send_window(self.send_window)
            .max_idle_timeout(Some(idle))
            .keep_alive_interval(Some(self.keep_alive_interval))
            // libp2p sends no QUIC datagrams; do not buffer any from the peer.
            .datagram_receive_buffer_size(None)
            .mtu_discovery_config(Some(mtu_discovery));
        Ok(Arc::new(transport))
    }
}
