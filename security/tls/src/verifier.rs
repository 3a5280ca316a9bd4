//! The rustls certificate verifiers of libp2p TLS: instead of chains and names, each side
//! checks that the peer's one self-signed certificate carries a valid libp2p extension
//! (tls/tls.md, "Peer Authentication"), and the dialer that it names the peer it meant.

use std::sync::{Arc, Mutex};

use hyphae_identity::PeerId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::certificate::{HANDSHAKE_SCHEMES, P2pCertificate};
use crate::verified::VerifiedCertificates;
use crate::{CertificateError, Error};

/// Why a verifier rejected the peer's certificate: carried through rustls (as
/// `CertificateError::Other`) so that the handshake's caller gets a precise [`Error`].
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Rejection {
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error("expected peer {expected}, but the certificate authenticates {actual}")]
    PeerIdMismatch { expected: PeerId, actual: PeerId },
}

impl From<Rejection> for Error {
    fn from(rejection: Rejection) -> Error {
        match rejection {
            Rejection::Certificate(error) => Error::Certificate(error),
            Rejection::PeerIdMismatch { expected, actual } => {
                Error::PeerIdMismatch { expected, actual }
            }
        }
    }
}

impl From<Rejection> for rustls::Error {
    fn from(rejection: Rejection) -> rustls::Error {
        let reason = match &rejection {
            Rejection::Certificate(CertificateError::Expired) => rustls::CertificateError::Expired,
            Rejection::Certificate(CertificateError::NotYetValid) => {
                rustls::CertificateError::NotValidYet
            }
            Rejection::Certificate(CertificateError::InvalidHandshakeSignature) => {
                rustls::CertificateError::BadSignature
            }
            _ => rustls::CertificateError::Other(rustls::OtherError(Arc::new(rejection))),
        };
        rustls::Error::InvalidCertificate(reason)
    }
}

/// Where a client verifier records why it rejected a server, for transports (QUIC) whose
/// TLS errors reach the caller only as text. Cheap to clone; all clones share the record.
#[derive(Debug, Clone, Default)]
pub struct RejectionRecord(Arc<Mutex<Option<Rejection>>>);

impl RejectionRecord {
    /// Why the verifier rejected the peer's certificate, if it did; the record is emptied.
    pub fn take(&self) -> Option<Error> {
        let mut slot = match self.0.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        slot.take().map(Error::from)
    }

    fn record(&self, rejection: &Rejection) {
        let mut slot = match self.0.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(rejection.clone());
    }
}

/// Checks a presented chain: exactly one certificate, well-formed, valid at `now`.
pub(crate) fn verify_chain(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    verified: &VerifiedCertificates,
) -> Result<P2pCertificate, CertificateError> {
    if !intermediates.is_empty() {
        return Err(CertificateError::ChainLength(1 + intermediates.len()));
    }
    let certificate = verified.parse(end_entity)?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    certificate.check_validity(now)?;
    Ok(certificate)
}

/// Checks a TLS 1.3 handshake signature made with the certificate's key.
fn verify_tls13(
    message: &[u8],
    end_entity: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    verified: &VerifiedCertificates,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    // The certificate passed `verify_chain` moments ago, so it is remembered: rustls's
    // verifier API hands it over again, and it is not decoded and verified a second time.
    let certificate = verified.parse(end_entity).map_err(Rejection::from)?;
    certificate
        .verify_handshake_signature(dss.scheme, message, dss.signature())
        .map_err(Rejection::from)?;
    Ok(HandshakeSignatureValid::assertion())
}

/// What the TLS 1.2 hooks answer: libp2p never negotiates TLS 1.2 (and our configs do not
/// offer it), so reaching them is a peer's protocol error.
fn tls12_refused() -> rustls::Error {
    rustls::Error::General("libp2p TLS requires TLS 1.3".into())
}

/// The dialer's verifier of the listener's certificate.
#[derive(Debug)]
pub(crate) struct ServerVerifier {
    /// The peer we dialled, when the address named one.
    pub(crate) expected: Option<PeerId>,
    pub(crate) record: RejectionRecord,
    pub(crate) verified: VerifiedCertificates,
}

impl ServerVerifier {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), Rejection> {
        let certificate = verify_chain(end_entity, intermediates, now, &self.verified)?;
        let actual = certificate.peer_id();
        match self.expected {
            Some(expected) if expected != actual => {
                Err(Rejection::PeerIdMismatch { expected, actual })
            }
            _ => Ok(()),
        }
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now)
            .inspect_err(|rejection| self.record.record(rejection))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(message, cert, dss, &self.verified)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        HANDSHAKE_SCHEMES.to_vec()
    }
}

/// The listener's verifier of the dialer's certificate: client authentication is
/// mandatory.
#[derive(Debug)]
pub(crate) struct ClientVerifier {
    pub(crate) verified: VerifiedCertificates,
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        verify_chain(end_entity, intermediates, now, &self.verified).map_err(Rejection::from)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(message, cert, dss, &self.verified)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        HANDSHAKE_SCHEMES.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hyphae_identity::Keypair;

    use super::*;
    use crate::certificate;

    fn certificate() -> CertificateDer<'static> {
        let generated = certificate::generate(&Keypair::generate_ed25519()).unwrap();
        CertificateDer::from(generated.certificate)
    }

    fn at(seconds: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(seconds))
    }

    #[test]
    fn accepts_exactly_one_certificate_valid_now() {
        let now = at(1_767_225_600);
        let verified = VerifiedCertificates::default();
        verify_chain(&certificate(), &[], now, &verified).unwrap();
        assert_eq!(
            verify_chain(&certificate(), &[certificate()], now, &verified).unwrap_err(),
            CertificateError::ChainLength(2)
        );
    }

    #[test]
    fn rejects_certificates_outside_their_validity() {
        let verified = VerifiedCertificates::default();
        assert_eq!(
            verify_chain(&certificate(), &[], at(100), &verified).unwrap_err(),
            CertificateError::NotYetValid
        );
        assert_eq!(
            verify_chain(&certificate(), &[], at(70_000_000_000), &verified).unwrap_err(),
            CertificateError::Expired
        );
    }

    #[test]
    fn a_remembered_certificate_is_still_checked_against_the_time() {
        let verified = VerifiedCertificates::default();
        let known = certificate();
        verify_chain(&known, &[], at(1_767_225_600), &verified).unwrap();
        assert_eq!(verified.len(), 1);
        assert_eq!(
            verify_chain(&known, &[], at(70_000_000_000), &verified).unwrap_err(),
            CertificateError::Expired
        );
    }

    #[test]
    fn dialer_verifier_records_a_peer_id_mismatch() {
        let record = RejectionRecord::default();
        let expected = PeerId::random();
        let verifier = ServerVerifier {
            expected: Some(expected),
            record: record.clone(),
            verified: VerifiedCertificates::default(),
        };
        let name = ServerName::try_from("l").unwrap();
        let result =
            verifier.verify_server_cert(&certificate(), &[], &name, &[], at(1_767_225_600));
        assert!(result.is_err());
        assert!(matches!(
            record.take(),
            Some(Error::PeerIdMismatch { expected: e, .. }) if e == expected
        ));
        assert!(record.take().is_none());
    }
}
