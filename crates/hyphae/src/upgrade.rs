//! Turning a raw TCP connection into an authenticated, multiplexed one:
//! multistream-select `/noise` → Noise XX → a stream muxer (negotiated inside the Noise
//! handshake when both sides support that, else by multistream-select over the encrypted
//! channel).
//!
//! Spec: connections/README.md ("Upgrading Connections") and
//! connections/inlined-muxer-negotiation.md in libp2p/specs.

use hyphae_core::negotiated;
use hyphae_identity::{Keypair, PeerId};
use hyphae_yamux::Mode;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::Error;
use crate::muxer::Muxer;

/// The security protocol id.
const NOISE: &str = "/noise";

/// What the upgrade needs from the node.
pub(crate) struct Upgrader {
    pub(crate) keypair: Keypair,
    pub(crate) noise: hyphae_noise::Config,
    pub(crate) yamux: hyphae_yamux::Config,
    /// Muxer protocol ids in order of preference (also announced in the Noise handshake).
    pub(crate) muxers: Vec<String>,
}

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Dialer,
    Listener,
}

impl Upgrader {
    /// Upgrades a connection we dialled; `expected` is the peer id of the dialled
    /// `/p2p/<id>` address, if it had one (the handshake refuses any other peer).
    pub(crate) async fn outbound(
        &self,
        tcp: TcpStream,
        expected: Option<PeerId>,
    ) -> Result<(PeerId, Muxer), Error> {
        let secured = negotiated::dial(tcp, vec![NOISE.to_owned()]).await?;
        let (output, encrypted) =
            hyphae_noise::upgrade_outbound(secured, &self.keypair, &self.noise, expected).await?;
        let muxer = self
            .start_muxer(encrypted, output.muxer, Side::Dialer)
            .await?;
        Ok((output.remote_peer, muxer))
    }

    /// Upgrades a connection a peer dialled.
    pub(crate) async fn inbound(&self, tcp: TcpStream) -> Result<(PeerId, Muxer), Error> {
        let secured = negotiated::listen(tcp, [NOISE.to_owned()]).await?;
        let (output, encrypted) =
            hyphae_noise::upgrade_inbound(secured, &self.keypair, &self.noise).await?;
        let muxer = self
            .start_muxer(encrypted, output.muxer, Side::Listener)
            .await?;
        Ok((output.remote_peer, muxer))
    }

    /// Starts the muxer the handshake agreed on, or negotiates one with multistream-select.
    async fn start_muxer<T>(
        &self,
        io: T,
        agreed: Option<String>,
        side: Side,
    ) -> Result<Muxer, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if let Some(protocol) = agreed {
            return self.muxer(&protocol, io, side);
        }
        let negotiated = match side {
            Side::Dialer => negotiated::dial(io, self.muxers.clone()).await?,
            Side::Listener => negotiated::listen(io, &self.muxers).await?,
        };
        let protocol = negotiated.protocol().to_owned();
        self.muxer(&protocol, negotiated, side)
    }

    fn muxer<T>(&self, protocol: &str, io: T, side: Side) -> Result<Muxer, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mode = match side {
            Side::Dialer => Mode::Client,
            Side::Listener => Mode::Server,
        };
        match protocol {
            hyphae_yamux::PROTOCOL_ID => Ok(Muxer::Yamux(hyphae_yamux::Connection::new(
                io,
                mode,
                self.yamux.clone(),
            ))),
            other => Err(Error::Malformed {
                protocol: "stream muxer negotiation",
                reason: format!("agreed on {other}, which this node does not run"),
            }),
        }
    }
}
