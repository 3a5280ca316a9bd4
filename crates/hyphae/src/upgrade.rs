//! Turning a raw connection (TCP or WebSocket) into an authenticated, multiplexed one:
//! multistream-select picks a security protocol → its handshake → a stream muxer (agreed
//! inside the handshake when both sides support that, else by multistream-select over the
//! secured channel).
//!
//! Spec: connections/README.md ("Upgrading Connections") and
//! connections/inlined-muxer-negotiation.md in libp2p/specs.

use std::time::Duration;

use hyphae_core::resources::{ConnectionScope, LimitExceeded, Scope};
use hyphae_core::{WriteOwned, negotiated};
use hyphae_identity::{Keypair, PeerId};
use hyphae_service::Timeout;
use hyphae_yamux::Mode;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::memory_wait::retry_while_short_of_memory;
use crate::muxer::Muxer;
use crate::{Error, Multiplexer, Security};

/// Memory a secured channel may hold for its peer: the Noise message (or TLS record,
/// smaller) being read, which the peer fills as slowly as it likes. What it sends is bounded
/// by the muxer's send windows, and what the muxer buffers is reserved by the muxer itself.
/// Noise reserves it only while it holds a read buffer; TLS for the connection's life.
const SECURED_CHANNEL_MEMORY: usize = 2 + hyphae_noise::MAX_MESSAGE_LEN;

/// Memory a connection's security handshake may hold, reserved in the transient scope until
/// the peer is known: a Noise message (or TLS record) being read and one being written.
pub(crate) const HANDSHAKE_MEMORY: usize = 2 * SECURED_CHANNEL_MEMORY;

/// Priority of a new connection's first reservation (see
/// [`Scope::reserve_memory_with_priority`](hyphae_core::resources::Scope)): a connection is
/// admitted only while every scope is at most three quarters full. Established connections
/// give their buffers back when quiet and reserve them again as they wake (a refused wake
/// pauses the connection until memory frees), so the last quarter is theirs: a burst of
/// newcomers waits, and is then refused, before it makes connections already held wait.
pub(crate) const ADMISSION_PRIORITY: u8 = 191;

/// What the upgrade needs from the node.
pub(crate) struct Upgrader {
    pub(crate) keypair: Keypair,
    /// Security protocols in order of preference.
    pub(crate) security: Vec<Security>,
    pub(crate) noise: hyphae_noise::Config,
    pub(crate) tls: hyphae_tls::Config,
    /// Muxers in order of preference (also announced in the security handshake).
    pub(crate) muxers: Vec<Multiplexer>,
    pub(crate) yamux: hyphae_yamux::Config,
    pub(crate) mplex: hyphae_mplex::Config,
}

/// A connection through its upgrade.
pub(crate) struct Upgraded {
    pub(crate) peer: PeerId,
    pub(crate) security: Security,
    pub(crate) muxer: Muxer,
    /// The connection's scope, moved to its peer's.
    pub(crate) scope: ConnectionScope,
}

