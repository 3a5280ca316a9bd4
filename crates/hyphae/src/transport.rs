//! Which transport an address belongs to, and the one shape every listener has for the
//! accept loop.

use std::future::Future;

use hyphae_multiaddr::{Multiaddr, Protocol};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::Error;

/// A transport a node can listen and dial on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// TCP (`/ip4|ip6|dns…/tcp/<port>`), upgraded with a security protocol and a muxer.
    Tcp,
    /// WebSocket over TCP (`…/tcp/<port>/ws`, `/wss` or `/tls/ws`), upgraded like TCP.
    WebSocket,
    /// QUIC v1 (`…/udp/<port>/quic-v1`): secured by TLS and multiplexed by QUIC itself.
    Quic,
    /// In-process connections (`/memory/<port>`), upgraded like TCP: for tests and
    /// simulations that need real nodes without sockets.
    Memory,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 4] = [
        Transport::Tcp,
        Transport::WebSocket,
        Transport::Quic,
        Transport::Memory,
    ];

    /// The transport that handles `addr`, if any does.
    pub fn of(addr: &Multiaddr) -> Option<Transport> {
        let mut transport = None;
        for protocol in addr.iter() {
            match protocol {
                Protocol::Tcp(_) => transport = Some(Transport::Tcp),
                Protocol::Ws | Protocol::Wss => transport = Some(Transport::WebSocket),
                Protocol::QuicV1 => transport = Some(Transport::Quic),
                Protocol::Memory(_) => transport = Some(Transport::Memory),
                // Relayed addresses and the like belong to no transport of ours.
                Protocol::P2pCircuit => return None,
                _ => {}
            }
        }
        transport
    }
}

/// A bound listener of a transport whose connections still need upgrading.
pub(crate) trait Accept: Send + Sync + 'static {
    /// The raw connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection and the address it came from.
    fn accept(&self) -> impl Future<Output = Result<(Self::Io, Multiaddr), Error>> + Send;
}

impl Accept for hyphae_tcp::Listener {
    type Io = tokio::net::TcpStream;

    async fn accept(&self) -> Result<(Self::Io, Multiaddr), Error> {
        Ok(hyphae_tcp::Listener::accept(self).await?)
    }
}

impl Accept for hyphae_websocket::Listener {
    type Io = hyphae_websocket::WsStream<hyphae_websocket::Socket>;

    async fn accept(&self) -> Result<(Self::Io, Multiaddr), Error> {
        Ok(hyphae_websocket::Listener::accept(self).await?)
    }
}

impl Accept for hyphae_memory::Listener {
    type Io = hyphae_memory::MemoryStream;

    async fn accept(&self) -> Result<(Self::Io, Multiaddr), Error> {
        Ok(hyphae_memory::Listener::accept(self).await?)
    }
}
