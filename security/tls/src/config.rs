//! Our certificate and the rustls configurations built around it.

use std::fmt;
use std::sync::Arc;

use hyphae_identity::{Keypair, PeerId};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::NoServerSessionStorage;
use rustls::sign::{CertifiedKey, SingleCertAndKey};

use crate::certificate::{self, P2pCertificate};
use crate::verified::VerifiedCertificates;
use crate::verifier::{ClientVerifier, RejectionRecord, ServerVerifier};
use crate::{ALPN, CertificateError, Error};

/// What one node's TLS handshakes need: its certificate (made once, for a fresh ECDSA
/// P-256 key) and the stream muxers it offers in ALPN. Cheap to clone.
///
/// ```
/// let keypair = hyphae_identity::Keypair::generate_ed25519();
/// let config = hyphae_tls::Config::new(&keypair)?.with_muxers(vec!["/yamux/1.0.0".into()]);
/// assert_eq!(config.local_peer_id(), keypair.peer_id());
/// # Ok::<(), hyphae_tls::Error>(())
/// ```
#[derive(Clone)]
pub struct Config {
    certified: Arc<CertifiedKey>,
    provider: Arc<CryptoProvider>,
    local_peer_id: PeerId,
    muxers: Vec<String>,
    /// Peers' certificates verified lately, shared by every handshake of this node.
    verified: VerifiedCertificates,
}

impl Config {
    /// A configuration whose certificate authenticates `identity`, offering no muxers.
    ///
    /// The certificate key is ephemeral: it is generated here, lives only in memory, and
    /// the spec allows reusing it for every connection.
    pub fn new(identity: &Keypair) -> Result<Config, Error> {
        Config::with_certificate(identity.peer_id(), certificate::generate(identity)?)
    }

    /// A configuration presenting `generated`, which must authenticate `local_peer_id`.
    pub(crate) fn with_certificate(
        local_peer_id: PeerId,
        generated: certificate::Generated,
    ) -> Result<Config, Error> {
        let provider = Arc::new(provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.private_key));
        let signing_key = provider.key_provider.load_private_key(key)?;
        let certified = CertifiedKey::new(
            vec![CertificateDer::from(generated.certificate)],
            signing_key,
        );
        Ok(Config {
            certified: Arc::new(certified),
            provider,
            local_peer_id,
            muxers: Vec::new(),
            verified: VerifiedCertificates::default(),
        })
    }

    /// This configuration offering (as dialer) and accepting (as listener) `muxers`, the
    /// stream muxer protocol ids, most preferred first (connections/inlined-muxer-negotiation.md).
    pub fn with_muxers(mut self, muxers: Vec<String>) -> Config {
        self.muxers = muxers;
        self
    }

    /// The muxers this configuration negotiates, most preferred first.
    pub fn muxers(&self) -> &[String] {
        &self.muxers
    }

    /// The peer our certificate authenticates.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Our certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        self.certified
            .end_entity_cert()
            .map_or(&[], |der| der.as_ref())
    }

    /// The peer a finished handshake authenticated, from the certificate chain rustls
    /// reports (`peer_certificates`): it must be one certificate, which our verifier checked
    /// in that handshake, so it is read from the verified certificates rather than decoded
    /// and its two signatures checked once more (fully checked again only if forgotten
    /// meanwhile).
    pub fn verified_peer(
        &self,
        certificates: Option<&[CertificateDer<'_>]>,
    ) -> Result<P2pCertificate, Error> {
        let certificates = certificates.unwrap_or_default();
        let [certificate] = certificates else {
            return Err(CertificateError::ChainLength(certificates.len()).into());
        };
        Ok(self.verified.parse(certificate)?)
    }

    /// The ALPN list of a TCP handshake: our muxers, then `libp2p`.
    pub(crate) fn alpn(&self) -> Vec<Vec<u8>> {
        self.muxers
            .iter()
            .map(|muxer| muxer.as_bytes().to_vec())
            .chain([ALPN.to_vec()])
            .collect()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("local_peer_id", &self.local_peer_id)
            .field("muxers", &self.muxers)
            .finish_non_exhaustive()
    }
}

/// The crypto provider of every configuration: `ring`, TLS 1.3 cipher suites only (this
/// crate builds rustls without TLS 1.2), the SHA-256 suites first. ring's own order puts
/// AES-256-GCM with SHA-384 first: its key schedule then runs SHA-384, SHA-512's compression
/// function, which no x86 instruction speeds up (5 % of a QUIC handshake's CPU at each end),
/// where SHA-256 has its own instructions; and AES-128 runs four rounds fewer than AES-256.
/// Every TLS 1.3 peer implements AES-128-GCM (RFC 8446, section 9.1). ChaCha20-Poly1305
/// comes next for peers that prefer it (CPUs without AES instructions).
fn provider() -> CryptoProvider {
    use rustls::crypto::ring::cipher_suite::{
        TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384, TLS13_CHACHA20_POLY1305_SHA256,
    };
    CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_128_GCM_SHA256,
            TLS13_CHACHA20_POLY1305_SHA256,
            TLS13_AES_256_GCM_SHA384,
        ],
        ..rustls::crypto::ring::default_provider()
    }
}

/// The rustls configuration of a dialer: presents our certificate, accepts only a libp2p
/// certificate (of `expected`, when given), offers `alpn`, sends no SNI and never resumes
/// sessions (a resumed session would skip the peer's certificate).
///
/// The returned [`RejectionRecord`] says why the server's certificate was refused, for
/// transports like QUIC whose handshake errors lose the cause.
pub fn client_config(
    config: &Config,
    expected: Option<PeerId>,
    alpn: Vec<Vec<u8>>,
) -> Result<(rustls::ClientConfig, RejectionRecord), Error> {
    let record = RejectionRecord::default();
    let verifier = ServerVerifier {
        expected,
        record: record.clone(),
        verified: config.verified.clone(),
    };
    let mut client = rustls::ClientConfig::builder_with_provider(config.provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(config.certified.clone())));
    client.alpn_protocols = alpn;
    client.enable_sni = false;
    client.resumption = rustls::client::Resumption::disabled();
    Ok((client, record))
}

/// The rustls configuration of a listener: presents our certificate, requires and checks
/// the dialer's, picks the first protocol of `alpn` the dialer offered (and fails the
/// handshake when there is none), and issues no session tickets.
pub fn server_config(config: &Config, alpn: Vec<Vec<u8>>) -> Result<rustls::ServerConfig, Error> {
    let mut server = rustls::ServerConfig::builder_with_provider(config.provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(ClientVerifier {
            verified: config.verified.clone(),
        }))
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(config.certified.clone())));
    server.alpn_protocols = alpn;
    server.session_storage = Arc::new(NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verified_peer_is_one_certificate_and_is_remembered() {
        let peer = Keypair::generate_ed25519();
        let theirs = CertificateDer::from(Config::new(&peer).unwrap().certificate().to_vec());
        let ours = Config::new(&Keypair::generate_ed25519()).unwrap();
        for chain in [&[][..], &[theirs.clone(), theirs.clone()][..]] {
            assert!(matches!(
                ours.verified_peer(Some(chain)),
                Err(Error::Certificate(CertificateError::ChainLength(n))) if n == chain.len()
            ));
        }
        let certificate = ours.verified_peer(Some(&[theirs])).unwrap();
        assert_eq!(certificate.peer_id(), peer.public().to_peer_id());
        assert_eq!(ours.verified.len(), 1);
    }
}