/// A secured channel, which reserves what its peer can make it hold in the connection's
/// scope once the peer is known.
trait SecuredChannel: AsyncRead + WriteOwned + Send + 'static {
    fn reserve_memory(&mut self, scope: &Scope) -> Result<(), LimitExceeded>;
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> SecuredChannel
    for hyphae_noise::NoiseStream<T>
{
    /// The message being read, while there is one (see [`hyphae_noise::NoiseStream`]).
    fn reserve_memory(&mut self, scope: &Scope) -> Result<(), LimitExceeded> {
        self.set_memory_scope(scope.clone())
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> SecuredChannel
    for hyphae_tls::TlsStream<T>
{
    /// A record being read, for the connection's life.
    fn reserve_memory(&mut self, scope: &Scope) -> Result<(), LimitExceeded> {
        scope.reserve_memory(SECURED_CHANNEL_MEMORY)
    }
}

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Dialer,
    Listener,
}

/// The security handshakes and [`Upgrader::finish`] are boxed where they are awaited: inline,
/// every connection's upgrade task is laid out for the largest of them and their nested
/// steps (each holding the connection): 12.6 KiB where it is now 1.6, and a burst of
/// connections being set up leaves the heap that much larger for each of them
/// (`connections --bench memory`: 14.6 KiB per idle connection, now 10.7).
impl Upgrader {
    /// Upgrades a connection we dialled; `expected` is the peer id of the dialled
    /// `/p2p/<id>` address, if it had one (the handshake refuses any other peer).
    pub(crate) async fn outbound<T>(
        &self,
        io: T,
        expected: Option<PeerId>,
        scope: ConnectionScope,
    ) -> Result<Upgraded, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let negotiated = negotiated::dial(io, self.security_ids()).await?;
        let side = Side::Dialer;
        match self.security_of(negotiated.protocol())? {
            Security::Noise => {
                let (output, io) = Box::pin(hyphae_noise::upgrade_outbound(
                    negotiated,
                    &self.keypair,
                    &self.noise,
                    expected,
                ))
                .await?;
                let (peer, muxer) = (output.remote_peer, output.muxer);
                Box::pin(self.finish(Security::Noise, peer, io, muxer, side, scope)).await
            }
            Security::Tls => {
                let (output, io) = Box::pin(hyphae_tls::upgrade_outbound(
                    negotiated, &self.tls, expected,
                ))
                .await?;
                let (peer, muxer) = (output.remote_peer, output.muxer);
                Box::pin(self.finish(Security::Tls, peer, io, muxer, side, scope)).await
            }
        }
    }

    /// Upgrades a connection a peer dialled; the peer must propose a security protocol
    /// within `first_bytes_timeout`. `on_security_agreed` runs once it has.
    pub(crate) async fn inbound<T>(
        &self,
        io: T,
        first_bytes_timeout: Duration,
        scope: ConnectionScope,
        on_security_agreed: impl FnOnce(),
    ) -> Result<Upgraded, Error>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let negotiated = tokio::time::timeout(
            first_bytes_timeout,
            negotiated::listen(io, self.security_ids()),
        )
        .await
        .map_err(|_| Error::Timeout {
            what: Timeout::FirstBytes,
            after: first_bytes_timeout,
        })??;
        on_security_agreed();
        let side = Side::Listener;
        match self.security_of(negotiated.protocol())? {
            Security::Noise => {
                let (output, io) = Box::pin(hyphae_noise::upgrade_inbound(
                    negotiated,
                    &self.keypair,
                    &self.noise,
                ))
                .await?;
                let (peer, muxer) = (output.remote_peer, output.muxer);
                Box::pin(self.finish(Security::Noise, peer, io, muxer, side, scope)).await
            }
            Security::Tls => {
                let (output, io) =
                    Box::pin(hyphae_tls::upgrade_inbound(negotiated, &self.tls)).await?;
                let (peer, muxer) = (output.remote_peer, output.muxer);
                Box::pin(self.finish(Security::Tls, peer, io, muxer, side, scope)).await
            }
        }
    }

    /// Starts the muxer on a secured channel: the last step of either direction. The
    /// connection's scope moves to its peer's first (refused if the peer is at its limits),
    /// and the muxer reserves its memory there.
    async fn finish<T>(
        &self,
        security: Security,
        peer: PeerId,
        mut secured: T,
        agreed_muxer: Option<String>,
        side: Side,
        scope: ConnectionScope,
    ) -> Result<Upgraded, Error>
    where
        T: SecuredChannel,
    {
        let scope = scope.authenticated(&peer).map_err(Error::from)?;
        retry_while_short_of_memory(|| Ok(secured.reserve_memory(scope.scope())?)).await?;
        let muxer = self
            .start_muxer(secured, agreed_muxer, side, &scope)
            .await?;
        Ok(Upgraded {
            peer,
            security,
            muxer,
            scope,
        })
    }

    fn security_ids(&self) -> Vec<String> {
        self.security
            .iter()
            .map(|security| security.protocol_id().to_owned())
            .collect()
    }

    fn security_of(&self, protocol: &str) -> Result<Security, Error> {
        self.security
            .iter()
            .copied()
            .find(|security| security.protocol_id() == protocol)
            .ok_or_else(|| Error::UnexpectedProtocol {
                stage: "security negotiation",
                protocol: protocol.to_owned(),
            })
    }

    /// The muxer protocol ids, most preferred first.
    pub(crate) fn muxer_ids(&self) -> Vec<String> {
        self.muxers
            .iter()
            .map(|muxer| muxer.protocol_id().to_owned())
            .collect()
    }

    /// Starts the muxer the handshake agreed on, or negotiates one with multistream-select.
    async fn start_muxer<T>(
        &self,
        io: T,
        agreed: Option<String>,
        side: Side,
        scope: &ConnectionScope,
    ) -> Result<Muxer, Error>
    where
        T: AsyncRead + WriteOwned + Send + 'static,
    {
        if let Some(protocol) = agreed {
            return self.muxer(&protocol, io, side, scope).await;
        }
        let negotiated = match side {
            Side::Dialer => negotiated::dial(io, self.muxer_ids()).await?,
            Side::Listener => negotiated::listen(io, self.muxer_ids()).await?,
        };
        let protocol = negotiated.protocol().to_owned();
        self.muxer(&protocol, negotiated, side, scope).await
    }

    /// Starts the muxer `protocol` names, once the connection's scope can spare what its
    /// session reserves at start (see [`memory_wait`](crate::memory_wait)).
    async fn muxer<T>(
        &self,
        protocol: &str,
        io: T,
        side: Side,
        scope: &ConnectionScope,
    ) -> Result<Muxer, Error>
    where
        T: AsyncRead + WriteOwned + Send + 'static,
    {
        let chosen = self
            .muxers
            .iter()
            .copied()
            .find(|muxer| muxer.protocol_id() == protocol);
        match chosen {
            Some(Multiplexer::Yamux) => {
                let mode = match side {
                    Side::Dialer => Mode::Client,
                    Side::Listener => Mode::Server,
                };
                let session = retry_while_short_of_memory(|| {
                    Ok(hyphae_yamux::Session::new(mode, self.yamux.clone())
                        .with_memory_scope(scope.scope().clone())?)
                })
                .await?;
                Ok(Muxer::Yamux(hyphae_yamux::Connection::from_session(
                    io, session,
                )))
            }
            Some(Multiplexer::Mplex) => {
                let session = retry_while_short_of_memory(|| {
                    Ok(hyphae_mplex::Session::new(self.mplex.clone())
                        .with_memory_scope(scope.scope().clone())?)
                })
                .await?;
                Ok(Muxer::Mplex(hyphae_mplex::Connection::from_session(
                    io, session,
                )))
            }
            None => Err(Error::UnexpectedProtocol {
                stage: "stream muxer negotiation",
                protocol: protocol.to_owned(),
            }),
        }
    }
}
