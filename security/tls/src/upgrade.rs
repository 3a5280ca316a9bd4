//! The tokio driver: runs a TLS 1.3 handshake over a byte stream and returns the peer's
//! identity with the encrypted stream.

use std::io;
use std::sync::Arc;

use hyphae_identity::{PeerId, PublicKey};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use crate::verifier::{Rejection, RejectionRecord};
use crate::{ALPN, CertificateError, Config, Error, TlsStream, config};

/// Who the peer is and what the handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Output {
    /// The peer's identity, proven by its certificate's libp2p extension.
    pub remote_peer: PeerId,
    /// The peer's identity key.
    pub remote_public_key: PublicKey,
    /// The stream muxer agreed in ALPN (connections/inlined-muxer-negotiation.md), or `None`
    /// when the handshake chose `libp2p` (or no protocol): then multistream-select
    /// negotiates the muxer over the secured stream.
    pub muxer: Option<String>,
}

/// The server name a dialer hands rustls: it is never sent (SNI is off, as tls/tls.md
/// requires) and never checked (our verifier ignores names), but rustls wants one.
const PLACEHOLDER_NAME: &str = "l";

/// Secures a connection we opened: runs the TLS handshake as client and returns the peer's
/// identity with the encrypted stream.
///
/// `expected` is the peer id we dialled (the `/p2p/` component of the address), if known; a
/// peer that authenticates as anyone else fails with [`Error::PeerIdMismatch`] before we
/// send our own certificate. The client offers the configured muxers, then `libp2p`, in
/// ALPN.
///
/// Note (tls/tls.md): a TLS 1.3 client finishes before the server has checked its
/// certificate, so a server that rejects us is only noticed on the first read.
///
/// There is no timeout inside: bound it with `tokio::time::timeout`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hyphae_tls::Error> {
/// use hyphae_identity::Keypair;
/// use hyphae_tls::{Config, upgrade_inbound, upgrade_outbound};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
/// let muxers = vec!["/yamux/1.0.0".to_string()];
/// let dialer_config = Config::new(&dialer)?.with_muxers(muxers.clone());
/// let listener_config = Config::new(&listener)?.with_muxers(muxers);
/// let (a, b) = tokio::io::duplex(64 * 1024);
/// let (outbound, inbound) = tokio::join!(
///     upgrade_outbound(a, &dialer_config, Some(listener.peer_id())),
///     upgrade_inbound(b, &listener_config),
/// );
/// let ((output, mut a), (input, mut b)) = (outbound?, inbound?);
/// assert_eq!(output.muxer.as_deref(), Some("/yamux/1.0.0"));
/// assert_eq!(input.remote_peer, dialer.peer_id());
///
/// a.write_all(b"hello").await?;
/// a.flush().await?;
/// let mut received = [0; 5];
/// b.read_exact(&mut received).await?;
/// assert_eq!(&received, b"hello");
/// # Ok(()) }
/// ```
pub async fn upgrade_outbound<T>(
    io: T,
    config: &Config,
    expected: Option<PeerId>,
) -> Result<(Output, TlsStream<T>), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (client, record) = config::client_config(config, expected, config.alpn())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let name = ServerName::try_from(PLACEHOLDER_NAME)
        .map_err(|_| Error::Tls(rustls::Error::General("invalid placeholder name".into())))?;
    let stream = connector
        .connect(name, io)
        .await
        .map_err(|error| handshake_error(error, Some(&record)))?;
    let (_, connection) = stream.get_ref();
    let output = output(
        config,
        connection.peer_certificates(),
        connection.alpn_protocol(),
    )?;
    debug!(peer = %output.remote_peer, muxer = ?output.muxer, "tls handshake complete (outbound)");
    Ok((
        output,
        TlsStream::new(tokio_rustls::TlsStream::Client(stream)),
    ))
}

/// Secures a connection a peer opened: runs the TLS handshake as server, requiring and
/// checking the peer's certificate, and returns its identity with the encrypted stream.
///
/// The muxer is the client's most preferred one that we support, as
/// connections/inlined-muxer-negotiation.md asks ("The server SHOULD respect the client's
/// preference"), else `libp2p`; a client that offers neither fails the handshake
/// (tls/tls.md, "ALPN").
///
/// Like [`upgrade_outbound`], it has no timeout of its own.
pub async fn upgrade_inbound<T>(io: T, config: &Config) -> Result<(Output, TlsStream<T>), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    // Read the ClientHello first: rustls picks by the server's order, so the server's ALPN
    // list is narrowed to the client's offers, in the client's order.
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io)
        .await
        .map_err(|error| handshake_error(error, None))?;
    let offered: Vec<&[u8]> = start
        .client_hello()
        .alpn()
        .map(Iterator::collect)
        .unwrap_or_default();
    let server = config::server_config(config, select_alpn(&offered, &config.alpn()))?;
    let stream = start
        .into_stream(Arc::new(server))
        .await
        .map_err(|error| handshake_error(error, None))?;
    let (_, connection) = stream.get_ref();
    let output = output(
        config,
        connection.peer_certificates(),
        connection.alpn_protocol(),
    )?;
    debug!(peer = %output.remote_peer, muxer = ?output.muxer, "tls handshake complete (inbound)");
    Ok((
        output,
        TlsStream::new(tokio_rustls::TlsStream::Server(stream)),
    ))
}

