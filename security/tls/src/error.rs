use std::io;

use hyphae_identity::PeerId;

use crate::der::DerError;

/// Why a TLS handshake failed or a certificate could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer's certificate does not authenticate a libp2p peer (tls/tls.md, "Peer
    /// Authentication").
    #[error("the peer's certificate was rejected")]
    Certificate(#[from] CertificateError),
    /// The peer authenticated as someone other than the peer we meant to reach.
    #[error("expected peer {expected}, but the remote authenticated as {actual}")]
    PeerIdMismatch {
        /// The peer id we dialled (from the `/p2p/` address).
        expected: PeerId,
        /// The peer id the remote's certificate proves.
        actual: PeerId,
    },
    /// Signing our certificate's key with the identity key failed (RSA only).
    #[error("signing the certificate key with the identity key failed: {0}")]
    Signing(hyphae_identity::Error),
    /// The cryptographic library refused to generate or sign our certificate; seeing it
    /// means a bug or a broken system RNG, not a hostile peer.
    #[error("generating the certificate failed: {0}")]
    CertificateGeneration(&'static str),
    /// The TLS protocol failed: the peer sent something invalid, sent an alert (e.g. it
    /// rejected our certificate), or offered no application protocol we accept.
    #[error("the TLS protocol failed")]
    Tls(#[from] rustls::Error),
    /// The connection closed before the handshake completed.
    #[error("connection closed during the TLS handshake")]
    ConnectionClosed,
    /// Reading or writing the underlying connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Why a certificate does not authenticate a libp2p peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The peer sent no certificate, or more than the one the spec allows.
    #[error("expected exactly one certificate, got {0}")]
    ChainLength(usize),
    /// The bytes are not a DER X.509 certificate of the shape we accept.
    #[error("malformed certificate: {0}")]
    Malformed(DerError),
    /// The certificate is not X.509 version 3.
    #[error("certificate is not X.509 v3")]
    UnsupportedVersion,
    /// The certificate carries the deprecated `issuerUniqueID` or `subjectUniqueID`, which
    /// the spec says certificates must omit.
    #[error("certificate carries a deprecated unique id field")]
    UniqueIdPresent,
    /// The certificate's key is of a type we cannot verify (we accept ECDSA P-256 and
    /// P-384, Ed25519 and RSA).
    #[error("unsupported certificate key algorithm")]
    UnsupportedKey,
    /// The signature algorithm is unknown, does not suit the key, or differs between the
    /// signed part and the outer certificate.
    #[error("unsupported or inconsistent certificate signature algorithm")]
    UnsupportedSignatureAlgorithm,
    /// The certificate is not validly self-signed by its own key.
    #[error("the certificate's self-signature does not verify")]
    InvalidSelfSignature,
    /// The libp2p Public Key Extension (OID 1.3.6.1.4.1.53594.1.1) is absent.
    #[error("certificate lacks the libp2p public key extension")]
    MissingExtension,
    /// An extension appears twice.
    #[error("certificate repeats an extension")]
    DuplicateExtension,
    /// A critical extension other than the libp2p one: the spec requires aborting.
    #[error("certificate has an unknown critical extension")]
    UnknownCriticalExtension,
    /// The identity key in the libp2p extension cannot be decoded.
    #[error("invalid identity key in the libp2p extension: {0}")]
    InvalidIdentityKey(String),
    /// The identity key did not sign the certificate's key.
    #[error("the identity key's signature over the certificate key does not verify")]
    InvalidExtensionSignature,
    /// The certificate's `notBefore` lies in the future.
    #[error("certificate is not valid yet")]
    NotYetValid,
    /// The certificate's `notAfter` lies in the past.
    #[error("certificate has expired")]
    Expired,
    /// The TLS handshake was signed with a scheme TLS 1.3 does not allow for this key.
    #[error("handshake signature scheme does not match the certificate key")]
    UnsupportedHandshakeScheme,
    /// The TLS 1.3 `CertificateVerify` signature does not verify with the certificate key.
    #[error("the TLS handshake signature does not verify")]
    InvalidHandshakeSignature,
}

impl From<DerError> for CertificateError {
    fn from(error: DerError) -> CertificateError {
        CertificateError::Malformed(error)
    }
}

impl From<Error> for io::Error {
    /// Handshake failures reach byte-stream callers as I/O errors whose inner error is the
    /// [`Error`].
    fn from(error: Error) -> io::Error {
        match error {
            Error::Io(error) => error,
            Error::ConnectionClosed => io::Error::new(io::ErrorKind::UnexpectedEof, error),
            error => io::Error::new(io::ErrorKind::InvalidData, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of `error` and its sources, joined as `anyhow`'s `{:#}` prints them.
    fn chain(error: &(dyn std::error::Error + 'static)) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    #[test]
    fn each_cause_is_printed_once_in_the_error_chain() {
        assert_eq!(
            chain(&Error::from(CertificateError::Expired)),
            "the peer's certificate was rejected: certificate has expired"
        );
        assert_eq!(
            chain(&Error::from(rustls::Error::NoApplicationProtocol)),
            format!(
                "the TLS protocol failed: {}",
                rustls::Error::NoApplicationProtocol
            )
        );
        let io = io::Error::new(io::ErrorKind::BrokenPipe, "pipe broke");
        assert_eq!(chain(&Error::from(io)), "pipe broke");
    }
}
