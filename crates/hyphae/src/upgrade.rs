//! Turning a raw TCP connection into an authenticated, multiplexed one:
//! multistream-select `/noise` → Noise XX → Yamux (negotiated inside the Noise handshake when
//! both sides support that, else by multistream-select over the encrypted channel).
//!
//! Spec: connections/README.md ("Upgrading Connections") and
//! connections/inlined-muxer-negotiation.md in libp2p/specs.

use hyphae_core::negotiated;
use hyphae_identity::{Keypair, PeerId};
use hyphae_yamux::Mode;
use tokio::net::TcpStream;

use crate::Error;

/// The security protocol id.
const NOISE: &str = "/noise";

/// What the upgrade needs from the node.
pub(crate) struct Upgrader {
    pub(crate) keypair: Keypair,
    pub(crate) noise: hyphae_noise::Config,
    pub(crate) yamux: hyphae_yamux::Config,
}

impl Upgrader {
    /// Upgrades a connection we dialled; `expected` is the peer id of the dialled
    /// `/p2p/<id>` address, if it had one.
    pub(crate) async fn outbound(
        &self,
        tcp: TcpStream,
        expected: Option<PeerId>,
    ) -> Result<(PeerId, hyphae_yamux::Connection), Error> {
        let secured = negotiated::dial(tcp, vec![NOISE.to_owned()]).await?;
        let (output, encrypted) =
            hyphae_noise::upgrade_outbound(secured, &self.keypair, &self.noise, expected).await?;
        // The handshake already refused a peer other than `expected`.
        let peer = output.remote_peer;
        let connection = if output.muxer.as_deref() == Some(hyphae_yamux::PROTOCOL_ID) {
            hyphae_yamux::Connection::new(encrypted, Mode::Client, self.yamux.clone())
        } else {
            let muxed =
                negotiated::dial(encrypted, vec![hyphae_yamux::PROTOCOL_ID.to_owned()]).await?;
            hyphae_yamux::Connection::new(muxed, Mode::Client, self.yamux.clone())
        };
        Ok((peer, connection))
    }

    /// Upgrades a connection a peer dialled.
    pub(crate) async fn inbound(
        &self,
        tcp: TcpStream,
    ) -> Result<(PeerId, hyphae_yamux::Connection), Error> {
        let secured = negotiated::listen(tcp, [NOISE.to_owned()]).await?;
        let (output, encrypted) =
            hyphae_noise::upgrade_inbound(secured, &self.keypair, &self.noise).await?;
        let connection = if output.muxer.as_deref() == Some(hyphae_yamux::PROTOCOL_ID) {
            hyphae_yamux::Connection::new(encrypted, Mode::Server, self.yamux.clone())
        } else {
            let muxed =
                negotiated::listen(encrypted, [hyphae_yamux::PROTOCOL_ID.to_owned()]).await?;
            hyphae_yamux::Connection::new(muxed, Mode::Server, self.yamux.clone())
        };
        Ok((output.remote_peer, connection))
    }
}