/// The ALPN list a server offers rustls so that it chooses the client's most preferred
/// protocol among `ours`: the client's offers we support, in the client's order. When there
/// is none, `ours` unchanged, so that rustls refuses the handshake (`no_application_protocol`)
/// as tls/tls.md requires.
fn select_alpn(offered: &[&[u8]], ours: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let common: Vec<Vec<u8>> = offered
        .iter()
        .filter(|protocol| ours.iter().any(|our| our.as_slice() == **protocol))
        .map(|protocol| protocol.to_vec())
        .collect();
    if common.is_empty() {
        ours.to_vec()
    } else {
        common
    }
}

/// The [`Output`] of a finished handshake, from the certificate the verifier accepted and
/// the protocol ALPN chose.
pub(crate) fn output(
    config: &Config,
    certificates: Option<&[CertificateDer<'_>]>,
    alpn: Option<&[u8]>,
) -> Result<Output, Error> {
    let certificate = config.verified_peer(certificates)?;
    let muxer = alpn
        .filter(|protocol| *protocol != ALPN)
        .map(|protocol| String::from_utf8_lossy(protocol).into_owned());
    Ok(Output {
        remote_peer: certificate.peer_id(),
        remote_public_key: certificate.public_key().clone(),
        muxer,
    })
}

/// The precise cause of a failed handshake: our verifier's rejection when there was one,
/// else the TLS error, else the I/O error.
fn handshake_error(error: io::Error, record: Option<&RejectionRecord>) -> Error {
    if let Some(rejection) = record.and_then(RejectionRecord::take) {
        return rejection;
    }
    if error.kind() == io::ErrorKind::UnexpectedEof {
        return Error::ConnectionClosed;
    }
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match tls {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => {
            match other.0.downcast_ref::<Rejection>() {
                Some(rejection) => rejection.clone().into(),
                None => Error::Tls(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(other),
                )),
            }
        }
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)) => {
            CertificateError::Expired.into()
        }
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidYet)) => {
            CertificateError::NotYetValid.into()
        }
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)) => {
            CertificateError::InvalidHandshakeSignature.into()
        }
        Some(tls) => Error::Tls(tls),
        None => Error::Io(error),
    }
}

#[cfg(test)]
mod tests {
    use hyphae_identity::Keypair;

    use super::*;
    use crate::certificate::test_support::{OID_KEY_USAGE, certificate_with, extension};

    /// A configuration whose certificate carries the extensions `make` returns.
    fn config_with(make: impl FnOnce(Vec<u8>, Vec<u8>) -> Vec<Vec<u8>>) -> Config {
        let identity = Keypair::generate_ed25519();
        Config::with_certificate(identity.peer_id(), certificate_with(&identity, make)).unwrap()
    }

    #[test]
    fn alpn_follows_the_clients_preference() {
        let ours = vec![
            b"/yamux/1.0.0".to_vec(),
            b"/mplex/6.7.0".to_vec(),
            ALPN.to_vec(),
        ];
        let offered: [&[u8]; 3] = [b"/mplex/6.7.0", b"/yamux/1.0.0", b"libp2p"];
        assert_eq!(select_alpn(&offered, &ours), [offered[0], offered[1], ALPN]);
        let unknown: [&[u8]; 2] = [b"/other/1.0.0", b"libp2p"];
        assert_eq!(select_alpn(&unknown, &ours), [ALPN]);
        let foreign: [&[u8]; 1] = [b"h2"];
        assert_eq!(select_alpn(&foreign, &ours), ours);
    }

    #[tokio::test]
    async fn listener_says_why_it_rejected_the_dialers_certificate() {
        let dialer = config_with(|_, _| vec![]);
        let listener = Config::new(&Keypair::generate_ed25519()).unwrap();
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (_, inbound) = tokio::join!(
            upgrade_outbound(a, &dialer, None),
            upgrade_inbound(b, &listener)
        );
        match inbound {
            Err(Error::Certificate(CertificateError::MissingExtension)) => {}
            other => panic!("expected MissingExtension, got {:?}", other.map(|(o, _)| o)),
        }
    }

    #[tokio::test]
    async fn dialer_says_why_it_rejected_the_listeners_certificate() {
        let dialer = Config::new(&Keypair::generate_ed25519()).unwrap();
        let listener = config_with(|_, libp2p| {
            vec![
                libp2p,
                extension(OID_KEY_USAGE, true, &[0x03, 0x02, 0x07, 0x80]),
            ]
        });
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (outbound, inbound) = tokio::join!(
            upgrade_outbound(a, &dialer, None),
            upgrade_inbound(b, &listener)
        );
        match outbound {
            Err(Error::Certificate(CertificateError::UnknownCriticalExtension)) => {}
            other => panic!(
                "expected UnknownCriticalExtension, got {:?}",
                other.map(|(o, _)| o)
            ),
        }
        assert!(matches!(inbound, Err(Error::Tls(_))));
    }
}
